// SPDX-License-Identifier: GPL-2.0

//! The daxfs on-disk format, defined once for the kernel module and the userspace tools.
//!
//! This file is compiled twice: as a module of the kernel crate (`no_std`, only `core`) and as
//! `daxfs_tools::format` of the userspace tools. It therefore uses nothing but `core`, has no
//! `unsafe`, and never panics on corrupted input: every decoder bounds-checks and returns a
//! [`FormatError`]. Encoders write into fixed-size arrays, so they cannot fail either.
//!
//! `docs/format.md` explains the design and the consistency rules that `fsck.daxfs` checks;
//! the tables below are the authoritative byte layout.
//!
//! # Conventions
//!
//! All integers are little-endian. A block is [`BLOCK_SIZE`] (4096) bytes, the page size the kernel
//! maps file data with; block numbers are `u64` indices from the start of the device. Inode numbers
//! start at 1; 0 means "none". Checksums are CRC32C ([`crc32c`]) of the whole record with the
//! checksum field (and, in the superblock, `orphan_head`) read as zero. "Reserved" bytes are
//! written as zero and ignored by readers.
//!
//! # Device layout
//!
//! | blocks                                   | contents                                      |
//! |------------------------------------------|-----------------------------------------------|
//! | 0                                        | superblock                                    |
//! | `bitmap_start` .. `+ bitmap_blocks`      | block allocation bitmap                       |
//! | `inode_table_start` .. `+ inode_table_blocks` | inode table, [`INODES_PER_BLOCK`] inodes a block |
//! | .. `data_start`                          | unused alignment gap, marked in use           |
//! | `data_start` .. `total_blocks`           | data area: file data, directory blocks, extent-overflow blocks |
//!
//! mkfs places the bitmap at block 1 and the inode table right after it, and rounds `data_start`
//! up to a 2 MiB boundary ([`DATA_ALIGN_BLOCKS`]) on devices of at least 64 MiB so that 2 MiB
//! data extents map with huge pages. Readers only rely on the order of the regions.
//!
//! # Superblock (block 0)
//!
//! | offset | size | field                | meaning                                                 |
//! |-------:|-----:|----------------------|---------------------------------------------------------|
//! | 0x000  | 8    | magic                | [`MAGIC`], the bytes `DAXFS_SB`                           |
//! | 0x008  | 2    | `version_major`      | [`VERSION_MAJOR`]; a different major is refused         |
//! | 0x00a  | 2    | `version_minor`      | [`VERSION_MINOR`]; any minor of a known major is read   |
//! | 0x00c  | 4    | `feature_compat`     | features an old implementation may ignore               |
//! | 0x010  | 4    | `feature_incompat`   | features it must understand to use the file system at all |
//! | 0x014  | 4    | `feature_ro_compat`  | features it must understand to write                    |
//! | 0x018  | 16   | `uuid`               | file system UUID                                        |
//! | 0x028  | 32   | `label`              | volume label, NUL-padded, not NUL-terminated if 32 bytes |
//! | 0x048  | 4    | `block_size`         | always 4096                                             |
//! | 0x04c  | 4    | `state`              | [`STATE_CLEAN`] or [`STATE_DIRTY`] (mounted read-write, or crashed) |
//! | 0x050  | 8    | `total_blocks`       | blocks in the file system (≤ device blocks)             |
//! | 0x058  | 8    | `bitmap_start`       | first bitmap block                                      |
//! | 0x060  | 8    | `bitmap_blocks`      | exactly `ceil(total_blocks / 32768)`                    |
//! | 0x068  | 8    | `inode_table_start`  | first inode table block                                 |
//! | 0x070  | 8    | `inode_table_blocks` | inode table length in blocks                            |
//! | 0x078  | 8    | `inode_count`        | `inode_table_blocks * 16`                               |
//! | 0x080  | 8    | `data_start`         | first block of the data area                            |
//! | 0x088  | 8    | `root_ino`           | inode number of the root directory (mkfs: 1)            |
//! | 0x090  | 8    | `free_blocks`        | free blocks in the data area                            |
//! | 0x098  | 8    | `free_inodes`        | free inodes                                             |
//! | 0x0a0  | 8    | `orphan_head`        | first inode of the orphan list, 0 if empty; not checksummed |
//! | 0x0a8  | 8    | `mkfs_time`          | creation time, seconds since the Unix epoch             |
//! | 0x0b0  | 4    | checksum             | CRC32C of the whole 4096-byte block, `orphan_head` read as zero |
//! | 0x0b4  | 3916 | reserved             |                                                         |
//!
//! # Block allocation bitmap
//!
//! Bit `b % 32768` of bitmap block `b / 32768` (byte `bit / 8`, bit `bit % 8`, least significant
//! first) is set when block `b` is in use. The superblock, bitmap, inode table and alignment gap
//! are always in use. The bits past `total_blocks` in the last bitmap block are also set, so that
//! an allocator scanning whole words never hands them out.
//!
//! # Inode (256 bytes; inode `n` is entry `n - 1` of the table)
//!
//! | offset | size | field            | meaning                                                   |
//! |-------:|-----:|------------------|-----------------------------------------------------------|
//! | 0      | 2    | `mode`           | `S_IFMT` type and permission bits as in Linux; 0 = free   |
//! | 2      | 2    | `flags`          | [`INODE_FLAG_INLINE_SYMLINK`]                             |
//! | 4      | 4    | `uid`            | owner                                                     |
//! | 8      | 4    | `gid`            | group                                                     |
//! | 12     | 4    | `nlink`          | hard links; directories: 2 + subdirectories; 0 = orphan   |
//! | 16     | 8    | `size`           | size in bytes; directories: data blocks * 4096            |
//! | 24     | 8    | `blocks`         | data-area blocks owned: mapped blocks + overflow blocks   |
//! | 32     | 8    | `atime.sec`      | access time, seconds (signed)                             |
//! | 40     | 8    | `mtime.sec`      | modification time, seconds                                |
//! | 48     | 8    | `ctime.sec`      | change time, seconds                                      |
//! | 56     | 8    | `btime.sec`      | creation time, seconds                                    |
//! | 64     | 4    | `atime.nsec`     | nanoseconds, < 10^9                                       |
//! | 68     | 4    | `mtime.nsec`     |                                                           |
//! | 72     | 4    | `ctime.nsec`     |                                                           |
//! | 76     | 4    | `btime.nsec`     |                                                           |
//! | 80     | 4    | `generation`     | NFS generation number                                     |
//! | 84     | 4    | `extent_count`   | number of extents, inline and overflow together           |
//! | 88     | 8    | `next_orphan`    | next inode on the orphan list, 0 = end                    |
//! | 96     | 8    | `overflow_block` | first extent-overflow block, 0 if all extents are inline  |
//! | 104    | 8    | `parent`         | directories: parent directory (root: itself); others: 0   |
//! | 112    | 4    | `rdev`           | device number of device nodes (kernel `new_encode_dev`)   |
//! | 116    | 4    | checksum         | CRC32C of the 256 bytes                                   |
//! | 120    | 120  | inline area      | 6 extents of 20 bytes, or a fast symlink's target         |
//! | 240    | 16   | reserved         |                                                           |
//!
//! A never-used slot is all zeros and carries no checksum; every other slot, including a freed
//! inode (mode 0, which may keep its `generation`), has a valid checksum.
//!
//! # Extent (20 bytes)
//!
//! | offset | size | field      | meaning                               |
//! |-------:|-----:|------------|---------------------------------------|
//! | 0      | 8    | `logical`  | first file block                      |
//! | 8      | 8    | `physical` | first device block, in the data area  |
//! | 16     | 4    | `len`      | length in blocks, ≥ 1                 |
//!
//! A file's extents are sorted by `logical` and do not overlap; a missing range is a hole. The
//! first six live in the inode, the rest in a chain of extent-overflow blocks, in order.
//!
//! # Extent-overflow block
//!
//! | offset | size | field     | meaning                                       |
//! |-------:|-----:|-----------|-----------------------------------------------|
//! | 0      | 4    | magic     | [`EXTENT_BLOCK_MAGIC`], the bytes `DXEB`      |
//! | 4      | 4    | `count`   | extents in this block, 1..=203                |
//! | 8      | 8    | `next`    | next overflow block, 0 = end of chain         |
//! | 16     | 8    | `owner`   | inode number owning the block                 |
//! | 24     | 4    | checksum  | CRC32C of the whole 4096-byte block           |
//! | 28     | 4    | reserved  |                                               |
//! | 32     | 4060 | extents   | up to 203 extents of 20 bytes                 |
//! | 4092   | 4    | reserved  |                                               |
//!
//! # Directory entry (272 bytes, 15 a block, the last 16 bytes of a block unused)
//!
//! | offset | size | field       | meaning                                         |
//! |-------:|-----:|-------------|-------------------------------------------------|
//! | 0      | 8    | `ino`       | inode number; 0 = free slot                     |
//! | 8      | 1    | `name_len`  | 1..=255                                         |
//! | 9      | 1    | `file_type` | Linux `DT_*` value of the inode's type          |
//! | 10     | 6    | reserved    |                                                 |
//! | 16     | 255  | `name`      | name bytes (no `/`, no NUL, not `.` or `..`), zero-padded |
//! | 271    | 1    | reserved    |                                                 |
//!
//! There are no `.` and `..` entries: a directory's parent is its inode's `parent` field. A
//! directory's blocks are file blocks `0..size / 4096`, without holes.
//!
//! # Orphans
//!
//! An inode unlinked while still open keeps `nlink == 0` and is chained from the superblock's
//! `orphan_head` through `next_orphan` until it is freed; after a crash, whoever finds the list
//! (mount or fsck) frees its members.
//!
//! `orphan_head` ([`ORPHAN_HEAD_OFFSET`]) changes on every last unlink and every release of an
//! orphan, far more often than the rest of the superblock, so it is written on its own with one
//! aligned 8-byte store, which persistent memory never tears, and the superblock checksum reads
//! it as zero. Rewriting the whole block that often would risk a torn, unmountable superblock on
//! a crash. Readers check the head by range and the list by walking it.

