// SPDX-License-Identifier: GPL-2.0

//! The superblock (block 0), the geometry mkfs chooses, and the block allocation bitmap.

use super::{
    checksum::crc32c,
    codec::{
        read_bytes,
        read_u16,
        read_u32,
        read_u64,
        write_bytes,
        write_u16,
        write_u32,
        write_u64, //
    },
    sb_off,
    FormatError,
    BITS_PER_BITMAP_BLOCK,
    BLOCKS_PER_INODE,
    BLOCK_SIZE,
    BLOCK_SIZE_U64,
    DATA_ALIGN_BLOCKS,
    DATA_ALIGN_MIN_BLOCKS,
    FEATURE_INCOMPAT_INODE_ATTRIBUTES,
    FEATURE_INCOMPAT_POSIX_ACL,
    FEATURE_INCOMPAT_SUPPORTED,
    FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS,
    FEATURE_INCOMPAT_UNWRITTEN,
    FEATURE_INCOMPAT_XATTR,
    FEATURE_RO_COMPAT_SUPPORTED,
    INODES_PER_BLOCK,
    INODE_SIZE,
    JOURNAL_BLOCKS_DIVISOR,
    LABEL_LEN,
    MAGIC,
    MAX_BLOCKS,
    MAX_DEFAULT_JOURNAL_BLOCKS,
    MAX_INODES,
    MAX_JOURNAL_BLOCKS,
    MIN_BLOCKS,
    MIN_DEFAULT_INODES,
    MIN_JOURNAL_BLOCKS,
    ROOT_INO,
    STATE_CLEAN,
    STATE_DIRTY,
    SUPERBLOCK_UNSUMMED,
    VERSION_MAJOR,
    VERSION_MINOR, //
};

/// The superblock checksum: CRC32C of block 0 with the fields of [`SUPERBLOCK_UNSUMMED`] (the
/// live fields, written on their own, and the checksum) read as zero.
pub(super) fn superblock_checksum(block: &[u8]) -> u32 {
    let mut crc = 0;
    let mut at = 0;
    for (offset, len) in SUPERBLOCK_UNSUMMED {
        crc = crc32c(crc, block.get(at..offset).unwrap_or(&[]));
        crc = crc32c(crc, &[0; 8][..len]);
        at = offset + len;
    }
    crc32c(crc, block.get(at..).unwrap_or(&[]))
}

/// Returns bit `bit` of a bitmap block (see the [format documentation](super) for the bit order).
pub fn bitmap_get(bitmap: &[u8], bit: u64) -> Result<bool, FormatError> {
    let byte = usize::try_from(bit / 8).map_err(|_| FormatError::TooShort)?;
    let byte = bitmap.get(byte).ok_or(FormatError::TooShort)?;
    Ok(byte & (1 << (bit % 8)) != 0)
}

/// Sets bit `bit` of a bitmap block to `value` and returns its previous value.
pub fn bitmap_set(bitmap: &mut [u8], bit: u64, value: bool) -> Result<bool, FormatError> {
    let byte = usize::try_from(bit / 8).map_err(|_| FormatError::TooShort)?;
    let byte = bitmap.get_mut(byte).ok_or(FormatError::TooShort)?;
    let mask = 1 << (bit % 8);
    let previous = *byte & mask != 0;
    if value {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    Ok(previous)
}

/// Where the regions of a new file system go; computed by mkfs for a device size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Geometry {
    /// Blocks in the file system.
    pub total_blocks: u64,
    /// First bitmap block.
    pub bitmap_start: u64,
    /// Bitmap blocks.
    pub bitmap_blocks: u64,
    /// First inode table block.
    pub inode_table_start: u64,
    /// Inode table blocks.
    pub inode_table_blocks: u64,
    /// Inodes (`inode_table_blocks * INODES_PER_BLOCK`).
    pub inode_count: u64,
    /// First journal block.
    pub journal_start: u64,
    /// Journal blocks.
    pub journal_blocks: u64,
    /// First data block.
    pub data_start: u64,
}

