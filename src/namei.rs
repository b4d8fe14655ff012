// SPDX-License-Identifier: GPL-2.0

//! Namespace operations, the inode operations of directories: lookup, create, link, unlink, rmdir,
//! rename.
//!
//! The VFS holds the directories' and the victims' `i_rwsem`; each operation is one transaction
//! ([`crate::journal`]), so a crash leaves it whole or undone, and each on-disk inode is changed
//! under its own lock, one at a time. Order within the transaction:
//! - create: the new inode, then its directory entry, then the parent's link count and times;
//! - link: the raised link count, then the entry;
//! - unlink, rmdir: the entry goes first, then the link count drops; an inode without links
//!   joins the orphan list ([`crate::orphan`]) and is released when its last user closes it;
//! - rename: the new name first (replacing a target's entry in place), then the old name goes
//!   (or, with `RENAME_WHITEOUT`, names a whiteout inode made first), then link counts and the
//!   moved directory's parent;
//! - exchange (`RENAME_EXCHANGE`): both entries are rewritten in place, then the directories'
//!   link counts and the moved directories' parents.

use kernel::prelude::*;

use crate::{
    dir, format,
    inode::{
        self,
        now,
        vfs_times,
        Inode, //
    },
    journal::Tx,
    meta::{
        block_offset,
        report_corruption, //
    },
    vfs::{
        self,
        ARef,
        NewNode,
        NodeKind, //
    },
    xattr::InitialXattrs,
    Daxfs,
};

/// Checks a new name: ENAMETOOLONG when too long, EINVAL when otherwise unusable.
fn check_name(name: &[u8]) -> Result {
    if name.len() > format::MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    format::validate_name(name).map_err(|_| EINVAL)
}

/// The on-disk type of an inode.
fn file_type(disk: &format::Inode) -> Result<format::FileType> {
    disk.file_type().ok_or(EUCLEAN)
}

/// Writes `disk` as the inode of `inode`, in `tx`, and updates what the VFS sees of it.
fn store(tx: &Tx<'_>, inode: &Inode, disk: &format::Inode) -> Result {
    tx.sbi().write_inode(tx, inode.ino(), disk)?;
    show(inode, disk);
    Ok(())
}

/// Updates what the VFS sees of `inode` after `disk` was written.
fn show(inode: &Inode, disk: &format::Inode) {
    inode.set_nlink(disk.nlink);
    inode.set_times(vfs_times(disk));
}

/// Checks that the directory `dir` (on disk `disk`) may lose `links` links to subdirectories
/// that go: it keeps its entry and its `.`. A smaller count is damage, and using it would leave
/// a named directory with one link, or none (and so freed at its last close).
fn check_subdir_links(dir: &Inode, disk: &format::Inode, links: u32) -> Result {
    if links > 0 && disk.nlink < links.saturating_add(2) {
        report_corruption!(
            "directory {} has {} links, too few for its subdirectories; run fsck.daxfs\n",
            dir.ino(),
            disk.nlink
        );
        return Err(EUCLEAN);
    }
    Ok(())
}

/// Checks that the directory `dir` (on disk `disk`) may gain `links` links (positive: a
/// subdirectory moves in) or lose them (negative, see [`check_subdir_links`]).
fn check_link_change(dir: &Inode, disk: &format::Inode, links: i32) -> Result {
    if links > 0 && disk.nlink.saturating_add(links.unsigned_abs()) > format::MAX_LINKS {
        return Err(EMLINK);
    }
    check_subdir_links(dir, disk, links.min(0).unsigned_abs())
}

/// The slot of the entry `name` of `dir` (on disk `disk`), which the VFS says names `inode`:
/// `ENOENT` if there is none, `EUCLEAN` if it names another inode.
fn slot_of(dir: &Inode, disk: &format::Inode, name: &[u8], inode: &Inode) -> Result<u64> {
    let found = dir::find(dir, disk, name)?.ok_or(ENOENT)?;
    if found.ino != inode.ino() {
        report_corruption!(
            "entry of directory {} does not name inode {}; run fsck.daxfs\n",
            dir.ino(),
            inode.ino()
        );
        return Err(EUCLEAN);
    }
    Ok(found.slot)
}

