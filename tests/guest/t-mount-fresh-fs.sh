#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A fresh daxfs mounts with dax=always (and each other mode), shows it in /proc/mounts, reports the
# geometry mkfs made through statfs, has an empty root directory, answers
# lookups, unmounts, and is still clean.
. "$(dirname "$0")/lib.sh"

summary=$(mkfs_daxfs "$TEST_DEV" -L fresh)
echo "$summary"
data_blocks=$(sed -n 's/.*data [0-9]*-[0-9]* (\([0-9]*\) blocks).*/\1/p' <<<"$summary")
inodes=$(sed -n 's/.* \([0-9]*\) inodes$/\1/p' <<<"$summary" | head -n1)
[[ -n $data_blocks && -n $inodes ]] || fail "cannot read the geometry from mkfs's summary"

mount -t daxfs -o dax=always "$TEST_DEV" "$TEST_DIR"
grep -q "^$TEST_DEV $TEST_DIR daxfs rw,.*dax=always" /proc/mounts ||
	fail "/proc/mounts: $(grep " $TEST_DIR " /proc/mounts)"
echo "ok: $(grep " $TEST_DIR " /proc/mounts)"

read -r bsize blocks bfree files ffree namelen ftype < <(stat -f -c '%S %b %f %c %d %l %t' "$TEST_DIR")
[[ $bsize == 4096 ]] || fail "statfs block size $bsize"
[[ $blocks == "$data_blocks" && $bfree == "$data_blocks" ]] || fail "statfs blocks $blocks free $bfree, mkfs made $data_blocks"
[[ $files == "$inodes" && $ffree == $((inodes - 1)) ]] || fail "statfs inodes $files free $ffree, mkfs made $inodes"
[[ $namelen == 255 && $ftype == 64617866 ]] || fail "statfs name length $namelen, type $ftype"
echo "ok: statfs matches mkfs: $blocks blocks, $files inodes"

read -r ino mode links < <(stat -c '%i %A %h' "$TEST_DIR")
[[ $ino == 1 && $mode == drwxr-xr-x && $links == 2 ]] || fail "root: inode $ino, mode $mode, links $links"
[[ -z $(ls -A "$TEST_DIR") ]] || fail "root is not empty: $(ls -A "$TEST_DIR")"
[[ $(ls -a "$TEST_DIR" | tr '\n' ' ') == ". .. " ]] || fail "readdir of root: $(ls -a "$TEST_DIR")"
echo "ok: empty root directory, inode 1"

expect_fail "No such file or directory" stat "$TEST_DIR/missing"
expect_fail "File name too long" stat "$TEST_DIR/$(printf 'n%.0s' {1..256})"

umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: unmounted, fsck clean"

# "-o dax" alone means dax=always, as for ext4 (fstests mounts that way); each
# mode given shows as given. A mount without a dax option (dax=inode, see
# t-dax-modes) shows none, as on ext4 and XFS: fstests' DAX tests take a "dax"
# in /proc/mounts for a DAX option. Remount keeps the mode and refuses to
# change it.
mount_line() { grep " $TEST_DIR " /proc/mounts; }
for opts in dax:always dax=never:never dax=inode:inode; do
	mount -t daxfs -o "${opts%:*}" "$TEST_DEV" "$TEST_DIR"
	grep -q " $TEST_DIR daxfs .*dax=${opts#*:}" /proc/mounts || fail "-o ${opts%:*}: $(mount_line)"
	umount "$TEST_DIR"
done
mount -t daxfs "$TEST_DEV" "$TEST_DIR"
! mount_line | grep -qw dax || fail "a mount without dax options shows one: $(mount_line)"
mount -o remount,ro "$TEST_DIR"
mount_line | grep -q " daxfs ro," || fail "remount,ro: $(mount_line)"
expect_fail "cannot change on remount" mount -o remount,dax=never "$TEST_DIR"
mount_line | grep -q " daxfs ro," && ! mount_line | grep -qw dax || fail "a refused remount changed the mount: $(mount_line)"
fsck_clean "$TEST_DEV"
expect_fail "Read-only file system" touch "$TEST_DIR/ro-file"
mount -o remount,rw "$TEST_DIR"
mount_line | grep -q " daxfs rw," || fail "remount,rw: $(mount_line)"
# fsck reads through the block device's page cache, which the DAX writes bypass.
blockdev --flushbufs "$TEST_DEV"
rc=0
fsck -t daxfs -n "$TEST_DEV" >/dev/null 2>&1 || rc=$?
((rc == 4)) || fail "a file system remounted read-write is not marked in use (fsck -n exit $rc)"
echo data >"$TEST_DIR/rw-file"
umount_checked "$TEST_DEV" "$TEST_DIR"
mount -t daxfs -o ro "$TEST_DEV" "$TEST_DIR"
[[ $(cat "$TEST_DIR/rw-file") == data ]] || fail "a file written after remount,rw was lost"
umount "$TEST_DIR"
echo "ok: -o dax, defaults and remount (ro and back to rw)"
