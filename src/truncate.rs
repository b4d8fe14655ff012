// SPDX-License-Identifier: GPL-2.0

//! Removing blocks from a file (truncate, punch hole, zero range) without ever freeing a block
//! whose page is still mapped or pinned: the size change of `setattr` (the inode operations of
//! regular files) and hole punching.
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
        self,
        free_chain,
        ExtentMap, //
    },
    format,
    inode::Inode,
    meta::{
        block_offset,
        blocks_to_bytes,
        corrupted,
        mapped_blocks, //
    },
    sb_info::SbInfo,
    vfs::{
        self,
        trace, //
    },
    Daxfs,
};

/// The blocks `freed` map, checked against the `blocks` inode `ino` owns (a count from the disk).
fn checked_freed(ino: u64, blocks: u64, freed: &[format::Extent]) -> Result<u64> {
    let count = mapped_blocks(freed);
    if count > blocks {
        return Err(corrupted(
            ino,
            format::FormatError::BadInode("block count smaller than its extents"),
        ));
    }
    Ok(count)
}

/// Zeroes `len` bytes of the file `disk` (inode `ino`) at `pos`, which lie in one block, if that
/// block is allocated. Nothing may map the block (the caller broke the layout).
fn zero_in_block(sbi: &SbInfo, ino: u64, disk: &format::Inode, pos: u64, len: u64) -> Result {
    if len == 0 {
        return Ok(());
    }
    if let Some(block) = extents::map_block(sbi, ino, disk, pos / format::BLOCK_SIZE_U64)? {
        sbi.pmem
            .zero(block_offset(block) + pos % format::BLOCK_SIZE_U64, len)?;
        sbi.pmem.fence();
    }
    Ok(())
}

/// Zeroes the bytes of the file from `pos` to the end of its block.
fn zero_block_tail(sbi: &SbInfo, ino: u64, disk: &format::Inode, pos: u64) -> Result {
    let in_block = pos % format::BLOCK_SIZE_U64;
    if in_block == 0 {
        return Ok(());
    }
    zero_in_block(sbi, ino, disk, pos, format::BLOCK_SIZE_U64 - in_block)
}

/// Makes `offset..end` of the file read as zeros: breaks the layout of the range (waits until no
/// page of it is pinned), zeroes the partial blocks at its edges, commits the extents without its
/// whole blocks, and frees those.
pub(crate) fn punch_hole(inode: &Inode, offset: u64, end: u64, zero_range: bool) -> Result {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    let invalidate = inode.invalidate_lock();
    invalidate.break_layouts(offset, end - 1)?;
    let first_whole = offset.div_ceil(format::BLOCK_SIZE_U64);
    let end_whole = end / format::BLOCK_SIZE_U64;
    let (freed, old_chain) = {
        let mut disk = inode.data().disk.lock();
        // The partial blocks at the edges keep their other bytes: zero just the range in them.
        let head_end = (first_whole * format::BLOCK_SIZE_U64).min(end);
        zero_in_block(sbi, ino, &disk, offset, head_end - offset)?;
        if end_whole >= first_whole {
            let tail_start = (end_whole * format::BLOCK_SIZE_U64).max(offset);
            zero_in_block(sbi, ino, &disk, tail_start, end - tail_start)?;
        }
        let mut map = ExtentMap::load(sbi, ino, &disk)?;
        let freed = map.remove(first_whole, end_whole)?;
        if freed.is_empty() {
            return Ok(());
        }
        // Checked before anything is written: the count comes from the disk. Storing the map
        // only adds the new overflow chain and drops the old one, so the subtraction stays valid.
        let freed_count = checked_freed(ino, disk.blocks, &freed)?;
        let old_chain = map.store(sbi, ino, &mut disk)?;
        disk.blocks -= freed_count;
        // The commit point: extents without the range, durable before its blocks are freed.
        sbi.write_inode(ino, &disk)?;
        sbi.pmem.fence();
        inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
        (freed, old_chain)
    };
    let freed_blocks = mapped_blocks(&freed);
    trace::punch_hole(ino, offset, end - offset, freed_blocks, zero_range);
    free_chain(sbi, ino, &old_chain)?;
    for extent in &freed {
        sbi.alloc
            .free_blocks(&sbi.pmem, ino, extent.physical, u64::from(extent.len))?;
    }
    Ok(())
}

/// The inode operations of daxfs regular files that the VFS layer does not do itself.
pub(crate) struct FileInodeOps;

impl vfs::inode::Operations<Daxfs> for FileInodeOps {
    /// Sets the size of the regular file `inode` to `size`, growing (with zeroes) or shrinking it.
    /// The caller (setattr) holds `i_rwsem`.
    fn set_size(inode: &Inode, size: u64) -> Result {
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
            let freed = map.remove(size.div_ceil(format::BLOCK_SIZE_U64), u64::MAX)?;
            // Checked before anything is written: the count comes from the disk. Storing the map
            // only adds the new overflow chain and drops the old one, so the subtraction stays valid.
            let freed_count = checked_freed(ino, disk.blocks, &freed)?;
            let old_chain = map.store(sbi, ino, &mut disk)?;
            disk.blocks -= freed_count;
            let old_size = disk.size;
            disk.size = size;
            // The commit point: the new size and extents, durable before any block is freed.
            sbi.write_inode(ino, &disk)?;
            sbi.pmem.fence();
            inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
            (old_size, freed, old_chain)
        };
        let freed_blocks = mapped_blocks(&freed);
        trace::truncate(ino, old_size, size, freed_blocks);
        invalidate.truncate_pagecache(size);
        free_chain(sbi, ino, &old_chain)?;
        for extent in &freed {
            sbi.alloc
                .free_blocks(&sbi.pmem, ino, extent.physical, u64::from(extent.len))?;
        }
        Ok(())
    }
}
