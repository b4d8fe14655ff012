// SPDX-License-Identifier: GPL-2.0

//! Failure injection for tests: makes one logged metadata write fail, so that a test can check
//! what a transaction that fails midway leaves (see `Tx::end` in the journal).
//!
//! Driven through debugfs, `/sys/kernel/debug/daxfs/fail_logged_write`: writing `N` makes the
//! `N`th logged write from then on (of any mount) fail with `EIO`, once; `0` disarms it.
//! Reading gives the writes left before the failure (0: none armed). While disarmed, a logged
//! write costs one relaxed load of [`COUNTDOWN`].

use core::fmt;

use kernel::{
    debugfs::Reader,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    uaccess::UserSliceReader,
};

/// Logged writes left until the one that fails, that one included; 0 when disarmed.
static COUNTDOWN: Atomic<u64> = Atomic::new(0);

/// Whether this logged write is the one to fail: counts it down if a failure is armed.
#[inline]
pub(crate) fn fail_injected() -> bool {
    let mut left = COUNTDOWN.load(Relaxed);
    while left != 0 {
        match COUNTDOWN.cmpxchg(left, left - 1, Relaxed) {
            Ok(_) => return left == 1,
            Err(now) => left = now,
        }
    }
    false
}

/// The debugfs file `fail_logged_write`.
pub(super) struct FailControl;

impl fmt::Debug for FailControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", COUNTDOWN.load(Relaxed))
    }
}

impl Reader for FailControl {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 21];
        let text = buf.get_mut(..reader.len()).ok_or(EINVAL)?;
        reader.read_slice(text)?;
        let text = core::str::from_utf8(text).map_err(|_| EINVAL)?;
        let count = text.trim().parse::<u64>().map_err(|_| EINVAL)?;
        COUNTDOWN.store(count, Relaxed);
        Ok(())
    }
}
