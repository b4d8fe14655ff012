// SPDX-License-Identifier: GPL-2.0

//! Page faults on DAX mappings: the `vm_operations_struct` of regular files and a safe view of
//! one fault, through which the file system's single fault handler drives `dax_iomap_fault`;
//! and the page cache's faults on mappings of files without DAX.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/dax.h`](srctree/include/linux/dax.h).

use core::marker::PhantomData;

use kernel::{
    prelude::*,
    types::Opaque, //
};

use super::{
    fs_type::FileSystem,
    inode::Inode,
    iomap,
    raw, //
};

/// The fault handling a file system implements for its DAX mappings.
pub(crate) trait Operations<T: FileSystem> {
    /// Serves a page fault of `order` on a DAX mapping of a regular file: `fault`,
    /// `huge_fault`, `page_mkwrite` and `pfn_mkwrite` all come here.
    fn fault(vmf: &VmFault<T>, order: u32) -> FaultResult;
}

/// The outcome of a fault, as the memory manager takes it (`vm_fault_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FaultResult(raw::vm_fault_t);

impl FaultResult {
    /// The raw value, for the trace event.
    pub(crate) fn bits(self) -> u32 {
        self.0
    }
}

/// What `dax_iomap_fault` did.
pub(crate) enum DaxFault {
    /// The fault is served, or failed (SIGBUS beyond EOF or when no block could be
    /// allocated).
    Done(FaultResult),
    /// A write fault on a `MAP_SYNC` mapping whose block metadata is not durable yet: the file
    /// system must make it durable and then insert the page with [`VmFault::finish_sync_fault`].
    NeedsSync(SyncPfn),
}

/// The page frame of a synchronous fault that still has to be inserted.
pub(crate) struct SyncPfn(usize);

/// One page fault on a DAX mapping of a regular file of `T`.
///
/// # Invariants
///
/// The wrapped `vm_fault` is valid for the lifetime of the reference to this type, and its VMA
/// maps a ready regular inode of `T` (the VMA got the vm_ops of `T` in `mmap_prepare`); the
/// mapping's file keeps that inode alive.
#[repr(transparent)]
pub(crate) struct VmFault<T: FileSystem>(Opaque<raw::vm_fault>, PhantomData<T>);

impl<T: FileSystem> VmFault<T> {
    /// The mapped file.
    fn file(&self) -> *mut raw::file {
        // SAFETY: By the type invariant the fault and its VMA are valid.
        unsafe { (*(*self.0.get()).__bindgen_anon_1.vma).vm_file }
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: By the type invariant the VMA's file is valid and its inode is a ready inode
        // of `T`.
        unsafe { Inode::from_raw((*self.file()).f_inode) }
    }

    /// The page offset in the file of the faulting address.
    pub(crate) fn pgoff(&self) -> u64 {
        // SAFETY: By the type invariant the fault is valid.
        unsafe { (*self.0.get()).__bindgen_anon_1.pgoff as u64 }
    }

    /// Whether this fault writes to the file: a write on a shared mapping. Writes to private
    /// mappings copy the page and leave the file alone.
    pub(crate) fn is_shared_write(&self) -> bool {
        // SAFETY: By the type invariant the fault is valid.
        unsafe { raw::daxfs_fault_is_shared_write(self.0.get()) }
    }

    /// Updates the file's modification and change times before a write through the mapping.
    pub(crate) fn update_file_time(&self) {
        // SAFETY: By the type invariant the VMA's file is valid. A failure to update the times
        // does not fail the fault (ext4 and XFS ignore it too).
        let _ = unsafe { raw::file_update_time(self.file()) };
    }

    /// Maps the faulting page (`order` 0) or PMD (`order` 9) through `dax_iomap_fault`, which
    /// calls the file system's `map_blocks` through iomap. The caller holds the invalidate lock
    /// shared, which serialises the fault against truncate: `dax_iomap_fault` checks `i_size`
    /// once, at its start, and relies on that.
    pub(crate) fn dax_fault(&self, order: u32) -> DaxFault {
        let mut pfn: usize = 0;
        // SAFETY: By the type invariant the fault is valid; the outputs are valid; the iomap
        // table lives forever. The caller holds the locks `dax_iomap_fault` expects.
        let result = unsafe {
            raw::dax_iomap_fault(
                self.0.get(),
                order,
                &mut pfn,
                core::ptr::null_mut(),
                &iomap::Tables::<T>::IOMAP,
            )
        };
        if result & raw::vm_fault_reason_VM_FAULT_NEEDDSYNC != 0 {
            DaxFault::NeedsSync(SyncPfn(pfn))
        } else {
            DaxFault::Done(FaultResult(result))
        }
    }

