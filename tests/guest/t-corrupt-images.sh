#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Corrupted images never crash the kernel. Fields of an inode, its extents and
# a directory entry are changed on the unmounted device with their checksums
# resealed, as a fuzzer changes them: an overflow extent far beyond the device,
# a block count or an extent count that no file can have, an entry naming an
# inode past the inode table, and a root inode that is not a directory. Using
# such a file gives EUCLEAN and a rate-limited dmesg line naming the inode; the
# rest of the file system keeps working, and fsck -n finds each case too. An
# extended-attribute block that is not one is EUCLEAN too, and fsck -y drops it.
# Before the checks, the first case was a KASAN wild-memory-access and the
# second an arithmetic-overflow panic; the third sized an allocation by the
# extent count (ENOMEM), and the last two failed without a word in dmesg.
. "$(dirname "$0")/lib.sh"

dev=$SCRATCH_DEV mnt=$SCRATCH_MNT

# fresh_image: a daxfs on $dev holding frag, written every other block (20
# one-block extents: six in the inode, the rest in an overflow block), plain,
# and sub/x. Sets $frag, $plain and $sub to their inode numbers. Leaves $dev
# unmounted.
fresh_image() {
	mount_fresh "$dev" "$mnt"
	touch "$mnt/frag"
	for ((i = 0; i < 40; i += 2)); do echo "pwrite -q -S 0x33 $((i * 4096)) 4096"; done |
		xfs_io "$mnt/frag" >/dev/null
	echo hello >"$mnt/plain"
	mkdir "$mnt/sub"
	echo there >"$mnt/sub/x"
	frag=$(stat -c %i "$mnt/frag")
	plain=$(stat -c %i "$mnt/plain")
	sub=$(stat -c %i "$mnt/sub")
	[[ $(xfs_io -c fiemap "$mnt/frag" | grep -vc hole) == 21 ]] ||
		fail "frag does not have 20 extents: $(xfs_io -c fiemap "$mnt/frag")"
	umount "$mnt"
}

# edit ARGS...: daxfs-edit on $dev, then drop the block device's cached pages,
# which daxfs (writing through DAX) bypasses.
edit() {
	blockdev --flushbufs "$dev"
	daxfs-edit "$dev" "$@" || fail "daxfs-edit $* failed"
	blockdev --flushbufs "$dev"
}

# expect_fsck_finds: fsck -n reports the damage (exit status with bit 4 set).
expect_fsck_finds() {
	local rc=0
	fsck -t daxfs -n "$dev" >/tmp/fsck.out 2>&1 || rc=$?
	((rc & 4)) || fail "fsck -n exited $rc on a corrupted image: $(cat /tmp/fsck.out)"
}

# expect_corrupt INO CMD...: CMD fails with EUCLEAN ("Structure needs
# cleaning") and dmesg names inode INO.
expect_corrupt() {
	local ino=$1 out
	shift
	dmesg -C
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded on the corrupted inode $ino: $out"
	fi
	grep -q "Structure needs cleaning" <<<"$out" || fail "'$*' failed with '$out', not EUCLEAN"
	dmesg | grep -q "inode $ino is corrupted" || fail "dmesg does not name inode $ino: $(dmesg | tail -n 3)"
	echo "ok: '$*': EUCLEAN; dmesg: $(dmesg | grep "inode $ino is corrupted" | tail -n 1)"
}

# expect_plain_works: the undamaged file still reads back.
expect_plain_works() {
	[[ $(cat "$mnt/plain") == hello ]] || fail "the undamaged file no longer reads back"
}

