# SPDX-License-Identifier: GPL-2.0
# Helpers for the in-guest tests. Sourced.
set -euo pipefail

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# expect_fail ERRTEXT CMD...: CMD must fail and its error output must contain ERRTEXT.
expect_fail() {
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, expected it to fail with '$want'"
	fi
	grep -qF -- "$want" <<<"$out" || fail "'$*' failed, but with '$out' instead of '$want'"
	echo "ok: '$*' failed with: $out"
}
fs_registered() { grep -qw "$1" /proc/filesystems; }

# mkfs_daxfs DEV [ARGS...]: a fresh daxfs on DEV; prints mkfs's summary.
mkfs_daxfs() {
	local dev=$1
	shift
	mkfs -t daxfs -f "$@" "$dev" || fail "mkfs -t daxfs $* $dev failed"
}

# fsck_clean DEV: fsck -n must find DEV clean.
fsck_clean() {
	local out rc=0
	out=$(fsck -t daxfs -n "$1" 2>&1) || rc=$?
	((rc == 0)) || fail "fsck -n $1 exited $rc: $out"
}

# mount_daxfs DEV DIR: mounts the daxfs on DEV on DIR, with the options in
# DAXFS_MOUNT_OPTS if set (t-dax-modes runs tests with dax=never that way).
mount_daxfs() {
	mount -t daxfs ${DAXFS_MOUNT_OPTS:+-o "$DAXFS_MOUNT_OPTS"} "$1" "$2"
}

# mount_fresh DEV DIR [MKFS_ARGS...]: a fresh daxfs on DEV (mkfs_daxfs, quiet), mounted on DIR.
mount_fresh() {
	local dev=$1 dir=$2
	shift 2
	mkfs_daxfs "$dev" "$@" >/dev/null
	mount_daxfs "$dev" "$dir"
}

# cd_fresh DEV DIR [MKFS_ARGS...]: mount_fresh, then cd into DIR (call it in the test's own shell).
cd_fresh() {
	mount_fresh "$@"
	cd "$2"
}

