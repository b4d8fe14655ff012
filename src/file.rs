// SPDX-License-Identifier: GPL-2.0

//! Regular file data: mapping file blocks to the device for DAX reads and writes.
//!
//! Writes allocate in `map_blocks`, under the inode's `i_rwsem`: a run of blocks is zeroed and
//! marked in the bitmap before the extent that references it is written, so neither a reader
//! nor a crash can ever see data of a deleted file. The size grows after the data is written.

use kernel::prelude::*;

use crate::{
    format,
    inode::{
        self,
        write_disk_inode,
        Inode, //
    },
    vfs::BlockMap,
};

/// The most blocks one write allocates at a time (iomap asks again for the rest).
const MAX_RUN: u64 = 32768;

/// The inline extents of `disk`, sorted by file block.
fn inline_extents(ino: u64, disk: &format::Inode) -> Result<KVec<format::Extent>> {
    let mut extents = KVec::with_capacity(format::INLINE_EXTENTS + 1, GFP_KERNEL)?;
    for index in 0..disk.inline_extent_count() {
        extents.push(
            disk.inline_extent(index)
                .map_err(|e| inode::corrupted(ino, e))?,
            GFP_KERNEL,
        )?;
    }
    Ok(extents)
}

/// Adds `new` to the sorted `extents`, merging it with a neighbour it continues.
fn insert_extent(extents: &mut KVec<format::Extent>, new: format::Extent) -> Result {
    let at = extents
        .iter()
        .position(|e| e.logical > new.logical)
        .unwrap_or(extents.len());
    if at > 0 {
        let prev = &mut extents[at - 1];
        if prev.logical_end() == Some(new.logical) && prev.physical_end() == Some(new.physical) {
            prev.len = prev.len.checked_add(new.len).ok_or(EFBIG)?;
            return Ok(());
        }
    }
    extents.insert_within_capacity(at, new).map_err(|_| ENOMEM)
}

/// Maps `len` bytes of `inode` at `pos`; for a write, allocates the hole at `pos`.
pub(crate) fn map_blocks(inode: &Inode, pos: u64, len: u64, write: bool) -> Result<BlockMap> {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    let first = pos / format::BLOCK_SIZE_U64;
    let mut end = pos
        .checked_add(len.max(1))
        .ok_or(EFBIG)?
        .div_ceil(format::BLOCK_SIZE_U64);
    // Only writes are bounded by the largest file; a lookup (FIEMAP, SEEK_HOLE) may ask
    // about any range and gets a hole beyond it.
    if write {
        end = end.min(format::MAX_FILE_BLOCKS);
        if first >= end {
            return Err(EFBIG);
        }
    }
    let mut disk = inode.data().disk.lock();
    if disk.overflow_block != 0 {
        // Files written by this module keep their extents inline; others are read through map_block.
        let block = inode::map_block(sbi, ino, &disk, first)?;
        if block.is_some() || !write {
            return Ok(BlockMap {
                file_block: first,
                blocks: 1,
                device_block: block,
                new: false,
            });
        }
        pr_warn!(
            "inode {ino}: cannot allocate into a file with overflow extents (not supported yet)\n"
        );
        return Err(ENOSPC);
    }
    let mut extents = inline_extents(ino, &disk)?;
    if let Some(e) = extents.iter().find(|e| e.map(first).is_some()) {
        let run_end = e.logical_end().ok_or(EUCLEAN)?.min(end);
        return Ok(BlockMap {
            file_block: first,
            blocks: run_end - first,
            device_block: e.map(first),
            new: false,
        });
    }
    let previous = extents.iter().rev().find(|e| e.logical < first).copied();
    let hole_end = extents
        .iter()
        .map(|e| e.logical)
        .find(|&l| l > first)
        .unwrap_or(end)
        .min(end);
    if !write {
        return Ok(BlockMap {
            file_block: first,
            blocks: hole_end - first,
            device_block: None,
            new: false,
        });
    }
    // Continue the previous extent on the device when the blocks after it are free.
    let goal = previous.and_then(|e| {
        e.physical_end()
            .map(|p| p + (first - e.logical - u64::from(e.len)))
    });
    let (block, blocks) = sbi.alloc_run(goal, (hole_end - first).min(MAX_RUN))?;
    let new = format::Extent {
        logical: first,
        physical: block,
        len: u32::try_from(blocks).map_err(|_| EFBIG)?,
    };
    insert_extent(&mut extents, new)?;
    if extents.len() > format::INLINE_EXTENTS {
        pr_warn!(
            "inode {ino}: more than {} extents (overflow extents not supported yet)\n",
            format::INLINE_EXTENTS
        );
        sbi.free_blocks(block, blocks)?;
        return Err(ENOSPC);
    }
    for (index, extent) in extents.iter().enumerate() {
        disk.set_inline_extent(index, extent).map_err(|_| EUCLEAN)?;
    }
    disk.extent_count = extents.len() as u32;
    disk.blocks += blocks;
    write_disk_inode(sbi, ino, &disk)?;
    sbi.pmem.fence();
    inode.set_size(disk.size, disk.blocks * format::BLOCK_SIZE_U64);
    Ok(BlockMap {
        file_block: first,
        blocks,
        device_block: Some(block),
        new: true,
    })
}

/// Grows the size of `inode` to `end` after a write that reached it.
pub(crate) fn extend_size(inode: &Inode, end: u64) -> Result {
    let sbi = inode.super_block().data();
    let mut disk = inode.data().disk.lock();
    if end > disk.size {
        disk.size = end;
        write_disk_inode(sbi, inode.ino(), &disk)?;
        sbi.pmem.fence();
        inode.set_size(disk.size, disk.blocks * format::BLOCK_SIZE_U64);
    }
    Ok(())
}
