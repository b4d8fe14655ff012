#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tree operations on daxfs: create, mkdir, symlink (inline and one-block
# targets), mknod, link, unlink, rmdir, rename (same and across directories,
# over a file and over an empty directory, RENAME_NOREPLACE), setattr; the link
# counts, sizes and errno values users expect; all persistent across unmount
# and mount, and fsck clean after.
. "$(dirname "$0")/lib.sh"

cd_fresh "$TEST_DEV" "$TEST_DIR"

# expect_errno ERRNO CMD...: CMD must fail with the syscall error ERRNO (seen by strace).
expect_errno() {
	local want=$1
	shift
	if strace -f -qq -o /tmp/op.strace "$@" 2>/tmp/op.err; then
		fail "'$*' succeeded, expected $want"
	fi
	grep -q "= -1 $want " /tmp/op.strace || fail "'$*' did not fail with $want: $(grep '= -1' /tmp/op.strace | tail -n 2)"
	local cmd="$*"
	echo "ok: '${cmd:0:60}' -> $want"
}
# links PATH: the link count.
links() { stat -c %h "$1"; }

touch file
mkdir dir dir/sub
ln -s file short
long=$(printf 't%.0s' {1..300})
ln -s "$long" long
mknod fifo p
ln file dir/hard
[[ $(links file) == 2 && $(links dir) == 3 && $(links dir/sub) == 2 && $(links .) == 3 ]] ||
	fail "link counts: file $(links file) dir $(links dir) sub $(links dir/sub) root $(links .)"
[[ $(readlink short) == file && $(readlink long) == "$long" ]] || fail "symlink targets"
[[ $(stat -c %s long) == 300 && $(stat -c %F fifo) == fifo ]] || fail "symlink size or fifo type"
[[ $(stat -c %i file) == $(stat -c %i dir/hard) ]] || fail "hard link has another inode"
echo "ok: create, mkdir, symlinks, mknod, link"

expect_errno EEXIST mkdir dir
expect_errno EEXIST ln file dir/hard
expect_errno EEXIST mkdir file
expect_errno ENOTEMPTY rmdir dir
expect_errno ENOENT unlink missing
expect_errno ENOTDIR rmdir file
expect_errno EISDIR unlink dir/sub
expect_errno EPERM link dir dirlink
expect_errno ENAMETOOLONG touch "$(printf 'n%.0s' {1..256})"
expect_errno ENAMETOOLONG ln -s "$(printf 'x%.0s' {1..4096})" toolong
touch "$(printf 'n%.0s' {1..255})" && rm "$(printf 'n%.0s' {1..255})"
echo "ok: a 255-byte name works"

# Renames.
mv file renamed
[[ -f renamed && ! -e file && $(links renamed) == 2 ]] || fail "rename in one directory"
mv renamed dir/sub/
mv dir/sub other
[[ $(links dir) == 2 && $(links .) == 4 && $(stat -c %i other/..) == $(stat -c %i .) ]] ||
	fail "directory rename: dir $(links dir), root $(links .)"
touch victim
free=$(stat -f -c %d .)
mv dir/hard victim
[[ ! -e dir/hard && $(stat -c %i victim) == $(stat -c %i other/renamed) && $(links victim) == 2 ]] ||
	fail "rename over a file: $(stat -c '%i %h' victim other/renamed)"
[[ $(stat -f -c %d .) == $((free + 1)) ]] || fail "the replaced file's inode was not freed"
mkdir emptydir fulldir && touch fulldir/x
mv emptydir dir/
expect_errno ENOTEMPTY mv -T other fulldir
mkdir target && mv -T dir/emptydir target
[[ ! -e dir/emptydir && -d target ]] || fail "rename over an empty directory"
touch keep
strace -f -qq -o /tmp/op.strace mv -n victim keep 2>/dev/null || true
grep -q 'renameat2(.*RENAME_NOREPLACE) = -1 EEXIST' /tmp/op.strace ||
	fail "mv -n: no RENAME_NOREPLACE refused with EEXIST: $(grep rename /tmp/op.strace)"
[[ -e victim && -e keep ]] || fail "mv -n moved something"
echo "ok: renames"

# Attributes.
chmod 1750 fulldir
chown 123:456 fulldir/x
touch -d '2001-02-03 04:05:06.789' fulldir/x
mkdir sgid && chmod g+s sgid && chown :77 sgid
mkdir sgid/child && touch sgid/file
[[ $(stat -c %g sgid/file) == 77 && $(stat -c %g sgid/child) == 77 && $(stat -c %A sgid/child) == drwxr-sr-x ]] ||
	fail "set-group-ID directory: $(stat -c '%g %A' sgid/file sgid/child)"
expect_errno EISDIR truncate -s 1 fulldir
echo "ok: setattr, set-group-ID directories; a directory cannot be truncated"

# Unlinking an open file keeps its inode until the last close.
exec 3>fulldir/open
free_before=$(stat -f -c %d .)
rm fulldir/open
[[ $(stat -f -c %d .) == "$free_before" ]] || fail "inode freed while open"
exec 3>&-
[[ $(stat -f -c %d .) == $((free_before + 1)) ]] || fail "inode not freed at last close: $(stat -f -c %d .) vs $free_before"
echo "ok: unlinked open file freed at last close"

snapshot() { (cd "$TEST_DIR" && find . -printf '%p %y %m %U %G %n %s %T@ %l\n' | sort); }
before=$(snapshot)
remount_checked "$TEST_DEV" "$TEST_DIR"
after=$(snapshot)
[[ $before == "$after" ]] || fail "tree changed across unmount/mount: $(diff <(echo "$before") <(echo "$after"))"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: tree identical after unmount and mount, fsck clean"

# The directory index (names by hash, free slots): freed slots are reused, so
# the directory does not grow; every name is found, a removed one is not; the
# same after a mount, when the index is rebuilt from the directory.
mount -t daxfs "$TEST_DEV" "$TEST_DIR"
mkdir "$TEST_DIR/many"
cd "$TEST_DIR/many"
for i in $(seq 1 90); do : >"n$i"; done
size=$(stat -c %s .)
for i in $(seq 2 2 90); do rm "n$i"; done
for i in $(seq 1 45); do : >"m$i"; done
[[ $(stat -c %s .) == "$size" ]] || fail "45 creates after 45 unlinks grew the directory from $size to $(stat -c %s .) bytes"
check_names() {
	local i
	for i in $(seq 1 2 90); do [[ -e n$i ]] || fail "n$i is missing$1"; done
	for i in $(seq 2 2 90); do [[ ! -e n$i ]] || fail "removed n$i is found$1"; done
	for i in $(seq 1 45); do [[ -e m$i ]] || fail "m$i is missing$1"; done
	[[ $(ls | wc -l) == 90 ]] || fail "the directory lists $(ls | wc -l) names, not 90$1"
}
check_names ""
mv m1 n2 && mv n3 m1 && [[ -e n2 && -e m1 && ! -e n3 ]] || fail "renames inside the indexed directory"
mv n2 m1 && [[ ! -e n2 && $(ls | wc -l) == 89 ]] || fail "rename over an indexed name"
: >n3
cd /
umount "$TEST_DIR"
mount -t daxfs "$TEST_DEV" "$TEST_DIR"
cd "$TEST_DIR/many"
check_names " after a mount"
umount_checked "$TEST_DEV" "$TEST_DIR"
echo "ok: directory slots are reused, names found and not found as they should, also after a mount"
