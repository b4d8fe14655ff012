// SPDX-License-Identifier: GPL-2.0

//! The daxfs on-disk format, defined once for the kernel module and the userspace tools.
//!
//! This module is compiled twice: as a module of the kernel crate (`no_std`, only `core`) and as
//! `daxfs_tools::format` of the userspace tools. It therefore uses nothing but `core`, has no
//! `unsafe`, and never panics on corrupted input: every decoder bounds-checks and returns a
//! [`FormatError`]. Encoders write into fixed-size arrays, so they cannot fail either.
//!
//! `docs/format.md` explains the design and the consistency rules that `fsck.daxfs` checks;
//! the tables below are the authoritative byte layout.
//!
//! This file holds the layout (the tables, the constants and the field offsets) and
//! [`FormatError`]; the code lives in private submodules whose items are re-exported here, so
//! every item is `format::Item`:
//!
//! - `codec`: bounds-checked little-endian field readers and writers, and [`record_mut`];
//! - `checksum`: [`crc32c`];
//! - `superblock`: [`Superblock`], [`Geometry`] and the bitmap helpers ([`bitmap_get`],
//!   [`bitmap_set`]);
//! - `inode`: [`Inode`], [`Timestamp`], [`FileType`] and [`free_inodes_in_table_block`];
//! - `extent`: [`Extent`], [`ExtentChecker`], [`ExtentBlockHeader`] and
//!   [`encode_extent_block`];
//! - `dirent`: [`DirEntry`] and [`validate_name`];
//! - `xattr`: [`XattrBlock`], [`XattrEntry`] and [`xattr_block_set`].
//!
//! # Conventions
//!
//! All integers are little-endian. A block is [`BLOCK_SIZE`] (4096) bytes, the page size the kernel
//! maps file data with; block numbers are `u64` indices from the start of the device. Inode numbers
//! start at 1; 0 means "none". Checksums are CRC32C ([`crc32c`]) of the whole record with the
//! checksum field (and, in the superblock, the live fields of [`SUPERBLOCK_UNSUMMED`]) read as
//! zero. "Reserved" bytes are written as zero and ignored by readers.
//!
//! # Device layout
//!
//! | blocks                                   | contents                                      |
//! |------------------------------------------|-----------------------------------------------|
//! | 0                                        | superblock                                    |
//! | `bitmap_start` .. `+ bitmap_blocks`      | block allocation bitmap                       |
//! | `inode_table_start` .. `+ inode_table_blocks` | inode table, [`INODES_PER_BLOCK`] inodes a block |
//! | `journal_start` .. `+ journal_blocks`    | undo journal                                  |
//! | .. `data_start`                          | unused alignment gap, marked in use           |
//! | `data_start` .. `total_blocks`           | data area: file data, directory blocks, extent-overflow blocks |
//!
//! mkfs places the bitmap at block 1, the inode table right after it, then the journal (one
//! block in [`JOURNAL_BLOCKS_DIVISOR`], [`MIN_JOURNAL_BLOCKS`] to [`MAX_DEFAULT_JOURNAL_BLOCKS`]),
//! and rounds `data_start`
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
//! | 0x04c  | 4    | `state`              | [`STATE_CLEAN`] or [`STATE_DIRTY`] (mounted read-write, or crashed); live |
//! | 0x050  | 8    | `total_blocks`       | blocks in the file system (≤ device blocks)             |
//! | 0x058  | 8    | `bitmap_start`       | first bitmap block                                      |
//! | 0x060  | 8    | `bitmap_blocks`      | exactly `ceil(total_blocks / 32768)`                    |
//! | 0x068  | 8    | `inode_table_start`  | first inode table block                                 |
//! | 0x070  | 8    | `inode_table_blocks` | inode table length in blocks                            |
//! | 0x078  | 8    | `inode_count`        | `inode_table_blocks * 16`                               |
//! | 0x080  | 8    | `data_start`         | first block of the data area                            |
//! | 0x088  | 8    | `root_ino`           | inode number of the root directory (mkfs: 1)            |
//! | 0x090  | 8    | `free_blocks`        | free blocks in the data area; live                      |
//! | 0x098  | 8    | `free_inodes`        | free inodes; live                                       |
//! | 0x0a0  | 8    | `orphan_head`        | first inode of the orphan list, 0 if empty; live        |
//! | 0x0a8  | 8    | `mkfs_time`          | creation time, seconds since the Unix epoch             |
//! | 0x0b0  | 4    | checksum             | CRC32C of the whole 4096-byte block, the live fields read as zero |
//! | 0x0b4  | 4    | reserved             |                                                         |
//! | 0x0b8  | 8    | `journal_start`      | first journal block, after the inode table              |
//! | 0x0c0  | 8    | `journal_blocks`     | [`MIN_JOURNAL_BLOCKS`] to [`MAX_JOURNAL_BLOCKS`], before `data_start` |
//! | 0x0c8  | 3896 | reserved             |                                                         |
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
//! | 2      | 2    | `flags`          | [`INODE_FLAG_INLINE_SYMLINK`], [`INODE_FLAGS_ATTRIBUTES`] |
//! | 4      | 4    | `uid`            | owner                                                     |
//! | 8      | 4    | `gid`            | group                                                     |
//! | 12     | 4    | `nlink`          | hard links; directories: 2 + subdirectories; 0 = orphan   |
//! | 16     | 8    | `size`           | size in bytes; directories: data blocks * 4096            |
//! | 24     | 8    | `blocks`         | data-area blocks owned: mapped blocks + overflow blocks (not the xattr block) |
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
//! | 240    | 8    | `xattr_block`    | the inode's xattr block, 0 if none ([`FEATURE_INCOMPAT_XATTR`]) |
//! | 248    | 8    | reserved         |                                                           |
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
//! | 16     | 4    | `len`      | bits 0-30: length in blocks, ≥ 1; bit 31: [`EXTENT_LEN_UNWRITTEN`] |
//!
//! An *unwritten* extent (bit 31 of `len`, only with [`FEATURE_INCOMPAT_UNWRITTEN`] and only in
//! regular files) maps blocks that are allocated but read as zeros, whatever they hold:
//! fallocate and zero range make them without writing the blocks, and the first write to one
//! zeroes it and clears the flag in one transaction.
//!
//! A file's extents are sorted by `logical` and do not overlap; a missing range is a hole. The
//! first six live in the inode, the rest in a chain of extent-overflow blocks, in order. With
//! [`FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS`] the extents within one overflow block may be in
//! any order of its slots: sorted, they follow those of the block before.
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
//! # Extended-attribute block
//!
//! An inode with extended attributes names one block of the data area in `xattr_block` that
//! holds all of them (so, as in ext4 without `ea_inode`, they total at most a block), and
//! that no other inode shares. It is not counted in `blocks`. A block always holds at least
//! one attribute: removing the last one frees it.
//!
//! | offset | size | field     | meaning                                       |
//! |-------:|-----:|-----------|-----------------------------------------------|
//! | 0      | 4    | magic     | [`XATTR_BLOCK_MAGIC`], the bytes `DXXA`       |
//! | 4      | 4    | `count`   | attributes in the block, ≥ 1                  |
//! | 8      | 8    | `owner`   | inode number owning the block                 |
//! | 16     | 4    | checksum  | CRC32C of the whole 4096-byte block           |
//! | 20     | 4    | `used`    | bytes of entries after the header, ≤ 4072     |
//! | 24     | used | entries   | `count` entries, packed; the rest of the block is zero |
//!
//! An entry is 4 bytes of header, the name, then the value, unaligned:
//!
//! | offset | size | field       | meaning                                                  |
//! |-------:|-----:|-------------|----------------------------------------------------------|
//! | 0      | 1    | `index`     | namespace: [`XATTR_INDEX_USER`] (`user.`), [`XATTR_INDEX_TRUSTED`] (`trusted.`), [`XATTR_INDEX_SECURITY`] (`security.`), [`XATTR_INDEX_POSIX_ACL_ACCESS`], [`XATTR_INDEX_POSIX_ACL_DEFAULT`] |
//! | 1      | 1    | `name_len`  | 1..=255; 0 for the two ACLs                              |
//! | 2      | 2    | `value_len` | bytes of value, possibly 0                               |
//! | 4      | ...  | name, value | the name without its namespace prefix (no NUL), then the value |
//!
//! No two entries of one namespace have the same name.
//!
//! POSIX ACLs are stored as attributes of their own two namespaces, with the empty name, in the
//! format the VFS gives them to user space (`include/uapi/linux/posix_acl_xattr.h`), ids as
//! the file system sees them (the initial user namespace's):
//!
//! | offset | size | field     | meaning                                        |
//! |-------:|-----:|-----------|------------------------------------------------|
//! | 0      | 4    | version   | [`POSIX_ACL_VERSION`]                          |
//! | 4      | 8 n  | entries   | n ≥ 3 entries of `tag` (2), `perm` (2), `id` (4) |
//!
//! The entries are those `posix_acl_valid` accepts: the owner ([`acl_tag::USER_OBJ`]), named
//! users, the group, named groups, the mask (required with named entries), others, in that
//! order; permissions `rwx` (bits 4, 2, 1) only; a named entry's id is not -1.
//!
//! # Orphans
//!
//! An inode unlinked while still open keeps `nlink == 0` and is chained from the superblock's
//! `orphan_head` through `next_orphan` until it is freed; after a crash, whoever finds the list
//! (mount or fsck) frees its members.
//!
//! # Live superblock fields
//!
//! A mounted file system changes four superblock fields, the *live* ones: `state` (dirty at a
//! read-write mount, clean at unmount), the free counters (at unmount) and `orphan_head` (on
//! every last unlink of an open file and every release of an orphan). Persistent memory keeps an
//! aligned 8-byte store whole across a power cut, and nothing larger, so the kernel writes each
//! live field alone with one such store and never rewrites the block: `orphan_head`,
//! `free_blocks` and `free_inodes` are aligned words, and `state` shares the word at
//! [`STATE_WORD_OFFSET`] with `block_size`, which never changes ([`state_word`]). The checksum
//! reads the live fields as zero ([`SUPERBLOCK_UNSUMMED`]), so that it stays valid whatever they
//! hold; readers check them by range, and the list by walking it. The rest of the block is
//! written only by mkfs and fsck, but for the label (`FS_IOC_SETFSLABEL`): the kernel writes a
//! new label and the checksum that covers it in one transaction of the undo journal, so that a
//! power cut between them leaves a checksum that fails until recovery undoes the change. Mount
//! and fsck therefore read a superblock whose checksum fails through the journal's undo
//! ([`Superblock::decode_after_undo`], the journal found through the unchecked geometry), and
//! refuse it only if that does not make it valid.
//!
//! At unmount the counters are stored first and `state` clean after a fence: a cut in between
//! leaves the file system dirty, and the next mount recounts.
//!
//! # Undo journal
//!
//! Every other metadata change of a system call (inode records, directory entries, bitmap
//! bytes, extent-overflow and xattr blocks, `orphan_head`, a new label with the superblock's
//! checksum) is one transaction of the undo journal. Its
//! first block holds the *commit word* (offset 0, `u64`: the last committed transaction, 0 after
//! mkfs); the rest of the block is reserved. Its other blocks are the record area. Before a
//! transaction first changes a range it appends an undo record of the range's old bytes and
//! fences; committing is one 8-byte store of the transaction's number in the commit word,
//! between two fences. Records are 8-byte aligned and follow each other from the start of the
//! area:
//!
//! | offset | size | field      | meaning                                                  |
//! |-------:|-----:|------------|----------------------------------------------------------|
//! | 0      | 8    | `tx`       | the transaction's number                                 |
//! | 8      | 8    | `offset`   | device byte offset of the range                          |
//! | 16     | 4    | `len`      | bytes in the range, 1 to [`JOURNAL_RECORD_MAX_DATA`]     |
//! | 20     | 4    | checksum   | CRC32C of the header (checksum as zero) and the old bytes |
//! | 24     | len  | old bytes  | padded with zeros to a multiple of 8                     |
//!
//! Recovery (every mount, and fsck first) walks the records of transaction `commit word + 1`
//! from the start of the area up to the first one that is not whole or not of that
//! transaction ([`JournalRecords`]), writes their old bytes back newest first, fences, and
//! stores that number in the commit word; a read-write mount (or remount) stores it even when
//! there was nothing to undo, since the records of one range are fenced together and a crash
//! can leave a torn first record before a whole second one. A record's range must be
//! `orphan_head`, the label or the superblock's checksum, or lie in the bitmap, the inode table
//! or the data area ([`Superblock::check_undo_target`]); any other
//! makes the journal damaged. Writes to blocks the transaction allocated need no records (its
//! undo frees them), and it frees blocks only at its end, so it never reuses one that its undo
//! would make live again.

