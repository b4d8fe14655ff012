// SPDX-License-Identifier: GPL-2.0

//! A file's block map: walking its extents on pmem ([`Extents`]), and the extent tree each
//! inode keeps in memory once used ([`ExtentTree`]), which serves lookups and writes its
//! changes through.
//!
//! The first [`format::INLINE_EXTENTS`] extents live in the inode, the rest in a chain of
//! overflow blocks, each of them a leaf of the tree. A change rewrites the leaves it touches in
//! place, undo-logged by its transaction ([`crate::journal`]); a leaf that splits takes a block
//! the transaction allocates (so it needs no undo record), and a leaf left empty is unlinked
//! and freed at the end of the transaction. The caller writes the inode, which holds the inline
//! leaf, the counts and the chain's head.

use kernel::prelude::*;

use crate::{
    format::{
        self,
        Extent, //
    },
    inode::Inode,
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
    /// The next extent of `block` (an index into `order`), and how many it holds.
    in_block: (usize, usize),
    /// The slots of `block`'s extents in file order ([`format::ExtentChecker::block_order`]).
    order: [u8; format::EXTENTS_PER_BLOCK],
    /// The slot of the last extent of an overflow block yielded.
    slot: u8,
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
            checker: format::ExtentChecker::for_inode(&sbi.disk, disk),
            overflow_blocks: 0,
            inline_index: 0,
            left: u64::from(disk.extent_count).saturating_sub(disk.inline_extent_count() as u64),
            next: disk.overflow_block,
            block: KVec::new(),
            in_block: (0, 0),
            order: [0; format::EXTENTS_PER_BLOCK],
            slot: 0,
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
        self.order = self.checker.block_order(&self.block, count);
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
            self.slot = self.order.get(self.in_block.0).copied().unwrap_or(u8::MAX);
            self.in_block.0 += 1;
            format::ExtentBlockHeader::read_extent(&self.block, usize::from(self.slot))
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

impl Extents<'_> {
    /// The slot in its overflow block of the last extent yielded, if it came from one.
    fn last_slot(&self) -> u8 {
        self.slot
    }

    /// Whether the file system's overflow blocks may be unsorted.
    fn unsorted_blocks(&self) -> bool {
        self.checker.unsorted_blocks()
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

/// Whether `b` continues `a` both in the file and on the device, written or unwritten alike,
/// so that the two can be one extent.
fn continues(a: &Extent, b: &Extent) -> bool {
    a.logical_end() == Some(b.logical)
        && a.physical_end() == Some(b.physical)
        && a.unwritten == b.unwritten
        && a.len
            .checked_add(b.len)
            .is_some_and(|len| len <= format::MAX_EXTENT_LEN)
}

/// One leaf of a file's extent tree: the inline extents, or those of one overflow block.
struct Leaf {
    /// The overflow block the extents are stored in, 0 for the inline leaf.
    block: u64,
    /// The extents, in order.
    extents: KVec<Extent>,
    /// The slot of each extent in the overflow block, in the order of `extents` (empty for the
    /// inline leaf).
    slots: KVec<u8>,
}

impl Leaf {
    /// The file block where the leaf's first extent starts, `None` for an empty leaf.
    fn first_logical(&self) -> Option<u64> {
        self.extents.first().map(|e| e.logical)
    }
}

/// Where the extents of a window of leaves go when they are stored again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Spread evenly over the fewest leaves that hold them, which leaves room on both sides of
    /// a split for the inserts that fill holes in any order.
    Even,
    /// Each leaf full but the last: extents appended at the end of the file fill their leaves.
    Packed,
}

/// The extents of one file, in memory, as they are stored: the inode's inline leaf, then one
/// leaf per overflow block of the chain. Built from pmem once ([`with_tree`]), then kept in
/// step with every change, which it writes through to pmem itself.
///
/// Lookups are binary searches, first over the leaves and then within one, and allocate
/// nothing. A change rewrites only the leaves around it (but a shift, which rewrites every leaf
/// after its start): one overflow block in place for an
/// insert or a merge (two when a full leaf splits), the boundary leaves of a removal, whose
/// leaves in between are just unlinked and freed. The in-place rewrites are undo-logged by the
/// transaction, so a crash leaves the chain as it was or as it became.
///
/// # Invariants
///
/// - `leaves[0]` is the inline leaf (block 0) and holds `min(count, INLINE_EXTENTS)` extents;
///   every other leaf holds 1 to `EXTENTS_PER_BLOCK` extents, in the overflow block `block`, and
///   the leaves are chained on pmem in their order, as the on-disk format requires.
/// - The extents of all leaves, in order, are sorted, do not overlap and were checked by
///   [`format::ExtentChecker`] (or made by daxfs); `count` is their number.
/// - An overflow leaf's `slots` are a permutation of `0..extents.len()`, the slots its extents
///   are stored in; `0, 1, 2, ...` unless `unsorted`.
pub(crate) struct ExtentTree {
    /// The leaves: 5,000 for a file of a million extents, more than kmalloc should be asked
    /// for at once.
    leaves: KVVec<Leaf>,
    count: usize,
    /// Whether overflow blocks may be unsorted
    /// ([`format::FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS`]): a rewrite leaves the extents
    /// that stay in their slots.
    unsorted: bool,
}

/// The number of extents of the format's inline leaf.
const INLINE: usize = format::INLINE_EXTENTS;
/// The number of extents of a full overflow leaf.
const PER_BLOCK: usize = format::EXTENTS_PER_BLOCK;

impl ExtentTree {
    /// Loads the extents of the file `disk` (inode `ino`), checked as [`Extents`] checks them.
    fn load(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result<Self> {
        let mut leaves = KVVec::with_capacity(1, GFP_KERNEL)?;
        leaves.push(
            Leaf {
                block: 0,
                extents: KVec::new(),
                slots: KVec::new(),
            },
            GFP_KERNEL,
        )?;
        let mut count = 0;
        let mut walk = Extents::new(sbi, ino, disk);
        while let Some(item) = walk.next() {
            match item? {
                Item::Extent(extent) => {
                    let leaf = leaves.last_mut().ok_or(EINVAL)?;
                    leaf.extents.push(extent, GFP_KERNEL)?;
                    if leaf.block != 0 {
                        leaf.slots.push(walk.last_slot(), GFP_KERNEL)?;
                    }
                    count += 1;
                }
                Item::Overflow(block) => leaves.push(
                    Leaf {
                        block,
                        extents: KVec::with_capacity(PER_BLOCK, GFP_KERNEL)?,
                        slots: KVec::with_capacity(PER_BLOCK, GFP_KERNEL)?,
                    },
                    GFP_KERNEL,
                )?,
            }
        }
        // INVARIANT: `Extents` checked every extent and the counts, and reads `extent_count`
        // inline extents before the chain, whose blocks hold 1 to `EXTENTS_PER_BLOCK` each; it
        // gave each overflow extent's slot.
        Ok(Self {
            leaves,
            count,
            unsorted: walk.unsorted_blocks(),
        })
    }

    /// The leaf that holds, or would hold, an extent starting at file block `block`: the last
    /// leaf whose first extent starts at or before it, else the inline leaf.
    fn leaf_for(&self, block: u64) -> usize {
        self.leaves
            .partition_point(|leaf| leaf.first_logical().is_some_and(|l| l <= block))
            .saturating_sub(1)
    }

    /// The position (leaf, index) of the last extent that starts at or before file block
    /// `block`.
    fn last_at_or_before(&self, block: u64) -> Option<(usize, usize)> {
        let leaf = self.leaf_for(block);
        let index = self.leaves[leaf]
            .extents
            .partition_point(|e| e.logical <= block);
        index.checked_sub(1).map(|index| (leaf, index))
    }

    /// The extent at `position`.
    fn at(&self, (leaf, index): (usize, usize)) -> Option<&Extent> {
        self.leaves.get(leaf)?.extents.get(index)
    }

    /// The extent after `position`, the first one if `None`.
    fn after(&self, position: Option<(usize, usize)>) -> Option<&Extent> {
        let (leaf, index) = position.map_or((0, 0), |(leaf, index)| (leaf, index + 1));
        self.at((leaf, index)).or_else(|| self.at((leaf + 1, 0)))
    }

    /// The extent that maps file block `block`.
    pub(crate) fn find(&self, block: u64) -> Option<&Extent> {
        self.last_at_or_before(block)
            .and_then(|position| self.at(position))
            .filter(|e| e.map(block).is_some())
    }

    /// The last extent that starts before file block `block`.
    pub(crate) fn previous(&self, block: u64) -> Option<&Extent> {
        let position = self.last_at_or_before(block.checked_sub(1)?)?;
        self.at(position)
    }

    /// The first extent that starts after file block `block`, if any.
    pub(crate) fn next(&self, block: u64) -> Option<&Extent> {
        self.after(self.last_at_or_before(block))
    }

    /// The first file block mapped after `block`, if any.
    pub(crate) fn next_mapped(&self, block: u64) -> Option<u64> {
        self.next(block).map(|e| e.logical)
    }

    /// The extents of leaves `lo..=hi`, copied in order.
    fn gather(&self, lo: usize, hi: usize) -> Result<KVec<Extent>> {
        let leaves = self.leaves.get(lo..=hi).ok_or(EINVAL)?;
        let len = leaves.iter().map(|leaf| leaf.extents.len()).sum::<usize>();
        let mut extents = KVec::with_capacity(len + 1, GFP_KERNEL)?;
        for leaf in leaves {
            extents.extend_from_slice(&leaf.extents, GFP_KERNEL)?;
        }
        Ok(extents)
    }

    /// Adds `new` (which maps a hole), merging it with the neighbours it continues (faults fill
    /// holes in any order, so a new run may close the gap between two extents), in `tx`, and
    /// stores the change into `disk` (inode `ino`), which the caller writes.
    pub(crate) fn insert(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        new: Extent,
    ) -> Result {
        let lo = self.leaf_for(new.logical);
        let mut hi = lo;
        let mut extents = self.gather(lo, hi)?;
        let mut at = extents.partition_point(|e| e.logical < new.logical);
        // The extent after `new` may be the first of the next leaf.
        if at == extents.len() {
            if let Some(next) = self.leaves.get(hi + 1).and_then(|l| l.extents.first()) {
                if continues(&new, next) {
                    hi += 1;
                    extents.push(*next, GFP_KERNEL)?;
                }
            }
        }
        if at > 0 && continues(&extents[at - 1], &new) {
            at -= 1;
            extents[at].len += new.len;
        } else {
            extents.reserve(1, GFP_KERNEL)?;
            extents
                .insert_within_capacity(at, new)
                .map_err(|_| ENOMEM)?;
        }
        if at + 1 < extents.len() && continues(&extents[at], &extents[at + 1]) {
            let next = extents.remove(at + 1).map_err(|_| EUCLEAN)?;
            extents[at].len += next.len;
        }
        // The rest of the window (`hi + 1` when merged) is the next leaf's.
        if hi > lo {
            let rest = self.leaves[hi].extents.get(1..).ok_or(EINVAL)?;
            extents.extend_from_slice(rest, GFP_KERNEL)?;
        }
        let appended = at + 1 == extents.len() && hi + 1 == self.leaves.len();
        let fill = if appended { Fill::Packed } else { Fill::Even };
        self.replace(tx, ino, disk, lo, hi, extents, fill, false)
    }

    /// Marks the file blocks `first..end`, which one unwritten extent maps, written, merging
    /// them with the written extents they continue, in `tx`, and stores the change into `disk`
    /// (inode `ino`), which the caller writes. The caller zeroed the blocks first.
    ///
    /// Splitting the extent can split a full leaf, which takes a block: this fails with ENOSPC
    /// on a full file system, as the write that converts would fail.
    pub(crate) fn convert(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        first: u64,
        end: u64,
    ) -> Result {
        let (leaf, index) = self.last_at_or_before(first).ok_or(EINVAL)?;
        let old = *self.at((leaf, index)).ok_or(EINVAL)?;
        if !old.unwritten || old.logical_end().is_none_or(|e| e < end) || first >= end {
            return Err(EINVAL);
        }
        // The extent before the converted part may be the last of the previous leaf.
        let lo = if index == 0 && first == old.logical {
            leaf.saturating_sub(1)
        } else {
            leaf
        };
        let mut hi = leaf;
        let extents = self.gather(lo, hi)?;
        let at = extents.iter().position(|e| *e == old).ok_or(EUCLEAN)?;
        let [head, middle, tail] = old.cut(first, end);
        let middle = Extent {
            unwritten: false,
            ..middle.ok_or(EINVAL)?
        };
        let parts = [head, Some(middle), tail];
        let mut converted = KVec::with_capacity(extents.len() + 3, GFP_KERNEL)?;
        converted.extend_from_slice(extents.get(..at).ok_or(EINVAL)?, GFP_KERNEL)?;
        for part in parts.into_iter().flatten() {
            match converted.last_mut() {
                Some(last) if continues(last, &part) => last.len += part.len,
                _ => converted.push(part, GFP_KERNEL)?,
            }
        }
        // The extent after the converted part may be the first of the next leaf.
        let after = extents.get(at + 1..).ok_or(EINVAL)?;
        let next = match after.first() {
            Some(next) => Some(*next),
            None => self
                .leaves
                .get(hi + 1)
                .and_then(|l| l.extents.first())
                .copied(),
        };
        if let (Some(last), Some(next)) = (converted.last_mut(), next) {
            if continues(last, &next) {
                last.len += next.len;
                if after.is_empty() {
                    hi += 1;
                    let rest = self.leaves[hi].extents.get(1..).ok_or(EINVAL)?;
                    converted.extend_from_slice(rest, GFP_KERNEL)?;
                } else {
                    converted.extend_from_slice(&after[1..], GFP_KERNEL)?;
                }
            } else {
                converted.extend_from_slice(after, GFP_KERNEL)?;
            }
        } else {
            converted.extend_from_slice(after, GFP_KERNEL)?;
        }
        self.replace(tx, ino, disk, lo, hi, converted, Fill::Even, false)
    }

    /// Cuts the extent that maps file block `at` and a block before it in two there, in `tx`,
    /// and stores the change into `disk` (inode `ino`), which the caller writes: afterwards
    /// every extent lies wholly before `at` or wholly from it on.
    pub(crate) fn split(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        at: u64,
    ) -> Result {
        let Some((leaf, index)) = self.last_at_or_before(at) else {
            return Ok(());
        };
        let extent = *self.at((leaf, index)).ok_or(EINVAL)?;
        let (Some(head), Some(tail)) = extent.split_at(at) else {
            return Ok(());
        };
        let mut extents = self.gather(leaf, leaf)?;
        extents.reserve(1, GFP_KERNEL)?;
        extents[index] = head;
        extents
            .insert_within_capacity(index + 1, tail)
            .map_err(|_| ENOMEM)?;
        self.replace(tx, ino, disk, leaf, leaf, extents, Fill::Even, false)
    }

    /// Merges the extent that starts at file block `block` into the one before it when it
    /// continues it on the device, in `tx`, and stores the change into `disk` (inode `ino`),
    /// which the caller writes: a collapse that closes the gap between two pieces of one run
    /// leaves one extent, as on ext4 and XFS (fstests generic/064).
    pub(crate) fn merge_at(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        block: u64,
    ) -> Result {
        let Some((leaf, index)) = self.last_at_or_before(block) else {
            return Ok(());
        };
        let previous = match index.checked_sub(1) {
            Some(index) => Some((leaf, index)),
            None => leaf
                .checked_sub(1)
                .and_then(|lo| Some((lo, self.leaves.get(lo)?.extents.len().checked_sub(1)?))),
        };
        let (Some(prev_position), Some(current)) = (previous, self.at((leaf, index))) else {
            return Ok(());
        };
        let merges = current.logical == block
            && self
                .at(prev_position)
                .is_some_and(|prev| continues(prev, current));
        if !merges {
            return Ok(());
        }
        let lo = prev_position.0;
        let mut extents = self.gather(lo, leaf)?;
        let at = extents.partition_point(|e| e.logical < block);
        let merged = extents.remove(at).map_err(|_| EUCLEAN)?;
        let before = at
            .checked_sub(1)
            .and_then(|i| extents.get_mut(i))
            .ok_or(EUCLEAN)?;
        before.len += merged.len;
        // Fewer extents: it needs no new leaf, so it may use the removal reserve.
        self.replace(tx, ino, disk, lo, leaf, extents, Fill::Even, true)
    }

    /// Moves every extent that starts at or after file block `from` by `blocks` blocks, up
    /// (towards the end of the file: insert range) or down (collapse range), in `tx`, leaf by
    /// leaf: downwards from the first leaf on, upwards from the last leaf back, so that after
    /// each leaf the map is sorted and without overlap, and the transaction may commit
    /// between leaves (each rewritten in place; the inline leaf with the inode, written here
    /// from `disk`, which the caller writes again at the end).
    ///
    /// No extent may straddle `from` ([`ExtentTree::split`]); moving down, the `blocks` blocks
    /// before `from` must be a hole, and moving up, the map must stay within the largest file
    /// ([`ExtentTree::end`]). The caller wrote `disk` as it was before the shift.
    pub(crate) fn shift(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        from: u64,
        blocks: u64,
        up: bool,
    ) -> Result {
        let first = self.leaf_for(from);
        let mut order = first..self.leaves.len();
        loop {
            let index = match if up { order.next_back() } else { order.next() } {
                Some(index) => index,
                None => return Ok(()),
            };
            let leaf = &mut self.leaves[index];
            let mut moved = false;
            for extent in leaf.extents.iter_mut().filter(|e| e.logical >= from) {
                extent.logical = if up {
                    extent.logical.checked_add(blocks)
                } else {
                    extent.logical.checked_sub(blocks)
                }
                .ok_or(EUCLEAN)?;
                moved = true;
            }
            if !moved {
                continue;
            }
            if index == 0 {
                self.store_inline(disk)?;
                tx.sbi().write_inode(tx, ino, disk)?;
            } else {
                let (leaf, next) = (&self.leaves[index], self.leaves.get(index + 1));
                write_leaf(
                    tx,
                    ino,
                    leaf,
                    next.map_or(0, |l| l.block),
                    leaf.extents.len(),
                )?;
            }
            tx.commit_if_half_full()?;
        }
    }

    /// The file block after the last extent, 0 without extents.
    pub(crate) fn end(&self) -> u64 {
        self.leaves
            .last()
            .and_then(|leaf| leaf.extents.last())
            .and_then(Extent::logical_end)
            .unwrap_or(0)
    }

    /// Stores the inline leaf's extents into `disk`.
    fn store_inline(&self, disk: &mut format::Inode) -> Result {
        disk.inline = [0; format::INLINE_AREA_SIZE];
        for (index, extent) in self.leaves[0].extents.iter().enumerate() {
            disk.set_inline_extent(index, extent).map_err(|_| EUCLEAN)?;
        }
        Ok(())
    }

    /// Unmaps the file blocks `first..end` in `tx`, stores the change into `disk` (inode `ino`),
    /// which the caller writes, and returns the extents that mapped them, whose blocks the
    /// caller frees.
    ///
    /// Cutting an extent in two can split a full leaf: its new overflow block comes from the
    /// blocks the allocator keeps for removals, so that removing never fails for want of space.
    pub(crate) fn remove(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        first: u64,
        end: u64,
    ) -> Result<KVVec<Extent>> {
        // A truncate of a file of a million extents removes as many: not one kmalloc's worth.
        let mut removed = KVVec::new();
        if first >= end || self.count == 0 {
            return Ok(removed);
        }
        let lo = self.leaf_for(first);
        let hi = self.leaf_for(end - 1);
        let mut edges = self.gather(lo, lo)?;
        if hi > lo {
            edges.extend_from_slice(&self.leaves[hi].extents, GFP_KERNEL)?;
        }
        let mut kept = KVec::with_capacity(edges.len() + 1, GFP_KERNEL)?;
        for extent in edges.iter() {
            let [head, middle, tail] = extent.cut(first, end);
            for part in [head, tail].into_iter().flatten() {
                kept.push(part, GFP_KERNEL)?;
            }
            if let Some(middle) = middle {
                removed.push(middle, GFP_KERNEL)?;
            }
        }
        // The leaves between the edges lie wholly inside the range.
        for leaf in self.leaves.get(lo + 1..hi).unwrap_or(&[]) {
            removed.extend_from_slice(&leaf.extents, GFP_KERNEL)?;
        }
        if removed.is_empty() {
            return Ok(removed);
        }
        self.replace(tx, ino, disk, lo, hi, kept, Fill::Even, true)?;
        Ok(removed)
    }

    /// Replaces the extents of leaves `lo..=hi` with `extents`, in order, in `tx`: the inline
    /// leaf's first if `lo` is 0, then the fewest overflow leaves that hold the rest as `fill`
    /// says, reusing the window's blocks, allocating more (from the removal reserve if
    /// `reserved`) or freeing those left over; then stores the map's totals and inline extents
    /// into `disk` (inode `ino`). On an allocation failure nothing has changed.
    #[expect(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        tx: &Tx<'_>,
        ino: u64,
        disk: &mut format::Inode,
        lo: usize,
        mut hi: usize,
        mut extents: KVec<Extent>,
        fill: Fill,
        reserved: bool,
    ) -> Result {
        // The inline leaf is full whenever a chain follows it: it takes from the next leaves,
        // and what it cannot hold goes to the first overflow leaf.
        while lo == 0
            && hi + 1 < self.leaves.len()
            && (extents.len() < INLINE || (hi == 0 && extents.len() > INLINE))
        {
            hi += 1;
            extents.extend_from_slice(&self.leaves[hi].extents, GFP_KERNEL)?;
        }
        let old_len: usize = self.leaves[lo..=hi].iter().map(|l| l.extents.len()).sum();
        let count = self.count - old_len + extents.len();
        let extent_count = u32::try_from(count).map_err(|_| EFBIG)?;
        let inline_len = if lo == 0 {
            extents.len().min(INLINE)
        } else {
            0
        };
        let chain_extents = extents.get(inline_len..).ok_or(EINVAL)?;
        let first_chain = lo.max(1);
        let old_blocks = (hi + 1).saturating_sub(first_chain);
        let new_blocks = chain_extents.len().div_ceil(PER_BLOCK);

        // Allocate what the window lacks before anything changes.
        let mut blocks = KVec::with_capacity(new_blocks.max(old_blocks), GFP_KERNEL)?;
        for leaf in self.leaves.get(first_chain..=hi).unwrap_or(&[]) {
            blocks.push(leaf.block, GFP_KERNEL)?;
        }
        let sbi = tx.sbi();
        while blocks.len() < new_blocks {
            let goal = blocks.last().map(|&b| b + 1);
            match sbi.alloc.alloc_block_for(tx, ino, goal, reserved) {
                Ok(block) => blocks.push(block, GFP_KERNEL)?,
                Err(e) => {
                    for &block in blocks.get(old_blocks..).unwrap_or(&[]) {
                        sbi.alloc.free_blocks(tx, ino, block, 1)?;
                    }
                    return Err(e);
                }
            }
        }

        // The new leaves, then the map with them in place of the window's.
        let mut new_leaves = KVec::with_capacity(new_blocks, GFP_KERNEL)?;
        let mut rest = chain_extents;
        for (index, &block) in blocks.iter().take(new_blocks).enumerate() {
            let take = match fill {
                Fill::Packed => rest.len().min(PER_BLOCK),
                Fill::Even => rest.len().div_ceil(new_blocks - index),
            };
            let (mine, others) = rest.split_at(take);
            let mut leaf = KVec::with_capacity(PER_BLOCK.max(take), GFP_KERNEL)?;
            leaf.extend_from_slice(mine, GFP_KERNEL)?;
            // The block's old extents stay in their slots (a new block had none).
            let mut slots = KVec::from_elem(0u8, take, GFP_KERNEL)?;
            match self
                .leaves
                .get(first_chain + index)
                .filter(|_| index < old_blocks)
            {
                Some(old) if self.unsorted => {
                    format::assign_extent_slots(&old.extents, &old.slots, mine, &mut slots)
                }
                _ => format::assign_extent_slots(&[], &[], mine, &mut slots),
            }
            new_leaves.push(
                Leaf {
                    block,
                    extents: leaf,
                    slots,
                },
                GFP_KERNEL,
            )?;
            rest = others;
        }
        if lo == 0 {
            let mut inline = KVec::with_capacity(INLINE, GFP_KERNEL)?;
            inline.extend_from_slice(extents.get(..inline_len).ok_or(EINVAL)?, GFP_KERNEL)?;
            self.leaves[0].extents = inline;
        }
        let old = self.splice(first_chain, old_blocks, new_leaves)?;
        // INVARIANT: the window's extents, in order, now fill the inline leaf first and
        // overflow leaves of 1 to `PER_BLOCK` extents; `count` counts them all.
        self.count = count;

        // Rewrite the overflow blocks whose extents or next block changed, in place.
        let next_of =
            |leaves: &KVVec<Leaf>, index: usize| leaves.get(index + 1).map_or(0, |l| l.block);
        for index in first_chain..first_chain + new_blocks {
            let leaf = &self.leaves[index];
            let next = next_of(&self.leaves, index);
            let before = old.get(index - first_chain);
            let unchanged = before.is_some_and(|(extents, old_next)| {
                extents.as_slice() == leaf.extents.as_slice() && *old_next == next
            });
            if !unchanged {
                // A leaf new to the window is in a block allocated zeroed.
                let old_count = before.map_or(0, |(extents, _)| extents.len());
                write_leaf(tx, ino, leaf, next, old_count)?;
            }
        }
        // The whole window's chain dropped: the leaf before it points past it now.
        if new_blocks == 0 && old_blocks > 0 && first_chain > 1 {
            let index = first_chain - 1;
            let leaf = &self.leaves[index];
            let next = next_of(&self.leaves, index);
            write_leaf(tx, ino, leaf, next, leaf.extents.len())?;
        }
        for &block in blocks.get(new_blocks..).unwrap_or(&[]) {
            sbi.alloc.free_blocks(tx, ino, block, 1)?;
        }

        // The inode: inline extents, totals, the chain's head and its blocks.
        self.store_inline(disk)?;
        disk.extent_count = extent_count;
        disk.overflow_block = self.leaves.get(1).map_or(0, |l| l.block);
        // CAST: leaf counts are far below u64::MAX.
        disk.blocks = (disk.blocks + new_blocks as u64)
            .checked_sub(old_blocks as u64)
            .ok_or(EUCLEAN)?;
        Ok(())
    }

    /// Puts `new` in place of the `len` leaves from `at`, and returns the extents and next
    /// blocks those had, in order.
    fn splice(
        &mut self,
        at: usize,
        len: usize,
        new: KVec<Leaf>,
    ) -> Result<KVVec<(KVec<Extent>, u64)>> {
        let mut old = KVVec::with_capacity(len, GFP_KERNEL)?;
        for index in at..at + len {
            let next = self.leaves.get(index + 1).map_or(0, |l| l.block);
            let extents = core::mem::take(&mut self.leaves[index].extents);
            old.push((extents, next), GFP_KERNEL)?;
        }
        let reused = new.len().min(len);
        let added = new.len() - reused;
        let mut new = new.into_iter();
        for index in at..at + reused {
            if let Some(leaf) = new.next() {
                self.leaves[index] = leaf;
            }
        }
        if len > reused {
            // Drop the leftover leaves in one pass.
            let mut index = 0;
            self.leaves.retain(|_| {
                let keep = !(at + reused..at + len).contains(&index);
                index += 1;
                keep
            });
        } else {
            self.leaves.reserve(added, GFP_KERNEL)?;
            for (offset, leaf) in new.enumerate() {
                self.leaves
                    .insert_within_capacity(at + reused + offset, leaf)
                    .map_err(|_| ENOMEM)?;
            }
        }
        Ok(old)
    }
}

/// Writes the overflow leaf `leaf` of inode `ino`, followed in the chain by block `next` (0 at
/// the end), in `tx`: only its bytes that changed from the `old_count` extents it held.
fn write_leaf(tx: &Tx<'_>, ino: u64, leaf: &Leaf, next: u64, old_count: usize) -> Result {
    // Past the extents of both, old and new are zeros.
    let used = format::EXTENT_BLOCK_HEADER_SIZE
        + leaf.extents.len().max(old_count).min(PER_BLOCK) * format::EXTENT_SIZE;
    tx.with_block_buffer(|buf| {
        format::encode_extent_block_unsealed(buf, ino, next, &leaf.extents, Some(&leaf.slots))
            .map_err(|_| EUCLEAN)?;
        tx.write_changed_sealed(
            block_offset(leaf.block),
            &mut buf[..],
            format::extent_block_off::CHECKSUM,
            used,
        )
    })
}

/// Runs `f` on the extent tree of `inode`, whose on-disk inode `disk` (locked) it is built from
/// on first use, and passes `disk` on. If `f` fails, the tree is dropped, to be built again
/// from pmem: a failed change may have left it ahead of what was stored.
pub(crate) fn with_tree<R>(
    inode: &Inode,
    disk: &mut format::Inode,
    f: impl FnOnce(&mut ExtentTree, &mut format::Inode) -> Result<R>,
) -> Result<R> {
    let mut guard = inode.data().extents.lock();
    let result = built(&mut guard, inode, disk).and_then(|tree| f(tree, disk));
    if result.is_err() {
        *guard = None;
    }
    result
}

/// The tree of `inode` in `slot`, built from its on-disk inode `disk` if it is not yet.
fn built<'a>(
    slot: &'a mut Option<ExtentTree>,
    inode: &Inode,
    disk: &format::Inode,
) -> Result<&'a mut ExtentTree> {
    if slot.is_none() {
        *slot = Some(ExtentTree::load(
            inode.super_block().data(),
            inode.ino(),
            disk,
        )?);
    }
    slot.as_mut().ok_or(EINVAL)
}

/// Runs `f` on the extent tree of `inode`, whose on-disk inode `disk` (locked) it is built from
/// on first use, to look something up.
pub(crate) fn lookup<R>(
    inode: &Inode,
    disk: &format::Inode,
    f: impl FnOnce(&ExtentTree) -> R,
) -> Result<R> {
    let mut guard = inode.data().extents.lock();
    built(&mut guard, inode, disk).map(|tree| f(tree))
}
