// SPDX-License-Identifier: GPL-2.0

//! Metadata on persistent memory: where blocks and inode records are, reading and checking an
//! inode record, writing one, and reporting corruption.
//!
//! A leaf below the allocator, the orphan list and the per-mount state, which all read or write
//! inode records.

use kernel::prelude::*;

use crate::{
    format,
    journal::Tx,
    vfs::Pmem, //
};

/// Byte offset of block `block` on the device.
pub(crate) fn block_offset(block: u64) -> u64 {
    block * format::BLOCK_SIZE_U64
}

/// Bytes of `blocks` blocks, as the VFS counts a file's allocation. Block counts from the disk
/// are validated against the size of the data area, so this never saturates for a valid inode.
pub(crate) fn blocks_to_bytes(blocks: u64) -> u64 {
    blocks.saturating_mul(format::BLOCK_SIZE_U64)
}

/// Blocks mapped by `extents`, which are validated (so the sum never saturates).
pub(crate) fn mapped_blocks(extents: &[format::Extent]) -> u64 {
    extents
        .iter()
        .fold(0, |sum: u64, e| sum.saturating_add(u64::from(e.len)))
}

/// Byte offset on the device of the record of inode `ino` in the inode table of `sb`.
fn inode_offset(sb: &format::Superblock, ino: u64) -> Result<u64> {
    let (block, offset) = sb.inode_location(ino).ok_or(EUCLEAN)?;
    // CAST: an offset inside a block.
    Ok(block_offset(block) + offset as u64)
}

/// A format error, displayable in kernel messages (the kernel has its own `Display` trait).
pub(crate) struct Why(pub(crate) format::FormatError);

impl kernel::fmt::Display for Why {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// Logs a report of corrupted metadata with `pr_err!`, rate limited with all other such reports.
macro_rules! report_corruption {
    ($($arg:tt)*) => {
        if $crate::vfs::ratelimit::corruption_report_allowed() {
            ::kernel::pr_err!($($arg)*);
        }
    };
}
pub(crate) use report_corruption;

/// Logs that inode `ino` is corrupted (rate limited) and returns the errno for it (EUCLEAN, as
/// EFSCORRUPTED).
pub(crate) fn corrupted(ino: u64, err: format::FormatError) -> Error {
    report_corruption!("inode {ino} is corrupted: {}; run fsck.daxfs\n", Why(err));
    EUCLEAN
}

/// Reads the record of inode `ino` from the inode table of `sb` on `pmem`, undecoded (a free slot
/// may be all zeros, or keep the generation of its last user).
pub(crate) fn read_inode_record(
    pmem: &Pmem,
    sb: &format::Superblock,
    ino: u64,
) -> Result<[u8; format::INODE_SIZE]> {
    let mut buf = [0u8; format::INODE_SIZE];
    pmem.read(inode_offset(sb, ino)?, &mut buf)?;
    Ok(buf)
}

/// Reads and checks inode `ino` from the inode table of `sb` on `pmem`; an inode that is free is
/// an error too.
pub(crate) fn read_inode(pmem: &Pmem, sb: &format::Superblock, ino: u64) -> Result<format::Inode> {
    read_inode_if_used(pmem, sb, ino)?.ok_or_else(|| {
        report_corruption!("inode {ino} is referenced but free; run fsck.daxfs\n");
        EUCLEAN
    })
}

/// Reads and checks inode `ino` from the inode table of `sb` on `pmem`: `None` if it is free.
pub(crate) fn read_inode_if_used(
    pmem: &Pmem,
    sb: &format::Superblock,
    ino: u64,
) -> Result<Option<format::Inode>> {
    let buf = read_inode_record(pmem, sb, ino)?;
    let disk = format::Inode::decode(&buf).map_err(|e| corrupted(ino, e))?;
    if disk.is_free() {
        return Ok(None);
    }
    disk.validate_fields(sb)
        .and_then(|_| disk.validate_link_count())
        .map_err(|e| corrupted(ino, e))?;
    Ok(Some(disk))
}

/// Writes `disk` exactly as given as inode `ino` in the inode table of `sb`, in `tx`.
pub(crate) fn write_inode_record(
    tx: &Tx<'_>,
    sb: &format::Superblock,
    ino: u64,
    disk: &format::Inode,
) -> Result {
    let mut buf = [0u8; format::INODE_SIZE];
    disk.encode(&mut buf);
    tx.write(inode_offset(sb, ino)?, &buf)
}
