#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shutting down, and transactions that fail midway.
# - FS_IOC_SHUTDOWN (as `xfs_io -x -c shutdown` and fstests' godown use it),
#   with the default flags (a device freeze around it: freeze_fs, then a thaw
#   that must not fail), with FS_SHUTDOWN_FLAGS_LOGFLUSH and with NOLOGFLUSH:
#   afterwards an open file's read, write, fsync and mmap fail with EIO, and
#   so do open, create and mkdir; stat still works, the ioctl again succeeds,
#   unmount works, and the next mount finds what was written before. Checked on
#   ext4 -o dax too, as the control, with the default flags and with LOGFLUSH
#   (ext4 without a flush may drop what its journal had not committed; daxfs
#   commits every call before returning, so it must keep everything either way).
# - A transaction that fails midway (one logged write made to fail through
#   /sys/kernel/debug/daxfs/fail_logged_write) fails its operation with EIO
#   and shuts the file system down, uncommitted: fsck -n of the device then
#   finds the interrupted transaction, the next mount undoes it, and the files
#   are as before, with their sizes, bytes and extent maps; fsck is clean.
#   Done for a truncate of a fragmented file (in the middle of rewriting its
#   extent tree) and for a rename over an existing name. Without the journal's
#   abort, both operations commit what they did up to the failure and go on.
# - After a shutdown the file system needs recovery: on a read-only block device
#   (blockdev --setro) a mount fails with EROFS ("cannot mount read-only") and
#   writes nothing, `-o norecovery` mounts it read-only and shows the files,
#   norecovery without ro is refused, and a norecovery mount cannot be remounted
#   read-write; once the device is writable again a plain `-o ro` mount recovers
#   it. The same steps on ext4 -o dax, the control (fstests generic/050). On
#   daxfs, a norecovery mount shows what was written before the shutdown, and
#   refuses a remount read-write on a writable device too (the next read-write
#   mount recovers).
. "$(dirname "$0")/lib.sh"
dev=$SCRATCH_DEV
mnt=$SCRATCH_MNT
mkdir -p "$mnt"

st=/repo/target/release/daxfs-selftest

# expect_eio WHAT CMD...: CMD must report EIO ("Input/output error").
expect_eio() {
	local what=$1 out
	shift
	out=$("$@" 2>&1) || true
	grep -q "Input/output error" <<<"$out" || fail "$what after shutdown: '$out', expected EIO"
}

# shutdown_checks FS FLAGS: FS is mounted on $mnt; writes files, shuts it down
# with FS_IOC_SHUTDOWN and FLAGS (1: LOGFLUSH, 2: NOLOGFLUSH) through an open
# file, whose read, write, fsync and mmap must then fail with EIO (the
# selftest); then opening, creating, mkdir and the shutdown through xfs_io
# (which works again), stat works, unmount works, and the next mount finds
# the files.
shutdown_checks() {
	local fs=$1 flags=$2 sum
	mkdir "$mnt/d"
	head -c 300000 /dev/urandom >"$mnt/d/f"
	sum=$(md5sum <"$mnt/d/f")
	echo new >"$mnt/g"
	"$st" shutdown-eio "$mnt/g" "$flags" || fail "$fs: shutdown with flags $flags"
	expect_eio "$fs: open" cat "$mnt/d/f"
	expect_eio "$fs: create" touch "$mnt/new"
	expect_eio "$fs: mkdir" mkdir "$mnt/newdir"
	[[ $(stat -c %s "$mnt/d/f") == 300000 ]] || fail "$fs: stat after shutdown: $(stat "$mnt/d/f" 2>&1)"
	xfs_io -x -c "shutdown -f" "$mnt" || fail "$fs: a second shutdown failed"
	umount "$mnt" || fail "$fs: unmount after shutdown failed"
	mount -t "$fs" -o dax "$dev" "$mnt"
	[[ $(md5sum <"$mnt/d/f") == "$sum" && $(cat "$mnt/g") == new ]] ||
		fail "$fs: after a shutdown with flags $flags and a remount the files differ"
	echo "ok: $fs: shutdown with flags $flags: EIO after it, the files kept"
}

dmesg -C
for flags in 0 1; do
	mkfs.ext4 -q -F -b 4096 "$dev"
	mount -t ext4 -o dax "$dev" "$mnt"
	shutdown_checks ext4 "$flags"
	umount "$mnt"
done
dd if=/dev/zero of="$dev" bs=1M count=$(($(blockdev --getsize64 "$dev") >> 20)) \
	oflag=direct status=none

for flags in 0 1 2; do
	mount_fresh "$dev" "$mnt"
	shutdown_checks daxfs "$flags"
	umount_checked "$dev" "$mnt"
done
dmesg | grep -q "daxfs: shut down (requested)" || fail "dmesg does not say that daxfs shut down"

knob=/sys/kernel/debug/daxfs/fail_logged_write
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
[[ -w $knob ]] || fail "no $knob"

