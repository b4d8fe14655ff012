#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# daxfs's trace events: listed under /sys/kernel/tracing/events/daxfs/, counted
# by perf stat, recorded by perf record and trace-cmd, with the fields the
# README promises.
. "$(dirname "$0")/lib.sh"
st=/repo/target/release/daxfs-selftest
events=/sys/kernel/tracing/events/daxfs
for e in daxfs_fault daxfs_alloc_blocks daxfs_free_blocks daxfs_convert_unwritten \
	daxfs_layout_wait_start daxfs_layout_wait_end daxfs_truncate daxfs_punch_hole daxfs_evict \
	daxfs_park daxfs_unpark; do
	[[ -d $events/$e ]] || fail "no trace event $e"
done
echo "ok: the daxfs events are registered"

cd_fresh "$TEST_DEV" "$TEST_DIR"
xfs_io -f -c 'truncate 64k' f
# Only page faults (order 0) are counted: when no page table covers the mapping yet, its first
# fault also offers a PMD (order 9) that falls back, once under the VMA lock and once more on the
# retry under mmap_lock, so their number depends on where mmap placed the file.
perf stat -x, -o /tmp/perf.csv -e 'daxfs:daxfs_fault' --filter 'order == 0' -e 'daxfs:daxfs_alloc_blocks' \
	-e 'daxfs:daxfs_truncate' -- sh -c "$st touch f 0 65536 write && truncate -s 0 f" || fail "perf stat failed"
count() { awk -F, -v e="daxfs:$1" '$3 == e {print $1}' /tmp/perf.csv; }
[[ $(count daxfs_fault) == 16 && $(count daxfs_alloc_blocks) == 16 && $(count daxfs_truncate) == 1 ]] ||
	fail "perf stat counted: $(cat /tmp/perf.csv)"
echo "ok: perf stat counts 16 page faults, 16 allocations and a truncate"

# Write faults into preallocated (unwritten) blocks convert them, one page each, and allocate nothing.
xfs_io -f -c 'falloc 0 64k' u
perf stat -x, -o /tmp/perf.csv -e 'daxfs:daxfs_convert_unwritten' -e 'daxfs:daxfs_alloc_blocks' \
	-- "$st" touch u 0 65536 write || fail "perf stat failed"
[[ $(count daxfs_convert_unwritten) == 16 && $(count daxfs_alloc_blocks) == 0 ]] ||
	fail "perf stat counted: $(cat /tmp/perf.csv)"
echo "ok: perf stat counts 16 conversions of unwritten blocks and no allocation"

xfs_io -c 'truncate 8k' f
perf record -q -o /tmp/perf.data -e daxfs:daxfs_fault -- "$st" touch f 0 8192 write || fail "perf record failed"
perf script -i /tmp/perf.data 2>/dev/null | grep -q "daxfs:daxfs_fault: ino $(stat -c %i f) pgoff 0x1 order 0 write result " ||
	fail "perf script: $(perf script -i /tmp/perf.data 2>&1 | head -n 5)"
echo "ok: perf record and perf script show the fault with its fields"

trace-cmd record -q -o /tmp/trace.dat -e daxfs:daxfs_truncate -e daxfs:daxfs_free_blocks -- truncate -s 0 f >/dev/null 2>&1 ||
	fail "trace-cmd record failed"
report=$(trace-cmd report -i /tmp/trace.dat 2>/dev/null)
grep -q "daxfs_truncate: *ino $(stat -c %i f) size 8192 -> 0 freed 2 blocks" <<<"$report" || fail "trace-cmd report: $report"
grep -q "daxfs_free_blocks: *ino $(stat -c %i f) blocks" <<<"$report" || fail "trace-cmd report: no daxfs_free_blocks"
echo "ok: trace-cmd records truncate and the blocks it freed"
cd /
umount "$TEST_DIR"
