#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: boots the perf kernel once and runs tests/bench/guest.sh, which
# compares daxfs with ext4-dax and xfs-dax on the same emulated NVDIMM, RUNS
# times each (default 5); then builds the report: build/bench/<time>/results.md,
# results.csv, ratios.svg and the raw rows bench.csv.
#
#   RUNS=N          runs per file system (default 5)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

runs=${RUNS:-5}
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
out=$DAXFS_TOP/build/bench/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

# The perf kernel whatever KDIR says: the figures are for a kernel without debug options.
kdir=$(cached_kernel_dir perf)
rootfs_image >/dev/null
build_module_and_tools "$out" perf

# The 1 GiB files and the file systems' own metadata need more than the 1 GiB
# test NVDIMM the tests use.
log "running $runs runs of every workload on daxfs, ext4 and xfs (about $((runs * 6)) minutes under TCG)"
start=$SECONDS
# The NVDIMM backing files live in host memory (/dev/shm) and are fully backed
# before boot (--prealloc): otherwise the first write to each page of the
# emulated NVDIMM costs a host page fault and a host file system allocation,
# which made the same workload vary by a factor of five between runs.
pmem_dir=$(mktemp -d /dev/shm/daxfs-bench-pmem.XXXXXX)
trap 'rm -rf "$pmem_dir"' EXIT
qemu/run-vm.sh --flavour perf --kernel "$kdir" --module build/perf/daxfs.ko --results "$out/vm" \
	--pmem-dir "$pmem_dir" --prealloc --test-size 2048 --timeout $((1800 + runs * 900)) \
	-- tests/bench/guest.sh "$runs" >"$out/vm.log" 2>&1 || {
	show_log_tail "$out/vm.log" 30 >&2
	die "the benchmark VM failed; console: $out/vm/console.log"
}
log "the VM ran for $((SECONDS - start)) s"
cp "$out/vm/bench.csv" "$out/bench.csv"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
about="\`RUNS=$runs make bench\` on $(date -u +%Y-%m-%d), kernel $(basename "$kdir") (no debug options), \
QEMU TCG with 2 vCPUs and 2 GiB on a host with $(nproc) × $cpu; test NVDIMM 2 GiB, fsdax, backed by \
host memory."
target/release/daxfs-bench report "$out/bench.csv" "$out" "$about"
log "report: $out/results.md, $out/results.csv, $out/ratios.svg"
cat "$out/results.md"
