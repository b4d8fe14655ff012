#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The extent tree: a file's extents in leaves (the inode, then overflow blocks) that
# each change rewrites in place. Writes in random order insert into the middle of
# full leaves and split them; random writes, hole punches (which cut extents in
# two) and truncates are checked block by block, and SEEK_DATA, against a model,
# and fsck checks the chain after each phase. A hole punched into a full leaf of a
# file on a full file system splits the leaf with a block kept for removals: punch
# and truncate never fail with ENOSPC. A file of 20,000 extents works: fsck checks
# it, SEEK_DATA and SEEK_HOLE walk it, and collapse and insert range move its extents.
. "$(dirname "$0")/lib.sh"

st=/repo/target/release/daxfs-selftest
cd_fresh "$TEST_DEV" "$TEST_DIR"

"$st" fragment shuffled 3000 1 || fail "3000 extents written in random order read back wrong"
extents=$(xfs_io -c 'fiemap' shuffled | grep -vc 'hole\|^shuffled:')
((extents == 3000)) || fail "shuffled has $extents extents, expected 3000"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: 3000 one-block extents inserted in random order; fsck finds the chain clean"
# An insert leaves the other extents of its overflow block in their slots (the image has
# UNSORTED_EXTENT_BLOCKS, which mkfs sets), so random inserts leave blocks out of order.
# fsck -v counts them.
unsorted_blocks() {
	fsck.daxfs -n -v "$1" | sed -n 's/^pass 1: \([0-9]*\) extent-overflow blocks, \([0-9]*\) of them stored out of order$/\1 \2/p'
}
read -r blocks unsorted <<<"$(unsorted_blocks "$TEST_DEV")"
((blocks >= 10 && unsorted > 0)) || fail "after random inserts: $blocks overflow blocks, $unsorted out of order; expected inserts in place"
echo "ok: random inserts left $unsorted of $blocks overflow blocks out of order, in place"
# On an image without the feature (made before it) the kernel keeps every block sorted:
# fsck, which reads such an image as sorted, finds it clean.
# -P: nor the root's DAX flag, an attribute flag (a feature this image lacks too).
mkfs_daxfs "$SCRATCH_DEV" -P >/dev/null
daxfs-edit "$SCRATCH_DEV" feature_incompat=1 || fail "clearing UNSORTED_EXTENT_BLOCKS failed"
mount -t daxfs -o dax=always "$SCRATCH_DEV" "$SCRATCH_MNT"
(cd "$SCRATCH_MNT" && "$st" fragment shuffled 3000 1) || fail "3000 extents in random order on an image without the feature read back wrong"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
read -r blocks unsorted <<<"$(unsorted_blocks "$SCRATCH_DEV")"
((blocks >= 10 && unsorted == 0)) || fail "without the feature: $blocks overflow blocks, $unsorted out of order"
echo "ok: without the feature, random inserts keep all $blocks overflow blocks sorted"
mount -t daxfs "$TEST_DEV" "$TEST_DIR"

cd "$TEST_DIR"
for seed in 1 2; do
	"$st" churn churn$seed 3000 2000 $seed || fail "random writes, punches and truncates (seed $seed) read back wrong"
done
remount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: random writes, hole punches and truncates match the model; fsck finds them clean"
umount_checked "$TEST_DEV" "$TEST_DIR"

# Runs of 3 blocks with a block between, appended in order on a fresh file system (each
# run one extent): the leaves fill up.
cd_fresh "$SCRATCH_DEV" "$SCRATCH_MNT"
runs=600
cmds=()
for ((i = 0; i < runs; i++)); do
	cmds+=(-c "pwrite -q -b 12288 -S $((i % 250 + 1)) $((16384 * i)) 12288")
done
xfs_io -f "${cmds[@]}" runs
extents=$(xfs_io -c 'fiemap' runs | grep -vc 'hole\|^runs:')
((extents == runs)) || fail "runs has $extents extents, expected $runs"
# Fill the file system (fallocate keeps what it allocated before ENOSPC): nothing is
# available any more.
fallocate -l 1G fill 2>/dev/null && fail "fallocate of 1 GiB on a 512 MiB file system succeeded"
dd if=/dev/zero of=fill2 bs=4k 2>/dev/null && fail "filling the last blocks did not end with ENOSPC"
avail=$(stat -f -c %a .)
((avail == 0)) || fail "$avail blocks still available on a full file system"
expect_fail "No space left" xfs_io -f -c 'pwrite -q 0 4k' more
# Cut runs in two in full leaves (the first leaf holds runs 6..208): each cut adds an
# extent.
for i in 10 11 12 100 150 207 300 301 450 599; do
	xfs_io -c "fpunch $((16384 * i + 4096)) 4096" runs || fail "punching run $i on a full file system failed"