# state: every file's name, size, bytes and extent map.
state() {
	local f
	for f in "$mnt"/*; do
		echo "$(basename "$f") $(stat -c %s "$f") $(md5sum <"$f") $(extent_map "$f")"
	done
}

# fails_midway N CMD...: with the Nth logged write from now made to fail, CMD
# must fail with EIO and shut the file system down uncommitted; the next mount
# must undo its transaction and leave the state as before.
fails_midway() {
	local n=$1 before out problems
	shift
	before=$(state)
	dmesg -C
	echo "$n" >"$knob"
	out=$("$@" 2>&1) && fail "'$*' succeeded with a failing write"
	echo 0 >"$knob"
	grep -q "Input/output error" <<<"$out" || fail "'$*' failed with '$out', expected EIO"
	dmesg | grep -q "failed midway (error -5): shut down with it uncommitted" ||
		fail "'$*': dmesg does not say the transaction failed midway: $(dmesg | tail -n 5)"
	expect_eio "after '$*'" touch "$mnt/new"
	umount "$mnt"
	problems=$({ fsck -t daxfs -n "$dev" 2>&1 || true; } | sed -n 's/^\([a-z-]*\): .*/\1/p' | sort -u | xargs)
	[[ $problems == *journal* ]] ||
		fail "'$*': fsck -n does not find the interrupted transaction: $(fsck -t daxfs -n "$dev" 2>&1)"
	mount -t daxfs "$dev" "$mnt"
	dmesg | grep -q "journal: undid the .* change(s) of transaction" ||
		fail "'$*': the mount did not undo the transaction: $(dmesg | tail -n 5)"
	[[ $(state) == "$before" ]] || fail "'$*' changed the files: before: $before; after: $(state)"
	remount_checked "$dev" "$mnt"
	echo "ok: '$*' failed midway with EIO, shut down, and the next mount undid it"
}

mount_fresh "$dev" "$mnt"
# 400 extents: the truncate rewrites several extent-overflow blocks.
# One xfs_io for all the writes: a process each takes a third of a second under TCG.
for ((i = 0; i < 800; i += 2)); do echo "pwrite -q -S 0x5a $((i * 4096)) 4096"; done |
	xfs_io -f "$mnt/frag" >/dev/null
echo one >"$mnt/a"
echo two >"$mnt/b"
remount_checked "$dev" "$mnt"
fails_midway 3 truncate -s $((200 * 4096)) "$mnt/frag"
fails_midway 2 mv "$mnt/a" "$mnt/b"
umount_checked "$dev" "$mnt"

# recovery_on_ro_device FS: the norecovery steps above on FS; prints one line per step.
recovery_on_ro_device() {
	local fs=$1 opts=dax
	if [[ $fs == daxfs ]]; then
		mkfs -t daxfs -f "$dev" 16384 >/dev/null || fail "mkfs of a 64 MiB daxfs failed"
	else
		mkfs.ext4 -q -F -b 4096 "$dev" 16384
	fi
	mount -t "$fs" -o $opts "$dev" "$mnt"
	echo kept >"$mnt/kept"
	sync
	xfs_io -x -c 'shutdown -f' "$mnt"
	umount "$mnt"
	blockdev --setro "$dev"
	local sum
	# Direct I/O: DAX stores bypass the block device's page cache.
	sum=$(dd if="$dev" bs=1M count=1 iflag=direct status=none | md5sum)
	if mount -t "$fs" -o ro,$opts "$dev" "$mnt" 2>/dev/null; then
		echo "ro mount on a read-only device: mounted"
		umount "$mnt"
	else
		echo "ro mount on a read-only device: refused"
	fi
	[[ $(dd if="$dev" bs=1M count=1 iflag=direct status=none | md5sum) == "$sum" ]] &&
		echo "device unchanged" || echo "device written"
	if mount -t "$fs" -o ro,norecovery,$opts "$dev" "$mnt"; then
		# (What it shows depends on the journal: ext4's may not be checkpointed yet.)
		echo "norecovery: mounted"
		mount -o remount,rw "$mnt" 2>/dev/null && echo "remount rw: allowed" || echo "remount rw: refused"
		umount "$mnt"
	else
		echo "norecovery: refused"
	fi
	blockdev --setrw "$dev"
	mount -t "$fs" -o norecovery,$opts "$dev" "$mnt" 2>/dev/null && { echo "rw norecovery: mounted"; umount "$mnt"; } ||
		echo "rw norecovery: refused"
	if mount -t "$fs" -o ro,$opts "$dev" "$mnt"; then
		echo "ro mount on a writable device: mounted, kept=$(cat "$mnt/kept")"
		umount "$mnt"
	else
		echo "ro mount on a writable device: refused"
	fi
}
want=$(recovery_on_ro_device ext4)
got=$(recovery_on_ro_device daxfs)
[[ $got == "$want" ]] || fail "recovery on a read-only device: daxfs differs from ext4 -o dax:
$(diff <(echo "$want") <(echo "$got"))"
grep -q "ro mount on a read-only device: refused" <<<"$got" || fail "ext4 and daxfs both mounted a file system needing recovery on a read-only device: $got"
fsck_clean "$dev"
echo "ok: recovery on a read-only device behaves as on ext4 -o dax:"
echo "$got" | sed 's/^/    /'
# daxfs alone: norecovery reads what was committed; no remount read-write without recovery.
mkfs -t daxfs -f "$dev" 16384 >/dev/null || fail "mkfs of a 64 MiB daxfs failed"
mount_daxfs "$dev" "$mnt"
echo kept >"$mnt/kept"
xfs_io -x -c 'shutdown' "$mnt"
umount "$mnt"
mount -t daxfs -o ro,norecovery "$dev" "$mnt" || fail "norecovery mount failed"
[[ $(cat "$mnt/kept") == kept ]] || fail "a norecovery mount does not show what was committed before the shutdown"
expect_fail "mounted without recovery" mount -o remount,rw "$mnt"
umount "$mnt"
mount_daxfs "$dev" "$mnt"
[[ $(cat "$mnt/kept") == kept ]] || fail "kept is gone after the recovering mount"
umount_checked "$dev" "$mnt"
echo "ok: a norecovery mount shows the committed files and refuses a remount read-write"