# An overflow extent far beyond the device: reads, writes and mappings of the
# file must not reach outside the persistent memory.
for physical in 0x7ffffffffffff 0xffffffffffffffff; do
	fresh_image
	edit --inode "$frag" extent.10.physical="$physical"
	expect_fsck_finds
	mount -t daxfs "$dev" "$mnt"
	expect_corrupt "$frag" cat "$mnt/frag"
	expect_corrupt "$frag" xfs_io -c 'pwrite -q 40960 4096' "$mnt/frag"
	# A fault on the file gets SIGBUS (xfs_io dies of it: 128 + 7).
	dmesg -C
	rc=0
	xfs_io -c 'mmap -r 0 160k' -c 'mread 0 4096' "$mnt/frag" >/dev/null 2>&1 || rc=$?
	((rc == 135)) || fail "a read fault on the corrupted file ended with $rc, not SIGBUS"
	dmesg | grep -q "inode $frag is corrupted" || fail "dmesg does not name inode $frag after the fault"
	echo "ok: a read fault on it gets SIGBUS"
	expect_corrupt "$frag" truncate -s 4096 "$mnt/frag"
	expect_plain_works
	# The reports are rate limited (10 every 5 s), so a damaged image cannot
	# flood the log: 100 failed reads in one process log a few lines.
	dmesg -C
	reads=()
	for _ in $(seq 100); do reads+=(-c 'pread -q 0 4096'); done
	start=$SECONDS
	failed=$(xfs_io "${reads[@]}" "$mnt/frag" 2>&1 | grep -c "Structure needs cleaning" || true)
	most=$((10 * ((SECONDS - start) / 5 + 2)))
	lines=$(dmesg | grep -c "is corrupted" || true)
	((failed == 100)) || fail "$failed of 100 reads of the corrupted file failed with EUCLEAN"
	((lines > 0 && lines <= most && lines < 100)) ||
		fail "100 failed reads in $((SECONDS - start)) s logged $lines corruption reports, expected at most $most"
	echo "ok: 100 failed reads logged $lines reports"
	# The burst used up the rate limit's window: the next case's report must not
	# fall into it.
	sleep 5
	# Its blocks cannot be freed safely: the unlink works, they leak (fsck frees them).
	rm "$mnt/frag"
	umount "$mnt"
done

# A block count larger than the data area (the allocated bytes overflowed).
fresh_image
edit --inode "$plain" blocks=0xffffffffffffffff
expect_fsck_finds
mount -t daxfs "$dev" "$mnt"
expect_corrupt "$plain" stat "$mnt/plain"
[[ $(head -c 1 "$mnt/frag" | od -An -tx1 | tr -d ' ') == 33 ]] || fail "frag no longer reads back"
umount "$mnt"

# An extent count no file can have (it sized an allocation).
fresh_image
edit --inode "$frag" extent_count=0xffffffff
expect_fsck_finds
mount -t daxfs "$dev" "$mnt"
expect_corrupt "$frag" cat "$mnt/frag"
expect_plain_works
umount "$mnt"

# A directory entry naming an inode past the inode table: reading that
# directory and looking names up in it fail and name the directory (its index
# is built from all its entries); other directories still work.
fresh_image
edit --entry "$sub" x ino=0xfffffff0000
expect_fsck_finds
mount -t daxfs "$dev" "$mnt"
expect_corrupt "$sub" ls "$mnt/sub"
expect_corrupt "$sub" cat "$mnt/sub/x"
expect_plain_works
umount "$mnt"

# A root inode that is not a directory refuses the mount.
fresh_image
edit root_ino="$plain"
expect_fsck_finds
expect_mount_fails EUCLEAN "the root inode $plain is not a directory" "$dev"

# Link counts that do not fit the inode: a directory with one link, a link
# count above the limit, and a file named in a directory but with no links.
# The last one would otherwise be used, and freed when its last user let it
# go, although its name stays: a file lost. Here it is refused and kept, and
# fsck -y gives it its link count back.
fresh_image
edit --inode "$sub" nlink=1
expect_fsck_finds
mount -t daxfs "$dev" "$mnt"
expect_corrupt "$sub" ls "$mnt/sub"
expect_plain_works
umount "$mnt"

# A directory whose count is too small for its subdirectories: removing or
# moving one away would leave it with one link (refused from then on) or none
# (freed while named). Refused before any name changes; fsck -y corrects it.
fresh_image
mount -t daxfs "$dev" "$mnt"
mkdir "$mnt/sub/d" "$mnt/sub/e"
umount "$mnt"
edit --inode "$sub" nlink=2
mount -t daxfs "$dev" "$mnt"
dmesg -C
expect_fail "Structure needs cleaning" rmdir "$mnt/sub/d"
dmesg | grep -q "directory $sub has 2 links, too few for its subdirectories" ||
	fail "dmesg does not say directory $sub has too few links: $(dmesg | tail -n 3)"
