#!/bin/bash
# Until the on-disk format lands, mounting is refused with EOPNOTSUPP and a
# message in the kernel log, and leaves nothing mounted.
. "$(dirname "$0")/lib.sh"

dmesg -C
expect_fail "Operation not supported" mount -t daxfs "$TEST_DEV" "$TEST_DIR"
dmesg | grep -q 'daxfs: mounting is not implemented yet' || fail "no explanation in dmesg: $(dmesg | tail -n 5)"
! grep -q " $TEST_DIR " /proc/mounts || fail "something is mounted on $TEST_DIR"
