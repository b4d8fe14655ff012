#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No block is reused or zeroed while its page is pinned. A page of a mapped
# file is pinned through the test module (tests/pin), the way a device pins a
# DMA target, or by an O_DIRECT read in flight from a slow null_blk:
# - a truncate that cuts off a pinned page returns without waiting: the page's
#   block is parked (daxfs_park), counted as used, never given to a filler, and
#   bytes written through the pin afterwards show up in no file; once the pin
#   is released the block comes back (daxfs_unpark, statfs);
# - growing the file back over the parked range (truncate up, an extending
#   write, fallocate) waits for the pin, and the range reads as zeros after;
# - unlink after a parking truncate returns at once; the inode is evicted
#   after the pin goes;
# - a truncate whose new last block is pinned waits (its tail is zeroed in
#   place), and one killed while it waits leaves size and data as they were;
# - punch hole and zero range wait for a pin in their range; collapse and insert
#   range for a pin anywhere after their offset;
# - the last close of an unlinked, unmapped file waits in evict until the pin
#   goes, and only then are its blocks freed (statfs);
# - with an O_DIRECT read in flight into the page, truncate parks, punch hole
#   waits;
# - a copy of the device taken while a block is parked (a crash then) mounts
#   clean with the block free; unmount waits for parked blocks, says so in
#   dmesg, and ends once the pin goes.
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

# lines_of PATTERN: the line numbers of the trace lines that match PATTERN.
lines_of() { grep -n "$1" $tracing/trace | cut -d: -f1 || true; }
# free_becomes N: statfs must show N free blocks within a second.
free_becomes() {
	local i
	for ((i = 0; i < 20; i++)); do
		[[ $(free_blocks) == "$1" ]] && return 0
		sleep 0.05
	done
	fail "$(free_blocks) blocks free a second after the pin went, expected $1"
}
# zeros_at FILE OFFSET LEN: the bytes read back as zeros.
zeros_at() {
	cmp -s <(tail -c +$(($2 + 1)) "$1" | head -c "$3") <(head -c "$3" /dev/zero) ||
		fail "$1: bytes $2..$(($2 + $3)) are not zeros"
}

