// SPDX-License-Identifier: GPL-2.0

//! daxfs inodes: instantiating them from the inode table, storing the attributes the VFS holds,
//! and releasing them.

use kernel::{
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

use crate::{
    dir::DirIndex,
    extents::{
        self,
        ExtentTree,
        Extents, //
    },
    format,
    meta::{
        block_offset,
        blocks_to_bytes,
        corrupted,
        report_corruption, //
    },
    park,
    sb_info::SbInfo,
    vfs::{
        self,
        trace,
        ARef,
        Attributes,
        DaxMode,
        InodeKind,
        InodeParams,
        Lookup,
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
    /// The extents of the file, once built ([`extents::with_tree`]); taken only under `disk`,
    /// never with `dir_index`.
    #[pin]
    pub(crate) extents: Mutex<Option<ExtentTree>>,
    /// How many of its pinned folios a truncate left parked past its end ([`crate::park`]).
    pub(crate) parked: park::InodeParked,
}

/// A daxfs VFS inode.
pub(crate) type Inode = vfs::Inode<Daxfs>;

/// The invalidate lock of a daxfs inode, held exclusively.
pub(crate) type InvalidateLock<'a> = vfs::InvalidateExclusive<'a, Daxfs>;

/// The current time for the times of `inode`, as an on-disk timestamp (see [`vfs::now`]).
pub(crate) fn now(inode: &Inode) -> format::Timestamp {
    let (sec, nsec) = vfs::now(inode);
    format::Timestamp { sec, nsec }
}

/// The VFS form of on-disk times (access, modification, change).
pub(crate) fn vfs_times(disk: &format::Inode) -> [(i64, u32); 3] {
    [disk.atime, disk.mtime, disk.ctime].map(|t| (t.sec, t.nsec))
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
        let block = extents::map_block(sbi, ino, disk, 0)?.ok_or(EUCLEAN)?;
        sbi.pmem.read(block_offset(block), &mut target[..len])?;
    }
    if target[..len].contains(&0) {
        return Err(corrupted(
            ino,
            format::FormatError::BadInode("NUL in symlink target"),
        ));
    }
    Ok(target)
}

/// How an inode number was reached, which decides what an inode without links means.
#[derive(Clone, Copy)]
enum Reach {
    /// Through a name (a directory entry, the root, a new inode): it has links.
    Name,
    /// From the orphan list: it has none.
    Orphan,
    /// Through a file handle of this generation.
    Handle(u32),
    /// As the parent a directory stores, for a file handle's path.
    Parent,
}

/// The VFS inode for inode number `ino`, reached through a name (a directory entry, the root, a
/// new inode), from the inode cache or read from the inode table.
///
/// A named inode has links. One without is on the orphan list or damaged, and dropping it
/// would free a file that a directory still names: EUCLEAN, as ext4 answers ESTALE, before the
/// inode is live, so that failing it frees nothing.
pub(crate) fn iget(sb: &SuperBlock<Daxfs>, ino: u64) -> Result<ARef<Inode>> {
    iget_reached(sb, ino, Reach::Name)
}

/// The VFS inode of the orphan `ino` (it has no links), to let it go.
pub(crate) fn iget_orphan(sb: &SuperBlock<Daxfs>, ino: u64) -> Result<ARef<Inode>> {
    iget_reached(sb, ino, Reach::Orphan)
}

/// The VFS inode of a file handle of inode `ino` and `generation`.
///
/// As in ext4 and XFS, a handle stays good while its inode lives, also unlinked while it is
/// still open (cached); it is stale (ESTALE) once the number is out of range, the slot is free
/// or reused under another generation, or the inode has no links and is not cached (an orphan
/// whose blocks are being freed).
pub(crate) fn iget_handle(
    sb: &SuperBlock<Daxfs>,
    ino: u64,
    generation: u32,
) -> Result<ARef<Inode>> {
    if !sb.data().disk.is_valid_ino(ino) {
        return Err(ESTALE);
    }
    iget_reached(sb, ino, Reach::Handle(generation))
}

/// The VFS inode of the parent `ino` that a directory stores, to reconnect a file handle's
/// dentry to the root: ESTALE if it is free or has no links (the directory moved meanwhile, and
/// its old parent was removed).
pub(crate) fn iget_parent(sb: &SuperBlock<Daxfs>, ino: u64) -> Result<ARef<Inode>> {
    iget_reached(sb, ino, Reach::Parent)
}

/// Logs that inode `ino` is named but has no links, and returns EUCLEAN.
fn unlinked_but_named(ino: u64) -> Error {
    report_corruption!("inode {ino} is named in a directory but has no links; run fsck.daxfs\n");
    EUCLEAN
}

/// [`iget`], [`iget_orphan`], [`iget_handle`] or [`iget_parent`], as `reach` says.
fn iget_reached(sb: &SuperBlock<Daxfs>, ino: u64, reach: Reach) -> Result<ARef<Inode>> {
    let new = match vfs::iget(sb, ino)? {
        Lookup::Cached(inode) => {
            let disk = inode.data().disk.lock();
            match reach {
                // Cached without links: unlinked while open, so no entry may name it any more.
                Reach::Name if disk.nlink == 0 => return Err(unlinked_but_named(ino)),
                Reach::Handle(generation) if disk.generation != generation => return Err(ESTALE),
                Reach::Parent if disk.nlink == 0 => return Err(ESTALE),
                _ => {}
            }
            drop(disk);
            return Ok(inode);
        }
        Lookup::New(new) => new,
    };
    let sbi = sb.data();
    let disk = match reach {
        Reach::Handle(_) | Reach::Parent => {
            // No directory lock orders this read after the transaction that wrote the inode.
            let disk = sbi.read_between_transactions(|| sbi.read_inode_if_used(ino))?;
            match (disk, reach) {
                (Some(disk), Reach::Handle(generation))
                    if disk.generation == generation && disk.nlink != 0 =>
                {
                    disk
                }
                (Some(disk), Reach::Parent) if disk.nlink != 0 => disk,
                _ => return Err(ESTALE),
            }
        }
        Reach::Name | Reach::Orphan => {
            let disk = sbi.read_inode(ino)?;
            if matches!(reach, Reach::Name) && disk.nlink == 0 {
                return Err(unlinked_but_named(ino));
            }
            disk
        }
    };
    let kind = match disk.file_type() {
        Some(format::FileType::Regular) => InodeKind::Regular,
        Some(format::FileType::Directory) => InodeKind::Directory,
        Some(format::FileType::Symlink) => {
            InodeKind::Symlink(read_symlink_target(sbi, ino, &disk)?)
        }
        Some(_) => InodeKind::Special(disk.rdev),
        None => return Err(EUCLEAN),
    };
    let params = InodeParams {
        kind,
        mode: disk.mode,
        nlink: disk.nlink,
        generation: disk.generation,
        uid: disk.uid,
        gid: disk.gid,
        size: disk.size,
        allocated_bytes: blocks_to_bytes(disk.blocks),
        times: vfs_times(&disk),
        attributes: attributes_of(&disk),
        dax: sbi.uses_dax(disk.flags & format::INODE_FLAG_DAX != 0),
        // A damaged pointer is not "none": reading the ACLs reports it.
        no_acls: disk.xattr_block == 0,
    };
    new.init(
        params,
        try_pin_init!(InodeInfo {
            disk <- new_mutex!(disk),
            dir_index <- new_mutex!(None),
            extents <- new_mutex!(None),
            parked: park::InodeParked::new(),
        }? Error),
    )
}

/// Stores the attributes the VFS holds for `inode` (after setattr, and when the VFS dirties it).
pub(crate) fn write_inode(inode: &Inode) -> Result {
    let sbi = inode.super_block().data();
    let tx = sbi.begin()?;
    let mut disk = inode.data().disk.lock();
    take_attrs(inode, &mut disk);
    let written = sbi.write_inode(&tx, inode.ino(), &disk);
    drop(disk);
    tx.end(written)
}

/// Each attribute flag, as a field of `attributes`, with its on-disk bit: the one table that
/// [`attributes_of`] and [`set_attributes`] translate with.
fn attribute_bits(attributes: &mut Attributes) -> [(&mut bool, u16); 6] {
    [
        (&mut attributes.immutable, format::INODE_FLAG_IMMUTABLE),
        (&mut attributes.append, format::INODE_FLAG_APPEND),
        (&mut attributes.noatime, format::INODE_FLAG_NOATIME),
        (&mut attributes.sync, format::INODE_FLAG_SYNC),
        (&mut attributes.nodump, format::INODE_FLAG_NODUMP),
        (&mut attributes.dax, format::INODE_FLAG_DAX),
    ]
}

/// The attribute flags stored in `disk`.
pub(crate) fn attributes_of(disk: &format::Inode) -> Attributes {
    let mut attributes = Attributes::default();
    for (field, bit) in attribute_bits(&mut attributes) {
        *field = disk.flags & bit != 0;
    }
    attributes
}

/// Stores `attributes` as the attribute flags of the regular file or directory `inode`, with
/// the attributes the VFS holds once `touch` has set its change time, in one transaction. Any
/// flag on an image without [`format::FEATURE_INCOMPAT_INODE_ATTRIBUTES`] is `EOPNOTSUPP`. A changed DAX flag
/// never changes `S_DAX` of the live inode: under `dax=inode`, once it is stored, a regular
/// file is marked to be evicted at its last close, and its next instantiation takes the new
/// mode (as in ext4 and XFS); under `dax=always` and `dax=never` it is stored only.
pub(crate) fn set_attributes(inode: &Inode, attributes: Attributes, touch: &dyn Fn()) -> Result {
    let sbi = inode.super_block().data();
    let mut attributes = attributes;
    let flags = attribute_bits(&mut attributes)
        .into_iter()
        .filter(|(set, _)| **set)
        .fold(0, |flags, (_, bit)| flags | bit);
    if flags != 0 && sbi.disk.feature_incompat & format::FEATURE_INCOMPAT_INODE_ATTRIBUTES == 0 {
        return Err(EOPNOTSUPP);
    }
    let tx = sbi.begin()?;
    let mut disk = inode.data().disk.lock();
    let old_flags = disk.flags;
    disk.flags = (disk.flags & !format::INODE_FLAGS_ATTRIBUTES) | flags;
    touch();
    take_attrs(inode, &mut disk);
    let dax_changed = (disk.flags ^ old_flags) & format::INODE_FLAG_DAX != 0;
    let regular = disk.file_type() == Some(format::FileType::Regular);
    let written = sbi.write_inode(&tx, inode.ino(), &disk);
    drop(disk);
    tx.end(written)?;
    if dax_changed && regular && sbi.dax == DaxMode::Inode {
        inode.mark_dontcache();
    }
    Ok(())
}

/// Copies into `disk` the attributes the VFS holds for `inode`: mode, owner and times.
pub(crate) fn take_attrs(inode: &Inode, disk: &mut format::Inode) {
    let attrs = inode.attrs();
    disk.mode = attrs.mode;
    disk.uid = attrs.uid;
    disk.gid = attrs.gid;
    let [a, m, c] = attrs
        .times
        .map(|(sec, nsec)| format::Timestamp { sec, nsec });
    (disk.atime, disk.mtime, disk.ctime) = (a, m, c);
}

/// Releases an unlinked inode whose last reference is gone, in one transaction: it leaves the
/// orphan list, its inode slot is freed, then its blocks.
pub(crate) fn evict(inode: &Inode) {
    let sbi = inode.super_block().data();
    let ino = inode.ino();
    let tx = match sbi.begin() {
        Ok(tx) => tx,
        // Shut down: it stays on the orphan list, for the next mount to free.
        Err(_) => return,
    };
    let disk = *inode.data().disk.lock();
    trace::evict(ino, disk.nlink, disk.blocks);
    // A file of a million extents has as many runs: not one kmalloc's worth.
    let mut runs = KVVec::new();
    // A damaged pointer is not followed: that block leaks, for fsck to reclaim.
    let xattr_block = crate::xattr::xattr_block(sbi, ino, &disk)
        .ok()
        .flatten()
        .map(|block| (block, 1));
    let extent_runs = Extents::new(sbi, ino, &disk).map(|item| {
        item.map(|item| match item {
            extents::Item::Extent(extent) => (extent.physical, u64::from(extent.len)),
            extents::Item::Overflow(block) => (block, 1),
        })
    });
    let collected = Iterator::chain(extent_runs, xattr_block.map(Ok))
        .try_for_each(|run| runs.push(run?, GFP_KERNEL).map_err(|_| ENOMEM));
    let freed = collected
        .and_then(|()| sbi.orphans.remove(&tx, ino))
        .and_then(|()| sbi.alloc.free_inode(&tx, ino, disk.generation))
        .and_then(|()| {
            runs.iter()
                .try_for_each(|&(start, len)| sbi.alloc.free_blocks(&tx, ino, start, len))
        });
    let freed = tx.end(freed);
    if let Err(e) = freed {
        // The inode stays unreachable or its blocks leaked: fsck reclaims both.
        pr_err!("could not free inode {ino} ({e:?}); run fsck.daxfs\n");
    }
}