use core::fmt;

mod checksum;
mod codec;
mod dirent;
mod extent;
mod inode;
mod journal;
mod superblock;
#[cfg(test)]
mod tests;
mod xattr;

pub use checksum::{
    checksum_after_change,
    checksum_without_field,
    crc32c, //
};
pub use codec::{
    changed_runs,
    record_mut,
    CHANGED_RUNS, //
};
pub use dirent::{
    validate_name,
    DirEntry, //
};
pub use extent::{
    assign_extent_slots,
    encode_extent_block,
    encode_extent_block_unsealed,
    Extent,
    ExtentBlockHeader,
    ExtentChecker, //
};
pub use inode::{
    free_inodes_in_table_block,
    FileType,
    Inode,
    Timestamp, //
};
pub use journal::{
    encode_journal_record,
    journal_record_len,
    JournalRecords,
    UndoRecord, //
};
pub use superblock::{
    bitmap_get,
    bitmap_set,
    Geometry,
    Superblock, //
};
pub use xattr::{
    encode_posix_acl,
    valid_posix_acl,
    valid_xattr_name,
    xattr_block_give,
    xattr_block_init,
    xattr_block_seal,
    xattr_block_set,
    XattrBlock,
    XattrChange,
    XattrEntry,
    XattrError,
    XattrSetMode, //
};

