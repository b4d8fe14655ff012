#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make fstests`: runs fstests in the VM on daxfs, then on ext4 -o dax as the
# control, and compares them. Builds the module for the kernel flavour, the
# tools and fstests (scripts/build-fstests.sh, cached), boots the VM with the
# fstests tarball in the results share and runs tests/fstests/guest.sh, one
# ./check per test. If the guest stops before the end (kernel crash, a test
# stuck in the kernel, no progress for FSTESTS_TEST_TIMEOUT + 600 s, VM
# timeout), the test that was running is recorded as crashed and a new boot
# goes on from the next one. Ends with a table (one row per test, one column
# per file system), the counts, and the tests that pass on ext4 but not on
# daxfs; exits 0 once every test has a result, whatever the results.
#
#   FSTESTS="..."          tests: groups (quick, auto, ...; default quick), test
#                          names (generic/001), or ./check options as they are
#                          if any word starts with - ("-g dax -x stress")
#   FSTESTS_FS="..."       file systems, in order (default "daxfs ext4"; xfs too)
#   FSTESTS_FLAVOUR=F      kernel flavour (default perf: under TCG a test takes
#                          25-55 s there, several times that on debug)
#   FSTESTS_OUT=DIR        the run's directory: a run there is resumed (its
#                          tests, file systems and flavour; a test without a
#                          result is run again); a new run starts there if DIR
#                          does not exist or is empty
#   DAXFS_KO=PATH          a daxfs.ko built for the flavour, inside the
#                          repository, instead of building one
#   FSTESTS_TEST_TIMEOUT=S time one test may take in the guest (default 1800)
#   FSTESTS_TEST_SIZE=MiB, FSTESTS_SCRATCH_SIZE=MiB  NVDIMM sizes (default 2048)
#   FSTESTS_SRC=PATH       fstests source tree or tarball (see build-fstests.sh)
#   KDIR=PATH              your own kernel tree instead of the cached one
#
#   scripts/fstests.sh --report DIR   prints the table of the run in DIR again
#
# Output: build/fstests/<UTC time>/: summary.txt (the table), vm/fstests/
# (results.txt with one line per test "FS TEST pass|fail|notrun|crashed
# [REASON]", and fstests' results per file system: FS/generic/001.out.bad,
# .full, .dmesg, .notrun, .check.log, .kmsg), boot-N.log and
# boot-N.console.log of each boot.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

# report DIR: the table, the counts and the tests daxfs fails but ext4 passes,
# from DIR/vm/fstests/results.txt (the last line of a test wins) and the file
# systems' lists of tests (DIR/vm/fstests/FS.list). A cell is "-" for a test
# in the file system's list without a result, empty for one not in it.
report() {
	local res=$1/vm/fstests
	[[ -f $res/results.txt ]] || die "no $res/results.txt"
	awk -v fs_list="$filesystems" -v res="$res" '
		BEGIN {
			nfs = split(fs_list, fs, " ")
			for (f = 1; f <= nfs; f++) {
				file = res "/" fs[f] ".list"
				while ((getline t <file) > 0) if (t != "") {
					listed[fs[f], t] = 1
					if (!(t in seen)) { seen[t] = 1; tests[++nt] = t }
				}
				close(file)
			}
		}
		NF >= 3 {
			if (!($2 in seen)) { seen[$2] = 1; tests[++nt] = $2 }
			if (index(" " fs_list " ", " " $1 " ") == 0 && !($1 in extra)) { extra[$1] = 1; fs[++nfs] = $1 }
			listed[$1, $2] = 1
			st[$1, $2] = $3
			r = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ ?/, "", r); why[$1, $2] = r
		}
		END {
			# Test names sort as words then numbers: generic/001 < generic/010 < xfs/001.
			for (i = 2; i <= nt; i++) {
				t = tests[i]
				for (j = i - 1; j >= 1 && tests[j] > t; j--) tests[j + 1] = tests[j]
				tests[j + 1] = t
			}
			w = 4
			for (i = 1; i <= nt; i++) if (length(tests[i]) > w) w = length(tests[i])
			line = sprintf("%-" w "s", "test")
			for (f = 1; f <= nfs; f++) line = line sprintf("  %-8s", fs[f])
			sub(/ +$/, "", line)
			print line
			for (i = 1; i <= nt; i++) {
				line = sprintf("%-" w "s", tests[i])
				for (f = 1; f <= nfs; f++) {
					s = st[fs[f], tests[i]]
					if (s == "" && listed[fs[f], tests[i]]) s = "-"
					line = line sprintf("  %-8s", s)
					if (s != "") n[fs[f], s]++
				}
				sub(/ +$/, "", line)
				print line
			}
			printf "\n%-8s %5s %5s %7s %8s %9s\n", "fs", "pass", "fail", "notrun", "crashed", "no result"
			for (f = 1; f <= nfs; f++)
				printf "%-8s %5d %5d %7d %8d %9d\n", fs[f], n[fs[f], "pass"], n[fs[f], "fail"],
					n[fs[f], "notrun"], n[fs[f], "crashed"], n[fs[f], "-"]
			if (index(" " fs_list " ", " daxfs ") && index(" " fs_list " ", " ext4 ")) {
				printf "\npass on ext4 but not on daxfs:"
				k = 0
				for (i = 1; i <= nt; i++) {
					t = tests[i]
					if (st["ext4", t] == "pass" && listed["daxfs", t] && st["daxfs", t] != "pass") {
						s = st["daxfs", t] == "" ? "no result" : st["daxfs", t]
						printf "\n  %-" w "s  %s%s", t, s, why["daxfs", t] == "" ? "" : ": " why["daxfs", t]
						k++
					}
				}
				if (k == 0) printf " none"
				printf "\n"
			}
		}' "$res/results.txt"
}

