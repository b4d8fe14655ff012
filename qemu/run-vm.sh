#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the daxfs guest: a cached kernel flavour, the cached Debian root image
# (snapshot=on), two emulated NVDIMMs (test and scratch) and 9p shares of the
# repository (read-only) and a results directory (writable).
#
#   run-vm.sh [options] [-- COMMAND...]
#
# With a COMMAND the guest runs it from /repo as root and powers off; the exit
# status comes back as this script's. Without one the guest gives a shell on
# the console. In both cases a kernel WARNING, BUG, lockdep or KASAN report on
# the console fails the run.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

usage() {
	cat >&2 <<-EOF
		usage: $0 [--flavour debug|perf] [--kernel KDIR] [--module KO] [--results DIR]
		          [--pmem-dir DIR] [--test-size MiB] [--scratch-size MiB] [--prealloc]
		          [--timeout SECONDS] [--accel tcg|kvm] [--mem MiB] [--cpus N] [-- COMMAND...]
	EOF
	exit 2
}

flavour=debug kdir= module= results= pmem_dir= test_mb=1024 scratch_mb=512 prealloc=off
timeout_s=${VM_TIMEOUT:-900} accel=${VM_ACCEL:-tcg} mem_mb=${VM_MEM:-2048} cpus=${VM_CPUS:-2}
while (($#)); do
	case "$1" in
	--flavour) flavour=$2; shift 2 ;;
	--kernel) kdir=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--pmem-dir) pmem_dir=$2; shift 2 ;;
	--test-size) test_mb=$2; shift 2 ;;
	--scratch-size) scratch_mb=$2; shift 2 ;;
	# Backs every NVDIMM page before boot, so that no host page fault (or host
	# file system allocation) lands in a measurement: for benchmarks.
	--prealloc) prealloc=on; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--mem) mem_mb=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) log "unknown option '$1'"; usage ;;
	esac
done
check_flavour "$flavour"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run scripts/setup-host.sh"
case "$accel" in
# No LA57 under TCG: with 5-level paging an interrupt during early boot trips
# KASAN (wild-memory-access in identify_cpu) before its shadow covers the direct map.
# Multi-threaded TCG only where QEMU is fixed (QEMU_MIN_MTTCG in scripts/lib.sh).
tcg)
	accel_opt=tcg,thread=multi cpu=max,la57=off
	if ! version_at_least "$(qemu_version)" "$QEMU_MIN_MTTCG"; then
		log "QEMU $(qemu_version) is older than $QEMU_MIN_MTTCG: one TCG thread for all vCPUs (slower; scripts/setup-host.sh installs a newer QEMU on Debian 12)"
		accel_opt=tcg,thread=single
	fi
	;;
kvm) accel_opt=kvm cpu=host ;;
*) die "unknown accelerator '$accel': use tcg (default) or kvm" ;;
esac
[[ $test_mb =~ ^[0-9]+$ && $scratch_mb =~ ^[0-9]+$ ]] || die "pmem sizes are MiB counts"
((test_mb % 2 == 0 && scratch_mb % 2 == 0)) || die "pmem sizes must be multiples of 2 MiB so fsdax stays 2 MiB aligned"

[[ -n $kdir ]] || kdir=$(cached_kernel_dir "$flavour")
[[ -f $kdir/arch/x86/boot/bzImage ]] || die "no bzImage in $kdir: build the kernel first (make kernel)"
rootfs=$(rootfs_image)
modroot=$kdir/modroot/lib/modules
[[ -d $modroot ]] || modroot=$(mktemp -d)

