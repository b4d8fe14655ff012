// SPDX-License-Identifier: GPL-2.0

//! Inodes: file types, timestamps, the on-disk inode with its inline extents or fast symlink
//! target, and its validation.

use super::{
    checksum::checksum_without_field,
    codec::{
        read_bytes,
        read_i64,
        read_u16,
        read_u32,
        read_u64,
        record_mut,
        write_bytes,
        write_i64,
        write_u16,
        write_u32,
        write_u64, //
    },
    inode_off,
    Extent,
    ExtentChecker,
    FormatError,
    Superblock,
    BLOCK_SIZE_U64,
    DT_BLK,
    DT_CHR,
    DT_DIR,
    DT_FIFO,
    DT_LNK,
    DT_REG,
    DT_SOCK,
    EXTENT_SIZE,
    FEATURE_INCOMPAT_INODE_ATTRIBUTES,
    FEATURE_INCOMPAT_XATTR,
    INLINE_AREA_SIZE,
    INLINE_EXTENTS,
    INODE_FLAGS_ATTRIBUTES,
    INODE_FLAGS_KNOWN,
    INODE_FLAG_INLINE_SYMLINK,
    INODE_SIZE,
    MAX_FILE_SIZE,
    MAX_INLINE_SYMLINK,
    MAX_LINKS,
    MAX_SYMLINK_LEN,
    NSEC_PER_SEC,
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_IFSOCK, //
};

/// The type of a file, as encoded in an inode's mode and a directory entry's `file_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device node.
    CharDevice,
    /// A block device node.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
}

impl FileType {
    /// The type in a mode's `S_IFMT` bits, if it is a valid one.
    pub const fn from_mode(mode: u16) -> Option<Self> {
        match mode & S_IFMT {
            S_IFREG => Some(Self::Regular),
            S_IFDIR => Some(Self::Directory),
            S_IFLNK => Some(Self::Symlink),
            S_IFCHR => Some(Self::CharDevice),
            S_IFBLK => Some(Self::BlockDevice),
            S_IFIFO => Some(Self::Fifo),
            S_IFSOCK => Some(Self::Socket),
            _ => None,
        }
    }

    /// The `S_IFMT` bits of this type.
    pub const fn mode_bits(self) -> u16 {
        match self {
            Self::Regular => S_IFREG,
            Self::Directory => S_IFDIR,
            Self::Symlink => S_IFLNK,
            Self::CharDevice => S_IFCHR,
            Self::BlockDevice => S_IFBLK,
            Self::Fifo => S_IFIFO,
            Self::Socket => S_IFSOCK,
        }
    }

    /// The type of a directory entry's `DT_*` value, if it is a valid one.
    pub const fn from_dirent_type(dirent_type: u8) -> Option<Self> {
        match dirent_type {
            DT_REG => Some(Self::Regular),
            DT_DIR => Some(Self::Directory),
            DT_LNK => Some(Self::Symlink),
            DT_CHR => Some(Self::CharDevice),
            DT_BLK => Some(Self::BlockDevice),
            DT_FIFO => Some(Self::Fifo),
            DT_SOCK => Some(Self::Socket),
            _ => None,
        }
    }

    /// The `DT_*` value of this type.
    pub const fn dirent_type(self) -> u8 {
        match self {
            Self::Regular => DT_REG,
            Self::Directory => DT_DIR,
            Self::Symlink => DT_LNK,
            Self::CharDevice => DT_CHR,
            Self::BlockDevice => DT_BLK,
            Self::Fifo => DT_FIFO,
            Self::Socket => DT_SOCK,
        }
    }

    /// A short human name of the type, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Regular => "regular file",
            Self::Directory => "directory",
            Self::Symlink => "symlink",
            Self::CharDevice => "character device",
            Self::BlockDevice => "block device",
            Self::Fifo => "fifo",
            Self::Socket => "socket",
        }
    }
}

/// A timestamp: seconds since the epoch (may be negative) and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub sec: i64,
    /// Nanoseconds, below [`NSEC_PER_SEC`].
    pub nsec: u32,
}

