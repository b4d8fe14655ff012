// SPDX-License-Identifier: GPL-2.0

//! Regular files: mapping file blocks to the device for DAX reads, writes and faults (the iomap
//! operations), growing the size after a write, and fallocate (the file operations).
//!
//! Writes and write faults allocate in `map_blocks`: a run of blocks is zeroed and
//! marked in the bitmap before the extent that references it is written, so neither a reader
//! nor a crash can ever see data of a deleted file. The size grows after the data is written.

use kernel::prelude::*;

use crate::{
    extents::{
        free_chain,
        ExtentMap, //
    },
    format,
    inode::Inode,
    meta::blocks_to_bytes,
    truncate,
    vfs::{
        self,
        file::Operations as _,
        iomap::Operations as _,
        BlockMap,
        Fallocate, //
    },
    Daxfs,
};

/// The most blocks one write allocates at a time (iomap asks again for the rest).
const MAX_RUN: u64 = 32768;

/// The block mapping of daxfs regular files (`iomap_ops`).
pub(crate) struct IomapOps;

impl vfs::iomap::Operations<Daxfs> for IomapOps {
    /// Maps `len` bytes of `inode` at `pos`; for a write, allocates the hole at `pos`. The caller
    /// holds the inode's `i_rwsem` (read, write) or its invalidate lock (faults); the on-disk inode's
    /// lock serialises allocations between the two.
    fn map_blocks(inode: &Inode, pos: u64, len: u64, write: bool) -> Result<BlockMap> {
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
        let mut map = ExtentMap::load(sbi, ino, &disk)?;
        if let Some(e) = map.find(first) {
            let run_end = e.logical_end().ok_or(EUCLEAN)?.min(end);
            return Ok(BlockMap {
                file_block: first,
                blocks: run_end - first,
                device_block: e.map(first),
                new: false,
            });
        }
        let hole_end = map.next_mapped(first).unwrap_or(end).min(end);
        if !write {
            return Ok(BlockMap {
                file_block: first,
                blocks: hole_end - first,
                device_block: None,
                new: false,
            });
        }
        // Continue the previous extent on the device when the blocks after it are free.
        let goal = map.previous(first).and_then(|e| {
            e.physical_end()
                .map(|p| p + (first - e.logical - u64::from(e.len)))
        });
        let mut want = (hole_end - first).min(MAX_RUN);
        // A run of 2 MiB or more starts on a 2 MiB file boundary, so that its 2 MiB-aligned device
        // blocks line up with 2 MiB of the file and PMD faults can map them: allocate up to the
        // boundary first, then the aligned run (iomap asks again for the rest).
        let misalignment = first % format::DATA_ALIGN_BLOCKS;
        if want >= format::DATA_ALIGN_BLOCKS && misalignment != 0 {
            want = format::DATA_ALIGN_BLOCKS - misalignment;
        }
        let (block, blocks) = sbi.alloc.alloc_run(&sbi.pmem, ino, goal, want)?;
        let new = format::Extent {
            logical: first,
            physical: block,
            len: u32::try_from(blocks).map_err(|_| EFBIG)?,
        };
        let old_chain = match map
            .insert(new)
            .and_then(|()| map.store(sbi, ino, &mut disk))
        {
            Ok(old_chain) => old_chain,
            Err(e) => {
                sbi.alloc.free_blocks(&sbi.pmem, ino, block, blocks)?;
                return Err(e);
            }
        };
        disk.blocks += blocks;
        // The commit point: the extent that references the zeroed run.
        sbi.write_inode(ino, &disk)?;
        sbi.pmem.fence();
        inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
        free_chain(sbi, ino, &old_chain)?;
        Ok(BlockMap {
            file_block: first,
            blocks,
            device_block: Some(block),
            new: true,
        })
    }
}

/// The file operations of daxfs regular files (`file_operations`).
pub(crate) struct FileOps;

impl vfs::file::Operations<Daxfs> for FileOps {
    /// Grows the size of `inode` to `end` after a write that reached it.
    fn extend_size(inode: &Inode, end: u64) -> Result {
        let sbi = inode.super_block().data();
        let mut disk = inode.data().disk.lock();
        if end > disk.size {
            disk.size = end;
            sbi.write_inode(inode.ino(), &disk)?;
            sbi.pmem.fence();
            inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
        }
        Ok(())
    }

    /// fallocate(2) on the regular file `inode`; the caller holds `i_rwsem` and has waited for
    /// direct I/O.
    fn fallocate(inode: &Inode, mode: Fallocate, offset: u64, len: u64) -> Result {
        let end = offset.checked_add(len).ok_or(EFBIG)?;
        if end > format::MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        match mode {
            Fallocate::Allocate { keep_size } => allocate(inode, offset, end, keep_size),
            Fallocate::PunchHole => truncate::punch_hole(inode, offset, end, false),
            Fallocate::ZeroRange { keep_size } => {
                // Zeroes (and frees) the range, then allocates fresh zeroed blocks for it.
                truncate::punch_hole(inode, offset, end, true)?;
                allocate(inode, offset, end, keep_size)
            }
        }
    }
}

/// Allocates zeroed blocks for the holes of `offset..end` of `inode` and, unless `keep_size`,
/// grows the file to `end`. Allocation only fills holes, so no mapping or pin is affected.
fn allocate(inode: &Inode, offset: u64, end: u64, keep_size: bool) -> Result {
    let mut pos = offset;
    while pos < end {
        let map = IomapOps::map_blocks(inode, pos, end - pos, true)?;
        pos = (map.file_block + map.blocks) * format::BLOCK_SIZE_U64;
    }
    if !keep_size {
        FileOps::extend_size(inode, end)?;
    }
    Ok(())
}
