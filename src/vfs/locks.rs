// SPDX-License-Identifier: GPL-2.0

//! Guards for the VFS locks: an inode's `i_rwsem`, and those that order DAX faults against
//! truncation, the invalidate lock of an inode's mapping and the superblock's page-fault freeze
//! protection.
//!
//! Lock order (as in ext4 and XFS): `mmap_lock` -> page-fault freeze protection -> invalidate
//! lock (shared) for faults; `i_rwsem` -> invalidate lock (exclusive) for truncation; then the
//! file system's own inode and allocator locks.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

use kernel::{
    error::to_result,
    page::PAGE_SHIFT,
    prelude::*, //
};

use super::{
    fs_type::FileSystem,
    inode::Inode,
    iomap,
    raw,
    super_block::SuperBlock,
    trace, //
};

/// An inode's `i_rwsem`, held exclusively: no other write, truncation or namespace change of the
/// inode runs meanwhile.
///
/// # Invariants
///
/// The `i_rwsem` of `inode` is held exclusively until drop.
pub(crate) struct InodeLock<'a, T: FileSystem> {
    inode: &'a Inode<T>,
}

/// An inode's `i_rwsem`, held shared: reads, and lookups of the block map, which no write or
/// truncation changes meanwhile.
///
/// # Invariants
///
/// The `i_rwsem` of `inode` is held shared until drop.
pub(crate) struct InodeLockShared<'a, T: FileSystem> {
    inode: &'a Inode<T>,
}

impl<T: FileSystem> Inode<T> {
    /// Takes `i_rwsem` exclusively.
    pub(crate) fn lock(&self) -> InodeLock<'_, T> {
        // SAFETY: By the type invariant of `Inode` the inode is live.
        unsafe { raw::daxfs_inode_lock(self.as_raw()) };
        // INVARIANT: The lock was just taken exclusively.
        InodeLock { inode: self }
    }

    /// Takes `i_rwsem` shared.
    pub(crate) fn lock_shared(&self) -> InodeLockShared<'_, T> {
        // SAFETY: By the type invariant of `Inode` the inode is live.
        unsafe { raw::daxfs_inode_lock_shared(self.as_raw()) };
        // INVARIANT: The lock was just taken shared.
        InodeLockShared { inode: self }
    }

    /// Takes `i_rwsem` exclusively, or with `nowait` only if that needs no wait (`EAGAIN`
    /// otherwise: I/O that must not block, `IOCB_NOWAIT`).
    pub(crate) fn lock_for_write(&self, nowait: bool) -> Result<InodeLock<'_, T>> {
        if !nowait {
            return Ok(self.lock());
        }
        // SAFETY: By the type invariant of `Inode` the inode is live.
        if !unsafe { raw::daxfs_inode_trylock(self.as_raw()) } {
            return Err(EAGAIN);
        }
        // INVARIANT: The lock was just taken exclusively.
        Ok(InodeLock { inode: self })
    }

    /// Takes `i_rwsem` shared, or with `nowait` only if that needs no wait (`EAGAIN`
    /// otherwise).
    pub(crate) fn lock_for_read(&self, nowait: bool) -> Result<InodeLockShared<'_, T>> {
        if !nowait {
            return Ok(self.lock_shared());
        }
        // SAFETY: By the type invariant of `Inode` the inode is live.
        if !unsafe { raw::daxfs_inode_trylock_shared(self.as_raw()) } {
            return Err(EAGAIN);
        }
        // INVARIANT: The lock was just taken shared.
        Ok(InodeLockShared { inode: self })
    }
}

impl<T: FileSystem> Drop for InodeLock<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held exclusively.
        unsafe { raw::daxfs_inode_unlock(self.inode.as_raw()) };
    }
}

impl<T: FileSystem> Drop for InodeLockShared<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held shared.
        unsafe { raw::daxfs_inode_unlock_shared(self.inode.as_raw()) };
    }
}

/// The invalidate lock of an inode's mapping, held shared: no truncation or hole punch can
/// remove blocks of the file while it is held, so faults may map them.
///
/// # Invariants
///
/// The lock of `inode` is held shared until drop.
pub(crate) struct InvalidateShared<'a, T: FileSystem> {
    inode: &'a Inode<T>,
}

/// The invalidate lock of an inode's mapping, held exclusively: no fault can map a block of the
/// file while it is held.
///
/// # Invariants
///
/// The lock of `inode` is held exclusively until drop.
pub(crate) struct InvalidateExclusive<'a, T: FileSystem> {
    inode: &'a Inode<T>,
}

