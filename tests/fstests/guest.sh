#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest's part of `make fstests` (scripts/fstests.sh): unpacks the fstests
# build, adds the users fstests expects, and runs the tests one `./check` per
# test, file system by file system (local.config holding that file system's
# section), going on after a failed test.
#
#   guest.sh TARBALL OUTDIR "FS..." [CHECK ARGS...]
#
# CHECK ARGS select the tests as for ./check (`-g quick`, `generic/001`, ...);
# each file system's list (`./check -n`) is written once to OUTDIR/FS.list.
# OUTDIR keeps fstests' results (RESULT_BASE: OUTDIR/FS/generic/001.full,
# .out.bad, .dmesg, .notrun), check's output of each test (.check.log) and
# the kernel log during it (.kmsg); OUTDIR/results.txt one line per test,
#   FS TEST pass|fail|notrun|crashed [REASON]
# and OUTDIR/current the test that is running ("FS TEST"), so that after a
# guest crash the host records it and boots again: a test with a line in
# results.txt is not run again. OUTDIR/finished is written when every test
# has a line.
#
#   FSTESTS_TEST_TIMEOUT=S  time one test may take (default 1800); a test still
#                           there a minute after being killed is stuck in the
#                           kernel: it is recorded as crashed and the guest
#                           powers off (exit 3) for a fresh boot
set -uo pipefail

tarball=$1 out=$2
read -ra filesystems <<<"$3"
shift 3
check_args=("$@")
test_timeout=${FSTESTS_TEST_TIMEOUT:-1800}
tree=/var/lib/xfstests
results=$out/results.txt

say() { echo "fstests-guest: $*"; }
die() {
	say "error: $*" >&2
	exit 2
}

[[ -b ${TEST_DEV:-} && -b ${SCRATCH_DEV:-} ]] || die "TEST_DEV and SCRATCH_DEV must name the pmem block devices"
mkdir -p "$out" "$TEST_DIR" "$SCRATCH_MNT" || die "cannot create $out, $TEST_DIR or $SCRATCH_MNT"
touch "$results"
rm -f "$out/finished"

# The tree, on the root file system (writable: a snapshot of the image).
start=$SECONDS
rm -rf "$tree"
mkdir -p "$(dirname "$tree")"
tar -C "$(dirname "$tree")" -xzf "$tarball" || die "cannot unpack $tarball"
[[ -x $tree/check ]] || die "$tarball holds no xfstests/check"
say "unpacked $tarball in $((SECONDS - start)) s"

