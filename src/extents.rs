// SPDX-License-Identifier: GPL-2.0

//! A file's block map: walking its extents ([`Extents`]) to map a block, and all of them, sorted,
//! loaded from the inode and its chain of extent-overflow blocks, edited in memory and stored
//! back ([`ExtentMap`]).
//!
//! The first [`format::INLINE_EXTENTS`] extents live in the inode, the rest in overflow blocks.
//! Storing writes a new chain in blocks the transaction allocates (so they need no undo
//! records), then the caller writes the inode that points to it, and the old chain is freed at
//! the end of the transaction.

use kernel::prelude::*;

use crate::{
    format::{
        self,
        Extent, //
    },
    journal::Tx,
    meta::{
        block_offset,
        corrupted, //
    },
    sb_info::SbInfo,
};

/// What walking a file's block map meets.
pub(crate) enum Item {
    /// An extent, inline or from an overflow block, in order.
    Extent(Extent),
    /// An overflow block of the chain, met before its extents.
    Overflow(u64),
}

/// An iterator over the extents of one file, inline then overflow, and its overflow blocks.
/// It ends after the first error.
///
/// Every extent is checked before it is yielded, with the rules fsck applies
/// ([`format::ExtentChecker`]): inside the data area, in order, not overlapping; a walk to the
/// end also checks that the inode's extent and block counts agree with what it met. The map is
/// on-disk data, untrusted: a block number from it is used only after that check.
pub(crate) struct Extents<'a> {
    sbi: &'a SbInfo,
    ino: u64,
    disk: &'a format::Inode,
    /// The checks of the extents met so far.
    checker: format::ExtentChecker,
    /// Overflow blocks met so far.
    overflow_blocks: u64,
    /// The next inline extent.
    inline_index: usize,
    /// Extents of the overflow chain not met yet, as the inode counts them.
    left: u64,
    /// The next overflow block to read, 0 at the end of the chain.
    next: u64,
    /// The overflow block being walked, allocated only for a file that has a chain.
    block: KVec<u8>,
    /// The next extent of `block`, and how many it holds.
    in_block: (usize, usize),
    /// Whether an error ended the walk.
    failed: bool,
}

impl<'a> Extents<'a> {
    /// The walk of the block map of `disk` (inode `ino`).
    pub(crate) fn new(sbi: &'a SbInfo, ino: u64, disk: &'a format::Inode) -> Self {
        Self {
            sbi,
            ino,
            disk,
            checker: format::ExtentChecker::new(&sbi.disk),
            overflow_blocks: 0,
            inline_index: 0,
            left: u64::from(disk.extent_count).saturating_sub(disk.inline_extent_count() as u64),
            next: disk.overflow_block,
            block: KVec::new(),
            in_block: (0, 0),
            failed: false,
        }
    }

    /// Reads the next overflow block of the chain.
    fn read_overflow_block(&mut self) -> Result<u64> {
        let block = self.next;
        if !self.sbi.disk.is_data_block(block) {
            return Err(corrupted(
                self.ino,
                format::FormatError::BadExtent("overflow block out of range"),
            ));
        }
        if self.block.is_empty() {
            self.block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
        }
        self.sbi.pmem.read(block_offset(block), &mut self.block)?;
        self.overflow_blocks += 1;
        let header =
            format::ExtentBlockHeader::decode(&self.block).map_err(|e| corrupted(self.ino, e))?;
        // CAST: a block holds at most `EXTENTS_PER_BLOCK` extents, which `decode` checked.
        let count = header.count as usize;
        self.in_block = (0, count);
        // Each block holds at least one extent, so the walk ends within `extent_count` blocks
        // even on a corrupted chain.
        self.left = self.left.saturating_sub(count as u64);
        self.next = header.next;
        Ok(block)
    }

