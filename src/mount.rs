// SPDX-License-Identifier: GPL-2.0

//! Mounting: options, reading and checking the superblock, statfs and show_options, and the
//! superblock's state while mounted.
//!
//! A read-write mount marks the superblock dirty before anything else is written and clean,
//! with the free counters, when it ends; the counters in between live in memory. After a crash
//! fsck sees the dirty state and recomputes them. The orphan list's head is the one field
//! written while mounted (see [`crate::orphan`]); a read-write mount first frees the inodes a
//! crash left on that list.

use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};

use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::Mutex, //
};

use crate::{
    format,
    orphan::{
        self,
        OrphanList, //
    },
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

/// What allocation changes while mounted.
pub(crate) struct AllocState {
    /// Free blocks in the data area.
    pub(crate) free_blocks: u64,
    /// Free inodes.
    pub(crate) free_inodes: u64,
    /// Where the next inode search starts.
    pub(crate) inode_hint: u64,
    /// Where the next block search starts.
    pub(crate) block_hint: u64,
}

/// Per-mount state.
#[pin_data(PinnedDrop)]
pub(crate) struct SbInfo {
    /// The device's persistent memory.
    pub(crate) pmem: Pmem,
    /// The superblock as read at mount; its geometry never changes.
    pub(crate) disk: format::Superblock,
    /// The DAX mode in effect.
    dax: DaxMode,
    /// Whether the mount is read-write (and so the superblock marked dirty).
    writable: AtomicBool,
    /// Allocation of blocks and inodes; taken after any inode's lock.
    #[pin]
    pub(crate) alloc: Mutex<AllocState>,
    /// The orphan list; taken after any inode's lock, never with the allocator.
    #[pin]
    pub(crate) orphans: Mutex<OrphanList>,
}

impl SbInfo {
    /// Writes the free counters and `state`: clean at the end of a read-write mount, dirty at
    /// the start of one.
    fn mark(&self, state: u32) -> Result {
        let mut disk = self.disk;
        {
            let alloc = self.alloc.lock();
            disk.free_blocks = alloc.free_blocks;
            disk.free_inodes = alloc.free_inodes;
        }
        disk.state = state;
        // The head is written on its own while mounted: hold it still while the block is rewritten.
        let orphans = self.orphans.lock();
        disk.orphan_head = orphans.head();
        write_superblock(&self.pmem, &disk)
    }
}

#[pinned_drop]
impl PinnedDrop for SbInfo {
    fn drop(self: Pin<&mut Self>) {
        if self.writable.load(Ordering::Relaxed) && self.mark(format::STATE_CLEAN).is_err() {
            pr_err!("could not mark the file system clean at unmount\n");
        }
    }
}

/// Writes `disk` as the superblock and makes it durable.
fn write_superblock(pmem: &Pmem, disk: &format::Superblock) -> Result {
    let mut block = KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL)?;
    disk.encode(&mut block);
    pmem.write(0, &block[..])?;
    pmem.fence();
    Ok(())
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

/// Reads and checks the superblock on `pmem`; a read-write mount marks it dirty.
pub(crate) fn fill_super(
    sb: &SuperBlock<Daxfs>,
    opts: &Options,
    pmem: Pmem,
    fc: &mut FsContext,
) -> Result<impl PinInit<SbInfo, Error>> {
    let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
    pmem.read(0, &mut block)?;
    let mut disk =
        format::Superblock::decode(&block).map_err(|e| report(fc, "bad superblock", e))?;
    disk.validate_geometry(pmem.len() / format::BLOCK_SIZE_U64)
        .map_err(|e| report(fc, "superblock does not fit the device", e))?;
    let writable = !sb.is_read_only();
    if writable {
        disk.check_writable()
            .map_err(|e| report(fc, "cannot mount read-write, mount with -o ro", e))?;
    }
    if disk.state != format::STATE_CLEAN {
        // The counters are written only at a clean unmount: count what the bitmap and the
        // inode table say instead.
        pr_warn!("file system was not cleanly unmounted: recounting free space; run fsck.daxfs\n");
        (disk.free_blocks, disk.free_inodes) = count_free(&pmem, &disk)?;
    }
    // A read-write mount frees the orphans once the superblock is ready (`orphan::reclaim`);
    // a read-only one leaves them for the next read-write mount.
    let orphans = if writable {
        load_orphans(&pmem, &disk, fc)?
    } else {
        if disk.orphan_head != 0 {
            pr_notice!("orphan inodes are freed at the next read-write mount\n");
        }
        OrphanList::new()
    };
    if writable {
        let mut dirty = disk;
        dirty.state = format::STATE_DIRTY;
        write_superblock(&pmem, &dirty)?;
    }
    let dax = opts.dax;
    Ok(try_pin_init!(SbInfo {
        pmem,
        disk,
        dax,
        writable: AtomicBool::new(writable),
        alloc <- new_mutex!(AllocState {
            free_blocks: disk.free_blocks,
            free_inodes: disk.free_inodes,
            inode_hint: format::ROOT_INO + 1,
            block_hint: disk.data_start,
        }),
        orphans <- new_mutex!(orphans),
    }? Error))
}

/// Counts the free data blocks in the bitmap and the free slots in the inode table.
fn count_free(pmem: &Pmem, disk: &format::Superblock) -> Result<(u64, u64)> {
    let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
    let mut free_blocks = 0;
    for index in 0..disk.bitmap_blocks {
        pmem.read(SbInfo::block_offset(disk.bitmap_start + index), &mut block)?;
        free_blocks += disk.free_blocks_in_bitmap_block(index, &block);
    }
    let mut free_inodes = 0;
    for index in 0..disk.inode_table_blocks {
        pmem.read(
            SbInfo::block_offset(disk.inode_table_start + index),
            &mut block,
        )?;
        free_inodes += format::free_inodes_in_table_block(&block);
    }
    Ok((free_blocks, free_inodes))
}

/// Reads the orphan list of a file system about to be written; a damaged list refuses the
/// mount (EUCLEAN), as freeing the wrong inode would lose data.
fn load_orphans(pmem: &Pmem, disk: &format::Superblock, fc: &mut FsContext) -> Result<OrphanList> {
    OrphanList::load(pmem, disk).map_err(|(ino, why, err)| {
        match CString::try_from_fmt(fmt!(
            "orphan list: inode {ino} {why}; run fsck.daxfs, or mount with -o ro"
        )) {
            Ok(msg) => fc.error(&msg),
            Err(_) => fc.error(c"orphan list damaged; run fsck.daxfs, or mount with -o ro"),
        }
        err
    })
}

/// Applies a remount. The DAX mode of a mounted file system cannot change. Read-write to
/// read-only writes the counters and the clean state (the VFS has synced everything first, and
/// daxfs writes metadata synchronously); read-only to read-write checks that this daxfs may
/// write the image and marks it dirty first, as a read-write mount does.
pub(crate) fn reconfigure(
    sb: &SuperBlock<Daxfs>,
    fc: &mut FsContext,
    opts: &Options,
    read_only: bool,
) -> Result {
    let sbi = sb.data();
    if opts.dax != sbi.dax {
        fc.error(c"the dax= mode cannot change on remount");
        return Err(EINVAL);
    }
    let writable = sbi.writable.load(Ordering::Relaxed);
    if !read_only && !writable {
        sbi.disk
            .check_writable()
            .map_err(|e| report(fc, "cannot remount read-write", e))?;
        // Re-read the head: a read-only mount does not keep the list in memory.
        let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
        sbi.pmem.read(0, &mut block)?;
        let mut disk = sbi.disk;
        disk.orphan_head = format::Superblock::decode(&block)
            .map_err(|e| report(fc, "bad superblock", e))?
            .orphan_head;
        *sbi.orphans.lock() = load_orphans(&sbi.pmem, &disk, fc)?;
        sbi.mark(format::STATE_DIRTY)?;
        sbi.writable.store(true, Ordering::Relaxed);
        orphan::reclaim(sb)?;
    }
    if read_only && writable {
        sbi.mark(format::STATE_CLEAN)?;
        sbi.writable.store(false, Ordering::Relaxed);
    }
    Ok(())
}

/// Usage for statfs(2).
pub(crate) fn statfs(sb: &SuperBlock<Daxfs>) -> Result<StatFs> {
    let sbi = sb.data();
    let disk = &sbi.disk;
    let (free_blocks, free_files) = {
        let alloc = sbi.alloc.lock();
        (alloc.free_blocks, alloc.free_inodes)
    };
    let uuid = disk.uuid;
    let word = |i: usize| u32::from_le_bytes([uuid[i], uuid[i + 1], uuid[i + 2], uuid[i + 3]]);
    Ok(StatFs {
        blocks: disk.data_blocks(),
        free_blocks,
        files: disk.inode_count,
        free_files,
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
