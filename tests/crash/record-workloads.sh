#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-guest part of the crash-state explorer (`make crashtest`): runs each
# workload on the scratch pmem device with the module's store recorder on, and
# keeps what the host needs to rebuild its crash states.
#
#   record-workloads.sh OUTDIR [WORKLOAD...]     (default: every workload)
#   record-workloads.sh --list | --list-pairable
#
# A WORKLOAD named A+B runs workload A, then B: a pair, as the ACE workload
# generator makes them. --list lists the workloads, --list-pairable those a
# pair may use.
#
# Each workload starts from the fuzzer's pristine image (`daxfs-fuzz --seed 0`:
# directories, files with holes and extent-overflow blocks, symlinks, device
# nodes, a hard link), mounted and unmounted once so that its orphans are
# reclaimed. Then, for all but `mount`, it is mounted again; the image as it
# is then (O_DIRECT reads of the device, which daxfs writes directly) is
# OUTDIR/NAME/base.img, and the stores and fences of the workload's commands,
# from /sys/kernel/debug/daxfs/crashlog, are OUTDIR/NAME/store.log; the image
# right after them is OUTDIR/NAME/after.img. File data never enters the log,
# only metadata does: the workloads write zeros, which is what newly allocated
# blocks already hold (and unwritten blocks once converted, a zeroing that is
# logged), so that the log replayed on base.img must give after.img exactly
# (`daxfs-crashtest --replay-only` checks it).
set -euo pipefail

