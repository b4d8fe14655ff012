#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds (or finds in the cache) the guest's root filesystem: a Debian trixie
# system from Debian's packages, as an ext4 image the VM boots with
# snapshot=on (the cached image never changes). Prints the image path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=trixie
MIRROR=http://deb.debian.org/debian
# linux-perf comes from trixie-backports so that it matches the 7.3 kernel.
PACKAGES=(
	bash coreutils util-linux mount procps kmod e2fsprogs xfsprogs ndctl dmsetup
	fio strace trace-cmd less psmisc file busybox
	# fstests (make fstests) at run time: its tools and the libraries its programs link.
	bc attr acl gawk libcap2-bin libaio1t64 liburing2 libgdbm6t64
	linux-perf/$SUITE-backports
)
SHIM=$DAXFS_TOP/qemu/rootfs-init
key=$( {
	echo "$SUITE ${PACKAGES[*]}"
} | hash_of "$SHIM" "$0")
image=$DAXFS_CACHE/rootfs/$SUITE-$key.ext4

exit_if_cached "$image" "$image" rootfs

work=$DAXFS_CACHE/rootfs/tmp-$key
rm -rf "$work"
mkdir -p "$work"
log "building the guest root filesystem ($SUITE, about 2-4 minutes; cached afterwards)"
include=$(
	IFS=,
	echo "${PACKAGES[*]}"
)
run_step "mmdebstrap $SUITE" "$DAXFS_CACHE/logs/rootfs.log" \
	mmdebstrap --variant=apt --include="$include" \
	--customize-hook='rm -rf "$1/var/cache/apt/archives"/*.deb "$1/var/lib/apt/lists"/*' \
	--customize-hook="install -m 0755 '$SHIM' \"\$1/sbin/daxfs-init\"" \
	--customize-hook='echo daxfs-guest > "$1/etc/hostname"' \
	--customize-hook='mkdir -p "$1/repo" "$1/results" "$1/usr/lib/modules" "$1/mnt/test" "$1/mnt/scratch"' \
	"$SUITE" "$work/root" \
	"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-backports main"

size_mb=$(($(du -sm "$work/root" | cut -f1) * 13 / 10 + 256))
run_step "mke2fs (${size_mb} MiB)" "$DAXFS_CACHE/logs/rootfs-mke2fs.log" \
	mke2fs -q -t ext4 -L daxfs-root -d "$work/root" "$work/root.ext4" "${size_mb}M"
mv "$work/root.ext4" "$image"
rm -rf "$work"
echo "$image"
