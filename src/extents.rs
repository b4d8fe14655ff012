// SPDX-License-Identifier: GPL-2.0

//! A regular file's block map: all its extents, sorted, loaded from the inode and its chain of
//! extent-overflow blocks, edited in memory and stored back.
//!
//! The first [`format::INLINE_EXTENTS`] extents live in the inode, the rest in overflow blocks.
//! Storing writes a new chain (its blocks allocated, written and made durable first), then the
//! caller writes the inode that points to it, the commit point, and only then frees the old
//! chain: a crash at any point leaves either map whole, and at worst leaked blocks for fsck.

use kernel::prelude::*;

use crate::{
    format::{
        self,
        Extent, //
    },
    inode::{
        self,
        for_each_extent, //
    },
    mount::SbInfo,
};

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
    /// Loads the extents of the file `disk` (inode `ino`), checking that they are sorted and
    /// do not overlap.
    pub(crate) fn load(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result<Self> {
        let mut extents = KVec::with_capacity(disk.extent_count as usize, GFP_KERNEL)?;
        let mut old_overflow = KVec::new();
        let mut next_logical = 0;
        for_each_extent(
            sbi,
            ino,
            disk,
            |extent| {
                if extent.logical < next_logical {
                    return Err(inode::corrupted(
                        ino,
                        format::FormatError::BadExtent("extents overlap or are out of order"),
                    ));
                }
                next_logical = extent.logical_end().ok_or(EUCLEAN)?;
                extents.push(*extent, GFP_KERNEL)?;
                Ok(())
            },
            |block| Ok(old_overflow.push(block, GFP_KERNEL)?),
        )?;
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
    /// chain of overflow blocks, durable when this returns; `disk.blocks` counts the change in
    /// overflow blocks. The caller writes `disk` and then frees the returned old chain.
    pub(crate) fn store(
        self,
        sbi: &SbInfo,
        ino: u64,
        disk: &mut format::Inode,
    ) -> Result<KVec<u64>> {
        let (inline, overflow) = self
            .extents
            .split_at(self.extents.len().min(format::INLINE_EXTENTS));
        let chain = write_chain(sbi, ino, overflow)?;
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
/// returns the chain; durable on return. On error nothing stays allocated.
fn write_chain(sbi: &SbInfo, ino: u64, extents: &[Extent]) -> Result<KVec<u64>> {
    let chunks = extents.chunks(format::EXTENTS_PER_BLOCK);
    let mut chain = KVec::with_capacity(chunks.len(), GFP_KERNEL)?;
    let written = (|| {
        for _ in 0..chunks.len() {
            let goal = chain.last().map(|&b: &u64| b + 1);
            chain.push(sbi.alloc_block(ino, goal)?, GFP_KERNEL)?;
        }
        let mut block = KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL)?;
        for (index, chunk) in chunks.enumerate() {
            block.fill(0);
            for (slot, extent) in chunk.iter().enumerate() {
                format::ExtentBlockHeader::write_extent(&mut block, slot, extent)
                    .map_err(|_| EUCLEAN)?;
            }
            let header = format::ExtentBlockHeader {
                count: chunk.len() as u32,
                next: chain.get(index + 1).copied().unwrap_or(0),
                owner: ino,
            };
            header.encode(&mut block);
            sbi.pmem
                .write(SbInfo::block_offset(chain[index]), &block[..])?;
        }
        sbi.pmem.fence();
        Ok(())
    })();
    if let Err(e) = written {
        for &block in chain.iter() {
            sbi.free_blocks(ino, block, 1)?;
        }
        return Err(e);
    }
    Ok(chain)
}

/// Frees the blocks of an old overflow chain, after the inode that replaced it is durable.
pub(crate) fn free_chain(sbi: &SbInfo, ino: u64, chain: &[u64]) -> Result {
    chain
        .iter()
        .try_for_each(|&block| sbi.free_blocks(ino, block, 1))
}