    /// The next item, or `None` at the end.
    fn step(&mut self) -> Result<Option<Item>> {
        let extent = if self.inline_index < self.disk.inline_extent_count() {
            let extent = self.disk.inline_extent(self.inline_index);
            self.inline_index += 1;
            extent
        } else if self.in_block.0 < self.in_block.1 {
            let extent = format::ExtentBlockHeader::read_extent(&self.block, self.in_block.0);
            self.in_block.0 += 1;
            extent
        } else if self.next != 0 && self.left != 0 {
            return Ok(Some(Item::Overflow(self.read_overflow_block()?)));
        } else {
            // The chain ends at its last block or once the inode's count is met, whichever
            // first: the counts must agree with what was met.
            self.disk
                .check_extent_totals(&self.checker, self.overflow_blocks)
                .map_err(|e| corrupted(self.ino, e))?;
            return Ok(None);
        };
        let extent = extent
            .and_then(|extent| self.checker.add(&extent).map(|()| extent))
            .map_err(|e| corrupted(self.ino, e))?;
        Ok(Some(Item::Extent(extent)))
    }
}

impl Iterator for Extents<'_> {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let step = self.step();
        self.failed = step.is_err();
        step.transpose()
    }
}

/// The device block that file block `file_block` of `disk` (inode `ino`) maps to, `None` in a
/// hole.
pub(crate) fn map_block(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    file_block: u64,
) -> Result<Option<u64>> {
    for item in Extents::new(sbi, ino, disk) {
        if let Item::Extent(extent) = item? {
            if let Some(block) = extent.map(file_block) {
                return Ok(Some(block));
            }
        }
    }
    Ok(None)
}

/// The most extents [`ExtentMap::load`] reserves room for before it has met them.
const MAX_RESERVED_EXTENTS: usize = format::INLINE_EXTENTS + format::EXTENTS_PER_BLOCK;

/// The extents of a file, and the overflow blocks they were loaded from.
pub(crate) struct ExtentMap {
    extents: KVec<Extent>,
    old_overflow: KVec<u64>,
}

/// Whether `b` continues `a` both in the file and on the device.
fn continues(a: &Extent, b: &Extent) -> bool {
    a.logical_end() == Some(b.logical)
        && a.physical_end() == Some(b.physical)
        && a.len.checked_add(b.len).is_some()
}

