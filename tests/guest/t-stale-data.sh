#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No stale data: the blocks of a deleted file full of a pattern are reused by
# new files that are written only in part, by write() or by write faults on a
# file extended by truncate (FIEMAP proves the reuse), and nothing but zeros and
# the written bytes reads back from them, also after truncating a file up.
. "$(dirname "$0")/lib.sh"

cd_fresh "$SCRATCH_DEV" "$SCRATCH_MNT"
# first_sector FILE: the device sector where FILE's first extent starts.
first_sector() {
	xfs_io -c fiemap "$1" | sed -n 's/^[[:space:]]*[0-9]*: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\..*/\1/p' | head -n1
}

# Measured after creating the file: its directory entry takes a block that stays.
touch pattern
free_before=$(stat -f -c %f .)
# Synced, so that the pattern is on the device also for files in the page cache.
xfs_io -c 'pwrite -q -b 1m -S 0x5a 0 16M' -c fsync pattern
pattern_start=$(first_sector pattern)
pattern_end=$((pattern_start + 16 * 2048))
rm pattern
[[ $(stat -f -c %f .) == "$free_before" ]] || fail "blocks of the deleted file were not freed"
# A remount starts allocation again at the start of the data area, where the pattern was.
cd /
umount "$SCRATCH_MNT"
mount_daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
cd "$SCRATCH_MNT"
for i in 1 2 3 4; do
	xfs_io -f -c "pwrite -q -S 0x01 $((i * 1000)) 10" -c "pwrite -q -S 0x02 $((i * 1048576 + 7)) 3" "new$i"
	s=$(first_sector "new$i")
	((s >= pattern_start && s < pattern_end)) ||
		fail "new$i (sector $s) does not reuse the pattern's blocks ($pattern_start..$pattern_end): the test proves nothing"
done
# Extended by truncate, then written through a mapping: the write faults allocate the blocks.
# The first 2 MiB of each are a PMD fault's, whose blocks are allocated unwritten, zeroed
# outside the journal and then marked written (counted with fs_dax:dax_pmd_fault_done).
tracing=/sys/kernel/tracing
echo 1 >$tracing/events/fs_dax/dax_pmd_fault_done/enable
: >$tracing/trace
for i in 5 6; do
	xfs_io -f -c 'truncate 3M' -c 'mmap -w 0 3M' -c "mwrite -S 0x01 $((i * 100000)) 10" \
		-c "mwrite -S 0x02 $((2 * 1048576 + 7)) 3" -c 'msync -s 0 3M' "new$i"
	s=$(first_sector "new$i")
	((s >= pattern_start && s < pattern_end)) ||
		fail "new$i (sector $s) does not reuse the pattern's blocks ($pattern_start..$pattern_end): the test proves nothing"
done
echo 0 >$tracing/events/fs_dax/dax_pmd_fault_done/enable
pmds=$(grep -c 'dax_pmd_fault_done: .* NOPAGE$' $tracing/trace || true)
# Files in the page cache have no PMD faults: STALE_DATA_DAX=no says the caller mounts so
# (t-dax-modes with dax=never, t-block-device on a device without DAX).
want_pmds=2
[[ ${STALE_DATA_DAX:-yes} == no ]] && want_pmds=0
((pmds == want_pmds)) || fail "the write faults of new5 and new6 mapped $pmds PMDs, expected $want_pmds: the test proves nothing for PMD faults"
truncate -s 4M new1
echo "ok: the new files reuse the deleted file's blocks"
files="new1 new2 new3 new4 new5 new6"
# shellcheck disable=SC2086
if cat $files | tr -d '\000\001\002' | grep -q .; then
	fail "stale data of a deleted file is readable in new files"
fi
# shellcheck disable=SC2086
[[ $(cat $files | tr -cd '\001' | wc -c) == 60 && $(cat $files | tr -cd '\002' | wc -c) == 18 ]] ||
	fail "the written bytes did not read back"
echo "ok: only zeros and the written bytes read back"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
