#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot 1 of the reboot test: makes a tree and powers off without unmounting,
# as a crash would.
. "$(dirname "$0")/../guest/lib.sh"

mount_fresh "$TEST_DEV" "$TEST_DIR"
mkdir -p "$TEST_DIR/a/b"
touch "$TEST_DIR/a/file"
ln -s "$(printf 'p%.0s' {1..500})" "$TEST_DIR/a/b/link"
for i in $(seq 1 20); do mkdir "$TEST_DIR/d$i"; done
rmdir "$TEST_DIR/d7"
mv "$TEST_DIR/a/file" "$TEST_DIR/a/b/moved"
chmod 640 "$TEST_DIR/a/b/moved"
(cd "$TEST_DIR" && find . -printf '%p %y %m %n %s %l\n' | sort) >/results/tree-before
echo "ok: tree written; powering off while mounted"
