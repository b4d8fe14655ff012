// SPDX-License-Identifier: GPL-2.0

//! The undo journal's records: encoding one, and walking those of the transaction that a crash
//! interrupted (see "Undo journal" in the [format documentation](super)).

use super::{
    checksum::crc32c,
    codec::{
        read_u32,
        read_u64,
        write_u32,
        write_u64, //
    },
    journal_off,
    FormatError,
    JOURNAL_RECORD_HEADER,
    JOURNAL_RECORD_MAX_DATA, //
};

/// Bytes a record restoring `data_len` bytes takes: the header, then the bytes padded to 8, so
/// that every record starts 8-byte aligned.
pub const fn journal_record_len(data_len: usize) -> usize {
    JOURNAL_RECORD_HEADER + data_len.next_multiple_of(8)
}

/// The checksum of a record: CRC32C of its header with the checksum read as zero, then of the
/// bytes it restores.
fn record_checksum(header: &[u8], old: &[u8]) -> u32 {
    let crc = crc32c(0, header.get(..journal_off::CHECKSUM).unwrap_or(&[]));
    crc32c(crc32c(crc, &[0; 4]), old)
}

/// Encodes into the start of `buf` the record of transaction `tx` that restores `old` at device
/// byte `offset`, and returns its length ([`journal_record_len`]). `old` holds 1 to
/// [`JOURNAL_RECORD_MAX_DATA`] bytes and `buf` must have room.
pub fn encode_journal_record(
    buf: &mut [u8],
    tx: u64,
    offset: u64,
    old: &[u8],
) -> Result<usize, FormatError> {
    let len = journal_record_len(old.len());
    if old.is_empty() || old.len() > JOURNAL_RECORD_MAX_DATA {
        return Err(FormatError::BadJournal("record size out of range"));
    }
    let record = buf.get_mut(..len).ok_or(FormatError::TooShort)?;
    record.fill(0);
    write_u64(record, journal_off::TX, tx);
    write_u64(record, journal_off::OFFSET, offset);
    // CAST: at most `JOURNAL_RECORD_MAX_DATA`.
    write_u32(record, journal_off::LEN, old.len() as u32);
    let (header, data) = record.split_at_mut(JOURNAL_RECORD_HEADER);
    for (destination, &byte) in data.iter_mut().zip(old) {
        *destination = byte;
    }
    let checksum = record_checksum(header, old);
    write_u32(header, journal_off::CHECKSUM, checksum);
    Ok(len)
}

/// A record of the interrupted transaction: `old` was at device byte `offset` before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UndoRecord<'a> {
    /// Where the record starts in the record area.
    pub position: usize,
    /// Device byte offset of the restored bytes.
    pub offset: u64,
    /// The bytes as they were before the transaction.
    pub old: &'a [u8],
}

/// The records of transaction `tx` in the record area `area`, in the order they were written.
///
/// A transaction writes its records one after another from the start of the area, each made
/// durable before the bytes it covers change. The walk stops at the first record that is not
/// whole and of `tx`: a torn record (its bytes were never changed), one left by an earlier
/// transaction, or never-written zeros. Where it points is not checked here: see
/// [`super::Superblock::check_undo_target`].
#[derive(Clone)]
pub struct JournalRecords<'a> {
    area: &'a [u8],
    at: usize,
    tx: u64,
}

impl<'a> JournalRecords<'a> {
    /// The walk of the records of transaction `tx` in `area`.
    pub fn new(area: &'a [u8], tx: u64) -> Self {
        Self { area, at: 0, tx }
    }
}

impl<'a> Iterator for JournalRecords<'a> {
    type Item = UndoRecord<'a>;

    fn next(&mut self) -> Option<UndoRecord<'a>> {
        let rest = self.area.get(self.at..)?;
        if read_u64(rest, journal_off::TX).ok()? != self.tx {
            return None;
        }
        // CAST: a u32 fits in usize on every target daxfs builds for.
        let len = read_u32(rest, journal_off::LEN).ok()? as usize;
        if len == 0 || len > JOURNAL_RECORD_MAX_DATA {
            return None;
        }
        let header = rest.get(..JOURNAL_RECORD_HEADER)?;
        let old = rest.get(JOURNAL_RECORD_HEADER..JOURNAL_RECORD_HEADER + len)?;
        if read_u32(header, journal_off::CHECKSUM).ok()? != record_checksum(header, old) {
            return None;
        }
        let record = UndoRecord {
            position: self.at,
            offset: read_u64(header, journal_off::OFFSET).ok()?,
            old,
        };
        self.at += journal_record_len(len);
        Some(record)
    }
}
