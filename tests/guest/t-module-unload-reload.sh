#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rmmod unregisters the file system type; loading again registers it again.
. "$(dirname "$0")/lib.sh"

rmmod daxfs || fail "rmmod daxfs failed"
! fs_registered daxfs || fail "daxfs still in /proc/filesystems after rmmod"
[[ ! -d /sys/module/daxfs ]] || fail "/sys/module/daxfs still there after rmmod"
echo "ok: rmmod unregistered daxfs"
insmod "/repo/$DAXFS_MODULE" || fail "insmod again failed"
fs_registered daxfs || fail "daxfs not registered after the second insmod"
echo "ok: insmod registered daxfs again"
