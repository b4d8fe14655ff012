#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The orphan list: a file unlinked while in use keeps its blocks until its
# last user lets go, and a crash in between leaks nothing.
# - While unlinked files are open they are on the on-disk list (fsck of a copy
#   of the device names exactly them); closing them in any order, the middle
#   one first, keeps the list well formed and frees each file's blocks.
# - A crash is a copy of the device taken while the files are open (daxfs
#   writes its metadata synchronously, so the copy is what a power cut would
#   leave). Mounting that copy read-write frees the orphans and recounts the
#   free space: statfs is back to the empty file system and fsck is clean.
#   A read-only mount does the same and leaves the file system clean, as ext4
#   and XFS recover on a read-only mount.
# - A damaged list (head naming a free inode, or a linked one) refuses the
#   read-write mount with EUCLEAN; read-only still mounts, without recovering.
# The crash copies are of a 64 MiB file system on the scratch device, which is quick to copy.
. "$(dirname "$0")/lib.sh"
dev=$SCRATCH_DEV
mnt=$SCRATCH_MNT
mkdir -p "$mnt"

fs_mib=64
# crash_copy FILE: the file system as a crash now would leave it. O_DIRECT, as daxfs
# writes the pmem directly and the block device's page cache would be stale.
crash_copy() { dd if="$dev" of="$1" bs=1M count=$fs_mib iflag=direct conv=sparse status=none; }
# crash_restore FILE: puts a crash copy back on the device.
crash_restore() { dd if="$1" of="$dev" bs=1M oflag=direct status=none; }
# problems IMAGE: fsck -n's problem codes for IMAGE, sorted, one per line.
problems() { { fsck -t daxfs -n "$1" 2>&1 || true; } | sed -n 's/^\([a-z-]*\): .*/\1/p' | sort; }
# orphans IMAGE: the inode numbers fsck calls orphans, sorted.
orphans() { { fsck -t daxfs -n "$1" 2>&1 || true; } | sed -n 's/^orphan: inode \([0-9]*\) .*/\1/p' | sort -n; }
# expect_only_orphans IMAGE INO...: fsck finds those orphans and nothing wrong but
# what any copy of a mounted daxfs shows (dirty state, counters kept in memory,
# and the orphans' blocks once freed).
expect_only_orphans() {
	local image=$1 bad
	shift
	[[ $(orphans "$image" | xargs) == "$*" ]] ||
		fail "fsck finds orphans '$(orphans "$image" | xargs)', expected '$*': $(fsck -t daxfs -n "$image" 2>&1)"
	bad=$(problems "$image" | grep -vxE 'orphan|dirty|free-blocks|free-inodes|bitmap-leak' || true)
	[[ -z $bad ]] || fail "fsck finds more than orphans: $(fsck -t daxfs -n "$image" 2>&1)"
}
ino() { stat -c %i "$1"; }

# The copies skip the device's zero MiBs only: zero it first, so that what earlier tests left
# on it does not fill /tmp.
dd if=/dev/zero of="$dev" bs=1M count=$fs_mib oflag=direct status=none
mkfs -t daxfs -f "$dev" $((fs_mib * 256)) >/dev/null || fail "mkfs of a $fs_mib MiB file system failed"
mount_daxfs "$dev" "$mnt"
for i in 1 2 3; do
	head -c $((i * 1024 * 1024)) /dev/urandom >"$mnt/f$i"
done
# With the three files' 1536 blocks free again: the empty file system but for
# the root directory's block.
used=$(stat -f -c %f "$mnt")
empty=$((used + 1536))
i1=$(ino "$mnt/f1") i2=$(ino "$mnt/f2") i3=$(ino "$mnt/f3")
exec 3<"$mnt/f1" 4<"$mnt/f2" 5<"$mnt/f3"
rm "$mnt/f1" "$mnt/f2" "$mnt/f3"
[[ $(stat -f -c %f "$mnt") == "$used" ]] ||
	fail "unlinked open files gave back blocks: $(stat -f -c %f "$mnt") free, expected $used"
crash_copy /tmp/crash3.img
expect_only_orphans /tmp/crash3.img $(printf '%s\n' "$i1" "$i2" "$i3" | sort -n)
echo "ok: three files unlinked while open are on the orphan list and keep their 1536 blocks"

# f2 is in the middle of the list (f3 was unlinked last, so it is the head).
exec 4<&-
[[ $(stat -f -c %f "$mnt") == $((empty - 1024)) ]] || fail "closing f2 freed $(($(stat -f -c %f "$mnt") - empty + 1536)) blocks, not 512"
crash_copy /tmp/crash2.img
expect_only_orphans /tmp/crash2.img $(printf '%s\n' "$i1" "$i3" | sort -n)
exec 5<&-
crash_copy /tmp/crash1.img
expect_only_orphans /tmp/crash1.img "$i1"
exec 3<&-
[[ $(stat -f -c %f "$mnt") == "$empty" ]] || fail "after the last close $(stat -f -c %f "$mnt") blocks are free, not $empty"
echo "ok: closing the middle, the head, then the last orphan frees each file's blocks and keeps the list well formed"

