// SPDX-License-Identifier: GPL-2.0

//! The crash-state recorder: a log of every metadata store and fence that daxfs issues to
//! persistent memory, for the host's crash-state explorer (`make crashtest`).
//!
//! [`Pmem`](super::Pmem) is the one place through which daxfs writes metadata, so recording
//! there sees every store in the order it was issued. File data written by DAX I/O or through
//! user mappings does not pass through it and is not recorded. The log format is the one that
//! `tools/src/crash.rs` parses: per event a tag byte, then for a store (`W`) the `u64` device
//! offset, the `u32` length and the bytes, for a zeroing (`Z`) the offset and length, and nothing
//! for a fence (`F`); integers are little-endian.
//!
//! It is driven through debugfs, `/sys/kernel/debug/daxfs/crashlog`: writing `start` begins a
//! new log (of all mounts: the workloads that use it run one), writing `stop` ends it, and
//! reading the file gives the last ended log. A log that outgrew [`CAPACITY`] stops recording
//! and reads as `EFBIG`, so that a partial log is never taken for a whole one. While nothing is
//! recorded, a store costs one relaxed load of [`RECORDING`].

use kernel::{
    debugfs::{
        BinaryReader,
        BinaryWriter,
        Dir,
        File, //
    },
    fs::file,
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex,
    },
    uaccess::{
        UserSliceReader,
        UserSliceWriter, //
    },
};

use super::fail::FailControl;

/// The most bytes one log may hold; more ends the recording with the log marked overflowed.
const CAPACITY: usize = 64 << 20;

/// Tag of a store record.
const TAG_STORE: u8 = b'W';
/// Tag of a zeroing record.
const TAG_ZERO: u8 = b'Z';
/// Tag of a fence record.
const TAG_FENCE: u8 = b'F';

/// Whether a log is being recorded: the fast path's hint. [`LOG`]'s `active` decides, under
/// the lock.
static RECORDING: Atomic<bool> = Atomic::new(false);

/// The log being recorded.
struct Log {
    /// The records so far; its capacity was reserved at `start`, so that appending never
    /// allocates while the file system holds its locks.
    bytes: KVVec<u8>,
    /// Recording (`start` seen, no `stop` since).
    active: bool,
    /// A record did not fit: the log is incomplete.
    overflowed: bool,
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in `Recorder::new`, at module load, before any use.
    unsafe(uninit) static LOG: Mutex<Log> = Log {
        bytes: KVVec::new(),
        active: false,
        overflowed: false,
    };
}

/// Whether stores are being recorded.
#[inline]
pub(super) fn recording() -> bool {
    RECORDING.load(Relaxed)
}

/// Records `bytes` stored at device byte `offset`.
pub(super) fn store(offset: u64, bytes: &[u8]) {
    append(TAG_STORE, offset, u32::try_from(bytes.len()).ok(), bytes);
}

/// Records `len` zero bytes stored at device byte `offset`.
pub(super) fn zero(offset: u64, len: u64) {
    append(TAG_ZERO, offset, u32::try_from(len).ok(), &[]);
}

/// Records a fence.
pub(super) fn fence() {
    let mut log = LOG.lock();
    if log.active && !push(&mut log.bytes, &[TAG_FENCE]) {
        overflow(&mut log);
    }
}

/// Appends a record with `tag`, `offset`, `len` and `payload` (empty for a zeroing). A length
/// the format cannot hold (4 GiB or more, which no metadata update comes near) ends the log as
/// incomplete.
fn append(tag: u8, offset: u64, len: Option<u32>, payload: &[u8]) {
    let mut log = LOG.lock();
    if !log.active {
        return;
    }
    let Some(len) = len else {
        return overflow(&mut log);
    };
    let mut header = [0u8; 13];
    header[0] = tag;
    header[1..9].copy_from_slice(&offset.to_le_bytes());
    header[9..].copy_from_slice(&len.to_le_bytes());
    if !push(&mut log.bytes, &header) || !push(&mut log.bytes, payload) {
        overflow(&mut log);
    }
}