interactive=0
(($#)) || interactive=1
[[ -n $results ]] || results=$(mktemp -d "${TMPDIR:-/tmp}/daxfs-vm.XXXXXX")
mkdir -p "$results"
results=$(cd "$results" && pwd)
rm -f "$results/exit-status" "$results/console.log"
{
	printf 'DAXFS_MODULE=%q\n' "$module"
	printf 'DAXFS_INTERACTIVE=%q\n' "$interactive"
} >"$results/env"
if ((!interactive)); then
	printf '%q ' "$@" >"$results/cmd"
	echo >>"$results/cmd"
fi

# Each NVDIMM's backing file holds its data region plus a 2 MiB label area at
# the end (QEMU keeps labels there), so the region stays 2 MiB aligned.
label_mb=2
own_pmem=0
if [[ -z $pmem_dir ]]; then
	pmem_dir=$(mktemp -d "${TMPDIR:-/tmp}/daxfs-pmem.XXXXXX")
	own_pmem=1
fi
# Creating the fsdax namespaces takes the guest half a minute under TCG, so it
# is done once per size pair in a template that new backing files copy (sparse).
if [[ ! -f $pmem_dir/test.img && -z ${DAXFS_MAKING_PMEM_TEMPLATE:-} ]]; then
	template=$DAXFS_CACHE/pmem/test${test_mb}M-scratch${scratch_mb}M-label${label_mb}M
	if [[ ! -f $template/.ready ]]; then
		(
			with_lock pmem
			if [[ ! -f $template/.ready ]]; then
				log "preparing fsdax namespaces once in $template"
				rm -rf "$template"
				DAXFS_MAKING_PMEM_TEMPLATE=1 "$0" --kernel "$kdir" --pmem-dir "$template" --test-size "$test_mb" \
					--scratch-size "$scratch_mb" --timeout "$timeout_s" --accel "$accel" -- true
				touch "$template/.ready"
			fi
		)
	fi
	mkdir -p "$pmem_dir"
	cp --sparse=always "$template"/*.img "$pmem_dir/"
fi
mkdir -p "$pmem_dir"
pmem_args=()
slot=0
for dev in test:$test_mb scratch:$scratch_mb; do
	name=${dev%%:*} mb=${dev#*:}
	img=$pmem_dir/$name.img
	want=$(((mb + label_mb) * 1024 * 1024))
	if [[ ! -f $img || $(stat -c %s "$img") -ne $want ]]; then
		rm -f "$img"
		truncate -s "$want" "$img"
	fi
	pmem_args+=(-object "memory-backend-file,id=pmem$slot,share=on,mem-path=$img,size=$want,align=2M,prealloc=$prealloc"
		-device "nvdimm,id=nvdimm$slot,memdev=pmem$slot,label-size=${label_mb}M")
	slot=$((slot + 1))
done
maxmem=$((mem_mb + test_mb + scratch_mb + 2 * label_mb + 1024))

cmdline="console=ttyS0 root=/dev/vda rw rootfstype=ext4 init=/sbin/daxfs-init panic=-1 oops=panic"
# The debug kernel panics on warnings, hung tasks and soft lockups. Under TCG a
# vCPU can be descheduled on the host for a while: a soft lockup is reported
# after 2 * watchdog_thresh = 60 s of looping, not the default 20 s.
[[ $flavour == debug ]] && cmdline+=" panic_on_warn=1 watchdog_thresh=30"
cmdline+=" ${VM_APPEND:-}"

qemu=(qemu-system-x86_64
	-machine q35,nvdimm=on -accel "$accel_opt" -cpu "$cpu" -smp "$cpus"
	-m "${mem_mb}M,slots=4,maxmem=${maxmem}M"
	-display none -no-reboot -nodefaults -serial mon:stdio
	-kernel "$kdir/arch/x86/boot/bzImage" -append "$cmdline"
	-drive "file=$rootfs,format=raw,if=virtio,snapshot=on"
	-virtfs "local,path=$DAXFS_TOP,mount_tag=repo,security_model=none,readonly=on"
	-virtfs "local,path=$results,mount_tag=results,security_model=none"
	-virtfs "local,path=$modroot,mount_tag=kmods,security_model=none,readonly=on"
	"${pmem_args[@]}")

log "booting $(basename "$kdir") ($accel) with pmem test=${test_mb}M scratch=${scratch_mb}M; console log: $results/console.log"
status=0
if ((interactive)); then
	log "interactive shell on the console: type 'exit' (or Ctrl-A X) to leave"
	"${qemu[@]}" 2>&1 | tee "$results/console.log" || status=$?
else
	# A hung guest is killed by the timeout; the console goes to the log and,
	# with VM_VERBOSE=1, to the terminal too.
	if [[ ${VM_VERBOSE:-0} == 1 ]]; then
		timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tee "$results/console.log" >&2 || status=$?
	else
		timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$results/console.log" 2>&1 || status=$?
	fi
	[[ $status != 124 && $status != 137 ]] || {
		log "the guest did not finish within ${timeout_s} s and was killed (VM_TIMEOUT=... to change); last console lines:"
		show_log_tail "$results/console.log" 30 >&2
		status=124
	}
fi
((own_pmem)) && rm -rf "$pmem_dir"

# Any kernel report fails the run, whatever the command returned.
# Kernel lines carry a printk timestamp, which keeps test output from matching.
report_re='^\[ *[0-9]+\.[0-9]+\] .*(WARNING:|BUG:|Oops:|Kernel panic|KASAN:|UBSAN:|general protection fault|INFO: task .* blocked|inconsistent lock state)'
if grep -n -E "$report_re" \
	"$results/console.log" >"$results/kernel-reports.txt"; then
	log "the kernel reported a problem (full console: $results/console.log):"
	sed 's/\r$//' "$results/kernel-reports.txt" | head -n 20 >&2
	first=$(head -n1 "$results/kernel-reports.txt" | cut -d: -f1)
	sed -n "$((first > 5 ? first - 5 : 1)),$((first + 40))p" "$results/console.log" | sed 's/\r$//' >&2
	exit 1
fi
if ((interactive)); then
	exit 0
fi
((status == 0 || status == 124)) || log "qemu exited with status $status"
((status != 124)) || exit 124
[[ -f $results/exit-status ]] || {
	log "the guest powered off without reporting an exit status (crash?); last console lines:"
	show_log_tail "$results/console.log" 30 >&2
	exit 1
}
exit "$(cat "$results/exit-status")"
