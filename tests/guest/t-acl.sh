#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# POSIX ACLs, on ext4 -o dax as the control and on daxfs, in the same boot:
# one script of setfacl, getfacl, umask, chmod and access by another user runs
# on both, and daxfs must print what ext4 prints, line for line:
# - the umask still applies to nodes of every kind (O_TMPFILE too) in a
#   directory without a default ACL (the VFS leaves it to the file system once
#   ACLs are on);
# - an access ACL grants and, once removed, no longer grants a named user;
# - chmod rewrites the mask; an ACL the mode says all of is not stored (no
#   system.posix_acl_access) and sets the mode;
# - a default ACL is refused on a file (EACCES), and is inherited by files, FIFOs,
#   O_TMPFILE files (xfs_io -T, flink) and directories (which get the default
#   too) in place of the umask; symlinks get none;
# - setfacl -b removes them;
# - an image without the POSIX_ACL feature has none, even mounted with
#   MS_POSIXACL, as tmpfs without ACLs;
# - every ACL survives a remount (getfacl -R before and after), and the file
#   system checks clean with no attribute block leaked after the files go.
. "$(dirname "$0")/lib.sh"

# As user 1000, who owns nothing here.
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }

# scenario: the ACL script, in the current directory; prints what it sees.
scenario() {
	umask 022
	mkdir plain
	touch plain/file
	mkdir plain/dir
	mkfifo plain/fifo
	xfs_io -T -c "flink plain/tmpfile" plain
	stat -c '%A %n' plain/*

	touch granted
	chmod 600 granted
	as_user sh -c 'echo no >>granted' 2>/dev/null && echo "user 1000 wrote granted without an ACL"
	setfacl -m u:1000:rw granted
	as_user sh -c 'echo yes >>granted' || echo "user 1000 could not write granted with an ACL"
	cat granted
	setfacl -m g:100:r granted
	chmod 640 granted
	getfacl granted
	setfacl -x u:1000 granted
	as_user sh -c 'echo no >>granted' 2>/dev/null && echo "user 1000 wrote granted after the ACL lost it"
	getfacl granted

	touch same
	setfacl -m u::rwx,g::r,o::- same
	stat -c '%A %n' same
	getfattr -n system.posix_acl_access same 2>&1 || true

	mkdir inherit
	chmod 2775 inherit
	setfacl -d -m u:1000:rwx,g::rx,o::- inherit
	umask 077
	touch inherit/file
	mkfifo inherit/fifo
	mkdir inherit/dir
	ln -s file inherit/link
	xfs_io -T -c "flink inherit/tmpfile" inherit
	umask 022
	stat -c '%A %n' inherit/*
	# (Sorted: getfacl -R lists in directory order, which ext4 hashes with a random seed.)
	getfacl -P inherit inherit/*
	as_user sh -c 'echo yes >>inherit/file' || echo "user 1000 could not write inherit/file"

	# setfacl refuses a default ACL on a file itself: the kernel's answer, through setfattr.
	acl=$(getfattr -e hex -n system.posix_acl_default inherit | sed -n 's/^system.posix_acl_default=//p')
	setfattr -n system.posix_acl_default -v "$acl" same 2>&1 || true
	setfattr -n system.posix_acl_default -v "$acl" inherit/fifo 2>&1 || true
	setfattr -n system.posix_acl_default -v "$acl" plain/dir
	getfacl -d plain/dir

	setfacl -b granted inherit/dir
	getfacl granted inherit/dir
	getfattr -d -m - granted inherit/dir
}

for fs in ext4 daxfs; do
	scratch_fresh "$fs"
	mkdir "$SCRATCH_MNT/t"
	chmod 755 "$SCRATCH_MNT/t"
	# Errors are part of the output (errexit is off in a subshell run this way): the
	# comparison with ext4's output below is the check.
	(cd "$SCRATCH_MNT/t" && scenario) >"/tmp/acl.$fs" 2>&1 || true
	before=$(cd "$SCRATCH_MNT" && getfacl -R -P t)
	scratch_remount "$fs"
	after=$(cd "$SCRATCH_MNT" && getfacl -R -P t)
	[[ $after == "$before" ]] || fail "$fs: ACLs changed across a remount: $(diff <(echo "$before") <(echo "$after"))"
	grep -q 'default:user:1000:rwx' <<<"$after" || fail "$fs: no default ACL after the remount: $after"
	echo "ok: $fs: $(grep -c '^user:1000' <<<"$after") ACLs naming user 1000 survive a remount"
	rm -r "$SCRATCH_MNT/t"
	scratch_umount_checked "$fs"
	echo "ok: $fs: removed files left no attribute block behind"
done

# Without the POSIX_ACL feature (an image of before it), daxfs has no ACLs, even
# when mount(2) passes MS_POSIXACL: the umask is the VFS's again, and setfacl is
# refused. The control is tmpfs, which has no ACLs in the test kernels
# (CONFIG_TMPFS_POSIX_ACL is off; ext4 always has them).
noacl() {
	umask 027
	touch file
	stat -c '%A %n' file
	setfacl -m u:1000:rw file 2>&1 || true
	getfacl -c file
}
st=/repo/target/release/daxfs-selftest
$st mount-posixacl tmpfs tmpfs "$SCRATCH_MNT"
(cd "$SCRATCH_MNT" && noacl) >/tmp/noacl.tmpfs 2>&1 || true
umount "$SCRATCH_MNT"
mkfs -t daxfs -f "$SCRATCH_DEV" 16384 >/dev/null || fail "mkfs of a 64 MiB daxfs failed"
# mkfs sets incompat bits 0 to 4; bit 4 is POSIX_ACL (src/format/mod.rs).
/repo/target/release/daxfs-edit "$SCRATCH_DEV" feature_incompat=15 >/dev/null
$st mount-posixacl daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
(cd "$SCRATCH_MNT" && noacl) >/tmp/noacl.daxfs 2>&1 || true
scratch_umount_checked daxfs
grep -q 'Operation not supported' /tmp/noacl.tmpfs || fail "tmpfs took an ACL: $(cat /tmp/noacl.tmpfs)"
diff -u /tmp/noacl.tmpfs /tmp/noacl.daxfs >/tmp/noacl.diff ||
	fail "daxfs without the POSIX_ACL feature differs from tmpfs without ACLs: $(cat /tmp/noacl.diff)"
echo "ok: without the POSIX_ACL feature daxfs has no ACLs and applies the umask, as tmpfs without them"

grep -q '^default:user:1000:rwx' /tmp/acl.ext4 || fail "the control printed no default ACL: $(cat /tmp/acl.ext4)"
! grep 'user 1000' /tmp/acl.ext4 || fail "the control's access checks went wrong: $(cat /tmp/acl.ext4)"
diff -u /tmp/acl.ext4 /tmp/acl.daxfs >/tmp/acl.diff || fail "daxfs differs from ext4 -o dax: $(cat /tmp/acl.diff)"
echo "ok: daxfs prints what ext4 -o dax prints for the ACL script ($(wc -l </tmp/acl.daxfs) lines)"
