// SPDX-License-Identifier: GPL-2.0

//! The undo journal: every metadata change of a system call is one transaction, which a power
//! cut leaves either whole or undone.
//!
//! Persistent memory keeps an aligned 8-byte store whole across a power cut and nothing larger,
//! while one system call rewrites inode records, directory entries, bitmap bytes and the orphan
//! list's links. A transaction ([`Tx`]) writes them in place, but before it first changes a
//! range it saves the range's old bytes in an undo record in the journal and fences. Committing
//! is one 8-byte store of the transaction's number in the journal's commit word, between two
//! fences. After a crash, mount walks the records of the transaction after the committed one,
//! which are whole up to the first torn one (each was durable before its range changed), and
//! writes the old bytes back newest first ([`recover`]); `fsck.daxfs` does the same.
//!
//! Not logged, because undoing the transaction makes them unreachable anyway: writes to blocks
//! the transaction allocated (new extent chains, directory and symlink blocks, zeroed data).
//! Blocks it frees are freed only at its end, so it never reuses one that its undo would make
//! live again. File data (the partial block a truncate zeroes) is not metadata and not logged.
//!
//! One transaction runs at a time per mount. Lock order: the VFS locks (`i_rwsem`, the
//! invalidate lock), then the journal, then an inode's on-disk lock, the orphan list and the
//! allocator. No pin is waited for with the journal held: removals break layouts first.

use core::{
    cell::Cell,
    ops::Range, //
};

use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        Mutex,
        MutexGuard, //
    },
};

use crate::{
    format,
    meta::report_corruption,
    sb_info::SbInfo,
    vfs::{
        NoFsScope,
        Pmem, //
    },
};

/// The ranges a transaction remembers having logged, to skip logging them again (any later
/// change inside one is undone with it).
const LOGGED_RANGES: usize = 8;

/// What the journal keeps between transactions.
struct JournalState {
    /// The last committed (or undone) transaction.
    committed: u64,
    /// The old bytes of the range being logged.
    old: KVec<u8>,
    /// The record being written.
    record: KVec<u8>,
    /// A block being encoded, lent by [`Tx::with_block_buffer`].
    block: Option<KBox<[u8; format::BLOCK_SIZE]>>,
}

/// The journal of one mount: where it is, and its lock, held by the running transaction.
#[pin_data]
pub(crate) struct Journal {
    /// Device byte offset of the commit word.
    commit_offset: u64,
    /// Device byte offset and length of the record area.
    records: (u64, u64),
    #[pin]
    state: Mutex<JournalState>,
}

impl Journal {
    /// The journal of the file system `sb`, whose last transaction was `committed` (as
    /// [`recover`] left it).
    pub(crate) fn new(sb: &format::Superblock, committed: u64) -> impl PinInit<Self, Error> {
        let (commit_offset, records) = (sb.journal_commit_offset(), sb.journal_records());
        let old = KVec::from_elem(0u8, format::JOURNAL_RECORD_MAX_DATA, GFP_KERNEL);
        let record = KVec::from_elem(
            0u8,
            format::journal_record_len(format::JOURNAL_RECORD_MAX_DATA),
            GFP_KERNEL,
        );
        let block = KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL);
        try_pin_init!(Self {
            commit_offset,
            records,
            state <- new_mutex!(JournalState {
                committed,
                old: old?,
                record: record?,
                block: Some(block?),
            }),
        }? Error)
    }
}

/// The last committed transaction in the journal of `sb` on `pmem`, and its record area,
/// which holds the records of the next one if a crash interrupted it.
fn pending(pmem: &Pmem, sb: &format::Superblock) -> Result<(u64, KVVec<u8>)> {
    let mut word = [0u8; 8];
    pmem.read(sb.journal_commit_offset(), &mut word)?;
    let (start, len) = sb.journal_records();
    let mut area = KVVec::from_elem(0u8, usize::try_from(len)?, GFP_KERNEL)?;
    pmem.read(start, &mut area)?;
    Ok((u64::from_le_bytes(word), area))
}