/// Removes `name` from `dir`, which must name `inode`, and changes the link count of `dir` by
/// `parent_links` (-1 when a subdirectory goes); returns nothing else to do for the caller but
/// drop the link. With `replacement`, the entry names that inode instead of going.
fn remove_name(
    tx: &Tx<'_>,
    dir: &Inode,
    name: &[u8],
    inode: &Inode,
    parent_links: i32,
    replacement: Option<&format::DirEntry>,
) -> Result {
    let mut dir_disk = dir.data().disk.lock();
    check_subdir_links(dir, &dir_disk, parent_links.unsigned_abs())?;
    let slot = slot_of(dir, &dir_disk, name, inode)?;
    match replacement {
        Some(entry) => dir::replace_entry(tx, dir, &dir_disk, slot, entry)?,
        None => dir::remove_entry(tx, dir, &dir_disk, slot, name)?,
    }
    let t = now(dir);
    dir_disk.mtime = t;
    dir_disk.ctime = t;
    dir_disk.nlink = dir_disk.nlink.saturating_add_signed(parent_links);
    store(tx, dir, &dir_disk)
}

/// Sets the link count of `inode` to `nlink(old)` and its change time to now. An inode left
/// without links goes on the orphan list until its last user lets it go.
fn drop_links(tx: &Tx<'_>, inode: &Inode, nlink: impl FnOnce(u32) -> u32) -> Result {
    let mut disk = inode.data().disk.lock();
    let was_linked = disk.nlink != 0;
    disk.nlink = nlink(disk.nlink);
    disk.ctime = now(inode);
    if was_linked && disk.nlink == 0 {
        tx.sbi().orphans.add(tx, inode.ino(), &disk)?;
        show(inode, &disk);
        return Ok(());
    }
    store(tx, inode, &disk)
}

/// The on-disk inode of `node`, new in the directory `dir` (on disk `dir_disk`) at time `t`:
/// owner, mode, links and times; a special file's device number. The caller adds the rest of
/// a symlink.
fn new_inode(
    dir: &Inode,
    dir_disk: &format::Inode,
    node: &NewNode<'_>,
    t: format::Timestamp,
) -> format::Inode {
    let is_dir = matches!(node.kind, NodeKind::Directory);
    // A set-group-ID directory passes its group on, and the bit to subdirectories.
    let (mut mode, mut gid) = (node.mode, node.gid);
    if dir_disk.mode & format::S_ISGID != 0 {
        gid = dir_disk.gid;
        if is_dir {
            mode |= format::S_ISGID;
        }
    }
    // Regular files and directories inherit the directory's attribute flags that pass on.
    let inherits = matches!(node.kind, NodeKind::Regular | NodeKind::Directory);
    format::Inode {
        mode,
        flags: if inherits {
            dir_disk.flags & format::INODE_FLAGS_INHERITED
        } else {
            0
        },
        uid: node.uid,
        gid,
        nlink: if is_dir { 2 } else { 1 },
        atime: t,
        mtime: t,
        ctime: t,
        btime: t,
        parent: if is_dir { dir.ino() } else { 0 },
        rdev: match node.kind {
            NodeKind::Special(rdev) => rdev,
            _ => 0,
        },
        ..format::Inode::FREE
    }
}

/// Whether the directory `inode` has no entries.
fn dir_is_empty(inode: &Inode) -> Result<bool> {
    let disk = inode.data().disk.lock();
    dir::is_empty(inode, &disk)
}

/// The namespace operations of daxfs directories (`inode_operations`).
pub(crate) struct DirInodeOps;

impl vfs::dir::InodeOperations<Daxfs> for DirInodeOps {
    /// Looks `name` up in `dir`.
    fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<ARef<Inode>>> {
        if name.len() > format::MAX_NAME_LEN {
            return Err(ENAMETOOLONG);
        }
        let found = {
            let disk = dir.data().disk.lock();
            dir::find(dir, &disk, name)?
        };
        found
            .map(|f| inode::iget(dir.super_block(), f.ino))
            .transpose()
    }

