#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug kernel's safety nets are on, so that a bug the tests trigger is a
# report on the console, not a pass: warnings, hung tasks (D state for 120 s)
# and soft lockups (60 s under TCG) panic, and KASAN and lockdep are built in.
. "$(dirname "$0")/lib.sh"

expect_sysctl() {
	local got
	got=$(cat "/proc/sys/kernel/$1") || fail "no /proc/sys/kernel/$1: the kernel lacks the option"
	[[ $got == "$2" ]] || fail "kernel.$1 is $got, expected $2"
	echo "ok: kernel.$1 = $got"
}
expect_sysctl panic_on_warn 1
expect_sysctl hung_task_panic 1
expect_sysctl hung_task_timeout_secs 120
expect_sysctl softlockup_panic 1
expect_sysctl watchdog_thresh 30
grep -qw kasan_report /proc/kallsyms || fail "KASAN is not on (no kasan_report in /proc/kallsyms)"
[[ -e /proc/lockdep ]] || fail "lockdep is not on (no /proc/lockdep)"
echo "ok: KASAN and lockdep are on"
