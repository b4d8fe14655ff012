#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make crashtest`: the crash-state explorer on the debug kernel. The guest
# runs each workload with the module's store recorder on
# (tests/crash/record-workloads.sh); the host then rebuilds every crash state
# of each (every prefix of each fence interval, CRASH_SUBSETS seeded subsets
# of each, the final image) and checks it with fsck -n (daxfs-crashtest).
# Ends with `crashtest: S states checked, F failed`; exits non-zero if F is
# not 0.
#
#   CRASH_WORKLOADS="a b"  these workloads only (default: all of them)
#   CRASH_SUBSETS=N        seeded subsets per fence interval (default 64)
#   CRASH_SEED=S           the subsets' seed (default 1)
#   DAXFS_KO=PATH          record with this module (inside the repository)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

subsets=${CRASH_SUBSETS:-64} seed=${CRASH_SEED:-1}
read -ra workloads <<<"${CRASH_WORKLOADS:-}"
out=$DAXFS_TOP/build/crashtest/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
debug_run_inputs "$out" "daxfs-fuzz, daxfs-crashtest"

log "recording the workloads in the VM (about 10 s each under TCG)"
qemu/run-vm.sh --flavour debug --kernel "$kdir" --module "$ko" --results "$out/vm" --timeout 1800 \
	-- bash tests/crash/record-workloads.sh /results/workloads "${workloads[@]}" >"$out/vm.log" 2>&1 ||
	die "recording failed; see $out/vm.log and $out/vm/console.log"
log "checking the crash states ($subsets subsets per interval, seed $seed)"
target/release/daxfs-crashtest --subsets "$subsets" --seed "$seed" "$out"/vm/workloads/*/ | tee "$out/report.txt"