impl Geometry {
    /// The layout for a device of `device_blocks` blocks with at least `inodes` inodes (default:
    /// one per 16 KiB, at least [`MIN_DEFAULT_INODES`]), rounded up to whole inode table blocks.
    pub fn for_device(device_blocks: u64, inodes: Option<u64>) -> Result<Self, FormatError> {
        use FormatError::BadGeometry;

        if device_blocks < MIN_BLOCKS {
            return Err(BadGeometry("device smaller than the minimum of 1 MiB"));
        }
        let total_blocks = device_blocks.min(MAX_BLOCKS);
        let wanted_inodes = match inodes {
            Some(0) => return Err(BadGeometry("inode count must be at least 1")),
            Some(count) => count,
            None => (total_blocks / BLOCKS_PER_INODE).clamp(MIN_DEFAULT_INODES, MAX_INODES),
        };
        if wanted_inodes > MAX_INODES {
            return Err(BadGeometry("more inodes than the format allows"));
        }
        let no_room = BadGeometry("the inode table leaves no room for data");
        let inodes_per_block = INODES_PER_BLOCK as u64;
        let inode_table_blocks = wanted_inodes.div_ceil(inodes_per_block);
        let bitmap_start = 1;
        let bitmap_blocks = total_blocks.div_ceil(BITS_PER_BITMAP_BLOCK);
        // None of these can overflow for the sizes above, but checked arithmetic keeps even
        // that from becoming a panic.
        let inode_table_start = bitmap_blocks.checked_add(bitmap_start).ok_or(no_room)?;
        let journal_start = inode_table_start
            .checked_add(inode_table_blocks)
            .ok_or(no_room)?;
        let journal_blocks = (total_blocks / JOURNAL_BLOCKS_DIVISOR)
            .clamp(MIN_JOURNAL_BLOCKS, MAX_DEFAULT_JOURNAL_BLOCKS);
        let metadata_end = journal_start.checked_add(journal_blocks).ok_or(no_room)?;
        let data_start = if total_blocks >= DATA_ALIGN_MIN_BLOCKS {
            metadata_end
                .checked_next_multiple_of(DATA_ALIGN_BLOCKS)
                .ok_or(no_room)?
        } else {
            metadata_end
        };
        if data_start >= total_blocks {
            return Err(no_room);
        }
        Ok(Self {
            total_blocks,
            bitmap_start,
            bitmap_blocks,
            inode_table_start,
            inode_table_blocks,
            inode_count: inode_table_blocks
                .checked_mul(inodes_per_block)
                .ok_or(no_room)?,
            journal_start,
            journal_blocks,
            data_start,
        })
    }
}

/// The superblock, in block 0. The magic and checksum are implied: `decode` checks them and
/// `encode` writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Superblock {
    /// Format major version.
    pub version_major: u16,
    /// Format minor version.
    pub version_minor: u16,
    /// Compatible feature bits.
    pub feature_compat: u32,
    /// Incompatible feature bits.
    pub feature_incompat: u32,
    /// Read-only-compatible feature bits.
    pub feature_ro_compat: u32,
    /// File system UUID.
    pub uuid: [u8; 16],
    /// Volume label, NUL-padded.
    pub label: [u8; 32],
    /// Block size in bytes (always [`BLOCK_SIZE`]).
    pub block_size: u32,
    /// [`STATE_CLEAN`] or [`STATE_DIRTY`].
    pub state: u32,
    /// Blocks in the file system.
    pub total_blocks: u64,
    /// First bitmap block.
    pub bitmap_start: u64,
    /// Bitmap blocks.
    pub bitmap_blocks: u64,
    /// First inode table block.
    pub inode_table_start: u64,
    /// Inode table blocks.
    pub inode_table_blocks: u64,
    /// Inodes in the table.
    pub inode_count: u64,
    /// First block of the undo journal.
    pub journal_start: u64,
    /// Blocks of the undo journal.
    pub journal_blocks: u64,
    /// First block of the data area.
    pub data_start: u64,
    /// Root directory inode number.
    pub root_ino: u64,
    /// Free blocks in the data area.
    pub free_blocks: u64,
    /// Free inodes.
    pub free_inodes: u64,
    /// First inode of the orphan list, 0 if empty.
    pub orphan_head: u64,
    /// Creation time, seconds since the epoch.
    pub mkfs_time: u64,
}

