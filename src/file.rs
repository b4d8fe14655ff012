// SPDX-License-Identifier: GPL-2.0

//! Regular files: mapping file blocks to the device for DAX reads, writes and faults (the iomap
//! operations), growing the size after a write, and fallocate (the file operations).
//!
//! Blocks are allocated zeroed and marked in the bitmap in the transaction that writes the
//! extent referencing them ([`crate::journal`]), so neither a reader nor a crash can ever see
//! data of a deleted file. Preallocated blocks (fallocate, zero range) are not zeroed but
//! mapped by *unwritten* extents, which read as zeros, as in ext4 and XFS; the first write to
//! one zeroes it and marks it written in one transaction, so a crash leaves it unwritten (and
//! reading as zeros) or zeroed and written. Each operation's metadata is one transaction, which
//! also takes the times the VFS changed for it (see `write_inode_callback` in `vfs::inode`):
//! - a write fault allocates its hole, or converts its unwritten blocks, in `map_blocks`;
//! - a write allocates all of its holes and converts its unwritten blocks, and records its end
//!   as the size if it grows the file, before its data is copied (`begin_write`); the size the
//!   VFS sees grows after the copy, and a short copy has the recorded size corrected
//!   (`end_write`);
//! - fallocate allocates its whole range, unwritten, and grows the size; zero range frees and
//!   allocates in the transaction of its hole punch ([`truncate::punch_hole`]).
//!
//! A range so fragmented that its records would fill half the journal is committed in pieces,
//! each consistent: the blocks allocated so far, mapped past the old size.

use kernel::prelude::*;

use crate::{
    alloc::Goal,
    extents::{
        self,
        ExtentTree, //
    },
    format,
    inode::{
        take_attrs,
        Inode,
        InvalidateLock, //
    },
    journal::Tx,
    meta::{
        block_offset,
        blocks_to_bytes, //
    },
    park, truncate,
    vfs::{
        self,
        trace,
        BlockMap,
        Fallocate, //
    },
    Daxfs,
};

/// The most blocks one allocation takes at a time (iomap, or the range's loop, asks again).
const MAX_RUN: u64 = 32768;

/// What an allocation leaves in the blocks it maps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Zeroed and written, ready for data: for writes and write faults, which also convert
    /// unwritten blocks to this.
    Zeroed,
    /// Unwritten, reading as zeros without being written: for preallocation. On a file system
    /// without unwritten extents ([`format::FEATURE_INCOMPAT_UNWRITTEN`]) it is [`Fill::Zeroed`].
    Unwritten,
    /// As [`Fill::Zeroed`], but the unwritten blocks met are converted without zeroing: the
    /// caller zeroed them while they were unwritten, when nothing can write them
    /// ([`zero_unwritten`]).
    ZeroedAlready,
}

/// The fewest blocks a write fault allocates unwritten and zeroes outside the journal
/// ([`IomapOps::map_blocks`]): a PMD fault's 2 MiB. Smaller runs are zeroed in their
/// transaction, where a second transaction would cost more than the zeroing.
const ZERO_OUTSIDE_JOURNAL: u64 = format::DATA_ALIGN_BLOCKS;

/// The block range `first..end` of `len` bytes at `pos`; for a write (`write`), bounded by the
/// largest file (EFBIG beyond it). A lookup (FIEMAP, SEEK_HOLE) may ask about any range and
/// gets a hole beyond it.
fn block_range(pos: u64, len: u64, write: bool) -> Result<(u64, u64)> {
    let first = pos / format::BLOCK_SIZE_U64;
    let mut end = pos
        .checked_add(len.max(1))
        .ok_or(EFBIG)?
        .div_ceil(format::BLOCK_SIZE_U64);
    if write {
        end = end.min(format::MAX_FILE_BLOCKS);
        if first >= end {
            return Err(EFBIG);
        }
    }
    Ok((first, end))
}

