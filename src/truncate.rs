// SPDX-License-Identifier: GPL-2.0

//! Removing blocks from a file (truncate, punch hole, zero range) without ever freeing a block
//! whose page is still mapped or pinned: the size change of `setattr` (the inode operations of
//! regular files) and hole punching.
//!
//! With DAX the page a process maps, or a device has pinned for DMA, *is* the file system
//! block. So, as in ext4 and XFS, a size change runs under `i_rwsem` (held by the VFS) and the
//! invalidate lock held exclusively, which keeps faults out; it first breaks the layout of what
//! it changes (unmaps it everywhere), and only then zeroes the partial block at the end,
//! publishes the new size and extents, and frees the blocks beyond the end. Punch hole and zero
//! range wait, without the lock, until no page of their range is pinned; a shrinking truncate
//! waits only for a pin on its new last block, and parks the blocks of pinned pages past it
//! instead ([`crate::park`]). A signal while waiting returns `ERESTARTSYS` before anything has
//! changed.
//!
//! On persistent memory the new size, the shortened extents and the freed blocks are one
//! transaction ([`crate::journal`]), begun once the layout is broken: nothing waits for a pin
//! with the journal held. The partial block zeroed at the new end is file data, not logged.
//! Collapse and insert range, which move every extent after their offset, are the exception:
//! a file too fragmented for one transaction commits between leaves of its extent tree.

use kernel::prelude::*;