impl Superblock {
    /// A fresh superblock for `geometry`, clean, with only the root inode in use.
    pub fn new(geometry: &Geometry, uuid: [u8; 16], label: [u8; 32], mkfs_time: u64) -> Self {
        Self {
            version_major: VERSION_MAJOR,
            version_minor: VERSION_MINOR,
            feature_compat: 0,
            feature_incompat: FEATURE_INCOMPAT_UNWRITTEN
                | FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS
                | FEATURE_INCOMPAT_INODE_ATTRIBUTES
                | FEATURE_INCOMPAT_XATTR
                | FEATURE_INCOMPAT_POSIX_ACL,
            feature_ro_compat: 0,
            uuid,
            label,
            block_size: BLOCK_SIZE as u32,
            state: STATE_CLEAN,
            total_blocks: geometry.total_blocks,
            bitmap_start: geometry.bitmap_start,
            bitmap_blocks: geometry.bitmap_blocks,
            inode_table_start: geometry.inode_table_start,
            inode_table_blocks: geometry.inode_table_blocks,
            inode_count: geometry.inode_count,
            journal_start: geometry.journal_start,
            journal_blocks: geometry.journal_blocks,
            data_start: geometry.data_start,
            root_ino: ROOT_INO,
            free_blocks: geometry.total_blocks.saturating_sub(geometry.data_start),
            free_inodes: geometry.inode_count.saturating_sub(1),
            orphan_head: 0,
            mkfs_time,
        }
    }

    /// Decodes block 0. Checks, in this order: length, magic, major version, checksum,
    /// incompatible features, block size and state. Geometry is checked separately by
    /// [`Superblock::validate_geometry`], and read-only-compatible features by
    /// [`Superblock::check_writable`].
    pub fn decode(buf: &[u8]) -> Result<Self, FormatError> {
        Self::decode_checking(buf, true)
    }

    /// [`Superblock::decode`] without the checksum: only to locate the journal (after
    /// [`Superblock::validate_geometry`]) when the checksum fails, which a crash in the middle
    /// of a label change leaves until its undo ([`Superblock::decode_after_undo`]).
    pub fn decode_unchecked(buf: &[u8]) -> Result<Self, FormatError> {
        Self::decode_checking(buf, false)
    }

    /// Block 0 in `block`, a copy the caller gives up, decoded as the undo of an interrupted
    /// transaction leaves it: `records` are its undo records as (device byte offset, old
    /// bytes), newest first, as recovery applies them (so that of two records of one range the
    /// older wins); those in block 0 (the label, the checksum, `orphan_head`: see
    /// [`Superblock::check_undo_target`]) are applied to `block`, which must then decode with a
    /// valid checksum. This is how mount and fsck read a superblock whose label change a crash
    /// interrupted, before they undo it on the device.
    pub fn decode_after_undo<'a>(
        block: &mut [u8],
        records: impl Iterator<Item = (u64, &'a [u8])>,
    ) -> Result<Self, FormatError> {
        let block = block.get_mut(..BLOCK_SIZE).ok_or(FormatError::TooShort)?;
        for (offset, old) in records {
            if offset < BLOCK_SIZE_U64 {
                // CAST: below 4096.
                let at = offset as usize;
                if at.checked_add(old.len()).is_none_or(|end| end > BLOCK_SIZE) {
                    return Err(FormatError::BadJournal("undo record past block 0"));
                }
                write_bytes(block, at, old);
            }
        }
        Self::decode(block)
    }

