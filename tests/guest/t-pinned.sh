#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No block is freed, reused or zeroed while its page is pinned. A page of a
# mapped file is pinned through the test module (tests/pin), the way a device
# pins a DMA target, or by an O_DIRECT read in flight from a slow null_blk:
# - truncate waits (daxfs_layout_wait_start), frees the block only after the
#   pin is released (daxfs_free_blocks after daxfs_layout_wait_end), and a
#   device filled meanwhile never gets the pinned block: bytes written through
#   the pin after truncate began show up in no other file;
# - a truncate killed while it waits leaves size and data as they were;
# - punch hole and zero range wait for a pin in their range; collapse and insert
#   range for a pin anywhere after their offset;
# - the last close of an unlinked, unmapped file waits in evict until the pin
#   goes, and only then are its blocks freed (statfs);
# - truncate and punch hole wait for an O_DIRECT read in flight into the page.
# It runs on the 512 MiB scratch device, which the filler fills faster.
. "$(dirname "$0")/lib.sh"
st=/repo/target/release/daxfs-selftest
insmod /repo/build/debug/pin/daxfs_pin.ko || fail "insmod daxfs_pin.ko"
trap 'rmmod daxfs_pin 2>/dev/null' EXIT
tracing=/sys/kernel/tracing

free_blocks() { stat -f -c %f "$SCRATCH_MNT"; }
ino_of() { stat -c %i "$1"; }

cd_fresh "$SCRATCH_DEV" "$SCRATCH_MNT"
echo 1 >$tracing/events/daxfs/enable
: >$tracing/trace

# a) + b): truncate waits for the pin; the device filled meanwhile never gets the pinned block.
xfs_io -f -c 'pwrite -q -S 0x11 0 64k' f
ino=$(ino_of f)
holder PIN "$st" pin-hold f 32768
await PIN pinned
free0=$(free_blocks)
truncate -s 4096 f &
tpid=$!
sleep 2
kill -0 $tpid 2>/dev/null || fail "truncate finished while a page of the range was pinned"
grep -q "daxfs_layout_wait_start: ino $ino " $tracing/trace || fail "no daxfs_layout_wait_start for inode $ino"
[[ $(free_blocks) == "$free0" ]] || fail "blocks were freed while the truncate waits"
echo "ok: truncate waits while a page is pinned; nothing freed yet"
# Fill the device while the truncate waits: the allocator must not hand out the pinned block.
xfs_io -f -c 'pwrite -q -S 0x22 -b 1m 0 2g' filler 2>/dev/null || true
(($(free_blocks) < 16)) || fail "the filler did not fill the device: $(free_blocks) blocks free"
kill -0 $tpid 2>/dev/null || fail "truncate finished while a page was pinned (after the fill)"
send PIN "write 119" # 0x77 through the pin, as DMA after the truncate began
await PIN done
send PIN release
await PIN done 2
wait $tpid || fail "truncate failed after the pin was released"
[[ $(stat -c %s f) == 4096 ]] || fail "size after truncate: $(stat -c %s f)"
if tr -d '\042' <filler | grep -q .; then
	fail "bytes written through the pin showed up in another file: the pinned block was reused"
fi
waited=$(sed -n "s/.*daxfs_layout_wait_end: ino $ino .* waited \([0-9]*\) us error 0.*/\1/p" $tracing/trace | tail -n1)
[[ -n $waited ]] && ((waited >= 2000000)) || fail "daxfs_layout_wait_end: waited '${waited}' us, expected at least 2 s"
wait_line=$(grep -n "daxfs_layout_wait_end: ino $ino " $tracing/trace | tail -n1 | cut -d: -f1)
free_line=$(grep -n "daxfs_free_blocks: ino $ino " $tracing/trace | tail -n1 | cut -d: -f1)
[[ -n $free_line ]] && ((free_line > wait_line)) || fail "the blocks were not freed after the wait ended (lines $free_line, $wait_line)"
finish PIN
echo "ok: truncate waited $((waited / 1000)) ms for the pin, freed after it; the filler never got the pinned block"
rm filler
sync

# A truncate killed while it waits changes nothing.
xfs_io -f -c 'pwrite -q -S 0x44 0 64k' k
holder PIN "$st" pin-hold k 8192
await PIN pinned
truncate -s 0 k &
tpid=$!
sleep 1
kill -0 $tpid 2>/dev/null || fail "truncate of k finished while pinned"
kill -KILL $tpid
wait $tpid 2>/dev/null || true
[[ $(stat -c %s k) == 65536 && $(stat -c %b k) == 128 ]] || fail "a killed truncate changed k: size $(stat -c %s k), sectors $(stat -c %b k)"
[[ $(tr -d '\104' <k | wc -c) == 0 ]] || fail "a killed truncate changed k's data"
finish PIN
echo "ok: a truncate killed while waiting leaves size, blocks and data as they were"

