# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the daxfs scripts: logging, timed steps, cache layout, locking.
# Sourced, never run.

DAXFS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DAXFS_CACHE=${DAXFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/daxfs}

# Kernel we build against: Debian's linux-source package from trixie-backports.
KERNEL_SERIES=7.3
KERNEL_SOURCE_PKG=linux-source-$KERNEL_SERIES
LLVM_SUFFIX=-19
export LIBCLANG_PATH=/usr/lib/llvm${LLVM_SUFFIX}/lib
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[daxfs] %s\n' "$*" >&2; }
die() {
	printf '[daxfs] error: %s\n' "$*" >&2
	exit 1
}

# run_step NAME LOGFILE CMD...: runs CMD with its output in LOGFILE, prints a
# heartbeat with the elapsed time every 30 s and the log's tail on failure.
run_step() {
	local name=$1 logfile=$2
	shift 2
	local start=$SECONDS
	mkdir -p "$(dirname "$logfile")"
	log "$name (log: $logfile)"
	"$@" >"$logfile" 2>&1 &
	local pid=$!
	local last=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if ((SECONDS - last >= 30)); then
			last=$SECONDS
			log "  ... $name: $((SECONDS - start)) s"
		fi
	done
	if ! wait "$pid"; then
		log "$name FAILED after $((SECONDS - start)) s; last lines of $logfile:"
		show_log_tail "$logfile" 40 >&2
		return 1
	fi
	log "$name done in $((SECONDS - start)) s"
}