    /// [`Superblock::decode`], checking the checksum if `verify`.
    fn decode_checking(buf: &[u8], verify: bool) -> Result<Self, FormatError> {
        let block = buf.get(..BLOCK_SIZE).ok_or(FormatError::TooShort)?;
        if read_bytes::<8>(block, sb_off::MAGIC)? != MAGIC {
            return Err(FormatError::BadMagic);
        }
        // The version comes before the checksum: another major may checksum differently.
        let version_major = read_u16(block, sb_off::VERSION_MAJOR)?;
        let version_minor = read_u16(block, sb_off::VERSION_MINOR)?;
        if version_major != VERSION_MAJOR {
            return Err(FormatError::UnsupportedVersion {
                major: version_major,
                minor: version_minor,
            });
        }
        if verify && read_u32(block, sb_off::CHECKSUM)? != superblock_checksum(block) {
            return Err(FormatError::BadChecksum);
        }
        let sb = Self {
            version_major,
            version_minor,
            feature_compat: read_u32(block, sb_off::FEATURE_COMPAT)?,
            feature_incompat: read_u32(block, sb_off::FEATURE_INCOMPAT)?,
            feature_ro_compat: read_u32(block, sb_off::FEATURE_RO_COMPAT)?,
            uuid: read_bytes(block, sb_off::UUID)?,
            label: read_bytes(block, sb_off::LABEL)?,
            block_size: read_u32(block, sb_off::BLOCK_SIZE)?,
            state: read_u32(block, sb_off::STATE)?,
            total_blocks: read_u64(block, sb_off::TOTAL_BLOCKS)?,
            bitmap_start: read_u64(block, sb_off::BITMAP_START)?,
            bitmap_blocks: read_u64(block, sb_off::BITMAP_BLOCKS)?,
            inode_table_start: read_u64(block, sb_off::INODE_TABLE_START)?,
            inode_table_blocks: read_u64(block, sb_off::INODE_TABLE_BLOCKS)?,
            inode_count: read_u64(block, sb_off::INODE_COUNT)?,
            data_start: read_u64(block, sb_off::DATA_START)?,
            root_ino: read_u64(block, sb_off::ROOT_INO)?,
            free_blocks: read_u64(block, sb_off::FREE_BLOCKS)?,
            free_inodes: read_u64(block, sb_off::FREE_INODES)?,
            orphan_head: read_u64(block, sb_off::ORPHAN_HEAD)?,
            mkfs_time: read_u64(block, sb_off::MKFS_TIME)?,
            journal_start: read_u64(block, sb_off::JOURNAL_START)?,
            journal_blocks: read_u64(block, sb_off::JOURNAL_BLOCKS)?,
        };
        let unknown_incompat = sb.feature_incompat & !FEATURE_INCOMPAT_SUPPORTED;
        if unknown_incompat != 0 {
            return Err(FormatError::UnsupportedFeatures {
                incompat: unknown_incompat,
                ro_compat: sb.feature_ro_compat & !FEATURE_RO_COMPAT_SUPPORTED,
            });
        }
        if sb.feature_incompat & FEATURE_INCOMPAT_POSIX_ACL != 0
            && sb.feature_incompat & FEATURE_INCOMPAT_XATTR == 0
        {
            return Err(FormatError::BadSuperblock(
                "POSIX ACLs without extended attributes",
            ));
        }
        if u64::from(sb.block_size) != BLOCK_SIZE_U64 {
            return Err(FormatError::BadGeometry("block size is not 4096 bytes"));
        }
        if sb.state != STATE_CLEAN && sb.state != STATE_DIRTY {
            return Err(FormatError::BadSuperblock("unknown state"));
        }
        Ok(sb)
    }

