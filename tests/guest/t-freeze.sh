#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Freezing (FIFREEZE and FITHAW, as xfs_freeze, LVM and device snapshots use
# them), on daxfs and, as the control, on ext4 -o dax in the same boot:
# - a write(), a mkdir and a write fault through a mapping wait while the file
#   system is frozen, and complete after the thaw;
# - a copy of the device taken while it is frozen is a clean, consistent file
#   system: fsck -n (e2fsck -fn) finds nothing, where a copy of the mounted
#   daxfs taken before the freeze is found not cleanly unmounted;
# - the last close of an unlinked file waits too: statfs shows its blocks in
#   use until the thaw, and free after it;
# - fsck finds the unmounted file system clean.
. "$(dirname "$0")/lib.sh"
st=/repo/target/release/daxfs-selftest

# running PID: the process has not exited (a child not yet waited for stays a zombie).
running() { [[ -e /proc/$1 && $(awk '{print $3}' "/proc/$1/stat") != Z ]]; }
# Both file systems take the first 64 MiB of the scratch device, which is quick to copy.
fs_mib=64
# copy FILE: a copy of the file system, read with O_DIRECT (daxfs writes its metadata past
# the block device's page cache); sparse, as it is mostly zeros.
copy() {
	dd if="$SCRATCH_DEV" of="$1" bs=1M count=$fs_mib iflag=direct conv=sparse status=none
}
# fsck_copy FILE: the check of the file system's own fsck, read only.
fsck_copy() {
	case $fs in
	ext4) e2fsck -fn "$1" ;;
	daxfs) fsck -t daxfs -n "$1" ;;
	esac
}

# Nothing may stay frozen if this fails: every later test would hang.
trap 'xfs_freeze -u "$SCRATCH_MNT" 2>/dev/null || true' EXIT

for fs in ext4 daxfs; do
	case $fs in
	ext4)
		mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV" $((fs_mib * 256))
		mount -t ext4 -o dax "$SCRATCH_DEV" "$SCRATCH_MNT"
		;;
	daxfs)
		mkfs -t daxfs -f "$SCRATCH_DEV" $((fs_mib * 256)) >/dev/null || fail "mkfs of a $fs_mib MiB daxfs failed"
		mount_daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
		;;
	esac
	cd "$SCRATCH_MNT"
	xfs_io -f -c 'pwrite -q -S 0x11 0 1m' -c fsync before
	xfs_io -f -c 'truncate 64k' mapped
	if [[ $fs == daxfs ]]; then
		copy /tmp/mounted.img
		if out=$(fsck_copy /tmp/mounted.img 2>&1); then
			fail "daxfs: fsck -n finds a copy of the mounted file system clean: the check proves nothing"
		fi
		grep -q "not cleanly unmounted" <<<"$out" || fail "daxfs: fsck -n of the mounted copy: $out"
		rm /tmp/mounted.img
	fi

	# Writes, a mkdir and a write fault wait; the frozen device is clean.
	xfs_freeze -f "$SCRATCH_MNT" || fail "$fs: FIFREEZE failed"
	xfs_io -f -c 'pwrite -q -S 0x33 0 64k' during &
	write_pid=$!
	mkdir "$SCRATCH_MNT/newdir" &
	mkdir_pid=$!
	xfs_io -c 'mmap -w 0 64k' -c 'mwrite -S 0x44 0 4k' -c 'msync -s 0 64k' mapped &
	fault_pid=$!
	sleep 2
	for job in write mkdir fault; do
		pid_var=${job}_pid
		running "${!pid_var}" || fail "$fs: the $job finished while the file system was frozen"
	done
	echo "ok: $fs: frozen: a write, a mkdir and a write fault wait"
	copy /tmp/frozen.img
	out=$(fsck_copy /tmp/frozen.img 2>&1) || fail "$fs: a copy of the frozen file system is not clean: $out"
	rm /tmp/frozen.img
	echo "ok: $fs: a copy of the frozen device is clean"
	xfs_freeze -u "$SCRATCH_MNT" || fail "$fs: FITHAW failed"
	wait "$write_pid" || fail "$fs: the write failed after the thaw"
	wait "$mkdir_pid" || fail "$fs: the mkdir failed after the thaw"
	wait "$fault_pid" || fail "$fs: the write fault failed after the thaw"
	[[ -d newdir ]] || fail "$fs: no newdir after the thaw"
	[[ $(od -An -tx1 -N1 during | tr -d ' ') == 33 ]] || fail "$fs: the write did not land"
	[[ $(od -An -tx1 -N1 mapped | tr -d ' ') == 44 ]] || fail "$fs: the write fault did not land"
	[[ $(od -An -tx1 -N1 before | tr -d ' ') == 11 ]] || fail "$fs: the file written before the freeze changed"
	echo "ok: $fs: after the thaw they complete"

	# The last close of an unlinked file frees its blocks only after the thaw.
	xfs_io -f -c 'pwrite -q -S 0x22 0 4m' -c fsync unlinked
	holder open "$st" hold-open unlinked
	await open open
	rm unlinked
	free_before=$(stat -f -c %f .)
	xfs_freeze -f "$SCRATCH_MNT" || fail "$fs: FIFREEZE failed"
	send open go
	sleep 2
	running "$open_pid" || fail "$fs: the last close finished while the file system was frozen"
	[[ $(stat -f -c %f .) == "$free_before" ]] || fail "$fs: blocks were freed while frozen"
	xfs_freeze -u "$SCRATCH_MNT" || fail "$fs: FITHAW failed"
	finish open
	(($(stat -f -c %f .) >= free_before + 1024)) || fail "$fs: the unlinked file's blocks were not freed after the thaw"
	echo "ok: $fs: the last close of an unlinked file waits for the thaw, then frees its blocks"

	cd /
	umount "$SCRATCH_MNT"
	case $fs in
	ext4) e2fsck -fn "$SCRATCH_DEV" >/dev/null || fail "ext4: e2fsck after the thaw" ;;
	daxfs) fsck_clean "$SCRATCH_DEV" ;;
	esac
	echo "ok: $fs: clean after the thaw"
	# ext4's metadata spans its 64 MiB: zeros again, as the next tests expect.
	if [[ $fs == ext4 ]]; then
		dd if=/dev/zero of="$SCRATCH_DEV" bs=1M count=$fs_mib oflag=direct status=none
	fi
done