# a) A truncate that cuts off a pinned page returns at once; the page's block is parked.
xfs_io -f -c 'pwrite -q -S 0x11 0 64k' f
ino=$(ino_of f)
holder PIN "$st" pin-hold f 32768
await PIN pinned
free0=$(free_blocks)
took=$(timeout 60 "$st" timed-truncate f 4096) || fail "truncate of f failed, or waited for the pin"
took=${took#took }
took=${took% us}
kill -0 "$PIN_pid" 2>/dev/null || fail "the pin holder is gone"
[[ $(stat -c %s f) == 4096 && $(stat -c %b f) == 8 ]] || fail "after the truncate: size $(stat -c %s f), sectors $(stat -c %b f)"
[[ -n $(lines_of "daxfs_park: ino $ino range 0x8000+0x1000 parked 1 blocks") ]] || fail "no daxfs_park of inode $ino's pinned page: $(grep daxfs_park $tracing/trace)"
# 15 blocks cut off, 1 of them parked: it counts as used.
[[ $(free_blocks) == $((free0 + 14)) ]] || fail "after the truncate $(free_blocks) blocks are free, expected $((free0 + 14))"
echo "ok: the truncate returned in $((took / 1000)) ms with a page of its range pinned; the page's block is parked"
# Fill the device: the allocator must not hand out the parked block.
xfs_io -f -c 'pwrite -q -S 0x22 -b 1m 0 2g' filler 2>/dev/null || true
(($(free_blocks) < 16)) || fail "the filler did not fill the device: $(free_blocks) blocks free"
send PIN "write 119" # 0x77 through the pin, as DMA after the truncate
await PIN done
if tr -d '\042' <filler | grep -q .; then
	fail "bytes written through the pin showed up in another file: the parked block was reused"
fi
cmp -s f <(head -c 4096 /dev/zero | tr '\0' '\021') || fail "f changed after its truncate"
[[ -z $(lines_of "daxfs_unpark: ino $ino ") ]] || fail "the block was unparked while the page is pinned"
free1=$(free_blocks)
send PIN release
await PIN done 2
free_becomes $((free1 + 1))
unpark_line=$(lines_of "daxfs_unpark: ino $ino range 0x8000 freed 1 blocks" | tail -n1)
park_line=$(lines_of "daxfs_park: ino $ino " | tail -n1)
[[ -n $unpark_line ]] && ((unpark_line > park_line)) || fail "no daxfs_unpark of inode $ino after its daxfs_park"
finish PIN
echo "ok: the filler never got the parked block, the device's writes reached no file; the block came back after the release"
rm filler
sync

# b) Growing the file back over the parked range waits for the pin; the range reads as zeros after.
for grow in "truncate -s 64k g" "xfs_io -c 'pwrite -q -S 0x33 36864 4096' g" "fallocate -l 64k g" \
	"fallocate -z -o 36864 -l 4096 g"; do
	xfs_io -f -c 'pwrite -q -S 0x11 0 64k' g
	ino=$(ino_of g)
	holder PIN "$st" pin-hold g 32768
	await PIN pinned
	timeout 60 "$st" timed-truncate g 4096 >/dev/null || fail "truncate of g failed, or waited for the pin"
	send PIN "write 119"
	await PIN done
	waits=$(lines_of "daxfs_layout_wait_start: ino $ino " | wc -l)
	eval "$grow" &
	gpid=$!
	sleep 1
	kill -0 $gpid 2>/dev/null || fail "'$grow' did not wait for the pin on the range it grows over"
	(($(lines_of "daxfs_layout_wait_start: ino $ino " | wc -l) > waits)) || fail "'$grow' is not waiting for the pin (no daxfs_layout_wait_start)"
	[[ $(stat -c %s g) == 4096 ]] || fail "'$grow' changed the size while it waits"
	send PIN release
	await PIN done 2
	wait $gpid || fail "'$grow' failed after the pin was released"
	finish PIN
	zeros_at g 4096 32768
	[[ $(stat -c %s g) -ge 40960 ]] || fail "after '$grow' the size is $(stat -c %s g)"
	rm g
done
echo "ok: truncate up, an extending write, fallocate and zero range over a parked range wait for its pin; it reads as zeros after"

# c) unlink and the last close after a parking truncate return at once; the inode is evicted
# once the pin goes.
xfs_io -f -c 'pwrite -q -S 0x44 0 64k' u
ino=$(ino_of u)
holder PIN "$st" pin-hold u 32768
await PIN pinned
holder OPEN "$st" hold-open u
await OPEN open
send PIN unmap # the pinner's mapping and file go; the page stays pinned
await PIN done
timeout 60 "$st" timed-truncate u 0 >/dev/null || fail "truncate of u failed, or waited for the pin"
free0=$(free_blocks)
timeout 5 rm u || fail "unlink after a parking truncate did not return"
send OPEN close
for ((i = 0; i < 50; i++)); do
	kill -0 "$OPEN_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$OPEN_pid" 2>/dev/null && fail "the last close of u waits, after a parking truncate"
finish OPEN
[[ -z $(lines_of "daxfs_evict: ino $ino ") ]] || fail "inode $ino was evicted while its parked page is pinned"
send PIN release
await PIN done 2
free_becomes $((free0 + 1))
for ((i = 0; i < 20; i++)); do
	[[ -n $(lines_of "daxfs_evict: ino $ino ") ]] && break
	sleep 0.05
done
evict_line=$(lines_of "daxfs_evict: ino $ino " | tail -n1)
unpark_line=$(lines_of "daxfs_unpark: ino $ino " | tail -n1)
[[ -n $evict_line && -n $unpark_line ]] && ((evict_line > unpark_line)) || fail "inode $ino was not evicted after its block was unparked (lines $evict_line, $unpark_line)"
finish PIN
echo "ok: unlink and the last close after a parking truncate returned at once; the inode went after the pin"

# d) A pinned 2 MiB (PMD) mapping cut off whole parks its 512 blocks; one that the new end of file
# cuts in two is waited for (its first part stays in the file).
for name in h1 h2; do
	xfs_io -f -c 'truncate 4M' $name
	"$st" touch $name 0 $((4 << 20)) write || fail "write faults over $name"
done
ino=$(ino_of h1)
holder PIN "$st" pin-hold h1 $(((2 << 20) + 8192))
await PIN pinned
free0=$(free_blocks)
timeout 60 "$st" timed-truncate h1 $((1 << 20)) >/dev/null || fail "truncate of h1 failed, or waited for the pin"
[[ -n $(lines_of "daxfs_park: ino $ino range 0x200000+0x200000 parked 512 blocks") ]] ||
	fail "the pinned 2 MiB mapping of h1 was not parked whole: $(grep "daxfs_park: ino $ino " $tracing/trace)"
[[ $(free_blocks) == $((free0 + 256)) ]] || fail "after the truncate of h1: $(free_blocks) blocks free, expected $((free0 + 256))"
send PIN release
await PIN done
free_becomes $((free0 + 768))
finish PIN
ino=$(ino_of h2)
holder PIN "$st" pin-hold h2 8192
await PIN pinned
truncate -s 1M h2 &
tpid=$!
sleep 1
kill -0 $tpid 2>/dev/null || fail "a truncate that cuts a pinned 2 MiB mapping in two did not wait"
[[ -n $(lines_of "daxfs_layout_wait_start: ino $ino ") ]] || fail "the truncate of h2 is not waiting for the pin"
send PIN release
await PIN done
wait $tpid || fail "the truncate of h2 failed after the pin was released"
finish PIN
[[ $(stat -c %s h2) == $((1 << 20)) && $(stat -c %b h2) == 2048 ]] || fail "h2 after the truncate: size $(stat -c %s h2), sectors $(stat -c %b h2)"
rm h1 h2
echo "ok: a pinned 2 MiB mapping past the new end of file is parked whole; one the end cuts in two is waited for"

# e) A truncate whose new last block is pinned waits; killed while it waits, it changes nothing.
xfs_io -f -c 'pwrite -q -S 0x44 0 64k' k
ino=$(ino_of k)
holder PIN "$st" pin-hold k 8192
await PIN pinned
truncate -s 10000 k &
tpid=$!
sleep 1
kill -0 $tpid 2>/dev/null || fail "a truncate into the pinned block of k did not wait"
[[ -n $(lines_of "daxfs_layout_wait_start: ino $ino ") ]] || fail "the truncate into k's pinned block is not waiting for the pin"
kill -KILL $tpid
wait $tpid 2>/dev/null || true
[[ $(stat -c %s k) == 65536 && $(stat -c %b k) == 128 ]] || fail "a killed truncate changed k: size $(stat -c %s k), sectors $(stat -c %b k)"
[[ $(tr -d '\104' <k | wc -c) == 0 ]] || fail "a killed truncate changed k's data"
finish PIN
rm k
echo "ok: a truncate into a pinned block waits; killed while waiting, it leaves size, blocks and data as they were"

# f) punch hole and zero range of a sub-range wait for a pin in it; blocks freed only after.
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

# g) collapse and insert range move every block after their offset: they wait for a pin
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

# h) evict: unlinked, unmapped and closed while pinned: the last close waits, blocks stay allocated.
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

# i) a real pin: an O_DIRECT read from a slow null_blk (5 s per I/O) into the mapping, while
# the file is truncated (which parks the page's block) or a hole punched over the page (which
# waits), the shape of fstests generic/503.
modprobe null_blk nr_devices=1 irqmode=2 completion_nsec=5000000000 gb=1 bs=4096 || fail "modprobe null_blk"
for op in "truncate -s 0 d" "fallocate -p -o 0 -l 65536 d"; do
	xfs_io -f -c 'pwrite -q -S 0x55 0 64k' d
	ino=$(ino_of d)
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
	if [[ $op == truncate* ]]; then
		[[ $(awk '{print $3}' "/proc/$DIO_pid/stat" 2>/dev/null) == D ]] || fail "'$op' took $took ms: it returned only after the O_DIRECT read"
		[[ -n $(lines_of "daxfs_park: ino $ino range 0x4000+0x1000") ]] || fail "'$op' parked no block under the read"
		finish DIO
		for ((i = 0; i < 20; i++)); do
			[[ -n $(lines_of "daxfs_unpark: ino $ino range 0x4000 ") ]] && break
			sleep 0.05
		done
		[[ -n $(lines_of "daxfs_unpark: ino $ino range 0x4000 ") ]] || fail "no daxfs_unpark after the O_DIRECT read ended"
		echo "ok: '$op' returned in $took ms with an O_DIRECT read in flight into the mapping; the block came back after it"
	else
		((took >= 2500)) || fail "'$op' took $took ms, less than the O_DIRECT read (5 s) it had to wait for"
		finish DIO
		echo "ok: '$op' waited $took ms for an O_DIRECT read in flight into the mapping"
	fi
	[[ $(stat -c %b d) == 0 ]] || fail "after '$op': $(stat -c %b d) sectors left"
	rm d
done
rmmod null_blk

umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
echo "ok: fsck clean"

# j) A copy of the device taken while a block is parked (a crash at that point) mounts clean,
# with the block free; unmount waits for parked blocks, and says so in dmesg.
mkfs -t daxfs -f "$SCRATCH_DEV" 16384 >/dev/null || fail "mkfs of a 64 MiB daxfs failed"
mount_daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
# Nothing may keep the mount busy: the holder's working directory is /.
cd /
p=$SCRATCH_MNT/p
xfs_io -f -c 'pwrite -q -S 0x66 0 64k' "$p"
holder PIN "$st" pin-hold "$p" 32768
await PIN pinned
send PIN unmap
await PIN done
timeout 60 "$st" timed-truncate "$p" 0 >/dev/null || fail "truncate of p failed, or waited for the pin"
free_parked=$(free_blocks)
# Direct I/O: the block devices' page caches may hold what mkfs wrote, not what DAX stored.
dd if="$SCRATCH_DEV" of="$TEST_DEV" bs=1M count=64 iflag=direct oflag=direct status=none
mkdir -p /mnt/copy
mount_daxfs "$TEST_DEV" /mnt/copy || fail "the copy taken while a block is parked does not mount"
free_copy=$(stat -f -c %f /mnt/copy)
umount /mnt/copy
fsck_clean "$TEST_DEV"
((free_copy == free_parked + 1)) || fail "the copy has $free_copy blocks free, expected $((free_parked + 1)) (the parked one free)"
echo "ok: a copy taken while a block is parked mounts, fsck finds it clean, and the block is free in it"
kmsg_before=$(dmesg | wc -l)
umount "$SCRATCH_MNT" &
upid=$!
sleep 1
kill -0 $upid 2>/dev/null || fail "unmount did not wait for the parked block"
dmesg | tail -n +$((kmsg_before + 1)) | grep -q "unmount waits for 1 pinned pages" ||
	fail "unmount did not say in dmesg what it waits for: $(dmesg | tail -n 3)"
send PIN release
await PIN done 2
wait $upid || fail "unmount failed after the pin was released"
finish PIN
fsck_clean "$SCRATCH_DEV"
echo 0 >$tracing/events/daxfs/enable
echo "ok: unmount waited for the parked block and ended once the pin went; fsck clean"
