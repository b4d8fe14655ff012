// SPDX-License-Identifier: GPL-2.0

//! DAX pages that a device keeps pinned after the file range they mapped is cut off: what a
//! truncate that does not wait for pins needs from the mapping ([`PinnedPage`],
//! [`InvalidateExclusive::break_idle_layouts`]), and a work queue to poll them from
//! ([`OwnedQueue`]).
//!
//! The mapping entry of a pinned page cannot be deleted: deleting it puts the folio
//! (`dax_folio_put`), which warns while the page has references and, for a PMD entry, splits the
//! compound page under the pin. So the entry stays, beyond the new end of file, where no fault
//! can reach it (DAX faults check `i_size` before they look entries up), until the page is idle.
//! The kernel calls nothing when that happens (`wake_up_var` on the page only), so the file
//! system polls. A page's pinned folio is its mapping entry's: the head page of a PMD entry for
//! a 2 MiB mapping, one page otherwise.
//!
//! C header: [`include/linux/dax.h`](srctree/include/linux/dax.h).

use core::ptr::NonNull;

use kernel::{
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
    workqueue::Queue, //
};

use super::{
    fs_type::{
        ARef,
        FileSystem, //
    },
    inode::Inode,
    locks::InvalidateExclusive,
    raw,
};

/// A DAX folio of a file that was still pinned when its range was cut off the file, and whose
/// mapping entry therefore stays until the pin goes.
///
/// # Invariants
///
/// `pgmap` is a reference to the `dev_pagemap` of `page`, put only in `Drop`: it keeps the
/// device's page structures, `page` among them, from going away. `page` is the head page of a
/// DAX folio that, when it was found, was associated with `inode`'s mapping at page `index`,
/// `pages` pages long.
pub(crate) struct PinnedPage<T: FileSystem> {
    inode: ARef<Inode<T>>,
    pgmap: NonNull<raw::dev_pagemap>,
    page: NonNull<raw::page>,
    index: u64,
    pages: u64,
}

// SAFETY: A `PinnedPage` reads the page's reference count (atomic) and folio fields, and deletes
// its mapping entry under the inode's invalidate lock and the mapping's xarray lock
// (`dax_delete_mapping_range`), from any thread alike; the inode and pagemap references may be
// put on any thread.
unsafe impl<T: FileSystem> Send for PinnedPage<T> {}
// SAFETY: See `Send`: every access through `&PinnedPage` takes those locks or is atomic.
unsafe impl<T: FileSystem> Sync for PinnedPage<T> {}

impl<T: FileSystem> Drop for PinnedPage<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `pgmap` holds a reference, put only here.
        unsafe { raw::daxfs_pgmap_put(self.pgmap.as_ptr()) };
    }
}

impl<T: FileSystem> PinnedPage<T> {
    /// The first byte of the file the folio mapped.
    pub(crate) fn start(&self) -> u64 {
        self.index << PAGE_SHIFT
    }

    /// The bytes of the file the folio mapped.
    pub(crate) fn len(&self) -> u64 {
        self.pages << PAGE_SHIFT
    }

    /// The page frame number of the folio's head page (for trace events).
    pub(crate) fn pfn(&self) -> usize {
        // SAFETY: By the type invariant the page lives (its pagemap reference is held).
        unsafe { raw::daxfs_page_to_pfn(self.page.as_ptr()) }
    }

    /// Whether the page has no reference left: nothing has it pinned (or mapped; nothing can map
    /// it again).
    pub(crate) fn is_idle(&self) -> bool {
        // SAFETY: By the type invariant the page lives (its pagemap reference is held).
        unsafe { raw::daxfs_dax_page_idle(self.page.as_ptr()) }
    }

    /// Once the page is idle, deletes its mapping entry if it is still there (a file that grew
    /// over the range deleted it itself, after waiting for the pin), under the inode's
    /// invalidate lock: afterwards nothing refers to the folio and its blocks may go to another
    /// file. Returns whether the page was idle; if not, nothing changed.
    pub(crate) fn forget(&self) -> bool {
        let inode = self.inode.as_raw();
        let _invalidate = self.inode.invalidate_lock();
        if !self.is_idle() {
            return false;
        }
        let (mut index, mut pages) = (0, 0);
        // SAFETY: By the type invariant the page lives, and the inode (so its mapping); the
        // outputs are valid.
        let associated = unsafe {
            raw::daxfs_dax_folio_range(
                self.page.as_ptr(),
                (*inode).i_mapping,
                &mut index,
                &mut pages,
            )
        };
        // The folio is associated with the mapping only through its entry at `index`: nothing
        // but that entry's deletion dissociates it, and its blocks are parked, so no other
        // entry can have taken it.
        if associated && index as u64 == self.index && pages as u64 == self.pages {
            let (start, end) = byte_range(self.index, self.pages);
            // SAFETY: The invalidate lock is held exclusively, so no fault maps the range
            // meanwhile; the page is idle, so deleting its entry puts the folio cleanly.
            unsafe { raw::dax_delete_mapping_range((*inode).i_mapping, start, end) };
        }
        true
    }
}

/// The bytes `first..=last` of the `pages` pages from page `index`, as `loff_t`.
fn byte_range(index: u64, pages: u64) -> (i64, i64) {
    // CAST: page indices of a file are below `MAX_FILE_SIZE >> PAGE_SHIFT`, so their byte
    // offsets fit `loff_t`.
    let start = (index << PAGE_SHIFT) as i64;
    (start, start + (pages << PAGE_SHIFT) as i64 - 1)
}

