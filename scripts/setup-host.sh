#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs what building and testing daxfs needs on a Debian host. Idempotent:
# a second run checks and returns in a second or two.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
	# Kernel build with Rust.
	"clang$LLVM_SUFFIX" "lld$LLVM_SUFFIX" "llvm$LLVM_SUFFIX" "libclang$LLVM_SUFFIX-dev"
	flex bison bc libelf-dev libssl-dev cpio xz-utils make gcc rsync kmod
	# Guest root filesystem and VM.
	mmdebstrap e2fsprogs qemu-system-x86 util-linux
)

SUDO=
((EUID == 0)) || SUDO=sudo
need_apt=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || need_apt+=("$p")
done
if ((${#need_apt[@]})); then
	command -v apt-get >/dev/null || die "apt-get not found: install ${need_apt[*]} by hand (daxfs expects a Debian host)"
	[[ -z $SUDO ]] || command -v sudo >/dev/null || die "need root to install ${need_apt[*]}: run as root or install sudo"
	run_step "apt-get update" "$DAXFS_CACHE/logs/apt-update.log" $SUDO apt-get update
	run_step "apt-get install ${need_apt[*]}" "$DAXFS_CACHE/logs/apt-install.log" \
		env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}" ||
		die "could not install ${need_apt[*]}; see the log above"
fi

# The VMs need a QEMU whose multi-threaded TCG is safe with a kernel that
# patches its own text (QEMU_MIN_MTTCG in lib.sh). Debian 12's is 7.2: take
# bookworm-backports' QEMU instead. The suite keeps backports' default
# priority, so nothing else is ever taken from it unasked.
if ! version_at_least "$(qemu_version)" "$QEMU_MIN_MTTCG"; then
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [[ $codename == bookworm ]]; then
		log "QEMU $(qemu_version) is older than $QEMU_MIN_MTTCG: taking QEMU from bookworm-backports"
		[[ -z $SUDO ]] || command -v sudo >/dev/null ||
			die "need root to install QEMU from bookworm-backports: run as root or install sudo"
		add_apt_suite bookworm-backports
		run_step "apt-get update (bookworm-backports)" "$DAXFS_CACHE/logs/apt-update-bbp.log" $SUDO apt-get update
		run_step "apt-get install qemu-system-x86 from bookworm-backports" "$DAXFS_CACHE/logs/apt-install-qemu.log" \
			env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
			-t bookworm-backports qemu-system-x86 ||
			die "could not install QEMU from bookworm-backports; see the log above"
		version_at_least "$(qemu_version)" "$QEMU_MIN_MTTCG" ||
			die "QEMU $(qemu_version) from bookworm-backports is older than $QEMU_MIN_MTTCG"
	else
		log "QEMU $(qemu_version) is older than $QEMU_MIN_MTTCG: the VMs will run one TCG thread (slower); install QEMU $QEMU_MIN_MTTCG or newer"
	fi
fi

command -v rustup >/dev/null || die "rustup not found: install Rust with rustup (https://rustup.rs), then run make again"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	run_step "rustup component add rust-src" "$DAXFS_CACHE/logs/rust-src.log" rustup component add rust-src
fi
for c in clippy rustfmt; do
	if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
		run_step "rustup component add $c" "$DAXFS_CACHE/logs/$c.log" rustup component add "$c"
	fi
done

BINDGEN_VERSION=0.72.1
if [[ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]]; then
	run_step "cargo install bindgen-cli $BINDGEN_VERSION (about 2 minutes)" "$DAXFS_CACHE/logs/bindgen.log" \
		cargo install --locked bindgen-cli --version "$BINDGEN_VERSION"
fi
log "host tools ready"