use core::fmt;

/// Size of a block in bytes. Fixed: the kernel maps file data page by page, so a block is a page.
pub const BLOCK_SIZE: usize = 4096;
/// [`BLOCK_SIZE`] as a `u64`, for byte-offset arithmetic on block numbers.
pub const BLOCK_SIZE_U64: u64 = 4096;
/// log2 of [`BLOCK_SIZE`].
pub const BLOCK_SHIFT: u32 = 12;

/// Byte offset in block 0 of `orphan_head`, which is written alone with one 8-byte store and
/// is not covered by the superblock checksum (see "Orphans" above).
pub const ORPHAN_HEAD_OFFSET: usize = sb_off::ORPHAN_HEAD;

/// The superblock magic, at offset 0 of block 0.
pub const MAGIC: [u8; 8] = *b"DAXFS_SB";
/// The `f_type` reported by `statfs(2)` ("daxf" in ASCII).
pub const STATFS_MAGIC: u32 = 0x6461_7866;
/// Format major version this code implements; images with another major are refused.
pub const VERSION_MAJOR: u16 = 1;
/// Format minor version this code writes; newer minors are readable (they only add compatible
/// features).
pub const VERSION_MINOR: u16 = 0;

/// Compatible features this code knows (none yet); unknown ones are ignored.
pub const FEATURE_COMPAT_SUPPORTED: u32 = 0;
/// Incompatible features this code knows (none yet); unknown ones refuse the mount.
pub const FEATURE_INCOMPAT_SUPPORTED: u32 = 0;
/// Read-only-compatible features this code knows (none yet); unknown ones allow only a
/// read-only mount.
pub const FEATURE_RO_COMPAT_SUPPORTED: u32 = 0;

/// Superblock state: cleanly unmounted.
pub const STATE_CLEAN: u32 = 1;
/// Superblock state: mounted read-write, or not cleanly unmounted.
pub const STATE_DIRTY: u32 = 2;

/// Inode number of the root directory as created by mkfs.
pub const ROOT_INO: u64 = 1;

/// Smallest file system, in blocks (1 MiB).
pub const MIN_BLOCKS: u64 = 256;
/// Largest file system, in blocks: every byte offset must fit in a `u64`.
pub const MAX_BLOCKS: u64 = u64::MAX >> BLOCK_SHIFT;
/// Bits, and so blocks tracked, per bitmap block.
pub const BITS_PER_BITMAP_BLOCK: u64 = 8 * BLOCK_SIZE_U64;
/// Data-area alignment in blocks (2 MiB), used on devices of at least [`DATA_ALIGN_MIN_BLOCKS`].
pub const DATA_ALIGN_BLOCKS: u64 = 512;
/// Devices smaller than this (64 MiB) do not align the data area: the gap would cost too much.
pub const DATA_ALIGN_MIN_BLOCKS: u64 = 16384;

/// Size of an on-disk inode in bytes.
pub const INODE_SIZE: usize = 256;
/// Inodes per inode table block.
pub const INODES_PER_BLOCK: usize = BLOCK_SIZE / INODE_SIZE;
/// Most inodes a file system may have: the largest multiple of [`INODES_PER_BLOCK`] that fits in
/// 32 bits, so that inode numbers fit in 32-bit `stat` and NFS file handles.
pub const MAX_INODES: u64 = 0xffff_fff0;
/// Default inode density used by mkfs: one inode per this many blocks (16 KiB).
pub const BLOCKS_PER_INODE: u64 = 4;
/// Fewest inodes mkfs creates by default.
pub const MIN_DEFAULT_INODES: u64 = 64;
/// Inode flag: a symlink whose target is stored in the inode's inline area.
pub const INODE_FLAG_INLINE_SYMLINK: u16 = 1;
/// All inode flags this code knows.
pub const INODE_FLAGS_KNOWN: u16 = INODE_FLAG_INLINE_SYMLINK;
/// Size of the inode's inline area (extents or fast symlink target).
pub const INLINE_AREA_SIZE: usize = 120;
/// Extents stored in the inode itself.
pub const INLINE_EXTENTS: usize = INLINE_AREA_SIZE / EXTENT_SIZE;
/// Longest symlink target stored inline.
pub const MAX_INLINE_SYMLINK: usize = INLINE_AREA_SIZE;
/// Longest symlink target (`PATH_MAX - 1`); longer than [`MAX_INLINE_SYMLINK`] uses one block.
pub const MAX_SYMLINK_LEN: usize = BLOCK_SIZE - 1;

/// Nanoseconds per second; a timestamp's `nsec` is below this.
pub const NSEC_PER_SEC: u32 = 1_000_000_000;
/// Largest file size in bytes (`i64::MAX` rounded down to whole blocks, as `loff_t` is signed).
pub const MAX_FILE_SIZE: u64 = MAX_FILE_BLOCKS << BLOCK_SHIFT;
/// Largest file size in blocks: no extent may reach past this file block.
pub const MAX_FILE_BLOCKS: u64 = (i64::MAX as u64) >> BLOCK_SHIFT;

/// Size of an on-disk extent in bytes.
pub const EXTENT_SIZE: usize = 20;
/// Magic of an extent-overflow block (the bytes `DXEB`).
pub const EXTENT_BLOCK_MAGIC: u32 = u32::from_le_bytes(*b"DXEB");
/// Size of an extent-overflow block's header in bytes.
pub const EXTENT_BLOCK_HEADER_SIZE: usize = 32;
/// Extents per extent-overflow block.
pub const EXTENTS_PER_BLOCK: usize = (BLOCK_SIZE - EXTENT_BLOCK_HEADER_SIZE) / EXTENT_SIZE;

/// Size of an on-disk directory entry in bytes.
pub const DIRENT_SIZE: usize = 272;
/// Directory entries per directory block.
pub const DIRENTS_PER_BLOCK: usize = BLOCK_SIZE / DIRENT_SIZE;
/// Longest file name in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Mask of the file type bits of a mode.
pub const S_IFMT: u16 = 0o170_000;
/// Mode type: socket.
pub const S_IFSOCK: u16 = 0o140_000;
/// Mode type: symbolic link.
pub const S_IFLNK: u16 = 0o120_000;
/// Mode type: regular file.
pub const S_IFREG: u16 = 0o100_000;
/// Mode type: block device.
pub const S_IFBLK: u16 = 0o060_000;
/// Mode type: directory.
pub const S_IFDIR: u16 = 0o040_000;
/// Mode type: character device.
pub const S_IFCHR: u16 = 0o020_000;
/// Mode type: FIFO.
pub const S_IFIFO: u16 = 0o010_000;

/// Directory entry type: FIFO.
pub const DT_FIFO: u8 = 1;
/// Directory entry type: character device.
pub const DT_CHR: u8 = 2;
/// Directory entry type: directory.
pub const DT_DIR: u8 = 4;
/// Directory entry type: block device.
pub const DT_BLK: u8 = 6;
/// Directory entry type: regular file.
pub const DT_REG: u8 = 8;
/// Directory entry type: symbolic link.
pub const DT_LNK: u8 = 10;
/// Directory entry type: socket.
pub const DT_SOCK: u8 = 12;

