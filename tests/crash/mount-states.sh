#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-guest part of `make crashtest`, after the recording: mounts a seeded
# sample of each workload's crash states (`daxfs-crashtest --emit`) read-write
# on the scratch device, as the reboot after the power cut would, and reads
# everything in it: every entry stat'ed, every symlink read and the first
# 64 KiB of every regular file; then unmounts. A state fails if the mount or a
# read fails; a kernel report panics the debug kernel instead, and an unmount
# that fails stops the run.
# Each state is marked in the kernel log ("crashtest: mounting NAME: STATE").
#
#   mount-states.sh RESULTS COUNT SUBSETS SEED WORKLOAD_DIR...
#
# RESULTS gets a line `NAME<TAB>STATE<TAB>WHY` per failed state, which
# `daxfs-crashtest --guest-results` counts; the last line printed is
# `guest: N states mounted, F failed`.
set -euo pipefail

results=$1 count=$2 subsets=$3 seed=$4
shift 4
dev=${SCRATCH_DEV:?} mnt=${SCRATCH_MNT:?}
crashtest=/repo/target/release/daxfs-crashtest
states=/tmp/crash-states
mkdir -p "$mnt"
echo on >/proc/sys/kernel/printk_devkmsg
: >"$results"

# read_all: reads the mounted state; prints the first error and fails if any. One find
# stats every entry (%s), reads every symlink (%l) and hands the regular files to one head,
# which reads the first 64 KiB of each, and one getfattr reads every extended attribute:
# three processes, as a state's mount, read and unmount are most of the time of make
# check's crash sample.
read_all() {
	local errors
	errors=$({
		find "$mnt" -xdev \( -type l -printf '%s %l\n' -o -type f -printf '%s\n' \
			-exec head -q -c 65536 -- {} + -o -printf '%s\n' \)
		# Relative names (getfattr warns about absolute ones); symlinks' own attributes.
		(cd "$mnt" && getfattr -R -P -h -d -m - .)
	} 2>&1 >/dev/null) || true
	[[ -z $errors ]] || {
		printf '%s' "${errors%%$'\n'*}"
		return 1
	}
}

mounted=0 failed=0
for dir in "$@"; do
	name=$(basename "$dir")
	rm -rf "$states"
	"$crashtest" --subsets "$subsets" --seed "$seed" --emit "$count" "$states" "$dir" >/dev/null
	while IFS=$'\t' read -r file state; do
		echo "crashtest: mounting $name: $state" >/dev/kmsg
		dd if="$states/$name/$file" of="$dev" bs=4096 oflag=direct status=none
		mounted=$((mounted + 1))
		why=
		if ! out=$(mount -t daxfs -o dax=always "$dev" "$mnt" 2>&1); then
			why="mount failed: $out"
		else
			why=$(read_all) || true
			# A file system that stays mounted would be overwritten by the next state.
			out=$(umount "$mnt" 2>&1) || {
				echo "$name: $state: umount failed: $out; stopping" >&2
				exit 1
			}
		fi
		if [[ -n $why ]]; then
			failed=$((failed + 1))
			printf '%s\t%s\t%s\n' "$name" "$state" "${why//$'\n'/ }" >>"$results"
		fi
	done <"$states/$name/states.txt"
done
rm -rf "$states"
echo "guest: $mounted states mounted, $failed failed"
