#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Per-file DAX, on daxfs and, as the control, on ext4 in the same boot:
# - statx reports STATX_ATTR_DAX as dax=always, dax=never and dax=inode (with
#   and without the flag) say;
# - new files and directories inherit the flag (FS_XFLAG_DAX) through mkdir,
#   create and cp; mv keeps a file's own flag;
# - under dax=inode, a flag changed while the file is open and mapped changes
#   nothing until the last close: the mapping keeps working; after the close the
#   new mode is in force, and nothing written before is lost, in either
#   direction (dirty page-cache data written before a switch to DAX reads back
#   through DAX);
# - mmap, direct and buffered I/O on a file whose mode just changed;
# then t-stale-data, t-truncate and t-extents on daxfs -o dax=never
# (files in the page cache).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

st=/repo/target/release/daxfs-selftest

# expect_dax FILE yes|no: statx must say FILE uses DAX, or must not.
expect_dax() {
	if is_dax "$1"; then
		[[ $2 == yes ]] || fail "$fs: $1 uses DAX, expected not ($what)"
	else
		[[ $2 == no ]] || fail "$fs: $1 does not use DAX, expected it to ($what)"
	fi
}
# expect_flag FILE yes|no
expect_flag() {
	if has_flag "$1"; then
		[[ $2 == yes ]] || fail "$fs: $1 has the DAX flag, expected not ($what)"
	else
		[[ $2 == no ]] || fail "$fs: $1 lacks the DAX flag, expected it ($what)"
	fi
}

# mkfs_plain FS: an empty file system of FS on $SCRATCH_DEV whose root lacks
# the DAX flag (daxfs: mkfs -P).
mkfs_plain() {
	case $1 in
	daxfs) mkfs_daxfs "$SCRATCH_DEV" -P >/dev/null ;;
	ext4) mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV" ;;
	esac
}
mount_fs() { mount -t "$fs" ${1:+-o "$1"} "$SCRATCH_DEV" "$SCRATCH_MNT"; }

# The three modes, and the flag under dax=inode.
modes() {
	what="mount options"
	mkfs_plain "$fs"
	mount_fs dax=inode
	mkdir "$SCRATCH_MNT/d" && xfs_io -c 'chattr +x' "$SCRATCH_MNT/d"
	echo data >"$SCRATCH_MNT/plain" && echo data >"$SCRATCH_MNT/d/flagged"
	expect_dax "$SCRATCH_MNT/plain" no
	expect_dax "$SCRATCH_MNT/d/flagged" yes
	umount "$SCRATCH_MNT"
	mount_fs dax=always
	expect_dax "$SCRATCH_MNT/plain" yes
	expect_dax "$SCRATCH_MNT/d/flagged" yes
	umount "$SCRATCH_MNT"
	mount_fs dax=never
	expect_dax "$SCRATCH_MNT/plain" no
	expect_dax "$SCRATCH_MNT/d/flagged" no
	# The flag is stored, but the mode does not follow it under dax=never.
	xfs_io -c 'chattr +x' "$SCRATCH_MNT/plain"
	expect_dax "$SCRATCH_MNT/plain" no
	umount "$SCRATCH_MNT"
	mount_fs ""
	# dax=inode, which /proc/mounts shows for neither file system when no option asked for it.
	grep -q " $SCRATCH_MNT $fs " /proc/mounts && ! grep " $SCRATCH_MNT " /proc/mounts | grep -qw dax ||
		fail "$fs: the default mount shows a dax option: $(grep " $SCRATCH_MNT " /proc/mounts)"
	expect_dax "$SCRATCH_MNT/plain" yes
	umount "$SCRATCH_MNT"
	echo "ok: $fs: statx DAX under dax=always, never and inode"
}

# Inheritance, under dax=inode.
inheritance() {
	what="inheritance"
	mkfs_plain "$fs"
	mount_fs dax=inode
	cd "$SCRATCH_MNT"
	mkdir d && xfs_io -c 'chattr +x' d
	echo outside >outside
	mkdir d/sub && echo new >d/new && cp /etc/passwd d/copy && echo deep >d/sub/deep
	mv outside d/moved
	for f in d/sub d/new d/copy d/sub/deep; do expect_flag "$f" yes; done
	for f in d/new d/copy d/sub/deep; do expect_dax "$f" yes; done
	expect_flag d/moved no
	expect_dax d/moved no
	cd /
	umount "$SCRATCH_MNT"
	echo "ok: $fs: mkdir, create and cp inherit the flag; mv keeps the file's own"
}