/// Superblock field offsets (see the module documentation for their meaning).
mod sb_off {
    /// `[u8; 8]` magic.
    pub(super) const MAGIC: usize = 0x000;
    /// `u16` major version.
    pub(super) const VERSION_MAJOR: usize = 0x008;
    /// `u16` minor version.
    pub(super) const VERSION_MINOR: usize = 0x00a;
    /// `u32` compatible features.
    pub(super) const FEATURE_COMPAT: usize = 0x00c;
    /// `u32` incompatible features.
    pub(super) const FEATURE_INCOMPAT: usize = 0x010;
    /// `u32` read-only-compatible features.
    pub(super) const FEATURE_RO_COMPAT: usize = 0x014;
    /// `[u8; 16]` UUID.
    pub(super) const UUID: usize = 0x018;
    /// `[u8; 32]` label.
    pub(super) const LABEL: usize = 0x028;
    /// `u32` block size.
    pub(super) const BLOCK_SIZE: usize = 0x048;
    /// `u32` state.
    pub(super) const STATE: usize = 0x04c;
    /// `u64` total blocks.
    pub(super) const TOTAL_BLOCKS: usize = 0x050;
    /// `u64` first bitmap block.
    pub(super) const BITMAP_START: usize = 0x058;
    /// `u64` bitmap blocks.
    pub(super) const BITMAP_BLOCKS: usize = 0x060;
    /// `u64` first inode table block.
    pub(super) const INODE_TABLE_START: usize = 0x068;
    /// `u64` inode table blocks.
    pub(super) const INODE_TABLE_BLOCKS: usize = 0x070;
    /// `u64` inode count.
    pub(super) const INODE_COUNT: usize = 0x078;
    /// `u64` first data block.
    pub(super) const DATA_START: usize = 0x080;
    /// `u64` root inode number.
    pub(super) const ROOT_INO: usize = 0x088;
    /// `u64` free blocks.
    pub(super) const FREE_BLOCKS: usize = 0x090;
    /// `u64` free inodes.
    pub(super) const FREE_INODES: usize = 0x098;
    /// `u64` orphan list head.
    pub(super) const ORPHAN_HEAD: usize = 0x0a0;
    /// `u64` creation time.
    pub(super) const MKFS_TIME: usize = 0x0a8;
    /// `u32` checksum.
    pub(super) const CHECKSUM: usize = 0x0b0;
}

/// Inode field offsets (see the module documentation for their meaning).
mod inode_off {
    /// `u16` mode.
    pub(super) const MODE: usize = 0;
    /// `u16` flags.
    pub(super) const FLAGS: usize = 2;
    /// `u32` owner.
    pub(super) const UID: usize = 4;
    /// `u32` group.
    pub(super) const GID: usize = 8;
    /// `u32` link count.
    pub(super) const NLINK: usize = 12;
    /// `u64` size in bytes.
    pub(super) const SIZE: usize = 16;
    /// `u64` blocks owned.
    pub(super) const BLOCKS: usize = 24;
    /// Four `i64` seconds: atime, mtime, ctime, btime.
    pub(super) const TIME_SECS: usize = 32;
    /// Four `u32` nanoseconds, in the same order.
    pub(super) const TIME_NSECS: usize = 64;
    /// `u32` generation.
    pub(super) const GENERATION: usize = 80;
    /// `u32` extent count.
    pub(super) const EXTENT_COUNT: usize = 84;
    /// `u64` next orphan.
    pub(super) const NEXT_ORPHAN: usize = 88;
    /// `u64` first overflow block.
    pub(super) const OVERFLOW_BLOCK: usize = 96;
    /// `u64` parent directory.
    pub(super) const PARENT: usize = 104;
    /// `u32` device number.
    pub(super) const RDEV: usize = 112;
    /// `u32` checksum.
    pub(super) const CHECKSUM: usize = 116;
    /// Inline area.
    pub(super) const INLINE: usize = 120;
}

/// Extent field offsets.
mod extent_off {
    /// `u64` first file block.
    pub(super) const LOGICAL: usize = 0;
    /// `u64` first device block.
    pub(super) const PHYSICAL: usize = 8;
    /// `u32` length in blocks.
    pub(super) const LEN: usize = 16;
}

/// Extent-overflow block header field offsets.
mod extent_block_off {
    /// `u32` magic.
    pub(super) const MAGIC: usize = 0;
    /// `u32` extents in the block.
    pub(super) const COUNT: usize = 4;
    /// `u64` next block of the chain.
    pub(super) const NEXT: usize = 8;
    /// `u64` owning inode.
    pub(super) const OWNER: usize = 16;
    /// `u32` checksum.
    pub(super) const CHECKSUM: usize = 24;
}

/// Directory entry field offsets.
mod dirent_off {
    /// `u64` inode number.
    pub(super) const INO: usize = 0;
    /// `u8` name length.
    pub(super) const NAME_LEN: usize = 8;
    /// `u8` `DT_*` type.
    pub(super) const FILE_TYPE: usize = 9;
    /// `[u8; 255]` name.
    pub(super) const NAME: usize = 16;
}

// The layout fits its records; the offset-based readers and writers below rely on it.
const _: () = assert!(sb_off::CHECKSUM + 4 <= BLOCK_SIZE);
const _: () = assert!(inode_off::INLINE + INLINE_AREA_SIZE <= INODE_SIZE);
const _: () = assert!(inode_off::TIME_NSECS + 16 == inode_off::GENERATION);
const _: () = assert!(INLINE_EXTENTS * EXTENT_SIZE == INLINE_AREA_SIZE);
const _: () = assert!(extent_off::LEN + 4 == EXTENT_SIZE);
const _: () = assert!(extent_block_off::CHECKSUM + 8 == EXTENT_BLOCK_HEADER_SIZE);
const _: () = assert!(EXTENT_BLOCK_HEADER_SIZE + EXTENTS_PER_BLOCK * EXTENT_SIZE <= BLOCK_SIZE);
const _: () = assert!(dirent_off::NAME + MAX_NAME_LEN < DIRENT_SIZE);
const _: () =
    assert!(INODES_PER_BLOCK == 16 && DIRENTS_PER_BLOCK == 15 && EXTENTS_PER_BLOCK == 203);
const _: () = assert!(MAX_INODES % INODES_PER_BLOCK as u64 == 0);

/// Why an on-disk structure could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The buffer is shorter than the structure.
    TooShort,
    /// The magic number is wrong: not a daxfs structure.
    BadMagic,
    /// The stored checksum does not match the contents.
    BadChecksum,
    /// The format's major version is not [`VERSION_MAJOR`].
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// Features this code does not know are in use.
    UnsupportedFeatures {
        /// Unknown incompatible features: the file system cannot be used.
        incompat: u32,
        /// Unknown read-only-compatible features: it can only be used read-only.
        ro_compat: u32,
    },
    /// A superblock field other than the geometry is invalid.
    BadSuperblock(&'static str),
    /// The superblock's geometry is inconsistent or does not fit the device.
    BadGeometry(&'static str),
    /// An inode is invalid.
    BadInode(&'static str),
    /// An extent or extent-overflow block is invalid.
    BadExtent(&'static str),
    /// A directory entry is invalid.
    BadDirEntry(&'static str),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort => f.write_str("structure truncated"),
            Self::BadMagic => f.write_str("bad magic number"),
            Self::BadChecksum => f.write_str("checksum mismatch"),
            Self::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported format version {major}.{minor} (supported: {VERSION_MAJOR}.x)"
            ),
            Self::UnsupportedFeatures {
                incompat,
                ro_compat,
            } => {
                if incompat != 0 {
                    write!(f, "unsupported incompatible features {incompat:#x}")
                } else {
                    write!(
                        f,
                        "unsupported read-only-compatible features {ro_compat:#x} (read-only use only)"
                    )
                }
            }
            Self::BadSuperblock(why) => write!(f, "bad superblock: {why}"),
            Self::BadGeometry(why) => write!(f, "bad geometry: {why}"),
            Self::BadInode(why) => write!(f, "bad inode: {why}"),
            Self::BadExtent(why) => write!(f, "bad extent: {why}"),
            Self::BadDirEntry(why) => write!(f, "bad directory entry: {why}"),
        }
    }
}

/// The CRC32C (Castagnoli, reflected polynomial `0x82f63b78`) lookup table.
static CRC32C_TABLE: [u32; 256] = crc32c_table();

/// Builds [`CRC32C_TABLE`] at compile time.
const fn crc32c_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// CRC32C of `bytes`, continuing from `seed`: the CRC of everything hashed so far, 0 to start.
///
/// The usual pre- and post-inversion are applied, so `crc32c(0, b"123456789") == 0xe3069283` and
/// `crc32c(crc32c(0, a), b) == crc32c(0, ab)`. (The kernel's `crc32c()` leaves both inversions to
/// its caller: this equals `!crc32c_kernel(!seed, bytes)`.)
pub fn crc32c(seed: u32, bytes: &[u8]) -> u32 {
    let mut crc = !seed;
    for &byte in bytes {
        // Indexing by a `u8` cannot go past the 256-entry table.
        crc = CRC32C_TABLE[usize::from(crc as u8 ^ byte)] ^ (crc >> 8);
    }
    !crc
}

/// The superblock checksum: CRC32C of block 0 with the checksum field and `orphan_head` (which is
/// updated on its own, see the module docs) read as zero.
fn superblock_checksum(block: &[u8]) -> u32 {
    let (Some(head), Some(middle), Some(tail)) = (
        block.get(..sb_off::ORPHAN_HEAD),
        block.get(sb_off::ORPHAN_HEAD + 8..sb_off::CHECKSUM),
        block.get(sb_off::CHECKSUM + 4..),
    ) else {
        return checksum_without_field(block, sb_off::CHECKSUM);
    };
    let crc = crc32c(crc32c(crc32c(0, head), &[0; 8]), middle);
    crc32c(crc32c(crc, &[0; 4]), tail)
}

/// CRC32C of `record` with the 4-byte checksum field at `field` read as zero.
fn checksum_without_field(record: &[u8], field: usize) -> u32 {
    let head = record.get(..field).unwrap_or(record);
    let tail = record.get(field.saturating_add(4)..).unwrap_or(&[]);
    crc32c(crc32c(crc32c(0, head), &[0; 4]), tail)
}

/// Reads `N` bytes at `offset`, or fails if `buf` is too short.
fn read_bytes<const N: usize>(buf: &[u8], offset: usize) -> Result<[u8; N], FormatError> {
    offset
        .checked_add(N)
        .and_then(|end| buf.get(offset..end))
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(FormatError::TooShort)
}

/// Reads a little-endian `u16` at `offset`.
fn read_u16(buf: &[u8], offset: usize) -> Result<u16, FormatError> {
    read_bytes(buf, offset).map(u16::from_le_bytes)
}

/// Reads a little-endian `u32` at `offset`.
fn read_u32(buf: &[u8], offset: usize) -> Result<u32, FormatError> {
    read_bytes(buf, offset).map(u32::from_le_bytes)
}

/// Reads a little-endian `u64` at `offset`.
fn read_u64(buf: &[u8], offset: usize) -> Result<u64, FormatError> {
    read_bytes(buf, offset).map(u64::from_le_bytes)
}

/// Reads a little-endian `i64` at `offset`.
fn read_i64(buf: &[u8], offset: usize) -> Result<i64, FormatError> {
    read_bytes(buf, offset).map(i64::from_le_bytes)
}

/// Writes `bytes` at `offset`. Callers pass fixed-size buffers and offsets that the layout
/// assertions above keep in bounds; a bad offset writes nothing rather than panicking.
fn write_bytes(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(field) = offset
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(offset..end))
    {
        // A zip rather than `copy_from_slice`, whose length check and debug-build precondition
        // checks would put (unreachable) panics into every encoder.
        for (destination, &byte) in field.iter_mut().zip(bytes) {
            *destination = byte;
        }
    }
}

