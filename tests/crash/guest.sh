#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest's part of `make crashtest`, one workload at a time: records it
# (record-workloads.sh) in tmpfs, mounts and reads MOUNTS of its crash states
# (mount-states.sh; the same SUBSETS and SEED as the host's check, so that the
# states are the ones it names), and packs it for the host into
# OUTDIR/packed/NAME.tar.gz (pack-workloads.sh). The states that failed are in
# OUTDIR/guest-results.txt. Only one recording is in memory at a time.
#
#   guest.sh OUTDIR MOUNTS SUBSETS SEED [WORKLOAD...]
set -euo pipefail
out=$1 mounts=$2 subsets=$3 seed=$4
shift 4
here=$(dirname "$0")
names=("$@")
((${#names[@]})) || mapfile -t names < <(bash "$here/record-workloads.sh" --list)
work=/tmp/crashtest
: >"$out/guest-results.txt"
mounted=0 failed=0
for name in "${names[@]}"; do
	rm -rf "$work"
	bash "$here/record-workloads.sh" "$work/workloads" "$name"
	summary=$(bash "$here/mount-states.sh" "$work/guest-results.txt" "$mounts" "$subsets" "$seed" "$work/workloads/$name/" | tail -n 1)
	cat "$work/guest-results.txt" >>"$out/guest-results.txt"
	[[ $summary =~ ^guest:\ ([0-9]+)\ states\ mounted,\ ([0-9]+)\ failed$ ]] || {
		echo "mount-states.sh ended with '$summary'" >&2
		exit 1
	}
	mounted=$((mounted + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
	bash "$here/pack-workloads.sh" "$work" "$out"
done
rm -rf "$work"
echo "guest: $mounted states mounted, $failed failed"