# The workloads: NAME and the shell command it runs in the mounted image, one
# system call that changes metadata each (so that after a crash each object
# must be as before the workload or as after it; `dd` writes with one write()).
# They run in this shell: `last-close` closes a descriptor it holds. `mount`,
# `umount`, `remount-ro` and `remount-rw` are handled by name.
declare -A run=(
	[create]=': >new'
	[mkdir]='mkdir newdir'
	[mknod]='mknod newfifo p'
	[symlink]='ln -s dir/subdir/big newlink'
	[symlink-long]='ln -s "$(printf "y%.0s" {1..300})" newlink'
	[link]='ln file newlink'
	[unlink]='rm f03'
	[unlink-last-link]='rm dir/subdir/big'
	[rmdir]='rmdir empty'
	[rename]='mv f01 f01-renamed'
	[rename-across]='mv f02 dir/f02'
	[rename-dir-across]='mv dir/subdir empty/'
	[rename-over-file]='mv -T f04 f05'
	[rename-over-dir]='mv -T dir/subdir empty'
	# mv -n renames with RENAME_NOREPLACE (tests/guest/t-tree-ops.sh checks it does).
	[rename-noreplace]='mv -n f06 f06-new'
	# renameat2 flags: a file and a directory swap across directories (both
	# directories' link counts and the directory's parent change), and a move
	# that leaves a whiteout inode at the old name.
	[rename-exchange]='/repo/target/release/daxfs-selftest rename2 f07 dir/subdir exchange'
	[rename-whiteout]='/repo/target/release/daxfs-selftest rename2 f11 f11-moved whiteout'
	[chmod]='chmod 600 file'
	[chown]='chown 1000:1000 file'
	[utimes]='touch -m -d @1000000000 file'
	# FS_IOC_SETFSLABEL: the label and the superblock's checksum in one transaction.
	[label]="xfs_io -c 'label -s crash-label' ."
	# Extended attributes: file's first (its xattr block allocated), one of prealloc's
	# three replaced (the block rewritten in place), and dir's only one removed (the block
	# freed).
	[setxattr]='setfattr -n user.new -v "a new value" file'
	[setxattr-replace]='setfattr -n user.one -v "a longer replacement value" prealloc'
	[removexattr-last]='setfattr -x trusted.overlay.opaque dir'
	# POSIX ACLs: file's first ACL, which changes its mode in the same transaction, and
	# nodes created in dir/subdir, whose default ACL names a user: a file gets an access ACL
	# and a directory both, in an xattr block written with the inode.
	[setfacl]='setfacl -m u:1000:rw file'
	[create-inherit]=': >dir/subdir/inherited'
	[mkdir-inherit]='mkdir dir/subdir/inherited-dir'
	[truncate-down]='truncate -s 4096 file'
	[truncate-up]='truncate -s 1000000 file'
	[truncate-zero-big]='truncate -s 0 dir/subdir/big'
	[fallocate]='fallocate -o 0 -l 65536 f08'
	[fallocate-keep-size]='fallocate -n -o 0 -l 65536 f09'
	[punch-hole]='fallocate -p -o 4096 -l 8192 dir/subdir/big'
	[zero-range]='fallocate -z -o 0 -l 16384 file'
	[write-allocating]='dd if=/dev/zero of=dir/sparse bs=8192 seek=50 count=1 conv=notrunc status=none'
	[write-extending]='dd if=/dev/zero of=f10 bs=12288 count=1 conv=notrunc status=none'
	[write-fault]="xfs_io -c 'mmap -w 0 8192' -c 'mwrite -S 0 4096 4096' dir/sparse"
	# prealloc's blocks 2 and 3 are unwritten, over a pattern: a write and a write fault
	# each convert one, zeroing it first (the zeroing is in the log).
	[write-unwritten]='dd if=/dev/zero of=prealloc bs=4096 seek=2 count=1 conv=notrunc status=none'
	[write-fault-unwritten]="xfs_io -c 'mmap -w 0 16384' -c 'mwrite -S 0 12288 4096' prealloc"
	# The extent tree of big (extents at blocks 0, 2, ..., 18: six inline, four in an
	# overflow block): a block into a hole of the overflow block, a cut out of it, a cut
	# of an inline extent (the inline leaf takes the overflow block's first), and a
	# truncate into it; each rewrites the overflow block in place.
	[write-into-chain]='dd if=/dev/zero of=dir/subdir/big bs=4096 seek=15 count=1 conv=notrunc status=none'
	[punch-chain]='fallocate -p -o 65536 -l 4096 dir/subdir/big'
	[punch-inline]='fallocate -p -o 8192 -l 4096 dir/subdir/big'
	[truncate-into-chain]='truncate -s 61440 dir/subdir/big'
	# Collapse and insert range move every extent after the range: both leaves of big
	# are rewritten in place, the inline one with the inode.
	[collapse-range]='fallocate -c -o 4096 -l 8192 dir/subdir/big'
	[insert-range]='fallocate -i -o 8192 -l 4096 dir/subdir/big'
	# A block into a hole in the middle of a full overflow block (frag: 209 one-block
	# extents every fourth block, six inline and 203 in one overflow block), away from
	# both neighbours, so that it is an extent of its own and splits the block in two.
	[split-leaf]='dd if=/dev/zero of=frag bs=4096 seek=402 count=1 conv=notrunc status=none'
	# O_TMPFILE: a file without a name, on the orphan list from its creation, written and
	# closed (its blocks and inode freed: a crash at any point leaves what the mount frees);
	# and one that a process holds open (prepared) named by linkat: off the list, with an entry.
	[tmpfile]="xfs_io -T -c 'pwrite -q -S 0 0 8192' ."
	[tmpfile-link]='ln -L "/proc/$hold_pid/fd/3" tmp-named'
	# Still open when the recording stops: the image after it has the file on the orphan list.
	[unlink-open]='rm dir/subdir/big'
	# The last close of that file, which frees it.
	[last-close]='exec 3<&-'
	[mount]=:
	[umount]=:
	[remount-ro]=:
	[remount-rw]=:
)
# What a workload needs before recording starts, and after the image after it is taken.
declare -A prepare=([remount-rw]='mount -o remount,ro "$mnt"' [unlink-open]='exec 3<"$mnt/dir/subdir/big"'
	[last-close]='exec 3<"$mnt/dir/subdir/big"; rm "$mnt/dir/subdir/big"'
	[split-leaf]='for ((i = 0; i < 209; i++)); do echo "pwrite -q -S 0 $((16384 * i)) 4096"; done | xfs_io -f "$mnt/frag" >/dev/null'
	# xfs_io reads its commands from the coprocess's pipe; the file is its descriptor 3.
	[tmpfile-link]='coproc HOLD { exec xfs_io -T "$mnt"; }
		hold_pid=$HOLD_PID hold_in=${HOLD[1]}
		echo "pwrite -q -S 0 0 8192" >&"$hold_in"
		for ((wait = 0; wait < 300; wait++)); do
			[[ $(stat -L -c %s "/proc/$hold_pid/fd/3" 2>/dev/null) != 8192 ]] || break
			sleep 0.1
		done
		[[ $(stat -L -c %s "/proc/$hold_pid/fd/3" 2>/dev/null) == 8192 ]] ||
			{ echo "tmpfile-link: xfs_io holds no O_TMPFILE file of 8192 bytes as descriptor 3" >&2; exit 1; }')
declare -A cleanup=([unlink-open]='exec 3<&-' [tmpfile-link]='eval "exec $hold_in>&-"; wait "$hold_pid"')
# Those handled by name, and those with a prepare or cleanup step, are never
# part of a pair.
declare -A alone=([mount]=1 [umount]=1 [remount-ro]=1 [remount-rw]=1 [unlink-open]=1 [last-close]=1
	[split-leaf]=1 [tmpfile-link]=1)

case ${1:-} in
--list)
	printf '%s\n' "${!run[@]}" | sort
	exit 0
	;;
