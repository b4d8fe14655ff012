#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What applications rely on, checked on daxfs and, as the control, on ext4 -o
# dax in the same boot (a check that fails on ext4 is a broken check, and fails
# the test too), then those of file data on files in the page cache, on a
# device without DAX, on ext4 and on daxfs (which mounts it dax=never):
# - open(O_DIRECT) works, and so does I/O through it;
# - fsync of a directory (create, then fsync the directory);
# - sendfile and copy_file_range (splice_read and splice_write);
# - O_SYNC, O_DSYNC and RWF_DSYNC writes fsync what they wrote (counted with
#   the function tracer on vfs_fsync_range; a plain write makes no call);
# - RWF_NOWAIT: an overwrite works (without FMODE_NOWAIT it is EOPNOTSUPP), a
#   write that must grow the file gives EAGAIN;
# - a mapping that read a hole (and so mapped the zero page) sees what write(),
#   fallocate then write(), or zero range then write() put there;
# - bytes written through a mapping past the end of file, in its last page,
#   read as zeros once the file grows by write(), fallocate or zero range;
# - fallocate that grows a file past RLIMIT_FSIZE fails with EFBIG;
# - a truncate to the size or below frees blocks preallocated past the end of
#   file, one that grows the file keeps them (generic/092);
# - truncate(2), not just ftruncate(2), updates mtime and ctime (generic/313);
# - the inode flags can be read (FS_IOC_FSGETXATTR, FS_IOC_GETFLAGS): none set;
# - chattr +i and +a: what the file (or directory) refuses; the DAX flag
#   (FS_XFLAG_DAX) with noatime and nodump, inherited by new files and
#   directories; the flags last across a remount; statx reports them, and the
#   creation time;
# - read() updates the access time, and under relatime the first read of a
#   new file does;
# - O_TMPFILE: linkat names the file with its data; closed unnamed, it frees
#   its blocks;
# - on a full file system, a hole punched into an extent and a truncate succeed
#   (not repeated for files in the page cache: the extent map is the same);
# - preallocated blocks are unwritten extents (FIEMAP_EXTENT_UNWRITTEN): after
#   fallocate and after zero range; they read as zeros; a write() or a write
#   fault converts just the blocks it writes, zeroing the rest of each; and
#   SEEK_DATA skips them as it skips holes;
# - collapse range and insert range move the blocks after the range, also as a
#   mapping that had them mapped sees them; unaligned ranges, a collapse to
#   the end of file and an insert at it give EINVAL; collapses that close the
#   gaps inserts made leave as many extents as before (generic/064);
# - renameat2 with RENAME_EXCHANGE (files, a file and a directory across
#   directories: link counts and `..` follow) and RENAME_WHITEOUT (the old name
#   becomes a character device 0:0, as overlayfs needs);
# - file handles (name_to_handle_at, open_by_handle_at) of files and directories
#   decode with the caches dropped, reconnect directories through their parents,
#   and are stale once the file is gone or with another generation.
# The final fsck -n of daxfs also checks the moved directories' parents.
. "$(dirname "$0")/lib.sh"
st=/repo/target/release/daxfs-selftest

failures=()
checks_run=0
# check FS NAME CMD...: runs the check CMD in a fresh directory of the mounted
# FS; records a failure (with its output) rather than stopping.
check() {
	local fs=$1 name=$2 out
	shift 2
	# A new directory for each check, removed with the file system: rm -rf takes time under TCG.
	local dir=$SCRATCH_MNT/check.$((++checks_run))
	if out=$(mkdir "$dir" 2>&1 && cd "$dir" && "$@" 2>&1); then
		echo "ok: $fs: $name"
	else
		echo "FAIL: $fs: $name: $out"
		failures+=("$fs: $name")
	fi
}

# bytes_other_than_zero FILE OFFSET LENGTH: how many of the bytes are not 0.
nonzero() { dd if="$1" bs=1 skip="$2" count="$3" status=none | tr -d '\0' | wc -c; }
# first_bytes_of_mapping: the first bytes xfs_io's `mread -v` printed, as hex.
mapped_bytes() { grep -m1 -E '^[0-9a-f]+:' | awk '{print $2 $3 $4 $5}'; }

odirect() {
	xfs_io -f -d -c 'pwrite -q -S 0x42 0 64k' -c 'pread -q 0 64k' f || return 1
	[[ $(tr -d 'B' <f | wc -c) == 0 && $(stat -c %s f) == 65536 ]] || {
		echo "O_DIRECT write did not read back: $(od -An -tx1 f | head -n2)"
		return 1
	}
}

dir_fsync() {
	mkdir d && touch d/new && sync d && sync . || return 1
}

