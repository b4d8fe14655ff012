#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds (or finds in the cache) the Rust-enabled kernel of one flavour and
# prints its build directory on stdout. Usage: build-kernel.sh debug|perf
#
# The build directory is keyed by the kernel source version, the config
# fragments and the toolchain, so a fresh clone reuses it and a changed
# fragment rebuilds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-}
check_flavour "$flavour"
frag_dir=$DAXFS_TOP/qemu/config
fragments=("$frag_dir/base.config" "$frag_dir/$flavour.config")

srcdir=$(bash "$DAXFS_TOP/scripts/fetch-kernel-source.sh")
key=$( {
	basename "$srcdir"
	toolchain_id
} | hash_of "${fragments[@]}")
objdir=$DAXFS_CACHE/kernel/$flavour-$key

exit_if_cached "$objdir/.built" "$objdir" kernel

log "building the $flavour kernel into $objdir (20-40 minutes on 2 cores; cached afterwards)"
mkdir -p "$objdir"
kmake=(make -C "$srcdir" O="$objdir" LLVM="$LLVM_SUFFIX" -j"$(nproc)")
logs=$objdir/logs

run_step "make rustavailable" "$logs/rustavailable.log" "${kmake[@]}" rustavailable ||
	die "the kernel says Rust is not available; run scripts/setup-host.sh and see $logs/rustavailable.log"
run_step "configure (tinyconfig + ${fragments[*]##*/})" "$logs/config.log" bash -c "
	set -e
	${kmake[*]} tinyconfig
	'$srcdir/scripts/kconfig/merge_config.sh' -m -O '$objdir' '$objdir/.config' ${fragments[*]}
	${kmake[*]} olddefconfig
"

# Kconfig drops options whose dependencies are unmet without a word: check
# that every option asked for really is set as asked.
missing=$(cat "${fragments[@]}" | sed -n -e 's/^\(CONFIG_[A-Z0-9_]*\)=.*/&/p' -e 's/^# \(CONFIG_[A-Z0-9_]*\) is not set/&/p' |
	while IFS= read -r want; do
		grep -qxF -- "$want" "$objdir/.config" || echo "  asked: $want; got: $(grep -E "^(# )?${want#\# }" "$objdir/.config" | head -n1 || true)"
	done)
# A "is not set" request is also met when the option is absent entirely.
missing=$(grep -v 'is not set; got: $' <<<"$missing" || true)
if [[ -n $missing ]]; then
	log "these config options did not end up as the fragments ask (unmet dependencies?):"
	printf '%s\n' "$missing" >&2
	die "fix qemu/config/*.config and run again"
fi

run_step "make bzImage modules" "$logs/build.log" "${kmake[@]}" bzImage modules
run_step "make modules_install" "$logs/modules-install.log" "${kmake[@]}" \
	INSTALL_MOD_PATH="$objdir/modroot" INSTALL_MOD_STRIP=1 modules_install
touch "$objdir/.built"
echo "$objdir"