    /// Creates `node` as `name` in `dir`.
    fn create(dir: &Inode, name: &[u8], node: NewNode<'_>) -> Result<ARef<Inode>> {
        check_name(name)?;
        let sb = dir.super_block();
        let sbi = sb.data();
        let is_dir = matches!(node.kind, NodeKind::Directory);
        let t = now(dir);
        let xattrs = InitialXattrs::new(&node.acls)?;
        let tx = sbi.begin()?;
        let created = (|| {
            let mut dir_disk = dir.data().disk.lock();
            if dir::find(dir, &dir_disk, name)?.is_some() {
                return Err(EEXIST);
            }
            if is_dir && dir_disk.nlink >= format::MAX_LINKS {
                return Err(EMLINK);
            }
            let mut new = new_inode(dir, &dir_disk, &node, t);
            let mut target_block = None;
            match node.kind {
                NodeKind::Symlink(target) if target.len() > format::MAX_SYMLINK_LEN => {
                    return Err(ENAMETOOLONG)
                }
                NodeKind::Symlink(target) if target.len() <= format::MAX_INLINE_SYMLINK => {
                    new.set_inline_symlink_target(target).map_err(|_| EINVAL)?;
                }
                NodeKind::Symlink(target) => {
                    let block = sbi.alloc.alloc_block(&tx, 0, None)?;
                    target_block = Some(block);
                    tx.write(block_offset(block), target)?;
                    new.size = target.len() as u64;
                    new.extent_count = 1;
                    new.blocks = 1;
                    new.set_inline_extent(
                        0,
                        &format::Extent {
                            logical: 0,
                            physical: block,
                            len: 1,
                            unwritten: false,
                        },
                    )
                    .map_err(|_| EINVAL)?;
                }
                NodeKind::Special(_) | NodeKind::Regular | NodeKind::Directory => {}
            }
            // What a failure after an allocation gives back: the blocks the new inode had.
            let free_all = |blocks: [Option<u64>; 2]| {
                blocks
                    .into_iter()
                    .flatten()
                    .try_for_each(|b| sbi.alloc.free_blocks(&tx, 0, b, 1))
            };
            let xattr_block = match xattrs.alloc(&tx) {
                Ok(block) => block,
                Err(e) => {
                    free_all([target_block, None])?;
                    return Err(e);
                }
            };
            let undo_blocks = || free_all([target_block, xattr_block]);
            new.xattr_block = xattr_block.unwrap_or(0);
            let ino = match sbi.alloc.alloc_inode(&tx, &mut new) {
                Ok(ino) => ino,
                Err(e) => {
                    undo_blocks()?;
                    return Err(e);
                }
            };
            xattrs.write(&tx, ino, xattr_block)?;
            let entry = format::DirEntry::new(ino, file_type(&new)?, name).map_err(|_| EINVAL)?;
            if let Err(e) = dir::add_entry(&tx, dir, &mut dir_disk, &entry) {
                sbi.alloc.free_inode(&tx, ino, new.generation)?;
                undo_blocks()?;
                return Err(e);
            }
            dir_disk.mtime = t;
            dir_disk.ctime = t;
            if is_dir {
                dir_disk.nlink += 1;
            }
            store(&tx, dir, &dir_disk)?;
            Ok(ino)
        })();
        // Committed before the new inode is looked up: nothing else waits with the journal held.
        let ino = tx.end(created)?;
        inode::iget(sb, ino)
    }

    /// Creates the unnamed regular file `node` for `dir` (`O_TMPFILE`): an inode without links,
    /// on the orphan list from the start, so that a crash before `linkat` names it frees it.
    fn tmpfile(dir: &Inode, node: NewNode<'_>) -> Result<ARef<Inode>> {
        let sb = dir.super_block();
        let sbi = sb.data();
        let t = now(dir);
        let xattrs = InitialXattrs::new(&node.acls)?;
        let tx = sbi.begin()?;
        let created = (|| {
            let mut new = new_inode(dir, &dir.data().disk.lock(), &node, t);
            new.nlink = 0;
            let xattr_block = xattrs.alloc(&tx)?;
            let undo_block = || xattr_block.map_or(Ok(()), |b| sbi.alloc.free_blocks(&tx, 0, b, 1));
            new.xattr_block = xattr_block.unwrap_or(0);
            let ino = match sbi.alloc.alloc_inode(&tx, &mut new) {
                Ok(ino) => ino,
                Err(e) => {
                    undo_block()?;
                    return Err(e);
                }
            };
            xattrs.write(&tx, ino, xattr_block)?;
            if let Err(e) = sbi.orphans.add(&tx, ino, &new) {
                sbi.alloc.free_inode(&tx, ino, new.generation)?;
                undo_block()?;
                return Err(e);
            }
            Ok(ino)
        })();
        let ino = tx.end(created)?;
        inode::iget_orphan(sb, ino)
    }