/// Maps the blocks `first..end` of the file whose extents are `tree` from `first` on: the
/// extent there, or the hole up to the next one.
fn map_in(tree: &ExtentTree, first: u64, end: u64) -> Result<BlockMap> {
    if let Some(e) = tree.find(first) {
        let run_end = e.logical_end().ok_or(EUCLEAN)?.min(end);
        return Ok(BlockMap {
            file_block: first,
            blocks: run_end - first,
            device_block: e.map(first),
            new: false,
            unwritten: e.unwritten,
        });
    }
    Ok(BlockMap {
        file_block: first,
        blocks: tree.next_mapped(first).unwrap_or(end).min(end) - first,
        device_block: None,
        new: false,
        unwritten: false,
    })
}

/// Where to allocate file block `first` (a hole) on the device: where it would continue the
/// previous extent, or run into the next one. A sparse write (one that does not continue the
/// previous extent in the file) looks only at neighbours within its 2 MiB of the file, and
/// else takes its place in a free aligned run: each 2 MiB of a sparse file then lies in one
/// aligned run, however the writes are ordered, rather than where other windows' blocks put
/// it.
fn allocation_goal(tree: &ExtentTree, first: u64) -> Goal {
    let window = |block: u64| block / format::DATA_ALIGN_BLOCKS;
    let previous = tree.previous(first);
    let appends = previous.is_some_and(|e| e.logical_end() == Some(first));
    let sparse = first > 0 && !appends;
    let near = |block: u64| !sparse || window(block) == window(first);
    // An extent ends at or before a hole that follows it, and the next one starts after it.
    let after_previous = previous.and_then(|e| {
        let end = e.logical_end()?;
        near(end.checked_sub(1)?).then_some(())?;
        e.physical_end()?.checked_add(first.checked_sub(end)?)
    });
    let before_next = tree.next(first).and_then(|e| {
        near(e.logical).then_some(())?;
        e.physical.checked_sub(e.logical.checked_sub(first)?)
    });
    Goal {
        after_previous,
        before_next,
        sparse_block: sparse.then_some(first),
    }
}

/// Maps the blocks `first..end` of `inode` (its on-disk inode `disk`, locked) from `first` on
/// (see [`map_in`]).
fn lookup(inode: &Inode, disk: &format::Inode, first: u64, end: u64) -> Result<BlockMap> {
    extents::lookup(inode, disk, |tree| map_in(tree, first, end))?
}

/// Whether the blocks `first..end` of `inode` (its on-disk inode `disk`, locked) have a hole or
/// an unwritten block: whether a write there must allocate or convert.
fn needs_blocks(inode: &Inode, disk: &format::Inode, first: u64, end: u64) -> Result<bool> {
    extents::lookup(inode, disk, |tree| {
        let mut block = first;
        while block < end {
            match tree.find(block) {
                Some(e) if !e.unwritten => block = e.logical_end().ok_or(EUCLEAN)?,
                _ => return Ok(true),
            }
        }
        Ok(false)
    })?
}