/// Returns the `N`-byte record at `offset` of `buf` as an array, if it is in bounds.
///
/// This turns a slot of a block (an inode, a directory entry, an extent) into the fixed-size
/// buffer the `encode` methods take.
pub fn record_mut<const N: usize>(buf: &mut [u8], offset: usize) -> Option<&mut [u8; N]> {
    offset
        .checked_add(N)
        .and_then(|end| buf.get_mut(offset..end))
        .and_then(|bytes| bytes.try_into().ok())
}

/// Returns bit `bit` of a bitmap block (see the module documentation for the bit order).
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
        let metadata_end = inode_table_start
            .checked_add(inode_table_blocks)
            .ok_or(no_room)?;
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
            feature_incompat: 0,
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
        if read_u32(block, sb_off::CHECKSUM)? != superblock_checksum(block) {
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
        };
        let unknown_incompat = sb.feature_incompat & !FEATURE_INCOMPAT_SUPPORTED;
        if unknown_incompat != 0 {
            return Err(FormatError::UnsupportedFeatures {
                incompat: unknown_incompat,
                ro_compat: sb.feature_ro_compat & !FEATURE_RO_COMPAT_SUPPORTED,
            });
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
        write_bytes(
            buf,
            sb_off::VERSION_MAJOR,
            &self.version_major.to_le_bytes(),
        );
        write_bytes(
            buf,
            sb_off::VERSION_MINOR,
            &self.version_minor.to_le_bytes(),
        );
        write_bytes(
            buf,
            sb_off::FEATURE_COMPAT,
            &self.feature_compat.to_le_bytes(),
        );
        write_bytes(
            buf,
            sb_off::FEATURE_INCOMPAT,
            &self.feature_incompat.to_le_bytes(),
        );
        write_bytes(
            buf,
            sb_off::FEATURE_RO_COMPAT,
            &self.feature_ro_compat.to_le_bytes(),
        );
        write_bytes(buf, sb_off::UUID, &self.uuid);
        write_bytes(buf, sb_off::LABEL, &self.label);
        write_bytes(buf, sb_off::BLOCK_SIZE, &self.block_size.to_le_bytes());
        write_bytes(buf, sb_off::STATE, &self.state.to_le_bytes());
        write_bytes(buf, sb_off::TOTAL_BLOCKS, &self.total_blocks.to_le_bytes());
        write_bytes(buf, sb_off::BITMAP_START, &self.bitmap_start.to_le_bytes());
        write_bytes(
            buf,
            sb_off::BITMAP_BLOCKS,
            &self.bitmap_blocks.to_le_bytes(),
        );
        write_bytes(
            buf,
            sb_off::INODE_TABLE_START,
            &self.inode_table_start.to_le_bytes(),
        );
        write_bytes(
            buf,
            sb_off::INODE_TABLE_BLOCKS,
            &self.inode_table_blocks.to_le_bytes(),
        );
        write_bytes(buf, sb_off::INODE_COUNT, &self.inode_count.to_le_bytes());
        write_bytes(buf, sb_off::DATA_START, &self.data_start.to_le_bytes());
        write_bytes(buf, sb_off::ROOT_INO, &self.root_ino.to_le_bytes());
        write_bytes(buf, sb_off::FREE_BLOCKS, &self.free_blocks.to_le_bytes());
        write_bytes(buf, sb_off::FREE_INODES, &self.free_inodes.to_le_bytes());
        write_bytes(buf, sb_off::ORPHAN_HEAD, &self.orphan_head.to_le_bytes());
        write_bytes(buf, sb_off::MKFS_TIME, &self.mkfs_time.to_le_bytes());
        let checksum = superblock_checksum(buf);
        write_bytes(buf, sb_off::CHECKSUM, &checksum.to_le_bytes());
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
        if self.data_start < inode_table_end {
            return Err(BadGeometry("data area overlaps the inode table"));
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

    /// The label without its NUL padding.
    pub fn label_bytes(&self) -> &[u8] {
        let len = self
            .label
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(self.label.len());
        self.label.get(..len).unwrap_or(&[])
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

/// Free slots (mode 0) among the inodes of one inode-table block, read without checking their
/// checksums: for counting, where a damaged slot is fsck's business.
pub fn free_inodes_in_table_block(block: &[u8]) -> u64 {
    block
        .chunks_exact(INODE_SIZE)
        .filter(|slot| matches!(read_u16(slot, inode_off::MODE), Ok(0)))
        .count() as u64
}

/// A timestamp: seconds since the epoch (may be negative) and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub sec: i64,
    /// Nanoseconds, below [`NSEC_PER_SEC`].
    pub nsec: u32,
}

/// An extent: `len` file blocks from `logical` mapped to device blocks from `physical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Extent {
    /// First file block.
    pub logical: u64,
    /// First device block.
    pub physical: u64,
    /// Length in blocks, at least 1.
    pub len: u32,
}

impl Extent {
    /// Decodes an extent, checking that it is not empty and that neither end overflows.
    pub fn decode(buf: &[u8]) -> Result<Self, FormatError> {
        let extent = Self {
            logical: read_u64(buf, extent_off::LOGICAL)?,
            physical: read_u64(buf, extent_off::PHYSICAL)?,
            len: read_u32(buf, extent_off::LEN)?,
        };
        if extent.len == 0 {
            return Err(FormatError::BadExtent("zero length"));
        }
        if extent.logical_end().is_none() || extent.physical_end().is_none() {
            return Err(FormatError::BadExtent("end overflows"));
        }
        Ok(extent)
    }

    /// Encodes the extent.
    pub fn encode(&self, buf: &mut [u8; EXTENT_SIZE]) {
        write_bytes(buf, extent_off::LOGICAL, &self.logical.to_le_bytes());
        write_bytes(buf, extent_off::PHYSICAL, &self.physical.to_le_bytes());
        write_bytes(buf, extent_off::LEN, &self.len.to_le_bytes());
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
            }),
        )
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
/// [`Inode::check_extent_totals`].
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
}

impl ExtentChecker {
    /// A checker for the extents of one file of `sb`.
    pub fn new(sb: &Superblock) -> Self {
        Self {
            data_start: sb.data_start,
            total_blocks: sb.total_blocks,
            contiguous: true,
            ..Self::default()
        }
    }

