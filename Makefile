# SPDX-License-Identifier: GPL-2.0
# daxfs: top-level targets. See README.md.
#
#   make            build daxfs.ko (and the test module daxfs_pin.ko) against the cached debug kernel
#                   (KDIR=... to use your own tree)
#   make check      host tests, module build with clippy, VM tests on the debug kernel
#   make run        boot the VM with the module loaded; CMD='...' runs a command instead of a shell
#   make kernel     build (or find in the cache) the kernel of FLAVOUR=debug|perf
#   make rootfs     build (or find in the cache) the guest root filesystem
#   make bench      daxfs against ext4-dax and xfs-dax on the perf kernel (RUNS=5); see README.md
#   make fuzz       mutated images mounted and used in the VM on the debug kernel
#                   (FUZZ_IMAGES=10000, FUZZ_FIRST=1); see README.md
#   make crashtest  crash states of recorded workloads checked with fsck -n
#                   (CRASH_WORKLOADS, CRASH_SUBSETS=64, CRASH_SEED=1); see README.md
#   make extents-long  a file of 1,000,000 extents (EXTENTS=N) in the VM, perf kernel
#   make fstests    fstests in the VM on daxfs, then ext4 -o dax as the control, perf kernel
#                   (FSTESTS=quick, FSTESTS_FS="daxfs ext4", FSTESTS_OUT=dir to resume); see README.md

FLAVOUR ?= debug
BUILD := build/$(FLAVOUR)
LLVM_SUFFIX := -19
# W=e turns C and Rust warnings into errors.
MODULE_FLAGS := LLVM=$(LLVM_SUFFIX) W=e $(if $(filter 1,$(CLIPPY)),CLIPPY=1)

# The kernel tree: KDIR if given, else the cached build of FLAVOUR (built on first use).
kdir = $${KDIR:-$$(scripts/build-kernel.sh $(FLAVOUR))}

.PHONY: all module tools setup kernel rootfs check bench fuzz crashtest extents-long fstests run fmt fmtcheck clean

all: module

setup:
	@scripts/setup-host.sh

kernel: setup
	@scripts/build-kernel.sh $(FLAVOUR) >/dev/null

rootfs: setup
	@scripts/build-rootfs.sh >/dev/null

module: setup
	@set -e; k=$(kdir); mkdir -p $(BUILD) $(BUILD)/pin; \
	export LIBCLANG_PATH=/usr/lib/llvm$(LLVM_SUFFIX)/lib PATH="$$HOME/.cargo/bin:$$PATH"; \
	$(MAKE) --no-print-directory -C "$$k" M=$(CURDIR) MO=$(CURDIR)/$(BUILD) $(MODULE_FLAGS) modules; \
	$(MAKE) --no-print-directory -C "$$k" M=$(CURDIR)/tests/pin MO=$(CURDIR)/$(BUILD)/pin $(MODULE_FLAGS) modules
	@echo "built $(BUILD)/daxfs.ko and the test module $(BUILD)/pin/daxfs_pin.ko"

# The userspace tools (mkfs.daxfs, fsck.daxfs, daxfs-edit), which the guest links from
# target/release.
tools: setup
	@PATH="$$HOME/.cargo/bin:$$PATH" cargo build --release --locked --bins

fmt:
	@rustfmt --edition 2021 src/daxfs_main.rs tests/pin/daxfs_pin.rs

fmtcheck:
	@rustfmt --edition 2021 --check src/daxfs_main.rs tests/pin/daxfs_pin.rs

check: setup
	@scripts/check.sh

bench: setup
	@scripts/bench.sh

fuzz: setup
	@scripts/fuzz.sh

crashtest: setup
	@scripts/crashtest.sh

extents-long: setup
	@scripts/extents-long.sh

fstests: setup
	@scripts/fstests.sh

# The console (kernel log and the command's output) goes to the terminal. CMD reaches the
# guest's bash verbatim: `$(value CMD)` is not expanded by make, so `$HOME` stays `$HOME`.
run: module rootfs tools
	@VM_VERBOSE=1 qemu/run-vm.sh --flavour $(FLAVOUR) $(if $(KDIR),--kernel $(KDIR)) --module $(BUILD)/daxfs.ko \
		$(if $(PMEM_DIR),--pmem-dir $(PMEM_DIR)) \
		$(if $(value CMD),-- bash -c '$(subst ','\'',$(value CMD))')

clean:
	rm -rf build