# fstests' _scratch_mkfs_sized, _scratch_mkfs_blocksized and _scratch_mkfs_geom
# know only the file systems they name, and skip every test that uses them on
# others: add daxfs to them. As for ext4, mkfs takes the block count after the
# device. daxfs's blocks are 4096 bytes, so any other block size is "notrun";
# its only geometry is the one the DAX tests ask for (generic/413, 605: one
# stripe of the 2 MiB huge page size): it places a file's blocks in 2 MiB-aligned
# runs, one per 2 MiB of the file, so other geometries are "notrun" too.
add_daxfs_to_mkfs_helpers() {
	local rc=$tree/common/rc
	awk '
		function daxfs_case(indent, check, body) {
			print indent "daxfs)"
			print indent "\t" check
			print indent "\t" body
			print indent "\t;;"
			added++
		}
		held != "" {
			indent = held
			sub(/\*\)$/, "", indent)
			four_k = "[ \"$blocksize\" = 4096 ] || _notrun \"daxfs has 4096-byte blocks only\""
			if ($0 ~ /not supported in _scratch_mkfs_sized"/)
				daxfs_case(indent, four_k, "${MKFS_PROG} -t $FSTYP $MKFS_OPTIONS \"$@\" $SCRATCH_DEV $blocks")
			else if ($0 ~ /not supported in _scratch_mkfs_blocksized"/)
				daxfs_case(indent, four_k, "_scratch_mkfs")
			else if ($0 ~ /can.t mkfs \$FSTYP with geometry"/)
				daxfs_case(indent, "[ \"$blocksize\" = 4096 -a \"$sunit_bytes\" = 2097152 -a \"$swidth_mult\" = 1 ] ||",
					"\t_notrun \"daxfs aligns to one 2 MiB stripe only\"")
			print held
			held = ""
		}
		/^[ \t]*\*\)$/ { held = $0; next }
		{ print }
		END { exit added != 3 }' "$rc" >"$rc.daxfs" && mv "$rc.daxfs" "$rc"
}
add_daxfs_to_mkfs_helpers || die "cannot add daxfs to _scratch_mkfs_sized, _scratch_mkfs_blocksized and _scratch_mkfs_geom in $tree/common/rc"

# _require_names_are_bytes names the file systems whose names are any bytes but
# '/' and NUL: so are daxfs's (format::validate_name).
rc=$tree/common/rc
sed -i '/^_require_names_are_bytes()/,/^}/ s/ext2|ext3|ext4|f2fs|xfs|btrfs)/ext2|ext3|ext4|f2fs|xfs|btrfs|daxfs)/' "$rc"
sed -n '/^_require_names_are_bytes()/,/^}/p' "$rc" | grep -q '|daxfs)' ||
	die "cannot add daxfs to _require_names_are_bytes in $rc"

# _acl_get_max names the most entries an ACL may have on the file systems that
# have a limit, for generic/026: daxfs's is format::POSIX_ACL_MAX_ENTRIES (508,
# an ACL alone in an xattr block).
sed -i '/^_acl_get_max()/,/^}/ s/^\t\*)$/\tdaxfs)\n\t\techo 508\n\t\t;;\n\t*)/' "$tree/common/attr"
sed -n '/^_acl_get_max()/,/^}/p' "$tree/common/attr" | grep -q '^.daxfs)$' ||
	die "cannot add daxfs to _acl_get_max in $tree/common/attr"

# _filesystem_timestamp_range names each file system's timestamp bounds, for
# generic/402: daxfs stores 64-bit seconds (format::Timestamp) and sets no
# narrower s_time_min/s_time_max, so its bounds are the kernel's, as btrfs's.
sed -i '/^_filesystem_timestamp_range()/,/^}/ s/^\tocfs2)$/\tocfs2|daxfs)/' "$rc"
sed -n '/^_filesystem_timestamp_range()/,/^}/p' "$rc" | grep -q '^.ocfs2|daxfs)$' ||
	die "cannot add daxfs to _filesystem_timestamp_range in $rc"

# common/log probes the journal's state (clean or dirty) with each file system's
# own tool, for the shutdown tests (generic/052): daxfs's is the superblock's
# state word, which `daxfs-edit DEVICE --show` prints (format::STATE_DIRTY is 2).
log=$tree/common/log
sed -i '/^_require_logstate()/,/^}/ s/^    \*)$/    daxfs)\n\ttype -P daxfs-edit >\/dev\/null || _notrun "This test requires daxfs-edit."\n\t;;\n    *)/' "$log"
sed -i '/^_print_logstate()/,/^}/ s/^    \*)$/    daxfs)\n        dirty=$(_scratch_daxfs_logstate)\n        ;;\n    *)/' "$log"
cat >>"$log" <<'LOG'

_scratch_daxfs_logstate()
{
    if daxfs-edit $SCRATCH_DEV --show | tee -a $seqres.full | grep -qx "state=2"; then
        echo 1
    else
        echo 0
    fi
}
LOG
[[ $(sed -n '/^_require_logstate()/,/^}/p;/^_print_logstate()/,/^}/p' "$log" | grep -c '^    daxfs)$') == 2 ]] ||
	die "cannot add daxfs to _require_logstate and _print_logstate in $log"

# The loopback interface, which the guest leaves down: the lock tests
# (generic/131, ...) talk to a server over 127.0.0.1.
busybox ifconfig lo 127.0.0.1 up || die "cannot bring up the loopback interface"

# The users fstests' tests switch to (_require_user, _su): each with a home, a
# group and a shadow entry (changed today, so that su's account check passes).
today=$(($(date +%s) / 86400))
uid=2000
for user in fsgqa fsgqa2 123456-fsgqa; do
	uid=$((uid + 1))
	if ! grep -q "^$user:" /etc/passwd; then
		echo "$user:x:$uid:$uid::/home/$user:/bin/bash" >>/etc/passwd
		echo "$user:x:$uid:" >>/etc/group
		echo "$user:*:$today:0:99999:7:::" >>/etc/shadow
		[[ ! -f /etc/gshadow ]] || echo "$user:!::" >>/etc/gshadow
		mkdir -p "/home/$user"
		chown "$uid:$uid" "/home/$user"
	fi
done
echo /bin/true | su fsgqa || say "warning: su fsgqa does not work: the tests that need it will not run"

# The section of a file system: every variable set, so that none leaks from another.
section() {
	local fs=$1 mkfs_opts mount_opts
	case "$fs" in
	# -P: a root without the DAX flag, as on ext4 and XFS, which the per-file DAX tests
	# (generic/605-608) expect; -o dax=always makes every file DAX all the same.
	daxfs) mkfs_opts="-f -P" mount_opts="-o dax=always" ;;
	ext4) mkfs_opts='' mount_opts="-o dax" ;;
	xfs) mkfs_opts="-m reflink=0" mount_opts="-o dax=always" ;;
	*) die "no fstests section for file system '$fs' (daxfs, ext4 or xfs)" ;;
	esac
	cat <<-EOF
		[$fs]
		FSTYP=$fs
		TEST_DEV=$TEST_DEV
		TEST_DIR=$TEST_DIR
		SCRATCH_DEV=$SCRATCH_DEV
		SCRATCH_MNT=$SCRATCH_MNT
		MKFS_OPTIONS="$mkfs_opts"
		MOUNT_OPTIONS="$mount_opts"
		TEST_FS_MOUNT_OPTS="$mount_opts"

	EOF
}
export RESULT_BASE=$out
# check's marks ("run fstests TEST at ...") and ours must all reach the log.
echo on >/proc/sys/kernel/printk_devkmsg

