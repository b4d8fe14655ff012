// SPDX-License-Identifier: GPL-2.0

//! The one DAX fault handler, behind `fault`, `huge_fault`, `page_mkwrite` and `pfn_mkwrite`.
//!
//! A write fault on a shared mapping enters freeze protection, updates the file times and then,
//! like a read fault, takes the invalidate lock shared around `dax_iomap_fault`. That lock is
//! what truncation and hole punching take exclusively before they unmap and free blocks, so a
//! fault never maps a block that is about to be freed, and `dax_iomap_fault`'s single `i_size`
//! check (SIGBUS beyond EOF) cannot race with a shrinking file. Blocks are allocated and zeroed
//! in `map_blocks`, called by iomap from inside the fault: a page becomes writable only with a
//! real, zeroed block behind it. `pfn_mkwrite` takes the same path rather than a bare size check.

use crate::{
    inode::Inode,
    vfs::{
        self,
        trace,
        DaxFault,
        FaultResult,
        VmFault, //
    },
    Daxfs,
};

/// The fault handling of daxfs's DAX mappings (`vm_operations_struct`).
pub(crate) struct VmOps;

impl vfs::fault::Operations<Daxfs> for VmOps {
    /// Serves a fault of `order` (0 for a page, 9 for a PMD) on a DAX mapping.
    fn fault(vmf: &VmFault<Daxfs>, order: u32) -> FaultResult {
        let inode: &Inode = vmf.inode();
        let write = vmf.is_shared_write();
        let result = if write {
            let _frozen = inode.super_block().start_pagefault();
            vmf.update_file_time();
            let _invalidate = inode.invalidate_lock_shared();
            finish(vmf, order, vmf.dax_fault(order))
        } else {
            let _invalidate = inode.invalidate_lock_shared();
            finish(vmf, order, vmf.dax_fault(order))
        };
        trace::fault(inode.ino(), vmf.pgoff(), order, write, result.bits());
        result
    }
}

/// The result of a DAX fault, after completing a synchronous (`MAP_SYNC`) one.
///
/// daxfs writes block metadata durably before `map_blocks` returns, so `iomap_begin` never
/// reports `IOMAP_F_DIRTY` and DAX never asks for a sync; should it, `dax_finish_sync_fault`
/// runs the file's fsync for the range and inserts the page, with the locks still held.
fn finish(vmf: &VmFault<Daxfs>, order: u32, dax: DaxFault) -> FaultResult {
    match dax {
        DaxFault::Done(result) => result,
        DaxFault::NeedsSync(pfn) => vmf.finish_sync_fault(order, pfn),
    }
}
