#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A fresh daxfs mounts with dax=always (and each other mode), shows it in /proc/mounts, reports the
# geometry mkfs made through statfs, has an empty root directory, answers
# lookups, unmounts, and is still clean. A remount takes only the dax option the
# mount was given; the label ioctls work as on ext4.
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
# Nor may a mount given no dax option take one, not even the dax=inode it means:
# ext4 refuses it too (the control, on the scratch device), and both accept the
# option a mount was given.
expect_fail "cannot change on remount" mount -o remount,dax=inode "$TEST_DIR"
mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV" 16384
mount -t ext4 "$SCRATCH_DEV" "$SCRATCH_MNT"
if mount -o remount,dax=inode "$SCRATCH_MNT" 2>/dev/null; then
	fail "ext4 (the control) took -o dax=inode on a remount of a mount without dax options"
fi
umount "$SCRATCH_MNT"
mount -t ext4 -o dax=inode "$SCRATCH_DEV" "$SCRATCH_MNT"
mount -o remount,dax=inode "$SCRATCH_MNT" || fail "ext4 refused the dax=inode it was mounted with"
umount "$SCRATCH_MNT"
mkfs_daxfs "$SCRATCH_DEV" >/dev/null
mount -t daxfs -o dax=inode "$SCRATCH_DEV" "$SCRATCH_MNT"
mount -o remount,dax=inode "$SCRATCH_MNT" || fail "daxfs refused the dax=inode it was mounted with"
umount "$SCRATCH_MNT"
echo "ok: a remount takes only the dax option the mount was given, as on ext4"
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

# The label (FS_IOC_GETFSLABEL and FS_IOC_SETFSLABEL, as xfs_io -c label, btrfs
# and e2label's kernel path use them), on ext4 (the control) and daxfs: the
# label mkfs gave, a new one, cleared, persistent across a remount, too long
# (EINVAL: ext4 keeps 16 bytes, daxfs 32) and on a read-only mount (EROFS).
# label_is WANT: the mounted file system's label is WANT.
label_is() {
	local got
	got=$(xfs_io -c label "$SCRATCH_MNT")
	[[ $got == "label = \"$1\"" ]] || fail "$fs: the label is '$got', expected \"$1\""
}
# label_fails ERROR LABEL: setting LABEL fails with ERROR.
label_fails() {
	local out
	out=$(xfs_io -c "label -s $2" "$SCRATCH_MNT" 2>&1) || true
	grep -qF "$1" <<<"$out" || fail "$fs: setting the label '$2' gave '$out', not '$1'"
}
for fs in ext4 daxfs; do
	case $fs in
	ext4) mkfs.ext4 -q -F -b 4096 -L first "$SCRATCH_DEV" 16384 ;;
	daxfs) mkfs_daxfs "$SCRATCH_DEV" -L first >/dev/null ;;
	esac
	mount -t $fs "$SCRATCH_DEV" "$SCRATCH_MNT"
	label_is first
	xfs_io -c 'label -s second' "$SCRATCH_MNT" >/dev/null
	label_is second
	xfs_io -c 'label -c' "$SCRATCH_MNT" >/dev/null
	label_is ""
	label_fails "Invalid argument" "$(printf 'x%.0s' {1..33})"
	label_is ""
	xfs_io -c 'label -s kept' "$SCRATCH_MNT" >/dev/null
	umount "$SCRATCH_MNT"
	[[ $fs == ext4 ]] || fsck_clean "$SCRATCH_DEV"
	mount -t $fs -o ro "$SCRATCH_DEV" "$SCRATCH_MNT"
	label_is kept
	label_fails "Read-only file system" other
	umount "$SCRATCH_MNT"
	echo "ok: $fs: the label ioctls"
done
# daxfs keeps 32 bytes.
mount -t daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
xfs_io -c "label -s $(printf 'y%.0s' {1..32})" "$SCRATCH_MNT" >/dev/null
label_is "$(printf 'y%.0s' {1..32})"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
echo "ok: daxfs: a label of 32 bytes"