    /// Encodes into block 0: every field, the magic, zeroed reserved bytes and the checksum.
    pub fn encode(&self, buf: &mut [u8; BLOCK_SIZE]) {
        buf.fill(0);
        write_bytes(buf, sb_off::MAGIC, &MAGIC);
        write_u16(buf, sb_off::VERSION_MAJOR, self.version_major);
        write_u16(buf, sb_off::VERSION_MINOR, self.version_minor);
        write_u32(buf, sb_off::FEATURE_COMPAT, self.feature_compat);
        write_u32(buf, sb_off::FEATURE_INCOMPAT, self.feature_incompat);
        write_u32(buf, sb_off::FEATURE_RO_COMPAT, self.feature_ro_compat);
        write_bytes(buf, sb_off::UUID, &self.uuid);
        write_bytes(buf, sb_off::LABEL, &self.label);
        write_u32(buf, sb_off::BLOCK_SIZE, self.block_size);
        write_u32(buf, sb_off::STATE, self.state);
        write_u64(buf, sb_off::TOTAL_BLOCKS, self.total_blocks);
        write_u64(buf, sb_off::BITMAP_START, self.bitmap_start);
        write_u64(buf, sb_off::BITMAP_BLOCKS, self.bitmap_blocks);
        write_u64(buf, sb_off::INODE_TABLE_START, self.inode_table_start);
        write_u64(buf, sb_off::INODE_TABLE_BLOCKS, self.inode_table_blocks);
        write_u64(buf, sb_off::INODE_COUNT, self.inode_count);
        write_u64(buf, sb_off::DATA_START, self.data_start);
        write_u64(buf, sb_off::ROOT_INO, self.root_ino);
        write_u64(buf, sb_off::FREE_BLOCKS, self.free_blocks);
        write_u64(buf, sb_off::FREE_INODES, self.free_inodes);
        write_u64(buf, sb_off::ORPHAN_HEAD, self.orphan_head);
        write_u64(buf, sb_off::MKFS_TIME, self.mkfs_time);
        write_u64(buf, sb_off::JOURNAL_START, self.journal_start);
        write_u64(buf, sb_off::JOURNAL_BLOCKS, self.journal_blocks);
        let checksum = superblock_checksum(buf);
        write_u32(buf, sb_off::CHECKSUM, checksum);
    }