use crate::{
    extents, file, format,
    inode::{
        self,
        Inode, //
    },
    journal::Tx,
    meta::{
        block_offset,
        blocks_to_bytes,
        corrupted,
        mapped_blocks, //
    },
    park,
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

/// Zeroes `len` bytes of a DAX `inode` (its on-disk inode `disk`, locked) at `pos`, which lie
/// in one block, if that block is allocated and written (an unwritten one reads as zeros
/// already). Nothing may map the block (the caller broke the layout). A file without DAX had
/// the bytes zeroed in its page cache, and written back, before the transaction
/// (`InvalidateLock::zero_cached`): a store to the device here could race with writeback of a
/// dirty page of the block.
fn zero_in_block(tx: &Tx<'_>, inode: &Inode, disk: &format::Inode, pos: u64, len: u64) -> Result {
    if len == 0 || !inode.is_dax() {
        return Ok(());
    }
    let file_block = pos / format::BLOCK_SIZE_U64;
    let block = extents::lookup(inode, disk, |tree| {
        tree.find(file_block)
            .filter(|e| !e.unwritten)
            .and_then(|e| e.map(file_block))
    })?;
    if let Some(block) = block {
        tx.zero_data(block_offset(block) + pos % format::BLOCK_SIZE_U64, len)?;
    }
    Ok(())
}

/// Zeroes the bytes of `inode` (its on-disk inode `disk`, locked) from `pos` to the end of its
/// block.
pub(crate) fn zero_block_tail(
    tx: &Tx<'_>,
    inode: &Inode,
    disk: &format::Inode,
    pos: u64,
) -> Result {
    let in_block = pos % format::BLOCK_SIZE_U64;
    if in_block == 0 {
        return Ok(());
    }
    zero_in_block(tx, inode, disk, pos, format::BLOCK_SIZE_U64 - in_block)
}

/// Unmaps the file blocks `first..end` of `inode` (its on-disk inode `disk`, locked) in `tx`,
/// counts them off `disk.blocks`, and returns the extents that mapped them, for the caller to
/// free once it has written `disk`.
fn remove_blocks(
    tx: &Tx<'_>,
    inode: &Inode,
    disk: &mut format::Inode,
    first: u64,
    end: u64,
) -> Result<KVVec<format::Extent>> {
    let ino = inode.ino();
    extents::with_tree(inode, disk, |tree, disk| {
        let freed = tree.remove(tx, ino, disk, first, end)?;
        // The block count comes from the disk (checked against the extents when the tree was
        // loaded): checked anyway.
        disk.blocks -= checked_freed(ino, disk.blocks, &freed)?;
        Ok(freed)
    })
}

/// Makes `offset..end` of the file read as zeros: breaks the layout of the range (waits until no
/// page of it is pinned), then in one transaction zeroes the partial blocks at its edges, writes
/// the extents without its whole blocks and the times the VFS holds, and frees those blocks.
/// With `refill` (zero range: `Some(keep_size)`) the transaction then preallocates fresh
/// blocks for the range (unwritten: see [`file::allocate`]) and, unless `keep_size`, grows the
/// file to `end`.
pub(crate) fn punch_hole(inode: &Inode, offset: u64, end: u64, refill: Option<bool>) -> Result {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    let invalidate = inode.invalidate_lock();
    if refill == Some(false) && end > inode.size() {
        // Zero range grows the file, maybe over what a truncate parked: waited for first.
        park::wait_for_parked(inode, &invalidate)?;
    }
    invalidate.break_layouts(offset, end - 1)?;
    let first_whole = offset.div_ceil(format::BLOCK_SIZE_U64);
    let end_whole = end / format::BLOCK_SIZE_U64;
    // The partial blocks at the edges keep their other bytes: zero just the range in them,
    // before the cached pages of the range go (if zeroing fails, nothing is lost yet).
    let head_end = (first_whole * format::BLOCK_SIZE_U64).min(end);
    let tail_start = (end_whole * format::BLOCK_SIZE_U64).max(head_end);
    invalidate.zero_cached(offset, head_end)?;
    invalidate.zero_cached(tail_start, end)?;
    invalidate.truncate_pagecache_range(offset, end - 1);
    let tx = sbi.begin()?;
    let result = (|| {
        let mut disk = inode.data().disk.lock();
        zero_in_block(&tx, inode, &disk, offset, head_end - offset)?;
        zero_in_block(&tx, inode, &disk, tail_start, end - tail_start)?;
        let freed = remove_blocks(&tx, inode, &mut disk, first_whole, end_whole)?;
        free_extents(&tx, ino, &freed)?;
        match refill {
            // Freed blocks are freed at the end of the transaction: the new ones are others.
            Some(keep_size) => {
                file::allocate(&tx, inode, &invalidate, &mut disk, (offset, end), keep_size)?
            }
            None => {
                inode::take_attrs(inode, &mut disk);
                sbi.write_inode(&tx, ino, &disk)?;
                inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
            }
        }
        drop(disk);
        let freed_blocks = mapped_blocks(&freed);
        trace::punch_hole(ino, offset, end - offset, freed_blocks, refill.is_some());
        Ok(())
    })();
    tx.end(result)
}

/// Collapse range (`insert` false) or insert range (`insert` true) of `len` bytes at `offset`,
/// both whole blocks: removes the range and moves every block after it down by `len`, or moves
/// every block from `offset` on up by `len` and leaves a hole there; the size changes by `len`.
/// Errors as in ext4: `EINVAL` for an unaligned range, a collapse that reaches the end of file
/// or an insert at or past it; `EFBIG` past the largest file.
///
/// Every block from `offset` to the end of file moves, so the layout of all of that is broken
/// first (unmapped, and waited on until no page of it is pinned): a page pinned for DMA keeps
/// its block, at its old place in the file, until the pin goes. The transaction may commit
/// between leaves of the extent tree: a crash leaves some extents moved and the rest not, the
/// map valid either way (collapse moves the lowest first, into the removed range; insert the
/// highest first, after growing the size), as in ext4.
pub(crate) fn shift_range(inode: &Inode, offset: u64, len: u64, insert: bool) -> Result {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    if offset % format::BLOCK_SIZE_U64 != 0 || len % format::BLOCK_SIZE_U64 != 0 {
        return Err(EINVAL);
    }
    let size = inode.size();
    let end = offset.checked_add(len).ok_or(EFBIG)?;
    if (insert && offset >= size) || (!insert && end >= size) {
        return Err(EINVAL);
    }
    let new_size = if insert {
        size.checked_add(len)
            .filter(|&s| s <= format::MAX_FILE_SIZE)
            .ok_or(EFBIG)?
    } else {
        size - len
    };
    let (first, blocks) = (
        offset / format::BLOCK_SIZE_U64,
        len / format::BLOCK_SIZE_U64,
    );
    let invalidate = inode.invalidate_lock();
    invalidate.write_back(offset, u64::MAX)?;
    invalidate.break_layouts(offset, u64::MAX)?;
    // Nothing maps the moved range any more; what the mapping caches of it goes too.
    invalidate.truncate_pagecache(offset);

    let tx = sbi.begin()?;
    let result = (|| {
        let mut disk = inode.data().disk.lock();
        // The inode is written before the shift, which may commit between leaves: each state it
        // leaves is a valid map with the inode that goes with it.
        if insert {
            extents::with_tree(inode, &mut disk, |tree, disk| {
                if tree
                    .end()
                    .checked_add(blocks)
                    .is_none_or(|end| end > format::MAX_FILE_BLOCKS)
                {
                    return Err(EFBIG);
                }
                tree.split(&tx, ino, disk, first)
            })?;
            // Grown before anything moves: extents moved up before a crash stay inside the file.
            disk.size = new_size;
            sbi.write_inode(&tx, ino, &disk)?;
            inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
            extents::with_tree(inode, &mut disk, |tree, disk| {
                tree.shift(&tx, ino, disk, first, blocks, true)
            })?;
        } else {
            let freed = remove_blocks(&tx, inode, &mut disk, first, first + blocks)?;
            free_extents(&tx, ino, &freed)?;
            sbi.write_inode(&tx, ino, &disk)?;
            extents::with_tree(inode, &mut disk, |tree, disk| {
                tree.shift(&tx, ino, disk, first + blocks, blocks, false)?;
                tree.merge_at(&tx, ino, disk, first)
            })?;
            disk.size = new_size;
        }
        inode::take_attrs(inode, &mut disk);
        sbi.write_inode(&tx, ino, &disk)?;
        inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
        Ok(())
    })();
    tx.end(result)
}

/// Frees the blocks of `freed`, extents inode `ino` no longer maps, at the end of `tx`.
fn free_extents(tx: &Tx<'_>, ino: u64, freed: &[format::Extent]) -> Result {
    freed.iter().try_for_each(|extent| {
        tx.sbi()
            .alloc
            .free_blocks(tx, ino, extent.physical, u64::from(extent.len))
    })
}

/// The inode operations of daxfs regular files that the VFS layer does not do itself.
pub(crate) struct FileInodeOps;

impl vfs::inode::Operations<Daxfs> for FileInodeOps {
    /// Sets the size of the regular file `inode` to `size`, growing (with zeroes) or shrinking it,
    /// and stores the other attributes `copy_attrs` sets in the same transaction. The caller
    /// (setattr) holds `i_rwsem`.
    fn set_size(inode: &Inode, size: u64, copy_attrs: &dyn Fn()) -> Result {
        let sbi = inode.super_block().data();
        let ino = inode.ino();
        inode.dio_wait();
        let invalidate = inode.invalidate_lock();
        let block = format::BLOCK_SIZE_U64;
        let old = inode.size();
        let pinned = if size <= old {
            // The block that holds the new end of file keeps its bytes before it and has the rest
            // zeroed, which a pin could write after: a pin there is waited for. Past it, pinned
            // pages do not hold the truncate up: their blocks are parked (`crate::park`).
            let kept_end = size.next_multiple_of(block);
            let cut_end = old.next_multiple_of(block);
            invalidate.break_idle_layouts(size - size % block, kept_end, cut_end)?
        } else {
            // Growing zeroes the tail of the old last block, which a mapping could write, and
            // grows the file over what earlier truncates parked: both are waited for.
            invalidate.break_layouts(old - old % block, u64::MAX)?;
            KVec::new()
        };
        let parked = match park::prepare(inode, pinned) {
            Ok(parked) => parked,
            // Without memory to park them, the pins are waited for.
            Err(_) => {
                invalidate.break_layouts(size - size % block, u64::MAX)?;
                None
            }
        };
        // Without DAX: the cached pages past the new end go, before their blocks do (so that
        // writeback never meets a freed block), and the block that holds the new or old end of
        // file is zeroed past it in the page cache and written back (for DAX, in the
        // transaction).
        // Zeroing first: if it fails, nothing is lost yet.
        let end_of_file = size.min(old);
        invalidate.zero_cached(end_of_file, end_of_file.next_multiple_of(block))?;
        invalidate.truncate_pagecache(end_of_file);

        let tx = sbi.begin()?;
        let result = (|| {
            park::reserve(&tx, parked.as_ref())?;
            let (old_size, freed) = {
                let mut disk = inode.data().disk.lock();
                // Bytes past the end of the block that holds the (new or old) end of file must read
                // as zeroes when the file grows again: they may hold data written through a mapping,
                // which reaches to the end of its page, or data of the longer file.
                zero_block_tail(&tx, inode, &disk, size.min(disk.size))?;
                // Shrinking, or keeping the size, frees what lies past the end of file (blocks
                // preallocated with FALLOC_FL_KEEP_SIZE); growing keeps them, as in ext4 and XFS:
                // they are unwritten or zeroed, so the file grows into zeros.
                let freed = if size <= disk.size {
                    let first = size.div_ceil(format::BLOCK_SIZE_U64);
                    remove_blocks(&tx, inode, &mut disk, first, u64::MAX)?
                } else {
                    KVVec::new()
                };
                let old_size = disk.size;
                disk.size = size;
                // The times and whatever else the same setattr changes go with the size.
                copy_attrs();
                inode::take_attrs(inode, &mut disk);
                sbi.write_inode(&tx, ino, &disk)?;
                inode.set_size(disk.size, blocks_to_bytes(disk.blocks));
                (old_size, freed)
            };
            let freed_blocks = mapped_blocks(&freed);
            trace::truncate(ino, old_size, size, freed_blocks);
            // The blocks under pinned pages are parked, the others freed.
            park::split_removed(
                parked.as_ref(),
                &freed,
                |start, len| tx.park_later(ino, start, len),
                |start, len| sbi.alloc.free_blocks(&tx, ino, start, len),
            )
        })();
        let result = tx.end(result);
        park::start(inode, parked);
        result
    }

    fn attributes(inode: &Inode) -> vfs::Attributes {
        inode::attributes_of(&inode.data().disk.lock())
    }

    fn birth_time(inode: &Inode) -> (i64, u32) {
        let btime = inode.data().disk.lock().btime;
        (btime.sec, btime.nsec)
    }

    fn set_attributes(inode: &Inode, attributes: vfs::Attributes, touch: &dyn Fn()) -> Result {
        inode::set_attributes(inode, attributes, touch)
    }
}
