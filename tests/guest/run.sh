#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-guest test runner: runs every tests/guest/t-*.sh in order (or only the
# NAMEs given, e.g. `run.sh mmap truncate`), each with a time limit, its output
# in /results/logs/NAME.log and one line in /results/results.txt: "PASS NAME"
# or "FAIL NAME detail".
set -uo pipefail
cd "$(dirname "$0")"
mkdir -p /results/logs
: >/results/results.txt
status=0
tests=(t-*.sh)
(($#)) && tests=("${@/#/t-}") && tests=("${tests[@]/%/.sh}")
for t in "${tests[@]}"; do
	name=${t%.sh}
	name=${name#t-}
	echo "daxfs-test: $name" >/dev/kmsg
	timeout -k 5 "${TEST_TIMEOUT:-600}" bash "./$t" >"/results/logs/$name.log" 2>&1
	rc=$?
	# A failed test may leave its mounts behind; the next one starts clean.
	umount -q /mnt/test /mnt/scratch 2>/dev/null
	if ((rc == 0)); then
		echo "PASS $name" >>/results/results.txt
	else
		detail="exit $rc"
		((rc == 124)) && detail="timed out after ${TEST_TIMEOUT:-600} s"
		echo "FAIL $name $detail; log: build/check/vm/logs/$name.log" >>/results/results.txt
		status=1
	fi
	echo "$(tail -n1 /results/results.txt)"
done
exit $status