    /// Checks that the regions are consistent and fit a device of `device_blocks` blocks.
    pub fn validate_geometry(&self, device_blocks: u64) -> Result<(), FormatError> {
        use FormatError::BadGeometry;

        if u64::from(self.block_size) != BLOCK_SIZE_U64 {
            return Err(BadGeometry("block size is not 4096 bytes"));
        }
        if self.total_blocks < MIN_BLOCKS {
            return Err(BadGeometry(
                "file system smaller than the minimum of 256 blocks",
            ));
        }
        if self.total_blocks > device_blocks {
            return Err(BadGeometry("file system larger than the device"));
        }
        if self.total_blocks > MAX_BLOCKS {
            return Err(BadGeometry("file system larger than the format allows"));
        }
        if self.bitmap_start == 0 {
            return Err(BadGeometry("bitmap overlaps the superblock"));
        }
        if self.bitmap_blocks != self.total_blocks.div_ceil(BITS_PER_BITMAP_BLOCK) {
            return Err(BadGeometry("bitmap size does not match the block count"));
        }
        let bitmap_end = self
            .bitmap_start
            .checked_add(self.bitmap_blocks)
            .ok_or(BadGeometry("bitmap extends past the end"))?;
        if self.inode_table_start < bitmap_end {
            return Err(BadGeometry("inode table overlaps the bitmap"));
        }
        if self.inode_table_blocks == 0 {
            return Err(BadGeometry("inode table is empty"));
        }
        if self.inode_table_blocks.checked_mul(INODES_PER_BLOCK as u64) != Some(self.inode_count) {
            return Err(BadGeometry(
                "inode count does not match the inode table size",
            ));
        }
        if self.inode_count > MAX_INODES {
            return Err(BadGeometry("more inodes than the format allows"));
        }
        let inode_table_end = self
            .inode_table_start
            .checked_add(self.inode_table_blocks)
            .ok_or(BadGeometry("inode table extends past the end"))?;
        if self.journal_start < inode_table_end {
            return Err(BadGeometry("journal overlaps the inode table"));
        }
        if self.journal_blocks < MIN_JOURNAL_BLOCKS || self.journal_blocks > MAX_JOURNAL_BLOCKS {
            return Err(BadGeometry("journal size out of range"));
        }
        let journal_end = self
            .journal_start
            .checked_add(self.journal_blocks)
            .ok_or(BadGeometry("journal extends past the end"))?;
        if self.data_start < journal_end {
            return Err(BadGeometry("data area overlaps the journal"));
        }
        // Everything above ends at or before `data_start`, so this bounds every region.
        if self.data_start >= self.total_blocks {
            return Err(BadGeometry("no data area"));
        }
        if !self.is_valid_ino(self.root_ino) {
            return Err(BadGeometry("root inode number out of range"));
        }
        if self.free_blocks > self.data_blocks() {
            return Err(BadGeometry("more free blocks than data blocks"));
        }
        if self.free_inodes >= self.inode_count {
            return Err(BadGeometry("free inode count leaves no root inode"));
        }
        if self.orphan_head != 0 && !self.is_valid_ino(self.orphan_head) {
            return Err(BadGeometry("orphan list head out of range"));
        }
        Ok(())
    }

    /// Checks that this code may write to the file system: no unknown read-only-compatible
    /// features.
    pub fn check_writable(&self) -> Result<(), FormatError> {
        let unknown = self.feature_ro_compat & !FEATURE_RO_COMPAT_SUPPORTED;
        if unknown != 0 {
            return Err(FormatError::UnsupportedFeatures {
                incompat: 0,
                ro_compat: unknown,
            });
        }
        Ok(())
    }

    /// Writes `label` (NUL-padded; at most [`LABEL_LEN`] bytes, no NUL) into the superblock
    /// `block` and reseals it: the new label and checksum, which a label change writes in one
    /// transaction. The live fields do not enter the checksum, so they may change meanwhile.
    pub fn relabel(block: &mut [u8; BLOCK_SIZE], label: &[u8]) -> Result<(), FormatError> {
        if label.len() > LABEL_LEN || label.contains(&0) {
            return Err(FormatError::BadSuperblock(
                "label too long or with a NUL byte",
            ));
        }
        let mut field = [0u8; LABEL_LEN];
        write_bytes(&mut field, 0, label);
        write_bytes(block, sb_off::LABEL, &field);
        let checksum = superblock_checksum(block);
        write_u32(block, sb_off::CHECKSUM, checksum);
        Ok(())
    }

    /// The label without its NUL padding.
    pub fn label_bytes(&self) -> &[u8] {
        let len = self
            .label
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(self.label.len());
        self.label.get(..len).unwrap_or(&[])
    }

    /// Device byte offset of the journal's commit word (the first word of its first block).
    pub fn journal_commit_offset(&self) -> u64 {
        self.journal_start.saturating_mul(BLOCK_SIZE_U64)
    }

    /// Device byte offset and length of the journal's record area (every block after its
    /// first), for a superblock whose geometry is valid.
    pub fn journal_records(&self) -> (u64, u64) {
        let start = self
            .journal_start
            .saturating_add(1)
            .saturating_mul(BLOCK_SIZE_U64);
        let len = self
            .journal_blocks
            .saturating_sub(1)
            .saturating_mul(BLOCK_SIZE_U64);
        (start, len)
    }

