#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DAX mmap: writes through a mapping and read()/write() see each other; hole
# read faults allocate nothing, write faults exactly their block; SIGBUS beyond
# EOF, also after the file shrank; PMD faults on a 2 MiB-aligned extent and a
# clean fallback on a misaligned one (counted with fs_dax:dax_pmd_fault_done), and on
# a sparse file written a page at a time in shuffled order;
# MAP_SYNC accepted on daxfs and refused elsewhere; process_vm_writev and an
# O_DIRECT read into a mapping; fork with shared and private mappings; a
# multi-threaded fault storm; faults near EOF against a file shrunk and regrown
# (SIGBUS only beyond EOF, regrown ranges read zeros); msync'ed data survives
# unmount and mount.
. "$(dirname "$0")/lib.sh"
st=/repo/target/release/daxfs-selftest
[[ -x $st ]] || fail "$st not built"

cd_fresh "$TEST_DEV" "$TEST_DIR"

for t in map-rw hole-fault sigbus vm-writev fork; do
	"$st" "$t" "$TEST_DIR/$t" || fail "$t"
done
"$st" odirect-into-map /var/tmp/daxfs-odirect-src "$TEST_DIR/odirect" || fail "odirect-into-map"
rm -f /var/tmp/daxfs-odirect-src
"$st" storm "$TEST_DIR/storm" 4 24 || fail "storm"
"$st" fault-truncate "$TEST_DIR/fault-truncate" 3 40 || fail "fault-truncate"


"$st" map-sync "$TEST_DIR/sync" ok || fail "MAP_SYNC on daxfs"

"$st" map-sync /tmp/sync eopnotsupp || fail "MAP_SYNC on tmpfs"

# PMD faults, counted per inode from the fs_dax trace event (smaps does not count DAX PMDs).
tracing=/sys/kernel/tracing
pmd_faults() { # pmd_faults FILE RESULT: dax_pmd_fault_done events of FILE with RESULT
	local ino
	ino=$(printf '%#x' "$(stat -c %i "$1")")
	grep -c "dax_pmd_fault_done: .* ino $ino .* $2\$" $tracing/trace || true
}
first_sector() {
	xfs_io -c fiemap "$1" | sed -n 's/^[[:space:]]*[0-9]*: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\..*/\1/p' | head -n1
}
echo 1 >$tracing/events/fs_dax/dax_pmd_fault_done/enable
: >$tracing/trace
# Aligned: a sparse 4 MiB file whose two 2 MiB halves are allocated by PMD write faults.
xfs_io -f -c 'truncate 4M' aligned
"$st" touch aligned 0 $((4 << 20)) write || fail "write faults over aligned"
s=$(first_sector aligned)
((s * 512 % (2 << 20) == 0)) || fail "the PMD-faulted file is not 2 MiB aligned on the device: $(xfs_io -c fiemap aligned)"
n=$(pmd_faults aligned NOPAGE) f=$(pmd_faults aligned FALLBACK)
((n == 2 && f == 0)) || fail "4 MiB of aligned write faults: $n PMD mappings, $f fallbacks (expected 2 and 0)"
[[ $(stat -c %b aligned) == 8192 ]] || fail "aligned owns $(stat -c %b aligned) sectors, not 4 MiB"
echo "ok: a 2 MiB-aligned file is mapped by 2 PMD write faults, 2 MiB-aligned on the device"
# Read faults on the now-allocated file map PMDs too.
"$st" touch aligned 0 $((4 << 20)) read || fail "read faults over aligned"
n=$(pmd_faults aligned NOPAGE)
((n == 4)) || fail "read faults over aligned: $n PMD mappings in all, expected 4"
echo "ok: read faults on the 2 MiB extents map PMDs"
# Misaligned: a 2 MiB file whose one extent starts off a 2 MiB device boundary.
xfs_io -f -c 'pwrite -q 0 4k' pad
xfs_io -f -c 'pwrite -q 0 4k' -c 'pwrite -q -b 1M 4k 2044k' misaligned
s=$(first_sector misaligned)
((s * 512 % (2 << 20) != 0)) || fail "misaligned starts 2 MiB-aligned: the test proves nothing"
: >$tracing/trace
"$st" touch misaligned 0 $((2 << 20)) read || fail "read faults over misaligned"
"$st" touch misaligned 0 $((2 << 20)) write || fail "write faults over misaligned"
n=$(pmd_faults misaligned NOPAGE) f=$(pmd_faults misaligned FALLBACK)
((n == 0 && f >= 1)) || fail "misaligned: $n PMD mappings, $f fallbacks (expected 0 and at least 1)"
echo "ok: a misaligned extent falls back to PTEs ($f fallbacks)"
# Shuffled: a sparse 4 MiB file written a 4 KiB page at a time in a shuffled order (seeded)
# ends up as 2 MiB-aligned extents, which read faults map with PMDs: each 2 MiB of the file
# is placed in an aligned run, not block after block in the order of the writes.
xfs_io -f -c 'truncate 4M' shuffled
awk 'BEGIN { srand(7); for (i = 0; i < 1024; i++) p[i] = i
	for (i = 1023; i > 0; i--) { j = int(rand() * (i + 1)); t = p[i]; p[i] = p[j]; p[j] = t }
	for (i = 0; i < 1024; i++) printf "pwrite -q %d 4k\n", p[i] * 4096 }' | xfs_io shuffled
extents=$(xfs_io -c fiemap shuffled | grep -c '^[[:space:]]*[0-9]*: \[[0-9]*\.\.[0-9]*\]: [0-9]')
s=$(first_sector shuffled)
((extents <= 2 && s * 512 % (2 << 20) == 0)) ||
	fail "4 MiB written in shuffled order: $extents extents, first at sector $s (expected at most 2, 2 MiB-aligned): $(xfs_io -c fiemap shuffled | sed -n 1,20p)"
: >$tracing/trace
"$st" touch shuffled 0 $((4 << 20)) read || fail "read faults over shuffled"
n=$(pmd_faults shuffled NOPAGE)
((n == 2)) || fail "read faults over the file written in shuffled order: $n PMD mappings, expected 2"
echo "ok: 4 MiB written a page at a time in shuffled order is $extents 2 MiB-aligned extent(s), mapped by 2 PMD read faults"
echo 0 >$tracing/events/fs_dax/dax_pmd_fault_done/enable

# msync'ed data written through a mapping survives unmount and mount.
"$st" mwrite "$TEST_DIR/persist" $((3 << 20)) 77 || fail "mwrite"
remount_checked "$TEST_DEV" "$TEST_DIR"
"$st" verify "$TEST_DIR/persist" $((3 << 20)) 77 || fail "data written through a mapping was lost across unmount and mount"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: msync'ed mapping writes survive unmount and mount; fsck clean"