splice() {
	xfs_io -f -c 'pwrite -q -S 0x53 0 200k' src || return 1
	xfs_io -f -c 'sendfile -i src 0 204800' sent || return 1
	cmp src sent || return 1
	xfs_io -f -c 'copy_range src' copied || return 1
	cmp src copied
}

# fsync_calls CMD...: how many times vfs_fsync_range ran while CMD did.
fsync_calls() {
	local t=/sys/kernel/tracing
	echo 0 >"$t/tracing_on"
	echo vfs_fsync_range >"$t/set_ftrace_filter"
	echo function >"$t/current_tracer"
	echo >"$t/trace"
	echo 1 >"$t/tracing_on"
	"$@" >/dev/null
	echo 0 >"$t/tracing_on"
	local n
	n=$(grep -c 'vfs_fsync_range <-' "$t/trace" || true)
	# As the tests after this one expect it: no function tracer, tracing on.
	echo nop >"$t/current_tracer"
	echo >"$t/set_ftrace_filter"
	echo >"$t/trace"
	echo 1 >"$t/tracing_on"
	echo "$n"
}

sync_writes() {
	touch f
	local plain dsync osync rwf
	plain=$(fsync_calls xfs_io -c 'pwrite -q 0 4k' -c 'pwrite -q 4k 4k' f)
	dsync=$(fsync_calls dd if=/dev/zero of=f bs=4k count=3 oflag=dsync conv=notrunc status=none)
	osync=$(fsync_calls xfs_io -s -c 'pwrite -q 0 4k' -c 'pwrite -q 8k 4k' f)
	# xfs_io takes RWF_* flags for pwritev2 only (-V).
	rwf=$(fsync_calls xfs_io -c 'pwrite -q -V 1 -D 0 4k' -c 'pwrite -q -V 1 -D 16k 4k' f)
	echo "vfs_fsync_range calls: plain $plain, O_DSYNC $dsync, O_SYNC $osync, RWF_DSYNC $rwf"
	((plain == 0 && dsync >= 3 && osync >= 2 && rwf >= 2))
}

nowait() {
	xfs_io -f -c 'pwrite -q 0 8k' f || return 1
	# xfs_io takes RWF_* flags for pwritev2 only (-V); the VFS takes RWF_NOWAIT
	# writes with O_DIRECT only (EINVAL otherwise, on every file system). An
	# overwrite may work, or give EAGAIN if the times need an update that could
	# block; without FMODE_NOWAIT it is EOPNOTSUPP.
	local out
	out=$(xfs_io -d -c 'pwrite -q -V 1 -N 0 4k' f 2>&1) ||
		grep -q 'Resource temporarily unavailable' <<<"$out" || {
		echo "RWF_NOWAIT overwrite: '$out'"
		return 1
	}
	out=$(xfs_io -d -c 'pwrite -q -V 1 -N 8k 4k' f 2>&1)
	grep -q 'Resource temporarily unavailable' <<<"$out" || {
		echo "RWF_NOWAIT extending write did not give EAGAIN: '$out'"
		return 1
	}
	[[ $(stat -c %s f) == 8192 ]]
}

# hole_mapping HOW: maps a hole, reads it through the mapping (the zero page),
# fills it by HOW (write, falloc, zero), writes 0x61 with pwrite and reads the
# mapping again.
hole_mapping() {
	local fill=()
	case $1 in
	falloc) fill=(-c 'falloc 0 64k') ;;
	zero) fill=(-c 'fzero 0 64k') ;;
	esac
	local out
	out=$(xfs_io -f -c 'truncate 64k' -c 'mmap -r 0 64k' -c 'mread 0 64k' "${fill[@]}" \
		-c 'pwrite -q -S 0x61 0 64k' -c 'mread -v 0 16' f) || return 1
	[[ $(mapped_bytes <<<"$out") == 61616161 ]] || {
		echo "the mapping reads $(mapped_bytes <<<"$out") after $1 and pwrite of 0x61"
		return 1
	}
}