impl<T: FileSystem> InvalidateExclusive<'_, T> {
    /// Unmaps the bytes `waited..end` of the file (`waited` and `start` page aligned) and
    /// deletes the mapping entries of every page of them that is idle. Pins on `waited..start`
    /// are waited for, as [`InvalidateExclusive::break_layouts`] waits (and, as there, a signal
    /// gives `ERESTARTSYS`); pins on `start..end` are not: this returns those pages, whose
    /// entries stay (see the module documentation). A pinned 2 MiB folio that begins before
    /// `start` is waited for too, and everything if the list cannot grow. Whenever it waited (the
    /// lock is dropped meanwhile, and faults may map the range again) it starts over, so that on
    /// return nothing in `waited..start` is mapped or pinned.
    pub(crate) fn break_idle_layouts(
        &self,
        waited: u64,
        start: u64,
        end: u64,
    ) -> Result<KVec<PinnedPage<T>>> {
        let inode = self.inode();
        if !inode.is_dax() || start >= end {
            // A page cache holds no DAX entries (its value entries are shadows): nothing pins
            // its blocks.
            if waited < end.max(start) {
                self.break_layouts(waited, end.max(start) - 1)?;
            }
            return Ok(KVec::new());
        }
        // SAFETY: By the type invariant of `InvalidateExclusive` the inode is live.
        let mapping = unsafe { (*inode.as_raw()).i_mapping };
        // CAST: byte offsets saturate at `LLONG_MAX`, the end of any file.
        let end = (end - 1).min(i64::MAX as u64) as i64;
        'scan: loop {
            if waited < start {
                self.break_layouts(waited, start - 1)?;
            }
            let mut pinned = KVec::new();
            let mut pos = i64::try_from(start).map_err(|_| EFBIG)?;
            while pos <= end {
                // SAFETY: The invalidate lock is held exclusively, as the scan expects: no
                // fault maps the range between its unmap and its look at the entries.
                let page = unsafe { raw::dax_layout_busy_page_range(mapping, pos, end) };
                let Some(page) = NonNull::new(page) else {
                    // SAFETY: As above; every page from `pos` on is idle.
                    unsafe { raw::dax_delete_mapping_range(mapping, pos, end) };
                    break;
                };
                let (mut index, mut pages) = (0, 0);
                // SAFETY: `page` is the page of a DAX entry of the mapping, which stays while the
                // invalidate lock is held, on the mounted device; the outputs are valid.
                let associated = unsafe {
                    raw::daxfs_dax_folio_range(page.as_ptr(), mapping, &mut index, &mut pages)
                };
                if !associated {
                    // A folio that the mapping does not know (shared, which no daxfs mapping
                    // makes): everything is waited for. The lock is dropped meanwhile, so
                    // faults may have mapped the range again: rescan.
                    self.break_layouts(pos as u64, end as u64)?;
                    continue 'scan;
                }
                let (folio_start, folio_end) = byte_range(index as u64, pages as u64);
                if folio_start < pos {
                    // A folio that begins before the range (it keeps bytes of the file): waited
                    // for, as above.
                    self.break_layouts(pos as u64, pos as u64)?;
                    continue 'scan;
                }
                // SAFETY: As above.
                let pgmap = unsafe { raw::daxfs_pgmap_get(page.as_ptr()) };
                let Some(pgmap) = NonNull::new(pgmap) else {
                    // The device is going away: the folio is waited for, as above.
                    self.break_layouts(folio_start as u64, folio_end as u64)?;
                    continue 'scan;
                };
                if folio_start > pos {
                    // SAFETY: As above; the pages in between are idle.
                    unsafe { raw::dax_delete_mapping_range(mapping, pos, folio_start - 1) };
                }
                // INVARIANT: `pgmap` was just taken for `page`, the head of a DAX folio found
                // associated with the mapping at `index` for `pages` pages.
                let found = PinnedPage {
                    inode: ARef::from(inode),
                    pgmap,
                    page,
                    index: index as u64,
                    pages: pages as u64,
                };
                if pinned.push(found, GFP_KERNEL).is_err() {
                    // No memory to remember it: wait for every pin of the range instead.
                    drop(pinned);
                    self.break_layouts(start, end as u64)?;
                    continue 'scan;
                }
                pos = folio_end.saturating_add(1);
            }
            return Ok(pinned);
        }
    }
}

/// A work queue of the file system's own, drained and destroyed when dropped: work items on it
/// have finished running, module code included, once it is gone.
///
/// # Invariants
///
/// `queue` was allocated with `alloc_workqueue` and is destroyed only in `Drop`.
pub(crate) struct OwnedQueue {
    queue: NonNull<raw::workqueue_struct>,
}

// SAFETY: Work queues may be used and destroyed from any thread.
unsafe impl Send for OwnedQueue {}
// SAFETY: See `Send`.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// An unbound work queue named `daxfs-{name}`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is a valid C string, copied into the queue's name.
        let queue = unsafe { raw::daxfs_alloc_workqueue(name.as_char_ptr()) };
        // INVARIANT: Allocated just above.
        Ok(Self {
            queue: NonNull::new(queue).ok_or(ENOMEM)?,
        })
    }
}

impl core::ops::Deref for OwnedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // SAFETY: By the type invariant the queue lives until `self` is dropped.
        unsafe { Queue::from_raw(self.queue.as_ptr().cast()) }
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the queue is live and destroyed only here; it waits for
        // the items on it.
        unsafe { raw::destroy_workqueue(self.queue.as_ptr()) };
    }
}

// `break_idle_layouts` takes one page per block: the file's page and block sizes are the same.
const _: () = assert!(PAGE_SIZE == 4096);
