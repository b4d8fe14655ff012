#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Running out of inodes gives ENOSPC, statfs says 0 free, and deleting a file
# makes room again; fsck stays clean.
. "$(dirname "$0")/lib.sh"

mount_fresh "$SCRATCH_DEV" "$SCRATCH_MNT" -N 64
total=$(stat -f -c %c "$SCRATCH_MNT")
n=0
while touch "$SCRATCH_MNT/f$n" 2>/tmp/touch.err; do
	n=$((n + 1))
	((n <= total)) || fail "created more files ($n) than inodes ($total)"
done
grep -q 'No space left on device' /tmp/touch.err || fail "creation failed otherwise: $(cat /tmp/touch.err)"
[[ $n == $((total - 1)) && $(stat -f -c %d "$SCRATCH_MNT") == 0 ]] ||
	fail "made $n files of $total inodes, $(stat -f -c %d "$SCRATCH_MNT") free"
echo "ok: ENOSPC after $n files (root + $n = $total inodes)"
rm "$SCRATCH_MNT/f7"
touch "$SCRATCH_MNT/again" || fail "no room after deleting a file"
echo "ok: deleting a file makes room"
umount_checked "$SCRATCH_DEV" "$SCRATCH_MNT"
