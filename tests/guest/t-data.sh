#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# File data through DAX: round trips at odd offsets and sizes, appends,
# sparse files whose holes read as zeros and own no blocks, SEEK_DATA/SEEK_HOLE
# and FIEMAP, 2 MiB-aligned allocation of large writes, STATX_ATTR_DAX on files, contents
# identical after unmount and mount, and fsck clean.
. "$(dirname "$0")/lib.sh"

cd_fresh "$TEST_DEV" "$TEST_DIR"

# Round trips: random data at odd offsets and lengths, checked byte for byte.
head -c 3000000 /dev/urandom >/tmp/random
for spec in "0 1" "1 4095" "4095 2" "4096 4096" "12345 70000" "1000000 1234567"; do
	read -r off len <<<"$spec"
	rm -f rt
	dd if=/tmp/random of=rt bs=64K iflag=count_bytes,skip_bytes skip="$off" count="$len" \
		oflag=seek_bytes seek="$off" conv=notrunc status=none
	[[ $(stat -c %s rt) == $((off + len)) ]] || fail "size after writing $len at $off: $(stat -c %s rt)"
	cmp -s <(head -c $((off + len)) /tmp/random | tail -c "$len") <(tail -c "$len" rt) ||
		fail "data written at $off+$len reads back differently"
	cmp -s <(head -c "$off" /dev/zero) <(head -c "$off" rt) || fail "hole before $off does not read as zeros"
done
echo "ok: round trips at odd offsets and sizes"

printf 'one\n' >app && printf 'two\n' >>app
[[ $(cat app) == $'one\ntwo' ]] || fail "O_APPEND: $(cat app)"
echo "ok: O_APPEND"

xfs_io -f -c 'pwrite -q -S 0x11 8M 4096' sparse
[[ $(stat -c %s sparse) == $((8 * 1024 * 1024 + 4096)) && $(stat -c %b sparse) == 8 ]] ||
	fail "sparse file: size $(stat -c %s sparse), 512-byte blocks $(stat -c %b sparse)"
cmp -s <(head -c 8M /dev/zero) <(head -c 8M sparse) || fail "the hole of a sparse file is not zeros"
echo "ok: sparse file: one block allocated, the hole reads as zeros"

# SEEK_DATA/SEEK_HOLE and FIEMAP see the same map: data at 8 MiB, a hole before it.
[[ $(xfs_io -c 'seek -d 0' sparse | awk '/^DATA/ {print $2}') == 8388608 ]] ||
	fail "SEEK_DATA: $(xfs_io -c 'seek -d 0' sparse)"
[[ $(xfs_io -c 'seek -h 0' sparse | awk '/^HOLE/ {print $2}') == 0 ]] ||
	fail "SEEK_HOLE: $(xfs_io -c 'seek -h 0' sparse)"
[[ $(xfs_io -c 'seek -h 8388608' sparse | awk '/^HOLE/ {print $2}') == $((8388608 + 4096)) ]] ||
	fail "SEEK_HOLE after the data: $(xfs_io -c 'seek -h 8388608' sparse)"
xfs_io -c 'fiemap' sparse | grep -q '\[0\.\.16383\]: hole' || fail "FIEMAP: $(xfs_io -c fiemap sparse)"
echo "ok: SEEK_DATA, SEEK_HOLE and FIEMAP"

# A write of 2 MiB or more starts 2 MiB-aligned on the device, for PMD faults.
xfs_io -f -c 'pwrite -q -b 4M 0 4M' aligned
start=$(xfs_io -c 'fiemap' aligned | sed -n 's/^[[:space:]]*0: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\..*/\1/p')
[[ -n $start && $((start * 512 % 2097152)) == 0 ]] || fail "4 MiB file not 2 MiB-aligned: $(xfs_io -c fiemap aligned)"
echo "ok: a 4 MiB write starts 2 MiB-aligned (sector $start)"

xfs_io -c 'statx -r' rt | grep -q 'stat.attributes = 0x200000' || fail "no STATX_ATTR_DAX: $(xfs_io -c 'statx -r' rt | grep attributes)"
echo "ok: STATX_ATTR_DAX"

sums=$(md5sum rt app sparse aligned)
remount_checked "$TEST_DEV" "$TEST_DIR"
[[ $(cd "$TEST_DIR" && md5sum rt app sparse aligned) == "$sums" ]] || fail "contents changed across unmount and mount"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: contents identical after unmount and mount, fsck clean"