/// An inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inode {
    /// Type and permission bits; 0 for a free inode.
    pub mode: u16,
    /// `INODE_FLAG_*` bits.
    pub flags: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard link count (directories: 2 + subdirectories; orphans: 0).
    pub nlink: u32,
    /// Size in bytes.
    pub size: u64,
    /// Data-area blocks owned, mapped and overflow blocks together.
    pub blocks: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last modification of the contents.
    pub mtime: Timestamp,
    /// Last change of the inode.
    pub ctime: Timestamp,
    /// Creation.
    pub btime: Timestamp,
    /// Generation number, for NFS file handles.
    pub generation: u32,
    /// Extents, inline and overflow together.
    pub extent_count: u32,
    /// Next inode of the orphan list, 0 at its end or off the list.
    pub next_orphan: u64,
    /// First extent-overflow block, 0 if all extents are inline.
    pub overflow_block: u64,
    /// Parent directory of a directory (the root's is itself); 0 for other types.
    pub parent: u64,
    /// Device number of a device node, in the kernel's `new_encode_dev` format.
    pub rdev: u32,
    /// Inline area: the first [`INLINE_EXTENTS`] extents, or a fast symlink's target.
    pub inline: [u8; INLINE_AREA_SIZE],
    /// Extended-attribute block, 0 if the inode has no extended attributes.
    pub xattr_block: u64,
}

impl Default for Inode {
    fn default() -> Self {
        Self::FREE
    }
}

impl Inode {
    /// A free inode with every field zero.
    pub const FREE: Self = Self {
        mode: 0,
        flags: 0,
        uid: 0,
        gid: 0,
        nlink: 0,
        size: 0,
        blocks: 0,
        atime: Timestamp { sec: 0, nsec: 0 },
        mtime: Timestamp { sec: 0, nsec: 0 },
        ctime: Timestamp { sec: 0, nsec: 0 },
        btime: Timestamp { sec: 0, nsec: 0 },
        generation: 0,
        extent_count: 0,
        next_orphan: 0,
        overflow_block: 0,
        parent: 0,
        rdev: 0,
        inline: [0; INLINE_AREA_SIZE],
        xattr_block: 0,
    };

    /// Decodes an inode slot. An all-zero slot (never used) is a free inode; any other slot must
    /// carry a valid checksum, a known file type (or mode 0) and known flags. Everything that
    /// depends on the superblock is checked by [`Inode::validate`].
    pub fn decode(buf: &[u8]) -> Result<Self, FormatError> {
        let slot = buf.get(..INODE_SIZE).ok_or(FormatError::TooShort)?;
        if slot.iter().all(|&byte| byte == 0) {
            return Ok(Self::FREE);
        }
        if read_u32(slot, inode_off::CHECKSUM)? != checksum_without_field(slot, inode_off::CHECKSUM)
        {
            return Err(FormatError::BadChecksum);
        }
        let time = |index: usize| -> Result<Timestamp, FormatError> {
            Ok(Timestamp {
                sec: read_i64(slot, inode_off::TIME_SECS + 8 * index)?,
                nsec: read_u32(slot, inode_off::TIME_NSECS + 4 * index)?,
            })
        };
        let inode = Self {
            mode: read_u16(slot, inode_off::MODE)?,
            flags: read_u16(slot, inode_off::FLAGS)?,
            uid: read_u32(slot, inode_off::UID)?,
            gid: read_u32(slot, inode_off::GID)?,
            nlink: read_u32(slot, inode_off::NLINK)?,
            size: read_u64(slot, inode_off::SIZE)?,
            blocks: read_u64(slot, inode_off::BLOCKS)?,
            atime: time(0)?,
            mtime: time(1)?,
            ctime: time(2)?,
            btime: time(3)?,
            generation: read_u32(slot, inode_off::GENERATION)?,
            extent_count: read_u32(slot, inode_off::EXTENT_COUNT)?,
            next_orphan: read_u64(slot, inode_off::NEXT_ORPHAN)?,
            overflow_block: read_u64(slot, inode_off::OVERFLOW_BLOCK)?,
            parent: read_u64(slot, inode_off::PARENT)?,
            rdev: read_u32(slot, inode_off::RDEV)?,
            inline: read_bytes(slot, inode_off::INLINE)?,
            xattr_block: read_u64(slot, inode_off::XATTR_BLOCK)?,
        };
        if inode.mode != 0 && inode.file_type().is_none() {
            return Err(FormatError::BadInode("unknown file type"));
        }
        if inode.flags & !INODE_FLAGS_KNOWN != 0 {
            return Err(FormatError::BadInode("unknown flags"));
        }
        Ok(inode)
    }