/// Size of a block in bytes. Fixed: the kernel maps file data page by page, so a block is a page.
pub const BLOCK_SIZE: usize = 4096;
/// [`BLOCK_SIZE`] as a `u64`, for byte-offset arithmetic on block numbers.
pub const BLOCK_SIZE_U64: u64 = 4096;
/// log2 of [`BLOCK_SIZE`].
pub const BLOCK_SHIFT: u32 = 12;

/// Byte offset in block 0 of `orphan_head`, a live field (see "Live superblock fields" above).
pub const ORPHAN_HEAD_OFFSET: usize = sb_off::ORPHAN_HEAD;

/// Byte offset in block 0 of the aligned word that holds `block_size` and the live `state`.
pub const STATE_WORD_OFFSET: usize = sb_off::BLOCK_SIZE;

/// The word at [`STATE_WORD_OFFSET`] with `state`: `block_size` (always [`BLOCK_SIZE`]) in its
/// low half, `state` in its high half, as one 8-byte store writes them.
pub const fn state_word(state: u32) -> u64 {
    // CAST: 4096 fits.
    (BLOCK_SIZE as u64) | ((state as u64) << 32)
}

/// The superblock fields the checksum reads as zero, as (offset, length): the live `state`,
/// `free_blocks`, `free_inodes` and `orphan_head`, and the checksum itself.
pub const SUPERBLOCK_UNSUMMED: [(usize, usize); 5] = [
    (sb_off::STATE, 4),
    (sb_off::FREE_BLOCKS, 8),
    (sb_off::FREE_INODES, 8),
    (sb_off::ORPHAN_HEAD, 8),
    (sb_off::CHECKSUM, 4),
];

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
/// Incompatible feature: regular files may have unwritten extents ([`EXTENT_LEN_UNWRITTEN`]),
/// which an implementation without it would read as data (or as a 2³¹-block extent). mkfs sets
/// it; on an image without it the kernel preallocates written, zeroed blocks.
pub const FEATURE_INCOMPAT_UNWRITTEN: u32 = 1 << 0;
/// Incompatible feature: the extents of an extent-overflow block are stored in any order of
/// its slots (sorted, they still follow the previous block's and precede the next one's). A
/// writer leaves an extent in the slot it was written to, so an insert rewrites one slot and
/// the header instead of shifting every extent after it, as pmem B+-trees keep their leaves
/// unsorted (NV-Tree, wB+-Tree). An implementation without it would find such a block out of
/// order. mkfs sets it; on an image without it the kernel keeps every block sorted.
pub const FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS: u32 = 1 << 1;
/// Incompatible feature: regular files and directories may carry the attribute flags
/// ([`INODE_FLAGS_ATTRIBUTES`]: `chattr`'s immutable, append-only, noatime, sync, nodump and
/// the per-file DAX flag), which an implementation without it refuses as unknown flags. mkfs
/// sets it; on an image without it setting them fails with `EOPNOTSUPP`.
pub const FEATURE_INCOMPAT_INODE_ATTRIBUTES: u32 = 1 << 2;
/// Incompatible feature: inodes may name an extended-attribute block (`xattr_block`), which an
/// implementation without it would leak when it frees the inode, and whose fsck would free
/// while still named. mkfs sets it; on an image without it setting an attribute fails with
/// `EOPNOTSUPP`.
pub const FEATURE_INCOMPAT_XATTR: u32 = 1 << 3;
/// Incompatible feature: xattr blocks may hold POSIX ACLs ([`XATTR_INDEX_POSIX_ACL_ACCESS`],
/// [`XATTR_INDEX_POSIX_ACL_DEFAULT`]), which an implementation without it finds damaged, and
/// the kernel enforces them (and applies the umask to new files itself). Requires
/// [`FEATURE_INCOMPAT_XATTR`]. mkfs sets it; on an image without it ACLs are `EOPNOTSUPP`, as on
/// ext4 mounted `noacl`.
pub const FEATURE_INCOMPAT_POSIX_ACL: u32 = 1 << 4;
/// Incompatible features this code knows; unknown ones refuse the mount.
pub const FEATURE_INCOMPAT_SUPPORTED: u32 = FEATURE_INCOMPAT_UNWRITTEN
    | FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS
    | FEATURE_INCOMPAT_INODE_ATTRIBUTES
    | FEATURE_INCOMPAT_XATTR
    | FEATURE_INCOMPAT_POSIX_ACL;