/// Decodes the superblock `block` of `pmem` as the undo of the transaction a crash interrupted
/// leaves it, for a superblock whose checksum fails: the state a crash in the middle of a label
/// change leaves until that undo ([`format::Superblock::decode_after_undo`]). The journal is
/// found through the unchecked geometry, which must fit the device; the result must verify.
/// `Err` with the original error otherwise.
pub(crate) fn superblock_after_undo(
    pmem: &Pmem,
    block: &[u8],
    error: format::FormatError,
) -> core::result::Result<format::Superblock, format::FormatError> {
    let unchecked = format::Superblock::decode_unchecked(block)
        .ok()
        .filter(|sb| {
            sb.validate_geometry(pmem.len() / format::BLOCK_SIZE_U64)
                .is_ok()
        })
        .ok_or(error)?;
    let (committed, area) = pending(pmem, &unchecked).map_err(|_| error)?;
    let mut records = KVec::new();
    for record in format::JournalRecords::new(&area, committed.wrapping_add(1)) {
        // Every record must be sound, as recovery requires.
        unchecked
            .check_undo_target(record.offset, record.old.len() as u64)
            .map_err(|_| error)?;
        records
            .push((record.offset, record.old), GFP_KERNEL)
            .map_err(|_| error)?;
    }
    let mut copy = KVec::new();
    copy.extend_from_slice(block, GFP_KERNEL)
        .map_err(|_| error)?;
    format::Superblock::decode_after_undo(&mut copy, records.iter().rev().copied())
        .map_err(|_| error)
}

/// The last committed transaction of the journal of `sb` on `pmem`, for a mount that recovers
/// nothing (`norecovery`): an interrupted transaction stays as it is.
pub(crate) fn last_committed(pmem: &Pmem, sb: &format::Superblock) -> Result<u64> {
    pending(pmem, sb).map(|(committed, _)| committed)
}

/// Undoes on `pmem` the transaction a crash interrupted in the journal of `sb`, if any, and
/// returns the last committed transaction, for a mount (`writable`: read-write). A record that
/// points outside what a transaction writes is corruption: EUCLEAN, and nothing is written.
pub(crate) fn recover(pmem: &Pmem, sb: &format::Superblock, writable: bool) -> Result<u64> {
    let commit_offset = sb.journal_commit_offset();
    let (committed, area) = pending(pmem, sb)?;
    let tx = committed.wrapping_add(1);
    let mut undo = KVec::new();
    for record in format::JournalRecords::new(&area, tx) {
        let old_len = record.old.len() as u64;
        if let Err(e) = sb.check_undo_target(record.offset, old_len) {
            report_corruption!(
                "journal: record {} of transaction {tx} is damaged ({}); run fsck.daxfs\n",
                undo.len(),
                crate::meta::Why(e)
            );
            return Err(EUCLEAN);
        }
        undo.push((record.offset, record.old), GFP_KERNEL)?;
    }
    if undo.is_empty() && !writable {
        return Ok(committed);
    }
    // Records in block 0 (a label change) must leave a valid superblock: written, a bad one
    // could not be repaired.
    if undo
        .iter()
        .any(|&(offset, _)| offset < format::BLOCK_SIZE_U64)
    {
        let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
        pmem.read(0, &mut block)?;
        if let Err(e) =
            format::Superblock::decode_after_undo(&mut block, undo.iter().rev().copied())
        {
            report_corruption!(
                "journal: transaction {tx} would leave the superblock invalid ({}); run fsck.daxfs\n",
                crate::meta::Why(e)
            );
            return Err(EUCLEAN);
        }
    }
    for &(offset, old) in undo.iter().rev() {
        pmem.write(offset, old)?;
    }
    // Transaction `tx` is over, undone or never begun. A read-write mount ends it even with
    // nothing to undo: a crash may have left a torn first record of it and a whole second one
    // (the records of one range are fenced together), which the next transaction of that
    // number could otherwise pick up as its own.
    pmem.fence()?;
    pmem.write_u64(commit_offset, tx)?;
    pmem.fence()?;
    if !undo.is_empty() {
        pr_notice!(
            "journal: undid the {} change(s) of transaction {tx}, interrupted by a crash\n",
            undo.len()
        );
    }
    Ok(tx)
}

