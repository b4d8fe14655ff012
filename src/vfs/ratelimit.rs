// SPDX-License-Identifier: GPL-2.0

//! The rate limit of reports about corrupted metadata.
//!
//! C header: [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h).

use super::raw;

/// Whether a report of corrupted metadata may be logged now: at most 10 lines every 5 seconds
/// (the printk default), shared by all of daxfs, so that a damaged image cannot flood the log.
pub(crate) fn corruption_report_allowed() -> bool {
    // SAFETY: The glue function only takes its own static rate-limit state's lock.
    unsafe { raw::daxfs_corruption_report_allowed() }
}
