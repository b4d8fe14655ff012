#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fallocate: allocation (growing the size or not) gives blocks that read as
# zeros, also blocks just freed by a deleted file full of a pattern (FIEMAP
# proves the reuse), which fallocate leaves as they are (unwritten extents); a
# write() and a write fault into them zero the rest of the blocks they convert,
# also after a remount; punch hole frees whole blocks and zeroes partial ones;
# zero range reads zeros and stays allocated; collapse and insert range move
# the blocks of a file of 600 extents (several overflow leaves) as a copy
# shows; fsck stays clean. Unwritten extents in an image (the
# fuzzer's pristine one) read as zeros over the data their blocks hold, and are
# refused (EUCLEAN) on an image without the feature, where fallocate writes
# zeroed blocks instead, into which a file in the page cache grows as zeros
# after a punch and a zero range there.
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
echo "ok: fallocate allocates blocks that read as zeros (reusing a deleted file's) and grows the size"
# The blocks still hold the pattern: converting one for a write must zero the rest of it.
xfs_io -c 'pwrite -q -S 0x01 4196 10' -c 'mmap -w 0 1M' -c 'mwrite -S 0x02 8199 3' -c 'msync 0 1M' f
written() { tr -d '\000' <"$1" | od -An -tx1 | xargs; }
expected="$(printf '01 %.0s' {1..10})02 02 02"
[[ $(written f) == "$expected" ]] || fail "after a write and a write fault into unwritten blocks f holds: $(written f | head -c 200)"
# Exactly the two blocks written are converted: the unwritten extent is split around them.
[[ $(extent_map f) == "0-7:unwritten 8-23:data 24-2047:unwritten" ]] || fail "block map of f: $(extent_map f)"
cd / && umount "$TEST_DIR" && mount -t daxfs "$TEST_DEV" "$TEST_DIR" && cd "$TEST_DIR"
[[ $(written f) == "$expected" ]] || fail "after a remount f holds: $(written f | head -c 200)"
echo "ok: a write and a write fault zero the rest of the unwritten blocks they convert"
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

# Collapse and insert over a map of several overflow leaves: 600 one-block extents, block i of
# file block 2i filled with byte i % 250 + 1; a copy on tmpfs is the reference.
for ((i = 0; i < 600; i++)); do echo "pwrite -q -S $((i % 250 + 1)) $((8192 * i)) 4096"; done |
	xfs_io -f s >/dev/null
cp s /tmp/s.ref
fallocate -c -o 4096 -l 8192 s
cmp -s s <(head -c 4096 /tmp/s.ref; tail -c +12289 /tmp/s.ref) || fail "collapse over 600 extents reads back wrong"
fallocate -i -o 81920 -l 40960 s
cmp -s s <(head -c 4096 /tmp/s.ref; tail -c +12289 /tmp/s.ref | head -c $((81920 - 4096))
	head -c 40960 /dev/zero; tail -c +12289 /tmp/s.ref | tail -c +$((81920 - 4096 + 1))) ||
	fail "insert after the collapse reads back wrong"
[[ $(stat -c %s s) == $(($(stat -c %s /tmp/s.ref) - 8192 + 40960)) ]] || fail "size after collapse and insert: $(stat -c %s s)"
cp s /tmp/s.after
cd / && umount "$TEST_DIR" && fsck_clean "$TEST_DEV" && mount -t daxfs "$TEST_DEV" "$TEST_DIR" && cd "$TEST_DIR"
cmp -s s /tmp/s.after || fail "after a remount s reads back differently"
rm /tmp/s.ref /tmp/s.after
echo "ok: collapse and insert range move the blocks after the range over a map of several leaves; fsck clean"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: fsck clean"