# show_log_tail FILE [N] [INDENT]: prints the last N lines (default 30) of FILE
# (- for stdin) on stdout, each after INDENT (default none) and without a
# serial console's trailing carriage return. Fails if FILE cannot be read.
show_log_tail() {
	local file=$1 n=${2:-30} indent=${3:-}
	# INDENT goes into a sed replacement: escape \, / and &.
	indent=${indent//\\/\\\\}
	indent=${indent//\//\\/}
	indent=${indent//&/\\&}
	tail -n "$n" -- "$file" | sed 's/\r$//; s/^/'"$indent"'/'
}

# cached_kernel_dir FLAVOUR: the cached kernel build of FLAVOUR (debug|perf),
# built on first use (scripts/build-kernel.sh); ignores KDIR.
cached_kernel_dir() {
	bash "$DAXFS_TOP/scripts/build-kernel.sh" "$1"
}

# kernel_dir FLAVOUR: the kernel tree to build and boot against: $KDIR if set
# and not empty (your own tree), else cached_kernel_dir FLAVOUR, as the Makefile does.
kernel_dir() {
	if [[ -n ${KDIR:-} ]]; then
		printf '%s\n' "$KDIR"
	else
		cached_kernel_dir "$1"
	fi
}

# rootfs_image: the cached guest root image, built on first use (scripts/build-rootfs.sh).
rootfs_image() {
	bash "$DAXFS_TOP/scripts/build-rootfs.sh"
}

# build_module_and_tools OUT FLAVOUR: builds daxfs.ko (build/FLAVOUR) against
# $kdir and the host tools, logging to OUT; dies on failure.
build_module_and_tools() {
	local out=$1 flavour=$2
	log "building daxfs.ko for the $flavour kernel and the host tools"
	make --no-print-directory -C "$DAXFS_TOP" module KDIR="$kdir" FLAVOUR="$flavour" >"$out/module-build.log" 2>&1 ||
		die "module build failed; see $out/module-build.log"
	(cd "$DAXFS_TOP" && cargo build --release --locked --bins) >"$out/tools-build.log" 2>&1 ||
		die "cargo build failed; see $out/tools-build.log"
}

# debug_run_inputs OUT TOOLS: what a run on the debug kernel needs, for
# `make fuzz` and `make crashtest`: the kernel (sets kdir) and the root image,
# built or cached; daxfs.ko (sets ko), built unless DAXFS_KO names one inside
# the repository; and the host tools (TOOLS names the ones the run uses, for the
# log line). Build logs go to OUT.
debug_run_inputs() {
	local out=$1 tools=$2
	kdir=$(kernel_dir debug)
	rootfs_image >/dev/null
	ko=${DAXFS_KO:-build/debug/daxfs.ko}
	if [[ -z ${DAXFS_KO:-} ]]; then
		log "building daxfs.ko"
		make --no-print-directory -C "$DAXFS_TOP" module KDIR="$kdir" FLAVOUR=debug >"$out/module-build.log" 2>&1 ||
			die "module build failed; see $out/module-build.log"
	fi
	log "building the tools ($tools)"
	(cd "$DAXFS_TOP" && cargo build --release --locked --bins) >"$out/tools-build.log" 2>&1 ||
		die "cargo build failed; see $out/tools-build.log"
}

# unpack_workloads DIR: unpacks the crash-state workloads a guest packed into
# DIR/packed (tests/crash/pack-workloads.sh) into DIR/workloads.
unpack_workloads() {
	local dir=$1 packed
	mkdir -p "$dir/workloads"
	for packed in "$dir"/packed/*.tar.gz; do
		[[ -f $packed ]] || die "no packed workloads in $dir/packed"
		tar -C "$dir/workloads" -xzf "$packed" || die "cannot unpack $packed"
	done
}

# add_apt_suite SUITE: adds Debian's SUITE (main) to apt's sources, in
# /etc/apt/sources.list.d/daxfs-SUITE.sources, unless that file is there.
# The caller runs apt-get update.
add_apt_suite() {
	local file=/etc/apt/sources.list.d/daxfs-$1.sources sudo=
	[[ ! -f $file ]] || return 0
	((EUID == 0)) || sudo=sudo
	$sudo tee "$file" >/dev/null <<-EOF
		Types: deb
		URIs: http://deb.debian.org/debian
		Suites: $1
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

# with_lock NAME: takes an exclusive lock in the cache for the rest of the
# calling script, or fails at once with a message if someone else holds it.
with_lock() {
	local name=$1
	mkdir -p "$DAXFS_CACHE/locks"
	exec {DAXFS_LOCK_FD}>"$DAXFS_CACHE/locks/$name.lock"
	if ! flock -n "$DAXFS_LOCK_FD"; then
		[[ -z ${DAXFS_LOCK_WAIT:-} ]] ||
			log "waiting up to $DAXFS_LOCK_WAIT s for the cache lock $DAXFS_CACHE/locks/$name.lock"
		flock -w "${DAXFS_LOCK_WAIT:-0}" "$DAXFS_LOCK_FD" ||
			die "cache lock $DAXFS_CACHE/locks/$name.lock is held by another process; wait for it to finish, or remove the lock file if none runs"
	fi
}

# exit_if_cached MARKER RESULT LOCK: the check of the cache builders. If
# MARKER exists, prints RESULT and ends the calling script; otherwise takes
# LOCK (with_lock) and checks again, since another process may have built it
# while this one waited.
exit_if_cached() {
	local marker=$1 result=$2 lock=$3
	[[ ! -e $marker ]] || { echo "$result"; exit 0; }
	with_lock "$lock"
	[[ ! -e $marker ]] || { echo "$result"; exit 0; }
}

# hash_of FILE...: short content hash of the named files and any extra text on stdin.
hash_of() {
	{
		cat
		cat "$@"
	} | sha256sum | cut -c1-16
}

# Toolchain identity: anything that changes Rust metadata or generated code.
toolchain_id() {
	rustc --version
	bindgen --version 2>/dev/null || true
	"clang$LLVM_SUFFIX" --version | head -n1
}

# QEMU_MIN_MTTCG: the first QEMU whose multi-threaded TCG cannot go on running
# a vCPU's stale translation of kernel text that another vCPU has just patched.
# Older ones (Debian 12 ships 7.2) now and then kill the guest with an
# "Oops: int3" at a static key or static call that text_poke_bp() patched (at
# boot, on module load, when a trace event is enabled); QEMU fixed it in 8.1
# with commit deba78709a ("accel/tcg: Always lock pages before translation").
QEMU_MIN_MTTCG=8.1

# qemu_version: the version of qemu-system-x86_64, e.g. 10.0.2.
qemu_version() {
	qemu-system-x86_64 --version | awk 'NR == 1 { print $4 }'
}

# version_at_least HAVE WANT: whether version HAVE is WANT or newer.
version_at_least() {
	[[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]
}

check_flavour() {
	case "$1" in
	debug | perf) ;;
	*) die "unknown kernel flavour '$1': use debug (tests) or perf (benchmarks)" ;;
	esac
}
