#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Packs each recorded workload (DIR/workloads/NAME, from record-workloads.sh)
# into OUTDIR/packed/NAME.tar.gz for the host, which unpacks them
# (unpack_workloads in scripts/lib.sh). A recording stays in the guest's
# tmpfs and crosses the 9p share once, compressed: the share moves about
# 1.4 MB/s under TCG, and the images (4 MiB each, two or three a workload)
# are mostly zeros.
#
#   pack-workloads.sh DIR OUTDIR
set -euo pipefail
dir=$1 out=$2
mkdir -p "$out/packed"
for w in "$dir"/workloads/*/; do
	name=$(basename "$w")
	tar -C "$dir/workloads" -cf - "$name" | gzip -1 >"$out/packed/$name.tar.gz"
done
