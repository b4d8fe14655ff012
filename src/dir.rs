// SPDX-License-Identifier: GPL-2.0

//! Directories: fixed-size entries in the directory's data blocks.
//!
//! Entries are written in the transaction of the operation (create, link, unlink, rename; see
//! [`crate::journal`]). A directory grows by one zeroed block (all slots free) at a time, which
//! the transaction allocates, with the directory's new size and extents.
//!
//! Entries are found through an in-memory index ([`DirIndex`]: names by hash, and the free
//! slots), built by one scan of the directory the first time it is searched and kept in step
//! with every entry written; without it every create, lookup and unlink scanned the whole
//! directory, which made filling a directory quadratic.

use kernel::{
    prelude::*,
    rbtree::RBTree, //
};

use crate::{
    extents, format,
    inode::Inode,
    journal::Tx,
    meta::{
        block_offset,
        blocks_to_bytes,
        corrupted, //
    },
    sb_info::SbInfo,
    vfs::{
        self,
        DirEmitter, //
    },
    Daxfs,
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

/// FNV-1a of a name: the index key.
fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The index of one directory's entries.
pub(crate) struct DirIndex {
    /// `(hash of the name, slot)` of every entry.
    names: RBTree<(u64, u64), ()>,
    /// The free slots, highest first, so that the lowest is reused first and the directory
    /// stays dense.
    free: KVec<u64>,
}

impl DirIndex {
    /// Indexes the directory `dir` (on disk `disk`) with one scan.
    fn build(dir: &Inode, disk: &format::Inode) -> Result<Self> {
        let mut index = Self {
            names: RBTree::new(),
            free: KVec::new(),
        };
        let mut added = Ok(());
        scan(
            dir,
            disk,
            0,
            |slot| slot_offset(dir, disk, slot),
            |slot, entry| {
                added = match entry {
                    Some(entry) => index.add(name_hash(entry.name()), slot),
                    None => index.free.push(slot, GFP_KERNEL).map_err(Into::into),
                };
                added.is_ok()
            },
        )?;
        added?;
        index.free.reverse();
        Ok(index)
    }

    /// Records an entry with name hash `hash` at `slot`.
    fn add(&mut self, hash: u64, slot: u64) -> Result {
        self.names
            .try_create_and_insert((hash, slot), (), GFP_KERNEL)?;
        Ok(())
    }

    /// The first slot at or after `from` holding a name with hash `hash`.
    fn next_with_hash(&self, hash: u64, from: u64) -> Option<u64> {
        let cursor = self.names.cursor_lower_bound(&(hash, from))?;
        let &(found, slot) = cursor.current().0;
        (found == hash).then_some(slot)
    }

    /// Records that the entry with name hash `hash` at `slot` is gone.
    fn remove(&mut self, hash: u64, slot: u64) -> Result {
        self.names.remove(&(hash, slot));
        let at = match self.free.binary_search_by(|free| slot.cmp(free)) {
            Ok(_) => return Ok(()),
            Err(at) => at,
        };
        self.free.reserve(1, GFP_KERNEL)?;
        self.free
            .insert_within_capacity(at, slot)
            .map_err(|_| ENOMEM)
    }
}

/// Calls `f` with the index of the directory `dir`, whose on-disk inode `disk` the caller has
/// locked; the first call builds it. When `f` fails the index is dropped, to be rebuilt from
/// the directory, which it may no longer match.
fn with_index<R>(
    dir: &Inode,
    disk: &format::Inode,
    f: impl FnOnce(&mut DirIndex) -> Result<R>,
) -> Result<R> {
    let mut guard = dir.data().dir_index.lock();
    if guard.is_none() {
        *guard = Some(DirIndex::build(dir, disk)?);
    }
    let Some(index) = Option::as_mut(&mut guard) else {
        return Err(EINVAL);
    };
    let result = f(index);
    if result.is_err() {
        *guard = None;
    }
    result
}

/// Device byte offset of entry slot `slot` of the directory `dir` (on disk `disk`), looked up in
/// its extent tree: a directory of many entries has many extents, its blocks interleaved with
/// those of its files.
fn slot_offset(dir: &Inode, disk: &format::Inode, slot: u64) -> Result<u64> {
    let per_block = format::DIRENTS_PER_BLOCK as u64;
    let file_block = slot / per_block;
    let block = extents::lookup(dir, disk, |tree| {
        tree.find(file_block).and_then(|e| e.map(file_block))
    })?
    .ok_or_else(|| {
        corrupted(
            dir.ino(),
            format::FormatError::BadInode("hole in a directory"),
        )
    })?;
    Ok(block_offset(block) + (slot % per_block) * format::DIRENT_SIZE as u64)
}

/// Decodes and checks an entry of the directory `ino` read from the device (`None` for a free
/// slot): corruption names the directory.
fn decode_entry(sbi: &SbInfo, ino: u64, buf: &[u8]) -> Result<Option<format::DirEntry>> {
    let entry = format::DirEntry::decode(buf).map_err(|e| corrupted(ino, e))?;
    if let Some(entry) = &entry {
        entry.validate(&sbi.disk).map_err(|e| corrupted(ino, e))?;
    }
    Ok(entry)
}

/// Calls `f(slot, entry)` for every slot of the directory `dir` (on disk `disk`) from `first` on,
/// `entry` being `None` for a free slot, until `f` returns false. `offset_of(slot)` is the
/// device byte offset of a slot ([`slot_offset`]).
fn scan(
    dir: &Inode,
    disk: &format::Inode,
    first: u64,
    offset_of: impl Fn(u64) -> Result<u64>,
    mut f: impl FnMut(u64, Option<&format::DirEntry>) -> bool,
) -> Result {
    let sbi = dir.super_block().data();
    let per_block = format::DIRENTS_PER_BLOCK as u64;
    let slots = disk.size / format::BLOCK_SIZE_U64 * per_block;
    let mut buf = [0u8; format::DIRENT_SIZE];
    let mut block_offset = 0;
    for slot in first..slots {
        if slot == first || slot % per_block == 0 {
            block_offset = offset_of(slot - slot % per_block)?;
        }
        let offset = block_offset + (slot % per_block) * format::DIRENT_SIZE as u64;
        sbi.pmem.read(offset, &mut buf)?;
        let entry = decode_entry(sbi, dir.ino(), &buf)?;
        if !f(slot, entry.as_ref()) {
            break;
        }
    }
    Ok(())
}

/// Reads the entry at `slot` of the directory `dir` (on disk `disk`); `None` if it is free.
fn read_slot(dir: &Inode, disk: &format::Inode, slot: u64) -> Result<Option<format::DirEntry>> {
    let sbi = dir.super_block().data();
    let mut buf = [0u8; format::DIRENT_SIZE];
    sbi.pmem.read(slot_offset(dir, disk, slot)?, &mut buf)?;
    decode_entry(sbi, dir.ino(), &buf)
}

/// Finds `name` in the directory `dir`, whose on-disk inode `disk` the caller has locked.
pub(crate) fn find(dir: &Inode, disk: &format::Inode, name: &[u8]) -> Result<Option<Found>> {
    let hash = name_hash(name);
    with_index(dir, disk, |index| {
        let mut from = 0;
        while let Some(slot) = index.next_with_hash(hash, from) {
            if let Some(entry) = read_slot(dir, disk, slot)? {
                if entry.name() == name {
                    return Ok(Some(Found {
                        slot,
                        ino: entry.ino,
                    }));
                }
            }
            from = slot + 1;
        }
        Ok(None)
    })
}

/// Whether the directory `dir` (its on-disk inode `disk`, locked) has no entries.
pub(crate) fn is_empty(dir: &Inode, disk: &format::Inode) -> Result<bool> {
    with_index(dir, disk, |index| Ok(index.names.is_empty()))
}

/// Writes `entry` (or a free slot) at `slot` of the directory `dir` (on disk `disk`), in `tx`.
fn write_slot(
    tx: &Tx<'_>,
    dir: &Inode,
    disk: &format::Inode,
    slot: u64,
    entry: Option<&format::DirEntry>,
) -> Result {
    let mut buf = [0u8; format::DIRENT_SIZE];
    match entry {
        Some(entry) => entry.encode(&mut buf),
        None => format::DirEntry::encode_free(&mut buf),
    }
    tx.write(slot_offset(dir, disk, slot)?, &buf)
}

/// Removes the entry `name` at `slot` of the directory `dir` (its on-disk inode `disk`, locked),
/// in `tx`.
pub(crate) fn remove_entry(
    tx: &Tx<'_>,
    dir: &Inode,
    disk: &format::Inode,
    slot: u64,
    name: &[u8],
) -> Result {
    write_slot(tx, dir, disk, slot, None)?;
    with_index(dir, disk, |index| index.remove(name_hash(name), slot))
}

/// Points the entry at `slot` to `entry`, which has the same name, in `tx`: the replace of a
/// rename over an existing name. The index does not change.
pub(crate) fn replace_entry(
    tx: &Tx<'_>,
    dir: &Inode,
    disk: &format::Inode,
    slot: u64,
    entry: &format::DirEntry,
) -> Result {
    write_slot(tx, dir, disk, slot, Some(entry))
}

/// Adds `entry` to `dir`, whose locked on-disk inode is `disk`, growing the directory by a block
/// if it is full, in `tx`; the caller writes `disk` back with its times.
pub(crate) fn add_entry(
    tx: &Tx<'_>,
    dir: &Inode,
    disk: &mut format::Inode,
    entry: &format::DirEntry,
) -> Result {
    let sbi = dir.super_block().data();
    let ino = dir.ino();
    let hash = name_hash(entry.name());
    if let Some(slot) = with_index(dir, disk, |index| Ok(index.free.last().copied()))? {
        write_slot(tx, dir, disk, slot, Some(entry))?;
        return with_index(dir, disk, |index| {
            index.free.pop();
            index.add(hash, slot)
        });
    }

    // Full: append a block, next to the last one if possible so the extent just grows; the
    // extents may spill into overflow blocks like a file's.
    let file_block = disk.size / format::BLOCK_SIZE_U64;
    extents::with_tree(dir, disk, |tree, disk| {
        let goal = tree.previous(file_block).and_then(|e| e.physical_end());
        let block = sbi.alloc.alloc_block(tx, ino, goal)?;
        let new = format::Extent {
            logical: file_block,
            physical: block,
            len: 1,
            unwritten: false,
        };
        if let Err(e) = tree.insert(tx, ino, disk, new) {
            sbi.alloc.free_blocks(tx, ino, block, 1)?;
            return Err(e);
        }
        Ok(())
    })?;
    disk.size += format::BLOCK_SIZE_U64;
    disk.blocks += 1;
    // The new block's slots are all free (zeroed): fill the first, then publish the size.
    let slot = file_block * format::DIRENTS_PER_BLOCK as u64;
    write_slot(tx, dir, disk, slot, Some(entry))?;
    sbi.write_inode(tx, ino, disk)?;
    dir.set_size(disk.size, blocks_to_bytes(disk.blocks));
    // The directory was full, so the new block's other slots are all the free ones.
    with_index(dir, disk, |index| {
        index.add(hash, slot)?;
        for free in (slot + 1..slot + format::DIRENTS_PER_BLOCK as u64).rev() {
            index.free.push(free, GFP_KERNEL)?;
        }
        Ok(())
    })
}

/// The operations of open directories (`file_operations`).
pub(crate) struct DirFileOps;

impl vfs::dir::FileOperations<Daxfs> for DirFileOps {
    /// Emits the entries of `dir` from the emitter's position on.
    fn read_dir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
        let disk = *dir.data().disk.lock();
        if emitter.pos() == 0 && !emitter.emit(b".", dir.ino(), format::DT_DIR, 1) {
            return Ok(());
        }
        if emitter.pos() == 1 && !emitter.emit(b"..", disk.parent, format::DT_DIR, 2) {
            return Ok(());
        }
        let first = u64::try_from(emitter.pos() - ENTRIES_POS).map_err(|_| EINVAL)?;
        // The lock is not held while entries are copied to the caller, which may fault; it is
        // taken for each block's lookup, so that the extent tree is only ever built from the
        // current inode, never from this copy.
        let offset_of = |slot| slot_offset(dir, &dir.data().disk.lock(), slot);
        scan(dir, &disk, first, offset_of, |slot, entry| match entry {
            Some(entry) => emitter.emit(
                entry.name(),
                entry.ino,
                entry.file_type.dirent_type(),
                slot as i64 + ENTRIES_POS + 1,
            ),
            None => true,
        })
    }
}