if [[ ${1:-} == --report ]]; then
	[[ -n ${2:-} ]] || die "usage: $0 --report DIR"
	filesystems=
	# shellcheck source=/dev/null
	[[ ! -f $2/run.conf ]] || . "$2/run.conf"
	report "$2"
	exit 0
fi
(($# == 0)) || die "usage: $0 (settings in FSTESTS* variables), or $0 --report DIR"

if [[ -n ${FSTESTS_OUT:-} && -f $FSTESTS_OUT/run.conf ]]; then
	out=$(realpath "$FSTESTS_OUT")
	# shellcheck source=/dev/null
	. "$out/run.conf"
	log "resuming $out: FSTESTS='$tests' FSTESTS_FS='$filesystems' FSTESTS_FLAVOUR=$flavour (its own settings)"
else
	# A directory with something else in it is a mistyped run directory, not a new run.
	[[ -z ${FSTESTS_OUT:-} || ! -e $FSTESTS_OUT || -z $(ls -A "$FSTESTS_OUT") ]] ||
		die "$FSTESTS_OUT is not an fstests run directory (no run.conf), nor empty"
	tests=${FSTESTS:-quick} filesystems=${FSTESTS_FS:-daxfs ext4} flavour=${FSTESTS_FLAVOUR:-perf}
	out=$(realpath -m "${FSTESTS_OUT:-$DAXFS_TOP/build/fstests/$(date -u +%Y%m%dT%H%M%SZ)}")
fi
check_flavour "$flavour"
read -ra fs_words <<<"$filesystems"
((${#fs_words[@]})) || die "FSTESTS_FS names no file system"
for fs in "${fs_words[@]}"; do
	case "$fs" in
	daxfs | ext4 | xfs) ;;
	*) die "FSTESTS_FS: unknown file system '$fs' (daxfs, ext4 or xfs)" ;;
	esac
done
read -ra words <<<"$tests"
((${#words[@]})) || die "FSTESTS names no test"
# Words are groups or test names, unless one is an option: then all go to
# ./check as they are.
check_args=()
if [[ " $tests" == *" -"* ]]; then
	check_args=("${words[@]}")
else
	for w in "${words[@]}"; do
		if [[ $w =~ ^[a-z0-9]+/[0-9]+$ ]]; then
			check_args+=("$w")
		else
			check_args+=(-g "$w")
		fi
	done
fi
test_timeout=${FSTESTS_TEST_TIMEOUT:-1800}
test_mb=${FSTESTS_TEST_SIZE:-2048} scratch_mb=${FSTESTS_SCRATCH_SIZE:-2048}
[[ $test_timeout =~ ^[1-9][0-9]*$ && $test_mb =~ ^[1-9][0-9]*$ && $scratch_mb =~ ^[1-9][0-9]*$ ]] ||
	die "FSTESTS_TEST_TIMEOUT, FSTESTS_TEST_SIZE and FSTESTS_SCRATCH_SIZE are numbers"
# mke2fs gives a file system of 512 MiB or less 1 KiB blocks, on which ext4 refuses DAX.
[[ " ${fs_words[*]} " != *" ext4 "* ]] || ((test_mb > 512 && scratch_mb > 512)) ||
	die "ext4 -o dax needs NVDIMMs over 512 MiB (FSTESTS_TEST_SIZE, FSTESTS_SCRATCH_SIZE): mke2fs gives smaller ones 1 KiB blocks"

vm=$out/vm
res=$vm/fstests
mkdir -p "$res"
touch "$res/results.txt"
[[ -f $out/run.conf ]] || {
	printf 'tests=%q filesystems=%q flavour=%q\n' "$tests" "$filesystems" "$flavour"
} >"$out/run.conf"
# A test that was running when an earlier run of this script was stopped runs again.
: >"$res/current"

kdir=$(kernel_dir "$flavour")
rootfs_image >/dev/null
if [[ -n ${DAXFS_KO:-} ]]; then
	# The guest sees the repository at /repo: the module's path is taken relative to it.
	[[ -f $DAXFS_KO ]] || die "DAXFS_KO: $DAXFS_KO not found"
	ko=$(realpath --relative-to="$DAXFS_TOP" "$DAXFS_KO")
	[[ $ko != ../* ]] || die "DAXFS_KO: $DAXFS_KO is outside the repository"
	(cd "$DAXFS_TOP" && cargo build --release --locked --bins) >"$out/tools-build.log" 2>&1 ||
		die "cargo build failed; see $out/tools-build.log"
else
	build_module_and_tools "$out" "$flavour"
	ko=build/$flavour/daxfs.ko
fi
tarball=$(bash scripts/build-fstests.sh)
cmp -s "$tarball" "$vm/fstests.tar.gz" 2>/dev/null || cp "$tarball" "$vm/fstests.tar.gz"

# Kernel lines carry a printk timestamp; the guest marks each test in the
# kernel log ("fstests: FS TEST").
export report_re='^\[ *[0-9]+\.[0-9]+\] .*(WARNING:|BUG:|Oops:|Kernel panic|KASAN:|UBSAN:|general protection fault|INFO: task .* blocked|inconsistent lock state|soft lockup|detected stalls)'
# A boot without a result line or a new test for this long is killed.
stall=$((test_timeout + 600))
result_count() { grep -c . "$res/results.txt" || true; }

log "fstests ${check_args[*]} on ${fs_words[*]}, $flavour kernel; results in $out"
start=$SECONDS
boot=$(find "$out" -maxdepth 1 -name 'boot-*.log' ! -name '*.console.log' | wc -l)
while :; do
	boot=$((boot + 1))
	before=$(result_count)
	rm -f "$res/finished"
	log "boot $boot ($before results so far; progress: tail -f $res/results.txt)"
	qemu/run-vm.sh --flavour "$flavour" --kernel "$kdir" --module "$ko" --results "$vm" \
		--test-size "$test_mb" --scratch-size "$scratch_mb" --timeout "${VM_TIMEOUT:-172800}" \
		-- env FSTESTS_TEST_TIMEOUT="$test_timeout" \
		bash tests/fstests/guest.sh /results/fstests.tar.gz /results/fstests "$filesystems" "${check_args[@]}" \
		>"$out/boot-$boot.log" 2>&1 &
	vm_pid=$!
	# The watchdog: the perf kernel does not panic on a hung task or a soft
	# lockup, so a guest that makes no progress is stopped from here. Killing
	# run-vm.sh's children (timeout, which passes the signal on to qemu) lets
	# run-vm.sh clean up after itself.
	stalled=0 last=$SECONDS stamp=
	while kill -0 "$vm_pid" 2>/dev/null; do
		sleep 5
		now=$(stat -c %Y "$res/results.txt" "$res/current" 2>/dev/null | tr '\n' ' ' || true)
		if [[ $now != "$stamp" ]]; then
			stamp=$now last=$SECONDS
		elif ((SECONDS - last > stall && !stalled)); then
			log "boot $boot: no progress for $stall s; stopping the VM"
			stalled=1
			pkill -TERM -P "$vm_pid" || true
		fi
	done
	vm_status=0
	wait "$vm_pid" || vm_status=$?
	cp "$vm/console.log" "$out/boot-$boot.console.log" 2>/dev/null || true
	[[ ! -f $res/finished ]] || break
	current=$(cat "$res/current" 2>/dev/null || true)
	if [[ -n $current ]] && ! grep -q "^$current " "$res/results.txt"; then
		why=$(sed 's/\r$//' "$out/boot-$boot.console.log" 2>/dev/null | awk -v mark="fstests: $current" '
			substr($0, length($0) - length(mark) + 1) == mark { on = 1; next }
			on && $0 ~ ENVIRON["report_re"] { sub(/^\[ *[0-9]+\.[0-9]+\] /, ""); print; exit }' || true)
		if [[ -n $why ]]; then
			why="kernel report: $why"
		elif ((stalled)); then
			why="no progress for $stall s: the VM was stopped"
		elif ((vm_status == 124)); then
			why="VM timeout (VM_TIMEOUT=${VM_TIMEOUT:-172800} s)"
		else
			why="the guest stopped without a kernel report (run-vm.sh exit $vm_status)"
		fi
		why=$(printf '%s' "$why" | tr '\t' ' ' | cut -c1-300)
		echo "$current crashed $why; console: boot-$boot.console.log" >>"$res/results.txt"
		log "$current crashed ($why)"
	fi
	after=$(result_count)
	if ((after == before)); then
		show_log_tail "$out/boot-$boot.log" 20 >&2
		die "boot $boot recorded no result; see $out/boot-$boot.log and $out/boot-$boot.console.log"
	fi
done
log "every test has a result after $boot boot(s), $((SECONDS - start)) s"
report "$out" | tee "$out/summary.txt"
log "table: $out/summary.txt; results: $res/"