/// Maps the blocks `first..end` of `inode` (its on-disk inode `disk`, locked) from `first` on,
/// allocating the hole there in `tx`, filled as `fill` says, or for [`Fill::Zeroed`] zeroing and
/// converting the unwritten blocks there (one run: iomap, or the caller's loop, asks again for
/// the rest), and writes `disk` with the new extent and the times the VFS holds. The size the
/// VFS sees does not change.
fn allocate_at(
    tx: &Tx<'_>,
    inode: &Inode,
    disk: &mut format::Inode,
    first: u64,
    end: u64,
    fill: Fill,
) -> Result<BlockMap> {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    let map = extents::with_tree(inode, disk, |tree, disk| {
        let found = map_in(tree, first, end)?;
        if let Some(block) = found.device_block {
            if !found.unwritten || fill == Fill::Unwritten {
                return Ok(found);
            }
            // The blocks' old contents (of a deleted file) must never be read: they are zeroed,
            // and durable with the transaction's commit, before the extent says written.
            let blocks = found.blocks.min(MAX_RUN);
            if fill != Fill::ZeroedAlready {
                tx.zero_data(block_offset(block), blocks_to_bytes(blocks))?;
            }
            tree.convert(tx, ino, disk, first, first + blocks)?;
            trace::convert_unwritten(ino, first, block, blocks);
            return Ok(BlockMap {
                blocks,
                new: true,
                unwritten: false,
                ..found
            });
        }
        let goal = allocation_goal(tree, first);
        let mut want = found.blocks.min(MAX_RUN);
        // A run of 2 MiB or more starts on a 2 MiB file boundary, so that its 2 MiB-aligned
        // device blocks line up with 2 MiB of the file and PMD faults can map them: allocate up
        // to the boundary first, then the aligned run.
        let misalignment = first % format::DATA_ALIGN_BLOCKS;
        if want >= format::DATA_ALIGN_BLOCKS && misalignment != 0 {
            want = format::DATA_ALIGN_BLOCKS - misalignment;
        }
        let unwritten = fill == Fill::Unwritten;
        let (block, blocks) = sbi.alloc.alloc_run(tx, ino, goal, want, !unwritten)?;
        let new = u32::try_from(blocks)
            .map_err(|_| EFBIG)
            .map(|len| format::Extent {
                logical: first,
                physical: block,
                len,
                unwritten,
            })
            .and_then(|new| tree.insert(tx, ino, disk, new));
        if let Err(e) = new {
            sbi.alloc.free_blocks(tx, ino, block, blocks)?;
            return Err(e);
        }
        disk.blocks += blocks;
        Ok(BlockMap {
            file_block: first,
            blocks,
            device_block: Some(block),
            new: true,
            unwritten,
        })
    })?;
    if map.new {
        take_attrs(inode, disk);
        sbi.write_inode(tx, ino, disk)?;
        // Not the size: a write fault does not hold `i_rwsem`, under which a buffered write of
        // the page cache raises it meanwhile (a stale size written back would let writeback
        // skip a dirty page as past the end of file).
        inode.set_allocated_bytes(blocks_to_bytes(disk.blocks));
    }
    Ok(map)
}

/// Zeroes the unwritten blocks that `map` of `inode` maps from its first block, outside the
/// journal, if they still are unwritten there: returns how many (0 if a write converted them
/// meanwhile, zeroing them itself). The on-disk inode's lock, held throughout, keeps writes
/// from converting them meanwhile; the next transaction's commit fences the zeros before it
/// marks the blocks written ([`Fill::ZeroedAlready`]).
fn zero_unwritten(inode: &Inode, map: &BlockMap) -> Result<u64> {
    let Some(block) = map.device_block.filter(|_| map.unwritten) else {
        return Ok(0);
    };
    let disk = inode.data().disk.lock();
    let first = map.file_block;
    let now = lookup(inode, &disk, first, first + map.blocks)?;
    if !now.unwritten || now.device_block != Some(block) {
        return Ok(0);
    }
    let blocks = now.blocks.min(map.blocks);
    inode
        .super_block()
        .data()
        .pmem
        .zero(block_offset(block), blocks_to_bytes(blocks))?;
    Ok(blocks)
}

/// Allocates blocks for the holes of bytes `offset..end` of `inode` (its on-disk inode `disk`,
/// locked), filled as `fill` says (for [`Fill::Zeroed`], also zeroing and converting its
/// unwritten blocks), in `tx`. The caller holds the invalidate lock, `invalidate`, since before
/// it looked for the holes: read faults may have mapped the zero page over them, which is
/// dropped here so that the next access maps the new blocks (and sees what is written to
/// them).
pub(crate) fn allocate_range(
    tx: &Tx<'_>,
    inode: &Inode,
    invalidate: &InvalidateLock<'_>,
    disk: &mut format::Inode,
    (offset, end): (u64, u64),
    fill: Fill,
) -> Result {
    if end <= offset {
        return Ok(());
    }
    let (mut block, end_block) = block_range(offset, end - offset, true)?;
    while block < end_block {
        let map = allocate_at(tx, inode, disk, block, end_block, fill)?;
        if map.new && !map.unwritten {
            let start = blocks_to_bytes(map.file_block);
            invalidate.forget_holes(start, start + blocks_to_bytes(map.blocks) - 1);
        }
        block = map.file_block + map.blocks;
        // A range too fragmented for one transaction goes in consistent pieces.
        tx.commit_if_half_full()?;
    }
    Ok(())
}

