// SPDX-License-Identifier: GPL-2.0

//! Directories: fixed-size entries in the directory's data blocks.
//!
//! Writing an entry is the commit point of create, link and rename: everything it names is
//! durable before it is written, and it is durable when the operation returns. A directory grows
//! by one zeroed block (all slots free) at a time; its inode, with the new size and extents, is
//! written after the entry, so a crash in between leaves the block allocated but unused (fsck
//! frees it).

use kernel::prelude::*;

use crate::{
    extents::{
        free_chain,
        ExtentMap, //
    },
    format,
    inode::{
        self,
        write_disk_inode,
        Inode, //
    },
    mount::SbInfo,
    vfs::{
        ARef,
        DirEmitter, //
    },
};

/// readdir positions: 0 is ".", 1 is "..", and `ENTRIES_POS + n` is entry slot `n`.
const ENTRIES_POS: i64 = 2;

/// An entry found in a directory.
pub(crate) struct Found {
    /// Its slot.
    pub(crate) slot: u64,
    /// The inode it names.
    pub(crate) ino: u64,
}

/// Device byte offset of entry slot `slot` of the directory `disk` (inode `ino`).
fn slot_offset(sbi: &SbInfo, ino: u64, disk: &format::Inode, slot: u64) -> Result<u64> {
    let per_block = format::DIRENTS_PER_BLOCK as u64;
    let block = inode::map_block(sbi, ino, disk, slot / per_block)?.ok_or_else(|| {
        inode::corrupted(ino, format::FormatError::BadInode("hole in a directory"))
    })?;
    Ok(SbInfo::block_offset(block) + (slot % per_block) * format::DIRENT_SIZE as u64)
}

/// Calls `f(slot, entry)` for every slot of the directory `disk` (inode `ino`) from `first` on,
/// `entry` being `None` for a free slot, until `f` returns false.
fn scan(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    first: u64,
    mut f: impl FnMut(u64, Option<&format::DirEntry>) -> bool,
) -> Result {
    let per_block = format::DIRENTS_PER_BLOCK as u64;
    let slots = disk.size / format::BLOCK_SIZE_U64 * per_block;
    let mut buf = [0u8; format::DIRENT_SIZE];
    let mut block_offset = 0;
    for slot in first..slots {
        if slot == first || slot % per_block == 0 {
            block_offset = slot_offset(sbi, ino, disk, slot - slot % per_block)?;
        }
        let offset = block_offset + (slot % per_block) * format::DIRENT_SIZE as u64;
        sbi.pmem.read(offset, &mut buf)?;
        let entry = format::DirEntry::decode(&buf).map_err(|e| inode::corrupted(ino, e))?;
        if !f(slot, entry.as_ref()) {
            break;
        }
    }
    Ok(())
}

/// Finds `name` in the directory `disk` (inode `ino`).
pub(crate) fn find(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    name: &[u8],
) -> Result<Option<Found>> {
    let mut found = None;
    scan(sbi, ino, disk, 0, |slot, entry| {
        if let Some(entry) = entry.filter(|e| e.name() == name) {
            found = Some(Found {
                slot,
                ino: entry.ino,
            });
        }
        found.is_none()
    })?;
    Ok(found)
}

