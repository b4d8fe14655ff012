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
	write-extending write-fault write-unwritten punch-hole setxattr removexattr-last create-inherit label tmpfile-link mount umount
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
# Every crash state of the label change (the host checks them all with fsck) mounts,
# those with the new label but the old checksum through the journal's undo (some
# states must be such); and the label the mount shows is the one on the device once
# it has recovered, the old or the new one, never an uncommitted one.
states=/tmp/label-states
rm -rf "$states"
/repo/target/release/daxfs-crashtest --subsets 8 --seed 1 --emit 64 "$states" "$out/workloads/label/" >/dev/null
# The label before the workload, in the image it started from.
old=$(head -c 4096 "$out/workloads/label/base.img" | tail -c +41 | head -c 32 | tr -d '\0')
[[ $old != crash-label ]] || fail "the label workload's image has its new label already"
torn=0 count=0
while IFS=$'\t' read -r file state; do
	dd if="$states/label/$file" of="$SCRATCH_DEV" bs=4096 oflag=direct status=none
	dmesg -C
	mount -t daxfs "$SCRATCH_DEV" "$SCRATCH_MNT" || fail "label crash state $state does not mount"
	log=$(dmesg)
	[[ $log != *"superblock read through the journal"* ]] || torn=$((torn + 1))
	shown=$(xfs_io -c label "$SCRATCH_MNT")
	umount "$SCRATCH_MNT"
	stored=$(dd if="$SCRATCH_DEV" bs=4096 count=1 iflag=direct status=none | tail -c +41 | head -c 32 | tr -d '\0')
	[[ $shown == "label = \"$stored\"" ]] ||
		fail "label crash state $state: the mount showed '$shown', the device holds '$stored'"
	[[ $stored == crash-label || $stored == "$old" ]] ||
		fail "label crash state $state: the label is '$stored', neither the old nor the new one"
	count=$((count + 1))
done <"$states/label/states.txt"
rm -rf "$states"
((torn > 0)) || fail "no crash state of the label change had a torn superblock"
echo "ok: all $count crash states of a label change mount and show the label on the device ($torn with a torn superblock)"
bash /repo/tests/crash/pack-workloads.sh "$out" "$results" || fail "packing the workloads for the host failed"
rm -rf "$out"