/// Appends `bytes` to `log` within its reserved capacity; false if they do not fit.
fn push(log: &mut KVVec<u8>, bytes: &[u8]) -> bool {
    log.capacity() - log.len() >= bytes.len() && log.extend_from_slice(bytes, GFP_NOWAIT).is_ok()
}

/// Ends the recording of `log` as incomplete.
fn overflow(log: &mut Log) {
    log.overflowed = true;
    log.active = false;
    RECORDING.store(false, Relaxed);
}

/// The debugfs file `crashlog`: commands in, the last ended log out.
#[pin_data]
struct Control {
    /// The last ended log; `None` if it overflowed.
    #[pin]
    ended: Mutex<Option<KVVec<u8>>>,
}

impl Control {
    /// Begins a new log, dropping one being recorded.
    fn start(&self) -> Result {
        let bytes = KVVec::with_capacity(CAPACITY, GFP_KERNEL)?;
        let mut log = LOG.lock();
        log.bytes = bytes;
        log.active = true;
        log.overflowed = false;
        RECORDING.store(true, Relaxed);
        Ok(())
    }

    /// Ends the log being recorded and keeps it for reading.
    fn stop(&self) {
        RECORDING.store(false, Relaxed);
        let (bytes, overflowed) = {
            let mut log = LOG.lock();
            log.active = false;
            (core::mem::take(&mut log.bytes), log.overflowed)
        };
        // Taken after `LOG` is released: `ended` is held while copying to user space, which may
        // fault, and faults record stores.
        *self.ended.lock() = (!overflowed).then_some(bytes);
    }
}

impl BinaryReader for Control {
    fn read_from_slice(
        &self,
        reader: &mut UserSliceReader,
        _offset: &mut file::Offset,
    ) -> Result<usize> {
        let len = reader.len();
        let mut command = [0u8; 8];
        let Some(buf) = command.get_mut(..len) else {
            return Err(EINVAL);
        };
        reader.read_slice(buf)?;
        match buf.trim_ascii() {
            b"start" => self.start()?,
            b"stop" => self.stop(),
            _ => return Err(EINVAL),
        }
        Ok(len)
    }
}

impl BinaryWriter for Control {
    fn write_to_slice(
        &self,
        writer: &mut UserSliceWriter,
        offset: &mut file::Offset,
    ) -> Result<usize> {
        match &*self.ended.lock() {
            Some(bytes) => writer.write_slice_file(bytes, offset),
            None => Err(EFBIG),
        }
    }
}

/// The debugfs directory of daxfs and its files, present while the module is loaded: the
/// recorder's `crashlog`, and `fail_logged_write` ([`super::fail`]).
#[pin_data]
pub(crate) struct DebugFiles {
    #[pin]
    control: File<Control>,
    #[pin]
    fail: File<FailControl>,
    _dir: Dir,
    /// Dropped last, once nothing can start a log: frees the one being recorded.
    _log: LogOwner,
}

/// Frees a log still being recorded when the module goes (statics are not dropped).
struct LogOwner;

impl Drop for LogOwner {
    fn drop(&mut self) {
        RECORDING.store(false, Relaxed);
        let bytes = {
            let mut log = LOG.lock();
            log.active = false;
            core::mem::take(&mut log.bytes)
        };
        drop(bytes);
    }
}

impl DebugFiles {
    /// Sets up the recorder, off, no failure armed, and the debugfs files. Called once, at
    /// module load.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        // SAFETY: Called once, at module load, before anything can record.
        unsafe { LOG.init() };
        let dir = Dir::new(c"daxfs");
        try_pin_init!(Self {
            control <- dir.read_write_binary_file(
                c"crashlog",
                try_pin_init!(Control {
                    ended <- new_mutex!(Some(KVVec::new())),
                }? Error),
            ),
            fail <- dir.read_write_file(c"fail_logged_write", FailControl),
            _dir: dir,
            _log: LogOwner,
        }? Error)
    }
}
