// SPDX-License-Identifier: GPL-2.0

//! Extents, their checker, and extent-overflow blocks.

use super::{
    checksum::checksum_without_field,
    codec::{
        read_u32,
        read_u64,
        record_mut,
        write_u32,
        write_u64, //
    },
    extent_block_off,
    extent_off,
    FileType,
    FormatError,
    Inode,
    Superblock,
    BLOCK_SIZE,
    EXTENTS_PER_BLOCK,
    EXTENT_BLOCK_HEADER_SIZE,
    EXTENT_BLOCK_MAGIC,
    EXTENT_LEN_UNWRITTEN,
    EXTENT_SIZE,
    FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS,
    FEATURE_INCOMPAT_UNWRITTEN,
    MAX_EXTENT_LEN,
    MAX_FILE_BLOCKS, //
};

/// An extent: `len` file blocks from `logical` mapped to device blocks from `physical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Extent {
    /// First file block.
    pub logical: u64,
    /// First device block.
    pub physical: u64,
    /// Length in blocks, 1 to [`MAX_EXTENT_LEN`].
    pub len: u32,
    /// The blocks are allocated but not written: they read as zeros whatever they hold, and
    /// the first write zeroes them and clears the flag (fallocate, zero range).
    pub unwritten: bool,
}

impl Extent {
    /// A written extent of `len` blocks: file blocks from `logical` on device blocks from
    /// `physical`.
    pub const fn written(logical: u64, physical: u64, len: u32) -> Self {
        Self {
            logical,
            physical,
            len,
            unwritten: false,
        }
    }

    /// Decodes an extent, checking that it is not empty and that neither end overflows.
    pub fn decode(buf: &[u8]) -> Result<Self, FormatError> {
        let len = read_u32(buf, extent_off::LEN)?;
        let extent = Self {
            logical: read_u64(buf, extent_off::LOGICAL)?,
            physical: read_u64(buf, extent_off::PHYSICAL)?,
            len: len & !EXTENT_LEN_UNWRITTEN,
            unwritten: len & EXTENT_LEN_UNWRITTEN != 0,
        };
        if extent.len == 0 {
            return Err(FormatError::BadExtent("zero length"));
        }
        if extent.logical_end().is_none() || extent.physical_end().is_none() {
            return Err(FormatError::BadExtent("end overflows"));
        }
        Ok(extent)
    }

    /// Encodes the extent. A length above [`MAX_EXTENT_LEN`] does not fit: its top bit would
    /// read as the unwritten flag, so it is encoded as 0, which no reader accepts.
    pub fn encode(&self, buf: &mut [u8; EXTENT_SIZE]) {
        let len = if self.len > MAX_EXTENT_LEN {
            0
        } else {
            self.len
        };
        let flag = if self.unwritten {
            EXTENT_LEN_UNWRITTEN
        } else {
            0
        };
        write_u64(buf, extent_off::LOGICAL, self.logical);
        write_u64(buf, extent_off::PHYSICAL, self.physical);
        write_u32(buf, extent_off::LEN, len | flag);
    }

    /// The file block after the extent, if it does not overflow.
    pub fn logical_end(&self) -> Option<u64> {
        self.logical.checked_add(u64::from(self.len))
    }

    /// The device block after the extent, if it does not overflow.
    pub fn physical_end(&self) -> Option<u64> {
        self.physical.checked_add(u64::from(self.len))
    }

    /// Splits the extent at file block `logical`: the part before it and the part from it on,
    /// either of which may be empty (`None`).
    pub fn split_at(&self, logical: u64) -> (Option<Extent>, Option<Extent>) {
        let end = self.logical.saturating_add(u64::from(self.len));
        if logical <= self.logical {
            return (None, Some(*self));
        }
        if logical >= end {
            return (Some(*self), None);
        }
        let head = (logical - self.logical) as u32;
        (
            Some(Extent { len: head, ..*self }),
            Some(Extent {
                logical,
                physical: self.physical + u64::from(head),
                len: self.len - head,
                unwritten: self.unwritten,
            }),
        )
    }

    /// Cuts the extent at file blocks `first` and `end`: the parts before `first`, from `first`
    /// to `end`, and from `end` on, any of which may be empty (`None`).
    pub fn cut(&self, first: u64, end: u64) -> [Option<Extent>; 3] {
        let (head, rest) = self.split_at(first);
        let (middle, tail) = match rest {
            Some(rest) => rest.split_at(end),
            None => (None, None),
        };
        [head, middle, tail]
    }

