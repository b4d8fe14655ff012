// SPDX-License-Identifier: GPL-2.0

//! The iomap operations of regular files: how a file range maps to the device, for DAX reads,
//! writes and faults, the page cache's reads, writes and writeback of files without DAX,
//! direct I/O to them, FIEMAP, and SEEK_HOLE/SEEK_DATA.
//!
//! C header: [`include/linux/iomap.h`](srctree/include/linux/iomap.h).

use core::marker::PhantomData;

use kernel::{
    error::from_result,
    prelude::*, //
};

use super::{
    fs_type::FileSystem,
    inode::Inode,
    raw,
    xattr::Operations as _, //
};

/// How a range of a file maps to the device, as `FileSystem::map_blocks` reports it.
pub(crate) struct BlockMap {
    /// First file block of the range.
    pub(crate) file_block: u64,
    /// Blocks in the range.
    pub(crate) blocks: u64,
    /// First device block, `None` for a hole.
    pub(crate) device_block: Option<u64>,
    /// The blocks were just allocated (zeroed, unless `unwritten`) or converted from unwritten
    /// (zeroed).
    pub(crate) new: bool,
    /// The blocks are allocated but unwritten: they read as zeros (never for a write).
    pub(crate) unwritten: bool,
}

/// The block mapping that a file system implements (`iomap_ops`).
pub(crate) trait Operations<T: FileSystem> {
    /// Maps `len` bytes of the regular file `inode` at `pos` to the device; for a write,
    /// allocates (zeroed) blocks for a hole there, or zeroes and converts unwritten ones. The
    /// caller holds the inode's `i_rwsem`, its invalidate lock (faults, readahead), or a locked
    /// folio of the range (page-cache reads and writeback, which never allocate).
    fn map_blocks(inode: &Inode<T>, pos: u64, len: u64, write: bool) -> Result<BlockMap>;
}

/// The `iomap_ops` of `T`'s regular files.
pub(super) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    pub(super) const IOMAP: raw::iomap_ops = raw::iomap_ops {
        iomap_begin: Some(iomap_begin_callback::<T>),
        iomap_end: None,
        iomap_next: None,
    };
    /// FIEMAP of the extended attributes (`FIEMAP_FLAG_XATTR`, `xfs_io -c 'fiemap -a'`).
    const XATTR_IOMAP: raw::iomap_ops = raw::iomap_ops {
        iomap_begin: Some(xattr_iomap_begin_callback::<T>),
        iomap_end: None,
        iomap_next: None,
    };
}

/// `iomap_ops::iomap_begin` of [`Tables::XATTR_IOMAP`]: the inode's extended-attribute block
/// as the one block at offset 0; `ENOENT` past it, or without one (which ends the FIEMAP
/// without an error, as for ext4).
///
/// # Safety
///
/// Called by iomap with a ready inode of `T` under its `i_rwsem`, and a valid `iomap` output.
unsafe extern "C" fn xattr_iomap_begin_callback<T: FileSystem>(
    inode: *mut raw::inode,
    pos: raw::loff_t,
    _length: raw::loff_t,
    _flags: c_uint,
    iomap: *mut raw::iomap,
    _srcmap: *mut raw::iomap,
) -> c_int {
    from_result(|| {
        // SAFETY: iomap passes a ready inode of `T`.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        inode.super_block().check_running()?;
        let block = T::XattrOps::block(inode)?.ok_or(ENOENT)?;
        if pos >= kernel::page::PAGE_SIZE as raw::loff_t {
            return Err(ENOENT);
        }
        let map = BlockMap {
            file_block: 0,
            blocks: 1,
            device_block: Some(block),
            new: false,
            unwritten: false,
        };
        // SAFETY: `iomap` is a valid output, ours for the call.
        fill(inode, &map, false, unsafe { &mut *iomap });
        Ok(0)
    })
}

/// `iomap_ops::iomap_begin`: maps (and for writes allocates) the range at `pos`.
///
/// # Safety
///
/// Called by iomap with a ready inode of `T` under its `i_rwsem` (or the invalidate lock, or a
/// folio lock: see [`Operations::map_blocks`]), and valid `iomap`/`srcmap` outputs.
unsafe extern "C" fn iomap_begin_callback<T: FileSystem>(
    inode: *mut raw::inode,
    pos: raw::loff_t,
    length: raw::loff_t,
    flags: c_uint,
    iomap: *mut raw::iomap,
    _srcmap: *mut raw::iomap,
) -> c_int {
    from_result(|| {
        // SAFETY: iomap passes a ready inode of `T`.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        // Reads, writes and faults of a shut down file system fail (a fault with SIGBUS).
        inode.super_block().check_running()?;
        let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
        let length = u64::try_from(length).map_err(|_| EINVAL)?;
        let map = T::IomapOps::map_blocks(inode, pos, length, flags & raw::IOMAP_WRITE != 0)?;
        let dax = flags & raw::IOMAP_DAX != 0;
        // SAFETY: `iomap` is a valid output, ours for the call.
        fill(inode, &map, dax, unsafe { &mut *iomap });
        Ok(0)
    })
}

/// Describes `map` of `inode` in `m`: for DAX I/O and faults (`dax`), its blocks by their DAX
/// device offsets; otherwise (bios of files in the page cache, FIEMAP, FIBMAP, SEEK_DATA) by
/// their byte offsets on the block device, as ext4 and XFS report them.
pub(super) fn fill<T: FileSystem>(inode: &Inode<T>, map: &BlockMap, dax: bool, m: &mut raw::iomap) {
    let sb = inode.super_block();
    let pmem = sb.pmem();
    // CAST: file offsets and lengths come from block numbers below `MAX_FILE_BLOCKS`, so they
    // fit `loff_t`.
    m.offset = (map.file_block << kernel::page::PAGE_SHIFT) as i64;
    m.length = map.blocks << kernel::page::PAGE_SHIFT;
    m.dax_dev = pmem.dax_device();
    m.bdev = sb.bdev();
    // CAST: the `IOMAP_*` types and flags are small `u16` values that bindgen widened.
    match map.device_block {
        Some(block) => {
            // DAX and the page cache read an unwritten range as a hole, and FIEMAP reports it
            // as unwritten.
            m.type_ = if map.unwritten {
                raw::IOMAP_UNWRITTEN
            } else {
                raw::IOMAP_MAPPED
            } as u16;
            let offset = block << kernel::page::PAGE_SHIFT;
            m.addr = if dax && inode.is_dax() {
                pmem.dax_addr(offset)
            } else {
                offset
            };
        }
        None => {
            m.type_ = raw::IOMAP_HOLE as u16;
            m.addr = raw::IOMAP_NULL_ADDR as u64;
        }
    }
    if map.new {
        m.flags |= raw::IOMAP_F_NEW as u16;
    }
}

/// `inode_operations::fiemap`: the block map, through iomap, under the shared `i_rwsem`.
///
/// # Safety
///
/// Called by the VFS with a ready regular inode of `T` and a valid `fiemap_extent_info`.
pub(super) unsafe extern "C" fn fiemap_callback<T: FileSystem>(
    inode: *mut raw::inode,
    info: *mut raw::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    let _lock = inode.lock_shared();
    // SAFETY: `info` is valid for the call.
    let table = if unsafe { raw::daxfs_fiemap_take_xattr(info.cast()) } {
        &Tables::<T>::XATTR_IOMAP
    } else {
        &Tables::<T>::IOMAP
    };
    // SAFETY: The inode is live and its `i_rwsem` held; `info` is valid; the table is `'static`.
    unsafe { raw::iomap_fiemap(inode.as_raw(), info, start, len, table) }
}
