#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot 2 of the reboot test: the tree is there after a guest reboot on the same
# NVDIMM backing file. The file system was not unmounted, so fsck -n reports it
# dirty (exit 4) and fsck -y marks it clean without other repairs.
. "$(dirname "$0")/../guest/lib.sh"

rc=0
out=$(fsck -t daxfs -n "$TEST_DEV" 2>&1) || rc=$?
((rc == 4)) && grep -qi 'not cleanly unmounted\|dirty' <<<"$out" || fail "fsck -n after a crash: exit $rc: $out"
echo "ok: fsck -n sees the unclean shutdown"
rc=0
out=$(fsck -t daxfs -y "$TEST_DEV" 2>&1) || rc=$?
((rc == 1)) || fail "fsck -y exited $rc: $out"
fsck_clean "$TEST_DEV"
mount -t daxfs "$TEST_DEV" "$TEST_DIR"
after=$(cd "$TEST_DIR" && find . -printf '%p %y %m %n %s %l\n' | sort)
[[ $after == "$(cat /results/tree-before)" ]] || fail "tree differs after reboot: $(diff /results/tree-before <(echo "$after"))"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: tree identical after a guest reboot on the same NVDIMM"
