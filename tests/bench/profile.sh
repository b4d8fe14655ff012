#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Profiles one benchmark workload on one file system with perf, in the VM:
#   make run FLAVOUR=perf CMD='tests/bench/profile.sh daxfs touch-4k'
# The files are 512 MiB, which the default 1 GiB test NVDIMM holds on every
# file system. Prints the hottest symbols, without and with children, and
# leaves perf-FS-WORKLOAD.data in /results.
set -euo pipefail
fs=${1:?usage: profile.sh daxfs|ext4|xfs WORKLOAD}
workload=${2:?usage: profile.sh daxfs|ext4|xfs WORKLOAD}
bench=/repo/target/release/daxfs-bench
mnt=$TEST_DIR
mib=512

case $fs in
daxfs) mkfs -t daxfs -f -q "$TEST_DEV" && mount -t daxfs "$TEST_DEV" "$mnt" ;;
ext4) mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$TEST_DEV" && mount -t ext4 -o dax "$TEST_DEV" "$mnt" ;;
xfs) mkfs.xfs -q -f -m reflink=0 "$TEST_DEV" && mount -t xfs -o dax=always "$TEST_DEV" "$mnt" ;;
*) echo "unknown file system $fs" >&2 && exit 1 ;;
esac

case $workload in
touch-4k) cmd=($bench touch "$mnt/f" $mib small) ;;
touch-2m) cmd=($bench touch "$mnt/f" $mib huge) ;;
truncate-1g)
	$bench touch "$mnt/f" $mib small >/dev/null
	cmd=($bench truncate "$mnt/f")
	;;
files) cmd=($bench files "$mnt" 10000) ;;
# Random allocating pwrites, then write faults, into sparse files, reads, truncate, unlink.
sparse) cmd=($bench sparse "$mnt" $mib 20000) ;;
mmap-read-4k | mmap-write-4k)
	rw=${workload#mmap-} rw=${rw%-4k}
	fio --name=layout --filename="$mnt/fio.dat" --size=256M --rw=write --bs=4k >/dev/null
	cmd=(fio --name=bench --filename="$mnt/fio.dat" --size=256M --ioengine=mmap --rw="$rw" --bs=4k
		--runtime=3 --time_based --output-format=terse --terse-version=3)
	;;
*) echo "profile.sh knows touch-4k, touch-2m, truncate-1g, files, sparse, mmap-read-4k, mmap-write-4k" >&2 && exit 1 ;;
esac

perf record -q -g -a -o /tmp/perf.data -- "${cmd[@]}"
perf report -i /tmp/perf.data --stdio --no-children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 40 || true
echo "---- with children"
perf report -i /tmp/perf.data --stdio --children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 40 || true
umount "$mnt"
cp /tmp/perf.data "/results/perf-$fs-$workload.data"
