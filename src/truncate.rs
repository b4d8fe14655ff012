// SPDX-License-Identifier: GPL-2.0

//! Removing blocks from a file (truncate, punch hole, zero range) without ever freeing a block
//! whose page is still mapped or pinned; and fallocate.
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
    file, format,
    inode::{
        self,
        write_disk_inode,
        Inode, //
    },
    mount::SbInfo,
    vfs::{
        trace,
        Fallocate, //
    },
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
        let freed = map.remove(size.div_ceil(format::BLOCK_SIZE_U64), u64::MAX)?;
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

/// Zeroes `len` bytes of the file `disk` (inode `ino`) at `pos`, which lie in one block, if that
/// block is allocated. Nothing may map the block (the caller broke the layout).
fn zero_in_block(sbi: &SbInfo, ino: u64, disk: &format::Inode, pos: u64, len: u64) -> Result {
    if len == 0 {
        return Ok(());
    }
    if let Some(block) = inode::map_block(sbi, ino, disk, pos / format::BLOCK_SIZE_U64)? {
        sbi.pmem.zero(
            SbInfo::block_offset(block) + pos % format::BLOCK_SIZE_U64,
            len,
        )?;
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

/// fallocate(2) on the regular file `inode`; the caller holds `i_rwsem` and has waited for
/// direct I/O.
pub(crate) fn fallocate(inode: &Inode, mode: Fallocate, offset: u64, len: u64) -> Result {
    let end = offset.checked_add(len).ok_or(EFBIG)?;
    if end > format::MAX_FILE_SIZE {
        return Err(EFBIG);
    }
    match mode {
        Fallocate::Allocate { keep_size } => allocate(inode, offset, end, keep_size),
        Fallocate::PunchHole => punch_hole(inode, offset, end, false),
        Fallocate::ZeroRange { keep_size } => {
            // Zeroes (and frees) the range, then allocates fresh zeroed blocks for it.
            punch_hole(inode, offset, end, true)?;
            allocate(inode, offset, end, keep_size)
        }
    }
}

/// Allocates zeroed blocks for the holes of `offset..end` and, unless `keep_size`, grows the
/// file to `end`. Allocation only fills holes, so no mapping or pin is affected.
fn allocate(inode: &Inode, offset: u64, end: u64, keep_size: bool) -> Result {
    let mut pos = offset;
    while pos < end {
        let map = file::map_blocks(inode, pos, end - pos, true)?;
        pos = (map.file_block + map.blocks) * format::BLOCK_SIZE_U64;
    }
    if !keep_size {
        file::extend_size(inode, end)?;
    }
    Ok(())
}

/// Makes `offset..end` of the file read as zeros: breaks the layout of the range (waits until no
/// page of it is pinned), zeroes the partial blocks at its edges, commits the extents without its
/// whole blocks, and frees those.
fn punch_hole(inode: &Inode, offset: u64, end: u64, zero_range: bool) -> Result {
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
        let old_chain = map.store(sbi, ino, &mut disk)?;
        disk.blocks -= freed.iter().map(|e| u64::from(e.len)).sum::<u64>();
        // The commit point: extents without the range, durable before its blocks are freed.
        write_disk_inode(sbi, ino, &disk)?;
        sbi.pmem.fence();
        inode.set_size(disk.size, disk.blocks * format::BLOCK_SIZE_U64);
        (freed, old_chain)
    };
    let freed_blocks = freed.iter().map(|e| u64::from(e.len)).sum();
    trace::punch_hole(ino, offset, end - offset, freed_blocks, zero_range);
    free_chain(sbi, ino, &old_chain)?;
    for extent in &freed {
        sbi.free_blocks(ino, extent.physical, u64::from(extent.len))?;
    }
    Ok(())
}
