#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest's half of make check's fixed-seed crash-state sample (the full run is
# `make crashtest`).
# 1. The recorder (the in-module half of the explorer) sees every metadata store
#    and fence: for a sample of workloads (tests/crash/record-workloads.sh), the
#    log replayed on the image before the workload gives the image after it, byte
#    for byte (`daxfs-crashtest --replay-only`). A store that bypassed the
#    recorder would leave a difference.
# 2. Two crash states of each workload (subsets and seed as the host's check) are
#    mounted and read, as after the power cut (tests/crash/mount-states.sh); all
#    of the label change's, whose torn superblock mount reads through the journal.
# The host then checks every state of these workloads (scripts/check.sh,
# crash-sample), counting the states this guest could not mount as failed.
# The recording stays in tmpfs and goes to the host packed (pack-workloads.sh).
. "$(dirname "$0")/lib.sh"

out=/tmp/crash-sample results=/results/crash-sample
rm -rf "$out" "$results"
sample=(create mkdir symlink-long link rename-over-dir unlink unlink-open last-close truncate-zero-big
	write-extending write-fault write-unwritten punch-hole setxattr removexattr-last label tmpfile-link mount umount
	remount-rw)
bash /repo/tests/crash/record-workloads.sh "$out/workloads" "${sample[@]}" || fail "recording the workloads failed"
report=$(/repo/target/release/daxfs-crashtest --replay-only "$out"/workloads/*/) || fail "$report"
echo "$report"
grep -q "^crashtest: ${#sample[@]} logs replayed, 0 did not" <<<"$report" || fail "not every workload was replayed"
# Each workload wrote metadata (an empty log would replay trivially).
! grep -E '\((0 words|[0-9]+ words in 0 fence)' <<<"$report" || fail "a workload recorded no store or no fence"
echo "ok: ${#sample[@]} workloads' logs replay to the image after them"
# The subsets and seed are those of crash-sample in scripts/check.sh.
mkdir -p "$results"
bash /repo/tests/crash/mount-states.sh "$results/guest-results.txt" 2 8 1 "$out"/workloads/*/ ||
	fail "mounting the crash states stopped"
echo "ok: 2 crash states of each workload mounted and read (failures: $results/guest-results.txt)"
# Every crash state of the label change (the host checks them all with fsck): those
# with the new label but the old checksum mount through the journal's undo, and
# some of them are such states.
dmesg -C
bash /repo/tests/crash/mount-states.sh /tmp/label-states.txt 64 8 1 "$out/workloads/label/" ||
	fail "mounting the label's crash states stopped"
[[ ! -s /tmp/label-states.txt ]] || fail "label crash states did not mount: $(head -n 3 /tmp/label-states.txt)"
torn=$(dmesg | grep -c "superblock read through the journal" || true)
((torn > 0)) || fail "no crash state of the label change had a torn superblock"
echo "ok: every crash state of a label change mounts ($torn with a torn superblock)"
bash /repo/tests/crash/pack-workloads.sh "$out" "$results" || fail "packing the workloads for the host failed"
rm -rf "$out"