unmount_all() {
	local m ok=0
	for m in "$TEST_DIR" "$SCRATCH_MNT"; do
		if mountpoint -q "$m"; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || ok=1
		fi
	done
	return $ok
}

# mkfs_test_dev FS: a new file system on TEST_DEV (each boot has fresh NVDIMMs).
mkfs_test_dev() {
	local opts=()
	case "$1" in
	daxfs) opts=(-f -P) ;;
	ext4) opts=(-F -q) ;;
	xfs) opts=(-f -q -m reflink=0) ;;
	esac
	unmount_all
	mkfs -t "$1" "${opts[@]}" "$TEST_DEV" >"/tmp/mkfs-$1.log" 2>&1 || {
		cat "/tmp/mkfs-$1.log" >&2
		die "mkfs -t $1 $TEST_DEV failed"
	}
}

has_result() { grep -q "^$1 $2 " "$results"; }

# record FS TEST STATUS REASON: one line in results.txt (REASON on one line).
record() {
	local reason
	reason=$(printf '%s' "$4" | tr '\n\t' '  ' | tr -s ' ' | sed 's/^[- ]*//; s/[; ]*$//' | cut -c1-300)
	echo "$1 $2 $3${reason:+ $reason}" >>"$results"
	: >"$out/current"
	say "$1 $2: $3${reason:+ ($reason)}"
}

