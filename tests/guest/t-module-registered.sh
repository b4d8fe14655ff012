#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module loaded at boot registered the daxfs file system type.
. "$(dirname "$0")/lib.sh"

[[ -d /sys/module/daxfs ]] || fail "daxfs is not loaded"
fs_registered daxfs || fail "/proc/filesystems does not list daxfs"
grep -q '^daxfs ' /proc/modules || fail "daxfs missing from /proc/modules"
echo "ok: daxfs registered: $(grep -w daxfs /proc/filesystems)"