/// A running transaction: the metadata writes of one system call, through its methods. The
/// operation ends it with its result ([`Tx::end`]): committed, or, if it failed midway, left
/// for recovery with the file system shut down. Dropped without that, it commits.
///
/// Its state is in `Cell`s, taken out and put back, so that methods on a shared reference
/// never panic (as a `RefCell` could).
///
/// # Invariants
///
/// `guard` is the journal's lock, held for the whole transaction, and `committed`, `old`,
/// `record` and `block` stand for its state's fields until `Drop` puts them back; records of
/// transaction `committed + 1` fill the record area up to `used`.
pub(crate) struct Tx<'a> {
    sbi: &'a SbInfo,
    guard: MutexGuard<'a, JournalState>,
    /// No allocation in the transaction recurses into reclaim, which could evict an inode and
    /// so wait for the journal. Restored after the lock is released.
    _nofs: NoFsScope,
    committed: Cell<u64>,
    old: Cell<KVec<u8>>,
    record: Cell<KVec<u8>>,
    block: Cell<Option<KBox<[u8; format::BLOCK_SIZE]>>>,
    /// Bytes of the record area in use.
    used: Cell<u64>,
    /// Whether a logged write happened, so that there is something to commit.
    dirty: Cell<bool>,
    /// The last ranges logged, as (offset, end), in a ring.
    logged: Cell<[(u64, u64); LOGGED_RANGES]>,
    logged_next: Cell<usize>,
    /// Block runs allocated in this transaction, as (start, end).
    fresh: Cell<KVec<(u64, u64)>>,
    /// Block runs to free at the end, as (inode, start, length, parked): a parked run is
    /// freed on the device but kept from allocations until its page is unpinned
    /// ([`crate::park`]).
    freed: Cell<KVVec<(u64, u64, u64, bool)>>,
    /// A write of the transaction failed: it is half done whatever the caller's error.
    failed: Cell<bool>,
    /// Ended by [`Tx::end`]: `Drop` has nothing left to do.
    ended: Cell<bool>,
}

impl SbInfo {
    /// Starts a transaction, waiting for the running one to end; `EIO` once the file system is
    /// shut down (checked under the journal's lock, which a shutdown takes).
    pub(crate) fn begin(&self) -> Result<Tx<'_>> {
        let mut guard = self.journal.state.lock();
        self.pmem.check_running()?;
        let nofs = NoFsScope::enter();
        let (committed, old, record, block) = (
            guard.committed,
            core::mem::take(&mut guard.old),
            core::mem::take(&mut guard.record),
            guard.block.take(),
        );
        // INVARIANT: The lock is held; the state's fields are moved into the transaction.
        Ok(Tx {
            sbi: self,
            guard,
            _nofs: nofs,
            committed: Cell::new(committed),
            old: Cell::new(old),
            record: Cell::new(record),
            block: Cell::new(block),
            used: Cell::new(0),
            dirty: Cell::new(false),
            logged: Cell::new([(0, 0); LOGGED_RANGES]),
            logged_next: Cell::new(0),
            fresh: Cell::new(KVec::new()),
            freed: Cell::new(KVVec::new()),
            failed: Cell::new(false),
            ended: Cell::new(false),
        })
    }

    /// Runs `read` with no transaction running, for reads of metadata that nothing else orders
    /// after the transaction that writes it: an inode reached through a file handle rather than
    /// a name (under its directory's lock) may be in a transaction's allocation of its slot, half
    /// written, or allocated and freed again by a create that failed.
    pub(crate) fn read_between_transactions<R>(&self, read: impl FnOnce() -> R) -> R {
        let _journal = self.journal.state.lock();
        read()
    }

    /// Shuts the file system down (`FS_IOC_SHUTDOWN`, or the device going away): waits for the
    /// running transaction, which commits, then lets no other begin. What was committed is
    /// durable already. Nothing to do if it is down already.
    pub(crate) fn shut_down(&self, why: &str) {
        let _journal = self.journal.state.lock();
        if self.pmem.shut_down() {
            pr_alert!("shut down ({why}); every later operation fails with EIO until unmounted\n");
        }
    }
}

impl SbInfo {
    /// Ends the transaction after the last committed one before the first transaction of a
    /// remount read-write, as [`recover`] does at a read-write mount: a read-only mount starts
    /// none and leaves the number as it found it.
    pub(crate) fn end_interrupted_transaction(&self) -> Result {
        let mut state = self.journal.state.lock();
        let tx = state.committed.wrapping_add(1);
        self.pmem.fence()?;
        self.pmem.write_u64(self.journal.commit_offset, tx)?;
        self.pmem.fence()?;
        state.committed = tx;
        Ok(())
    }
}