    /// The device block holding file block `logical`, if the extent maps it.
    pub fn map(&self, logical: u64) -> Option<u64> {
        let offset = logical.checked_sub(self.logical)?;
        if offset < u64::from(self.len) {
            self.physical.checked_add(offset)
        } else {
            None
        }
    }
}

/// Checks a file's extents one by one, in order, and totals them.
///
/// Feed it the inline extents and then those of each overflow block; finish with
/// [`Inode::check_extent_totals`](super::Inode::check_extent_totals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExtentChecker {
    /// First data block.
    data_start: u64,
    /// End of the file system.
    total_blocks: u64,
    /// Extents seen.
    count: u64,
    /// File block after the last extent seen.
    next_logical: u64,
    /// Blocks mapped by the extents seen.
    mapped_blocks: u64,
    /// Whether the extents seen map file blocks `0..next_logical` without a hole.
    contiguous: bool,
    /// Whether the file may have unwritten extents: a regular file of a file system with
    /// [`FEATURE_INCOMPAT_UNWRITTEN`].
    unwritten_allowed: bool,
    /// Whether an overflow block's extents may be in any order of its slots
    /// ([`FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS`]).
    unsorted_blocks: bool,
}

impl ExtentChecker {
    /// A checker for the extents of `inode`, a file of `sb`.
    pub fn for_inode(sb: &Superblock, inode: &Inode) -> Self {
        Self {
            data_start: sb.data_start,
            total_blocks: sb.total_blocks,
            contiguous: true,
            unwritten_allowed: sb.feature_incompat & FEATURE_INCOMPAT_UNWRITTEN != 0
                && inode.file_type() == Some(FileType::Regular),
            unsorted_blocks: sb.feature_incompat & FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS != 0,
            ..Self::default()
        }
    }

    /// The slots of the first `count` extents of the overflow block `block` in the order to
    /// check and use them: sorted by file block where the block may be unsorted, else as
    /// stored (and then an unsorted block fails [`ExtentChecker::add`]). Two extents that
    /// overlap come next to each other, so the checker finds them.
    pub fn block_order(&self, block: &[u8], count: usize) -> [u8; EXTENTS_PER_BLOCK] {
        let mut order = [0u8; EXTENTS_PER_BLOCK];
        for (slot, entry) in order.iter_mut().enumerate() {
            // CAST: `EXTENTS_PER_BLOCK` (203) slots fit `u8`.
            *entry = slot as u8;
        }
        if self.unsorted_blocks {
            let used = order.get_mut(..count).unwrap_or_default();
            used.sort_unstable_by_key(|&slot| {
                ExtentBlockHeader::extent_offset(usize::from(slot))
                    .and_then(|offset| read_u64(block, offset + extent_off::LOGICAL))
                    .unwrap_or(u64::MAX)
            });
        }
        order
    }

    /// Whether overflow blocks may be unsorted, so that a writer may leave extents in place.
    pub fn unsorted_blocks(&self) -> bool {
        self.unsorted_blocks
    }

    /// Checks the next extent: not empty, inside the data area, within the largest file, after
    /// the previous one without overlapping it, and unwritten only in a regular file of a file
    /// system that has unwritten extents (a directory or symlink reads its blocks as they are).
    pub fn add(&mut self, extent: &Extent) -> Result<(), FormatError> {
        use FormatError::BadExtent;

        if extent.len == 0 {
            return Err(BadExtent("zero length"));
        }
        if extent.len > MAX_EXTENT_LEN {
            return Err(BadExtent("longer than the longest extent"));
        }
        if extent.unwritten && !self.unwritten_allowed {
            return Err(BadExtent(
                "unwritten extent outside a regular file of the feature",
            ));
        }
        let logical_end = extent
            .logical_end()
            .filter(|&end| end <= MAX_FILE_BLOCKS)
            .ok_or(BadExtent("maps past the largest file size"))?;
        if extent.physical < self.data_start
            || extent
                .physical_end()
                .is_none_or(|end| end > self.total_blocks)
        {
            return Err(BadExtent("outside the data area"));
        }
        if extent.logical < self.next_logical {
            return Err(BadExtent("overlaps or is out of order"));
        }
        if extent.logical != self.next_logical {
            self.contiguous = false;
        }
        self.count = self
            .count
            .checked_add(1)
            .ok_or(BadExtent("too many extents"))?;
        self.mapped_blocks = self
            .mapped_blocks
            .checked_add(u64::from(extent.len))
            .ok_or(BadExtent("too many blocks"))?;
        self.next_logical = logical_end;
        Ok(())
    }

