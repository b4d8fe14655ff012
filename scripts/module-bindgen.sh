#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Generates the module-local Rust bindings: bindgen over rust/daxfs_bindings.h
# with exactly the clang flags the kernel build used for kernel::bindings (it
# records them in rust/bindings/.bindings_generated.rs.cmd). Types that
# kernel::bindings already has are not generated again: only the allowlisted
# items are, and they refer to everything else through `kernel::bindings`.
#
#   module-bindgen.sh OBJTREE HEADER OUTPUT
set -euo pipefail

objtree=$1 header=$2 output=$3
cmdfile=$objtree/rust/bindings/.bindings_generated.rs.cmd
[[ -f $cmdfile ]] || {
	echo "module-bindgen: $cmdfile not found: $objtree is not a built Rust-enabled kernel tree" >&2
	exit 1
}

# The clang flags: everything after " -- " up to the trailing "; sed ..." step,
# less the kernel's own dependency file and module-name defines.
clang_flags=$(sed -n 's/^savedcmd_[^ ]* := bindgen .* -- \(.*\)$/\1/p' "$cmdfile")
clang_flags=${clang_flags%%; sed*}
read -r -a flags <<<"$clang_flags"
keep=()
for f in "${flags[@]}"; do
	case "$f" in
	-Wp,-MMD,* | -DKBUILD_* | -D__KBUILD_MODNAME=*) ;;
	*) keep+=("$f") ;;
	esac
done

# Relative include paths in the recorded flags are relative to the object tree.
header=$(realpath "$header")
output=$(realpath -m "$output")
cd "$objtree"
bindgen "$header" \
	--use-core --ctypes-prefix kernel::ffi --no-layout-tests --no-doc-comments \
	--rust-target 1.85 --with-derive-default --enable-function-attribute-detection \
	--no-debug '.*' --no-recursive-allowlist \
	--allowlist-function 'crc32c|dax_.*|iomap_.*|fs_dax_.*|fs_put_dax|daxdev_.*|daxfs_.*|get_tree_bdev|fileattr_fill_flags|posix_acl_.*|set_cached_acl|generic_setlease|generic_fh_to_dentry|generic_fh_to_parent|generic_encode_ino32_fh|rust_do_trace_daxfs_.*' \
	--allowlist-type 'iomap.*|export_operations|handle_to_path_.*|fid|dax_.*|daxfs_.*|fsverity_info|fs_context|fs_context_operations|fs_parameter|kstatfs|p_log|fc_log|fs_context_purpose|fs_context_phase' \
	--allowlist-var 'IOMAP_.*|ACL_TYPE_.*|iomap_bio_read_ops|DAX_.*|DAXFS_.*|__tracepoint_daxfs_.*' \
	--raw-line 'use kernel::bindings::*;' \
	-o "$output.tmp" -- "${keep[@]}" -DMODULE
mv "$output.tmp" "$output"
