#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Files with more extents than fit in the inode: the rest go to a chain of
# extent-overflow blocks. A file written every other block has hundreds of
# extents: its data reads back, FIEMAP lists them all and FIBMAP agrees (as on
# ext4 -o dax, the control), fsck checks the chain;
# truncating it into the middle and deleting it give every block back. A
# directory interleaved with file data grows past six extents the same way.
. "$(dirname "$0")/lib.sh"

cd_fresh "$TEST_DEV" "$TEST_DIR"

# write_every_other FILE N: writes N blocks of FILE, every other one (each an
# extent of its own), the i-th with bytes i % 250 + 1.
write_every_other() {
	local cmds=() i
	for ((i = 0; i < $2; i++)); do
		cmds+=(-c "pwrite -q -S $((i % 250 + 1)) $((8192 * i)) 4096")
	done
	xfs_io -f "${cmds[@]}" "$1"
}
# fibmap_agrees FILE FS: FIBMAP (fstests generic/519) gives the blocks FIEMAP
# lists for FILE, written by write_every_other with 400 blocks, and 0 for holes.
st=/repo/target/release/daxfs-selftest
fibmap_agrees() {
	local i sector
	for i in 0 5 6 208 399; do
		sector=$(xfs_io -c fiemap "$1" | awk -v b=$((16 * i)) '$2 == "[" b ".." b + 7 "]:" { split($3, r, "."); print r[1] }')
		[[ -n $sector ]] || fail "$2: no FIEMAP extent at file block $((2 * i))"
		[[ $("$st" fibmap "$1" $((2 * i))) == $((sector / 8)) ]] || fail "$2: FIBMAP of block $((2 * i)): $("$st" fibmap "$1" $((2 * i))), FIEMAP: sector $sector"
		[[ $("$st" fibmap "$1" $((2 * i + 1))) == 0 ]] || fail "$2: FIBMAP of the hole at block $((2 * i + 1)) is not 0"
	done
	echo "ok: $2: FIBMAP gives the blocks FIEMAP lists, and 0 for holes"
}

# The control: FIBMAP on ext4 -o dax.
scratch_fresh ext4
write_every_other "$SCRATCH_MNT/frag" 400
fibmap_agrees "$SCRATCH_MNT/frag" ext4-dax
scratch_umount_checked ext4

touch frag
free0=$(stat -f -c %f .)
n=400
write_every_other frag $n
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
extents=$(xfs_io -c 'fiemap' frag | grep -vc 'hole\|^frag:')
((extents == n)) || fail "frag has $extents extents, expected $n: $(xfs_io -c fiemap frag | head)"
chain=$(((n - 6 + 202) / 203))
used=$((free0 - $(stat -f -c %f .)))
((used == n + chain)) || fail "frag uses $used blocks, expected $n data blocks and $chain overflow blocks"
[[ $(stat -c %b frag) == $(((n + chain) * 8)) ]] || fail "st_blocks $(stat -c %b frag) does not count the overflow chain"
echo "ok: a file with $n extents: $chain overflow blocks, counted in st_blocks"
for i in 0 5 6 7 208 209 399; do
	[[ $(byte_at frag $((8192 * i + 100))) == $((i % 250 + 1)) ]] || fail "block $((2 * i)) reads $(byte_at frag $((8192 * i + 100)))"
	((i == n - 1)) || [[ $(byte_at frag $((8192 * i + 4096 + 7))) == 0 ]] || fail "the hole after block $((2 * i)) is not zero"
done
echo "ok: data and holes read back through inline and overflow extents"
fibmap_agrees frag daxfs

remount_checked "$TEST_DEV" "$TEST_DIR"
cd "$TEST_DIR"
echo "ok: fsck checks the chain and finds it clean; remount reads it"

truncate -s $((8192 * 300)) frag
extents=$(xfs_io -c 'fiemap' frag | grep -vc 'hole\|^frag:')
((extents == 300)) || fail "after truncate: $extents extents, expected 300"
[[ $(byte_at frag $((8192 * 299))) == $((299 % 250 + 1)) ]] || fail "the last block left reads $(byte_at frag $((8192 * 299)))"
((free0 - $(stat -f -c %f .) == 300 + 2)) || fail "after truncate to 300 extents: $((free0 - $(stat -f -c %f .))) blocks used, expected 302"
truncate -s 20000 frag
[[ $(stat -c %b frag) == 24 ]] || fail "a 3-extent file owns $(stat -c %b frag) sectors: the overflow chain was not freed"
echo "ok: truncate into the chain and back to inline extents frees what it drops"
xfs_io -c 'pwrite -q 40k 4k' -c 'pwrite -q 48k 4k' -c 'pwrite -q 56k 4k' -c 'pwrite -q 64k 4k' -c 'pwrite -q 72k 4k' -c 'pwrite -q 80k 4k' -c 'pwrite -q 88k 4k' frag
[[ $(xfs_io -c 'fiemap' frag | grep -vc 'hole\|^frag:') == 10 ]] || fail "growing past the inline extents again: $(xfs_io -c fiemap frag)"
# A directory whose blocks interleave with file data: one extent per block, more than six.
mkdir d
for ((i = 0; i < 150; i++)); do
	printf '%4096s' "$i" >"d/f$i"
done
[[ $(ls d | wc -l) == 150 ]] || fail "the directory lists $(ls d | wc -l) of 150 entries"
# 150 entries take 10 blocks (15 a block), each its own extent: one overflow block.
[[ $(stat -c %b d) == 88 ]] || fail "the directory owns $(stat -c %b d) sectors, expected 10 blocks and an overflow block"
[[ $(tr -d ' ' <d/f149) == 149 ]] || fail "d/f149 reads back wrong"
remount_checked "$TEST_DEV" "$TEST_DIR"
cd "$TEST_DIR"
[[ $(ls d | wc -l) == 150 ]] || fail "after remount the directory lists $(ls d | wc -l) entries"
rm -r d
echo "ok: a directory grows past six extents into an overflow block"
rm frag
[[ $(stat -f -c %f .) == "$free0" ]] || fail "after rm: $(stat -f -c %f .) free blocks, expected $free0"
echo "ok: deleting the files frees every block, the chain's too"
umount_checked "$TEST_DEV" "$TEST_DIR"
