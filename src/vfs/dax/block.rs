// SPDX-License-Identifier: GPL-2.0

//! A block device without DAX standing in for persistent memory: every load and store is a
//! synchronous bio, and a fence is a cache flush.
//!
//! daxfs writes its metadata in place, through the device, and never keeps a copy of it in a
//! page cache: this keeps it so. Each store reaches the device before it returns (a
//! read-modify-write of the blocks it touches), so the stores before a fence are on the device,
//! in any order, when the flush makes them durable; that is the order persistent memory gives.
//! An aligned 8-byte store never crosses a sector, and the device writes a sector whole.
//!
//! C header: [`include/linux/bio.h`](srctree/include/linux/bio.h).

use core::ptr::NonNull;

use kernel::{
    error::to_result,
    new_mutex,
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::Mutex, //
};

use super::super::{
    raw,
    NoFsScope, //
};

/// The shift from a block to its first 512-byte sector.
const SECTORS_PER_BLOCK_SHIFT: u32 = PAGE_SHIFT as u32 - raw::SECTOR_SHIFT;

/// A block device read and written one block (a page) at a time with synchronous bios.
///
/// # Invariants
///
/// `bdev` is the block device of a superblock being set up or mounted, which outlives this; its
/// logical block size divides the page size. `bounce` holds `PAGE_SIZE` bytes of `kmalloc`
/// memory (directly mapped, so a bio can address it).
pub(super) struct BlockIo {
    bdev: NonNull<raw::block_device>,
    /// The buffer of each transfer; its lock makes a read-modify-write of a block atomic
    /// against the others (two stores to different bytes of one block must not lose one).
    bounce: Pin<KBox<Mutex<KVec<u8>>>>,
}

impl BlockIo {
    /// I/O on `bdev`.
    ///
    /// # Safety
    ///
    /// `bdev` must be the valid block device of a superblock being set up, whose block size is
    /// set to the page size (so its logical block size divides it), and must outlive the result.
    pub(super) unsafe fn new(bdev: NonNull<raw::block_device>) -> Result<Self> {
        let buffer = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        // What others wrote through the block device's page cache (mkfs, say) reaches the
        // device before bios read it, as XFS does at mount.
        // SAFETY: `bdev` is valid.
        to_result(unsafe { raw::sync_blockdev(bdev.as_ptr()) })?;
        // INVARIANT: As the caller guarantees; `KVec` allocates with `kmalloc`.
        Ok(Self {
            bdev,
            bounce: KBox::pin_init(new_mutex!(buffer), GFP_KERNEL)?,
        })
    }

    /// Reads (`REQ_OP_READ`) or writes (`REQ_OP_WRITE`) block `block` into or from `buffer`, the
    /// bounce buffer.
    fn transfer(&self, buffer: &mut KVec<u8>, block: u64, op: raw::req_op) -> Result {
        let sector = block
            .checked_shl(SECTORS_PER_BLOCK_SHIFT)
            .filter(|s| s >> SECTORS_PER_BLOCK_SHIFT == block)
            .ok_or(EINVAL)?;
        // SAFETY: By the type invariants `bdev` is valid and `buffer`, the bounce buffer, is
        // `PAGE_SIZE` bytes of directly mapped memory, which the bio reads or fills before this
        // returns. The sector is block aligned, so the logical block size divides it.
        let ret = unsafe {
            raw::bdev_rw_virt(
                self.bdev.as_ptr(),
                sector,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                op,
            )
        };
        to_result(ret)
    }