impl ExtentMap {
    /// Loads the extents of the file `disk` (inode `ino`), checked as [`Extents`] checks them.
    pub(crate) fn load(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result<Self> {
        // The count is on-disk data: it bounds the first reservation only (the walk checks it).
        let expected = usize::try_from(disk.extent_count).unwrap_or(usize::MAX);
        let mut extents = KVec::with_capacity(expected.min(MAX_RESERVED_EXTENTS), GFP_KERNEL)?;
        let mut old_overflow = KVec::new();
        for item in Extents::new(sbi, ino, disk) {
            match item? {
                Item::Extent(extent) => extents.push(extent, GFP_KERNEL)?,
                Item::Overflow(block) => old_overflow.push(block, GFP_KERNEL)?,
            }
        }
        Ok(Self {
            extents,
            old_overflow,
        })
    }

    /// The extent that maps file block `block`.
    pub(crate) fn find(&self, block: u64) -> Option<&Extent> {
        self.extents.iter().find(|e| e.map(block).is_some())
    }

    /// The last extent before file block `block`.
    pub(crate) fn previous(&self, block: u64) -> Option<&Extent> {
        self.extents.iter().rev().find(|e| e.logical < block)
    }

    /// The first file block mapped after `block`, if any.
    pub(crate) fn next_mapped(&self, block: u64) -> Option<u64> {
        self.extents
            .iter()
            .map(|e| e.logical)
            .find(|&logical| logical > block)
    }

    /// Adds `new` (which maps a hole), merging it with the neighbours it continues: faults
    /// fill holes in any order, so a new run may close the gap between two extents.
    pub(crate) fn insert(&mut self, new: Extent) -> Result {
        let mut at = self
            .extents
            .iter()
            .position(|e| e.logical > new.logical)
            .unwrap_or(self.extents.len());
        if at > 0 && continues(&self.extents[at - 1], &new) {
            at -= 1;
            self.extents[at].len += new.len;
        } else {
            self.extents.reserve(1, GFP_KERNEL)?;
            self.extents
                .insert_within_capacity(at, new)
                .map_err(|_| ENOMEM)?;
        }
        if at + 1 < self.extents.len() && continues(&self.extents[at], &self.extents[at + 1]) {
            let next = self.extents.remove(at + 1).map_err(|_| EUCLEAN)?;
            self.extents[at].len += next.len;
        }
        Ok(())
    }

    /// Unmaps the file blocks `first..end` and returns the extents that mapped them.
    pub(crate) fn remove(&mut self, first: u64, end: u64) -> Result<KVec<Extent>> {
        let mut removed = KVec::new();
        let mut kept = KVec::with_capacity(self.extents.len() + 1, GFP_KERNEL)?;
        for extent in self.extents.iter() {
            let (head, rest) = extent.split_at(first);
            let (middle, tail) = match rest {
                Some(rest) => rest.split_at(end),
                None => (None, None),
            };
            for part in [head, tail].into_iter().flatten() {
                kept.push(part, GFP_KERNEL)?;
            }
            if let Some(middle) = middle {
                removed.push(middle, GFP_KERNEL)?;
            }
        }
        self.extents = kept;
        Ok(removed)
    }

    /// Stores the map into `disk` (inode `ino`): the first extents inline, the rest in a new
    /// chain of overflow blocks, in `tx`; `disk.blocks` counts the change in overflow blocks.
    /// The caller writes `disk` and then frees the returned old chain.
    pub(crate) fn store(
        self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
    ) -> Result<KVec<u64>> {
        let (inline, overflow) = self
            .extents
            .split_at(self.extents.len().min(format::INLINE_EXTENTS));
        let chain = write_chain(tx, ino, overflow)?;
        disk.inline = [0; format::INLINE_AREA_SIZE];
        for (index, extent) in inline.iter().enumerate() {
            disk.set_inline_extent(index, extent).map_err(|_| EUCLEAN)?;
        }
        disk.extent_count = u32::try_from(self.extents.len()).map_err(|_| EFBIG)?;
        disk.overflow_block = chain.first().copied().unwrap_or(0);
        disk.blocks = disk.blocks + chain.len() as u64 - self.old_overflow.len() as u64;
        Ok(self.old_overflow)
    }
}

/// Writes `extents` into newly allocated overflow blocks of inode `ino`, chained in order, and
/// returns the chain, in `tx`. On error nothing stays allocated.
fn write_chain(tx: &Tx<'_>, ino: u64, extents: &[Extent]) -> Result<KVec<u64>> {
    let sbi = tx.sbi();
    let chunks = extents.chunks(format::EXTENTS_PER_BLOCK);
    let mut chain = KVec::with_capacity(chunks.len(), GFP_KERNEL)?;
    let written = (|| {
        for _ in 0..chunks.len() {
            let goal = chain.last().map(|&b: &u64| b + 1);
            chain.push(sbi.alloc.alloc_block(tx, ino, goal)?, GFP_KERNEL)?;
        }
        let mut block = KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL)?;
        for (index, chunk) in chunks.enumerate() {
            let next = chain.get(index + 1).copied().unwrap_or(0);
            format::encode_extent_block(&mut block, ino, next, chunk).map_err(|_| EUCLEAN)?;
            tx.write(block_offset(chain[index]), &block[..])?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        free_chain(tx, ino, &chain)?;
        return Err(e);
    }
    Ok(chain)
}

/// Frees the blocks of an old overflow chain at the end of `tx`, which replaced it.
pub(crate) fn free_chain(tx: &Tx<'_>, ino: u64, chain: &[u64]) -> Result {
    chain
        .iter()
        .try_for_each(|&block| tx.sbi().alloc.free_blocks(tx, ino, block, 1))
}