    /// Checks the next extent: not empty, inside the data area, within the largest file, and
    /// after the previous one without overlapping it.
    pub fn add(&mut self, extent: &Extent) -> Result<(), FormatError> {
        use FormatError::BadExtent;

        if extent.len == 0 {
            return Err(BadExtent("zero length"));
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
        write_bytes(buf, inode_off::MODE, &self.mode.to_le_bytes());
        write_bytes(buf, inode_off::FLAGS, &self.flags.to_le_bytes());
        write_bytes(buf, inode_off::UID, &self.uid.to_le_bytes());
        write_bytes(buf, inode_off::GID, &self.gid.to_le_bytes());
        write_bytes(buf, inode_off::NLINK, &self.nlink.to_le_bytes());
        write_bytes(buf, inode_off::SIZE, &self.size.to_le_bytes());
        write_bytes(buf, inode_off::BLOCKS, &self.blocks.to_le_bytes());
        let times = [self.atime, self.mtime, self.ctime, self.btime];
        for (index, time) in times.iter().enumerate() {
            write_bytes(
                buf,
                inode_off::TIME_SECS + 8 * index,
                &time.sec.to_le_bytes(),
            );
            write_bytes(
                buf,
                inode_off::TIME_NSECS + 4 * index,
                &time.nsec.to_le_bytes(),
            );
        }
        write_bytes(buf, inode_off::GENERATION, &self.generation.to_le_bytes());
        write_bytes(
            buf,
            inode_off::EXTENT_COUNT,
            &self.extent_count.to_le_bytes(),
        );
        write_bytes(buf, inode_off::NEXT_ORPHAN, &self.next_orphan.to_le_bytes());
        write_bytes(
            buf,
            inode_off::OVERFLOW_BLOCK,
            &self.overflow_block.to_le_bytes(),
        );
        write_bytes(buf, inode_off::PARENT, &self.parent.to_le_bytes());
        write_bytes(buf, inode_off::RDEV, &self.rdev.to_le_bytes());
        write_bytes(buf, inode_off::INLINE, &self.inline);
        let checksum = checksum_without_field(buf, inode_off::CHECKSUM);
        write_bytes(buf, inode_off::CHECKSUM, &checksum.to_le_bytes());
    }

    /// Whether the inode is free.
    pub fn is_free(&self) -> bool {
        self.mode == 0
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

    /// [`Inode::validate`] without the final totals: returns the checker that has seen the
    /// inline extents, to be fed the overflow extents next.
    pub fn validate_fields(&self, sb: &Superblock) -> Result<ExtentChecker, FormatError> {
        use FormatError::{
            BadExtent,
            BadInode, //
        };

        let mut checker = ExtentChecker::new(sb);
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
    /// [`ExtentBlockHeader::write_extent`] first: the checksum covers them.
    pub fn encode(&self, block: &mut [u8; BLOCK_SIZE]) {
        write_bytes(
            block,
            extent_block_off::MAGIC,
            &EXTENT_BLOCK_MAGIC.to_le_bytes(),
        );
        write_bytes(block, extent_block_off::COUNT, &self.count.to_le_bytes());
        write_bytes(block, extent_block_off::NEXT, &self.next.to_le_bytes());
        write_bytes(block, extent_block_off::OWNER, &self.owner.to_le_bytes());
        let checksum = checksum_without_field(block, extent_block_off::CHECKSUM);
        write_bytes(block, extent_block_off::CHECKSUM, &checksum.to_le_bytes());
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

/// Checks that `name` can be a directory entry's name: 1 to 255 bytes, no `/` or NUL, and not
/// `.` or `..` (which are never stored).
pub fn validate_name(name: &[u8]) -> Result<(), FormatError> {
    if name.is_empty() {
        return Err(FormatError::BadDirEntry("empty name"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(FormatError::BadDirEntry("name too long"));
    }
    if name.iter().any(|&byte| byte == b'/' || byte == 0) {
        return Err(FormatError::BadDirEntry("name contains '/' or NUL"));
    }
    if name == b"." || name == b".." {
        return Err(FormatError::BadDirEntry("name is '.' or '..'"));
    }
    Ok(())
}

/// An in-use directory entry. Free slots decode to `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode the entry names (never 0).
    pub ino: u64,
    /// Type of that inode.
    pub file_type: FileType,
    /// Length of the name.
    name_len: u8,
    /// The name, zero-padded.
    name: [u8; MAX_NAME_LEN],
}

impl DirEntry {
    /// A new entry naming inode `ino` (not 0) of type `file_type`.
    pub fn new(ino: u64, file_type: FileType, name: &[u8]) -> Result<Self, FormatError> {
        if ino == 0 {
            return Err(FormatError::BadDirEntry("inode number 0"));
        }
        validate_name(name)?;
        let mut padded = [0; MAX_NAME_LEN];
        write_bytes(&mut padded, 0, name);
        Ok(Self {
            ino,
            file_type,
            name_len: u8::try_from(name.len())
                .map_err(|_| FormatError::BadDirEntry("name too long"))?,
            name: padded,
        })
    }

    /// The entry's name.
    pub fn name(&self) -> &[u8] {
        self.name
            .get(..usize::from(self.name_len))
            .unwrap_or(&self.name)
    }

    /// Decodes a directory entry slot: `None` for a free slot (inode 0), otherwise the entry,
    /// with its name ([`validate_name`]) and type checked. Whether the inode number is in range
    /// depends on the superblock and is the caller's check.
    pub fn decode(buf: &[u8]) -> Result<Option<Self>, FormatError> {
        let slot = buf.get(..DIRENT_SIZE).ok_or(FormatError::TooShort)?;
        let ino = read_u64(slot, dirent_off::INO)?;
        if ino == 0 {
            return Ok(None);
        }
        let name_len = read_bytes::<1>(slot, dirent_off::NAME_LEN)?[0];
        let dirent_type = read_bytes::<1>(slot, dirent_off::FILE_TYPE)?[0];
        let name: [u8; MAX_NAME_LEN] = read_bytes(slot, dirent_off::NAME)?;
        let file_type = FileType::from_dirent_type(dirent_type)
            .ok_or(FormatError::BadDirEntry("unknown file type"))?;
        validate_name(name.get(..usize::from(name_len)).unwrap_or(&name))?;
        // Keep the padding zero so that equal entries compare equal.
        let mut padded = [0; MAX_NAME_LEN];
        write_bytes(
            &mut padded,
            0,
            name.get(..usize::from(name_len)).unwrap_or(&[]),
        );
        Ok(Some(Self {
            ino,
            file_type,
            name_len,
            name: padded,
        }))
    }

    /// Encodes the entry, zeroing the reserved bytes and the name's padding.
    pub fn encode(&self, buf: &mut [u8; DIRENT_SIZE]) {
        buf.fill(0);
        write_bytes(buf, dirent_off::INO, &self.ino.to_le_bytes());
        write_bytes(buf, dirent_off::NAME_LEN, &[self.name_len]);
        write_bytes(buf, dirent_off::FILE_TYPE, &[self.file_type.dirent_type()]);
        write_bytes(buf, dirent_off::NAME, self.name());
    }

    /// Encodes a free slot (all zeros).
    pub fn encode_free(buf: &mut [u8; DIRENT_SIZE]) {
        buf.fill(0);
    }

    /// Byte offset of entry slot `index` in a directory block, if there is such a slot.
    pub fn slot_offset(index: usize) -> Option<usize> {
        (index < DIRENTS_PER_BLOCK).then_some(index * DIRENT_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid superblock: 1024 blocks, 64 inodes.
    fn sample_superblock() -> Superblock {
        let geometry = Geometry::for_device(1024, None).unwrap();
        let mut label = [0; 32];
        label[..4].copy_from_slice(b"test");
        Superblock::new(&geometry, [7; 16], label, 1_700_000_000)
    }

    /// An encoded [`sample_superblock`].
    fn sample_superblock_block() -> [u8; BLOCK_SIZE] {
        let mut block = [0; BLOCK_SIZE];
        sample_superblock().encode(&mut block);
        block
    }

    /// Rewrites the superblock checksum after a test modified the raw block.
    fn reseal_superblock(block: &mut [u8; BLOCK_SIZE]) {
        let checksum = superblock_checksum(block);
        write_bytes(block, sb_off::CHECKSUM, &checksum.to_le_bytes());
    }

    /// A regular file with two inline extents.
    fn sample_file(sb: &Superblock) -> Inode {
        let mut inode = Inode {
            mode: S_IFREG | 0o644,
            nlink: 1,
            size: 5 * BLOCK_SIZE_U64,
            blocks: 3,
            extent_count: 2,
            generation: 42,
            mtime: Timestamp {
                sec: -5,
                nsec: 999_999_999,
            },
            ..Inode::FREE
        };
        let first = Extent {
            logical: 0,
            physical: sb.data_start,
            len: 1,
        };
        let second = Extent {
            logical: 3,
            physical: sb.data_start + 10,
            len: 2,
        };
        inode.set_inline_extent(0, &first).unwrap();
        inode.set_inline_extent(1, &second).unwrap();
        inode
    }

    #[test]
    fn crc32c_known_vectors() {
        assert_eq!(crc32c(0, b""), 0);
        assert_eq!(crc32c(0, b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(0, &[0; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(0, &[0xff; 32]), 0x62a8_ab43);
        assert_eq!(crc32c(crc32c(0, b"1234"), b"56789"), 0xe306_9283);
    }

    #[test]
    fn superblock_round_trip() {
        let sb = sample_superblock();
        let block = sample_superblock_block();
        assert_eq!(&block[..8], b"DAXFS_SB");
        assert_eq!(Superblock::decode(&block), Ok(sb));
        assert_eq!(sb.label_bytes(), b"test");
        assert_eq!(sb.validate_geometry(1024), Ok(()));
        assert_eq!(sb.check_writable(), Ok(()));
    }

    #[test]
    fn superblock_rejects_short_buffer() {
        let block = sample_superblock_block();
        assert_eq!(
            Superblock::decode(&block[..BLOCK_SIZE - 1]),
            Err(FormatError::TooShort)
        );
    }

    #[test]
    fn superblock_rejects_bad_magic() {
        let mut block = sample_superblock_block();
        block[0] = b'X';
        assert_eq!(Superblock::decode(&block), Err(FormatError::BadMagic));
    }

    #[test]
    fn superblock_rejects_checksum_mismatch() {
        let mut block = sample_superblock_block();
        // Reserved bytes are covered by the checksum too.
        block[BLOCK_SIZE - 1] ^= 1;
        assert_eq!(Superblock::decode(&block), Err(FormatError::BadChecksum));
        let mut block = sample_superblock_block();
        block[sb_off::FREE_BLOCKS] ^= 1;
        assert_eq!(Superblock::decode(&block), Err(FormatError::BadChecksum));
    }

    #[test]
    fn free_counts_from_bitmap_and_inode_table() {
        let mut sb = sample_superblock();
        sb.data_start = 10;
        sb.total_blocks = BITS_PER_BITMAP_BLOCK + 100;
        let mut bitmap = [0u8; BLOCK_SIZE];
        // Blocks 0..16 in use, 20 in use: of the data area 10.., 16..20 and 21.. are free.
        bitmap[0] = 0xff;
        bitmap[1] = 0xff;
        bitmap[2] = 1 << 4;
        assert_eq!(
            sb.free_blocks_in_bitmap_block(0, &bitmap),
            BITS_PER_BITMAP_BLOCK - 17
        );
        // The second bitmap block covers 100 blocks; its bits past the end do not count.
        let mut last = [0xffu8; BLOCK_SIZE];
        last[..12].fill(0);
        last[12] = 0xf0;
        assert_eq!(sb.free_blocks_in_bitmap_block(1, &last), 100);

        let mut table = [0u8; BLOCK_SIZE];
        let file = sample_file(&sb);
        let mut slot = [0u8; INODE_SIZE];
        file.encode(&mut slot);
        table[INODE_SIZE..2 * INODE_SIZE].copy_from_slice(&slot);
        table[5 * INODE_SIZE..6 * INODE_SIZE].copy_from_slice(&slot);
        assert_eq!(
            free_inodes_in_table_block(&table),
            INODES_PER_BLOCK as u64 - 2
        );
    }

    #[test]
    fn superblock_orphan_head_is_outside_the_checksum() {
        let mut block = sample_superblock_block();
        let sealed = read_u32(&block, sb_off::CHECKSUM).unwrap();
        write_bytes(&mut block, ORPHAN_HEAD_OFFSET, &7u64.to_le_bytes());
        let sb = Superblock::decode(&block).expect("a new head alone keeps the checksum valid");
        assert_eq!(sb.orphan_head, 7);
        // Encoding with any head gives the same checksum; the fields around it stay covered.
        let mut again = [0; BLOCK_SIZE];
        sb.encode(&mut again);
        assert_eq!(read_u32(&again, sb_off::CHECKSUM).unwrap(), sealed);
        assert_eq!(again, block);
        for neighbour in [sb_off::ORPHAN_HEAD - 1, sb_off::ORPHAN_HEAD + 8] {
            let mut block = sample_superblock_block();
            block[neighbour] ^= 1;
            assert_eq!(Superblock::decode(&block), Err(FormatError::BadChecksum));
        }
        // The head is 8-byte aligned, so one store writes it whole.
        assert_eq!(ORPHAN_HEAD_OFFSET % 8, 0);
    }

    #[test]
    fn superblock_versions() {
        let mut block = sample_superblock_block();
        write_bytes(&mut block, sb_off::VERSION_MAJOR, &2u16.to_le_bytes());
        reseal_superblock(&mut block);
        assert_eq!(
            Superblock::decode(&block),
            Err(FormatError::UnsupportedVersion { major: 2, minor: 0 })
        );
        // A newer major is refused even if its checksum is elsewhere.
        block[sb_off::CHECKSUM] ^= 1;
        assert!(matches!(
            Superblock::decode(&block),
            Err(FormatError::UnsupportedVersion { .. })
        ));

        let mut block = sample_superblock_block();
        write_bytes(&mut block, sb_off::VERSION_MAJOR, &0u16.to_le_bytes());
        reseal_superblock(&mut block);
        assert!(matches!(
            Superblock::decode(&block),
            Err(FormatError::UnsupportedVersion { major: 0, .. })
        ));

        let mut block = sample_superblock_block();
        write_bytes(&mut block, sb_off::VERSION_MINOR, &7u16.to_le_bytes());
        reseal_superblock(&mut block);
        let sb = Superblock::decode(&block).unwrap();
        assert_eq!((sb.version_major, sb.version_minor), (1, 7));
    }

    #[test]
    fn superblock_features() {
        let mut sb = sample_superblock();
        sb.feature_incompat = 0x8000_0000;
        let mut block = [0; BLOCK_SIZE];
        sb.encode(&mut block);
        assert_eq!(
            Superblock::decode(&block),
            Err(FormatError::UnsupportedFeatures {
                incompat: 0x8000_0000,
                ro_compat: 0
            })
        );

        let mut sb = sample_superblock();
        sb.feature_ro_compat = 0x4;
        sb.feature_compat = 0x10;
        sb.encode(&mut block);
        let decoded = Superblock::decode(&block).unwrap();
        assert_eq!(
            decoded.check_writable(),
            Err(FormatError::UnsupportedFeatures {
                incompat: 0,
                ro_compat: 0x4
            })
        );
    }

    #[test]
    fn superblock_rejects_bad_block_size_and_state() {
        let mut sb = sample_superblock();
        sb.block_size = 8192;
        let mut block = [0; BLOCK_SIZE];
        sb.encode(&mut block);
        assert!(matches!(
            Superblock::decode(&block),
            Err(FormatError::BadGeometry(_))
        ));
        let mut sb = sample_superblock();
        sb.state = 3;
        sb.encode(&mut block);
        assert!(matches!(
            Superblock::decode(&block),
            Err(FormatError::BadSuperblock(_))
        ));
    }

    #[test]
    fn geometry_for_device() {
        let small = Geometry::for_device(256, None).unwrap();
        assert_eq!(small.bitmap_start, 1);
        assert_eq!(small.bitmap_blocks, 1);
        assert_eq!(small.inode_table_start, 2);
        assert_eq!(small.inode_count, 64);
        assert_eq!(small.inode_table_blocks, 4);
        assert_eq!(small.data_start, 6);

        // 1 GiB: 65536 inodes, data aligned to 2 MiB.
        let big = Geometry::for_device(262_144, None).unwrap();
        assert_eq!(big.bitmap_blocks, 8);
        assert_eq!(big.inode_count, 65_536);
        assert_eq!(big.inode_table_start, 9);
        assert_eq!(big.data_start % DATA_ALIGN_BLOCKS, 0);
        assert_eq!(big.data_start, 4608);

        let explicit = Geometry::for_device(1024, Some(17)).unwrap();
        assert_eq!(explicit.inode_count, 32);

        assert!(Geometry::for_device(255, None).is_err());
        assert!(Geometry::for_device(1024, Some(0)).is_err());
        assert!(Geometry::for_device(1024, Some(1024 * 16)).is_err());
        assert!(Geometry::for_device(1024, Some(MAX_INODES + 1)).is_err());
        let sb = Superblock::new(&big, [0; 16], [0; 32], 0);
        assert_eq!(sb.validate_geometry(262_144), Ok(()));
    }

    #[test]
    fn geometry_validation_rejects_bad_cases() {
        type Corruption = fn(&mut Superblock);
        let good = sample_superblock();
        let cases: [(&str, Corruption); 17] = [
            ("block size", |sb| sb.block_size = 512),
            ("too small", |sb| sb.total_blocks = 100),
            ("larger than device", |sb| sb.total_blocks = 2048),
            ("bitmap on superblock", |sb| sb.bitmap_start = 0),
            ("bitmap too small", |sb| sb.bitmap_blocks = 0),
            ("bitmap overflow", |sb| sb.bitmap_start = u64::MAX),
            ("table overlaps bitmap", |sb| sb.inode_table_start = 1),
            ("empty table", |sb| {
                sb.inode_table_blocks = 0;
                sb.inode_count = 0;
            }),
            ("count mismatch", |sb| sb.inode_count += 1),
            ("table overflow", |sb| sb.inode_table_start = u64::MAX - 1),
            ("data overlaps table", |sb| sb.data_start -= 1),
            ("no data area", |sb| sb.data_start = sb.total_blocks),
            ("root zero", |sb| sb.root_ino = 0),
            ("root out of range", |sb| sb.root_ino = sb.inode_count + 1),
            ("free blocks", |sb| sb.free_blocks = sb.data_blocks() + 1),
            ("free inodes", |sb| sb.free_inodes = sb.inode_count),
            ("orphan head", |sb| sb.orphan_head = sb.inode_count + 1),
        ];
        for (name, corrupt) in cases {
            let mut sb = good;
            corrupt(&mut sb);
            assert!(
                matches!(sb.validate_geometry(1024), Err(FormatError::BadGeometry(_))),
                "{name} accepted"
            );
        }
        assert!(good.validate_geometry(1023).is_err());
    }

    #[test]
    fn superblock_locations() {
        let sb = sample_superblock();
        assert_eq!(sb.inode_location(0), None);
        assert_eq!(sb.inode_location(1), Some((sb.inode_table_start, 0)));
        assert_eq!(sb.inode_location(18), Some((sb.inode_table_start + 1, 256)));
        assert_eq!(sb.inode_location(sb.inode_count + 1), None);
        assert_eq!(sb.bitmap_location(32_769), None);
        assert_eq!(sb.bitmap_location(1000), Some((1, 1000)));
        assert!(sb.is_data_range(sb.data_start, 1));
        assert!(!sb.is_data_range(sb.data_start - 1, 1));
        assert!(!sb.is_data_range(1023, 2));
        assert!(!sb.is_data_range(sb.data_start, u64::MAX));
    }

    #[test]
    fn bitmap_bits() {
        let mut bitmap = [0u8; 16];
        assert_eq!(bitmap_set(&mut bitmap, 9, true), Ok(false));
        assert_eq!(bitmap[1], 0b10);
        assert_eq!(bitmap_get(&bitmap, 9), Ok(true));
        assert_eq!(bitmap_set(&mut bitmap, 9, false), Ok(true));
        assert_eq!(bitmap_get(&bitmap, 9), Ok(false));
        assert_eq!(bitmap_get(&bitmap, 128), Err(FormatError::TooShort));
        assert_eq!(
            bitmap_set(&mut bitmap, u64::MAX, true),
            Err(FormatError::TooShort)
        );
    }

    #[test]
    fn inode_round_trip() {
        let sb = sample_superblock();
        let inode = sample_file(&sb);
        let mut buf = [0; INODE_SIZE];
        inode.encode(&mut buf);
        let decoded = Inode::decode(&buf).unwrap();
        assert_eq!(decoded, inode);
        assert_eq!(decoded.validate(&sb), Ok(()));
        assert_eq!(decoded.inline_extent_count(), 2);
        assert_eq!(
            decoded.inline_extent(1).unwrap().map(4),
            Some(sb.data_start + 11)
        );
    }

    #[test]
    fn inode_zero_slot_is_free_and_checksum_is_checked() {
        assert_eq!(Inode::decode(&[0; INODE_SIZE]), Ok(Inode::FREE));
        assert_eq!(Inode::decode(&[0; 10]), Err(FormatError::TooShort));
        let sb = sample_superblock();
        let mut buf = [0; INODE_SIZE];
        sample_file(&sb).encode(&mut buf);
        buf[inode_off::SIZE] ^= 0x40;
        assert_eq!(Inode::decode(&buf), Err(FormatError::BadChecksum));

        // A freed inode keeps its generation and a checksum.
        let freed = Inode {
            generation: 9,
            ..Inode::FREE
        };
        freed.encode(&mut buf);
        let decoded = Inode::decode(&buf).unwrap();
        assert!(decoded.is_free());
        assert_eq!(decoded.generation, 9);
    }

    #[test]
    fn inode_decode_rejects_bad_mode_and_flags() {
        let mut buf = [0; INODE_SIZE];
        let bad_mode = Inode {
            mode: 0o030_644,
            ..Inode::FREE
        };
        bad_mode.encode(&mut buf);
        assert!(matches!(Inode::decode(&buf), Err(FormatError::BadInode(_))));
        let bad_flags = Inode {
            mode: S_IFREG,
            flags: 0x80,
            ..Inode::FREE
        };
        bad_flags.encode(&mut buf);
        assert!(matches!(Inode::decode(&buf), Err(FormatError::BadInode(_))));
    }

    #[test]
    fn inode_validation() {
        let sb = sample_superblock();
        let good = sample_file(&sb);
        let extent = |logical, physical, len| Extent {
            logical,
            physical,
            len,
        };
        let cases: [(&str, Inode); 12] = [
            (
                "nsec",
                Inode {
                    atime: Timestamp {
                        sec: 0,
                        nsec: NSEC_PER_SEC,
                    },
                    ..good
                },
            ),
            (
                "size",
                Inode {
                    size: MAX_FILE_SIZE + 1,
                    ..good
                },
            ),
            ("blocks", Inode { blocks: 4, ..good }),
            (
                "extent count",
                Inode {
                    extent_count: 1,
                    ..good
                },
            ),
            (
                "overflow without need",
                Inode {
                    overflow_block: sb.data_start,
                    ..good
                },
            ),
            (
                "overflow out of range",
                Inode {
                    extent_count: 7,
                    overflow_block: 3,
                    ..good
                },
            ),
            ("parent on file", Inode { parent: 1, ..good }),
            ("rdev on file", Inode { rdev: 1, ..good }),
            (
                "next orphan",
                Inode {
                    next_orphan: sb.inode_count + 1,
                    ..good
                },
            ),
            (
                "fifo with data",
                Inode {
                    mode: S_IFIFO | 0o600,
                    ..good
                },
            ),
            (
                "directory size",
                Inode {
                    mode: S_IFDIR | 0o755,
                    parent: 1,
                    nlink: 2,
                    size: 100,
                    ..good
                },
            ),
            (
                "inline flag on file",
                Inode {
                    flags: INODE_FLAG_INLINE_SYMLINK,
                    ..good
                },
            ),
        ];
        for (name, inode) in cases {
            assert!(inode.validate(&sb).is_err(), "{name} accepted");
        }

        let mut bad_extents = good;
        bad_extents
            .set_inline_extent(1, &extent(0, sb.data_start + 5, 1))
            .unwrap();
        assert_eq!(
            bad_extents.validate(&sb),
            Err(FormatError::BadExtent("overlaps or is out of order"))
        );
        bad_extents
            .set_inline_extent(1, &extent(3, sb.total_blocks - 1, 2))
            .unwrap();
        assert_eq!(
            bad_extents.validate(&sb),
            Err(FormatError::BadExtent("outside the data area"))
        );
        bad_extents.set_inline_extent(1, &extent(3, 2, 2)).unwrap();
        assert_eq!(
            bad_extents.validate(&sb),
            Err(FormatError::BadExtent("outside the data area"))
        );
        bad_extents
            .set_inline_extent(1, &extent(MAX_FILE_BLOCKS - 1, sb.data_start + 10, 2))
            .unwrap();
        assert_eq!(
            bad_extents.validate(&sb),
            Err(FormatError::BadExtent("maps past the largest file size"))
        );
        bad_extents
            .set_inline_extent(1, &extent(3, sb.data_start + 10, 0))
            .unwrap();
        assert_eq!(
            bad_extents.validate(&sb),
            Err(FormatError::BadExtent("zero length"))
        );
    }

    #[test]
    fn directory_and_symlink_validation() {
        let sb = sample_superblock();
        let mut dir = Inode {
            mode: S_IFDIR | 0o755,
            nlink: 2,
            parent: 1,
            size: 2 * BLOCK_SIZE_U64,
            blocks: 2,
            extent_count: 1,
            ..Inode::FREE
        };
        dir.set_inline_extent(
            0,
            &Extent {
                logical: 0,
                physical: sb.data_start,
                len: 2,
            },
        )
        .unwrap();
        assert_eq!(dir.validate(&sb), Ok(()));
        let mut holey = dir;
        holey
            .set_inline_extent(
                0,
                &Extent {
                    logical: 1,
                    physical: sb.data_start,
                    len: 2,
                },
            )
            .unwrap();
        assert!(holey.validate(&sb).is_err());
        assert!(Inode { parent: 0, ..dir }.validate(&sb).is_err());
        assert!(Inode { size: 0, ..dir }.validate(&sb).is_err());

        let mut link = Inode {
            mode: S_IFLNK | 0o777,
            nlink: 1,
            ..Inode::FREE
        };
        link.set_inline_symlink_target(b"../target").unwrap();
        assert_eq!(link.validate(&sb), Ok(()));
        assert_eq!(link.inline_symlink_target(), Some(&b"../target"[..]));
        let mut buf = [0; INODE_SIZE];
        link.encode(&mut buf);
        assert_eq!(Inode::decode(&buf), Ok(link));
        let mut nul = link;
        nul.inline[2] = 0;
        assert!(nul.validate(&sb).is_err());
        assert!(Inode { size: 121, ..link }.validate(&sb).is_err());
        assert!(link.set_inline_symlink_target(&[b'a'; 121]).is_err());
        assert!(link.set_inline_symlink_target(b"").is_err());

        let mut block_link = Inode {
            mode: S_IFLNK | 0o777,
            nlink: 1,
            size: 200,
            blocks: 1,
            extent_count: 1,
            ..Inode::FREE
        };
        block_link
            .set_inline_extent(
                0,
                &Extent {
                    logical: 0,
                    physical: sb.data_start,
                    len: 1,
                },
            )
            .unwrap();
        assert_eq!(block_link.validate(&sb), Ok(()));
        assert!(Inode {
            size: 4096,
            ..block_link
        }
        .validate(&sb)
        .is_err());
    }

    #[test]
    fn extent_round_trip_and_checks() {
        let extent = Extent {
            logical: 1 << 40,
            physical: 123_456,
            len: 77,
        };
        let mut buf = [0; EXTENT_SIZE];
        extent.encode(&mut buf);
        assert_eq!(Extent::decode(&buf), Ok(extent));
        assert_eq!(Extent::decode(&buf[..19]), Err(FormatError::TooShort));
        Extent { len: 0, ..extent }.encode(&mut buf);
        assert!(Extent::decode(&buf).is_err());
        Extent {
            physical: u64::MAX,
            ..extent
        }
        .encode(&mut buf);
        assert!(Extent::decode(&buf).is_err());
        assert_eq!(extent.map(extent.logical + 76), Some(123_456 + 76));
        assert_eq!(extent.map(extent.logical + 77), None);
        assert_eq!(extent.map(0), None);
    }

    #[test]
    fn extent_split_at() {
        let extent = Extent {
            logical: 100,
            physical: 5000,
            len: 10,
        };
        assert_eq!(extent.split_at(0), (None, Some(extent)));
        assert_eq!(extent.split_at(100), (None, Some(extent)));
        assert_eq!(extent.split_at(110), (Some(extent), None));
        assert_eq!(extent.split_at(u64::MAX), (Some(extent), None));
        let (head, tail) = extent.split_at(103);
        assert_eq!(
            head,
            Some(Extent {
                logical: 100,
                physical: 5000,
                len: 3
            })
        );
        assert_eq!(
            tail,
            Some(Extent {
                logical: 103,
                physical: 5003,
                len: 7
            })
        );
    }

    #[test]
    fn extent_block_round_trip() {
        let mut block = [0; BLOCK_SIZE];
        let extent = Extent {
            logical: 10,
            physical: 500,
            len: 3,
        };
        ExtentBlockHeader::write_extent(&mut block, 0, &extent).unwrap();
        ExtentBlockHeader::write_extent(&mut block, EXTENTS_PER_BLOCK - 1, &extent).unwrap();
        assert!(ExtentBlockHeader::write_extent(&mut block, EXTENTS_PER_BLOCK, &extent).is_err());
        let header = ExtentBlockHeader {
            count: 1,
            next: 0,
            owner: 5,
        };
        header.encode(&mut block);
        assert_eq!(ExtentBlockHeader::decode(&block), Ok(header));
        assert_eq!(ExtentBlockHeader::read_extent(&block, 0), Ok(extent));
        assert_eq!(
            ExtentBlockHeader::read_extent(&block, EXTENTS_PER_BLOCK - 1),
            Ok(extent)
        );

        let mut corrupt = block;
        corrupt[100] ^= 1;
        assert_eq!(
            ExtentBlockHeader::decode(&corrupt),
            Err(FormatError::BadChecksum)
        );
        let mut corrupt = block;
        corrupt[0] ^= 1;
        assert_eq!(
            ExtentBlockHeader::decode(&corrupt),
            Err(FormatError::BadMagic)
        );
        ExtentBlockHeader { count: 0, ..header }.encode(&mut block);
        assert!(ExtentBlockHeader::decode(&block).is_err());
        ExtentBlockHeader {
            count: EXTENTS_PER_BLOCK as u32 + 1,
            ..header
        }
        .encode(&mut block);
        assert!(ExtentBlockHeader::decode(&block).is_err());
        assert_eq!(
            ExtentBlockHeader::decode(&block[..100]),
            Err(FormatError::TooShort)
        );
    }

    #[test]
    fn dir_entry_round_trip() {
        let entry = DirEntry::new(12, FileType::Symlink, b"hello").unwrap();
        let mut buf = [0xaa; DIRENT_SIZE];
        entry.encode(&mut buf);
        assert_eq!(buf[9], DT_LNK);
        assert_eq!(DirEntry::decode(&buf), Ok(Some(entry)));
        assert_eq!(entry.name(), b"hello");
        let long = [b'x'; MAX_NAME_LEN];
        let entry = DirEntry::new(3, FileType::Directory, &long).unwrap();
        entry.encode(&mut buf);
        assert_eq!(DirEntry::decode(&buf).unwrap().unwrap().name(), &long[..]);
        DirEntry::encode_free(&mut buf);
        assert_eq!(DirEntry::decode(&buf), Ok(None));
        assert_eq!(DirEntry::decode(&buf[..271]), Err(FormatError::TooShort));
        assert_eq!(DirEntry::slot_offset(14), Some(14 * DIRENT_SIZE));
        assert_eq!(DirEntry::slot_offset(15), None);
    }

    #[test]
    fn dir_entry_rejects_bad_entries() {
        let mut buf = [0; DIRENT_SIZE];
        DirEntry::new(12, FileType::Regular, b"ok")
            .unwrap()
            .encode(&mut buf);
        let corrupt = |offset: usize, value: u8| {
            let mut copy = buf;
            copy[offset] = value;
            DirEntry::decode(&copy)
        };
        assert!(matches!(corrupt(8, 0), Err(FormatError::BadDirEntry(_))));
        assert!(matches!(corrupt(9, 3), Err(FormatError::BadDirEntry(_))));
        assert!(matches!(
            corrupt(17, b'/'),
            Err(FormatError::BadDirEntry(_))
        ));
        assert!(matches!(corrupt(8, 3), Err(FormatError::BadDirEntry(_))));
        assert!(DirEntry::new(0, FileType::Regular, b"x").is_err());
        assert!(DirEntry::new(1, FileType::Regular, b".").is_err());
        assert!(DirEntry::new(1, FileType::Regular, b"..").is_err());
        assert!(DirEntry::new(1, FileType::Regular, &[b'x'; 256]).is_err());
        assert!(DirEntry::new(1, FileType::Regular, b"a\0b").is_err());
    }

    #[test]
    fn file_types_round_trip() {
        let types = [
            FileType::Regular,
            FileType::Directory,
            FileType::Symlink,
            FileType::CharDevice,
            FileType::BlockDevice,
            FileType::Fifo,
            FileType::Socket,
        ];
        for file_type in types {
            assert_eq!(
                FileType::from_mode(file_type.mode_bits() | 0o755),
                Some(file_type)
            );
            assert_eq!(
                FileType::from_dirent_type(file_type.dirent_type()),
                Some(file_type)
            );
        }
        assert_eq!(FileType::from_mode(0), None);
        assert_eq!(FileType::from_dirent_type(0), None);
    }

    #[test]
    fn decoders_never_panic_on_garbage() {
        // A cheap deterministic fuzz: every decoder on pseudo-random blocks.
        let sb = sample_superblock();
        let mut state = 0x1234_5678_u32;
        let mut block = [0; BLOCK_SIZE];
        for _ in 0..200 {
            for byte in block.iter_mut() {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *byte = state as u8;
            }
            let _ = Superblock::decode(&block);
            let _ = ExtentBlockHeader::decode(&block);
            for index in 0..EXTENTS_PER_BLOCK + 2 {
                let _ = ExtentBlockHeader::read_extent(&block, index);
            }
            for chunk in block.chunks(INODE_SIZE) {
                if let Ok(inode) = Inode::decode(chunk) {
                    let _ = inode.validate(&sb);
                }
                // Checksums would reject nearly everything: validate the raw fields too.
                let mut unchecked = [0; INODE_SIZE];
                unchecked.copy_from_slice(chunk);
                let checksum = checksum_without_field(&unchecked, inode_off::CHECKSUM);
                write_bytes(&mut unchecked, inode_off::CHECKSUM, &checksum.to_le_bytes());
                if let Ok(inode) = Inode::decode(&unchecked) {
                    let _ = inode.validate(&sb);
                    let _ = inode.inline_symlink_target();
                }
            }
            for chunk in block.chunks(DIRENT_SIZE) {
                let _ = DirEntry::decode(chunk);
            }
        }
    }
}
