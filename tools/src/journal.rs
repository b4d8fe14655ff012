// SPDX-License-Identifier: GPL-2.0

//! Undoing the transaction a crash interrupted, as the kernel does at mount (`src/journal.rs`):
//! what `fsck.daxfs` does first, and what the crash-state explorer models.

use crate::device::Block;
use crate::device::BlockDevice;
use crate::format::FormatError;
use crate::format::JournalRecords;
use crate::format::Superblock;
use crate::format::BLOCK_SIZE;
use crate::format::BLOCK_SIZE_U64;
use crate::Result;

/// The transaction a crash interrupted, found in the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// Its number: one more than the last committed.
    pub tx: u64,
    /// Its undo records, in the order written, as (device byte offset, old bytes).
    pub records: Vec<(u64, Vec<u8>)>,
    /// Why the records cannot be trusted, if one points outside what a transaction writes.
    pub bad: Option<String>,
}

/// Reads `len` bytes at device byte `offset` of `dev`.
fn read_bytes(dev: &impl BlockDevice, offset: u64, len: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut block: Block = [0; BLOCK_SIZE];
    let mut at = offset;
    let end = offset + len;
    while at < end {
        dev.read_block(at / BLOCK_SIZE_U64, &mut block)?;
        let from = (at % BLOCK_SIZE_U64) as usize;
        let take = ((end - at) as usize).min(BLOCK_SIZE - from);
        bytes.extend_from_slice(&block[from..from + take]);
        at += take as u64;
    }
    Ok(bytes)
}

/// Writes `bytes` at device byte `offset` of `dev`, block by block.
pub fn write_bytes(dev: &mut impl BlockDevice, offset: u64, bytes: &[u8]) -> Result<()> {
    let mut block: Block = [0; BLOCK_SIZE];
    let mut done = 0;
    while done < bytes.len() {
        let at = offset + done as u64;
        dev.read_block(at / BLOCK_SIZE_U64, &mut block)?;
        let from = (at % BLOCK_SIZE_U64) as usize;
        let take = (bytes.len() - done).min(BLOCK_SIZE - from);
        block[from..from + take].copy_from_slice(&bytes[done..done + take]);
        dev.write_block(at / BLOCK_SIZE_U64, &block)?;
        done += take;
    }
    Ok(())
}

/// The committed transaction number of the journal of `sb` on `dev`.
pub fn committed(dev: &impl BlockDevice, sb: &Superblock) -> Result<u64> {
    let word = read_bytes(dev, sb.journal_commit_offset(), 8)?;
    Ok(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])))
}

/// The transaction the journal of `sb` on `dev` says a crash interrupted, if it changed
/// anything. `sb`'s geometry must be valid.
pub fn interrupted(dev: &impl BlockDevice, sb: &Superblock) -> Result<Option<Interrupted>> {
    let tx = committed(dev, sb)?.wrapping_add(1);
    let (start, len) = sb.journal_records();
    let area = read_bytes(dev, start, len)?;
    let mut found = Interrupted {
        tx,
        records: Vec::new(),
        bad: None,
    };
    for record in JournalRecords::new(&area, tx) {
        if let Err(error) = sb.check_undo_target(record.offset, record.old.len() as u64) {
            found.bad = Some(format!(
                "record at {} ({} bytes at {:#x}): {error}",
                record.position,
                record.old.len(),
                record.offset
            ));
        }
        found.records.push((record.offset, record.old.to_vec()));
    }
    // Records in block 0 (a label change) must leave a valid superblock, or recovery would
    // write one that nothing can repair.
    if found.bad.is_none()
        && found
            .records
            .iter()
            .any(|(offset, _)| *offset < BLOCK_SIZE_U64)
    {
        let mut block = read_bytes(dev, 0, BLOCK_SIZE_U64)?;
        let undone = found
            .records
            .iter()
            .rev()
            .map(|(offset, old)| (*offset, &old[..]));
        if let Err(error) = Superblock::decode_after_undo(&mut block, undone) {
            found.bad = Some(format!(
                "its undo would leave the superblock invalid: {error}"
            ));
        }
    }
    Ok((!found.records.is_empty()).then_some(found))
}

/// Undoes `tx` on `dev`: its records restored newest first (unless they are bad), then the
/// transaction counted as ended, as the kernel's mount does.
pub fn undo(dev: &mut impl BlockDevice, sb: &Superblock, tx: &Interrupted) -> Result<()> {
    if tx.bad.is_none() {
        for (offset, old) in tx.records.iter().rev() {
            write_bytes(dev, *offset, old)?;
        }
    }
    write_bytes(dev, sb.journal_commit_offset(), &tx.tx.to_le_bytes())
}

/// Undoes on `dev` the transaction a crash interrupted, if there is one; returns it.
pub fn recover(dev: &mut impl BlockDevice, sb: &Superblock) -> Result<Option<Interrupted>> {
    let found = interrupted(dev, sb)?;
    if let Some(tx) = &found {
        undo(dev, sb, tx)?;
    }
    Ok(found)
}

/// The superblock of `dev`, as [`Superblock::decode`] reads it; but if its checksum fails, as a
/// crash in the middle of a label change leaves it, decoded as the undo of the interrupted
/// transaction leaves it ([`Superblock::decode_after_undo`]), as a mount does. The journal is
/// found through the unchecked geometry, which must fit `dev`; its records must be sound.
pub fn superblock(dev: &impl BlockDevice) -> Result<std::result::Result<Superblock, FormatError>> {
    let block = read_bytes(dev, 0, BLOCK_SIZE_U64)?;
    let error = match Superblock::decode(&block) {
        Err(error @ FormatError::BadChecksum) => error,
        other => return Ok(other),
    };
    let Some(unchecked) = Superblock::decode_unchecked(&block)
        .ok()
        .filter(|sb| sb.validate_geometry(dev.block_count()).is_ok())
    else {
        return Ok(Err(error));
    };
    match interrupted(dev, &unchecked)? {
        Some(tx) if tx.bad.is_none() => Ok(Superblock::decode_after_undo(
            &mut block.clone(),
            tx.records
                .iter()
                .rev()
                .map(|(offset, old)| (*offset, &old[..])),
        )
        .map_err(|_| error)),
        _ => Ok(Err(error)),
    }
}
