#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-guest part of the image fuzzer: runs `daxfs-fuzz-vm` (tests/selftest/
# src/fuzz_vm.rs) on the scratch pmem device for COUNT seeds from FIRST on.
# Each mutated image is written to the device, mounted and used within
# IMAGE_TIMEOUT seconds (default 60), and unmounted; all in one process, since
# under TCG with KASAN an exec costs more than an image's own work.
#
#   run-images.sh FIRST COUNT
#
# In $FUZZ_OUT (default /results/fuzz): `current` names the image being run
# (written before it is mounted, so that the host can tell which one a guest
# crash came from), `results.txt` has one line per image,
#   SEED refused|mounted ops N errors N euclean N|hang ... | DAX; MUTATIONS
# (DAX: dax=always, or dax=never for one seed in four)
# and `summary` the counts. Each image is marked in the kernel log
# ("daxfs-fuzz: seed N: ...") so that a kernel report can be tied to it. A
# kernel report panics the debug kernel; a task stuck in the kernel trips the
# hung-task detector. Exits non-zero if an image hung.
set -euo pipefail

first=$1 count=$2
out=${FUZZ_OUT:-/results/fuzz}
fuzz_vm=/repo/target/release/daxfs-fuzz-vm
[[ -x $fuzz_vm ]] || { echo "build the tools first: cargo build --release --bins" >&2; exit 1; }
mkdir -p "$SCRATCH_MNT"
# Every image's mark must reach the log: by default writes to /dev/kmsg are
# rate limited (and the marks then go missing).
echo on >/proc/sys/kernel/printk_devkmsg
exec "$fuzz_vm" "$first" "$count" "$SCRATCH_DEV" "$SCRATCH_MNT" "$out" "${IMAGE_TIMEOUT:-60}"
