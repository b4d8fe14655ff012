# SPDX-License-Identifier: GPL-2.0
# Helpers for the in-guest tests. Sourced.
set -euo pipefail

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# expect_fail ERRTEXT CMD...: CMD must fail and its error output must contain ERRTEXT.
expect_fail() {
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, expected it to fail with '$want'"
	fi
	grep -qF -- "$want" <<<"$out" || fail "'$*' failed, but with '$out' instead of '$want'"
	echo "ok: '$*' failed with: $out"
}
fs_registered() { grep -qw "$1" /proc/filesystems; }