    /// Adds `name` in `dir` for `inode`. An inode without links (an `O_TMPFILE` file) leaves
    /// the orphan list in the same transaction.
    fn link(dir: &Inode, name: &[u8], inode: &Inode) -> Result {
        check_name(name)?;
        let sbi = dir.super_block().data();
        let t = now(dir);
        let tx = sbi.begin()?;
        let result = (|| {
            let linked = {
                let mut disk = inode.data().disk.lock();
                if disk.nlink >= format::MAX_LINKS {
                    return Err(EMLINK);
                }
                if disk.nlink == 0 {
                    sbi.orphans.remove(&tx, inode.ino())?;
                }
                disk.nlink += 1;
                disk.ctime = t;
                store(&tx, inode, &disk).and_then(|()| file_type(&disk))
            };
            let added = linked.and_then(|ftype| {
                let mut dir_disk = dir.data().disk.lock();
                if dir::find(dir, &dir_disk, name)?.is_some() {
                    return Err(EEXIST);
                }
                let entry = format::DirEntry::new(inode.ino(), ftype, name).map_err(|_| EINVAL)?;
                dir::add_entry(&tx, dir, &mut dir_disk, &entry)?;
                dir_disk.mtime = t;
                dir_disk.ctime = t;
                store(&tx, dir, &dir_disk)
            });
            if let Err(e) = added {
                // Back to the links it had: an `O_TMPFILE` file returns to the orphan list. The
                // caller hears why the link failed, not why the undo did too.
                if let Err(undo) = drop_links(&tx, inode, |n| n.saturating_sub(1)) {
                    report_corruption!(
                        "inode {}: link failed ({e:?}) and its link count could not be restored \
                     ({undo:?}); run fsck.daxfs\n",
                        inode.ino()
                    );
                }
                return Err(e);
            }
            Ok(())
        })();
        tx.end(result)
    }

    /// Removes the entry `name` of the non-directory `inode` from `dir`.
    fn unlink(dir: &Inode, name: &[u8], inode: &Inode) -> Result {
        let tx = dir.super_block().data().begin()?;
        let result = remove_name(&tx, dir, name, inode, 0, None)
            .and_then(|()| drop_links(&tx, inode, |n| n.saturating_sub(1)));
        tx.end(result)
    }

    /// Removes the empty directory `inode`, named `name` in `dir`.
    fn rmdir(dir: &Inode, name: &[u8], inode: &Inode) -> Result {
        let tx = dir.super_block().data().begin()?;
        let result = (|| {
            if !dir_is_empty(inode)? {
                return Err(ENOTEMPTY);
            }
            remove_name(&tx, dir, name, inode, -1, None)?;
            drop_links(&tx, inode, |_| 0)
        })();
        tx.end(result)
    }

    /// Moves `inode` from `old_name` in `old_dir` to `new_name` in `new_dir`, replacing `target`;
    /// with `whiteout`, a new whiteout inode takes the old name.
    fn rename(
        old_dir: &Inode,
        old_name: &[u8],
        inode: &Inode,
        new_dir: &Inode,
        new_name: &[u8],
        target: Option<&Inode>,
        whiteout: Option<NewNode<'_>>,
    ) -> Result {
        check_name(new_name)?;
        let sbi = old_dir.super_block().data();
        let tx = sbi.begin()?;
        let result = (|| {
            let ftype = file_type(&inode.data().disk.lock())?;
            let is_dir = ftype == format::FileType::Directory;
            let same_dir = old_dir.ino() == new_dir.ino();
            if let Some(target) = target {
                if file_type(&target.data().disk.lock())? == format::FileType::Directory
                    && !dir_is_empty(target)?
                {
                    return Err(ENOTEMPTY);
                }
            }
            let target_is_dir = target.is_some() && is_dir;
            let t = now(old_dir);
            // The directories' link counts change with a directory moved out of one or replaced in
            // the other: check before any name changes that the counts allow it.
            let leaves_old_dir = is_dir && !same_dir;
            let new_dir_links = i32::from(leaves_old_dir) - i32::from(target_is_dir);
            if leaves_old_dir {
                check_subdir_links(old_dir, &old_dir.data().disk.lock(), 1)?;
            }
            // The whiteout's inode, before any name changes (it can run out of inodes).
            let whiteout = match whiteout {
                Some(node) => {
                    let mut new = new_inode(old_dir, &old_dir.data().disk.lock(), &node, t);
                    let ino = sbi.alloc.alloc_inode(&tx, &mut new)?;
                    let entry = format::DirEntry::new(ino, file_type(&new)?, old_name);
                    Some((ino, new.generation, entry.map_err(|_| EINVAL)?))
                }
                None => None,
            };

            // 1. The new name.
            let added = (|| {
                let mut nd = new_dir.data().disk.lock();
                check_subdir_links(new_dir, &nd, new_dir_links.min(0).unsigned_abs())?;
                if is_dir && !same_dir && !target_is_dir && nd.nlink >= format::MAX_LINKS {
                    return Err(EMLINK);
                }
                let entry =
                    format::DirEntry::new(inode.ino(), ftype, new_name).map_err(|_| EINVAL)?;
                match target {
                    Some(target) => {
                        let slot = slot_of(new_dir, &nd, new_name, target)?;
                        dir::replace_entry(&tx, new_dir, &nd, slot, &entry)?;
                    }
                    None => dir::add_entry(&tx, new_dir, &mut nd, &entry)?,
                }
                nd.mtime = t;
                nd.ctime = t;
                // Link counts come from the disk: saturate rather than overflow on a bad one.
                nd.nlink = nd.nlink.saturating_add_signed(new_dir_links);
                store(&tx, new_dir, &nd)
            })();
            if let Err(e) = added {
                if let Some((ino, generation, _)) = &whiteout {
                    sbi.alloc.free_inode(&tx, *ino, *generation)?;
                }
                return Err(e);
            }
            // 2. The old name: gone, or the whiteout's.
            remove_name(
                &tx,
                old_dir,
                old_name,
                inode,
                if leaves_old_dir { -1 } else { 0 },
                whiteout.as_ref().map(|(_, _, entry)| entry),
            )?;
            // 3. The moved inode: its parent if a directory, its change time.
            {
                let mut disk = inode.data().disk.lock();
                if is_dir {
                    disk.parent = new_dir.ino();
                }
                disk.ctime = t;
                store(&tx, inode, &disk)?;
            }
            // 4. The replaced target loses its link.
            if let Some(target) = target {
                drop_links(&tx, target, |n| {
                    if target_is_dir {
                        0
                    } else {
                        n.saturating_sub(1)
                    }
                })?;
            }
            Ok(())
        })();
        tx.end(result)
    }