/// Read-only-compatible features this code knows (none yet); unknown ones allow only a
/// read-only mount.
pub const FEATURE_RO_COMPAT_SUPPORTED: u32 = 0;

/// The fewest journal blocks: the commit block and one block of records.
pub const MIN_JOURNAL_BLOCKS: u64 = 16;
/// The most journal blocks a superblock may name (64 MiB).
pub const MAX_JOURNAL_BLOCKS: u64 = 16384;
/// mkfs gives the journal one block in this many of the file system...
pub const JOURNAL_BLOCKS_DIVISOR: u64 = 32;
/// ...but no more than this (4 MiB).
pub const MAX_DEFAULT_JOURNAL_BLOCKS: u64 = 1024;
/// Bytes of a journal record's header: `tx`, `offset`, `len` and checksum.
pub const JOURNAL_RECORD_HEADER: usize = 24;
/// The most bytes one journal record restores.
pub const JOURNAL_RECORD_MAX_DATA: usize = BLOCK_SIZE;

/// Bytes of the superblock's label (NUL-padded, not NUL-terminated when full).
pub const LABEL_LEN: usize = 32;

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
/// Attribute flag (`FS_IMMUTABLE_FL`, `chattr +i`): the file cannot be changed, linked,
/// renamed or removed.
pub const INODE_FLAG_IMMUTABLE: u16 = 1 << 1;
/// Attribute flag (`FS_APPEND_FL`, `chattr +a`): the file can only be appended to.
pub const INODE_FLAG_APPEND: u16 = 1 << 2;
/// Attribute flag (`FS_NOATIME_FL`): reads do not update the access time.
pub const INODE_FLAG_NOATIME: u16 = 1 << 3;
/// Attribute flag (`FS_SYNC_FL`): writes are synchronous.
pub const INODE_FLAG_SYNC: u16 = 1 << 4;
/// Attribute flag (`FS_NODUMP_FL`): not for dump(8).
pub const INODE_FLAG_NODUMP: u16 = 1 << 5;
/// Attribute flag (`FS_XFLAG_DAX`, `FS_DAX_FL`): the file uses DAX under `dax=inode`; on a
/// directory, what new files in it inherit.
pub const INODE_FLAG_DAX: u16 = 1 << 6;
/// The attribute flags, only with [`FEATURE_INCOMPAT_INODE_ATTRIBUTES`] and only on regular
/// files and directories.
pub const INODE_FLAGS_ATTRIBUTES: u16 = INODE_FLAG_IMMUTABLE
    | INODE_FLAG_APPEND
    | INODE_FLAG_NOATIME
    | INODE_FLAG_SYNC
    | INODE_FLAG_NODUMP
    | INODE_FLAG_DAX;
