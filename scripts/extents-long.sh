#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make extents-long`: a file of EXTENTS one-block extents (default 1,000,000)
# written, checked, shifted, truncated and unlinked in the VM (tests/long/extents.sh),
# on a 4.5 GiB test NVDIMM. make check covers 20,000 extents on the debug
# kernel; this runs on the perf kernel (FLAVOUR=debug for the debug one, which
# takes hours under TCG), since it is about scale: a million random-order writes
# take a few minutes there.
#
#   EXTENTS=N   extents in the file (default 1000000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

count=${EXTENTS:-1000000}
flavour=${FLAVOUR:-perf}
[[ $count =~ ^[1-9][0-9]*$ && $count -ge 4 ]] || die "EXTENTS must be a number of at least 4"
check_flavour "$flavour"
out=$DAXFS_TOP/build/extents-long/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
kdir=$(cached_kernel_dir "$flavour")
rootfs_image >/dev/null
build_module_and_tools "$out" "$flavour"
# One data block per extent and the chain's blocks, with room to spare, in whole GiB
# (ndctl refuses a namespace after a region whose size is not aligned enough).
test_mb=$(((count * 4096 * 9 / 8 / (1 << 20) + 64 + 1023) / 1024 * 1024))
log "running $count extents on a ${test_mb} MiB test NVDIMM; console: $out/vm/console.log"
status=0
qemu/run-vm.sh --flavour "$flavour" --kernel "$kdir" --module "build/$flavour/daxfs.ko" --results "$out/vm" \
	--test-size "$test_mb" --timeout 14400 -- bash tests/long/extents.sh "$count" >"$out/vm.log" 2>&1 || status=$?
tr -d '\r' <"$out/vm/console.log" | grep -a '^extents-long: \|^FAIL' || true
# A kernel report fails the VM run whatever the script printed.
((status == 0)) && tr -d '\r' <"$out/vm/console.log" | grep -aq '^extents-long: passed' ||
	die "the run failed (status $status); see $out/vm.log and $out/vm/console.log"
log "passed: $count extents"
