#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The crash-state recorder (the in-module half of `make crashtest`) sees every
# metadata store and fence: for a sample of workloads (tests/crash/
# record-workloads.sh), the log replayed on the image before the workload
# gives the image after it, byte for byte (`daxfs-crashtest --replay-only`).
# A store that bypassed the recorder would leave a difference.
. "$(dirname "$0")/lib.sh"

out=/tmp/crash-recorder
rm -rf "$out"
sample=(create mkdir symlink-long link rename-over-dir unlink unlink-open last-close truncate-zero-big
	write-extending write-fault punch-hole utimes mount umount remount-rw)
bash /repo/tests/crash/record-workloads.sh "$out" "${sample[@]}" || fail "recording the workloads failed"
report=$(/repo/target/release/daxfs-crashtest --replay-only "$out"/*/) || fail "$report"
echo "$report"
grep -q "^crashtest: ${#sample[@]} logs replayed, 0 did not" <<<"$report" || fail "not every workload was replayed"
# Each workload wrote metadata (an empty log would replay trivially).
! grep -E '\((0 words|[0-9]+ words in 0 fence)' <<<"$report" || fail "a workload recorded no store or no fence"
echo "ok: ${#sample[@]} workloads' logs replay to the image after them"