# A flag change on an open, mapped file takes effect at its last close.
switch_while_mapped() {
	local from=$1 to=$2 flag_cmd
	what="switch $from to $to"
	[[ $to == yes ]] && flag_cmd='chattr +x' || flag_cmd='chattr -x'
	local f=$SCRATCH_MNT/d/f
	xfs_io -f -c 'pwrite -q -S 0x11 0 64k' "$f"
	[[ $from == yes ]] && xfs_io -c 'chattr +x' "$f" || xfs_io -c 'chattr -x' "$f"
	# Evicted at the last close after a change, so this instantiates it anew.
	expect_dax "$f" "$from"
	holder map "$st" map-hold "$f"
	await map mapped
	echo "  $fs: mapped and open: DAX $from; xfs_io -c '$flag_cmd'"
	xfs_io -c "$flag_cmd" "$f"
	expect_dax "$f" "$from"
	echo "  $fs: after '$flag_cmd', still mapped and open: DAX $from (statx)"
	send map go
	finish map
	expect_dax "$f" "$to"
	echo "  $fs: after the last close: DAX $to (statx)"
	# What the mapping wrote, read in the new mode.
	"$st" map-hold-check "$f" || fail "$fs: $what: the data written through the mapping"
	# Dirty data of the old mode, then the change, then the last close.
	holder open "$st" hold-open "$f"
	await open open
	xfs_io -c 'pwrite -q -S 0x5a 4096 8192' "$f"
	xfs_io -c "$flag_cmd" "$f"
	send open go
	finish open
	expect_dax "$f" "$to"
	# 0x5a is "Z": nothing else may be left in the range.
	[[ $(dd if="$f" bs=4096 skip=1 count=2 status=none | tr -d Z | wc -c) == 0 ]] ||
		fail "$fs: $what: the bytes written before the change are lost"
	# mmap, buffered and direct I/O in the new mode.
	rm -f "$SCRATCH_MNT/d/rw"
	"$st" map-rw "$SCRATCH_MNT/d/rw" >/dev/null || fail "$fs: $what: map-rw failed"
	xfs_io -c "$flag_cmd" "$SCRATCH_MNT/d/rw"
	xfs_io -d -c 'pwrite -q -S 0x33 0 64k' "$SCRATCH_MNT/d/rw" || fail "$fs: $what: O_DIRECT write"
	xfs_io -c 'pwrite -q -S 0x44 8k 4k' "$SCRATCH_MNT/d/rw"
	[[ $(xfs_io -d -c 'pread -v 8k 4k' "$SCRATCH_MNT/d/rw" | awk 'NR==1 {print $2}') == 44 ]] ||
		fail "$fs: $what: O_DIRECT does not read what a buffered write put there"
	echo "ok: $fs: a flag change on a mapped file ($from -> $to) waits for the last close"
}

switches() {
	mkfs_plain "$fs"
	mount_fs dax=inode
	mkdir "$SCRATCH_MNT/d"
	switch_while_mapped yes no
	switch_while_mapped no yes
	umount "$SCRATCH_MNT"
}

for fs in ext4 daxfs; do
	modes
	inheritance
	switches
	[[ $fs == daxfs ]] && fsck_clean "$SCRATCH_DEV"
done
dd if=/dev/zero of="$SCRATCH_DEV" bs=1M count=64 oflag=direct status=none

DAXFS_MOUNT_OPTS=dax=never STALE_DATA_DAX=no bash "$here/t-stale-data.sh" || fail "t-stale-data with dax=never"
echo "ok: t-stale-data with dax=never"
# The tests of file data that do not depend on DAX (t-posix runs its data checks with dax=never
# itself; t-tree-ops, of the namespace only, is not repeated).
for t in truncate extents; do
	DAXFS_MOUNT_OPTS=dax=never bash "$here/t-$t.sh" >"/tmp/dax-never-$t.log" 2>&1 ||
		fail "t-$t with dax=never: $(tail -n 5 "/tmp/dax-never-$t.log")"
	echo "ok: t-$t with dax=never"
done