# c) punch hole and zero range of a sub-range wait for a pin in it; blocks freed only after.
for op in "-p" "-z"; do
	xfs_io -f -c 'pwrite -q -S 0x66 0 64k' h
	holder PIN "$st" pin-hold h 8192
	await PIN pinned
	free0=$(free_blocks)
	fallocate $op -o 4096 -l 16384 h &
	fpid=$!
	sleep 1
	kill -0 $fpid 2>/dev/null || fail "fallocate $op over a pinned page did not wait"
	[[ $(free_blocks) == "$free0" ]] || fail "fallocate $op freed blocks while a page is pinned"
	send PIN release
	await PIN done
	wait $fpid || fail "fallocate $op failed after the pin was released"
	finish PIN
	cmp -s h <(head -c 4096 /dev/zero | tr '\0' f; head -c 16384 /dev/zero; head -c $((65536 - 20480)) /dev/zero | tr '\0' f) ||
		fail "after fallocate $op the file reads back wrong"
	rm h
done
echo "ok: punch hole and zero range wait for a pin in their range"

# c) collapse and insert range move every block after their offset: they wait for a pin
# anywhere there, and the pinned block keeps its place until the pin goes.
for op in "-c" "-i"; do
	xfs_io -f -c 'pwrite -q -S 0x66 0 64k' h
	holder PIN "$st" pin-hold h 40960
	await PIN pinned
	fallocate $op -o 4096 -l 16384 h &
	fpid=$!
	sleep 1
	kill -0 $fpid 2>/dev/null || fail "fallocate $op before a pinned page did not wait"
	[[ $(stat -c %s h) == 65536 ]] || fail "fallocate $op changed the size while a page is pinned"
	send PIN release
	await PIN done
	wait $fpid || fail "fallocate $op failed after the pin was released"
	finish PIN
	if [[ $op == -c ]]; then
		cmp -s h <(head -c 49152 /dev/zero | tr '\0' f) || fail "after collapse the file reads back wrong"
	else
		cmp -s h <(head -c 4096 /dev/zero | tr '\0' f; head -c 16384 /dev/zero; head -c 61440 /dev/zero | tr '\0' f) ||
			fail "after insert the file reads back wrong"
	fi
	rm h
done
echo "ok: collapse and insert range wait for a pin after their offset"

# c) evict: unlinked, unmapped and closed while pinned: the last close waits, blocks stay allocated.
xfs_io -f -c 'pwrite -q -S 0x33 0 64k' g
holder PIN "$st" pin-hold g 8192
await PIN pinned
holder OPEN "$st" hold-open g
await OPEN open
send PIN unmap
await PIN done
free0=$(free_blocks)
rm g
send OPEN close
sleep 2
kill -0 "$OPEN_pid" 2>/dev/null || fail "the last close of a pinned, unlinked file did not wait"
[[ $(free_blocks) == "$free0" ]] || fail "the unlinked file's blocks were freed while a page is pinned"
send PIN release
await PIN done 2
finish OPEN
[[ $(free_blocks) == $((free0 + 16)) ]] || fail "after the pin went: $(free_blocks) free, expected $((free0 + 16))"
finish PIN
echo "ok: evict waits for the pin, then frees the blocks"

# d) a real pin: an O_DIRECT read from a slow null_blk (5 s per I/O) into the mapping, while
# the file is truncated or a hole punched over the page (the shape of fstests generic/503).
modprobe null_blk nr_devices=1 irqmode=2 completion_nsec=5000000000 gb=1 bs=4096 || fail "modprobe null_blk"
for op in "truncate -s 0 d" "fallocate -p -o 0 -l 65536 d"; do
	xfs_io -f -c 'pwrite -q -S 0x55 0 64k' d
	holder DIO "$st" odirect-pin d 16384 /dev/nullb0
	await DIO reading
	# The read is in flight (and the page pinned) once the reader sleeps in D state.
	for ((i = 0; i < 100; i++)); do
		[[ $(awk '{print $3}' "/proc/$DIO_pid/stat" 2>/dev/null) == D ]] && break
		sleep 0.05
	done
	[[ $(awk '{print $3}' "/proc/$DIO_pid/stat") == D ]] || fail "the O_DIRECT read is not in flight"
	start=$(date +%s%N)
	$op
	took=$((($(date +%s%N) - start) / 1000000))
	((took >= 2500)) || fail "'$op' took $took ms, less than the O_DIRECT read (5 s) it had to wait for"
	finish DIO
	[[ $(stat -c %b d) == 0 ]] || fail "after '$op': $(stat -c %b d) sectors left"
	echo "ok: '$op' waited $took ms for an O_DIRECT read in flight into the mapping"
	rm d
done
rmmod null_blk

echo 0 >$tracing/events/daxfs/enable
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
echo "ok: fsck clean"
