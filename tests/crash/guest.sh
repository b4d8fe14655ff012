#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest's part of `make crashtest`: records the workloads
# (record-workloads.sh) into OUTDIR/workloads, then mounts and reads MOUNTS
# crash states of each (mount-states.sh; the same SUBSETS and SEED as the
# host's check, so that the states are the ones it names), with the failures
# in OUTDIR/guest-results.txt.
#
#   guest.sh OUTDIR MOUNTS SUBSETS SEED [WORKLOAD...]
set -euo pipefail
out=$1 mounts=$2 subsets=$3 seed=$4
shift 4
here=$(dirname "$0")
bash "$here/record-workloads.sh" "$out/workloads" "$@"
bash "$here/mount-states.sh" "$out/guest-results.txt" "$mounts" "$subsets" "$seed" "$out"/workloads/*/
