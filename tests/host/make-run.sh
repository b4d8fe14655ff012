#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make run` builds the tools the guest needs (mkfs.daxfs, fsck.daxfs), and
# hands CMD to the guest's bash verbatim: make must not expand its `$`, and
# quotes survive. Checked on the recipe `make -n` prints, without a VM.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck disable=SC2016 # the $s are for the guest's shell
cmd='echo $HOME "it'\''s" $(uname -r) $$'
recipe=$(make --no-print-directory -n -o module -o rootfs -o setup run CMD="$cmd")
grep -qF 'cargo build --release --locked --bins' <<<"$recipe" ||
	{ echo "make run does not build the tools:"; echo "$recipe"; exit 1; }
line=$(grep -o -- '-- bash -c .*' <<<"$recipe") ||
	{ echo "make run CMD=... does not run bash -c:"; echo "$recipe"; exit 1; }
# What the recipe's shell passes to the guest's bash as its command.
eval "set -- ${line#-- bash -c }"
[[ $1 == "$cmd" ]] || { echo "the guest would run '$1', not '$cmd'"; exit 1; }
echo "ok: make run builds the tools and passes CMD verbatim: $1"