    /// Encodes the inode with its checksum.
    pub fn encode(&self, buf: &mut [u8; INODE_SIZE]) {
        buf.fill(0);
        write_u16(buf, inode_off::MODE, self.mode);
        write_u16(buf, inode_off::FLAGS, self.flags);
        write_u32(buf, inode_off::UID, self.uid);
        write_u32(buf, inode_off::GID, self.gid);
        write_u32(buf, inode_off::NLINK, self.nlink);
        write_u64(buf, inode_off::SIZE, self.size);
        write_u64(buf, inode_off::BLOCKS, self.blocks);
        let times = [self.atime, self.mtime, self.ctime, self.btime];
        for (index, time) in times.iter().enumerate() {
            write_i64(buf, inode_off::TIME_SECS + 8 * index, time.sec);
            write_u32(buf, inode_off::TIME_NSECS + 4 * index, time.nsec);
        }
        write_u32(buf, inode_off::GENERATION, self.generation);
        write_u32(buf, inode_off::EXTENT_COUNT, self.extent_count);
        write_u64(buf, inode_off::NEXT_ORPHAN, self.next_orphan);
        write_u64(buf, inode_off::OVERFLOW_BLOCK, self.overflow_block);
        write_u64(buf, inode_off::PARENT, self.parent);
        write_u32(buf, inode_off::RDEV, self.rdev);
        write_bytes(buf, inode_off::INLINE, &self.inline);
        write_u64(buf, inode_off::XATTR_BLOCK, self.xattr_block);
        let checksum = checksum_without_field(buf, inode_off::CHECKSUM);
        write_u32(buf, inode_off::CHECKSUM, checksum);
    }

    /// Whether the inode is free.
    pub fn is_free(&self) -> bool {
        self.mode == 0
    }

    /// The free record that replaces the inode record `slot` when it is freed: it keeps the
    /// generation (read even from a damaged record), so that the slot's next user gets a newer
    /// one and file handles of the old inode stay stale.
    pub fn freed(slot: &[u8]) -> Self {
        let generation = read_u32(slot, inode_off::GENERATION).unwrap_or(0);
        Self {
            generation,
            ..Self::FREE
        }
    }