/// The attribute flags a new file or directory takes from its directory, as in ext4 (not
/// immutable or append-only).
pub const INODE_FLAGS_INHERITED: u16 =
    INODE_FLAG_NOATIME | INODE_FLAG_SYNC | INODE_FLAG_NODUMP | INODE_FLAG_DAX;
/// All inode flags this code knows.
pub const INODE_FLAGS_KNOWN: u16 = INODE_FLAG_INLINE_SYMLINK | INODE_FLAGS_ATTRIBUTES;
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
/// The bit of an extent's `len` field that marks it unwritten.
pub const EXTENT_LEN_UNWRITTEN: u32 = 1 << 31;
/// The longest extent, in blocks: the rest of the `len` field.
pub const MAX_EXTENT_LEN: u32 = EXTENT_LEN_UNWRITTEN - 1;
/// Magic of an extent-overflow block (the bytes `DXEB`).
pub const EXTENT_BLOCK_MAGIC: u32 = u32::from_le_bytes(*b"DXEB");
/// Size of an extent-overflow block's header in bytes.
pub const EXTENT_BLOCK_HEADER_SIZE: usize = 32;
/// Extents per extent-overflow block.
pub const EXTENTS_PER_BLOCK: usize = (BLOCK_SIZE - EXTENT_BLOCK_HEADER_SIZE) / EXTENT_SIZE;