done
extents=$(xfs_io -c 'fiemap' runs | grep -vc 'hole\|^runs:')
((extents == runs + 10)) || fail "after 10 cuts: $extents extents, expected $((runs + 10))"
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
for i in 10 100 599; do
	[[ $(byte_at runs $((16384 * i))) == $((i % 250 + 1)) && $(byte_at runs $((16384 * i + 4096))) == 0 &&
		$(byte_at runs $((16384 * i + 8192))) == $((i % 250 + 1)) ]] || fail "run $i reads back wrong after the cut"
done
truncate -s $((16384 * 200 + 4096)) runs || fail "truncate on a full file system failed"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
echo "ok: hole punches that split full leaves and a truncate succeed on a full file system"

# A file of 20,000 extents (make extents-long writes a million), built by the tools' image
# builder (the kernel would take minutes to write it under TCG and KASAN): fsck checks it,
# the kernel loads it, looks up every extent through SEEK_DATA and SEEK_HOLE, and changes it.
# Its extents are file blocks 0, 2, 4, ... 39,998.
n=20000
"$st" build-fragmented "$SCRATCH_DEV" $n || fail "building a file of $n extents failed"
fsck_clean "$SCRATCH_DEV"
mount -t daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
cd "$SCRATCH_MNT"
extents=$(xfs_io -c 'fiemap' fragmented | grep -vc 'hole\|^fragmented:')
((extents == n)) || fail "fragmented has $extents extents, expected $n"
# Block K of inode 2 holds byte (2 * 31 + 7 * K + I) mod 256 at I.
pattern_at() { echo $(((62 + 7 * $1 + 5) % 256)); }
for k in 0 2 13000 19998 39998; do
	[[ $(byte_at fragmented $((4096 * k + 5))) == $(pattern_at $k) ]] || fail "block $k of fragmented reads back wrong"
done
[[ $(byte_at fragmented $((4096 * 19999))) == 0 ]] || fail "a hole of fragmented does not read as zeros"
# Every data and hole transition, from the start: 40,000 lookups.
transitions=$(xfs_io -c 'seek -a -r 0' fragmented | grep -c '^DATA\|^HOLE')
((transitions == 2 * n)) || fail "SEEK_DATA and SEEK_HOLE walk $transitions transitions, expected $((2 * n))"
# Fill the holes at blocks 1 and 20,001 (and overwrite block 20,000), punch block 5,000
# and overwrite block 39,000.
xfs_io -c 'pwrite -q -S 7 4096 4096' -c "pwrite -q -S 7 $((4096 * 20000)) 8k" -c "fpunch $((4096 * 5000)) 4k" \
	-c "pwrite -q -S 7 $((4096 * 39000)) 4k" fragmented
[[ $(byte_at fragmented 4096) == 7 && $(byte_at fragmented $((4096 * 20000))) == 7 &&
	$(byte_at fragmented $((4096 * 20001))) == 7 && $(byte_at fragmented $((4096 * 5000))) == 0 ]] ||
	fail "writes into the holes of fragmented and a punch read back wrong"
truncate -s $((4096 * 30000)) fragmented
# 15,000 extents below block 30,000, one punched, two holes filled: 15,001, fewer if a new
# block happens to continue a neighbour on the device too.
extents=$(xfs_io -c 'fiemap' fragmented | grep -vc 'hole\|^fragmented:')
((extents >= 14999 && extents <= 15001)) || fail "after writes and a truncate fragmented has $extents extents, expected 15,001"
# Every extent moves twice: collapse blocks 0-1 (block K becomes K - 2), then insert 3
# blocks at block 1 (K - 2 becomes K + 1 from old block 3 on; old block 2 stays at 0).
fallocate -c -o 0 -l 8192 fragmented || fail "collapse of fragmented failed"
fallocate -i -o 4096 -l 12288 fragmented || fail "insert into fragmented failed"
[[ $(stat -c %s fragmented) == $((4096 * 30000 - 8192 + 12288)) ]] || fail "size after collapse and insert: $(stat -c %s fragmented)"
for k in 2 13000 19998 29998; do
	new=$((k == 2 ? 0 : k + 1))
	[[ $(byte_at fragmented $((4096 * new + 5))) == $(pattern_at $k) ]] ||
		fail "old block $k of fragmented does not read back at block $new after collapse and insert"
done
[[ $(byte_at fragmented $((4096 * 2 + 5))) == 0 ]] || fail "the inserted range of fragmented does not read as zeros"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
echo "ok: a file of $n extents: fsck checks it; looked up, written into, punched, truncated, collapsed and inserted into"
