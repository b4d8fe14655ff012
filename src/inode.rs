// SPDX-License-Identifier: GPL-2.0

//! daxfs inodes: reading and writing them in the inode table, mapping their file blocks, and
//! releasing them.

use kernel::{
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

use crate::{
    dir::DirIndex,
    format,
    mount::{
        SbInfo,
        Why, //
    },
    vfs::{
        self,
        trace,
        ARef,
        InodeKind,
        InodeParams,
        Lookup,
        Pmem,
        SuperBlock, //
    },
    Daxfs,
};

/// What daxfs keeps with each VFS inode.
#[pin_data]
pub(crate) struct InodeInfo {
    /// The on-disk inode, written through on every change. Lock order: a VFS inode lock, then
    /// this, then the orphan list or the allocator; never two of these at once.
    #[pin]
    pub(crate) disk: Mutex<format::Inode>,
    /// A directory's index of its entries, once built; taken only under `disk`.
    #[pin]
    pub(crate) dir_index: Mutex<Option<DirIndex>>,
    /// A symlink's target with a trailing NUL, for the VFS's `i_link`.
    symlink: Option<KVec<u8>>,
}

impl InodeInfo {
    /// A symlink's target, NUL-terminated.
    pub(crate) fn symlink_target(&self) -> Option<&CStr> {
        CStr::from_bytes_with_nul(self.symlink.as_deref()?).ok()
    }
}

/// A daxfs VFS inode.
pub(crate) type Inode = vfs::Inode<Daxfs>;

/// Logs that inode `ino` is corrupted and returns the errno for it (EUCLEAN, as EFSCORRUPTED).
pub(crate) fn corrupted(ino: u64, err: format::FormatError) -> Error {
    pr_err!("inode {ino} is corrupted: {}; run fsck.daxfs\n", Why(err));
    EUCLEAN
}

/// The current time as an on-disk timestamp.
pub(crate) fn now() -> format::Timestamp {
    let (sec, nsec) = vfs::now();
    format::Timestamp { sec, nsec }
}

/// The VFS form of on-disk times (access, modification, change).
pub(crate) fn vfs_times(disk: &format::Inode) -> [(i64, u32); 3] {
    [disk.atime, disk.mtime, disk.ctime].map(|t| (t.sec, t.nsec))
}

/// Writes `disk` as inode `ino`. Durable after the next fence.
///
/// `next_orphan` is not taken from `disk`: an unlinked inode in use gets its link on the orphan
/// list, written under the list's lock so that it never undoes a change of the list (see
/// [`crate::orphan`]); any other inode gets 0.
pub(crate) fn write_disk_inode(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result {
    if disk.nlink == 0 && !disk.is_free() {
        let orphans = sbi.orphans.lock();
        let next_orphan = orphans.next_of(ino);
        write_raw_inode(
            sbi,
            ino,
            &format::Inode {
                next_orphan,
                ..*disk
            },
        )
    } else {
        write_raw_inode(
            sbi,
            ino,
            &format::Inode {
                next_orphan: 0,
                ..*disk
            },
        )
    }
}

/// Writes `disk` as inode `ino` exactly as given. Durable after the next fence.
pub(crate) fn write_raw_inode(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result {
    let (block, offset) = sbi.disk.inode_location(ino).ok_or(EUCLEAN)?;
    let mut buf = [0u8; format::INODE_SIZE];
    disk.encode(&mut buf);
    sbi.pmem
        .write(SbInfo::block_offset(block) + offset as u64, &buf)
}

/// Reads and checks inode `ino` from the inode table.
fn read_disk_inode(sbi: &SbInfo, ino: u64) -> Result<format::Inode> {
    read_inode_at(&sbi.pmem, &sbi.disk, ino)
}

/// Reads and checks inode `ino` from the inode table of the file system `sb` on `pmem`; an
/// inode that is free is an error too.
pub(crate) fn read_inode_at(
    pmem: &Pmem,
    sb: &format::Superblock,
    ino: u64,
) -> Result<format::Inode> {
    let (block, offset) = sb.inode_location(ino).ok_or(EUCLEAN)?;
    let mut buf = [0u8; format::INODE_SIZE];
    pmem.read(SbInfo::block_offset(block) + offset as u64, &mut buf)?;
    let disk = format::Inode::decode(&buf).map_err(|e| corrupted(ino, e))?;
    if disk.is_free() {
        pr_err!("inode {ino} is referenced but free; run fsck.daxfs\n");
        return Err(EUCLEAN);
    }
    disk.validate_fields(sb).map_err(|e| corrupted(ino, e))?;
    Ok(disk)
}

/// A symlink's target with a trailing NUL: inline, or in its one data block.
fn read_symlink_target(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result<KVec<u8>> {
    let len = usize::try_from(disk.size).map_err(|_| EUCLEAN)?;
    if len == 0 || len > format::MAX_SYMLINK_LEN {
        return Err(corrupted(
            ino,
            format::FormatError::BadInode("bad symlink size"),
        ));
    }
    let mut target = KVec::from_elem(0u8, len + 1, GFP_KERNEL)?;
    if let Some(inline) = disk.inline_symlink_target() {
        if inline.len() != len {
            return Err(corrupted(
                ino,
                format::FormatError::BadInode("bad symlink size"),
            ));
        }
        target[..len].copy_from_slice(inline);
    } else {
        let block = map_block(sbi, ino, disk, 0)?.ok_or(EUCLEAN)?;
        sbi.pmem
            .read(SbInfo::block_offset(block), &mut target[..len])?;
    }
    if target[..len].contains(&0) {
        return Err(corrupted(
            ino,
            format::FormatError::BadInode("NUL in symlink target"),
        ));
    }
    Ok(target)
}

/// The VFS inode for inode number `ino`, from the inode cache or read from the inode table.
pub(crate) fn iget(sb: &SuperBlock<Daxfs>, ino: u64) -> Result<ARef<Inode>> {
    let new = match vfs::iget(sb, ino)? {
        Lookup::Cached(inode) => return Ok(inode),
        Lookup::New(new) => new,
    };
    let sbi = sb.data();
    let disk = read_disk_inode(sbi, ino)?;
    let (kind, symlink) = match disk.file_type() {
        Some(format::FileType::Regular) => (InodeKind::Regular, None),
        Some(format::FileType::Directory) => (InodeKind::Directory, None),
        Some(format::FileType::Symlink) => (
            InodeKind::Symlink,
            Some(read_symlink_target(sbi, ino, &disk)?),
        ),
        Some(_) => (InodeKind::Special(disk.rdev), None),
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
        times: vfs_times(&disk),
    };
    new.init(
        params,
        try_pin_init!(InodeInfo {
            disk <- new_mutex!(disk),
            dir_index <- new_mutex!(None),
            symlink,
        }? Error),
    )
}

/// Calls `f` with each extent of `disk`, inline then overflow, and `overflow` with each
/// overflow block. Stops at the first error.
pub(crate) fn for_each_extent(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    mut f: impl FnMut(&format::Extent) -> Result,
    mut overflow: impl FnMut(u64) -> Result,
) -> Result {
    for index in 0..disk.inline_extent_count() {
        f(&disk.inline_extent(index).map_err(|e| corrupted(ino, e))?)?;
    }
    let mut left = u64::from(disk.extent_count).saturating_sub(disk.inline_extent_count() as u64);
    let mut next = disk.overflow_block;
    // Most files have no overflow block: allocate the buffer only for a chain.
    let mut block = KVec::new();
    if next != 0 && left > 0 {
        block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
    }
    // Each block holds at least one extent, so the walk ends within `extent_count` blocks even
    // on a corrupted chain.
    while next != 0 && left > 0 {
        if !sbi.disk.is_data_block(next) {
            return Err(corrupted(
                ino,
                format::FormatError::BadExtent("overflow block out of range"),
            ));
        }
        sbi.pmem.read(SbInfo::block_offset(next), &mut block)?;
        let header = format::ExtentBlockHeader::decode(&block).map_err(|e| corrupted(ino, e))?;
        for index in 0..header.count as usize {
            f(&format::ExtentBlockHeader::read_extent(&block, index)
                .map_err(|e| corrupted(ino, e))?)?;
        }
        overflow(next)?;
        left = left.saturating_sub(header.count.into());
        next = header.next;
    }
    Ok(())
}

/// The device block that file block `file_block` of `disk` maps to, `None` in a hole.
pub(crate) fn map_block(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    file_block: u64,
) -> Result<Option<u64>> {
    let mut found = None;
    // An error stops the walk early once the block is found.
    let walk = for_each_extent(
        sbi,
        ino,
        disk,
        |extent| match extent.map(file_block) {
            Some(block) => {
                found = Some(block);
                Err(EEXIST)
            }
            None => Ok(()),
        },
        |_| Ok(()),
    );
    match walk {
        Ok(()) => Ok(None),
        Err(e) if e == EEXIST && found.is_some() => Ok(found),
        Err(e) => Err(e),
    }
}

/// Stores the attributes the VFS holds for `inode` (after setattr).
pub(crate) fn write_inode(inode: &Inode) -> Result {
    let sbi = inode.super_block().data();
    let attrs = inode.attrs();
    let mut disk = inode.data().disk.lock();
    disk.mode = attrs.mode;
    disk.uid = attrs.uid;
    disk.gid = attrs.gid;
    let [a, m, c] = attrs
        .times
        .map(|(sec, nsec)| format::Timestamp { sec, nsec });
    (disk.atime, disk.mtime, disk.ctime) = (a, m, c);
    write_disk_inode(sbi, inode.ino(), &disk)?;
    sbi.pmem.fence();
    Ok(())
}

/// Releases an unlinked inode whose last reference is gone: it leaves the orphan list, then the
/// inode slot is freed, then its blocks (see the write orders in [`crate::orphan`] and
/// [`crate::alloc`]).
pub(crate) fn evict(inode: &Inode) {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    let disk = *inode.data().disk.lock();
    trace::evict(ino, disk.nlink, disk.blocks);
    let mut extents = KVec::new();
    let mut overflow_blocks = KVec::new();
    let collected = for_each_extent(
        sbi,
        ino,
        &disk,
        |extent| {
            extents
                .push((extent.physical, u64::from(extent.len)), GFP_KERNEL)
                .map_err(|_| ENOMEM)
        },
        |block| {
            overflow_blocks
                .push((block, 1), GFP_KERNEL)
                .map_err(|_| ENOMEM)
        },
    );
    let freed = collected
        .and_then(|()| sbi.remove_orphan(ino))
        .and_then(|()| sbi.free_inode(ino, disk.generation))
        .and_then(|()| {
            Iterator::chain(extents.iter(), overflow_blocks.iter())
                .try_for_each(|&(start, len)| sbi.free_blocks(ino, start, len))
        });
    if let Err(e) = freed {
        // The inode stays unreachable or its blocks leaked: fsck reclaims both.
        pr_err!("could not free inode {ino} ({e:?}); run fsck.daxfs\n");
    }
}