/// Magic of an extended-attribute block (the bytes `DXXA`).
pub const XATTR_BLOCK_MAGIC: u32 = u32::from_le_bytes(*b"DXXA");
/// Size of an extended-attribute block's header in bytes.
pub const XATTR_BLOCK_HEADER_SIZE: usize = 24;
/// Size of an extended-attribute entry's header in bytes.
pub const XATTR_ENTRY_HEADER_SIZE: usize = 4;
/// Longest attribute name after its namespace prefix, in bytes (the VFS's `XATTR_NAME_MAX`
/// bounds the whole name by 255 too).
pub const XATTR_MAX_NAME_LEN: usize = 255;
/// Namespace index of `user.` attributes.
pub const XATTR_INDEX_USER: u8 = 1;
/// Namespace index of `trusted.` attributes.
pub const XATTR_INDEX_TRUSTED: u8 = 2;
/// Namespace index of `security.` attributes.
pub const XATTR_INDEX_SECURITY: u8 = 3;
/// Namespace index of the access ACL (`system.posix_acl_access`): one entry with the empty
/// name, its value a POSIX ACL ([`valid_posix_acl`]); written only on an image with
/// [`FEATURE_INCOMPAT_POSIX_ACL`].
pub const XATTR_INDEX_POSIX_ACL_ACCESS: u8 = 4;
/// Namespace index of a directory's default ACL (`system.posix_acl_default`), as
/// [`XATTR_INDEX_POSIX_ACL_ACCESS`].
pub const XATTR_INDEX_POSIX_ACL_DEFAULT: u8 = 5;

/// Version of the POSIX ACL value format (`POSIX_ACL_XATTR_VERSION`).
pub const POSIX_ACL_VERSION: u32 = 2;
/// Size of a POSIX ACL value's header (the version) in bytes.
pub const POSIX_ACL_HEADER_SIZE: usize = 4;
/// Size of a POSIX ACL entry in bytes.
pub const POSIX_ACL_ENTRY_SIZE: usize = 8;
/// The most entries of a POSIX ACL: as many as fit in an xattr block with nothing else (a
/// directory's two ACLs and other attributes share the block). 508; fstests learns it from
/// `tests/fstests/guest.sh`.
pub const POSIX_ACL_MAX_ENTRIES: usize =
    (BLOCK_SIZE - XATTR_BLOCK_HEADER_SIZE - XATTR_ENTRY_HEADER_SIZE - POSIX_ACL_HEADER_SIZE)
        / POSIX_ACL_ENTRY_SIZE;
/// ACL entry tags (`ACL_USER_OBJ` and the rest, `include/uapi/linux/posix_acl.h`).
pub mod acl_tag {
    /// The owner.
    pub const USER_OBJ: u16 = 0x01;
    /// A named user.
    pub const USER: u16 = 0x02;
    /// The owning group.
    pub const GROUP_OBJ: u16 = 0x04;
    /// A named group.
    pub const GROUP: u16 = 0x08;
    /// The mask of named entries and the group.
    pub const MASK: u16 = 0x10;
    /// Everyone else.
    pub const OTHER: u16 = 0x20;
}