    /// The inode's file type, `None` if it is free (or its mode invalid).
    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }

    /// Whether the inode is a symlink with its target in the inline area.
    pub fn has_inline_symlink(&self) -> bool {
        self.flags & INODE_FLAG_INLINE_SYMLINK != 0
    }

    /// How many of the extents are in the inode (the rest are in overflow blocks).
    pub fn inline_extent_count(&self) -> usize {
        if self.has_inline_symlink() {
            return 0;
        }
        usize::try_from(self.extent_count)
            .unwrap_or(usize::MAX)
            .min(INLINE_EXTENTS)
    }

    /// Inline extent `index`, decoded and checked by [`Extent::decode`].
    pub fn inline_extent(&self, index: usize) -> Result<Extent, FormatError> {
        if index >= INLINE_EXTENTS {
            return Err(FormatError::BadExtent("inline extent index out of range"));
        }
        let offset = index * EXTENT_SIZE;
        let bytes = offset
            .checked_add(EXTENT_SIZE)
            .and_then(|end| self.inline.get(offset..end))
            .ok_or(FormatError::TooShort)?;
        Extent::decode(bytes)
    }

    /// Stores `extent` as inline extent `index` (the caller maintains `extent_count`).
    pub fn set_inline_extent(&mut self, index: usize, extent: &Extent) -> Result<(), FormatError> {
        if index >= INLINE_EXTENTS {
            return Err(FormatError::BadExtent("inline extent index out of range"));
        }
        let slot = record_mut::<EXTENT_SIZE>(&mut self.inline, index * EXTENT_SIZE)
            .ok_or(FormatError::TooShort)?;
        extent.encode(slot);
        Ok(())
    }

    /// The target of an inline symlink, `None` if this is not one (or its size is corrupt).
    pub fn inline_symlink_target(&self) -> Option<&[u8]> {
        if !self.has_inline_symlink() {
            return None;
        }
        let len = usize::try_from(self.size).ok()?;
        self.inline.get(..len)
    }

    /// Makes the inode an inline symlink to `target`: sets the flag, the size and the inline
    /// area, and clears the extent map. The mode is left to the caller.
    pub fn set_inline_symlink_target(&mut self, target: &[u8]) -> Result<(), FormatError> {
        if target.is_empty() || target.len() > MAX_INLINE_SYMLINK || target.contains(&0) {
            return Err(FormatError::BadInode("invalid inline symlink target"));
        }
        self.inline = [0; INLINE_AREA_SIZE];
        write_bytes(&mut self.inline, 0, target);
        self.flags |= INODE_FLAG_INLINE_SYMLINK;
        self.size = target.len() as u64;
        self.extent_count = 0;
        self.overflow_block = 0;
        self.blocks = 0;
        Ok(())
    }

    /// Checks everything about the inode that can be checked without reading other blocks,
    /// given the superblock: type-specific fields, timestamps, references in range, and the
    /// inline extents. If all extents are inline, also their totals against `extent_count`,
    /// `blocks` and (for directories) `size`; otherwise the caller walks the overflow chain with
    /// the [`ExtentChecker`] that [`Inode::validate_fields`] returns and finishes with
    /// [`Inode::check_extent_totals`]. A free inode is always valid. Link counts are not checked:
    /// they depend on the directory tree.
    pub fn validate(&self, sb: &Superblock) -> Result<(), FormatError> {
        let checker = self.validate_fields(sb)?;
        if self.overflow_block == 0 {
            self.check_extent_totals(&checker, 0)?;
        }
        Ok(())
    }

    /// The inode's extended-attribute block: `None` if it has none, an error if it names a
    /// block outside the data area or the image lacks [`FEATURE_INCOMPAT_XATTR`]. Kept out of
    /// [`Inode::validate`], so that a bad pointer costs the attributes (the kernel's attribute
    /// calls, and the permission checks that need the ACLs, give `EUCLEAN`; fsck drops it), not
    /// the file.
    pub fn checked_xattr_block(&self, sb: &Superblock) -> Result<Option<u64>, FormatError> {
        if self.xattr_block == 0 {
            return Ok(None);
        }
        if sb.feature_incompat & FEATURE_INCOMPAT_XATTR == 0 {
            return Err(FormatError::BadXattr(
                "extended-attribute block without the feature",
            ));
        }
        if !sb.is_data_block(self.xattr_block) {
            return Err(FormatError::BadXattr(
                "extended-attribute block outside the data area",
            ));
        }
        Ok(Some(self.xattr_block))
    }

    /// Checks the link count against the limit and the file type: a directory has none (it is
    /// unlinked and on the orphan list) or at least two (its entry and its own `.`). Kept apart
    /// from [`Inode::validate`] because fsck repairs a wrong count from the directory tree rather
    /// than clearing the inode.
    pub fn validate_link_count(&self) -> Result<(), FormatError> {
        if self.is_free() {
            return Ok(());
        }
        if self.nlink > MAX_LINKS {
            return Err(FormatError::BadInode("link count above the limit"));
        }
        if self.file_type() == Some(FileType::Directory) && self.nlink == 1 {
            return Err(FormatError::BadInode("directory with a single link"));
        }
        Ok(())
    }

    /// [`Inode::validate`] without the final totals: returns the checker that has seen the
    /// inline extents, to be fed the overflow extents next.
    pub fn validate_fields(&self, sb: &Superblock) -> Result<ExtentChecker, FormatError> {
        use FormatError::{
            BadExtent,
            BadInode, //
        };

        let mut checker = ExtentChecker::for_inode(sb, self);
        if self.is_free() {
            return Ok(checker);
        }
        let file_type = self.file_type().ok_or(BadInode("unknown file type"))?;
        if self.flags & !INODE_FLAGS_KNOWN != 0 {
            return Err(BadInode("unknown flags"));
        }
        let times = [self.atime, self.mtime, self.ctime, self.btime];
        if times.iter().any(|time| time.nsec >= NSEC_PER_SEC) {
            return Err(BadInode("timestamp nanoseconds out of range"));
        }
        if self.size > MAX_FILE_SIZE {
            return Err(BadInode("size larger than the largest file"));
        }
        if self.next_orphan != 0 && !sb.is_valid_ino(self.next_orphan) {
            return Err(BadInode("next orphan out of range"));
        }
        if file_type == FileType::Directory {
            if !sb.is_valid_ino(self.parent) {
                return Err(BadInode("directory parent out of range"));
            }
        } else if self.parent != 0 {
            return Err(BadInode("parent set on a non-directory"));
        }
        let is_device = matches!(file_type, FileType::CharDevice | FileType::BlockDevice);
        if !is_device && self.rdev != 0 {
            return Err(BadInode("device number on a non-device"));
        }
        if self.has_inline_symlink() && file_type != FileType::Symlink {
            return Err(BadInode("inline symlink flag on a non-symlink"));
        }
        if self.flags & INODE_FLAGS_ATTRIBUTES != 0 {
            if sb.feature_incompat & FEATURE_INCOMPAT_INODE_ATTRIBUTES == 0 {
                return Err(BadInode("attribute flags without the feature"));
            }
            if !matches!(file_type, FileType::Regular | FileType::Directory) {
                return Err(BadInode("attribute flags on a special file or symlink"));
            }
        }

        match file_type {
            FileType::Regular => {}
            FileType::Directory => {
                if self.size % BLOCK_SIZE_U64 != 0 {
                    return Err(BadInode("directory size not a multiple of the block size"));
                }
            }
            FileType::Symlink => {
                if self.size == 0 || self.size > MAX_SYMLINK_LEN as u64 {
                    return Err(BadInode("symlink length out of range"));
                }
                if self.has_inline_symlink() {
                    if self.size > MAX_INLINE_SYMLINK as u64 {
                        return Err(BadInode("inline symlink longer than the inline area"));
                    }
                    if self.extent_count != 0 || self.overflow_block != 0 || self.blocks != 0 {
                        return Err(BadInode("inline symlink owns blocks"));
                    }
                    let target = self.inline_symlink_target().unwrap_or(&[]);
                    if target.contains(&0) {
                        return Err(BadInode("symlink target contains a NUL byte"));
                    }
                    return Ok(checker);
                }
                if self.extent_count != 1 {
                    return Err(BadInode("block symlink without exactly one extent"));
                }
                let extent = self.inline_extent(0)?;
                if extent.logical != 0 || extent.len != 1 {
                    return Err(BadInode("block symlink extent is not one block at 0"));
                }
            }
            FileType::CharDevice | FileType::BlockDevice | FileType::Fifo | FileType::Socket => {
                if self.size != 0
                    || self.extent_count != 0
                    || self.overflow_block != 0
                    || self.blocks != 0
                {
                    return Err(BadInode("special file owns data"));
                }
            }
        }

        // Each block a file owns is a distinct block of the data area, and each extent maps at
        // least one of them: bounds that keep arithmetic on these counts in range.
        if self.blocks > sb.data_blocks() {
            return Err(BadInode("owns more blocks than the data area has"));
        }
        if u64::from(self.extent_count) > self.blocks {
            return Err(BadExtent("more extents than blocks"));
        }
        if u64::from(self.extent_count) > INLINE_EXTENTS as u64 {
            if !sb.is_data_block(self.overflow_block) {
                return Err(BadExtent("overflow block outside the data area"));
            }
        } else if self.overflow_block != 0 {
            return Err(BadExtent(
                "overflow block set although all extents are inline",
            ));
        }
        for index in 0..self.inline_extent_count() {
            checker.add(&self.inline_extent(index)?)?;
        }
        Ok(checker)
    }

    /// Checks the totals of all the file's extents, seen by `extents`, and the number of
    /// overflow blocks holding them against `extent_count`, `blocks` and, for a directory,
    /// `size` (a directory's blocks are file blocks `0..size / 4096` without holes).
    pub fn check_extent_totals(
        &self,
        extents: &ExtentChecker,
        overflow_blocks: u64,
    ) -> Result<(), FormatError> {
        if u64::from(self.extent_count) != extents.count() {
            return Err(FormatError::BadExtent(
                "extent count does not match the extents",
            ));
        }
        if extents.mapped_blocks().checked_add(overflow_blocks) != Some(self.blocks) {
            return Err(FormatError::BadInode(
                "block count does not match the extents",
            ));
        }
        if self.file_type() == Some(FileType::Directory)
            && (!extents.is_contiguous() || extents.next_logical() != self.size / BLOCK_SIZE_U64)
        {
            return Err(FormatError::BadInode(
                "directory blocks do not match its size",
            ));
        }
        Ok(())
    }
}

/// Free slots (mode 0) among the inodes of one inode-table block, read without checking their
/// checksums: for counting, where a damaged slot is fsck's business.
pub fn free_inodes_in_table_block(block: &[u8]) -> u64 {
    block
        .chunks_exact(INODE_SIZE)
        .filter(|slot| matches!(read_u16(slot, inode_off::MODE), Ok(0)))
        .count() as u64
}