--list-pairable)
	for name in "${!run[@]}"; do [[ -v alone[$name] ]] || echo "$name"; done | sort
	exit 0
	;;
esac
out=$1
shift
dev=${SCRATCH_DEV:?} mnt=${SCRATCH_MNT:?}
crashlog=/sys/kernel/debug/daxfs/crashlog
fuzz=/repo/target/release/daxfs-fuzz
[[ -x $fuzz ]] || { echo "build the tools first: cargo build --release --bins" >&2; exit 1; }
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
[[ -w $crashlog ]] || { echo "no $crashlog: is daxfs.ko loaded?" >&2; exit 1; }
mkdir -p "$mnt" "$out"

names=("$@")
((${#names[@]})) || mapfile -t names < <(printf '%s\n' "${!run[@]}" | sort)

image=/tmp/crash-pristine.img
"$fuzz" --seed 0 "$image" >/dev/null
image_blocks=$(($(stat -c %s "$image") / 4096))

for name in "${names[@]}"; do
	IFS=+ read -ra calls <<<"$name"
	for call in "${calls[@]}"; do
		[[ -v run[$call] ]] || { echo "unknown workload '$call'" >&2; exit 2; }
		((${#calls[@]} == 1)) || [[ ! -v alone[$call] ]] ||
			{ echo "'$call' cannot be part of a pair" >&2; exit 2; }
	done
	dir=$out/$name
	mkdir -p "$dir"
	echo "crashtest: recording $name" >/dev/kmsg
	dd if="$image" of="$dev" bs=4096 oflag=direct status=none
	# dax=always: the pristine image's files lack the DAX flag, and the workloads are for DAX.
	mount -t daxfs -o dax=always "$dev" "$mnt"
	umount "$mnt"
	[[ $name == mount ]] || mount -t daxfs -o dax=always "$dev" "$mnt"
	[[ ! -v prepare[$name] ]] || eval "${prepare[$name]}"
	dd if="$dev" of="$dir/base.img" bs=4096 count="$image_blocks" iflag=direct status=none
	echo start >"$crashlog"
	case $name in
	mount) mount -t daxfs -o dax=always "$dev" "$mnt" ;;
	umount) umount "$mnt" ;;
	remount-ro) mount -o remount,ro "$mnt" ;;
	remount-rw) mount -o remount,rw "$mnt" ;;
	*)
		cd "$mnt"
		if ((${#calls[@]} == 1)); then
			eval "${run[$name]}"
		else
			# In a pair the first call may remove what the second uses: an
			# error is then part of the workload. The image between the
			# calls is a state the old-or-new check accepts.
			for i in "${!calls[@]}"; do
				((i == 0)) ||
					dd if="$dev" of="$dir/step-$i.img" bs=4096 count="$image_blocks" iflag=direct status=none
				eval "${run[${calls[i]}]}" || echo "$name: ${calls[i]} failed; going on"
			done
		fi
		cd /
		;;
	esac
	echo stop >"$crashlog"
	cat "$crashlog" >"$dir/store.log"
	dd if="$dev" of="$dir/after.img" bs=4096 count="$image_blocks" iflag=direct status=none
	[[ ! -v cleanup[$name] ]] || eval "${cleanup[$name]}"
	if [[ $name != umount ]]; then umount "$mnt"; fi
	echo "$name: $(stat -c %s "$dir/store.log") bytes of log"
done