# An unlinked directory held open is an orphan too, and so is a file whose
# last link went in a rename over it.
mkdir "$mnt/d"
touch "$mnt/victim" "$mnt/other"
exec 6<"$mnt/d" 7<"$mnt/victim"
id=$(ino "$mnt/d") iv=$(ino "$mnt/victim")
rmdir "$mnt/d"
mv "$mnt/other" "$mnt/victim"
crash_copy /tmp/crash-dir.img
expect_only_orphans /tmp/crash-dir.img $(printf '%s\n' "$id" "$iv" | sort -n)
exec 6<&- 7<&-
rm "$mnt/victim"
umount_checked "$dev" "$mnt"
echo "ok: a removed directory and a file replaced by rename, both held open, are orphans until closed"

# Mount the crash with three orphans read-only: as ext4 and XFS recover on a
# read-only mount, it frees them and leaves the file system clean.
crash_restore /tmp/crash3.img
dmesg -C
mount -t daxfs -o ro "$dev" "$mnt"
dmesg | grep -qF "freed 3 orphan inode(s)" || fail "the read-only mount did not free the 3 orphans: $(dmesg | tail -n 5)"
dmesg | grep -qF "recovered on a read-only mount" || fail "the read-only mount does not say it recovered: $(dmesg | tail -n 3)"
[[ $(stat -f -c %f "$mnt") == "$empty" ]] || fail "read-only mount: $(stat -f -c %f "$mnt") free, expected $empty"
[[ -z $(ls -A "$mnt") ]] || fail "the crashed file system lists: $(ls -A "$mnt")"
umount "$mnt"
fsck_clean "$dev"
mount -t daxfs -o ro "$dev" "$mnt"
mount -o remount,rw "$mnt"
umount_checked "$dev" "$mnt"
echo "ok: after a crash, a read-only mount frees the 3 orphans, counts their blocks free and leaves it clean"

crash_restore /tmp/crash2.img
dmesg -C
mount -t daxfs "$dev" "$mnt"
dmesg | grep -qF "freed 2 orphan inode(s)" || fail "mount did not free the 2 orphans: $(dmesg | tail -n 5)"
dmesg | grep -qF "not cleanly unmounted" || fail "mount does not say the file system was not cleanly unmounted"
[[ $(stat -f -c %f "$mnt") == "$empty" ]] ||
	fail "after mount $(stat -f -c %f "$mnt") blocks are free, not $empty"
umount_checked "$dev" "$mnt"
echo "ok: a read-write mount of a crash frees the orphans that remained after a middle one was closed"

# A damaged list: the head names a free inode, or an inode that still has links.
mount_fresh "$dev" "$mnt"
touch "$mnt/linked"
il=$(ino "$mnt/linked")
umount "$mnt"
daxfs-edit "$dev" orphan_head=$((il + 1))
expect_mount_fails EUCLEAN "orphan list: inode $((il + 1)) is free or damaged" "$dev" rw
daxfs-edit "$dev" orphan_head="$il"
expect_mount_fails EUCLEAN "orphan list: inode $il still has links" "$dev" rw
# A list that loops (two unlinked inodes naming each other) is caught, not followed forever.
mount_fresh "$dev" "$mnt"
touch "$mnt/a" "$mnt/b"
ia=$(ino "$mnt/a") ib=$(ino "$mnt/b")
umount "$mnt"
daxfs-edit "$dev" --inode "$ia" nlink=0 next_orphan="$ib"
daxfs-edit "$dev" --inode "$ib" nlink=0 next_orphan="$ia"
daxfs-edit "$dev" orphan_head="$ia"
expect_mount_fails EUCLEAN "orphan list: inode $ia is on it twice (the list loops)" "$dev" rw
# The list with a member that still has links, for the repair below.
mount_fresh "$dev" "$mnt"
touch "$mnt/linked"
il=$(ino "$mnt/linked")
umount "$mnt"
daxfs-edit "$dev" orphan_head="$il"
mount -t daxfs -o ro "$dev" "$mnt"
[[ -e $mnt/linked ]] || fail "the read-only mount of a file system with a damaged orphan list lost 'linked'"
umount "$mnt"
fsck -t daxfs -y "$dev" >/dev/null 2>&1 || true
fsck_clean "$dev"
mount -t daxfs "$dev" "$mnt"
[[ -e $mnt/linked ]] || fail "fsck -y of the damaged orphan list lost 'linked'"
umount "$mnt"
echo "ok: a damaged orphan list refuses the read-write mount (EUCLEAN), mounts read-only, fsck repairs it"
rm -f /tmp/crash*.img
