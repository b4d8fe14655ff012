#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: host unit tests, the module build with clippy and rustfmt, then
# the in-VM selftests on the debug kernel, and samples of the fuzzer, the crash
# explorer and fstests (the full runs are targets of their own). Prints one
# line per test and a final "N passed, N failed" line; exits non-zero if
# anything failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

passed=0 failed=0
out=$DAXFS_TOP/build/check
rm -rf "$out"
mkdir -p "$out/logs"

result() { # result PASS|FAIL NAME [DETAIL]
	if [[ $1 == PASS ]]; then
		passed=$((passed + 1))
		printf 'PASS  %s\n' "$2"
	else
		failed=$((failed + 1))
		printf 'FAIL  %s%s\n' "$2" "${3:+  ($3)}"
	fi
}

# host_test NAME CMD...: runs CMD with its output in a log, and reports it.
host_test() {
	local name=$1
	shift
	if "$@" >"$out/logs/$name.log" 2>&1; then
		result PASS "$name"
	else
		result FAIL "$name" "log: $out/logs/$name.log"
		show_log_tail "$out/logs/$name.log" 30 '    '
	fi
}

# Kernel and guest image first: on a cold cache they take minutes and print progress.
kdir=$(kernel_dir debug)
rootfs_image >/dev/null

# Host unit tests of the userspace crates (format, mkfs, fsck), and their
# release build that the guest uses as mkfs.daxfs and fsck.daxfs.
host_test host-unit-tests cargo test --workspace --locked
host_test host-clippy cargo clippy --workspace --all-targets --locked -- -D warnings
host_test host-rustfmt cargo fmt --all --check
host_test tools-build cargo build --release --locked --bins
host_test make-run-recipe bash tests/host/make-run.sh