    /// Extents seen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Blocks mapped by the extents seen so far.
    pub fn mapped_blocks(&self) -> u64 {
        self.mapped_blocks
    }

    /// The file block after the last extent seen (0 if none).
    pub fn next_logical(&self) -> u64 {
        self.next_logical
    }

    /// Whether the extents seen map file blocks `0..next_logical()` without a hole.
    pub fn is_contiguous(&self) -> bool {
        self.contiguous
    }
}

/// The header of an extent-overflow block. Its magic and checksum are implied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExtentBlockHeader {
    /// Extents in this block, 1..=[`EXTENTS_PER_BLOCK`].
    pub count: u32,
    /// Next overflow block, 0 at the end of the chain.
    pub next: u64,
    /// Inode owning the block.
    pub owner: u64,
}

impl ExtentBlockHeader {
    /// Decodes the header of an extent-overflow block, checking the magic, the checksum (over
    /// the whole block, so `block` must be the whole block) and the extent count.
    pub fn decode(block: &[u8]) -> Result<Self, FormatError> {
        let block = block.get(..BLOCK_SIZE).ok_or(FormatError::TooShort)?;
        if read_u32(block, extent_block_off::MAGIC)? != EXTENT_BLOCK_MAGIC {
            return Err(FormatError::BadMagic);
        }
        if read_u32(block, extent_block_off::CHECKSUM)?
            != checksum_without_field(block, extent_block_off::CHECKSUM)
        {
            return Err(FormatError::BadChecksum);
        }
        let header = Self {
            count: read_u32(block, extent_block_off::COUNT)?,
            next: read_u64(block, extent_block_off::NEXT)?,
            owner: read_u64(block, extent_block_off::OWNER)?,
        };
        if header.count == 0 || header.count as usize > EXTENTS_PER_BLOCK {
            return Err(FormatError::BadExtent(
                "overflow block extent count out of range",
            ));
        }
        Ok(header)
    }

    /// Writes the header and seals the block with its checksum. Write the extents with
    /// [`ExtentBlockHeader::write_extent`] first: the checksum covers them. (To write a whole
    /// block, use [`encode_extent_block`].)
    pub fn encode(&self, block: &mut [u8; BLOCK_SIZE]) {
        self.encode_unsealed(block);
        let checksum = checksum_without_field(block, extent_block_off::CHECKSUM);
        write_u32(block, extent_block_off::CHECKSUM, checksum);
    }

    /// Writes the header but for the checksum.
    fn encode_unsealed(&self, block: &mut [u8; BLOCK_SIZE]) {
        write_u32(block, extent_block_off::MAGIC, EXTENT_BLOCK_MAGIC);
        write_u32(block, extent_block_off::COUNT, self.count);
        write_u64(block, extent_block_off::NEXT, self.next);
        write_u64(block, extent_block_off::OWNER, self.owner);
    }

    /// Byte offset of extent `index` in an overflow block.
    fn extent_offset(index: usize) -> Result<usize, FormatError> {
        if index >= EXTENTS_PER_BLOCK {
            return Err(FormatError::BadExtent("overflow extent index out of range"));
        }
        Ok(EXTENT_BLOCK_HEADER_SIZE + index * EXTENT_SIZE)
    }

    /// Decodes extent `index` of an overflow block (check `index < count` first).
    pub fn read_extent(block: &[u8], index: usize) -> Result<Extent, FormatError> {
        let offset = Self::extent_offset(index)?;
        let bytes = block
            .get(offset..offset + EXTENT_SIZE)
            .ok_or(FormatError::TooShort)?;
        Extent::decode(bytes)
    }

    /// Stores `extent` as extent `index` of an overflow block.
    pub fn write_extent(
        block: &mut [u8; BLOCK_SIZE],
        index: usize,
        extent: &Extent,
    ) -> Result<(), FormatError> {
        let offset = Self::extent_offset(index)?;
        let slot = record_mut::<EXTENT_SIZE>(block, offset).ok_or(FormatError::TooShort)?;
        extent.encode(slot);
        Ok(())
    }
}

