// SPDX-License-Identifier: GPL-2.0

//! Allocation of blocks (the bitmap) and inodes (the inode table): [`Allocator`], which owns its
//! lock and the free counters.
//!
//! Every change is part of a transaction ([`crate::journal`]), which a crash leaves whole or
//! undone. Within it:
//! - a block is marked in the bitmap, then zeroed (unlogged: the transaction allocated it)
//!   outside the allocator's lock, then referenced, so data of deleted files never becomes
//!   readable (preallocation leaves its blocks as they are: an unwritten extent references
//!   them, which reads as zeros);
//! - a block is freed only at the end of the transaction that unreferenced it
//!   ([`Allocator::free_blocks`]), so that the transaction never hands it out again.
//!
//! A block whose page a device still has pinned when a truncate removes it is *parked*
//! ([`crate::park`]): free in the bitmap from the truncate's commit on, but kept from every
//! allocation, and counted as used, until the pin goes ([`Allocator::unpark`]). This is XFS's
//! busy extents, kept in memory only: nothing can be pinned across a reboot, so the device
//! never needs to know.

use kernel::{
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

use crate::{
    format,
    journal::Tx,
    meta::{
        self,
        block_offset,
        report_corruption, //
    },
    vfs::{
        self,
        trace,
        Pmem, //
    },
};

/// Blocks kept free for removals: a hole punched into an extent splits it in two, which can
/// split a full extent-overflow leaf and take a block, and a removal must not fail with ENOSPC
/// on a full file system. A removal takes at most one, and frees at least one data block in
/// the same transaction; the reserve covers transactions that free theirs only at the end.
/// XFS keeps such a pool too (`m_resblks`).
const REMOVAL_RESERVE_BLOCKS: u64 = 8;

/// What allocation changes while mounted.
struct AllocState {
    /// Free blocks in the data area.
    free_blocks: u64,
    /// Free inodes.
    free_inodes: u64,
    /// Where the next inode search starts.
    inode_hint: u64,
    /// Where the next block search starts.
    block_hint: u64,
    /// Where the next search for a free aligned run for a sparse allocation starts: after the
    /// last one taken, so that a file with many sparse 2 MiB windows finds fresh runs past
    /// those of its other windows rather than scanning them each time.
    sparse_run_hint: u64,
    /// Parked runs, as (start, length): free in the bitmap, but given to no allocation.
    parked: KVec<(u64, u64)>,
    /// The blocks of `parked`, part of `free_blocks`.
    parked_blocks: u64,
}

impl AllocState {
    /// The parked run that overlaps blocks `start..end` with the lowest start, if any.
    fn parked_in(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        self.parked
            .iter()
            .copied()
            .filter(|&(s, len)| s < end && start < s + len)
            .min_by_key(|&(s, _)| s)
    }

    /// The free blocks that no parked run holds.
    fn unparked_free(&self) -> u64 {
        self.free_blocks - self.parked_blocks
    }
}

/// The aligned runs a sparse allocation looks at for a free one ([`Goal::sparse_block`]) before
/// it takes the next free block: on a file system without free 2 MiB runs near the last
/// allocation, each such allocation would otherwise read the bitmap of the whole device.
const WINDOW_SEARCH_RUNS: usize = 64;

/// Where a data allocation should start, in order: the block after the file's previous extent
/// on the device, then the one that ends the run just before its next extent, so that blocks
/// next to each other in a file end up next to each other on the device in whatever order they
/// are allocated (ext4 and XFS look both ways too); failing both, for an allocation that starts
/// a new run in the file (a sparse write), its file block's place within 2 MiB in a free
/// 2 MiB-aligned run. A 2 MiB window of a file filled in any order then becomes one aligned
/// extent, which PMD faults can map, rather than blocks in the order they were written. A
/// sparse allocation leaves the allocator's hint where it was, so that allocations without a
/// goal (extent leaves, other files) do not follow it into the rest of its run.
#[derive(Clone, Copy, Default)]
pub(crate) struct Goal {
    /// The block that continues the previous extent on the device.
    pub(crate) after_previous: Option<u64>,
    /// The block from which a run continues into the next extent on the device.
    pub(crate) before_next: Option<u64>,
    /// The file block of a sparse allocation, whose offset within 2 MiB it takes in a free
    /// aligned run.
    pub(crate) sparse_block: Option<u64>,
}

impl Goal {
    /// Just `block`, if any: the block after the previous one of a chain or a directory.
    pub(crate) fn after(block: Option<u64>) -> Self {
        Self {
            after_previous: block,
            ..Self::default()
        }
    }
}

/// The block and inode allocator of one mount. Its lock is taken after any inode's lock and never
/// with the orphan list's.
///
/// Every method takes the persistent memory the file system lives on: the allocator belongs to
/// the per-mount state, which owns it.
#[pin_data]
pub(crate) struct Allocator {
    /// The superblock as read at mount, for the geometry, which never changes.
    sb: format::Superblock,
    /// Free blocks kept for removals ([`Allocator::alloc_block_for`]).
    reserve: u64,
    #[pin]
    state: Mutex<AllocState>,
}

impl Allocator {
    /// An allocator for the file system `sb`, with its free counters (`sb.free_blocks` and
    /// `sb.free_inodes`, counted again after a crash).
    pub(crate) fn new(sb: format::Superblock) -> impl PinInit<Self> {
        pin_init!(Self {
            sb,
            reserve: REMOVAL_RESERVE_BLOCKS.min(sb.data_blocks() / 16),
            state <- new_mutex!(AllocState {
                free_blocks: sb.free_blocks,
                free_inodes: sb.free_inodes,
                inode_hint: format::ROOT_INO + 1,
                block_hint: sb.data_start,
                sparse_run_hint: sb.data_start,
                parked: KVec::new(),
                parked_blocks: 0,
            }),
        })
    }

    /// The free blocks, those of them that are available to allocations other than removals,
    /// and the free inodes. Parked blocks count as used.
    pub(crate) fn free_counts(&self) -> (u64, u64, u64) {
        let state = self.state.lock();
        (
            state.unparked_free(),
            self.available(&state),
            state.free_inodes,
        )
    }

    /// The free blocks and inodes as the device counts them: parked blocks are free there.
    pub(crate) fn device_free_counts(&self) -> (u64, u64) {
        let state = self.state.lock();
        (state.free_blocks, state.free_inodes)
    }

    /// Device byte offset of the bitmap byte holding the bit of `block`. The bitmap blocks are
    /// contiguous, so the bitmap is one bit array from its first block.
    fn bitmap_byte(&self, block: u64) -> Result<u64> {
        if block >= self.sb.total_blocks {
            return Err(EUCLEAN);
        }
        Ok(block_offset(self.sb.bitmap_start) + block / 8)
    }

    /// Calls `f(first_block, bytes)` with the bitmap bytes covering blocks `start..end`, read a
    /// chunk at a time (`first_block` is the block of bit 0 of `bytes[0]`), until `f` returns
    /// `Some`, which this returns. `f` may change the bytes; they are written back in `tx` if it
    /// says so (and there is one).
    fn walk_bitmap<R>(
        &self,
        pmem: &Pmem,
        tx: Option<&Tx<'_>>,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, &mut [u8]) -> (Option<R>, bool),
    ) -> Result<Option<R>> {
        const CHUNK: u64 = 512;
        if end > self.sb.total_blocks {
            return Err(EUCLEAN);
        }
        let mut buf = [0u8; CHUNK as usize];
        let mut byte = start / 8;
        while byte * 8 < end {
            let bytes = (end.div_ceil(8) - byte).min(CHUNK) as usize;
            let offset = self.bitmap_byte(byte * 8)?;
            pmem.read(offset, &mut buf[..bytes])?;
            let (result, changed) = f(byte * 8, &mut buf[..bytes]);
            if changed {
                tx.ok_or(EINVAL)?.write(offset, &buf[..bytes])?;
            }
            if result.is_some() {
                return Ok(result);
            }
            byte += bytes as u64;
        }
        Ok(None)
    }

    /// Marks blocks `start..start + len` used or free, each of which must be the other way: a
    /// block found already so (freed twice, or allocated while in use) is corruption, and then
    /// nothing changes.
    fn set_bitmap_range(&self, tx: &Tx<'_>, start: u64, len: u64, used: bool) -> Result {
        let end = start.checked_add(len).ok_or(EUCLEAN)?;
        // The whole range is checked before any of it changes: it may span several chunks.
        let clash = self.walk_bitmap(tx.pmem(), None, start, end, |first, bytes| {
            let expected = |mask: u8| if used { 0 } else { mask };
            let clash = bit_masks(first, bytes.len(), start, end)
                .find(|&(i, mask, _)| bytes[i] & mask != expected(mask))
                .map(|(_, _, block)| block);
            (clash, false)
        })?;
        if let Some(block) = clash {
            report_corruption!(
                "bitmap: block {block} is already {}; run fsck.daxfs\n",
                if used { "used" } else { "free" }
            );
            return Err(EUCLEAN);
        }
        self.walk_bitmap(tx.pmem(), Some(tx), start, end, |first, bytes| {
            for (i, mask, _) in bit_masks(first, bytes.len(), start, end) {
                bytes[i] ^= mask;
            }
            (None::<()>, true)
        })?;
        Ok(())
    }

    /// The first free block in `from..end` that is not parked, if any.
    fn find_free(
        &self,
        pmem: &Pmem,
        state: &AllocState,
        mut from: u64,
        end: u64,
    ) -> Result<Option<u64>> {
        while let Some(block) = self.find_free_in_bitmap(pmem, from, end)? {
            match state.parked_in(block, block + 1) {
                Some((start, len)) => from = start + len,
                None => return Ok(Some(block)),
            }
        }
        Ok(None)
    }

    /// The first block in `from..end` free in the bitmap, if any.
    fn find_free_in_bitmap(&self, pmem: &Pmem, from: u64, end: u64) -> Result<Option<u64>> {
        self.walk_bitmap(pmem, None, from, end, |first, bytes| {
            let found = bytes
                .iter()
                .enumerate()
                .filter(|&(_, &byte)| byte != 0xff)
                .flat_map(|(i, &byte)| {
                    (0..8)
                        .filter(move |bit| byte & (1 << bit) == 0)
                        .map(move |bit| first + 8 * i as u64 + bit)
                })
                .find(|&block| block >= from && block < end);
            (found, false)
        })
    }

    /// How many blocks from `start` on, at most `max`, are free in a row, none of them parked.
    fn free_run_len(&self, pmem: &Pmem, state: &AllocState, start: u64, max: u64) -> Result<u64> {
        let mut end = start.saturating_add(max).min(self.sb.total_blocks);
        if let Some((parked, _)) = state.parked_in(start, end) {
            end = parked.max(start);
        }
        let used = self.walk_bitmap(pmem, None, start, end, |first, bytes| {
            let lo = start.max(first);
            let hi = end.min(first + 8 * bytes.len() as u64);
            let found = (lo..hi).find(|&block| {
                let b = block - first;
                bytes[(b / 8) as usize] & (1 << (b % 8)) != 0
            });
            (found, false)
        })?;
        Ok(used.unwrap_or(end) - start)
    }

    /// Whether `block` is free in the bitmap and not parked.
    fn block_is_free(&self, pmem: &Pmem, state: &AllocState, block: u64) -> Result<bool> {
        Ok(self.free_run_len(pmem, state, block, 1)? == 1)
    }

    /// Allocates one zeroed data block for inode `ino`, `goal` if it is free, in `tx`.
    pub(crate) fn alloc_block(&self, tx: &Tx<'_>, ino: u64, goal: Option<u64>) -> Result<u64> {
        self.alloc_block_for(tx, ino, goal, false)
    }

    /// Allocates one zeroed block as [`Allocator::alloc_block`] does, for a removal if
    /// `removal`: it may take the last blocks, which are kept for removals, so that a hole
    /// punched into a full file system can split an extent-overflow leaf.
    pub(crate) fn alloc_block_for(
        &self,
        tx: &Tx<'_>,
        ino: u64,
        goal: Option<u64>,
        removal: bool,
    ) -> Result<u64> {
        self.alloc_from(tx, ino, Goal::after(goal), 1, removal, true)
            .map(|(block, _)| block)
    }

    /// The free blocks that allocations other than removals may take.
    fn available(&self, state: &AllocState) -> u64 {
        state.unparked_free().saturating_sub(self.reserve)
    }

    /// Whether the 2 MiB run of blocks from `block` (aligned) is free, not parked and inside
    /// the device.
    fn aligned_run_is_free(&self, pmem: &Pmem, state: &AllocState, block: u64) -> Result<bool> {
        if block + format::DATA_ALIGN_BLOCKS > self.sb.total_blocks
            || state
                .parked_in(block, block + format::DATA_ALIGN_BLOCKS)
                .is_some()
        {
            return Ok(false);
        }
        // An aligned run is 64 whole bytes of one bitmap block.
        let (bitmap_block, bit) = self.sb.bitmap_location(block).ok_or(EUCLEAN)?;
        let mut bytes = [0u8; (format::DATA_ALIGN_BLOCKS / 8) as usize];
        pmem.read(block_offset(bitmap_block) + bit / 8, &mut bytes)?;
        Ok(bytes.iter().all(|&b| b == 0))
    }

    /// The first free 2 MiB-aligned 2 MiB run at or after `from` (wrapping), if any among the
    /// first `limit` runs looked at.
    fn find_aligned_run(
        &self,
        pmem: &Pmem,
        state: &AllocState,
        from: u64,
        limit: usize,
    ) -> Result<Option<u64>> {
        let align = format::DATA_ALIGN_BLOCKS;
        let (start, end) = (
            self.sb.data_start.next_multiple_of(align),
            self.sb.total_blocks,
        );
        let first = from.next_multiple_of(align).max(start);
        let candidates = Iterator::chain(
            (first..end).step_by(align as usize),
            (start..first).step_by(align as usize),
        );
        for candidate in candidates.take(limit) {
            if self.aligned_run_is_free(pmem, state, candidate)? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// Allocates a run of up to `max` blocks, zeroed if `zero` (else for an unwritten extent),
    /// where `goal` says if one of its places is free, else at a free 2 MiB-aligned run when
    /// `max` asks for 2 MiB or more (so that PMD faults can map it), else at the next free block
    /// after the last allocation: returns its first block and length. Part of `tx`, which
    /// writes the blocks without undo records. `ino` is the inode the blocks are for (0 before
    /// it has a number), for the trace event.
    pub(crate) fn alloc_run(
        &self,
        tx: &Tx<'_>,
        ino: u64,
        goal: Goal,
        max: u64,
        zero: bool,
    ) -> Result<(u64, u64)> {
        self.alloc_from(tx, ino, goal, max, false, zero)
    }

    /// [`Allocator::alloc_run`], from the removal reserve too if `removal`.
    fn alloc_from(
        &self,
        tx: &Tx<'_>,
        ino: u64,
        goal: Goal,
        max: u64,
        removal: bool,
        zero: bool,
    ) -> Result<(u64, u64)> {
        let pmem = tx.pmem();
        let mut alloc = self.state.lock();
        let available = if removal {
            alloc.unparked_free()
        } else {
            self.available(&alloc)
        };
        if available == 0 {
            return Err(ENOSPC);
        }
        let (start, end) = (self.sb.data_start, self.sb.total_blocks);
        let align = format::DATA_ALIGN_BLOCKS;
        // A run of 2 MiB or more must start 2 MiB-aligned; a goal only if it is.
        let usable = |g: &u64| self.sb.is_data_block(*g) && (max < align || g % align == 0);
        let goals = [goal.after_previous, goal.before_next];
        let mut found = None;
        for g in goals.into_iter().flatten().filter(usable) {
            if self.block_is_free(pmem, &alloc, g)? {
                found = Some(g);
                break;
            }
        }
        if found.is_none() && max >= align {
            // A sparse one from its own hint, as below: it does not move the other.
            let from = match goal.sparse_block {
                Some(_) => alloc.sparse_run_hint.max(alloc.block_hint),
                None => alloc.block_hint,
            };
            found = self.find_aligned_run(pmem, &alloc, from, usize::MAX)?;
            if let (Some(run), Some(_)) = (found, goal.sparse_block) {
                alloc.sparse_run_hint = run + align;
            }
        }
        if let (None, Some(offset)) = (found, goal.sparse_block) {
            let from = alloc.sparse_run_hint.max(alloc.block_hint);
            if let Some(run) = self.find_aligned_run(pmem, &alloc, from, WINDOW_SEARCH_RUNS)? {
                alloc.sparse_run_hint = run + align;
                found = Some(run + offset % align);
            }
        }
        let first = goals
            .into_iter()
            .flatten()
            .find(usable)
            .unwrap_or(alloc.block_hint)
            .clamp(start, end);
        if found.is_none() {
            found = match self.find_free(pmem, &alloc, first, end)? {
                Some(block) => Some(block),
                None => self.find_free(pmem, &alloc, start, first)?,
            };
        }
        let run_start = found.ok_or_else(|| {
            report_corruption!("free block counter says free, bitmap says full; run fsck.daxfs\n");
            EUCLEAN
        })?;
        let len = self.free_run_len(pmem, &alloc, run_start, max.min(available))?;
        if len == 0 {
            report_corruption!(
                "bitmap: block {run_start} was found free but is not; run fsck.daxfs\n"
            );
            return Err(EUCLEAN);
        }
        self.set_bitmap_range(tx, run_start, len, true)?;
        tx.allocated(run_start, len);
        alloc.free_blocks -= len;
        // A sparse file's blocks lie where its layout puts them, in runs whose other blocks are
        // for its other writes: the next allocation without a goal does not follow them there.
        if goal.sparse_block.is_none() {
            alloc.block_hint = if run_start + len < end {
                run_start + len
            } else {
                start
            };
        }
        drop(alloc);
        trace::alloc_blocks(ino, run_start, len);
        // The blocks are this transaction's now: zeroing up to 128 MiB need not hold the
        // allocator's lock, which `statfs` takes too. (Other allocations still wait: they need
        // a transaction, and the journal runs one at a time.)
        if zero {
            tx.zero(block_offset(run_start), len * format::BLOCK_SIZE_U64)?;
        }
        Ok((run_start, len))
    }

    /// Frees `len` blocks from `start` of inode `ino`, which nothing references any more, at
    /// the end of `tx`.
    pub(crate) fn free_blocks(&self, tx: &Tx<'_>, ino: u64, start: u64, len: u64) -> Result {
        tx.free_later(ino, start, len)
    }

    /// Frees `len` blocks from `start` of inode `ino` now, in `tx`, which is ending; parks them
    /// if `parked` (no allocation gets them until [`Allocator::unpark`]). A parked run that
    /// cannot be recorded (no memory) stays allocated in the bitmap: leaked until fsck, never
    /// handed out under a pin.
    pub(crate) fn free_blocks_now(
        &self,
        tx: &Tx<'_>,
        ino: u64,
        start: u64,
        len: u64,
        parked: bool,
    ) -> Result {
        trace::free_blocks(ino, start, len);
        let mut alloc = self.state.lock();
        if parked {
            alloc.parked.push((start, len), GFP_KERNEL)?;
        }
        if let Err(e) = self.set_bitmap_range(tx, start, len, false) {
            if parked {
                alloc.parked.pop();
            }
            return Err(e);
        }
        alloc.free_blocks += len;
        if parked {
            alloc.parked_blocks += len;
        }
        Ok(())
    }

    /// Makes room for `runs` more parked runs, so that [`Allocator::free_blocks_now`] parks them
    /// without allocating. Called in the transaction that parks them, before it changes
    /// anything: transactions run one at a time, so the room is still there when it frees them.
    pub(crate) fn reserve_parked(&self, runs: usize) -> Result {
        let mut alloc = self.state.lock();
        alloc.parked.reserve(runs, GFP_KERNEL)?;
        Ok(())
    }

    /// Gives the parked run of `len` blocks from `start` back to allocations: the page that
    /// was pinned over it is idle, and no mapping entry refers to it any more. A run that was
    /// never parked (its truncate failed before it freed it) is left alone.
    pub(crate) fn unpark(&self, start: u64, len: u64) {
        let mut alloc = self.state.lock();
        if let Some(i) = alloc.parked.iter().position(|&run| run == (start, len)) {
            if alloc.parked.remove(i).is_ok() {
                alloc.parked_blocks -= len;
            }
        }
    }

    /// Writes `inode` into a free slot of the inode table, in `tx`, and returns its number.
    pub(crate) fn alloc_inode(&self, tx: &Tx<'_>, inode: &mut format::Inode) -> Result<u64> {
        let pmem = tx.pmem();
        let mut alloc = self.state.lock();
        if alloc.free_inodes == 0 {
            return Err(ENOSPC);
        }
        let (first, last) = (format::ROOT_INO + 1, self.sb.inode_count);
        let hint = alloc.inode_hint.clamp(first, last);
        for ino in Iterator::chain(hint..=last, first..hint) {
            let slot = meta::read_inode_record(pmem, &self.sb, ino)?;
            // A free slot has mode 0; it may keep the generation of its last user.
            let Ok(old) = format::Inode::decode(&slot) else {
                continue;
            };
            if !old.is_free() {
                continue;
            }
            // Random, as ext4 and XFS make theirs; never the last user's, whose handles must
            // stay stale, nor 0.
            inode.generation = loop {
                let generation = vfs::random_generation();
                if generation != old.generation && generation != 0 {
                    break generation;
                }
            };
            meta::write_inode_record(tx, &self.sb, ino, inode)?;
            alloc.free_inodes -= 1;
            alloc.inode_hint = ino + 1;
            return Ok(ino);
        }
        report_corruption!("free inode counter says free, inode table says full; run fsck.daxfs\n");
        Err(EUCLEAN)
    }

    /// Frees inode `ino`, keeping its generation. Its blocks are freed afterwards.
    pub(crate) fn free_inode(&self, tx: &Tx<'_>, ino: u64, generation: u32) -> Result {
        let mut alloc = self.state.lock();
        let free = format::Inode {
            generation,
            ..format::Inode::FREE
        };
        meta::write_inode_record(tx, &self.sb, ino, &free)?;
        alloc.free_inodes += 1;
        Ok(())
    }
}

/// The bits of blocks `start..end` in a chunk of `len` bitmap bytes whose bit 0 is block `first`:
/// `(byte index, mask, first block of the mask)`, a whole byte at once where the range covers it.
fn bit_masks(
    first: u64,
    len: usize,
    start: u64,
    end: u64,
) -> impl Iterator<Item = (usize, u8, u64)> {
    let hi = end.min(first + 8 * len as u64);
    let mut block = start.max(first);
    core::iter::from_fn(move || {
        if block >= hi {
            return None;
        }
        // CAST: an index into the chunk, below `len`.
        let (i, bit) = (((block - first) / 8) as usize, block % 8);
        let whole = bit == 0 && block + 8 <= hi;
        let mask = if whole { 0xff } else { 1u8 << bit };
        let item = (i, mask, block);
        block += if whole { 8 } else { 1 };
        Some(item)
    })
}