/// Size of an on-disk directory entry in bytes.
pub const DIRENT_SIZE: usize = 272;
/// Directory entries per directory block.
pub const DIRENTS_PER_BLOCK: usize = BLOCK_SIZE / DIRENT_SIZE;
/// Longest file name in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// The most links an inode may have (ext4's limit for directories).
pub const MAX_LINKS: u32 = 65000;

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
/// Mode bit: set-user-ID on execution.
pub const S_ISUID: u16 = 0o4000;
/// Mode bit: set-group-ID. On an executable, set-group-ID on execution; on a directory, new
/// entries inherit the directory's group, and new subdirectories inherit the bit.
pub const S_ISGID: u16 = 0o2000;
/// Mode bit: sticky. On a directory, only an entry's owner, the directory's owner or a
/// privileged user may unlink or rename the entry.
pub const S_ISVTX: u16 = 0o1000;

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
pub mod sb_off {
    /// `[u8; 8]` magic.
    pub const MAGIC: usize = 0x000;
    /// `u16` major version.
    pub const VERSION_MAJOR: usize = 0x008;
    /// `u16` minor version.
    pub const VERSION_MINOR: usize = 0x00a;
    /// `u32` compatible features.
    pub const FEATURE_COMPAT: usize = 0x00c;
    /// `u32` incompatible features.
    pub const FEATURE_INCOMPAT: usize = 0x010;
    /// `u32` read-only-compatible features.
    pub const FEATURE_RO_COMPAT: usize = 0x014;
    /// `[u8; 16]` UUID.
    pub const UUID: usize = 0x018;
    /// `[u8; 32]` label.
    pub const LABEL: usize = 0x028;
    /// `u32` block size.
    pub const BLOCK_SIZE: usize = 0x048;
    /// `u32` state.
    pub const STATE: usize = 0x04c;
    /// `u64` total blocks.
    pub const TOTAL_BLOCKS: usize = 0x050;
    /// `u64` first bitmap block.
    pub const BITMAP_START: usize = 0x058;
    /// `u64` bitmap blocks.
    pub const BITMAP_BLOCKS: usize = 0x060;
    /// `u64` first inode table block.
    pub const INODE_TABLE_START: usize = 0x068;
    /// `u64` inode table blocks.
    pub const INODE_TABLE_BLOCKS: usize = 0x070;
    /// `u64` inode count.
    pub const INODE_COUNT: usize = 0x078;
    /// `u64` first data block.
    pub const DATA_START: usize = 0x080;
    /// `u64` root inode number.
    pub const ROOT_INO: usize = 0x088;
    /// `u64` free blocks.
    pub const FREE_BLOCKS: usize = 0x090;
    /// `u64` free inodes.
    pub const FREE_INODES: usize = 0x098;
    /// `u64` orphan list head.
    pub const ORPHAN_HEAD: usize = 0x0a0;
    /// `u64` creation time.
    pub const MKFS_TIME: usize = 0x0a8;
    /// `u32` checksum.
    pub const CHECKSUM: usize = 0x0b0;
    /// `u64` first journal block.
    pub const JOURNAL_START: usize = 0x0b8;
    /// `u64` journal blocks.
    pub const JOURNAL_BLOCKS: usize = 0x0c0;
}

/// Inode field offsets (see the module documentation for their meaning).
pub mod inode_off {
    /// `u16` mode.
    pub const MODE: usize = 0;
    /// `u16` flags.
    pub const FLAGS: usize = 2;
    /// `u32` owner.
    pub const UID: usize = 4;
    /// `u32` group.
    pub const GID: usize = 8;
    /// `u32` link count.
    pub const NLINK: usize = 12;
    /// `u64` size in bytes.
    pub const SIZE: usize = 16;
    /// `u64` blocks owned.
    pub const BLOCKS: usize = 24;
    /// Four `i64` seconds: atime, mtime, ctime, btime.
    pub const TIME_SECS: usize = 32;
    /// Four `u32` nanoseconds, in the same order.
    pub const TIME_NSECS: usize = 64;
    /// `u32` generation.
    pub const GENERATION: usize = 80;
    /// `u32` extent count.
    pub const EXTENT_COUNT: usize = 84;
    /// `u64` next orphan.
    pub const NEXT_ORPHAN: usize = 88;
    /// `u64` first overflow block.
    pub const OVERFLOW_BLOCK: usize = 96;
    /// `u64` parent directory.
    pub const PARENT: usize = 104;
    /// `u32` device number.
    pub const RDEV: usize = 112;
    /// `u32` checksum.
    pub const CHECKSUM: usize = 116;
    /// Inline area.
    pub const INLINE: usize = 120;
    /// `u64` extended-attribute block.
    pub const XATTR_BLOCK: usize = 240;
}

