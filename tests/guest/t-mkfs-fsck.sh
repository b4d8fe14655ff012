#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkfs -t daxfs and fsck -t daxfs work on a pmem device in the guest: mkfs
# refuses to overwrite a file system without -f, fsck -n finds a fresh one
# clean and never writes, and reports a corrupted superblock.
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