    /// Calls `f` with each block that bytes `offset..offset + len` touch: the block, where in it
    /// the range starts, and how many bytes of it the range covers.
    fn for_each_block(
        offset: u64,
        len: usize,
        mut f: impl FnMut(u64, usize, usize, usize) -> Result,
    ) -> Result {
        let mut done = 0usize;
        while done < len {
            // CAST: `done` is below `len`, a `usize`.
            let at = offset.checked_add(done as u64).ok_or(EINVAL)?;
            // CAST: a remainder below `PAGE_SIZE`.
            let within = (at % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - within).min(len - done);
            f(at >> PAGE_SHIFT, within, n, done)?;
            done += n;
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes at byte `offset` of the device into `buf`.
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> Result {
        Self::for_each_block(offset, buf.len(), |block, within, n, done| {
            let mut bounce = self.bounce.lock();
            self.transfer(&mut bounce, block, raw::req_op_REQ_OP_READ)?;
            buf[done..done + n].copy_from_slice(&bounce[within..within + n]);
            Ok(())
        })
    }

    /// Writes `bytes` at byte `offset` of the device; `None` writes zeros. Blocks written only
    /// in part are read first.
    fn store(&self, offset: u64, len: usize, bytes: Option<&[u8]>) -> Result {
        Self::for_each_block(offset, len, |block, within, n, done| {
            let mut bounce = self.bounce.lock();
            if n < PAGE_SIZE {
                self.transfer(&mut bounce, block, raw::req_op_REQ_OP_READ)?;
            }
            let part = &mut bounce[within..within + n];
            match bytes {
                Some(bytes) => part.copy_from_slice(&bytes[done..done + n]),
                None => part.fill(0),
            }
            self.transfer(&mut bounce, block, raw::req_op_REQ_OP_WRITE)
        })
    }

    /// Writes `bytes` at byte `offset` of the device.
    pub(super) fn write(&self, offset: u64, bytes: &[u8]) -> Result {
        self.store(offset, bytes.len(), Some(bytes))
    }

    /// Zeroes `len` bytes at byte `offset` of the device: the whole blocks with
    /// `blkdev_issue_zeroout` (up to 128 MiB of newly allocated blocks at a time), the ends
    /// of the range as stores.
    pub(super) fn zero(&self, offset: u64, len: u64) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        let mask = PAGE_SIZE as u64 - 1;
        let first_whole = offset.checked_add(mask).ok_or(EINVAL)? >> PAGE_SHIFT;
        let end_whole = end >> PAGE_SHIFT;
        if first_whole >= end_whole {
            return self.store(offset, usize::try_from(len)?, None);
        }
        // CAST: both ends lie inside one block each, so the lengths are below `PAGE_SIZE`.
        self.store(
            offset,
            ((first_whole << PAGE_SHIFT) - offset) as usize,
            None,
        )?;
        self.store(end_whole << PAGE_SHIFT, (end & mask) as usize, None)?;
        // Its allocations must not recurse into file system reclaim: callers hold the on-disk
        // inode's lock, outside any transaction (which would have entered the scope already).
        let _nofs = NoFsScope::enter();
        // SAFETY: By the type invariant `bdev` is valid; the range is whole blocks, which the
        // caller checked are inside the device.
        let ret = unsafe {
            raw::blkdev_issue_zeroout(
                self.bdev.as_ptr(),
                first_whole << SECTORS_PER_BLOCK_SHIFT,
                (end_whole - first_whole) << SECTORS_PER_BLOCK_SHIFT,
                raw::GFP_KERNEL,
                0,
            )
        };
        to_result(ret)
    }

    /// Makes every completed write durable (a flush of the device's volatile cache).
    pub(super) fn flush(&self) -> Result {
        // SAFETY: By the type invariant `bdev` is valid.
        to_result(unsafe { raw::blkdev_issue_flush(self.bdev.as_ptr()) })
    }
}

impl Drop for BlockIo {
    fn drop(&mut self) {
        // The block device's page cache may hold pages older than what the bios wrote, for the
        // next user of the device (fsck, say): drop them, as XFS does at unmount.
        // SAFETY: By the type invariant `bdev` is valid until the superblock is gone.
        unsafe { raw::invalidate_bdev(self.bdev.as_ptr()) };
    }
}
