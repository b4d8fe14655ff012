// SPDX-License-Identifier: GPL-2.0

//! daxfs inodes: reading them from the inode table and mapping their file blocks.

use kernel::prelude::*;

use crate::{
    format,
    mount::{
        SbInfo,
        Why, //
    },
    vfs::{
        self,
        ARef,
        InodeKind,
        InodeParams,
        Lookup,
        SuperBlock, //
    },
    Daxfs,
};

/// What daxfs keeps with each VFS inode.
pub(crate) struct InodeInfo {
    /// The on-disk inode as read.
    pub(crate) disk: format::Inode,
}

/// A daxfs VFS inode.
pub(crate) type Inode = vfs::Inode<Daxfs>;

/// Logs that inode `ino` is corrupted and returns the errno for it (EUCLEAN, as EFSCORRUPTED).
pub(crate) fn corrupted(ino: u64, err: format::FormatError) -> Error {
    pr_err!("inode {ino} is corrupted: {}; run fsck.daxfs\n", Why(err));
    EUCLEAN
}

/// Reads and checks inode `ino` from the inode table.
fn read_disk_inode(sbi: &SbInfo, ino: u64) -> Result<format::Inode> {
    let (block, offset) = sbi.disk.inode_location(ino).ok_or(EUCLEAN)?;
    let mut buf = [0u8; format::INODE_SIZE];
    sbi.pmem
        .read(block * format::BLOCK_SIZE_U64 + offset as u64, &mut buf)?;
    let disk = format::Inode::decode(&buf).map_err(|e| corrupted(ino, e))?;
    if disk.is_free() {
        pr_err!("inode {ino} is referenced but free; run fsck.daxfs\n");
        return Err(EUCLEAN);
    }
    disk.validate_fields(&sbi.disk)
        .map_err(|e| corrupted(ino, e))?;
    Ok(disk)
}

/// The VFS inode for inode number `ino`, from the inode cache or read from the inode table.
pub(crate) fn iget(sb: &SuperBlock<Daxfs>, ino: u64) -> Result<ARef<Inode>> {
    let new = match vfs::iget(sb, ino)? {
        Lookup::Cached(inode) => return Ok(inode),
        Lookup::New(new) => new,
    };
    let disk = read_disk_inode(sb.data(), ino)?;
    let kind = match disk.file_type() {
        Some(format::FileType::Regular) => InodeKind::Regular,
        Some(format::FileType::Directory) => InodeKind::Directory,
        Some(format::FileType::Symlink) => InodeKind::Symlink,
        Some(_) => InodeKind::Special(disk.rdev),
        None => return Err(EUCLEAN),
    };
    let params = InodeParams {
        kind,
        mode: disk.mode,
        nlink: disk.nlink,
        uid: disk.uid,
        gid: disk.gid,
        size: disk.size,
        allocated_bytes: disk.blocks * format::BLOCK_SIZE_U64,
        times: [disk.atime, disk.mtime, disk.ctime].map(|t| (t.sec, t.nsec)),
    };
    new.init(params, InodeInfo { disk })
}

/// The device block that file block `file_block` of `disk` maps to, `None` in a hole. Looks
/// through the inline extents, then the overflow chain.
pub(crate) fn map_block(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    file_block: u64,
) -> Result<Option<u64>> {
    for index in 0..disk.inline_extent_count() {
        let extent = disk.inline_extent(index).map_err(|e| corrupted(ino, e))?;
        if let Some(block) = extent.map(file_block) {
            return Ok(Some(block));
        }
    }
    let mut left = u64::from(disk.extent_count).saturating_sub(disk.inline_extent_count() as u64);
    let mut next = disk.overflow_block;
    let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
    // Each block holds at least one extent, so the walk ends within `extent_count` blocks even
    // on a corrupted chain.
    while next != 0 && left > 0 {
        if !sbi.disk.is_data_block(next) {
            return Err(corrupted(
                ino,
                format::FormatError::BadExtent("overflow block out of range"),
            ));
        }
        sbi.pmem.read(next * format::BLOCK_SIZE_U64, &mut block)?;
        let header = format::ExtentBlockHeader::decode(&block).map_err(|e| corrupted(ino, e))?;
        for index in 0..header.count as usize {
            let extent = format::ExtentBlockHeader::read_extent(&block, index)
                .map_err(|e| corrupted(ino, e))?;
            if let Some(device_block) = extent.map(file_block) {
                return Ok(Some(device_block));
            }
        }
        left = left.saturating_sub(header.count.into());
        next = header.next;
    }
    Ok(None)
}