/// Records `size` as the size of `inode` (its on-disk inode `disk`, locked), with the times the
/// VFS holds, in `tx`; the size the VFS sees too if `visible`.
fn store_size(
    tx: &Tx<'_>,
    inode: &Inode,
    disk: &mut format::Inode,
    size: u64,
    visible: bool,
) -> Result {
    disk.size = size;
    take_attrs(inode, disk);
    tx.sbi().write_inode(tx, inode.ino(), disk)?;
    let shown = if visible { size } else { inode.size() };
    inode.set_size(shown, blocks_to_bytes(disk.blocks));
    Ok(())
}

/// The block mapping of daxfs regular files (`iomap_ops`).
pub(crate) struct IomapOps;

impl vfs::iomap::Operations<Daxfs> for IomapOps {
    /// Maps `len` bytes of `inode` at `pos`; for a write, allocates the hole at `pos` (a write
    /// fault's: `write()` allocated its holes before). The caller holds the inode's `i_rwsem`
    /// (read, write) or its invalidate lock (faults); the on-disk inode's lock serialises
    /// allocations between the two.
    fn map_blocks(inode: &Inode, pos: u64, len: u64, write: bool) -> Result<BlockMap> {
        let (first, end) = block_range(pos, len, write)?;
        let found = lookup(inode, &inode.data().disk.lock(), first, end)?;
        if !write || (found.device_block.is_some() && !found.unwritten) {
            return Ok(found);
        }
        let sbi = inode.super_block().data();
        let mut fill = Fill::Zeroed;
        let mut end = end;
        if found.device_block.is_none()
            && found.blocks >= ZERO_OUTSIDE_JOURNAL
            && sbi.disk.feature_incompat & format::FEATURE_INCOMPAT_UNWRITTEN != 0
        {
            // A big hole is zeroed outside the journal, so that other files allocate
            // meanwhile: allocated unwritten in one transaction, zeroed, then converted in
            // another. A crash in between leaves unwritten blocks, which read as zeros.
            let tx = sbi.begin()?;
            let map = allocate_at(
                &tx,
                inode,
                &mut inode.data().disk.lock(),
                first,
                end,
                Fill::Unwritten,
            );
            let map = tx.end(map)?;
            let zeroed = zero_unwritten(inode, &map)?;
            if zeroed > 0 {
                (fill, end) = (Fill::ZeroedAlready, first + zeroed);
            }
        }
        // Only an allocation or a conversion takes the journal, after a lookup without it found
        // a hole or unwritten blocks.
        let tx = sbi.begin()?;
        let map = allocate_at(&tx, inode, &mut inode.data().disk.lock(), first, end, fill);
        tx.end(map)
    }
}

/// The file operations of daxfs regular files (`file_operations`).
pub(crate) struct FileOps;

impl vfs::file::Operations<Daxfs> for FileOps {
    fn begin_write(inode: &Inode, pos: u64, end: u64, nowait: bool) -> Result {
        let (first, end_block) = block_range(pos, end - pos, true)?;
        // `i_rwsem` keeps truncation out, so holes and unwritten blocks seen now can only fill
        // (by write faults).
        let (holes, grows) = {
            let disk = inode.data().disk.lock();
            (
                needs_blocks(inode, &disk, first, end_block)?,
                end > disk.size,
            )
        };
        if !holes && !grows {
            return Ok(());
        }
        if nowait {
            return Err(EAGAIN);
        }
        if grows {
            // The file grows over what a truncate parked past its end: wait for it first.
            park::wait_for_parked(inode, &inode.invalidate_lock())?;
        }
        let invalidate = holes.then(|| inode.invalidate_lock());
        let tx = inode.super_block().data().begin()?;
        let result = (|| {
            let mut disk = inode.data().disk.lock();
            if pos > disk.size {
                // What a mapping wrote past the end of file, in its last page, must not reappear
                // inside the file.
                truncate::zero_block_tail(&tx, inode, &disk, disk.size)?;
            }
            let allocated = match &invalidate {
                Some(invalidate) => {
                    allocate_range(&tx, inode, invalidate, &mut disk, (pos, end), Fill::Zeroed)
                }
                None => Ok(()),
            };
            match allocated {
                Ok(()) if grows => store_size(&tx, inode, &mut disk, end, false)?,
                Ok(()) => {}
                // Out of space part of the way: the write copies what fits, and `end_write`
                // records the size it reached.
                Err(e) if e == ENOSPC => {}
                Err(e) => return Err(e),
            }
            Ok(())
        })();
        tx.end(result)
    }

