// SPDX-License-Identifier: GPL-2.0

//! Little-endian field readers and writers over byte buffers, bounds-checked so that no decoder
//! or encoder can panic.
//!
//! A reader fails with [`FormatError::TooShort`] if the field does not fit the buffer. A writer
//! is given a fixed-size buffer and an offset that the layout assertions of the parent module
//! keep in bounds; should one not be, it writes nothing rather than panicking.

use core::ops::Range;

use super::FormatError;

/// Reads `N` bytes at `offset`, or fails if `buf` is too short.
pub(super) fn read_bytes<const N: usize>(
    buf: &[u8],
    offset: usize,
) -> Result<[u8; N], FormatError> {
    offset
        .checked_add(N)
        .and_then(|end| buf.get(offset..end))
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(FormatError::TooShort)
}

/// Reads a little-endian `u16` at `offset`.
pub(super) fn read_u16(buf: &[u8], offset: usize) -> Result<u16, FormatError> {
    read_bytes(buf, offset).map(u16::from_le_bytes)
}

/// Reads a little-endian `u32` at `offset`.
pub(super) fn read_u32(buf: &[u8], offset: usize) -> Result<u32, FormatError> {
    read_bytes(buf, offset).map(u32::from_le_bytes)
}

/// Reads a little-endian `u64` at `offset`.
pub(super) fn read_u64(buf: &[u8], offset: usize) -> Result<u64, FormatError> {
    read_bytes(buf, offset).map(u64::from_le_bytes)
}

/// Reads a little-endian `i64` at `offset`.
pub(super) fn read_i64(buf: &[u8], offset: usize) -> Result<i64, FormatError> {
    read_bytes(buf, offset).map(i64::from_le_bytes)
}

/// Writes `bytes` at `offset`. Callers pass fixed-size buffers and offsets that the layout
/// assertions of the parent module keep in bounds; a bad offset writes nothing rather than
/// panicking.
pub(super) fn write_bytes(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(field) = offset
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(offset..end))
    {
        // A zip rather than `copy_from_slice`, whose length check and debug-build precondition
        // checks would put (unreachable) panics into every encoder.
        for (destination, &byte) in field.iter_mut().zip(bytes) {
            *destination = byte;
        }
    }
}

/// Writes `value` as a little-endian `u16` at `offset` (see [`write_bytes`]).
pub(super) fn write_u16(buf: &mut [u8], offset: usize, value: u16) {
    write_bytes(buf, offset, &value.to_le_bytes());
}

/// Writes `value` as a little-endian `u32` at `offset` (see [`write_bytes`]).
pub(super) fn write_u32(buf: &mut [u8], offset: usize, value: u32) {
    write_bytes(buf, offset, &value.to_le_bytes());
}

/// Writes `value` as a little-endian `u64` at `offset` (see [`write_bytes`]).
pub(super) fn write_u64(buf: &mut [u8], offset: usize, value: u64) {
    write_bytes(buf, offset, &value.to_le_bytes());
}

/// Writes `value` as a little-endian `i64` at `offset` (see [`write_bytes`]).
pub(super) fn write_i64(buf: &mut [u8], offset: usize, value: i64) {
    write_bytes(buf, offset, &value.to_le_bytes());
}

/// Returns the `N`-byte record at `offset` of `buf` as an array, if it is in bounds.
///
/// This turns a slot of a block (an inode, a directory entry, an extent) into the fixed-size
/// buffer the `encode` methods take.
pub fn record_mut<const N: usize>(buf: &mut [u8], offset: usize) -> Option<&mut [u8; N]> {
    offset
        .checked_add(N)
        .and_then(|end| buf.get_mut(offset..end))
        .and_then(|bytes| bytes.try_into().ok())
}

/// The most runs of changed bytes [`changed_runs`] returns.
pub const CHANGED_RUNS: usize = 4;

/// Unchanged words between two changes that make them separate runs: fewer cost less to write
/// again than a record header and a fence.
const RUN_GAP_WORDS: usize = 8;

/// The runs of bytes of `new` that differ from `old` (as long), in order and apart, at most
/// [`CHANGED_RUNS`] of them (the last one then reaching the last change), with their number.
/// The words holding the bytes `always`, if given, count as changed (a checksum field, which a
/// change will change). Compared a word at a time: a block compared byte by byte costs about
/// what writing it would.
pub fn changed_runs(
    new: &[u8],
    old: &[u8],
    always: Option<Range<usize>>,
) -> ([Range<usize>; CHANGED_RUNS], usize) {
    let word = |bytes: &[u8]| bytes.try_into().map_or(0, u64::from_ne_bytes);
    let (new_words, old_words) = (new.chunks_exact(8), old.chunks_exact(8));
    let tail_differs = new_words.remainder() != old_words.remainder();
    let always = always
        .filter(|bytes| !bytes.is_empty())
        .map_or(0..0, |bytes| bytes.start / 8..(bytes.end - 1) / 8 + 1);
    // Indices of the words that differ, then the remainder's as one more word.
    let words = new_words.len();
    let changed = Iterator::chain(
        new_words
            .zip(old_words)
            .enumerate()
            .filter(|&(index, (a, b))| word(a) != word(b) || always.contains(&index))
            .map(|(index, _)| index),
        (tail_differs || always.contains(&words)).then_some(words),
    );
    let mut runs: [Range<usize>; CHANGED_RUNS] = Default::default();
    let mut count = 0usize;
    for index in changed {
        match count.checked_sub(1).and_then(|last| runs.get_mut(last)) {
            Some(run) if index - run.end < RUN_GAP_WORDS || count == CHANGED_RUNS => {
                run.end = index + 1;
            }
            _ => {
                if let Some(run) = runs.get_mut(count) {
                    *run = index..index + 1;
                }
                count += 1;
            }
        }
    }
    for run in runs.iter_mut().take(count) {
        *run = run.start * 8..(run.end * 8).min(new.len());
    }
    (runs, count)
}
