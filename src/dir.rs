// SPDX-License-Identifier: GPL-2.0

//! Directories: fixed-size entries in the directory's data blocks.

use kernel::prelude::*;

use crate::{
    format,
    inode::{
        self,
        Inode, //
    },
    vfs::{
        ARef,
        DirEmitter, //
    },
};

/// readdir positions: 0 is ".", 1 is "..", and `ENTRIES_POS + n` is entry slot `n`.
const ENTRIES_POS: i64 = 2;

/// Calls `f(slot, entry)` for each used entry of `dir` from slot `first` on, until `f` returns
/// false.
fn for_each_entry(
    dir: &Inode,
    first: u64,
    mut f: impl FnMut(u64, &format::DirEntry) -> bool,
) -> Result {
    let sbi = dir.super_block().data();
    let disk = &dir.data().disk;
    let per_block = format::DIRENTS_PER_BLOCK as u64;
    let slots = disk.size / format::BLOCK_SIZE_U64 * per_block;
    let mut buf = [0u8; format::DIRENT_SIZE];
    let mut device_block = None;
    for slot in first..slots {
        if slot == first || slot % per_block == 0 {
            device_block = inode::map_block(sbi, dir.ino(), disk, slot / per_block)?;
        }
        let Some(block) = device_block else {
            return Err(inode::corrupted(
                dir.ino(),
                format::FormatError::BadInode("hole in a directory"),
            ));
        };
        let offset = (slot % per_block) * format::DIRENT_SIZE as u64;
        sbi.pmem
            .read(block * format::BLOCK_SIZE_U64 + offset, &mut buf)?;
        let entry = format::DirEntry::decode(&buf).map_err(|e| inode::corrupted(dir.ino(), e))?;
        if let Some(entry) = entry {
            if !f(slot, &entry) {
                break;
            }
        }
    }
    Ok(())
}

/// Looks `name` up in `dir`.
pub(crate) fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<ARef<Inode>>> {
    if name.len() > format::MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let mut found = None;
    for_each_entry(dir, 0, |_, entry| {
        if entry.name() == name {
            found = Some(entry.ino);
        }
        found.is_none()
    })?;
    found
        .map(|ino| inode::iget(dir.super_block(), ino))
        .transpose()
}

/// Emits the entries of `dir` from the emitter's position on.
pub(crate) fn read_dir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
    if emitter.pos() == 0 && !emitter.emit(b".", dir.ino(), format::DT_DIR, 1) {
        return Ok(());
    }
    if emitter.pos() == 1 && !emitter.emit(b"..", dir.data().disk.parent, format::DT_DIR, 2) {
        return Ok(());
    }
    let first = u64::try_from(emitter.pos() - ENTRIES_POS).map_err(|_| EINVAL)?;
    for_each_entry(dir, first, |slot, entry| {
        emitter.emit(
            entry.name(),
            entry.ino,
            entry.file_type.dirent_type(),
            slot as i64 + ENTRIES_POS + 1,
        )
    })
}