# umount_checked DEV DIR: unmounts DIR (after a cd / if the shell is inside it); fsck -n must find DEV clean.
umount_checked() {
	local dev=$1 dir=$2
	case $PWD/ in "${dir%/}"/*) cd / ;; esac
	umount "$dir"
	fsck_clean "$dev"
}

# remount_checked DEV DIR: umount_checked, then mounts DEV on DIR again (mount_daxfs); the shell stays in / if it left DIR.
remount_checked() {
	umount_checked "$1" "$2"
	mount_daxfs "$1" "$2"
}

# scratch_fresh FS: a fresh 64 MiB file system on $SCRATCH_DEV, mounted on
# $SCRATCH_MNT: FS is ext4 (mounted -o dax, the control) or daxfs.
scratch_fresh() {
	case $1 in
	ext4)
		mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV" 16384
		mount -t ext4 -o dax "$SCRATCH_DEV" "$SCRATCH_MNT"
		;;
	daxfs)
		mkfs -t daxfs -f "$SCRATCH_DEV" 16384 >/dev/null || fail "mkfs of a 64 MiB daxfs failed"
		mount_daxfs "$SCRATCH_DEV" "$SCRATCH_MNT"
		;;
	esac
}

# scratch_umount_checked FS: unmounts scratch_fresh's file system, which its
# fsck (e2fsck -fn, fsck.daxfs -n) must find clean.
scratch_umount_checked() {
	umount "$SCRATCH_MNT"
	case $1 in
	ext4) e2fsck -fn "$SCRATCH_DEV" >/tmp/fsck.out 2>&1 || fail "ext4: e2fsck -fn: $(cat /tmp/fsck.out)" ;;
	daxfs) fsck_clean "$SCRATCH_DEV" ;;
	esac
}

# scratch_remount FS: scratch_umount_checked, then mounts it again as scratch_fresh did.
scratch_remount() {
	scratch_umount_checked "$1"
	case $1 in
	ext4) mount -t ext4 -o dax "$SCRATCH_DEV" "$SCRATCH_MNT" ;;
	daxfs) mount_daxfs "$SCRATCH_DEV" "$SCRATCH_MNT" ;;
	esac
}

# mount_errno DEV OPTIONS: runs mount, which must fail, under strace; prints
# the errno name the failing mount syscall returned (fsopen API or mount(2)).
mount_errno() {
	if strace -f -qq -o /tmp/mount.strace -e trace=fsopen,fsconfig,fsmount,move_mount,mount \
		mount -t daxfs -o "$2" "$1" "$TEST_DIR" 2>/tmp/mount.err; then
		fail "mount -o $2 $1 succeeded"
	fi
	grep -o '= -1 E[A-Z]*' /tmp/mount.strace | tail -n1 | cut -d' ' -f3
}

# expect_mount_fails ERRNO DMESG_TEXT DEV [OPTIONS]: mounting DEV on $TEST_DIR
# fails with ERRNO (a name such as EINVAL), dmesg explains with DMESG_TEXT, and
# nothing is left mounted.
expect_mount_fails() {
	local want=$1 why=$2 dev=$3 opts=${4:-dax=always} got
	dmesg -C
	got=$(mount_errno "$dev" "$opts")
	[[ $got == "$want" ]] || fail "mount -o $opts $dev failed with '$got', expected $want: $(cat /tmp/mount.err)"
	dmesg | grep -qF -- "$why" || fail "dmesg does not say '$why': $(dmesg | tail -n 5)"
	! grep -q " $TEST_DIR " /proc/mounts || fail "something is mounted on $TEST_DIR"
	echo "ok: $want, dmesg: $(dmesg | grep -F -- "$why" | tail -n 1)"
}

# is_dax FILE: statx says FILE uses DAX (STATX_ATTR_DAX).
is_dax() {
	local attrs
	attrs=$(xfs_io -r -c 'statx -r' "$1" | awk '/^stat.attributes = / {print $3}')
	[[ -n $attrs ]] || fail "statx $1 reported no attributes"
	((attrs & 0x00200000))
}
# has_flag FILE: FILE has the DAX flag (FS_XFLAG_DAX).
has_flag() { xfs_io -c stat "$1" | grep -q '^fsxattr.xflags = 0x.*x'; }

# extent_map FILE: FILE's block map from FIEMAP as "FIRST-LAST:KIND" ranges of
# 512-byte sectors, KIND hole, data or unwritten; neighbours of one kind are
# joined, since file systems cut extents differently.
extent_map() {
	local index range rest kind start end last_kind='' last_start='' last_end='' out=()
	while read -r index range rest; do
		[[ $index =~ ^[0-9]+:$ ]] || continue
		range=${range#[} range=${range%]:}
		start=${range%..*} end=${range#*..}
		read -ra fields <<<"$rest"
		if [[ ${fields[0]} == hole ]]; then
			kind=hole
		elif ((${fields[-1]} & 0x800)); then
			kind=unwritten
		else
			kind=data
		fi
		if [[ $kind == "$last_kind" ]]; then
			last_end=$end
			continue
		fi
		[[ -z $last_kind ]] || out+=("$last_start-$last_end:$last_kind")
		last_kind=$kind last_start=$start last_end=$end
	done < <(xfs_io -c 'fiemap -v' "$1")
	[[ -z $last_kind ]] || out+=("$last_start-$last_end:$last_kind")
	echo "${out[*]}"
}

# holder NAME CMD...: CMD in the background, reading commands from a FIFO.
holder() {
	local name=$1 fd
	shift
	rm -f "/tmp/$name.in" "/tmp/$name.out"
	mkfifo "/tmp/$name.in"
	"$@" <"/tmp/$name.in" >"/tmp/$name.out" 2>&1 &
	eval "${name}_pid=$!"
	exec {fd}>"/tmp/$name.in"
	eval "${name}_fd=$fd"
}
send() { local fd="${1}_fd"; echo "$2" >&"${!fd}"; }
# await NAME WORD [COUNT]: until NAME has printed WORD COUNT times (30 s at most).
await() {
	local i
	for ((i = 0; i < 300; i++)); do
		(($(grep -c "^$2\$" "/tmp/$1.out" || true) >= ${3:-1})) && return 0
		sleep 0.1
	done
	fail "$1 did not say '$2': $(cat "/tmp/$1.out")"
}
# finish NAME: closes NAME's command FIFO (its end of input) and waits for it to succeed.
finish() {
	local fd_var="${1}_fd" pid_var="${1}_pid"
	local fd=${!fd_var}
	exec {fd}>&-
	wait "${!pid_var}" || fail "$1 failed: $(cat "/tmp/$1.out")"
}
