#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Mounting refuses, with an errno and a dmesg line that say why and without a
# kernel warning: a device without daxfs, a bad superblock checksum, an image
# from a newer format version or with unknown features, geometry larger than
# the device, an unknown dax= mode, unknown options, and -o dax=always on a
# device without DAX (t-block-device mounts it without).
. "$(dirname "$0")/lib.sh"

dev=$TEST_DEV
mkfs.ext4 -q -F -b 4096 "$dev"
expect_mount_fails EINVAL "bad superblock: bad magic number" "$dev"

mkfs_daxfs "$dev" >/dev/null
printf 'X' | dd of="$dev" bs=1 seek=$((0x28)) conv=notrunc status=none
expect_mount_fails EINVAL "bad superblock: checksum mismatch" "$dev"

mkfs_daxfs "$dev" >/dev/null
daxfs-edit "$dev" version_major=2
expect_mount_fails EINVAL "unsupported format version 2.0" "$dev"

mkfs_daxfs "$dev" >/dev/null
daxfs-edit "$dev" feature_incompat=0x80
expect_mount_fails EINVAL "unsupported incompatible features" "$dev"

mkfs_daxfs "$dev" >/dev/null
daxfs-edit "$dev" feature_ro_compat=0x80
expect_mount_fails EINVAL "cannot mount read-write" "$dev"
mount -t daxfs -o ro "$dev" "$TEST_DIR" || fail "read-only mount with unknown ro_compat features failed"
umount "$TEST_DIR"
echo "ok: unknown ro_compat features mount read-only"

mkfs_daxfs "$dev" >/dev/null
blocks=$(($(blockdev --getsize64 "$dev") / 4096))
daxfs-edit "$dev" total_blocks=$((blocks * 2))
expect_mount_fails EINVAL "superblock does not fit the device" "$dev"

mkfs_daxfs "$dev" >/dev/null
got=$(mount_errno "$dev" dax=sometimes)
[[ $got == EINVAL ]] || fail "-o dax=sometimes failed with '$got'"
# The VFS reports unknown options to the mount program itself.
got=$(mount_errno "$dev" bogus)
[[ $got == EINVAL ]] || fail "-o bogus failed with '$got'"
grep -q "Unknown parameter 'bogus'" /tmp/mount.err || fail "mount did not say why: $(cat /tmp/mount.err)"
echo "ok: -o bogus: EINVAL, $(cat /tmp/mount.err | head -n1)"

# A device without DAX: a loop device over a file on tmpfs.
truncate -s 64M /tmp/nodax.img
mkfs_daxfs /tmp/nodax.img >/dev/null
loop=$(losetup -f --show /tmp/nodax.img)
expect_mount_fails EINVAL "DAX unsupported by block device" "$loop" dax=always
losetup -d "$loop"

fsck_clean "$dev"