# expect_kinds FILE SECTOR:KIND...: in FILE's extent_map, each SECTOR lies in
# a range of KIND. (Exact maps differ: ext4 zeroes and converts up to 32 KiB of
# an unwritten extent around a write rather than split it.)
expect_kinds() {
	local file=$1 map spec range sector kind found
	shift
	map=$(extent_map "$file")
	for spec in "$@"; do
		sector=${spec%:*} kind=${spec#*:} found=
		for range in $map; do
			local first=${range%%-*} rest=${range#*-}
			local last=${rest%%:*}
			((sector < first || sector > last)) || found=${range##*:}
		done
		[[ $found == "$kind" ]] || {
			echo "sector $sector of $file is '${found:-beyond the map}', expected $kind; block map: $map"
			return 1
		}
	done
}

# expect_bytes FILE SPEC...: FILE must hold exactly what the SPECs say, in
# order: LEN:HEX for LEN bytes of value 0xHEX.
expect_bytes() {
	local file=$1 spec off=0 cmds=(-c 'truncate 0')
	shift
	for spec in "$@"; do
		cmds+=(-c "pwrite -q -S 0x${spec#*:} $off ${spec%:*}")
		off=$((off + ${spec%:*}))
	done
	xfs_io -f "${cmds[@]}" /tmp/expected_bytes && cmp -s "$file" /tmp/expected_bytes || {
		echo "$file does not read as $*: $(od -An -tx1 -v "$file" | sort | uniq -c | head -n 5)"
		return 1
	}
}

unwritten_prealloc() {
	fallocate -l 64k f || return 1
	expect_kinds f 0:unwritten 127:unwritten && expect_bytes f 65536:00
}

unwritten_write() {
	fallocate -l 1M f && xfs_io -c 'pwrite -q -S 0x61 524388 100' f || return 1
	expect_kinds f 1024:data 0:unwritten 2047:unwritten &&
		expect_bytes f 524388:00 100:61 524088:00
}

unwritten_fault() {
	fallocate -l 1M f && xfs_io -c 'mmap -w 0 1M' -c 'mwrite -S 0x62 524390 10' -c 'msync 0 1M' f ||
		return 1
	expect_kinds f 1024:data 0:unwritten 2047:unwritten &&
		expect_bytes f 524390:00 10:62 524176:00
}

unwritten_zero_range() {
	xfs_io -f -c 'pwrite -q -S 0x63 0 1M' -c 'fzero 4096 520192' f || return 1
	expect_kinds f 0:data 8:unwritten 1023:unwritten 1024:data &&
		expect_bytes f 4096:63 520192:00 524288:63
}

# SEEK_DATA from 0 skips the unwritten start of the file (not necessarily all
# of it: see expect_kinds), and SEEK_HOLE from the data finds the unwritten rest.
unwritten_seek() {
	fallocate -l 1M f && xfs_io -c 'pwrite -q 524288 4096' f || return 1
	local out data hole
	out=$(xfs_io -c 'seek -d 0' -c 'seek -h 524288' f) || return 1
	data=$(awk '$1 == "DATA" {print $2}' <<<"$out")
	hole=$(awk '$1 == "HOLE" {print $2}' <<<"$out")
	((data > 0 && data <= 524288 && hole > 524288 && hole < 1048576)) || {
		echo "SEEK_DATA from 0, SEEK_HOLE from 524288: $out"
		return 1
	}
}

# blocks_file F N: F holds N blocks, block i filled with byte 0x41 + i.
blocks_file() {
	local i
	for ((i = 0; i < $2; i++)); do echo "pwrite -q -S $((0x41 + i)) $((i * 4096)) 4096"; done |
		xfs_io -f "$1" >/dev/null
}

# shift_check BLOCKS CMD AT WANT SIZE SPEC...: a file of BLOCKS blocks
# (blocks_file), mapped and read through the mapping, then xfs_io's CMD; the
# mapping must then read WANT (4 bytes, hex) at AT, the size be SIZE and the
# file hold what the SPECs say (expect_bytes).
shift_check() {
	local blocks=$1 cmd=$2 at=$3 want=$4 size=$5 out
	shift 5
	blocks_file f "$blocks" || return 1
	out=$(xfs_io -c "mmap -r 0 $((blocks * 4096))" -c "mread 0 $((blocks * 4096))" -c "$cmd" \
		-c "mread -v $at 16" f) || return 1
	[[ $(mapped_bytes <<<"$out") == "$want" ]] || {
		echo "after $cmd the mapping reads $(mapped_bytes <<<"$out") at $at, expected $want"
		return 1
	}
	[[ $(stat -c %s f) == "$size" ]] || {
		echo "size $(stat -c %s f) after $cmd, expected $size"
		return 1
	}
	expect_bytes f "$@"
}

# Blocks 1-2 of 8 removed: the old block 3 is block 1.
collapse_range() {
	shift_check 8 'fcollapse 4096 8192' 4096 44444444 24576 4096:41 4096:44 4096:45 4096:46 4096:47 4096:48
}

# 2 blocks inserted at block 1 of 4: the old block 1 is block 3, after a hole.
insert_range() {
	shift_check 4 'finsert 4096 8192' 12288 42424242 24576 4096:41 8192:00 4096:42 4096:43 4096:44 &&
		expect_kinds f 7:data 8:hole 23:hole 24:data
}

shift_errors() {
	blocks_file f 4 || return 1
	local how out
	for how in "-c -o 1000 -l 4096" "-c -o 0 -l 1000" "-c -o 4096 -l 12288" "-c -o 0 -l 16384" \
		"-i -o 16384 -l 4096" "-i -o 4096 -l 100"; do
		# shellcheck disable=SC2086 # the options are words
		if out=$(fallocate $how f 2>&1) || ! grep -q "Invalid argument" <<<"$out"; then
			echo "fallocate $how on a 16 KiB file: '$out', expected EINVAL"
			return 1
		fi
	done
	expect_bytes f 4096:41 4096:42 4096:43 4096:44
}

# shift_merge: the fstests generic/064 shape. A 100-block file gets a block inserted
# before every other block, then the 50 inserted blocks collapsed again: it has as
# many extents as before (ext4 may lay the file out in more than one), and its bytes.
shift_merge() {
	xfs_io -f -c 'pwrite -q -S 0x47 0 400k' -c fsync f || return 1
	cp f ref
	local j before after
	count() { xfs_io -c fiemap f | grep -c '^[[:space:]]*[0-9]*: \[[0-9]*\.\.[0-9]*\]: [0-9]'; }
	before=$(count)
	# One xfs_io for each series: a process each costs a third of a second under TCG.
	for ((j = 0; j < 50; j++)); do echo "finsert $((j * 8192)) 4096"; done | xfs_io f || return 1
	for ((j = 0; j < 50; j++)); do echo "fcollapse $((j * 4096)) 4096"; done | xfs_io f || return 1
	after=$(count)
	((after == before)) || { echo "$after extents after inserts and collapses, $before before: $(xfs_io -c fiemap f | sed -n 1,8p)"; return 1; }
	cmp -s f ref || { echo "the bytes changed"; return 1; }
}

# The inode flags of files and directories can be read (FS_IOC_FSGETXATTR,
# which `xfs_io -c stat` uses, and FS_IOC_GETFLAGS, lsattr's): none is set.
inode_flags() {
	touch f && mkdir d || return 1
	xfs_io -c stat f | grep -qx 'fsxattr.xflags = 0x0 \[[-]*\]' || { xfs_io -c stat f; return 1; }
	xfs_io -c stat d | grep -qx 'fsxattr.xflags = 0x0 \[[-]*\]' || { xfs_io -c stat d; return 1; }
	lsattr f >/dev/null && lsattr -d d >/dev/null
}

# has_attr FILE LETTER: lsattr shows attribute LETTER on FILE.
has_attr() { lsattr -d "$1" | awk '{print $1}' | grep -q "$2"; }
# refused WHAT CMD...: CMD must fail.
refused() {
	local what=$1
	shift
	if "$@" 2>/dev/null; then
		echo "$what of an immutable or append-only file succeeded"
		return 1
	fi
}

# chattr +i: the file cannot be written, truncated, renamed, linked, removed or
# preallocated, and nothing can be created in an immutable directory; -i lifts it.
immutable() {
	echo data >f && mkdir d && chattr +i f d || return 1
	has_attr f i || { echo "lsattr: $(lsattr f)"; return 1; }
	refused append sh -c 'echo more >>f' && refused truncate truncate -s 0 f &&
		refused rename mv f g && refused link ln f h && refused unlink rm -f f &&
		refused fallocate xfs_io -c 'falloc 0 8k' f && refused create touch d/x &&
		refused chmod chmod 600 f || return 1
	[[ $(cat f) == data ]] || { echo "the immutable file changed"; return 1; }
	chattr -i f d && rm f && rmdir d
}

# chattr +a: the file can only be appended to.
append_only() {
	echo data >f && chattr +a f || return 1
	has_attr f a || { echo "lsattr: $(lsattr f)"; return 1; }
	echo more >>f || { echo "an append failed"; return 1; }
	refused overwrite xfs_io -c 'pwrite 0 4' f && refused truncate truncate -s 0 f &&
		refused unlink rm -f f && refused rename mv f g || return 1
	[[ $(cat f) == $'data\nmore' ]] || { echo "the append-only file reads '$(cat f)'"; return 1; }
	chattr -a f && rm f
}

# The DAX flag (`xfs_io -c 'chattr +x'`, FS_XFLAG_DAX) is stored on files and
# directories, and new files and directories inherit it from theirs; so do
# noatime and nodump.
dax_flag_inherited() {
	mkdir d && xfs_io -c 'chattr +x' d && chattr +dA d || return 1
	touch d/f && mkdir d/s || return 1
	local x
	for x in d d/f d/s; do
		xfs_io -c stat "$x" | grep -q '^fsxattr.xflags = 0x.*x' || { echo "$x: $(xfs_io -c stat "$x" | grep xflags)"; return 1; }
		has_attr "$x" d && has_attr "$x" A || { echo "$x: $(lsattr -d "$x")"; return 1; }
	done
	xfs_io -c 'chattr -x' d/f || return 1
	! xfs_io -c stat d/f | grep -q '^fsxattr.xflags = 0x.*x' || { echo "chattr -x left the flag"; return 1; }
}

# truncate(2), which unlike ftruncate(2) asks for no time change, updates the
# modification and change times when the size changes (generic/313).
truncate_times() {
	local dir c1
	echo data >f || return 1
	for dir in down up; do
		touch -m -d @1577836800 f && c1=$(stat -c %Z f) && sleep 1 || return 1
		perl -e 'truncate("f", $ARGV[0] eq "down" ? 0 : 8192) or die "truncate(2): $!\n"' "$dir" ||
			return 1
		(($(stat -c %Y f) > 1577836800 && $(stat -c %Z f) > c1)) || {
			echo "after truncate(2) $dir: mtime $(stat -c %Y f), ctime $(stat -c %Z f) (was $c1)"
			return 1
		}
	done
}

# statx reports the creation time and the append-only, immutable and nodump
# attributes (generic/424).
statx_attributes() {
	touch f && chattr +ad f || return 1
	local out attrs btime
	out=$(xfs_io -r -c 'statx -r -m 0xfff' f)
	attrs=$(awk '/^stat.attributes = / {print $3}' <<<"$out")
	btime=$(awk '/^stat.btime.tv_sec = / {print $3}' <<<"$out")
	chattr -a f
	# Both: append-only (0x20) and nodump (0x40).
	(((attrs & 0x60) == 0x60)) && ((btime > 1577836800)) ||
		{ echo "statx: attributes '$attrs', btime '$btime'"; return 1; }
}

# A truncate to the size or below frees the blocks preallocated past the end of
# file; one that grows the file keeps them (generic/092).
grow_keeps_prealloc() {
	xfs_io -f -c 'falloc -k 0 40k' -c 'pwrite -q 0 20k' -c 'truncate 20k' f || return 1
	[[ $(extent_map f) == "0-39:data" ]] || { echo "after a truncate to the size: $(extent_map f)"; return 1; }
	xfs_io -c 'falloc -k 20k 20k' -c 'truncate 28k' f || return 1
	[[ $(extent_map f) == "0-39:data 40-79:unwritten" ]] || { echo "after a truncate up: $(extent_map f)"; return 1; }
}

# past_eof HOW: a 100-byte file whose last page gets 0x58 through a mapping,
# past the end of file too; then the file grows by HOW; bytes 100..3999 must
# read as zeros.
past_eof() {
	xfs_io -f -c 'pwrite -q -S 0x41 0 100' -c 'mmap 0 4k' -c 'mwrite -S 0x58 0 4k' \
		-c 'munmap' f || return 1
	case $1 in
	write) xfs_io -c 'pwrite -q -S 0x42 4000 96' f ;;
	falloc) xfs_io -c 'falloc 0 8k' f ;;
	zero) xfs_io -c 'fzero 4000 96' f ;;
	truncate) xfs_io -c 'truncate 8k' f ;;
	esac || return 1
	local stale
	stale=$(nonzero f 100 3900)
	((stale == 0)) || {
		echo "after growing by $1, $stale bytes past the old end read as written through the mapping"
		return 1
	}
}