/// Whether the directory `disk` (inode `ino`) has no entries.
pub(crate) fn is_empty(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result<bool> {
    let mut empty = true;
    scan(sbi, ino, disk, 0, |_, entry| {
        empty = entry.is_none();
        empty
    })?;
    Ok(empty)
}

/// Writes `entry` (or a free slot) at `slot` and makes it durable.
fn write_slot(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    slot: u64,
    entry: Option<&format::DirEntry>,
) -> Result {
    let mut buf = [0u8; format::DIRENT_SIZE];
    match entry {
        Some(entry) => entry.encode(&mut buf),
        None => format::DirEntry::encode_free(&mut buf),
    }
    sbi.pmem.write(slot_offset(sbi, ino, disk, slot)?, &buf)?;
    sbi.pmem.fence();
    Ok(())
}

/// Removes the entry at `slot` (durable on return).
pub(crate) fn remove_entry(sbi: &SbInfo, ino: u64, disk: &format::Inode, slot: u64) -> Result {
    write_slot(sbi, ino, disk, slot, None)
}

/// Points the entry at `slot` to `entry` instead (durable on return): the atomic replace of a
/// rename over an existing name.
pub(crate) fn replace_entry(
    sbi: &SbInfo,
    ino: u64,
    disk: &format::Inode,
    slot: u64,
    entry: &format::DirEntry,
) -> Result {
    write_slot(sbi, ino, disk, slot, Some(entry))
}

/// Adds `entry` to `dir`, whose locked on-disk inode is `disk`, growing the directory by a block
/// if it is full. Durable on return; the caller writes `disk` back with its times.
pub(crate) fn add_entry(dir: &Inode, disk: &mut format::Inode, entry: &format::DirEntry) -> Result {
    let sbi = dir.super_block().data();
    let ino = dir.ino();
    let mut free_slot = None;
    scan(sbi, ino, disk, 0, |slot, used| {
        if used.is_none() {
            free_slot = Some(slot);
        }
        free_slot.is_none()
    })?;
    if let Some(slot) = free_slot {
        return write_slot(sbi, ino, disk, slot, Some(entry));
    }

    // Full: append a block, next to the last one if possible so the extent just grows; the
    // extents may spill into overflow blocks like a file's (a new chain, durable before the
    // inode that points to it, the old one freed after).
    let file_block = disk.size / format::BLOCK_SIZE_U64;
    let mut map = ExtentMap::load(sbi, ino, disk)?;
    let goal = map.previous(file_block).and_then(|e| e.physical_end());
    let block = sbi.alloc_block(ino, goal)?;
    let new = format::Extent {
        logical: file_block,
        physical: block,
        len: 1,
    };
    let old_chain = match map.insert(new).and_then(|()| map.store(sbi, ino, disk)) {
        Ok(old_chain) => old_chain,
        Err(e) => {
            sbi.free_blocks(ino, block, 1)?;
            return Err(e);
        }
    };
    disk.size += format::BLOCK_SIZE_U64;
    disk.blocks += 1;
    // The new block's slots are all free (zeroed): fill the first, then publish the size.
    let slot = file_block * format::DIRENTS_PER_BLOCK as u64;
    write_slot(sbi, ino, disk, slot, Some(entry))?;
    write_disk_inode(sbi, ino, disk)?;
    sbi.pmem.fence();
    dir.set_size(disk.size, disk.blocks * format::BLOCK_SIZE_U64);
    free_chain(sbi, ino, &old_chain)
}

/// Looks `name` up in `dir`.
pub(crate) fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<ARef<Inode>>> {
    if name.len() > format::MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let sbi = dir.super_block().data();
    let found = {
        let disk = dir.data().disk.lock();
        find(sbi, dir.ino(), &disk, name)?
    };
    found
        .map(|f| inode::iget(dir.super_block(), f.ino))
        .transpose()
}

/// Emits the entries of `dir` from the emitter's position on.
pub(crate) fn read_dir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
    let sbi = dir.super_block().data();
    let disk = *dir.data().disk.lock();
    if emitter.pos() == 0 && !emitter.emit(b".", dir.ino(), format::DT_DIR, 1) {
        return Ok(());
    }
    if emitter.pos() == 1 && !emitter.emit(b"..", disk.parent, format::DT_DIR, 2) {
        return Ok(());
    }
    let first = u64::try_from(emitter.pos() - ENTRIES_POS).map_err(|_| EINVAL)?;
    scan(sbi, dir.ino(), &disk, first, |slot, entry| match entry {
        Some(entry) => emitter.emit(
            entry.name(),
            entry.ino,
            entry.file_type.dirent_type(),
            slot as i64 + ENTRIES_POS + 1,
        ),
        None => true,
    })
}
