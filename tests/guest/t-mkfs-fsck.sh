#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkfs -t daxfs and fsck -t daxfs work on a pmem device in the guest: mkfs
# refuses to overwrite a file system without -f, fsck -n finds a fresh one
# clean and never writes, and reports a corrupted superblock; mkfs with a
# block count after the device makes a file system of that size.
. "$(dirname "$0")/lib.sh"

dev=$SCRATCH_DEV
mkfs.ext4 -q -F -b 4096 "$dev"
expect_fail "use -f to overwrite" mkfs -t daxfs "$dev"
# `yes` dies of SIGPIPE once mkfs exits, which pipefail would report.
{ yes || true; } | mkfs -t daxfs -f -L guest-test "$dev" || fail "mkfs -t daxfs -f failed"
fsck -t daxfs -n "$dev" || fail "fsck -n of a fresh file system exited $?"
echo "ok: fresh file system is clean"

before=$(head -c 64M "$dev" | sha256sum)
fsck -t daxfs -n "$dev" >/dev/null
[[ $(head -c 64M "$dev" | sha256sum) == "$before" ]] || fail "fsck -n changed the device"
echo "ok: fsck -n did not write"

# Flip a byte inside the superblock's checksummed area (the label).
printf 'X' | dd of="$dev" bs=1 seek=$((0x28)) conv=notrunc status=none
rc=0
out=$(fsck -t daxfs -n "$dev" 2>&1) || rc=$?
((rc & 4 || rc & 8)) || fail "fsck -n exited $rc on a corrupted superblock: $out"
grep -qi checksum <<<"$out" || fail "fsck did not name the checksum: $out"
echo "ok: corrupted superblock reported (exit $rc): $(head -n1 <<<"$out")"

# A file system over the first 2048 blocks only (mke2fs's block count operand,
# which fstests' _scratch_mkfs_sized passes): statfs counts no more, a file
# filling it stops with ENOSPC, and the device past it keeps what it held.
dd if=/dev/zero bs=1M count=4 status=none | tr '\0' '\132' |
	dd of="$dev" bs=1M seek=8 iflag=fullblock oflag=direct status=none
tail_sum=$(dd if="$dev" bs=1M skip=8 count=4 iflag=direct status=none | sha256sum)
out=$(mkfs -t daxfs -f "$dev" 2048) || fail "mkfs -t daxfs -f $dev 2048 failed"
grep -q "2048 blocks of 4096 bytes" <<<"$out" || fail "mkfs $dev 2048 did not make 2048 blocks: $out"
mount_daxfs "$dev" "$SCRATCH_MNT"
total=$(stat -f -c %b "$SCRATCH_MNT")
((total > 0 && total <= 2048)) || fail "statfs of a 2048-block file system says $total blocks"
rc=0
out=$(dd if=/dev/zero of="$SCRATCH_MNT/fill" bs=1M count=16 status=none 2>&1) || rc=$?
grep -q "No space left on device" <<<"$out" || fail "filling a 2048-block file system: '$out' (exit $rc)"
size=$(stat -c %s "$SCRATCH_MNT/fill")
((size > 0 && size <= 2048 * 4096)) || fail "a 2048-block file system took a file of $size bytes"
umount_checked "$dev" "$SCRATCH_MNT"
[[ $(dd if="$dev" bs=1M skip=8 count=4 iflag=direct status=none | sha256sum) == "$tail_sum" ]] ||
	fail "a 2048-block file system wrote past its end"
echo "ok: a file system over the first 2048 blocks: statfs $total blocks, full at $size bytes, nothing written past it"