    /// Completes a synchronous fault: `dax_finish_sync_fault` makes the range durable through
    /// the file system's fsync and then inserts the writable page.
    pub(crate) fn finish_sync_fault(&self, order: u32, pfn: SyncPfn) -> FaultResult {
        // SAFETY: By the type invariant the fault is valid; `pfn` came from `dax_iomap_fault` of
        // this fault, under the locks the caller still holds.
        FaultResult(unsafe { raw::dax_finish_sync_fault(self.0.get(), order, pfn.0) })
    }
}

/// The `vm_operations_struct` of DAX mappings of `T`: one handler, `T::VmOps::fault`, behind every
/// entry that can map or make writable a page. `pfn_mkwrite` (a write to a present read-only
/// DAX page) is a full write fault, not a size check: only the invalidate lock that the fault
/// path takes serialises it against truncate.
pub(super) struct FaultOps<T>(PhantomData<T>);

impl<T: FileSystem> FaultOps<T> {
    pub(super) const VM_OPS: raw::vm_operations_struct = raw::vm_operations_struct {
        fault: Some(fault_callback::<T>),
        huge_fault: Some(huge_fault_callback::<T>),
        page_mkwrite: Some(fault_callback::<T>),
        pfn_mkwrite: Some(fault_callback::<T>),
        ..pin_init::zeroed()
    };
}

impl<T: FileSystem> FaultOps<T> {
    /// The `vm_operations_struct` of mappings of files without DAX: the page cache's faults,
    /// and [`cached_page_mkwrite_callback`], which allocates.
    pub(super) const CACHED_VM_OPS: raw::vm_operations_struct = raw::vm_operations_struct {
        fault: Some(raw::filemap_fault),
        map_pages: Some(raw::filemap_map_pages),
        page_mkwrite: Some(cached_page_mkwrite_callback::<T>),
        ..pin_init::zeroed()
    };
}

/// `vm_operations_struct::page_mkwrite` of files without DAX: under freeze protection and the
/// invalidate lock (shared, against truncate and hole punch), `iomap_page_mkwrite` allocates
/// the page's zeroed blocks (or converts unwritten ones) through `map_blocks` and dirties the
/// folio. A shut down file system fails it with SIGBUS.
///
/// # Safety
///
/// Called by the memory manager with a valid write fault on a VMA that `mmap_prepare` of `T`
/// set up for a file without DAX.
unsafe extern "C" fn cached_page_mkwrite_callback<T: FileSystem>(
    vmf: *mut raw::vm_fault,
) -> raw::vm_fault_t {
    // SAFETY: As the memory manager guarantees; `VmFault` is a transparent wrapper.
    let fault = unsafe { &*vmf.cast::<VmFault<T>>() };
    let inode = fault.inode();
    let _freeze = inode.super_block().start_pagefault();
    fault.update_file_time();
    let _invalidate = inode.invalidate_lock_shared();
    // SAFETY: The fault is valid, the locks `iomap_page_mkwrite` expects are held, and the table
    // is `'static`.
    unsafe { raw::iomap_page_mkwrite(vmf, &iomap::Tables::<T>::IOMAP, core::ptr::null_mut()) }
}

/// `vm_operations_struct::huge_fault` (and, with order 0, every other entry).
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a VMA that `mmap_prepare` of `T` set up.
unsafe extern "C" fn huge_fault_callback<T: FileSystem>(
    vmf: *mut raw::vm_fault,
    order: c_uint,
) -> raw::vm_fault_t {
    // SAFETY: As the memory manager guarantees; `VmFault` is a transparent wrapper.
    let vmf = unsafe { &*vmf.cast::<VmFault<T>>() };
    T::VmOps::fault(vmf, order).0
}

/// `vm_operations_struct::fault`, `page_mkwrite` and `pfn_mkwrite`: an order-0 fault.
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a VMA that `mmap_prepare` of `T` set up.
unsafe extern "C" fn fault_callback<T: FileSystem>(vmf: *mut raw::vm_fault) -> raw::vm_fault_t {
    // SAFETY: As the memory manager guarantees.
    unsafe { huge_fault_callback::<T>(vmf, 0) }
}
