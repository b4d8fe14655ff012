#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make extents-long`, the guest's part: a file of COUNT one-block extents (default
# 1,000,000), one every other block, written by the kernel in random order (each write
# inserts into the middle of the extent map). Then: FIEMAP counts them, fsck checks the
# chain, SEEK_DATA and SEEK_HOLE walk every transition, a remount loads the map again,
# collapse and insert range shift every extent and leave the data where it was, truncate
# halves the file, and unlink frees every block.
#
#   extents.sh [COUNT]
. /repo/tests/guest/lib.sh

count=${1:-1000000}
st=/repo/target/release/daxfs-selftest
step() { echo "extents-long: $* ($(date -u +%T))"; }

cd_fresh "$TEST_DEV" "$TEST_DIR"
# Measured once the file exists: its directory entry takes a block that stays.
: >big
free_before=$(stat -f -c %f .)
step "writing $count one-block extents in random order"
"$st" fragment big "$count" 7 || fail "$count extents written in random order read back wrong"
extents=$(xfs_io -c 'fiemap' big | grep -vc 'hole\|^big:')
((extents == count)) || fail "big has $extents extents, expected $count"
step "ok: $count extents written and read back; fsck"
umount_checked "$TEST_DEV" "$TEST_DIR"
step "ok: fsck finds the file of $count extents clean"

mount -t daxfs "$TEST_DEV" "$TEST_DIR"
cd "$TEST_DIR"
transitions=$(xfs_io -c 'seek -a -r 0' big | grep -c '^DATA\|^HOLE')
((transitions == 2 * count)) || fail "SEEK_DATA and SEEK_HOLE walk $transitions transitions, expected $((2 * count))"
step "ok: SEEK_DATA and SEEK_HOLE walk all $transitions transitions after a remount"

# Collapse the first two blocks (extent 0 and the hole after it), then insert two blocks
# there again: every extent moves down and back up; past the first 8 KiB nothing changes.
before=$(tail -c +8193 big | md5sum)
fallocate -c -o 0 -l 8192 big || fail "collapse range on $count extents failed"
fallocate -i -o 0 -l 8192 big || fail "insert range on $((count - 1)) extents failed"
after=$(tail -c +8193 big | md5sum)
[[ $before == "$after" ]] || fail "collapse then insert range changed the data after the first 8 KiB"
extents=$(xfs_io -c 'fiemap' big | grep -vc 'hole\|^big:')
((extents == count - 1)) || fail "after collapse and insert: $extents extents, expected $((count - 1))"
step "ok: collapse and insert range shift $((count - 1)) extents and back, data unchanged"

truncate -s $((count * 4096)) big || fail "truncate to half failed"
extents=$(xfs_io -c 'fiemap' big | grep -vc 'hole\|^big:')
((extents == count / 2 - 1)) || fail "after truncate to half: $extents extents, expected $((count / 2 - 1))"
remount_checked "$TEST_DEV" "$TEST_DIR"
cd "$TEST_DIR"
rm big
[[ $(stat -f -c %f .) == "$free_before" ]] || fail "unlink left $(($(stat -f -c %f .) - free_before)) blocks unaccounted"
umount_checked "$TEST_DEV" "$TEST_DIR"
step "ok: truncate to half and unlink free every block; fsck clean"
echo "extents-long: passed"
