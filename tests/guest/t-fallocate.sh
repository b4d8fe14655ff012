#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fallocate: allocation (growing the size or not) gives zeroed blocks, also
# blocks just freed by a deleted file full of a pattern (FIEMAP proves the
# reuse); punch hole frees whole blocks and zeroes partial ones; zero range
# reads zeros and stays allocated; collapse and insert are not supported
# (EOPNOTSUPP); fsck stays clean.
. "$(dirname "$0")/lib.sh"

cd_fresh "$TEST_DEV" "$TEST_DIR"
first_sector() {
	xfs_io -c fiemap "$1" | sed -n 's/^[[:space:]]*[0-9]*: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\..*/\1/p' | head -n1
}
sectors() { stat -c %b "$1"; }
bytes_other_than() { tr -d "$2" <"$1" | wc -c; } # FILE OCTAL-BYTE

# Allocation reuses a deleted pattern's blocks and reads zeros.
xfs_io -f -c 'pwrite -q -S 0x5a 0 1M' pattern
pattern_start=$(first_sector pattern)
rm pattern
cd / && umount "$TEST_DIR" && mount -t daxfs "$TEST_DEV" "$TEST_DIR" && cd "$TEST_DIR"
fallocate -l 1M f
[[ $(stat -c %s f) == 1048576 && $(sectors f) == 2048 ]] || fail "fallocate 1M: size $(stat -c %s f), sectors $(sectors f)"
[[ $(first_sector f) == "$pattern_start" ]] || fail "f (sector $(first_sector f)) does not reuse the pattern's blocks (sector $pattern_start): the test proves nothing"
[[ $(bytes_other_than f '\000') == 0 ]] || fail "fallocated blocks hold stale data"
echo "ok: fallocate allocates zeroed blocks (reusing a deleted file's) and grows the size"
fallocate --keep-size -o 1M -l 64k f
[[ $(stat -c %s f) == 1048576 && $(sectors f) == 2176 ]] || fail "fallocate --keep-size: size $(stat -c %s f), sectors $(sectors f)"
truncate -s 1M f
[[ $(sectors f) == 2048 ]] || fail "truncate did not free the blocks allocated past EOF: $(sectors f) sectors"
echo "ok: fallocate --keep-size allocates past EOF without growing; truncate frees it"

xfs_io -f -c 'pwrite -q -S 0x61 0 64k' p
fallocate -p -o 4096 -l 8192 p
[[ $(stat -c %s p) == 65536 && $(sectors p) == 112 ]] || fail "punch of 2 blocks: size $(stat -c %s p), sectors $(sectors p)"
fallocate -p -o 100 -l 50 p
fallocate -p -o 30000 -l 5000 p
cmp -s p <(head -c 100 /dev/zero | tr '\0' a; head -c 50 /dev/zero; head -c $((4096 - 150)) /dev/zero | tr '\0' a
	head -c 8192 /dev/zero; head -c $((30000 - 12288)) /dev/zero | tr '\0' a; head -c 5000 /dev/zero
	head -c $((65536 - 35000)) /dev/zero | tr '\0' a) || fail "punched file reads back wrong: $(od -An -c p | head)"
[[ $(sectors p) == 112 ]] || fail "partial-block punches freed blocks: $(sectors p) sectors"
echo "ok: punch hole frees whole blocks, zeroes partial ones, keeps the size"

xfs_io -f -c 'pwrite -q -S 0x62 0 64k' z
fallocate -z -o 1000 -l 20000 z
fallocate -z -o 60000 -l 10000 z
[[ $(stat -c %s z) == 70000 && $(sectors z) == 144 ]] || fail "zero range: size $(stat -c %s z), sectors $(sectors z)"
cmp -s z <(head -c 1000 /dev/zero | tr '\0' b; head -c 20000 /dev/zero; head -c $((60000 - 21000)) /dev/zero | tr '\0' b
	head -c 10000 /dev/zero) || fail "zero range reads back wrong"
echo "ok: zero range reads zeros, stays allocated, grows the size unless --keep-size"

expect_fail "Operation not supported" fallocate -c -o 0 -l 4096 z
expect_fail "Operation not supported" fallocate -i -o 0 -l 4096 z
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: fsck clean"
