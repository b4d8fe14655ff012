#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make fuzz`: the in-VM image fuzzer on the debug kernel. Mutated images
# (`daxfs-fuzz --seed N`, seeds FUZZ_FIRST.. for FUZZ_IMAGES images) are
# written to the scratch pmem device, mounted and used by
# tests/fuzz/run-images.sh. A kernel report panics the debug kernel, and so
# does a hung task; then the image that was running is kept, with its mutation
# and the console, in build/fuzz/<time>/crashes/seed-N/, and a new boot goes on
# from the next seed. Prints the counts; exits non-zero if any image produced
# a kernel report or a hang.
#
#   FUZZ_IMAGES=N     images (default 10000)
#   FUZZ_FIRST=N      first seed (default 1)
#   IMAGE_TIMEOUT=S   time an image may take in the guest (default 60)
#   DAXFS_KO=PATH     fuzz this module (inside the repository) instead of building
#                     one: an older build, to see what the fuzzer finds in it
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DAXFS_TOP"

images=${FUZZ_IMAGES:-10000} first=${FUZZ_FIRST:-1} image_timeout=${IMAGE_TIMEOUT:-60}
[[ $images =~ ^[1-9][0-9]*$ && $first =~ ^[0-9]+$ ]] || die "FUZZ_IMAGES and FUZZ_FIRST are numbers"
out=$DAXFS_TOP/build/fuzz/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/crashes"

debug_run_inputs "$out" "daxfs-fuzz, daxfs-fuzz-vm"

# keep_crash SEED BOOT_DIR WHAT: keeps the image of SEED (made again: the
# mutator is deterministic), its mutation and the console of the boot, once.
keep_crash() {
	local seed=$1 boot_dir=$2 what=$3 dir=$out/crashes/seed-$1
	[[ ! -d $dir ]] || return 0
	mkdir -p "$dir"
	target/release/daxfs-fuzz --seed "$seed" "$dir/image" >"$dir/mutation"
	echo "$what" >"$dir/what"
	cp "$boot_dir/console.log" "$dir/console.log" 2>/dev/null || true
	log "seed $seed: $what; kept in $dir ($(cat "$dir/mutation"))"
}

# Kernel lines carry a printk timestamp; the fuzzer marks each image with
# "daxfs-fuzz: seed N: ...".
export report_re='^\[ *[0-9]+\.[0-9]+\] .*(WARNING:|BUG:|Oops:|Kernel panic|KASAN:|UBSAN:|general protection fault|INFO: task .* blocked|inconsistent lock state|soft lockup|detected stalls)'
end=$((first + images)) next=$first boot=0
start=$SECONDS
: >"$out/results.txt"
while ((next < end)); do
	boot=$((boot + 1))
	boot_dir=$out/boot-$boot
	log "boot $boot: images from seed $next to $((end - 1)) (about 1 s each under TCG)"
	qemu/run-vm.sh --flavour debug --kernel "$kdir" --module "$ko" --results "$boot_dir" \
		--timeout $(((end - next) * 10 + 600)) \
		-- env IMAGE_TIMEOUT="$image_timeout" tests/fuzz/run-images.sh "$next" "$((end - next))" \
		>"$boot_dir.log" 2>&1 || true
	cat "$boot_dir/fuzz/results.txt" >>"$out/results.txt" 2>/dev/null || true
	# Every kernel report, tied to the image marked last before it.
	# (A report before the first mark, at boot, is the run-vm.sh log's business.)
	sed 's/\r$//' "$boot_dir/console.log" | awk '
		/daxfs-fuzz: seed [0-9]+/ { match($0, /seed [0-9]+/); seed = substr($0, RSTART + 5, RLENGTH - 5) }
		$0 ~ ENVIRON["report_re"] && seed != "" && !(seed in seen) { seen[seed] = 1; print seed "\t" $0 }' >"$boot_dir/reports.tsv"
	while IFS=$'\t' read -r seed line; do
		keep_crash "$seed" "$boot_dir" "kernel report: ${line#*] }"
	done <"$boot_dir/reports.tsv"
	while read -r seed what; do
		keep_crash "$seed" "$boot_dir" "$what"
	done < <(grep -E '^[0-9]+ (hang|died|umount failed)' "$boot_dir/fuzz/results.txt" 2>/dev/null | sed 's/ | .*//' || true)
	[[ ! -f $boot_dir/fuzz/summary ]] || break # The guest ran every image.
	# The guest stopped during the image named in `current`: a panic (the
	# report above), a task stuck in the kernel, a file system that would not
	# unmount (results above), or a VM timeout.
	current=$(sed -n 's/^seed \([0-9]*\):.*/\1/p' "$boot_dir/fuzz/current" 2>/dev/null || true)
	[[ -n $current ]] || die "boot $boot ran no image; see $boot_dir.log and $boot_dir/console.log"
	keep_crash "$current" "$boot_dir" "the guest stopped without a kernel report (stuck task or VM timeout)"
	next=$((current + 1))
done

crashes=$(find "$out/crashes" -mindepth 1 -maxdepth 1 -type d | wc -l)
reports=$(cat "$out"/crashes/*/what 2>/dev/null | grep -c '^kernel report' || true)
ran=$(grep -cE "^[0-9]+ (mounted|refused)" "$out/results.txt" || true)
count() { grep -cE "^[0-9]+ $1" "$out/results.txt" || true; }
mounted=$(count mounted)
summary="images $images: ran to the end $ran (mounted $mounted, refused $(count refused)), kernel reports $reports, hangs or failed runs $((crashes - reports)), boots $boot, $((SECONDS - start)) s"
echo "$summary" | tee "$out/summary"
log "results: $out/results.txt; crashes: $out/crashes/"
((mounted > 0)) || die "no image mounted: the fuzzer tested nothing"
((crashes == 0))