/// Encodes one extent-overflow block: `extents` (1..=EXTENTS_PER_BLOCK of them), the chain's
/// `next` block (0 at the end) and the owning inode, over the whole of `block` (zeroing the rest).
///
/// Fails, leaving `block` untouched, if there are no extents or more than [`EXTENTS_PER_BLOCK`].
/// The extents themselves are not checked: that is [`ExtentChecker`]'s job.
pub fn encode_extent_block(
    block: &mut [u8; BLOCK_SIZE],
    owner: u64,
    next: u64,
    extents: &[Extent],
) -> Result<(), FormatError> {
    encode_extent_block_unsealed(block, owner, next, extents, None)?;
    let checksum = checksum_without_field(block, extent_block_off::CHECKSUM);
    write_u32(block, extent_block_off::CHECKSUM, checksum);
    Ok(())
}

/// [`encode_extent_block`] but for the checksum, which is left zero (for a writer that derives
/// it from the block's old checksum and what changed, [`super::checksum_after_change`]), and
/// with extent `i` in slot `slots[i]` (in slot `i` if `slots` is `None`). `slots` must be a
/// permutation of `0..extents.len()`; the extents must be sorted unless the file system has
/// [`FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS`].
pub fn encode_extent_block_unsealed(
    block: &mut [u8; BLOCK_SIZE],
    owner: u64,
    next: u64,
    extents: &[Extent],
    slots: Option<&[u8]>,
) -> Result<(), FormatError> {
    if extents.is_empty() || extents.len() > EXTENTS_PER_BLOCK {
        return Err(FormatError::BadExtent(
            "overflow block extent count out of range",
        ));
    }
    if let Some(slots) = slots {
        let mut seen = [false; EXTENTS_PER_BLOCK];
        let permutation = slots.len() == extents.len()
            && slots.iter().all(|&slot| {
                let slot = usize::from(slot);
                slot < extents.len() && !core::mem::replace(&mut seen[slot], true)
            });
        if !permutation {
            return Err(FormatError::BadExtent("overflow block slots out of range"));
        }
    }
    // At most EXTENTS_PER_BLOCK (203): the count fits.
    let count = extents.len() as u32;
    // Every byte is written: the header's (reserved ones and the checksum zero), the extents,
    // zeros after them.
    let used = EXTENT_BLOCK_HEADER_SIZE + extents.len() * EXTENT_SIZE;
    for zeros in [0..EXTENT_BLOCK_HEADER_SIZE, used..BLOCK_SIZE] {
        block.get_mut(zeros).unwrap_or_default().fill(0);
    }
    for (index, extent) in extents.iter().enumerate() {
        let slot = slots
            .and_then(|slots| slots.get(index))
            .map_or(index, |&s| usize::from(s));
        ExtentBlockHeader::write_extent(block, slot, extent)?;
    }
    ExtentBlockHeader { count, next, owner }.encode_unsealed(block);
    Ok(())
}

/// The slots of the extents `new` (sorted) of an overflow block that held the extents `old`
/// (sorted) in the slots `old_slots`, into `slots`: an extent that `old` held stays in its slot
/// where it can, and the others take the free slots below `new.len()`, so that a rewrite
/// changes the fewest slots (one for an insert or a merge). Each slot must be below
/// [`EXTENTS_PER_BLOCK`] and `slots` as long as `new`; without room, `slots` is left as it is.
pub fn assign_extent_slots(old: &[Extent], old_slots: &[u8], new: &[Extent], slots: &mut [u8]) {
    const UNSET: u8 = u8::MAX;
    let len = new.len();
    if len > EXTENTS_PER_BLOCK || slots.len() != len {
        return;
    }
    let mut taken = [false; EXTENTS_PER_BLOCK];
    slots.fill(UNSET);
    // Both are sorted: walk them together to find the extents that stay.
    let (mut i, mut j) = (0, 0);
    while let (Some(n), Some(o)) = (new.get(i), old.get(j)) {
        match n.logical.cmp(&o.logical) {
            core::cmp::Ordering::Less => i += 1,
            core::cmp::Ordering::Greater => j += 1,
            core::cmp::Ordering::Equal => {
                if let (true, Some(&slot)) = (n == o, old_slots.get(j)) {
                    if usize::from(slot) < len && !taken[usize::from(slot)] {
                        taken[usize::from(slot)] = true;
                        slots[i] = slot;
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    let mut free = taken
        .iter()
        .enumerate()
        .filter(|(_, &t)| !t)
        .map(|(s, _)| s);
    for slot in slots.iter_mut().filter(|s| **s == UNSET) {
        // CAST: below `EXTENTS_PER_BLOCK` (203), which fits `u8`; there are as many free slots
        // below `len` as extents without one.
        *slot = free.next().map_or(0, |s| s as u8);
    }
}
