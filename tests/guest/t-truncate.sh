#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Truncate (no pins here; the pinned cases come with the pin-test module):
# shrinking keeps the data before the new end and frees the blocks after it
# (statfs counts them back), growing reads zeros, also where a mapping wrote
# past EOF into the last page before the file grew; O_TRUNC empties a file;
# the largest size is the format's; fsck stays clean.
. "$(dirname "$0")/lib.sh"

cd_fresh "$TEST_DEV" "$TEST_DIR"

touch f
free0=$(stat -f -c %f .)
head -c 1048576 /dev/urandom >/tmp/data
cp /tmp/data f
[[ $(stat -f -c %f .) == $((free0 - 256)) ]] || fail "a 1 MiB file took $((free0 - $(stat -f -c %f .))) blocks, not 256"
truncate -s 5000 f
[[ $(stat -c %s f) == 5000 && $(stat -c %b f) == 16 ]] || fail "after truncate to 5000: size $(stat -c %s f), sectors $(stat -c %b f)"
[[ $(stat -f -c %f .) == $((free0 - 2)) ]] || fail "truncate did not free the blocks: $(stat -f -c %f .) free, expected $((free0 - 2))"
cmp -s <(head -c 5000 /tmp/data) f || fail "the first 5000 bytes changed"
echo "ok: shrinking keeps the head and frees the tail's blocks"

truncate -s 1048576 f
[[ $(stat -c %s f) == 1048576 && $(stat -c %b f) == 16 ]] || fail "after growing: size $(stat -c %s f), sectors $(stat -c %b f)"
cmp -s <(head -c 5000 /tmp/data; head -c $((1048576 - 5000)) /dev/zero) f || fail "a grown file does not read zeros past the old end"
echo "ok: growing reads zeros, allocates nothing"

# A mapping may write past EOF up to the end of the last page; growing the file must not expose that.
truncate -s 5000 f
xfs_io -c 'mmap -w 0 8192' -c 'mwrite -S 0x77 5000 3192' -c 'munmap' f
truncate -s 8192 f
cmp -s <(head -c 5000 /tmp/data; head -c 3192 /dev/zero) f || fail "bytes written through a mapping past EOF show after the file grew"
echo "ok: bytes written past EOF through a mapping read as zeros once the file grows"

: >f
[[ $(stat -c %s f) == 0 && $(stat -c %b f) == 0 && $(stat -f -c %f .) == "$free0" ]] ||
	fail "O_TRUNC: size $(stat -c %s f), sectors $(stat -c %b f), free $(stat -f -c %f .) (expected $free0)"
echo "ok: O_TRUNC empties the file and frees every block"

xfs_io -f -c 'pwrite -q 0 64k' -c 'truncate 12288' -c 'pwrite -q 20k 4k' g
[[ $(stat -c %s g) == 24576 && $(stat -c %b g) == 32 ]] || fail "write after truncate: size $(stat -c %s g), sectors $(stat -c %b g)"

# The largest size the format holds is 2^63 - 4096 (whole blocks below the
# signed 64-bit limit): the VFS refuses anything larger with EFBIG, as ext4
# does past its own limit, instead of daxfs storing a size that fsck deletes.
largest=$((2 ** 62 - 4096 + 2 ** 62))
truncate -s "$largest" huge
expect_fail "File too large" truncate -s $((largest + 1)) huge2
expect_fail "File too large" truncate -s 9223372036854775807 huge
expect_fail "File too large" xfs_io -c "pwrite -q $largest 1" huge
[[ $(stat -c %s huge) == "$largest" ]] || fail "the largest file has size $(stat -c %s huge), not $largest"
remount_checked "$TEST_DEV" "$TEST_DIR"
[[ $(stat -c %s "$TEST_DIR/huge") == "$largest" ]] || fail "after a remount the largest file has size $(stat -c %s "$TEST_DIR/huge")"
echo "ok: the largest file ($largest bytes) survives a remount; one byte more is EFBIG"
# The control: ext4 -o dax in the same boot answers EFBIG past its own limit too.
mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV"
mount -t ext4 -o dax "$SCRATCH_DEV" "$SCRATCH_MNT"
expect_fail "File too large" truncate -s 9223372036854775807 "$SCRATCH_MNT/huge"
umount "$SCRATCH_MNT"

umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: fsck clean after truncates"