expect_fail "Structure needs cleaning" mv "$mnt/sub/e" "$mnt/e"
[[ -d $mnt/sub/d && -d $mnt/sub/e && ! -e $mnt/e ]] || fail "a refused rmdir or rename changed names: $(ls "$mnt" "$mnt/sub")"
umount "$mnt"
fsck -t daxfs -y "$dev" >/dev/null 2>&1 || true
fsck_clean "$dev"
mount -t daxfs "$dev" "$mnt"
rmdir "$mnt/sub/d"
mv "$mnt/sub/e" "$mnt/e"
umount "$mnt"
fsck_clean "$dev"
echo "ok: a directory with too few links for its subdirectories refuses rmdir and rename; fsck -y repairs it"

fresh_image
edit --inode "$plain" nlink=65001
expect_fsck_finds
mount -t daxfs "$dev" "$mnt"
expect_corrupt "$plain" cat "$mnt/plain"
umount "$mnt"

fresh_image
edit --inode "$plain" nlink=0
expect_fsck_finds
mount -t daxfs "$dev" "$mnt"
dmesg -C
expect_fail "Structure needs cleaning" cat "$mnt/plain"
dmesg | grep -q "inode $plain is named in a directory but has no links" ||
	fail "dmesg does not say that inode $plain is named but unlinked: $(dmesg | tail -n 3)"
expect_fail "Structure needs cleaning" cat "$mnt/plain" # Twice: nothing was freed in between.
umount "$mnt"
fsck -t daxfs -y "$dev" >/tmp/fsck.out 2>&1 || true
grep -q "inode $plain: link count is 0, should be 1" /tmp/fsck.out ||
	fail "fsck -y did not give inode $plain its link back: $(cat /tmp/fsck.out)"
fsck_clean "$dev"
mount -t daxfs "$dev" "$mnt"
[[ $(cat "$mnt/plain") == hello ]] || fail "the file named but unlinked was lost"
echo "ok: the file named but unlinked is kept, and fsck -y gives it its link back"
umount "$mnt"

# An extended-attribute block that is not one (here a block of frag's data):
# getxattr, listxattr and setxattr of that file give EUCLEAN and name it, other
# files' attributes still work; fsck -y drops the damaged attributes (and frees
# the block they had), after which the file has none and takes new ones.
fresh_image
mount -t daxfs "$dev" "$mnt"
setfattr -n user.kept -v yes "$mnt/plain"
setfattr -n user.lost -v soon "$mnt/sub/x"
x=$(stat -c %i "$mnt/sub/x")
data=$(xfs_io -c 'fiemap' "$mnt/frag" | awk '$2 == "[0..7]:" {split($3, r, "[.]"); print r[1] / 8; exit}')
[[ -n $data ]] || fail "no physical block for frag's first block: $(xfs_io -c fiemap "$mnt/frag")"
umount "$mnt"
edit --inode "$x" xattr_block="$data"
expect_fsck_finds
grep -q "bad-xattr: inode $x: extended-attribute block $data" /tmp/fsck.out ||
	fail "fsck -n does not report the xattr block of inode $x: $(cat /tmp/fsck.out)"
mount -t daxfs "$dev" "$mnt"
expect_corrupt "$x" getfattr -n user.lost "$mnt/sub/x"
expect_corrupt "$x" getfattr -d "$mnt/sub/x"
expect_corrupt "$x" setfattr -n user.new -v 1 "$mnt/sub/x"
[[ $(getfattr --only-values -n user.kept "$mnt/plain") == yes ]] || fail "plain lost its attribute"
[[ $(head -c 1 "$mnt/frag" | od -An -tx1 | tr -d ' ') == 33 ]] || fail "frag no longer reads back"
umount "$mnt"
fsck -t daxfs -y "$dev" >/tmp/fsck.out 2>&1 || true
grep -q "dropping the attributes" /tmp/fsck.out || fail "fsck -y did not drop the damaged attributes: $(cat /tmp/fsck.out)"
fsck_clean "$dev"
mount -t daxfs "$dev" "$mnt"
[[ -z $(getfattr -d "$mnt/sub/x") ]] || fail "sub/x still has attributes after fsck -y"
setfattr -n user.new -v 1 "$mnt/sub/x"
[[ $(head -c 1 "$mnt/frag" | od -An -tx1 | tr -d ' ') == 33 ]] || fail "frag lost data to the repair"
umount "$mnt"
fsck_clean "$dev"
echo "ok: a damaged xattr block gives EUCLEAN; fsck -y drops it"
