#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetches Debian's linux-source package (trixie-backports) and unpacks it once
# into the cache. Prints the unpacked tree's path on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SOURCES=/etc/apt/sources.list.d/daxfs-trixie-backports.sources
PREFS=/etc/apt/preferences.d/daxfs-trixie-backports
SUDO=
((EUID == 0)) || SUDO=sudo

# The suite is only a source for this one package: pin it low so nothing on
# the host is ever upgraded from it.
if [[ ! -f $SOURCES ]]; then
	log "adding trixie-backports to apt's sources at priority 1 (only $KERNEL_SOURCE_PKG is taken from it)"
	add_apt_suite trixie-backports
	$SUDO tee "$PREFS" >/dev/null <<-EOF
		Package: *
		Pin: release n=trixie-backports
		Pin-Priority: 1
	EOF
	run_step "apt-get update (trixie-backports)" "$DAXFS_CACHE/logs/apt-update-tbp.log" $SUDO apt-get update
fi

version=$(apt-cache policy "$KERNEL_SOURCE_PKG" | awk '/Candidate:/ { print $2 }')
if [[ -z $version || $version == "(none)" ]]; then
	run_step "apt-get update" "$DAXFS_CACHE/logs/apt-update-tbp.log" $SUDO apt-get update
	version=$(apt-cache policy "$KERNEL_SOURCE_PKG" | awk '/Candidate:/ { print $2 }')
fi
[[ -n $version && $version != "(none)" ]] ||
	die "apt cannot find $KERNEL_SOURCE_PKG in trixie-backports; check $SOURCES and network access to deb.debian.org"

srcdir=$DAXFS_CACHE/src/$KERNEL_SOURCE_PKG-${version//[~+]/_}
if [[ ! -f $srcdir/.unpacked ]]; then
	with_lock "src"
	if [[ ! -f $srcdir/.unpacked ]]; then
		rm -rf "$srcdir" "$srcdir.tmp"
		mkdir -p "$srcdir.tmp"
		(cd "$srcdir.tmp" && run_step "apt-get download $KERNEL_SOURCE_PKG=$version" \
			"$DAXFS_CACHE/logs/kernel-download.log" apt-get download "$KERNEL_SOURCE_PKG=$version")
		deb=$(ls "$srcdir.tmp"/*.deb)
		run_step "unpacking $(basename "$deb")" "$DAXFS_CACHE/logs/kernel-unpack.log" \
			bash -c "dpkg-deb --fsys-tarfile '$deb' | tar -xO ./usr/src/$KERNEL_SOURCE_PKG.tar.xz | tar -xJ -C '$srcdir.tmp'"
		rm -f "$deb"
		mv "$srcdir.tmp/$KERNEL_SOURCE_PKG" "$srcdir"
		rm -rf "$srcdir.tmp"
		touch "$srcdir/.unpacked"
	fi
fi
echo "$srcdir"
