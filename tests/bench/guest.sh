#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, in the VM: `guest.sh RUNS`. Each run formats the test NVDIMM
# in turn as daxfs, ext4 (-o dax) and xfs (-o dax=always, reflink off) and runs
# the same workloads on each (4 KiB I/O also through the page cache, with
# dax=never, or ext4 without dax), then measures the memcpy ceiling. Every figure is
# one row "fs,run,workload,value" of /results/bench.csv; progress goes to
# stdout. The workloads and their units are listed in tests/bench/src/report.rs.
set -euo pipefail
shopt -s inherit_errexit
runs=${1:-5}
bench=/repo/target/release/daxfs-bench
rows=/results/bench.csv
mnt=$TEST_DIR
tracing=/sys/kernel/tracing
FILE_MIB=1024 FIO_SIZE=256M FIO_SECONDS=3 FILES=10000 SPARSE_PAGES=20000

echo "fs,run,workload,value" >"$rows"
# A block device whose every I/O takes 5 s: the target of an O_DIRECT read stays pinned that long.
modprobe null_blk nr_devices=1 irqmode=2 completion_nsec=5000000000 gb=1 bs=4096
row() {
	[[ $4 =~ ^[0-9.]+$ ]] || { echo "bench: no figure for $3 on $1 (got '$4')" >&2; exit 1; }
	echo "$1,$2,$3,$4" >>"$rows"
}
# value NAME OUTPUT: the value of the "NAME value" line of a daxfs-bench output.
value() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }

# mount_options FS: the DAX mount options of FS.
mount_options() {
	case $1 in
	ext4) echo "-o dax" ;;
	*) echo "-o dax=always" ;;
	esac
}
make_fs() {
	case $1 in
	daxfs) mkfs -t daxfs -f -q "$TEST_DEV" ;;
	# No lazy inode table or journal init: its background thread would compete with the workloads.
	ext4) mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$TEST_DEV" ;;
	xfs) mkfs.xfs -q -f -m reflink=0 "$TEST_DEV" ;;
	esac
	# shellcheck disable=SC2046 # the options are words
	mount -t "$1" $(mount_options "$1") "$TEST_DEV" "$mnt"
}

# pmd_faults CMD...: runs CMD with fs_dax:dax_pmd_fault_done traced; prints
# CMD's output, then "pmd_nopage N": the PMD faults that mapped 2 MiB.
pmd_faults() {
	local out
	echo 0 >"$tracing/tracing_on"
	: >"$tracing/trace"
	echo 1 >"$tracing/events/fs_dax/dax_pmd_fault_done/enable"
	echo 1 >"$tracing/tracing_on"
	out=$("$@")
	echo 0 >"$tracing/events/fs_dax/dax_pmd_fault_done/enable"
	echo "$out"
	echo "pmd_nopage $(grep -c 'dax_pmd_fault_done.*NOPAGE' "$tracing/trace" || true)"
}

# pinned_truncate_ms: how long ftruncate(2) to 0 of a 64 KiB file takes while one of its pages
# is the target of an O_DIRECT read in flight from the slow null_blk (5 s per I/O): ext4 and
# xfs wait for the read, daxfs parks the page's block.
pinned_truncate_ms() {
	local selftest=/repo/target/release/daxfs-selftest f=$mnt/pinned pid i out
	xfs_io -f -c 'pwrite -q 0 64k' "$f"
	"$selftest" odirect-pin "$f" 16384 /dev/nullb0 >/dev/null &
	pid=$!
	# The read is in flight (and the page pinned) once the reader sleeps in D state.
	for ((i = 0; i < 200; i++)); do
		[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == D ]] && break
		sleep 0.05
	done
	out=$("$selftest" timed-truncate "$f" 0)
	wait $pid
	rm "$f"
	awk '{ printf "%.1f\n", $2 / 1000 }' <<<"$out"
}