# The fuzzer's pristine image: `prealloc` has blocks 0-1 written with a pattern
# and blocks 2-3 unwritten over the same kind of pattern.
/repo/target/release/daxfs-fuzz --seed 0 /tmp/pristine.img >/dev/null
dd if=/tmp/pristine.img of="$TEST_DEV" bs=4096 oflag=direct status=none
# Its files lack the DAX flag: dax=always, so that they use DAX.
mount -t daxfs -o dax=always "$TEST_DEV" "$TEST_DIR"
prealloc=$TEST_DIR/prealloc
[[ $(head -c 8192 "$prealloc" | tr -d '\000' | wc -c) -gt 8000 ]] || fail "prealloc's written blocks do not hold the pattern"
[[ $(tail -c 8192 "$prealloc" | tr -d '\000' | wc -c) == 0 ]] || fail "prealloc's unwritten blocks read as data"
mapped=$(xfs_io -c 'mmap -r 8192 8192' -c 'mread -v 8192 8192' "$prealloc" | awk '{for (i = 2; i <= 17; i++) if ($i != "00") n++} END {print n + 0}')
[[ $mapped == 0 ]] || fail "a mapping of prealloc's unwritten blocks reads $mapped bytes of data"
ino=$(stat -c %i "$prealloc")
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: unwritten blocks of an image read as zeros through read() and a mapping"

blockdev --flushbufs "$TEST_DEV"
daxfs-edit "$TEST_DEV" feature_incompat=0
blockdev --flushbufs "$TEST_DEV"
mount -t daxfs -o dax=always "$TEST_DEV" "$TEST_DIR"
dmesg -C
out=$(cat "$prealloc" 2>&1 >/dev/null) && fail "an unwritten extent on an image without the feature was read"
grep -q "Structure needs cleaning" <<<"$out" || fail "reading prealloc without the feature: '$out', not EUCLEAN"
dmesg | grep -q "inode $ino is corrupted" || fail "dmesg does not name inode $ino: $(dmesg | tail -n 3)"
cd / && umount "$TEST_DIR"
echo "ok: an unwritten extent on an image without the feature is EUCLEAN: $(dmesg | grep "inode $ino" | tail -n 1)"

# An image without any feature (-P: nor the root's DAX flag, an attribute flag).
mkfs_daxfs "$TEST_DEV" -P >/dev/null
daxfs-edit "$TEST_DEV" feature_incompat=0
blockdev --flushbufs "$TEST_DEV"
mount -t daxfs -o dax=always "$TEST_DEV" "$TEST_DIR"
fallocate -l 64k "$TEST_DIR/g"
flags=$(xfs_io -c 'fiemap -v' "$TEST_DIR/g" | awk '$1 ~ /^[0-9]+:$/ && $3 != "hole" {print $NF}')
[[ -n $flags ]] || fail "fallocate without the feature mapped nothing: $(xfs_io -c 'fiemap -v' "$TEST_DIR/g")"
for flag in $flags; do
	((!(flag & 0x800))) ||
		fail "fallocate without the feature made unwritten extents: $(xfs_io -c 'fiemap -v' "$TEST_DIR/g")"
done
[[ $(tr -d '\000' <"$TEST_DIR/g" | wc -c) == 0 ]] || fail "fallocate without the feature: g does not read as zeros"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: without the feature fallocate writes zeroed blocks; fsck clean"

# Without the feature, blocks preallocated past the end of file are written ones: after a
# punch and a zero range there, in a file in the page cache, the file grows into zeros.
mount -t daxfs -o dax=never "$TEST_DEV" "$TEST_DIR"
xfs_io -f -c 'pwrite -q -S 0x66 0 5000' -c 'falloc -k 8192 65536' -c 'fpunch 20000 10000' \
	-c 'fzero -k 40000 1000' -c 'truncate 80000' "$TEST_DIR/h" ||
	fail "punch and zero range past the end of a file in the page cache"
[[ $(tail -c +5001 "$TEST_DIR/h" | tr -d '\000' | wc -c) == 0 ]] ||
	fail "h does not read as zeros past its old end of file"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: punch and zero range past the end of file, in the page cache"