# outcome TEST LOG NOTRUN_FILE: "STATUS REASON" from check's output. check
# prints "Passed all 1 tests" for a test it did not run too, so "Not run:"
# and "Failures:" come first, and a pass needs "Ran: TEST".
outcome() {
	local t=$1 log=$2 notrun=$3 re=" $1( |\$)"
	if grep -qE "^Not run:.*$re" "$log"; then
		echo "notrun $(tr '\n' ' ' <"$notrun" 2>/dev/null)"
	elif grep -qE "^Failures:.*$re" "$log"; then
		# The test's lines that are not an indented diff, up to the summary.
		echo "fail $(awk -v t="$t" '
			index($0, t) == 1 { on = 1; sub("^" t "[[:space:]]*([0-9]+s \\.\\.\\.)?[[:space:]]*", "") }
			/^Ran: / { on = 0 }
			on && !/^[[:space:]]/ && NF { printf "%s; ", $0 }' "$log")"
	elif grep -qE "^Ran:.*$re" "$log" && grep -q '^Passed all' "$log"; then
		echo pass
	else
		echo "fail check gave no result for it: $(grep -m1 -F "$t" "$log" || grep -v '^[[:space:]]*$' "$log" | tail -n1)"
	fi
}

# run_test FS TEST: one ./check for TEST, within test_timeout; returns 3 if it
# is stuck in the kernel (not gone a minute after its kill).
run_test() {
	local fs=$1 t=$2 pid rc deadline status reason
	local base=$out/$fs/$t
	mkdir -p "$(dirname "$base")"
	echo "$fs $t" >"$out/current"
	dmesg -C
	echo "fstests: $fs $t" >/dev/kmsg
	(cd "$tree" && exec timeout -k 60 "$test_timeout" ./check -s "$fs" "$t") >"$base.check.log" 2>&1 </dev/null &
	pid=$!
	deadline=$((SECONDS + test_timeout + 120))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 2
	done
	if kill -0 "$pid" 2>/dev/null; then
		dmesg >"$base.kmsg"
		record "$fs" "$t" crashed "stuck: still running $((test_timeout + 120)) s after it started, a minute after its kill; the guest reboots"
		return 3
	fi
	wait "$pid"
	rc=$?
	dmesg >"$base.kmsg"
	if ((rc == 124 || rc == 137)); then
		status=fail reason="timed out after $test_timeout s (FSTESTS_TEST_TIMEOUT)"
	else
		read -r status reason < <(outcome "$t" "$base.check.log" "$base.notrun")
	fi
	record "$fs" "$t" "$status" "$reason"
	if ! unmount_all; then
		say "cannot unmount after $fs $t: the guest reboots"
		return 3
	fi
}

for fs in "${filesystems[@]}"; do
	# One section at a time: ./check sets up (and mounts TEST_DEV) with the first section
	# of local.config before it looks at -s, which would mount another file system's
	# TEST_DEV with this one's type.
	section "$fs" >"$tree/local.config" || exit 2
	list=$out/$fs.list
	mkfs_done=0
	if [[ ! -f $list ]]; then
		mkfs_test_dev "$fs"
		mkfs_done=1
		(cd "$tree" && ./check -n -s "$fs" "${check_args[@]}") >"$out/$fs.list.log" 2>&1 </dev/null ||
			die "./check -n -s $fs ${check_args[*]} failed: $(tail -n 3 "$out/$fs.list.log")"
		grep -E '^[a-z0-9]+/[0-9]+( |$)' "$out/$fs.list.log" | grep -v '\[expunged\]' | awk '{ print $1 }' >"$list.tmp"
		mv "$list.tmp" "$list"
		say "$fs: $(wc -l <"$list") tests"
	fi
	while read -r t; do
		has_result "$fs" "$t" && continue
		if ((!mkfs_done)); then
			mkfs_test_dev "$fs"
			mkfs_done=1
		fi
		run_test "$fs" "$t" || exit $?
	done <"$list"
	unmount_all
done
touch "$out/finished"
say "every test has a result"