    fn end_write(inode: &Inode, written_end: Option<u64>) -> Result {
        let size = inode.size().max(written_end.unwrap_or(0));
        let recorded = inode.data().disk.lock().size;
        if recorded == size {
            inode.set_size(size, blocks_to_bytes(inode.data().disk.lock().blocks));
            return Ok(());
        }
        // The write fell short of the end `begin_write` recorded.
        let tx = inode.super_block().data().begin()?;
        let stored = store_size(&tx, inode, &mut inode.data().disk.lock(), size, true);
        tx.end(stored)
    }

    /// fallocate(2) on the regular file `inode`; the caller holds `i_rwsem` and has waited for
    /// direct I/O.
    fn fallocate(inode: &Inode, mode: Fallocate, offset: u64, len: u64) -> Result {
        let end = offset.checked_add(len).ok_or(EFBIG)?;
        if end > format::MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        match mode {
            Fallocate::Allocate { keep_size } => {
                let invalidate = inode.invalidate_lock();
                if end > inode.size() {
                    // Blocks past the end of file: not where a truncate parked pinned pages.
                    park::wait_for_parked(inode, &invalidate)?;
                }
                let tx = inode.super_block().data().begin()?;
                let mut disk = inode.data().disk.lock();
                let range = (offset, end);
                let allocated = allocate(&tx, inode, &invalidate, &mut disk, range, keep_size);
                drop(disk);
                tx.end(allocated)
            }
            Fallocate::PunchHole => truncate::punch_hole(inode, offset, end, None),
            // Zeroes (and frees) the range, then allocates fresh unwritten blocks for it, in one
            // transaction.
            Fallocate::ZeroRange { keep_size } => {
                truncate::punch_hole(inode, offset, end, Some(keep_size))
            }
            Fallocate::CollapseRange => truncate::shift_range(inode, offset, len, false),
            Fallocate::InsertRange => truncate::shift_range(inode, offset, len, true),
        }
    }
}

/// Preallocates blocks for the holes of `offset..end` of `inode` (its on-disk inode `disk`,
/// locked), unwritten where the file system has unwritten extents, else zeroed, and, unless
/// `keep_size`, grows the file to `end`, in `tx`, with the invalidate lock `invalidate` held
/// (see [`allocate_range`]). Allocation only fills holes, so no pinned block is affected.
pub(crate) fn allocate(
    tx: &Tx<'_>,
    inode: &Inode,
    invalidate: &InvalidateLock<'_>,
    disk: &mut format::Inode,
    (offset, end): (u64, u64),
    keep_size: bool,
) -> Result {
    let fill = if tx.sbi().disk.feature_incompat & format::FEATURE_INCOMPAT_UNWRITTEN != 0 {
        Fill::Unwritten
    } else {
        Fill::Zeroed
    };
    allocate_range(tx, inode, invalidate, disk, (offset, end), fill)?;
    if !keep_size && end > disk.size {
        // What a mapping wrote past the end of file, in its last page, must not reappear.
        truncate::zero_block_tail(tx, inode, disk, disk.size)?;
        store_size(tx, inode, disk, end, true)?;
    } else {
        take_attrs(inode, disk);
        tx.sbi().write_inode(tx, inode.ino(), disk)?;
    }
    Ok(())
}