impl<T: FileSystem> Inode<T> {
    /// Takes the invalidate lock shared (faults).
    pub(crate) fn invalidate_lock_shared(&self) -> InvalidateShared<'_, T> {
        // SAFETY: By the type invariant of `Inode` the inode is live.
        unsafe { raw::daxfs_invalidate_lock_shared(self.as_raw()) };
        // INVARIANT: The lock was just taken shared.
        InvalidateShared { inode: self }
    }

    /// Waits for direct I/O in flight on the file to finish (before truncation; the caller
    /// holds `i_rwsem`, so no new direct I/O starts).
    pub(crate) fn dio_wait(&self) {
        // SAFETY: By the type invariant of `Inode` the inode is live.
        unsafe { raw::inode_dio_wait(self.as_raw()) };
    }

    /// Takes the invalidate lock exclusively (truncation, after `i_rwsem`).
    pub(crate) fn invalidate_lock(&self) -> InvalidateExclusive<'_, T> {
        // SAFETY: By the type invariant of `Inode` the inode is live.
        unsafe { raw::daxfs_invalidate_lock(self.as_raw()) };
        // INVARIANT: The lock was just taken exclusively.
        InvalidateExclusive { inode: self }
    }
}

impl<T: FileSystem> Drop for InvalidateShared<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held shared.
        unsafe { raw::daxfs_invalidate_unlock_shared(self.inode.as_raw()) };
    }
}