    /// Checks the range of an undo record, `len` bytes at device byte `offset`: what a
    /// transaction may write. That is the superblock's `orphan_head`, its label or its checksum
    /// (a label change), or bytes of the bitmap, the inode table or the data area (directory,
    /// extent-overflow and xattr blocks, a symlink's target), and never the journal itself.
    pub fn check_undo_target(&self, offset: u64, len: u64) -> Result<(), FormatError> {
        let bad = FormatError::BadJournal("undo record outside the metadata it may restore");
        let end = offset.checked_add(len).ok_or(bad)?;
        if len == 0 || end > self.total_blocks.saturating_mul(BLOCK_SIZE_U64) {
            return Err(bad);
        }
        if offset < BLOCK_SIZE_U64 {
            // `orphan_head`, and the label with the checksum (a label change).
            let fields = [
                (sb_off::ORPHAN_HEAD, 8),
                (sb_off::LABEL, LABEL_LEN),
                (sb_off::CHECKSUM, 4),
            ];
            // CAST: below 4096.
            let start = offset as usize;
            let within = fields
                .iter()
                .any(|&(field, len)| start >= field && end <= (field + len) as u64);
            return if within { Ok(()) } else { Err(bad) };
        }
        let (journal, journal_len) = (
            self.journal_commit_offset(),
            self.journal_blocks.saturating_mul(BLOCK_SIZE_U64),
        );
        if end > journal && offset < journal.saturating_add(journal_len) {
            return Err(bad);
        }
        Ok(())
    }

    /// Whether `ino` names an inode of the table.
    pub fn is_valid_ino(&self, ino: u64) -> bool {
        ino >= 1 && ino <= self.inode_count
    }

    /// Blocks in the data area.
    pub fn data_blocks(&self) -> u64 {
        self.total_blocks.saturating_sub(self.data_start)
    }

    /// Whether `block` is in the data area.
    pub fn is_data_block(&self, block: u64) -> bool {
        block >= self.data_start && block < self.total_blocks
    }

    /// Whether the `len` blocks from `start` are all in the data area.
    pub fn is_data_range(&self, start: u64, len: u64) -> bool {
        start >= self.data_start
            && start
                .checked_add(len)
                .is_some_and(|end| end <= self.total_blocks)
    }

    /// The inode table block holding inode `ino` and the byte offset of the inode in it.
    pub fn inode_location(&self, ino: u64) -> Option<(u64, usize)> {
        if !self.is_valid_ino(ino) {
            return None;
        }
        let index = ino - 1;
        let per_block = INODES_PER_BLOCK as u64;
        let block = self.inode_table_start.checked_add(index / per_block)?;
        let offset = usize::try_from(index % per_block).ok()? * INODE_SIZE;
        Some((block, offset))
    }

    /// Free data-area blocks that bitmap block number `index` (0 for the first one, whose bytes
    /// are `bitmap`) records: its clear bits for blocks of the data area.
    pub fn free_blocks_in_bitmap_block(&self, index: u64, bitmap: &[u8]) -> u64 {
        let first = index.saturating_mul(BITS_PER_BITMAP_BLOCK);
        let start = self.data_start.max(first);
        let end = self
            .total_blocks
            .min(first.saturating_add(BITS_PER_BITMAP_BLOCK));
        (start..end)
            .filter(|block| {
                let bit = block - first;
                bitmap
                    .get((bit / 8) as usize)
                    .is_some_and(|byte| byte & (1 << (bit % 8)) == 0)
            })
            .count() as u64
    }

    /// The bitmap block tracking `block` and the bit for it in that bitmap block.
    pub fn bitmap_location(&self, block: u64) -> Option<(u64, u64)> {
        if block >= self.total_blocks {
            return None;
        }
        let bitmap_block = self
            .bitmap_start
            .checked_add(block / BITS_PER_BITMAP_BLOCK)?;
        Some((bitmap_block, block % BITS_PER_BITMAP_BLOCK))
    }
}