    /// Swaps the inodes that `old_name` in `old_dir` (`inode`) and `new_name` in `new_dir`
    /// (`other`) name: both entries are rewritten in place. A directory that changes parent
    /// takes its `..` link along, and records its new parent.
    fn exchange(
        old_dir: &Inode,
        old_name: &[u8],
        inode: &Inode,
        new_dir: &Inode,
        new_name: &[u8],
        other: &Inode,
    ) -> Result {
        let tx = old_dir.super_block().data().begin()?;
        let result = (|| {
            let ftype = file_type(&inode.data().disk.lock())?;
            let other_type = file_type(&other.data().disk.lock())?;
            let is_dir = ftype == format::FileType::Directory;
            let other_is_dir = other_type == format::FileType::Directory;
            let same_dir = old_dir.ino() == new_dir.ino();
            let old_dir_links = if same_dir {
                0
            } else {
                i32::from(other_is_dir) - i32::from(is_dir)
            };
            let old_entry =
                format::DirEntry::new(other.ino(), other_type, old_name).map_err(|_| EINVAL)?;
            let new_entry =
                format::DirEntry::new(inode.ino(), ftype, new_name).map_err(|_| EINVAL)?;
            let t = now(old_dir);
            // Every check before the first change: both entries and both link counts.
            let (old_slot, new_slot) = {
                let od = old_dir.data().disk.lock();
                check_link_change(old_dir, &od, old_dir_links)?;
                let old_slot = slot_of(old_dir, &od, old_name, inode)?;
                if same_dir {
                    (old_slot, slot_of(old_dir, &od, new_name, other)?)
                } else {
                    drop(od);
                    let nd = new_dir.data().disk.lock();
                    check_link_change(new_dir, &nd, -old_dir_links)?;
                    (old_slot, slot_of(new_dir, &nd, new_name, other)?)
                }
            };
            for (dir, slot, entry, links) in [
                (old_dir, old_slot, &old_entry, old_dir_links),
                (new_dir, new_slot, &new_entry, -old_dir_links),
            ] {
                let mut disk = dir.data().disk.lock();
                dir::replace_entry(&tx, dir, &disk, slot, entry)?;
                disk.mtime = t;
                disk.ctime = t;
                disk.nlink = disk.nlink.saturating_add_signed(links);
                store(&tx, dir, &disk)?;
            }
            for (moved, moved_is_dir, parent) in
                [(inode, is_dir, new_dir), (other, other_is_dir, old_dir)]
            {
                let mut disk = moved.data().disk.lock();
                if moved_is_dir {
                    disk.parent = parent.ino();
                }
                disk.ctime = t;
                store(&tx, moved, &disk)?;
            }
            Ok(())
        })();
        tx.end(result)
    }
}