impl<T: FileSystem> InvalidateExclusive<'_, T> {
    /// The inode whose lock this is.
    pub(super) fn inode(&self) -> &Inode<T> {
        self.inode
    }

    /// Unmaps the byte range `start..=end` of the file from every process and waits until no
    /// page of it is pinned (by `get_user_pages`/`pin_user_pages`, an O_DIRECT read in flight
    /// into a mapping, for instance) or otherwise referenced; then its blocks may be freed.
    ///
    /// While it waits the invalidate lock is dropped (so the pin holder can make progress, even
    /// through faults) and taken again before the range is checked once more; `i_rwsem`, held by
    /// the caller, keeps other truncations out. A signal ends the wait with `ERESTARTSYS`, the
    /// range unmapped but nothing else changed.
    pub(crate) fn break_layouts(&self, start: u64, end: u64) -> Result {
        let inode = self.inode.as_raw();
        let start = i64::try_from(start).unwrap_or(i64::MAX);
        let end = i64::try_from(end).unwrap_or(i64::MAX);
        // First without waiting: with no callback `dax_break_layout` unmaps the range and stops
        // at the first busy page with ERESTARTSYS, or succeeds.
        // SAFETY: By the type invariant the inode is live and its invalidate lock held.
        if unsafe { raw::dax_break_layout(inode, start, end, None) } == 0 {
            return Ok(());
        }
        // SAFETY: As above; the range is unmapped, so this only finds the busy page again.
        let busy = unsafe { raw::dax_layout_busy_page_range((*inode).i_mapping, start, end) };
        let pfn = if busy.is_null() {
            0
        } else {
            // SAFETY: `busy` is the page of a DAX entry of the mapping, which stays while the
            // invalidate lock is held, on the mounted device; `page_to_pfn` only computes.
            unsafe { raw::daxfs_page_to_pfn(busy) }
        };
        let ino = self.inode.ino();
        trace::layout_wait_start(ino, start, end, pfn);
        // SAFETY: Plain clock read.
        let waiting_since = unsafe { raw::ktime_get() };
        // SAFETY: By the type invariant the invalidate lock is held exclusively, which
        // `wait_for_idle_page_callback` drops and retakes; the inode is live.
        let ret =
            unsafe { raw::dax_break_layout(inode, start, end, Some(wait_for_idle_page_callback)) };
        // SAFETY: Plain clock read.
        let waited = unsafe { raw::ktime_get() } - waiting_since;
        trace::layout_wait_end(ino, start, end, waited as u64, ret);
        kernel::error::to_result(ret)
    }

    /// Drops the zero pages that read faults mapped over the bytes `start..=end` of the file,
    /// which were a hole and now have blocks, so that the next access maps the blocks (DAX does
    /// the same for a write that allocates, `IOMAP_F_NEW`). The lock has been held since before
    /// the blocks were allocated, so no fault can have mapped them: the range holds zero-page
    /// entries only, and none of them is a pinned block of the file system.
    pub(crate) fn forget_holes(&self, start: u64, end: u64) {
        // Without DAX, the page cache holds zeroed folios over holes, which stay right.
        if !self.inode.is_dax() {
            return;
        }
        // SAFETY: By the type invariant the inode is live; it has a mapping.
        let mapping = unsafe { (*self.inode.as_raw()).i_mapping };
        // CAST: page indices of byte offsets below `MAX_FILE_SIZE` fit `pgoff_t`.
        let (first, last) = ((start >> PAGE_SHIFT) as usize, (end >> PAGE_SHIFT) as usize);
        // SAFETY: The mapping is live with its inode; no fault holds an entry lock (the
        // invalidate lock is held exclusively), so this waits for nothing. Zero-page entries are
        // never busy, so the result (`EBUSY` for an entry it could not drop) is always 0 here.
        let _ = unsafe { raw::invalidate_inode_pages2_range(mapping, first, last) };
    }

    /// Writes back the dirty pages of the bytes `start..=end` of the file: for DAX, flushes the
    /// CPU cache of what mappings stored there, before `break_layouts` drops the entries that
    /// would make a later `fsync` do it.
    pub(crate) fn write_back(&self, start: u64, end: u64) -> Result {
        // SAFETY: By the type invariant the inode is live; it has a mapping.
        let mapping = unsafe { (*self.inode.as_raw()).i_mapping };
        // CAST: byte offsets saturate at `LLONG_MAX`, the end of any file.
        let (start, end) = (start.min(i64::MAX as u64), end.min(i64::MAX as u64));
        // SAFETY: The mapping is live with its inode; writeback of a DAX mapping takes its
        // entries' locks, never the invalidate lock, which faults would need.
        to_result(unsafe { raw::filemap_write_and_wait_range(mapping, start as i64, end as i64) })
    }

    /// For a file without DAX, zeroes the bytes `start..end` in its page cache (reading their
    /// pages in if needed; holes and unwritten blocks read as zeros already) and writes them
    /// back, before a transaction that relies on them being zeros on the device (the end of
    /// file moving into their block, or a punched range). The page cache holds such a file's
    /// data: a store to the device under it would race with writeback of the same block. DAX
    /// files need nothing here: their transaction zeroes the device ([`crate::truncate`]).
    ///
    /// Only bytes up to the end of the block that holds the end of file are zeroed: past it the
    /// page cache holds nothing that writeback would write (iomap refuses to zero there), and
    /// the device holds zeros, since blocks are zeroed when allocated and only writeback of
    /// pages inside the file writes to them.
    pub(crate) fn zero_cached(&self, start: u64, end: u64) -> Result {
        let end = end.min(
            self.inode
                .size()
                .next_multiple_of(kernel::page::PAGE_SIZE as u64),
        );
        if self.inode.is_dax() || start >= end {
            return Ok(());
        }
        let start_pos = i64::try_from(start).map_err(|_| EFBIG)?;
        let len = i64::try_from(end - start).map_err(|_| EFBIG)?;
        // SAFETY: By the type invariant the inode is live and its invalidate lock held, with
        // `i_rwsem` (which the caller holds), as zeroing through the page cache needs; the
        // `iomap_ops` table is `'static`; no `did_zero`, write operations or private data.
        to_result(unsafe {
            raw::iomap_zero_range(
                self.inode.as_raw(),
                start_pos,
                len,
                core::ptr::null_mut(),
                &iomap::Tables::<T>::IOMAP,
                core::ptr::null(),
                core::ptr::null_mut(),
            )
        })?;
        self.write_back(start, end - 1)
    }

    /// For a file without DAX, drops the cached pages of the bytes `start..=end` (whose blocks
    /// are about to go) and zeroes that range of the partial pages at its edges; DAX files have
    /// nothing cached once `break_layouts` ran. Dirty data in the range is discarded: the
    /// range is going.
    pub(crate) fn truncate_pagecache_range(&self, start: u64, end: u64) {
        if self.inode.is_dax() {
            return;
        }
        // CAST: byte offsets saturate at `LLONG_MAX`, the end of any file.
        let (start, end) = (start.min(i64::MAX as u64), end.min(i64::MAX as u64));
        // SAFETY: By the type invariant the inode is live and its invalidate lock held, as
        // `truncate_pagecache_range` expects (with `i_rwsem`, which the caller holds).
        unsafe { raw::truncate_pagecache_range(self.inode.as_raw(), start as i64, end as i64) };
    }

    /// For a file without DAX, drops what the mapping caches beyond `size`, and zeroes the
    /// cached page that straddles `size` from there on. A DAX file has nothing cached there once
    /// its layout is broken, only the entries of pages a device still has pinned, which a
    /// truncate leaves for later ([`InvalidateExclusive::break_idle_layouts`]): deleting them
    /// here would put folios that are still in use.
    pub(crate) fn truncate_pagecache(&self, size: u64) {
        if self.inode.is_dax() {
            // What `truncate_pagecache` does besides deleting entries: unmap, copy-on-write
            // copies of private mappings too (the layout break leaves those), so that they fault
            // past the end of file.
            // SAFETY: By the type invariant the inode is live; it has a mapping.
            let mapping = unsafe { (*self.inode.as_raw()).i_mapping };
            // CAST: sizes are at most `MAX_FILE_SIZE`, below `i64::MAX`.
            let hole = size.next_multiple_of(kernel::page::PAGE_SIZE as u64) as i64;
            // SAFETY: The mapping is live with its inode; unmapping touches page tables only.
            unsafe { raw::unmap_mapping_range(mapping, hole, 0, 1) };
            return;
        }
        // SAFETY: By the type invariant the inode is live and its invalidate lock held, as
        // `truncate_pagecache` expects (with `i_rwsem`, which the caller holds).
        unsafe { raw::truncate_pagecache(self.inode.as_raw(), size as i64) };
    }
}

