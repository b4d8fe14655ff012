#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Both emulated NVDIMMs are fsdax namespaces whose block devices support DAX,
# and a DAX mount of a reference file system (ext4 -o dax) works on them.
. "$(dirname "$0")/lib.sh"

for dev in "$TEST_DEV" "$SCRATCH_DEV"; do
	name=$(basename "$dev")
	[[ -b $dev ]] || fail "$dev is not a block device"
	[[ $(cat "/sys/block/$name/queue/dax") == 1 ]] || fail "$dev does not support DAX"
	ndctl list -N | grep -B10 -A10 "\"blockdev\":\"$name\"" | grep -q '"mode":"fsdax"' ||
		fail "$dev is not on an fsdax namespace: $(ndctl list -N)"
	echo "ok: $dev is fsdax, $(($(blockdev --getsize64 "$dev") >> 20)) MiB"
done
mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV"
mount -o dax=always "$SCRATCH_DEV" "$SCRATCH_MNT"
grep -q "^$SCRATCH_DEV $SCRATCH_MNT ext4 .*dax" /proc/mounts || fail "ext4 mount did not keep dax: $(grep "$SCRATCH_MNT" /proc/mounts)"
xfs_io -f -c 'pwrite -q 0 8192' -c 'statx -r' "$SCRATCH_MNT/f" | grep -q 'stat.attributes = 0x200000' ||
	fail "statx does not report STATX_ATTR_DAX for a file on ext4 -o dax"
umount "$SCRATCH_MNT"
echo "ok: ext4 -o dax=always mounts and reports STATX_ATTR_DAX"
