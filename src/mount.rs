// SPDX-License-Identifier: GPL-2.0

//! Mounting: options, reading and checking the superblock, statfs and show_options.

use kernel::{
    prelude::*,
    str::CString, //
};

use crate::{
    format,
    vfs::{
        DaxMode,
        FsContext,
        MountParam,
        Pmem,
        SeqFile,
        StatFs,
        SuperBlock, //
    },
    Daxfs,
};

/// Mount options.
#[derive(Default)]
pub(crate) struct Options {
    /// `dax=`: only `always` is supported, as file data lives in persistent memory only.
    dax: DaxMode,
}

/// Per-mount state.
pub(crate) struct SbInfo {
    /// The device's persistent memory.
    pub(crate) pmem: Pmem,
    /// The superblock as read at mount.
    pub(crate) disk: format::Superblock,
    /// The DAX mode in effect.
    dax: DaxMode,
}

/// A format error, displayable in kernel messages (the kernel has its own `Display` trait).
pub(crate) struct Why(pub(crate) format::FormatError);

impl kernel::fmt::Display for Why {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// Reports `what` and the format error `err` for this mount attempt; returns the errno.
pub(crate) fn report(fc: &mut FsContext, what: &str, err: format::FormatError) -> Error {
    match CString::try_from_fmt(fmt!("{what}: {}", Why(err))) {
        Ok(msg) => fc.error(&msg),
        Err(_) => fc.error(c"invalid file system (and no memory to say why)"),
    }
    EINVAL
}

/// Applies one mount parameter.
pub(crate) fn parse_param(fc: &mut FsContext, opts: &mut Options, param: MountParam) -> Result {
    match param {
        MountParam::Dax(DaxMode::Always) => opts.dax = DaxMode::Always,
        MountParam::Dax(_) => {
            fc.error(c"dax=never and dax=inode are not supported yet: use dax=always");
            return Err(EOPNOTSUPP);
        }
    }
    Ok(())
}

/// Reads and checks the superblock on `pmem`.
pub(crate) fn fill_super(
    sb: &SuperBlock<Daxfs>,
    opts: &Options,
    pmem: Pmem,
    fc: &mut FsContext,
) -> Result<SbInfo> {
    let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
    pmem.read(0, &mut block)?;
    let disk = format::Superblock::decode(&block).map_err(|e| report(fc, "bad superblock", e))?;
    disk.validate_geometry(pmem.len() / format::BLOCK_SIZE_U64)
        .map_err(|e| report(fc, "superblock does not fit the device", e))?;
    if !sb.is_read_only() {
        disk.check_writable()
            .map_err(|e| report(fc, "cannot mount read-write, mount with -o ro", e))?;
    }
    if disk.state != format::STATE_CLEAN {
        pr_warn!("file system was not cleanly unmounted; run fsck.daxfs\n");
    }
    Ok(SbInfo {
        pmem,
        disk,
        dax: opts.dax,
    })
}

/// Checks a remount's options: the DAX mode of a mounted file system cannot change.
pub(crate) fn reconfigure(sb: &SuperBlock<Daxfs>, fc: &mut FsContext, opts: &Options) -> Result {
    if opts.dax != sb.data().dax {
        fc.error(c"the dax= mode cannot change on remount");
        return Err(EINVAL);
    }
    Ok(())
}

/// Usage for statfs(2). Until daxfs writes, the superblock's counters are current.
pub(crate) fn statfs(sb: &SuperBlock<Daxfs>) -> Result<StatFs> {
    let disk = &sb.data().disk;
    let uuid = disk.uuid;
    let word = |i: usize| u32::from_le_bytes([uuid[i], uuid[i + 1], uuid[i + 2], uuid[i + 3]]);
    Ok(StatFs {
        blocks: disk.data_blocks(),
        free_blocks: disk.free_blocks,
        files: disk.inode_count,
        free_files: disk.free_inodes,
        name_len: format::MAX_NAME_LEN as u64,
        fsid: [word(0) ^ word(8), word(4) ^ word(12)],
    })
}

/// Mount options for /proc/mounts: the DAX mode always, since tools look for it there.
pub(crate) fn show_options(sb: &SuperBlock<Daxfs>, seq: &mut SeqFile) -> Result {
    seq.puts(match sb.data().dax {
        DaxMode::Always => c",dax=always",
        DaxMode::Never => c",dax=never",
        DaxMode::Inode => c",dax=inode",
    });
    Ok(())
}