/// The `dax_break_layout` callback: sleeps until a busy page may have become idle, without the
/// invalidate lock, so that whoever holds the page (possibly faulting on this file) can finish.
///
/// # Safety
///
/// Called by `dax_break_layout` from [`InvalidateExclusive::break_layouts`], with the inode's
/// invalidate lock held exclusively; it is held again on return.
unsafe extern "C" fn wait_for_idle_page_callback(inode: *mut raw::inode) {
    // SAFETY: The caller holds the lock exclusively.
    unsafe { raw::daxfs_invalidate_unlock(inode) };
    // SAFETY: A plain sleep, in the state that `dax_break_layout` set (woken when the page's
    // last reference goes); no lock of ours is held.
    unsafe { raw::schedule() };
    // SAFETY: The inode is live; the caller expects the lock held again on return.
    unsafe { raw::daxfs_invalidate_lock(inode) };
}

impl<T: FileSystem> Drop for InvalidateExclusive<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held exclusively.
        unsafe { raw::daxfs_invalidate_unlock(self.inode.as_raw()) };
    }
}

/// Freeze protection of a superblock at one level: a freeze waits until it is dropped, and it
/// waits while the file system is frozen. A write fault holds the page-fault level
/// (`sb_start_pagefault`), work the file system does on its own, such as freeing the blocks of
/// an evicted inode, the internal level (`sb_start_intwrite`).
///
/// # Invariants
///
/// Freeze protection of `sb` at `level` was taken, and is released on drop.
pub(crate) struct FreezeGuard<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
    level: FreezeLevel,
}

/// The levels of [`FreezeGuard`].
#[derive(Clone, Copy)]
enum FreezeLevel {
    PageFault,
    Internal,
}

impl<T: FileSystem> SuperBlock<T> {
    /// Enters a write fault (blocks while the file system is frozen).
    pub(crate) fn start_pagefault(&self) -> FreezeGuard<'_, T> {
        // SAFETY: By the type invariant of `SuperBlock` the superblock is live.
        unsafe { raw::daxfs_sb_start_pagefault(self.as_raw()) };
        // INVARIANT: Freeze protection was just taken.
        FreezeGuard {
            sb: self,
            level: FreezeLevel::PageFault,
        }
    }

    /// Enters a change the file system makes on its own, outside any system call that took
    /// write access (blocks while the file system is frozen).
    pub(crate) fn start_internal_write(&self) -> FreezeGuard<'_, T> {
        // SAFETY: By the type invariant of `SuperBlock` the superblock is live.
        unsafe { raw::daxfs_sb_start_intwrite(self.as_raw()) };
        // INVARIANT: Freeze protection was just taken.
        FreezeGuard {
            sb: self,
            level: FreezeLevel::Internal,
        }
    }
}

impl<T: FileSystem> Drop for FreezeGuard<'_, T> {
    fn drop(&mut self) {
        match self.level {
            // SAFETY: By the type invariant freeze protection is held at this level.
            FreezeLevel::PageFault => unsafe { raw::daxfs_sb_end_pagefault(self.sb.as_raw()) },
            // SAFETY: As above.
            FreezeLevel::Internal => unsafe { raw::daxfs_sb_end_intwrite(self.sb.as_raw()) },
        }
    }
}

/// A scope in which the task's memory allocations do not recurse into file system reclaim
/// (`memalloc_nofs_save`), for code that holds a lock which eviction may take, as a
/// transaction does.
///
/// # Invariants
///
/// `flags` are what `memalloc_nofs_save` returned when this was made, on this task (the type is
/// not `Send`), restored at drop.
pub(crate) struct NoFsScope {
    flags: u32,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl NoFsScope {
    /// Enters the scope.
    pub(crate) fn enter() -> Self {
        // SAFETY: Only changes the current task's allocation flags.
        let flags = unsafe { raw::daxfs_nofs_save() };
        // INVARIANT: `flags` were just saved on this task.
        Self {
            flags,
            _not_send: core::marker::PhantomData,
        }
    }
}

impl Drop for NoFsScope {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `flags` came from `memalloc_nofs_save` on this task.
        unsafe { raw::daxfs_nofs_restore(self.flags) };
    }
}