# fio_mib_s ENGINE RW BS: bandwidth in MiB/s of one fio job on $mnt.
fio_mib_s() {
	local out field
	out=$(fio --name=bench --filename="$mnt/fio.dat" --size=$FIO_SIZE --ioengine="$1" --rw="$2" \
		--bs="$3" --runtime=$FIO_SECONDS --time_based --output-format=terse --terse-version=3)
	[[ $out == 3\;* ]] || { echo "bench: fio $*: no terse v3 line: $out" >&2 && return 1; }
	# Terse v3: field 7 is the read bandwidth, field 48 the write bandwidth, in KiB/s.
	field=7
	[[ $2 == write ]] && field=48
	awk -F';' -v f=$field '{ printf "%.1f\n", $f / 1024 }' <<<"$out"
}

for run in $(seq 1 "$runs"); do
	for fs in daxfs ext4 xfs; do
		echo "bench: run $run/$runs, $fs"
		make_fs $fs
		out=$($bench touch "$mnt/touch-4k" $FILE_MIB small)
		row $fs "$run" touch-4k "$(value mib_per_s "$out")"
		out=$($bench reread "$mnt/touch-4k")
		row $fs "$run" reread "$(value mib_per_s "$out")"
		out=$($bench truncate "$mnt/touch-4k")
		row $fs "$run" truncate-1g "$(value ms "$out")"
		rm "$mnt/touch-4k"

		out=$(pmd_faults $bench touch "$mnt/touch-2m" $FILE_MIB huge)
		row $fs "$run" touch-2m "$(value mib_per_s "$out")"
		row $fs "$run" pmd-share "$(awk -v n="$(value pmd_nopage "$out")" -v m=$FILE_MIB \
			'BEGIN { printf "%.1f\n", n * 2 * 100 / m }')"
		rm "$mnt/touch-2m"
		out=$($bench touch-parallel "$mnt" $FILE_MIB 2)
		row $fs "$run" touch-2m-2t "$(value mib_per_s "$out")"
		rm "$mnt"/touch-parallel-*

		for engine in psync mmap; do
			for bs in 4k 1m; do
				for rw in read write; do
					row $fs "$run" "$engine-$rw-$bs" "$(fio_mib_s $engine $rw $bs)"
				done
			done
		done
		rm "$mnt/fio.dat"
		# The same 4 KiB I/O through the page cache: daxfs and xfs with dax=never, ext4
		# without dax.
		umount "$mnt"
		mount -t $fs -o dax=never "$TEST_DEV" "$mnt"
		for rw in write read; do
			row $fs "$run" "cached-$rw-4k" "$(fio_mib_s psync $rw 4k)"
		done
		rm "$mnt/fio.dat"
		umount "$mnt"
		mount -t $fs $(mount_options $fs) "$TEST_DEV" "$mnt"

		row $fs "$run" truncate-pinned "$(pinned_truncate_ms)"
		out=$($bench fallocate "$mnt/falloc" $FILE_MIB)
		row $fs "$run" fallocate-1g "$(value ms "$out")"
		rm "$mnt/falloc"
		out=$($bench sparse "$mnt" 4 1024)
		row $fs "$run" randwrite-4m "$(value pwrite_us "$out")"
		row $fs "$run" randfault-4m "$(value fault_us "$out")"
		out=$($bench sparse "$mnt" $FILE_MIB $SPARSE_PAGES)
		row $fs "$run" randwrite-1g "$(value pwrite_us "$out")"
		row $fs "$run" randfault-1g "$(value fault_us "$out")"
		row $fs "$run" randread-1g "$(value pread_per_s "$out")"
		row $fs "$run" randread-map-1g "$(value map_read_per_s "$out")"
		row $fs "$run" truncate-frag "$(value truncate_ms "$out")"
		row $fs "$run" unlink-frag "$(value unlink_ms "$out")"

		mkdir "$mnt/files"
		out=$($bench files "$mnt/files" $FILES)
		row $fs "$run" create-10k "$(value create_per_s "$out")"
		row $fs "$run" stat-10k "$(value stat_per_s "$out")"
		row $fs "$run" unlink-10k "$(value unlink_per_s "$out")"
		umount "$mnt"
	done
	out=$($bench memcpy 256)
	row memory "$run" memcpy "$(value mib_per_s "$out")"
done
echo "bench: $(($(wc -l <"$rows") - 1)) figures in $rows"
