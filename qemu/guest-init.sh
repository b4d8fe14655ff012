#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The daxfs guest's init, run by /sbin/daxfs-init from the read-only repository
# share. It puts both NVDIMMs in fsdax mode, loads the module, runs the
# command the host asked for (or a shell) and hands the exit status back
# through /results/exit-status before powering off.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export TERM=${TERM:-linux}

finish() {
	echo "$1" >/results/exit-status
	sync
	busybox poweroff -f
	sleep 10
}
fail() {
	echo "daxfs-guest: $1" >&2
	finish "${2:-125}"
}

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
echo daxfs-guest >/proc/sys/kernel/hostname
ln -sf /proc/self/fd /dev/fd
. /results/env

# fsdax_blockdev REGION: the block device of REGION's fsdax (pfn) namespace.
fsdax_blockdev() {
	local dev
	for dev in /sys/bus/nd/devices/"$1"/pfn*/block/*; do
		[[ -e $dev ]] && basename "$dev" && return 0
	done
	return 1
}

# fsdax_namespace REGION: the block device of REGION's fsdax namespace, made
# on first boot. QEMU's label area starts blank, so the labels are initialised
# first; the namespace then persists in the backing file across boots.
fsdax_namespace() {
	local region=$1 dimm ns
	if ! ns=$(fsdax_blockdev "$region"); then
		dimm=$(cut -d, -f1 "/sys/bus/nd/devices/$region/mapping0")
		echo "daxfs-guest: creating an fsdax namespace on $region ($dimm)" >&2
		{
			ndctl disable-region "$region" &&
				ndctl init-labels -f "$dimm" &&
				ndctl enable-region "$region" &&
				ndctl create-namespace -r "$region" -m fsdax -M mem -a 2M
		} >/tmp/ndctl-$region.log 2>&1 || {
			cat /tmp/ndctl-$region.log >&2
			return 1
		}
		ns=$(fsdax_blockdev "$region") || return 1
	fi
	[[ -b /dev/$ns && $(cat "/sys/block/$ns/queue/dax") == 1 ]] || return 1
	echo "/dev/$ns"
}

TEST_DEV=$(fsdax_namespace region0) || fail "no DAX-capable fsdax namespace on region0"
SCRATCH_DEV=$(fsdax_namespace region1) || fail "no DAX-capable fsdax namespace on region1"
export TEST_DEV SCRATCH_DEV TEST_DIR=/mnt/test SCRATCH_MNT=/mnt/scratch
echo "daxfs-guest: test pmem $TEST_DEV, scratch pmem $SCRATCH_DEV (both fsdax)"

if [[ -n ${DAXFS_MODULE:-} ]]; then
	insmod "/repo/$DAXFS_MODULE" || fail "insmod /repo/$DAXFS_MODULE failed" 126
	echo "daxfs-guest: loaded /repo/$DAXFS_MODULE"
	export DAXFS_MODULE
fi

# The tools run from a tmpfs copy mounted over their directory: the 9p share
# caches nothing, so every exec would read the binary's pages from the host
# again (a third of a second each under TCG, thousands of times in make check).
if [[ -d /repo/target/release ]]; then
	mkdir -p /run/daxfs-tools
	find /repo/target/release -maxdepth 1 -type f -perm -u+x -exec cp -t /run/daxfs-tools {} + &&
		mount --bind /run/daxfs-tools /repo/target/release ||
		fail "could not copy the tools in /repo/target/release to tmpfs"
fi

# The userspace tools, under the names mkfs(8) and fsck(8) look for (cargo
# cannot name a binary mkfs.daxfs).
for tool in mkfs fsck; do
	bin=/repo/target/release/$tool-daxfs
	[[ -x $bin ]] && ln -sf "$bin" "/usr/local/sbin/$tool.daxfs"
done
[[ -x /repo/target/release/daxfs-edit ]] && ln -sf /repo/target/release/daxfs-edit /usr/local/sbin/daxfs-edit

cd /repo || fail "no /repo share"
if [[ $DAXFS_INTERACTIVE == 1 ]]; then
	cat >/root/.bashrc <<-EOF
		export TEST_DEV=$TEST_DEV SCRATCH_DEV=$SCRATCH_DEV TEST_DIR=/mnt/test SCRATCH_MNT=/mnt/scratch
		PS1='daxfs-guest:\w# '
	EOF
	cat <<-EOF

		daxfs guest: test pmem $TEST_DEV, scratch pmem $SCRATCH_DEV (fsdax), repository at /repo (read-only),
		/results is shared with the host. Leave with 'exit' (or Ctrl-A X to kill the VM).

	EOF
	setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
	# Leave a person's file systems clean (commands power off as they are: the reboot test
	# relies on that to stand for a crash).
	umount -a -t daxfs 2>/dev/null
	finish 0
fi

bash -c "$(cat /results/cmd)"
finish $?
