#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extended attributes (user., trusted., security.), on ext4 -o dax as the
# control and on daxfs, in the same boot:
# - daxfs-selftest xattr: set, create and replace, get (and ERANGE, the size
#   query), list, remove, the empty value, a value larger than a block
#   (ENOSPC), filling a file's space and making room again, trusted. hidden
#   from an unprivileged process, user. refused on a symlink, the change time;
#   each case with ext4's errno;
# - every attribute survives a remount (getfattr -d of everything, before and
#   after);
# - files with attributes removed (one of them open and unlinked, freed at its
#   last close), the file system checks clean: no attribute block leaked.
. "$(dirname "$0")/lib.sh"
st=/repo/target/release/daxfs-selftest

# dump: every attribute of every file under the mount, in a stable order.
dump() {
	(cd "$SCRATCH_MNT" && getfattr -R -P -h -d -m - -e hex . 2>/dev/null)
}

for fs in ext4 daxfs; do
	scratch_fresh "$fs"
	mkdir "$SCRATCH_MNT/t"
	"$st" xattr "$SCRATCH_MNT/t" || fail "$fs: the extended-attribute calls"
	echo "ok: $fs: the extended-attribute calls give the expected results and errors"

	# (security. needs CONFIG_EXT4_FS_SECURITY, which the test kernel lacks.)
	setfattr -n trusted.test -v label "$SCRATCH_MNT/t/xattr-file"
	[[ $fs == ext4 ]] || setfattr -n security.test -v label "$SCRATCH_MNT/t/xattr-file"
	before=$(dump)
	[[ $before == *"user.attribute_040"* && $before == *"trusted.test"* ]] ||
		fail "$fs: the dump lacks attributes: $before"
	scratch_remount "$fs"
	after=$(dump)
	[[ $after == "$before" ]] || fail "$fs: attributes changed across a remount: $(diff <(echo "$before") <(echo "$after"))"
	echo "ok: $fs: $(grep -c = <<<"$after") attributes survive a remount"

	# FIEMAP of the attributes (xfs_io -c 'fiemap -a', FIEMAP_FLAG_XATTR): one extent
	# while a file has attributes (ext4 keeps small ones in the inode, daxfs in a block),
	# none once they are gone.
	xattr_extents() { xfs_io -c 'fiemap -a' "$1" | grep -c '^[[:space:]]*0: \[0\.\.' || true; }
	f=$SCRATCH_MNT/t/fiemap
	: >"$f"
	[[ $(xattr_extents "$f") == 0 ]] || fail "$fs: fiemap -a of a file without attributes: $(xfs_io -c 'fiemap -a' "$f")"
	setfattr -n user.mapped -v yes "$f"
	[[ $(xattr_extents "$f") == 1 ]] || fail "$fs: fiemap -a of a file with an attribute: $(xfs_io -c 'fiemap -a' "$f")"
	setfattr -x user.mapped "$f"
	[[ $(xattr_extents "$f") == 0 ]] || fail "$fs: fiemap -a after the attribute's removal: $(xfs_io -c 'fiemap -a' "$f")"
	echo "ok: $fs: fiemap -a maps the attributes"

	# Removed files free their attribute blocks, an open one at its last close.
	exec 3<"$SCRATCH_MNT/t/xattr-full"
	rm -r "$SCRATCH_MNT/t"
	[[ $(getfattr --only-values -n user.attribute_001 /proc/self/fd/3) == value_001 ]] ||
		fail "$fs: an unlinked open file lost its attributes"
	exec 3<&-
	scratch_umount_checked "$fs"
	echo "ok: $fs: removed files left no attribute block behind"
done
