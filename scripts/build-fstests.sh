#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds (or finds in the cache) fstests for the guest and prints the path of
# the built tree, one tarball (fstests-<key>.tar.gz, unpacking to xfstests/),
# on stdout. One tarball because copying the tree file by file over 9p takes
# minutes.
#
# The source: FSTESTS_SRC, a source tree or a tarball of one; without it
# ../shared/fstests/xfstests-src.tar.xz beside the repository if it exists,
# else a clone of upstream xfstests-dev in the cache (made once; delete it or
# `git pull` in it to update). It is built in a Debian trixie chroot
# (mmdebstrap --variant=buildd), the guest's release, so its binaries run in
# the guest. The tarball is keyed by the source (tarball sha256, the commit of
# a clean git tree, or the content of any other tree) and this script.
#
#   FSTESTS_SRC=PATH    source tree or tarball
#   FSTESTS_JOBS=N      make -j (default: the number of CPUs)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=trixie
MIRROR=http://deb.debian.org/debian
UPSTREAM=https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git
BUILD_DEPS=(
	autoconf automake libtool make gcc pkg-config
	xfslibs-dev uuid-dev libacl1-dev libattr1-dev libaio-dev liburing-dev libgdbm-dev libcap-dev
)
jobs=${FSTESTS_JOBS:-$(nproc)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "FSTESTS_JOBS must be a positive number"

src=${FSTESTS_SRC:-}
if [[ -z $src ]]; then
	shared=$DAXFS_TOP/../shared/fstests/xfstests-src.tar.xz
	if [[ -f $shared ]]; then
		src=$shared
	else
		src=$DAXFS_CACHE/fstests/xfstests-dev
		if [[ ! -d $src/.git ]]; then
			command -v git >/dev/null || die "git not found: install it, or set FSTESTS_SRC to an fstests source tree or tarball"
			with_lock "fstests-clone"
			if [[ ! -d $src/.git ]]; then
				rm -rf "$src"
				mkdir -p "$(dirname "$src")"
				run_step "git clone $UPSTREAM" "$DAXFS_CACHE/logs/fstests-clone.log" \
					git clone --depth 1 "$UPSTREAM" "$src" ||
					die "could not clone $UPSTREAM; set FSTESTS_SRC to an fstests source tree or tarball"
			fi
			flock -u "$DAXFS_LOCK_FD"
		fi
	fi
fi
[[ -e $src ]] || die "FSTESTS_SRC=$src does not exist"
src=$(realpath "$src")

# The source's identity.
if [[ -f $src ]]; then
	src_id="tarball $(sha256sum <"$src" | cut -d' ' -f1)"
elif [[ -d $src ]]; then
	if git -C "$src" rev-parse --show-toplevel 2>/dev/null | grep -qxF "$src" &&
		[[ -z $(git -C "$src" status --porcelain 2>/dev/null) ]]; then
		src_id="git $(git -C "$src" rev-parse HEAD)"
	else
		src_id="tree $(tar -C "$src" --exclude=.git --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			-cf - . | sha256sum | cut -d' ' -f1)"
	fi
else
	die "FSTESTS_SRC=$src is neither a directory nor a file"
fi
key=$(echo "$SUITE $src_id" | hash_of "$0")
tarball=$DAXFS_CACHE/fstests/fstests-$key.tar.gz

exit_if_cached "$tarball" "$tarball" fstests

work=$DAXFS_CACHE/fstests/tmp-$key
rm -rf "$work"
mkdir -p "$work/src"
trap 'rm -rf "$work"' EXIT
log "building fstests from $src ($src_id) in a $SUITE chroot (about 3 minutes; cached afterwards)"
if [[ -f $src ]]; then
	tar -C "$work/src" -xf "$src" || die "cannot unpack $src"
else
	tar -C "$src" --exclude=.git -cf - . | tar -C "$work/src" -xf -
fi
# The tree is the source's top directory or its only subdirectory.
tree=$work/src
if [[ ! -f $tree/configure.ac ]]; then
	mapfile -t tops < <(find "$tree" -mindepth 1 -maxdepth 1)
	if ((${#tops[@]} != 1)) || [[ ! -f ${tops[0]}/configure.ac ]]; then
		die "$src is not an fstests source tree (no configure.ac at its top or in its only directory)"
	fi
	tree=${tops[0]}
fi
[[ -x $tree/check ]] || die "$src is not an fstests source tree (no check script)"
mv "$tree" "$work/xfstests"

include=$(
	IFS=,
	echo "${BUILD_DEPS[*]}"
)
# The chroot is thrown away (null format, in $TMPDIR): the hooks copy the
# source in, build it as root (the guest runs it as root) and tar it out,
# without the objects.
run_step "fstests build ($SUITE chroot, make -j$jobs)" "$DAXFS_CACHE/logs/fstests-build.log" \
	env TMPDIR="$work" mmdebstrap --variant=buildd --include="$include" \
	--customize-hook="cp -a '$work/xfstests' \"\$1/xfstests\"" \
	--customize-hook="chroot \"\$1\" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		make -C /xfstests -j$jobs" \
	--customize-hook="tar -C \"\$1\" --exclude='*.o' --exclude=autom4te.cache --owner=0 --group=0 --numeric-owner \
		-czf '$work/fstests.tar.gz' xfstests" \
	"$SUITE" /dev/null "deb $MIRROR $SUITE main" ||
	die "the fstests build failed; see $DAXFS_CACHE/logs/fstests-build.log"

# What the guest relies on: the check script and the built programs.
listing=$(tar -tzf "$work/fstests.tar.gz")
for f in xfstests/check xfstests/ltp/fsstress xfstests/ltp/fsx xfstests/src/xfsctl xfstests/src/seek_sanity_test; do
	grep -qxF "$f" <<<"$listing" || die "the fstests build left no $f; see $DAXFS_CACHE/logs/fstests-build.log"
done
mv "$work/fstests.tar.gz" "$tarball"
log "fstests: $tarball ($(du -h "$tarball" | cut -f1))"
echo "$tarball"