fsize_limit() {
	local out
	out=$(
		trap '' XFSZ
		ulimit -f 1024
		fallocate -l 2M f 2>&1
	) && {
		echo "fallocate of 2 MiB under a 1 MiB RLIMIT_FSIZE succeeded"
		return 1
	}
	grep -q 'File too large' <<<"$out" || {
		echo "fallocate failed with '$out', not EFBIG"
		return 1
	}
	[[ ! -s f ]]
}

atime() {
	echo data >f
	touch -a -d '2 days ago' f
	cat f >/dev/null
	local now
	now=$(date +%s)
	(($(stat -c %X f) >= now - 60)) || {
		echo "read() left the access time at $(stat -c %x f)"
		return 1
	}
}

# File leases (fcntl F_SETLEASE, fstests generic/571), which the VFS grants only
# where the file system asks for them (->setlease).
leases() {
	echo data >f
	"$st" lease f
}

# File handles (name_to_handle_at, open_by_handle_at; what NFS export needs, and
# fstests generic/426, 467 and 477), decoded with the inodes and dentries
# dropped from the caches: a file opens with its data; a directory is
# reconnected to its path through its parents, also after a rename; a
# connectable handle of a file gives its path; a handle of a removed file, or
# with another generation, is stale (ESTALE); one of a file unlinked while open
# is not; generations are random.
file_handles() {
	mkdir -p a/b/c && echo data >a/b/c/f && echo gone >g && echo open >o || return 1
	local hf hd hc hg ho out
	hf=$("$st" handle a/b/c/f) && hd=$("$st" handle a/b/c) &&
		hc=$("$st" handle a/b/c/f connectable) && hg=$("$st" handle g) &&
		ho=$("$st" handle o) || return 1
	exec 7<o
	rm g o
	# Written back first: the caches keep dirty inodes.
	sync && echo 3 >/proc/sys/vm/drop_caches
	# expect_handle HANDLE LINE [bump-generation]: open_by_handle_at prints LINE.
	expect_handle() {
		out=$("$st" open-handle "$SCRATCH_MNT" "$1" ${3:-}) || return 1
		grep -qxF "$2" <<<"$out" || {
			echo "handle $1${3:+ ($3)}: expected '$2', got: $out"
			return 1
		}
	}
	# Another generation, with the inode read from the device, then cached.
	expect_handle "$hf" "error: ESTALE" bump-generation &&
		expect_handle "$hf" "data: data" &&
		expect_handle "$hf" "error: ESTALE" bump-generation &&
		expect_handle "$hd" "path: $PWD/a/b/c" &&
		expect_handle "$hc" "path: $PWD/a/b/c/f" &&
		expect_handle "$hg" "error: ESTALE" &&
		expect_handle "$ho" "data: open" || return 1
	exec 7<&-
	mv a/b/c a/c2
	sync && echo 3 >/proc/sys/vm/drop_caches
	expect_handle "$hd" "path: $PWD/a/c2" &&
		expect_handle "$hc" "path: $PWD/a/c2/f" || return 1
	# Generations are random, as ext4 and XFS make them, so that handles cannot be
	# guessed: four new files have four (the handle's second word).
	local i h gens=()
	for i in 1 2 3 4; do
		touch "n$i" && h=$("$st" handle "n$i") || return 1
		h=${h#*:}
		gens+=("${h:8:8}")
	done
	[[ $(printf '%s\n' "${gens[@]}" | sort -u | wc -l) == 4 ]] || {
		echo "the generations of four new files: ${gens[*]}"
		return 1
	}
}

# Under relatime (the default), the first read of a file just created and
# written updates its access time, and a second read does not (fstests
# generic/003). The times the file system sets at creation must come from the
# VFS's clock: from a finer one, the access time is a little after the
# modification time the write sets, and relatime never updates it.
relatime() {
	findmnt -n -o OPTIONS "$SCRATCH_MNT" | grep -qw relatime || {
		echo "not mounted relatime: $(findmnt -n -o OPTIONS "$SCRATCH_MNT")"
		return 1
	}
	local i f before=()
	for i in 1 2 3 4 5; do echo data >"r$i"; done
	for i in 1 2 3 4 5; do before+=("$(stat -c %x "r$i")"); done
	sleep 1.1
	for i in 1 2 3 4 5; do
		f=r$i
		cat "$f" >/dev/null
		[[ $(stat -c %x "$f") != "${before[i - 1]}" ]] || {
			echo "the first read of $f left its access time at ${before[i - 1]} (mtime $(stat -c %y "$f"))"
			return 1
		}
	done
	before=("$(stat -c %x r1)")
	sleep 1.1
	cat r1 >/dev/null
	[[ $(stat -c %x r1) == "${before[0]}" ]] || {
		echo "a second read under relatime changed the access time"
		return 1
	}
}

# O_TMPFILE: a file opened without a name, written, then named by linkat keeps
# its data and has one link; one closed without a name gives its blocks back.
tmpfile() {
	xfs_io -T -c 'pwrite -q -S 0x5a 0 65536' -c 'flink named' . || return 1
	[[ $(stat -c %h:%s named) == 1:65536 ]] || {
		echo "the linked O_TMPFILE file has links:size $(stat -c %h:%s named), not 1:65536"
		return 1
	}
	cmp -s named <(head -c 65536 /dev/zero | tr '\0' Z) || {
		echo "the linked O_TMPFILE file lost its data"
		return 1
	}
	local free_before free_after
	sync
	free_before=$(stat -f -c %f .)
	xfs_io -T -c 'pwrite -q -b 1m 0 4m' . || return 1
	sync
	free_after=$(stat -f -c %f .)
	((free_after >= free_before - 16)) || {
		echo "an O_TMPFILE file of 4 MiB closed without a name kept $((free_before - free_after)) blocks"
		return 1
	}
	[[ -z $(ls -A . | grep -v '^named$') ]] || {
		echo "an O_TMPFILE file got a name of its own: $(ls -A .)"
		return 1
	}
}

# On a full file system a hole punched into the middle of an extent (one
# extent becomes two: the extent map may need a block) and a truncate succeed:
# removing data never fails with ENOSPC. 600 extents fill more than one leaf
# of daxfs's tree and of ext4's.
full_fs_removal() {
	local rc=0
	fill_then_remove || rc=$?
	# Whatever failed: the next checks need the space.
	rm -f fill fill2 fill3 more
	return $rc
}
fill_then_remove() {
	local i cmds=()
	for ((i = 0; i < 600; i++)); do
		cmds+=(-c "pwrite -q -b 12288 -S $((i % 250 + 1)) $((16384 * i)) 12288")
	done
	xfs_io -f "${cmds[@]}" runs || return 1
	fallocate -l 1G fill 2>/dev/null
	dd if=/dev/zero of=fill2 bs=1M 2>/dev/null
	dd if=/dev/zero of=fill3 bs=4k 2>/dev/null
	if xfs_io -f -c 'pwrite -q 0 4k' more 2>/dev/null; then
		echo "the file system did not fill up"
		return 1
	fi
	for i in 10 11 12 100 150 207 300 301 450 599; do
		xfs_io -c "fpunch $((16384 * i + 4096)) 4096" runs || {
			echo "punching a hole into extent $i of 600 failed on a full file system"
			return 1
		}
	done
	[[ $(od -An -tu1 -j $((16384 * 599 + 8192)) -N1 runs | tr -d ' ') == $((599 % 250 + 1)) ]] || {
		echo "extent 599 reads back wrong after the hole punched into it"
		return 1
	}
	truncate -s $((16384 * 200 + 4096)) runs || {
		echo "truncate failed on a full file system"
		return 1
	}
}

rename_exchange() {
	mkdir -p a/sub b && echo A >a/f && echo B >b/g || return 1
	"$st" rename2 a/f b/g exchange || return 1
	[[ $(cat a/f) == B && $(cat b/g) == A ]] || {
		echo "the files' contents were not swapped"
		return 1
	}
	"$st" rename2 a/sub b/g exchange || return 1
	[[ -d b/g && -f a/sub && $(cat a/sub) == A ]] || {
		echo "a directory and a file were not exchanged: $(ls -l a b)"
		return 1
	}
	[[ $(stat -c %h a) == 2 && $(stat -c %h b) == 3 ]] || {
		echo "link counts after the directory moved from a to b: a $(stat -c %h a), b $(stat -c %h b)"
		return 1
	}
	[[ $(stat -c %i b/g/..) == "$(stat -c %i b)" ]] || {
		echo "b/g/.. is not b"
		return 1
	}
	local out
	out=$("$st" rename2 a/sub a/missing exchange 2>&1) && {
		echo "exchange with a missing name succeeded"
		return 1
	}
	grep -q ENOENT <<<"$out" || {
		echo "exchange with a missing name: $out"
		return 1
	}
}

rename_whiteout() {
	echo W >w
	"$st" rename2 w w2 whiteout || return 1
	[[ $(cat w2) == W ]] || return 1
	[[ $(stat -c '%F %t:%T' w) == 'character special file 0:0' ]] || {
		echo "the old name is $(stat -c '%F %t:%T' w), not a whiteout"
		return 1
	}
}

# run_checks FS [data]: every check, or with "data" only those of file data (for
# files in the page cache, where the namespace and the attribute flags work as
# for DAX files).
run_checks() {
	local fs=$1 scope=${2:-all}
	check "$fs" "O_DIRECT" odirect
	[[ $scope == data ]] || check "$fs" "directory fsync" dir_fsync
	check "$fs" "sendfile, copy_file_range" splice
	check "$fs" "O_SYNC, O_DSYNC, RWF_DSYNC" sync_writes
	check "$fs" "RWF_NOWAIT" nowait
	for how in write falloc zero; do
		check "$fs" "mapped hole, then $how and pwrite" hole_mapping "$how"
	done
	for how in write falloc zero truncate; do
		check "$fs" "mapped bytes past EOF, then growth by $how" past_eof "$how"
	done
	check "$fs" "fallocate past RLIMIT_FSIZE" fsize_limit
	check "$fs" "a truncate up keeps blocks preallocated past the end" grow_keeps_prealloc
	[[ $scope == data ]] || check "$fs" "truncate(2) updates mtime and ctime" truncate_times
	[[ $scope == data ]] || check "$fs" "inode flags can be read" inode_flags
	[[ $scope == data ]] || check "$fs" "chattr +i" immutable
	[[ $scope == data ]] || check "$fs" "chattr +a" append_only
	[[ $scope == data ]] || check "$fs" "statx: the creation time and the attributes" statx_attributes
	[[ $scope == data ]] || check "$fs" "the DAX flag and what new files inherit" dax_flag_inherited
	[[ $scope == data ]] || check "$fs" "read updates atime" atime
	[[ $scope == data ]] || check "$fs" "relatime: the first read of a new file updates atime" relatime
	[[ $scope == data ]] || check "$fs" "file leases (F_SETLEASE)" leases
	[[ $scope == data ]] || check "$fs" "file handles (open_by_handle_at)" file_handles
	check "$fs" "O_TMPFILE, then linkat" tmpfile
	[[ $scope == data ]] || check "$fs" "RENAME_EXCHANGE" rename_exchange
	[[ $scope == data ]] || check "$fs" "RENAME_WHITEOUT" rename_whiteout
	# The extent map is the same for files in the page cache; on a device without DAX each
	# allocation costs synchronous bios, and filling it takes a minute under TCG.
	[[ $scope == data ]] || check "$fs" "hole punch and truncate on a full file system" full_fs_removal
	check "$fs" "fallocate makes unwritten extents" unwritten_prealloc
	check "$fs" "write() converts the blocks it writes" unwritten_write
	check "$fs" "a write fault converts its block" unwritten_fault
	check "$fs" "zero range makes unwritten extents" unwritten_zero_range
	check "$fs" "SEEK_DATA and SEEK_HOLE over unwritten extents" unwritten_seek
	check "$fs" "collapse range, also under a mapping" collapse_range
	check "$fs" "insert range, also under a mapping" insert_range
	# The argument checks are the same for files in the page cache.
	[[ $scope == data ]] || check "$fs" "collapse and insert range: EINVAL cases" shift_errors
	check "$fs" "collapses that close the gaps of inserts leave the extents as before" shift_merge
}

mkfs.ext4 -q -F -b 4096 "$SCRATCH_DEV"
mount -t ext4 -o dax "$SCRATCH_DEV" "$SCRATCH_MNT"
run_checks ext4-dax
umount "$SCRATCH_MNT"

# Without the DAX flag on the root (-P), as on ext4, so that new files have no
# flag either; dax=always, so that they use DAX all the same.
export DAXFS_MOUNT_OPTS=dax=always
mount_fresh "$SCRATCH_DEV" "$SCRATCH_MNT" -P
run_checks daxfs
# The attribute flags last across a remount (fsck checks them too).
mkdir "$SCRATCH_MNT/attrs" && echo x >"$SCRATCH_MNT/attrs/f"
chattr +a "$SCRATCH_MNT/attrs/f" && xfs_io -c 'chattr +x' "$SCRATCH_MNT/attrs"
remount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
if has_attr "$SCRATCH_MNT/attrs/f" a && xfs_io -c stat "$SCRATCH_MNT/attrs" | grep -q '^fsxattr.xflags = 0x.*x'; then
	echo "ok: daxfs: the attribute flags last across a remount"
else
	failures+=("daxfs: the attribute flags were lost at a remount: $(lsattr -d "$SCRATCH_MNT/attrs/f" "$SCRATCH_MNT/attrs")")
fi
chattr -a "$SCRATCH_MNT/attrs/f"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"

# The checks of file data on files in the page cache, on a device without DAX (a loop device
# over the scratch pmem): on ext4 as the control, then on daxfs, which mounts it dax=never.
# (vm/dax-modes runs the tests of file data with dax=never on pmem.)
loop=$(losetup -f --show --direct-io=on "$SCRATCH_DEV")
mkfs.ext4 -q -F -b 4096 "$loop"
mount -t ext4 "$loop" "$SCRATCH_MNT"
run_checks ext4-nodax data
umount "$SCRATCH_MNT"
dd if=/dev/zero of="$loop" bs=1M count=$(($(blockdev --getsize64 "$loop") >> 20)) oflag=direct status=none
unset DAXFS_MOUNT_OPTS
# No option: dax=never there (vm/block-device checks the mode and that no file uses DAX).
mount_fresh "$loop" "$SCRATCH_MNT" -P
run_checks daxfs-nodax data
umount_checked "$loop" "$SCRATCH_MNT"
losetup -d "$loop"

((${#failures[@]} == 0)) || fail "${#failures[@]} failed: ${failures[*]}"
echo "ok: daxfs behaves as ext4 -o dax in every check, and as ext4 on a device without DAX"