impl<'a> Tx<'a> {
    /// The per-mount state.
    pub(crate) fn sbi(&self) -> &'a SbInfo {
        self.sbi
    }

    /// The persistent memory, for reading.
    pub(crate) fn pmem(&self) -> &'a Pmem {
        &self.sbi.pmem
    }

    /// Writes `bytes` at device byte `offset`, logging the old bytes first.
    pub(crate) fn write(&self, offset: u64, bytes: &[u8]) -> Result {
        self.log(offset, bytes.len() as u64)?;
        self.noting_failure(self.pmem().write(offset, bytes))
    }

    /// `result`, a write's, noting a failure: the transaction is half done.
    fn noting_failure<R>(&self, result: Result<R>) -> Result<R> {
        if result.is_err() {
            self.failed.set(true);
        }
        result
    }

    /// Writes the record `bytes` (at most a block) at device byte `offset` as [`Tx::write`] does,
    /// sealed with the checksum at byte `field`, but only the runs of bytes that differ from
    /// what is there ([`format::changed_runs`]): a rewritten extent leaf changes its header and
    /// the extents from the change on, and the rest need not be logged, written, flushed or
    /// checksummed again. The checksum, which `bytes` leaves for this to fill, is the old one
    /// updated by the runs ([`format::checksum_after_change`]), so that bytes past `used` in
    /// both, zero as far as the caller knows, are neither read nor compared.
    pub(crate) fn write_changed_sealed(
        &self,
        offset: u64,
        bytes: &mut [u8],
        field: usize,
        used: usize,
    ) -> Result {
        let mut current = self.old.take();
        let written = match current.get_mut(..bytes.len()) {
            Some(current) => self.write_runs(offset, bytes, current, field, used),
            None => Err(EINVAL),
        };
        self.old.set(current);
        self.noting_failure(written)
    }

    /// [`Tx::write_changed_sealed`] through `current`, a buffer as long as `bytes`: the undo
    /// records of every run are made from the bytes read to compare, and fenced once.
    fn write_runs(
        &self,
        offset: u64,
        bytes: &mut [u8],
        current: &mut [u8],
        field: usize,
        used: usize,
    ) -> Result {
        let pmem = self.pmem();
        let checksum = field..field.checked_add(4).ok_or(EINVAL)?;
        let mut len = used.max(checksum.end).min(bytes.len());
        pmem.read(offset, current.get_mut(..len).ok_or(EINVAL)?)?;
        let old_sum = current.get(checksum.clone()).ok_or(EINVAL)?;
        let old_sum = u32::from_le_bytes(old_sum.try_into().map_err(|_| EINVAL)?);
        if old_sum == 0 {
            // Never sealed (a new leaf's block, zeroed when allocated; or a checksum that
            // happens to be 0): checksummed whole below, so compared whole.
            let rest = current.get_mut(len..).ok_or(EINVAL)?;
            // CAST: an index into `bytes`, far below `u64::MAX`.
            pmem.read(offset + len as u64, rest)?;
            len = bytes.len();
        }
        // Past `len`, old and new are the same: no change there.
        let unchanged = bytes.len() - len;
        let (old, new) = (
            current.get(..len).ok_or(EINVAL)?,
            bytes.get_mut(..len).ok_or(EINVAL)?,
        );
        new.get_mut(checksum.clone())
            .ok_or(EINVAL)?
            .copy_from_slice(&old_sum.to_le_bytes());
        // The field's words are in a run: the checksum changes with any change.
        let (runs, count) = format::changed_runs(new, old, Some(checksum.clone()));
        let runs = runs.get(..count).ok_or(EINVAL)?;
        let sum = if old_sum == 0 {
            // The field reads as zero in `new` now.
            format::checksum_without_field(new, field)
        } else {
            format::checksum_after_change(old_sum, old, new, runs, unchanged)
        };
        new.get_mut(checksum)
            .ok_or(EINVAL)?
            .copy_from_slice(&sum.to_le_bytes());
        // CAST: indices into `bytes`, far below `u64::MAX`.
        let at = |run: &Range<usize>| offset + run.start as u64..offset + run.end as u64;
        let mut logged = false;
        for run in runs {
            logged |= self.write_records(at(run), old.get(run.clone()).ok_or(EINVAL)?)?;
        }
        if logged {
            self.logged_durable(runs.iter().map(at))?;
        }
        for run in runs {
            pmem.write(at(run).start, new.get(run.clone()).ok_or(EINVAL)?)?;
        }
        Ok(())
    }

    /// Runs `f` with a buffer to encode a metadata block in before writing it: the mount's one,
    /// which the journal lock makes the transaction's, so that a change neither allocates nor
    /// zeroes a block of memory of its own.
    pub(crate) fn with_block_buffer<R>(
        &self,
        f: impl FnOnce(&mut [u8; format::BLOCK_SIZE]) -> Result<R>,
    ) -> Result<R> {
        let mut buffer = match self.block.take() {
            Some(buffer) => buffer,
            // Lent already (by a caller of the caller): a buffer of its own.
            None => KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL)?,
        };
        let result = f(&mut buffer);
        self.block.set(Some(buffer));
        result
    }

    /// Stores `value` in the aligned word at device byte `offset`, logging the old one first.
    pub(crate) fn write_u64(&self, offset: u64, value: u64) -> Result {
        self.log(offset, 8)?;
        self.noting_failure(self.pmem().write_u64(offset, value))
    }

    /// Zeroes `len` bytes at device byte `offset`, logging the old bytes first unless the
    /// transaction allocated them.
    pub(crate) fn zero(&self, offset: u64, len: u64) -> Result {
        self.log(offset, len)?;
        self.noting_failure(self.pmem().zero(offset, len))
    }

    /// Zeroes `len` bytes of file data at device byte `offset`, unlogged: file data is not
    /// metadata, and its bytes beyond the size are never read.
    pub(crate) fn zero_data(&self, offset: u64, len: u64) -> Result {
        self.noting_failure(self.pmem().zero(offset, len))
    }

    /// Notes that the transaction allocated blocks `start..start + len`: writes to them need no
    /// undo, since undoing the transaction frees them again.
    pub(crate) fn allocated(&self, start: u64, len: u64) {
        let mut fresh = self.fresh.take();
        let end = start.saturating_add(len);
        match fresh.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            // Without room the blocks are just logged when written.
            _ => drop(fresh.push((start, end), GFP_KERNEL)),
        }
        self.fresh.set(fresh);
    }

    /// Frees `len` blocks from `start` of inode `ino` when the transaction ends, so that it
    /// never hands them out again itself: its undo would make them live.
    pub(crate) fn free_later(&self, ino: u64, start: u64, len: u64) -> Result {
        self.release_later(ino, start, len, false)
    }

    /// Frees `len` blocks from `start` of inode `ino` when the transaction ends, as
    /// [`Tx::free_later`] does, but parks them: no allocation gets them until
    /// [`crate::alloc::Allocator::unpark`], once the page that a device has pinned over them is
    /// idle.
    pub(crate) fn park_later(&self, ino: u64, start: u64, len: u64) -> Result {
        self.release_later(ino, start, len, true)
    }

    fn release_later(&self, ino: u64, start: u64, len: u64, parked: bool) -> Result {
        let mut freed = self.freed.take();
        let pushed = freed.push((ino, start, len, parked), GFP_KERNEL);
        self.freed.set(freed);
        pushed.map_err(|_| ENOMEM)
    }

    /// Whether the bytes `offset..end` need no undo record: in blocks the transaction
    /// allocated, or inside a range it logged.
    fn covered(&self, offset: u64, end: u64) -> bool {
        let block_size = format::BLOCK_SIZE_U64;
        let (first, last) = (offset / block_size, end.div_ceil(block_size));
        let fresh = self.fresh.take();
        let in_fresh = fresh
            .iter()
            .any(|&(start, stop)| first >= start && last <= stop);
        self.fresh.set(fresh);
        in_fresh
            || self
                .logged
                .get()
                .iter()
                .any(|&(start, stop)| offset >= start && end <= stop)
    }

    /// Saves the old bytes of `offset..offset + len` in undo records, durable before this
    /// returns, unless they need none.
    fn log(&self, offset: u64, len: u64) -> Result {
        let range = offset..offset.checked_add(len).ok_or(EINVAL)?;
        let mut buffer = self.old.take();
        let logged = self.log_read(range.clone(), &mut buffer);
        self.old.set(buffer);
        if self.noting_failure(logged)? {
            self.logged_durable(core::iter::once(range))?;
        }
        Ok(())
    }

    /// Writes the undo records of `range` with its old bytes read through `buffer`, a chunk at a
    /// time, unless it needs none; returns whether it wrote any.
    fn log_read(&self, range: Range<u64>, buffer: &mut [u8]) -> Result<bool> {
        if range.is_empty() || self.covered(range.start, range.end) {
            return Ok(false);
        }
        let mut at = range.start;
        while at < range.end {
            // CAST: at most the buffer's length.
            let chunk = (range.end - at).min(buffer.len() as u64) as usize;
            let old = buffer.get_mut(..chunk).ok_or(EINVAL)?;
            self.pmem().read(at, old)?;
            self.write_records(at..at + chunk as u64, old)?;
            at += chunk as u64;
        }
        Ok(true)
    }

    /// Fences the undo records written so far, so that the ranges they cover (`ranges`) may
    /// change, and remembers those ranges as logged.
    fn logged_durable(&self, ranges: impl Iterator<Item = Range<u64>>) -> Result {
        self.pmem().fence()?;
        self.dirty.set(true);
        let mut logged = self.logged.get();
        let mut next = self.logged_next.get();
        for range in ranges {
            if let Some(slot) = logged.get_mut(next) {
                *slot = (range.start, range.end);
            }
            next = (next + 1) % LOGGED_RANGES;
        }
        self.logged.set(logged);
        self.logged_next.set(next);
        Ok(())
    }

    /// Writes the undo records of `range`, whose old bytes are `old`, unless it needs none
    /// (unfenced); returns whether it wrote any.
    fn write_records(&self, range: Range<u64>, old: &[u8]) -> Result<bool> {
        if range.is_empty() || self.covered(range.start, range.end) {
            return Ok(false);
        }
        if crate::vfs::fail_injected() {
            return Err(EIO);
        }
        let pmem = self.pmem();
        let (area_start, area_len) = self.sbi.journal.records;
        let tx = self.committed.get().wrapping_add(1);
        let mut record = self.record.take();
        let mut written = Ok(());
        let mut at = range.start;
        for old in old.chunks(format::JOURNAL_RECORD_MAX_DATA) {
            let record_len = format::journal_record_len(old.len()) as u64;
            if self.used.get() + record_len > area_len {
                report_corruption!(
                    "journal full: a transaction needs more than {area_len} bytes of undo records\n"
                );
                written = Err(ENOSPC);
                break;
            }
            written = format::encode_journal_record(&mut record, tx, at, old)
                .map_err(|_| EINVAL)
                .and_then(|len| record.get(..len).ok_or(EINVAL))
                .and_then(|bytes| pmem.write(area_start + self.used.get(), bytes));
            if written.is_err() {
                break;
            }
            self.used.set(self.used.get() + record_len);
            at += old.len() as u64;
        }
        self.record.set(record);
        written.map(|()| true)
    }

    /// Makes everything written so far durable and commits it: the commit word's one 8-byte
    /// store between two fences. The next writes belong to a new transaction.
    fn commit_written(&self) -> Result {
        if !self.dirty.get() {
            return Ok(());
        }
        let pmem = self.pmem();
        let tx = self.committed.get().wrapping_add(1);
        pmem.fence()?;
        pmem.write_u64(self.sbi.journal.commit_offset, tx)?;
        pmem.fence()?;
        self.committed.set(tx);
        self.used.set(0);
        self.dirty.set(false);
        self.logged.set([(0, 0); LOGGED_RANGES]);
        let mut fresh = self.fresh.take();
        fresh.clear();
        self.fresh.set(fresh);
        Ok(())
    }

    /// Commits what the transaction wrote so far if its records fill half the journal, for
    /// operations on ranges that may be too fragmented for one transaction: the caller calls it
    /// where the file system is consistent (a crash after it leaves that state).
    pub(crate) fn commit_if_half_full(&self) -> Result {
        if self.failed.get() {
            // Never commit what a failed write left half done.
            return Err(EIO);
        }
        if self.used.get() > self.sbi.journal.records.1 / 2 {
            self.commit_written()?;
        }
        Ok(())
    }

    /// Frees the blocks the transaction let go of, then commits. A free that does not fit in
    /// the journal any more is done in a transaction of its own after a commit: a crash in
    /// between leaves blocks marked used that nothing references, never a block in use marked
    /// free.
    fn finish(&self) -> Result {
        let freed = self.freed.take();
        let mut result = Ok(());
        for &(ino, start, len, parked) in freed.iter() {
            let alloc = &self.sbi.alloc;
            result = match alloc.free_blocks_now(self, ino, start, len, parked) {
                Err(e) if e == ENOSPC && self.dirty.get() => self
                    .commit_written()
                    .and_then(|()| alloc.free_blocks_now(self, ino, start, len, parked)),
                other => other,
            };
            if result.is_err() {
                // The rest leaks (fsck reclaims it); what was written is committed anyway.
                break;
            }
        }
        // Always committed, even after an error: records left behind would be undone with the
        // next transaction, which reuses the number.
        let committed = self.commit_written();
        result.and(committed)
    }

    /// Ends the transaction of an operation whose result is `result`: commits it (freeing what
    /// it let go of) if the operation succeeded, or failed with an error it checks for before
    /// changing anything or recovers from itself (a full file system, a name that exists, and
    /// the like: [`leaves_consistent`]). Any other error (corruption found midway, no memory, a
    /// device error) may have left the operation half done: the transaction is not committed
    /// and the file system is shut down, as XFS does when it cancels a dirty transaction. Its
    /// undo records stay in the journal, and the next mount (or fsck) undoes them, as after a
    /// crash at that point. The caller's error is returned, not one of the commit.
    pub(crate) fn end<R>(self, result: Result<R>) -> Result<R> {
        self.ended.set(true);
        match result {
            // A write that failed without the operation hearing of it: half done all the same.
            Ok(_) if self.failed.get() => {
                self.abort(EIO);
                Err(EIO)
            }
            Ok(value) => self.finish().map(|()| value),
            Err(e) if !self.failed.get() && leaves_consistent(e) => {
                if let Err(commit) = self.finish() {
                    pr_err!("could not commit a transaction ({commit:?}); run fsck.daxfs\n");
                }
                Err(e)
            }
            Err(e) => {
                self.abort(e);
                Err(e)
            }
        }
    }

    /// Ends a transaction whose operation failed midway with `e`: if it changed anything, or a
    /// write of it failed (the device misbehaves, or a test injected the failure), leaves its
    /// undo records for recovery and shuts the file system down (the journal's lock is held: no
    /// other transaction begins in between). Blocks it meant to free stay allocated.
    fn abort(&self, e: Error) {
        if !self.dirty.get() && !self.failed.get() {
            // Nothing written since the last commit: nothing to undo.
            return;
        }
        let tx = self.committed.get().wrapping_add(1);
        if self.sbi.pmem.shut_down() {
            pr_alert!(
                "transaction {tx} failed midway (error {}): shut down with it uncommitted; \
                 unmount, and the next mount or fsck.daxfs undoes it\n",
                e.to_errno()
            );
        }
    }
}

/// Whether an operation that failed with `e` has left its transaction consistent: these are the
/// errors daxfs gives for what the caller asked (a name that exists, a directory not empty, too
/// many links, too big) or for a full file system, which it checks before changing anything or
/// stops at a consistent point for (a write that runs out of space writes what fits).
fn leaves_consistent(e: Error) -> bool {
    [
        ENOSPC,
        EDQUOT,
        EEXIST,
        ENOTEMPTY,
        EMLINK,
        ENAMETOOLONG,
        EFBIG,
        EAGAIN,
        ENOENT,
        EOPNOTSUPP,
        EPERM,
        EINTR,
    ]
    .contains(&e)
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.ended.get() {
            if let Err(e) = self.finish() {
                pr_err!("could not commit a transaction ({e:?}); run fsck.daxfs\n");
            }
        }
        // Back to the journal's state, for the next transaction.
        self.guard.committed = self.committed.get();
        self.guard.old = self.old.take();
        self.guard.record = self.record.take();
        self.guard.block = self.block.take();
    }
}
