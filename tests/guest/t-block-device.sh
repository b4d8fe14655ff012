#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A block device without DAX: a loop device over the scratch pmem (direct I/O,
# so nothing of it stays in RAM). On daxfs and, as the control, on ext4:
# - -o dax=always is refused with EINVAL and "DAX unsupported by block device";
# - the default mount and -o dax=inode keep every file in the page cache:
#   statx reports no DAX, also for a file with the DAX flag, which is stored
#   and inherited all the same; daxfs shows dax=never in /proc/mounts; a
#   remount with -o dax=inode works, one with -o dax=always fails;
# - files written by write(), through a mapping and with O_DIRECT, then cut by
#   hole punches (aligned and not) and a truncate, read back the same after a
#   remount, and as on ext4; fsck finds daxfs clean;
# then t-stale-data on daxfs on the loop device.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

loop=$(losetup -f --show --direct-io=on "$SCRATCH_DEV")
trap 'cd /; umount -q "$SCRATCH_MNT" 2>/dev/null || true; losetup -d "$loop"' EXIT

# workload: files of every kind of write, in the current directory.
workload() {
	xfs_io -f -c 'pwrite -q -b 256k -S 0x11 0 3m' -c 'pwrite -q -S 0x22 1m 5000' -c fsync written
	xfs_io -f -c 'truncate 64k' -c 'mmap -w 0 64k' -c 'mwrite -S 0x66 4096 60k' -c 'msync -s 0 64k' \
		-c munmap mapped
	xfs_io -f -d -c 'pwrite -q -b 256k -S 0x33 0 1m' direct
	xfs_io -c 'pwrite -q -S 0x44 4096 100' direct
	xfs_io -f -c 'pwrite -q -b 256k -S 0x55 0 2m' -c 'fpunch 4096 8192' -c 'fpunch 20000 10000' \
		-c 'truncate 1000000' -c fsync cut
	mkdir sub && cp written sub/copy && mv cut sub/
}
# sums: the checksums of every file under the current directory.
sums() { find . -type f -print0 | sort -z | xargs -0 sha256sum; }
# spot_checks: bytes each file must hold, read after a remount.
spot_checks() {
	local got
	got=$(od -An -tx1 -j $((1048576 + 4999)) -N2 written | tr -d ' ')
	[[ $got == 2211 ]] || fail "$fs: written: bytes 1m+4999.. are $got, expected 2211"
	got=$(od -An -tx1 -j 4095 -N2 mapped | tr -d ' ')
	[[ $got == 0066 ]] || fail "$fs: mapped: bytes 4095.. are $got, expected 0066"
	got=$(od -An -tx1 -j 4195 -N2 direct | tr -d ' ')
	[[ $got == 4433 ]] || fail "$fs: direct: bytes 4195.. are $got, expected 4433"
	got=$(od -An -tx1 -j 4095 -N2 sub/cut | tr -d ' ')
	[[ $got == 5500 ]] || fail "$fs: cut: bytes 4095.. are $got, expected 5500 (a punched hole)"
	got=$(od -An -tx1 -j 19999 -N2 sub/cut | tr -d ' ')$(od -An -tx1 -j 29999 -N2 sub/cut | tr -d ' ')
	[[ $got == 55000055 ]] || fail "$fs: cut: bytes 19999.. and 29999.. are $got, expected 5500 0055"
	[[ $(stat -c %s sub/cut) == 1000000 ]] || fail "$fs: cut: size $(stat -c %s sub/cut)"
}

for fs in ext4 daxfs; do
	case $fs in
	ext4) mkfs.ext4 -q -F -b 4096 "$loop" ;;
	daxfs) mkfs_daxfs "$loop" >/dev/null ;;
	esac
	dmesg -C
	if mount -t "$fs" -o dax=always "$loop" "$SCRATCH_MNT" 2>/tmp/mount.err; then
		fail "$fs: -o dax=always mounted a device without DAX"
	fi
	dmesg | grep -q "DAX unsupported by block device" ||
		fail "$fs: dmesg does not say why -o dax=always failed: $(dmesg | tail -n 3)"
	echo "ok: $fs: -o dax=always refused: $(dmesg | grep "DAX unsupported" | tail -n 1)"

	mount -t "$fs" -o dax=inode "$loop" "$SCRATCH_MNT"
	if [[ $fs == daxfs ]]; then
		grep -q " $SCRATCH_MNT daxfs .*dax=never" /proc/mounts ||
			fail "daxfs: /proc/mounts: $(grep " $SCRATCH_MNT " /proc/mounts)"
		# mkfs gave the root the DAX flag, which new files inherit.
		has_flag "$SCRATCH_MNT" || fail "daxfs: the root lost the DAX flag"
	fi
	# A remount with the option it was mounted with keeps working; one asking for DAX fails.
	mount -o remount,dax=inode "$SCRATCH_MNT" || fail "$fs: remount with -o dax=inode failed"
	if mount -o remount,dax=always "$SCRATCH_MNT" 2>/dev/null; then
		fail "$fs: a remount with -o dax=always succeeded on a device without DAX"
	fi
	xfs_io -c 'chattr +x' "$SCRATCH_MNT"
	mkdir "$SCRATCH_MNT/d" && echo data >"$SCRATCH_MNT/d/f"
	has_flag "$SCRATCH_MNT/d/f" || fail "$fs: a new file did not inherit the DAX flag"
	! is_dax "$SCRATCH_MNT/d/f" || fail "$fs: statx reports DAX on a device without it"
	umount "$SCRATCH_MNT"
	mount -t "$fs" "$loop" "$SCRATCH_MNT"
	! is_dax "$SCRATCH_MNT/d/f" || fail "$fs: statx reports DAX on a device without it (default mount)"
	echo "ok: $fs: no DAX on a device without it, the flag stored and inherited"

	cd "$SCRATCH_MNT"
	workload
	sums >"/tmp/sums.$fs"
	cd /
	umount "$SCRATCH_MNT"
	[[ $fs == daxfs ]] && fsck_clean "$loop"
	mount -t "$fs" "$loop" "$SCRATCH_MNT"
	cd "$SCRATCH_MNT"
	spot_checks
	sums | diff "/tmp/sums.$fs" - || fail "$fs: files changed across a remount"
	cd /
	umount "$SCRATCH_MNT"
	echo "ok: $fs: write, mmap, O_DIRECT, hole punch and truncate last across a remount"
	# ext4's metadata spans the device: zeros again, as the next tests expect.
	if [[ $fs == ext4 ]]; then
		dd if=/dev/zero of="$loop" bs=1M count=$(($(blockdev --getsize64 "$loop") >> 20)) \
			oflag=direct status=none
	fi
done
diff /tmp/sums.ext4 /tmp/sums.daxfs || fail "daxfs and ext4 hold different files after the same writes"
echo "ok: daxfs holds the same files as ext4"

SCRATCH_DEV=$loop STALE_DATA_DAX=no bash "$here/t-stale-data.sh" || fail "t-stale-data on a device without DAX"
echo "ok: t-stale-data on a device without DAX"