/// Journal record header field offsets.
pub mod journal_off {
    /// `u64` transaction number.
    pub const TX: usize = 0;
    /// `u64` device byte offset of the bytes the record restores.
    pub const OFFSET: usize = 8;
    /// `u32` bytes restored.
    pub const LEN: usize = 16;
    /// `u32` checksum.
    pub const CHECKSUM: usize = 20;
}

/// Extent field offsets.
pub mod extent_off {
    /// `u64` first file block.
    pub const LOGICAL: usize = 0;
    /// `u64` first device block.
    pub const PHYSICAL: usize = 8;
    /// `u32` length in blocks, and the unwritten flag in its top bit.
    pub const LEN: usize = 16;
}

/// Extended-attribute block header field offsets.
pub mod xattr_off {
    /// `u32` magic.
    pub const MAGIC: usize = 0;
    /// `u32` entries in the block.
    pub const COUNT: usize = 4;
    /// `u64` owning inode.
    pub const OWNER: usize = 8;
    /// `u32` checksum.
    pub const CHECKSUM: usize = 16;
    /// `u32` bytes of entries.
    pub const USED: usize = 20;
}

/// Extent-overflow block header field offsets.
pub mod extent_block_off {
    /// `u32` magic.
    pub const MAGIC: usize = 0;
    /// `u32` extents in the block.
    pub const COUNT: usize = 4;
    /// `u64` next block of the chain.
    pub const NEXT: usize = 8;
    /// `u64` owning inode.
    pub const OWNER: usize = 16;
    /// `u32` checksum.
    pub const CHECKSUM: usize = 24;
}

/// Directory entry field offsets.
pub mod dirent_off {
    /// `u64` inode number.
    pub const INO: usize = 0;
    /// `u8` name length.
    pub const NAME_LEN: usize = 8;
    /// `u8` `DT_*` type.
    pub const FILE_TYPE: usize = 9;
    /// `[u8; 255]` name.
    pub const NAME: usize = 16;
}

// The layout fits its records; the offset-based readers and writers of the submodules rely on it.
const _: () = assert!(sb_off::CHECKSUM + 4 <= BLOCK_SIZE);
// The live fields are aligned 8-byte words (`state` with `block_size`), in ascending order.
const _: () = assert!(STATE_WORD_OFFSET % 8 == 0 && sb_off::STATE == STATE_WORD_OFFSET + 4);
const _: () = assert!(sb_off::FREE_BLOCKS % 8 == 0 && sb_off::FREE_INODES % 8 == 0);
const _: () = assert!(sb_off::ORPHAN_HEAD % 8 == 0);
const _: () = assert!(
    sb_off::STATE < sb_off::FREE_BLOCKS
        && sb_off::FREE_BLOCKS < sb_off::FREE_INODES
        && sb_off::FREE_INODES < sb_off::ORPHAN_HEAD
        && sb_off::ORPHAN_HEAD < sb_off::CHECKSUM
);
const _: () = assert!(sb_off::CHECKSUM + 4 <= sb_off::JOURNAL_START);
const _: () = assert!(journal_off::CHECKSUM + 4 == JOURNAL_RECORD_HEADER);
const _: () = assert!(JOURNAL_RECORD_HEADER % 8 == 0);
const _: () = assert!(inode_off::INLINE + INLINE_AREA_SIZE <= inode_off::XATTR_BLOCK);
const _: () = assert!(inode_off::XATTR_BLOCK + 8 <= INODE_SIZE);
const _: () = assert!(xattr_off::USED + 4 == XATTR_BLOCK_HEADER_SIZE);
const _: () = assert!(BLOCK_SIZE - XATTR_BLOCK_HEADER_SIZE <= u16::MAX as usize);
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
    /// The journal is invalid.
    BadJournal(&'static str),
    /// An extended-attribute block is invalid.
    BadXattr(&'static str),
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
            Self::BadJournal(why) => write!(f, "bad journal: {why}"),
            Self::BadXattr(why) => write!(f, "bad extended attributes: {why}"),
        }
    }
}