host_test rustfmt rustfmt --edition 2021 --check src/daxfs_main.rs tests/pin/daxfs_pin.rs
host_test module-build-clippy make --no-print-directory module KDIR="$kdir" FLAVOUR=debug CLIPPY=1
# Every unsafe block carries a SAFETY comment in the three lines above it. No
# file to check is a failure too, not a pass.
# shellcheck disable=SC2016 # the $s are for bash -c and awk
host_test unsafe-has-safety-comment bash -c '
	set -euo pipefail
	mapfile -t files < <(git ls-files -- "*.rs")
	((${#files[@]})) || { echo "git ls-files lists no .rs file"; exit 1; }
	awk '\''
		{ line[FNR] = $0 }
		/unsafe[[:space:]]*\{/ && $0 !~ /^[[:space:]]*\/\// {
			ok = 0
			for (i = FNR; i >= FNR - 3 && i > 0; i--) if (line[i] ~ /SAFETY/) ok = 1
			if (!ok) { printf "%s:%d: %s\n", FILENAME, FNR, $0; bad = 1 }
		}
		END { exit bad }'\'' "${files[@]}"'
# Only the VFS layer (src/vfs/) touches the raw kernel: no other .rs file under
# src/ has `unsafe` or `bindings::` in code (comment lines aside). No file to
# check is a failure too, not a pass.
# shellcheck disable=SC2016 # the $s are for bash -c and awk
host_test unsafe-only-in-vfs bash -c '
	set -euo pipefail
	mapfile -t files < <(git ls-files -- src | grep "\.rs\$" | grep -v "^src/vfs/")
	((${#files[@]})) || { echo "git ls-files lists no .rs file under src/ outside src/vfs/"; exit 1; }
	awk '\''
		/^[[:space:]]*\/\// { next }
		/(^|[^[:alnum:]_])unsafe([^[:alnum:]_]|$)|bindings::/ { printf "%s:%d: %s\n", FILENAME, FNR, $0; bad = 1 }
		END { exit bad }'\'' "${files[@]}"'

if [[ -f build/debug/daxfs.ko ]]; then
	vm_out=$out/vm
	vm_status=0
	# All guest tests in one boot: about 15 minutes under TCG with KASAN and lockdep.
	qemu/run-vm.sh --flavour debug --kernel "$kdir" --module build/debug/daxfs.ko --results "$vm_out" \
		--timeout "${VM_TIMEOUT:-3600}" -- tests/guest/run.sh >"$out/logs/vm.log" 2>&1 || vm_status=$?
	touch "$vm_out/results.txt"
	# Every guest test must report; one that did not (guest crash, timeout) fails.
	for t in tests/guest/t-*.sh; do
		name=$(basename "$t" .sh)
		name=${name#t-}
		line=$(grep -E "^(PASS|FAIL) $name( |$)" "$vm_out/results.txt" | tail -n1 || true)
		if [[ -z $line ]]; then
			result FAIL "vm/$name" "did not report: guest exit $vm_status, console $vm_out/console.log"
			continue
		fi
		read -r verdict _ detail <<<"$line"
		result "$verdict" "vm/$name" "$detail"
		[[ $verdict == PASS ]] || show_log_tail "$vm_out/logs/$name.log" 20 '    ' 2>/dev/null || true
	done
	# The fixed-seed crash-state sample: every crash state of the workloads that
	# vm/crash-recorder recorded (8 seeded subsets per fence interval, seed 1, as
	# that test mounted them), checked on the host; the states the guest could not
	# mount count as failed. The full run is `make crashtest`.
	host_test crash-sample bash -c '. scripts/lib.sh && unpack_workloads "$1" &&
		target/release/daxfs-crashtest --subsets 8 --seed 1 \
		--guest-results "$1/guest-results.txt" "$1"/workloads/*/' _ "$vm_out/crash-sample"
	# The console must be clean whatever the tests said.
	if [[ -f $vm_out/kernel-reports.txt && ! -s $vm_out/kernel-reports.txt ]]; then
		result PASS vm/kernel-console-clean
	else
		result FAIL vm/kernel-console-clean "console: $vm_out/console.log"
		show_log_tail "$out/logs/vm.log" 40 '    '
	fi

	# Persistence across a guest reboot: two boots on the same NVDIMM backing files.
	# Each boot keeps its own console log, so a failure shows which boot it was.
	reboot_out=$out/reboot
	reboot_failed=
	for boot in 1-write 2-check; do
		if ! qemu/run-vm.sh --kernel "$kdir" --module build/debug/daxfs.ko --results "$reboot_out" \
			--pmem-dir "$reboot_out/pmem" -- "tests/reboot/$boot.sh" >"$out/logs/reboot-$boot.log" 2>&1; then
			reboot_failed=$boot
		fi
		cp "$reboot_out/console.log" "$reboot_out/console-$boot.log" 2>/dev/null || true
		[[ -z $reboot_failed ]] || break
	done
	if [[ -z $reboot_failed ]]; then
		result PASS vm/persistence-across-reboot
	else
		result FAIL vm/persistence-across-reboot "boot $reboot_failed failed: $out/logs/reboot-$reboot_failed.log, console $reboot_out/console-$reboot_failed.log"
		show_log_tail "$out/logs/reboot-$reboot_failed.log" 15 '    '
		grep -av '^\[' "$reboot_out/console-$reboot_failed.log" | show_log_tail - 15 '    '
	fi

	# The fixed fstests sample, on daxfs and on ext4 -o dax as the control, in one
	# boot of the debug kernel: a shutdown and the journal's state (generic/052),
	# file handles (426), an O_DIRECT read into a DAX mapping of the file itself
	# (462). Each must pass on both, with a clean console. The full run is
	# `make fstests`.
	# shellcheck disable=SC2016 # the $s are for bash -c
	host_test fstests-sample bash -c '
		set -euo pipefail
		out=$1
		shift
		DAXFS_KO=build/debug/daxfs.ko FSTESTS="$*" FSTESTS_FS="daxfs ext4" FSTESTS_FLAVOUR=debug \
			FSTESTS_OUT=$out scripts/fstests.sh
		bad=0
		for fs in daxfs ext4; do
			for t in "$@"; do
				verdict=$(awk -v fs="$fs" -v t="$t" '\''$1 == fs && $2 == t { v = $0 } END { print v }'\'' \
					"$out/vm/fstests/results.txt")
				[[ $verdict == "$fs $t pass" ]] || { echo "$fs $t: ${verdict:-no result}"; bad=1; }
			done
		done
		[[ -f $out/vm/kernel-reports.txt && ! -s $out/vm/kernel-reports.txt ]] ||
			{ echo "kernel reports: $out/vm/kernel-reports.txt"; bad=1; }
		exit "$bad"' _ "$out/fstests" generic/052 generic/426 generic/462
else
	result FAIL vm-tests "no module to test"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
