// SPDX-License-Identifier: GPL-2.0

//! daxfs's trace events (`rust/daxfs_trace.h`), as safe functions.
//!
//! Each tests its tracepoint's static key inline, as `kernel::declare_trace!` does for the
//! kernel's own events (which an out-of-tree module cannot add to `kernel::bindings`): while an
//! event is disabled it costs a patched-out jump, and the C function that records it is called
//! only when it is enabled.

use super::raw;

macro_rules! trace_events {
    ($($(#[$attr:meta])* fn $name:ident => $tp:ident, $do_trace:ident($($arg:ident: $ty:ty),* $(,)?);)*) => {$(
        $(#[$attr])*
        #[inline(always)]
        pub(crate) fn $name($($arg: $ty),*) {
            // SAFETY: `$tp` is the tracepoint that `rust/daxfs_trace.c` defines, a real static
            // key; querying it is always allowed.
            let enabled = unsafe {
                kernel::static_branch_unlikely!(raw::$tp, raw::tracepoint, key)
            };
            if enabled {
                // SAFETY: The recording function takes plain values and may run in any context
                // that can fire a tracepoint.
                unsafe { raw::$do_trace($($arg),*) };
            }
        }
    )*};
}

trace_events! {
    /// `daxfs:daxfs_fault`: a DAX fault and its `vm_fault_t` result.
    fn fault => __tracepoint_daxfs_fault,
        rust_do_trace_daxfs_fault(ino: u64, pgoff: u64, order: u32, write: bool, result: u32);
    /// `daxfs:daxfs_alloc_blocks`: a run of blocks allocated (zeroed, unless unwritten) for
    /// inode `ino`.
    fn alloc_blocks => __tracepoint_daxfs_alloc_blocks,
        rust_do_trace_daxfs_alloc_blocks(ino: u64, start: u64, len: u64);
    /// `daxfs:daxfs_free_blocks`: a run of blocks of inode `ino` freed.
    fn free_blocks => __tracepoint_daxfs_free_blocks,
        rust_do_trace_daxfs_free_blocks(ino: u64, start: u64, len: u64);
    /// `daxfs:daxfs_convert_unwritten`: a run of unwritten blocks of inode `ino`, from file block
    /// `file_block`, zeroed and marked written for a write or a write fault.
    fn convert_unwritten => __tracepoint_daxfs_convert_unwritten,
        rust_do_trace_daxfs_convert_unwritten(ino: u64, file_block: u64, start: u64, len: u64);
    /// `daxfs:daxfs_layout_wait_start`: a layout break waits for the page `pfn` to be unpinned.
    fn layout_wait_start => __tracepoint_daxfs_layout_wait_start,
        rust_do_trace_daxfs_layout_wait_start(ino: u64, start: i64, end: i64, pfn: usize);
    /// `daxfs:daxfs_layout_wait_end`: the wait is over, after `waited_ns`, with `error`.
    fn layout_wait_end => __tracepoint_daxfs_layout_wait_end,
        rust_do_trace_daxfs_layout_wait_end(ino: u64, start: i64, end: i64, waited_ns: u64, error: i32);
    /// `daxfs:daxfs_truncate`: a size change, and the blocks it freed.
    fn truncate => __tracepoint_daxfs_truncate,
        rust_do_trace_daxfs_truncate(ino: u64, old_size: u64, new_size: u64, freed_blocks: u64);
    /// `daxfs:daxfs_punch_hole`: a punched hole or zeroed range, and the blocks it freed.
    fn punch_hole => __tracepoint_daxfs_punch_hole,
        rust_do_trace_daxfs_punch_hole(ino: u64, offset: u64, len: u64, freed_blocks: u64, zero_range: bool);
    /// `daxfs:daxfs_evict`: the last reference to an inode is gone.
    fn evict => __tracepoint_daxfs_evict,
        rust_do_trace_daxfs_evict(ino: u64, nlink: u32, blocks: u64);
    /// `daxfs:daxfs_park`: a truncate left `blocks` blocks of the pinned page `pfn`, which
    /// mapped the bytes `start..start + len`, parked until the pin goes.
    fn park => __tracepoint_daxfs_park,
        rust_do_trace_daxfs_park(ino: u64, start: u64, len: u64, blocks: u64, pfn: usize);
    /// `daxfs:daxfs_unpark`: the page that mapped `start` went idle; its `blocks` parked blocks
    /// are free again, after `parked_ns`.
    fn unpark => __tracepoint_daxfs_unpark,
        rust_do_trace_daxfs_unpark(ino: u64, start: u64, blocks: u64, parked_ns: u64);
}
