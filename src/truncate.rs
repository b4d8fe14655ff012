// SPDX-License-Identifier: GPL-2.0

//! Changing the size of a file without ever freeing a block whose page is still mapped or
//! pinned.
//!
//! With DAX the page a process maps, or a device has pinned for DMA, *is* the file system
//! block. So, as in ext4 and XFS, a size change runs under `i_rwsem` (held by the VFS) and the
//! invalidate lock held exclusively, which keeps faults out; it first breaks the layout of the
//! file (unmaps it everywhere and waits, without the lock, until no page of it is pinned), and
//! only then zeroes the partial block at the end, publishes the new size and extents, and frees
//! the blocks beyond the end. A signal while waiting returns `ERESTARTSYS` before anything has
//! changed.
//!
//! On persistent memory, the inode with its new size and shortened extents is written before
//! the blocks' bitmap bits are cleared (see [`crate::alloc`]): a crash in between leaks blocks
//! that fsck reclaims, and never hands out a block the file still maps.

use kernel::prelude::*;

use crate::{
    extents::{
        free_chain,
        ExtentMap, //
    },
    format,
    inode::{
        self,
        write_disk_inode,
        Inode, //
    },
    mount::SbInfo,
    vfs::trace,
};

/// Sets the size of the regular file `inode` to `size`, growing (with zeroes) or shrinking it.
/// The caller (setattr) holds `i_rwsem`.
pub(crate) fn set_size(inode: &Inode, size: u64) -> Result {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    inode.dio_wait();
    let invalidate = inode.invalidate_lock();
    // Truncation in either direction breaks the whole file's layout, as ext4 and XFS do: a
    // growing file still zeroes the tail of its old last block, which a mapping could write.
    invalidate.break_layouts(0, u64::MAX)?;

    let (old_size, freed, old_chain) = {
        let mut disk = inode.data().disk.lock();
        // Bytes past the end of the block that holds the (new or old) end of file must read
        // as zeroes when the file grows again: they may hold data written through a mapping,
        // which reaches to the end of its page, or data of the longer file.
        zero_block_tail(sbi, ino, &disk, size.min(disk.size))?;

        let mut map = ExtentMap::load(sbi, ino, &disk)?;
        let freed = map.truncate(size.div_ceil(format::BLOCK_SIZE_U64))?;
        let old_chain = map.store(sbi, ino, &mut disk)?;
        disk.blocks -= freed.iter().map(|e| u64::from(e.len)).sum::<u64>();
        let old_size = disk.size;
        disk.size = size;
        // The commit point: the new size and extents, durable before any block is freed.
        write_disk_inode(sbi, ino, &disk)?;
        sbi.pmem.fence();
        inode.set_size(disk.size, disk.blocks * format::BLOCK_SIZE_U64);
        (old_size, freed, old_chain)
    };
    let freed_blocks = freed.iter().map(|e| u64::from(e.len)).sum();
    trace::truncate(ino, old_size, size, freed_blocks);
    invalidate.truncate_pagecache(size);
    free_chain(sbi, ino, &old_chain)?;
    for extent in &freed {
        sbi.free_blocks(ino, extent.physical, u64::from(extent.len))?;
    }
    Ok(())
}

/// Zeroes the bytes of the file `disk` (inode `ino`) from `pos` to the end of its block, if
/// that block is allocated. Nothing may map the block (the caller broke the layout).
fn zero_block_tail(sbi: &SbInfo, ino: u64, disk: &format::Inode, pos: u64) -> Result {
    let in_block = pos % format::BLOCK_SIZE_U64;
    if in_block == 0 {
        return Ok(());
    }
    if let Some(block) = inode::map_block(sbi, ino, disk, pos / format::BLOCK_SIZE_U64)? {
        sbi.pmem.zero(
            SbInfo::block_offset(block) + in_block,
            format::BLOCK_SIZE_U64 - in_block,
        )?;
        sbi.pmem.fence();
    }
    Ok(())
}
