#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make crashtest`: the crash-state explorer on the debug kernel. The guest
# runs each workload with the module's store recorder on, then mounts and reads
# a sample of its crash states (tests/crash/guest.sh); the host then rebuilds
# every crash state of each workload (every prefix of each fence interval,
# CRASH_SUBSETS seeded subsets of each, the final image) and checks it with
# fsck -n and for objects neither old nor new, counting the states the guest
# could not mount or read as failed (daxfs-crashtest). Ends with
# `crashtest: S states checked, F failed`; exits non-zero if F is not 0.
#
#   CRASH_WORKLOADS="a b"  these workloads only (default: all of them)
#   CRASH_PAIRS=N          and N pairs of them, drawn with CRASH_SEED (default 20)
#   CRASH_SUBSETS=N        seeded subsets per fence interval (default 64)
#   CRASH_SEED=S           the subsets' seed (default 1)
#   CRASH_MOUNTS=N         states of each workload the guest mounts (default 4)
#   DAXFS_KO=PATH          record with this module (inside the repository)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

subsets=${CRASH_SUBSETS:-64} seed=${CRASH_SEED:-1} mounts=${CRASH_MOUNTS:-4} pairs=${CRASH_PAIRS:-20}
[[ $subsets =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ && $mounts =~ ^[1-9][0-9]*$ && $pairs =~ ^[0-9]+$ ]] ||
	die "CRASH_SUBSETS, CRASH_SEED, CRASH_MOUNTS and CRASH_PAIRS are numbers (CRASH_MOUNTS at least 1)"
read -ra workloads <<<"${CRASH_WORKLOADS:-}"
((${#workloads[@]})) || mapfile -t workloads < <(bash tests/crash/record-workloads.sh --list)
# The pairs: two pairable workloads each, distinct, drawn with the seed (ACE-style).
mapfile -t pairable < <(bash tests/crash/record-workloads.sh --list-pairable)
mapfile -t -O "${#workloads[@]}" workloads < <(awk -v n="$pairs" -v seed="$seed" -v list="${pairable[*]}" '
	BEGIN {
		srand(seed); k = split(list, w, " ")
		for (tries = 0; found < n && tries < 100 * n; tries++) {
			p = w[int(rand() * k) + 1] "+" w[int(rand() * k) + 1]
			if (!(p in seen)) { seen[p] = 1; found++; print p }
		}
	}')
out=$DAXFS_TOP/build/crashtest/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
debug_run_inputs "$out" "daxfs-fuzz, daxfs-crashtest"

log "recording the workloads in the VM, then mounting $mounts states of each (about 10 s a workload)"
qemu/run-vm.sh --flavour debug --kernel "$kdir" --module "$ko" --results "$out/vm" --timeout 3600 \
	-- bash tests/crash/guest.sh /results "$mounts" "$subsets" "$seed" "${workloads[@]}" >"$out/vm.log" 2>&1 ||
	die "the guest's part failed; see $out/vm.log and $out/vm/console.log"
tr -d '\r' <"$out/vm/console.log" | grep -a '^guest: ' | tail -n 1 || true
unpack_workloads "$out/vm"
log "checking the crash states ($subsets subsets per interval, seed $seed)"
target/release/daxfs-crashtest --subsets "$subsets" --seed "$seed" --guest-results "$out/vm/guest-results.txt" \
	"$out"/vm/workloads/*/ | tee "$out/report.txt"
