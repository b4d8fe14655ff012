// SPDX-License-Identifier: GPL-2.0

//! The device under a mounted file system: persistent memory mapped through its DAX device, or a
//! block device without DAX read and written with synchronous bios ([`block`]).
//!
//! C header: [`include/linux/dax.h`](srctree/include/linux/dax.h).

mod block;

use core::ptr::NonNull;

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::ScopeGuard, //
};

use self::block::BlockIo;
use super::{
    fs_type::FsContext,
    raw,
    recorder, //
};

/// The device of a mounted file system, as daxfs reads and writes its metadata: persistent
/// memory, or a block device standing in for it.
///
/// On persistent memory (a DAX device) metadata is loaded and stored in place, and file data
/// reaches user space through the DAX fault and I/O paths, which look blocks up in the same
/// device. A block device without DAX gives the same guarantees with a bio for every access
/// and a cache flush for every fence; its files all use the page cache (`dax=never`).
///
/// Once the file system is shut down ([`Pmem::shut_down`]) every store fails with `EIO`: nothing
/// of a transaction that failed midway, or of one begun after, reaches the device.
pub(crate) struct Pmem {
    access: Access,
    /// The size of the device in bytes, whole pages.
    len: u64,
    /// Shut down: stores fail.
    shut_down: Atomic<bool>,
}

/// How [`Pmem`] reaches the device.
///
/// # Invariants
///
/// For `Dax`: `dax` is a DAX device reference taken with `fs_dax_get_by_bdev` and dropped only
/// in `Drop`; `base` maps the `Pmem`'s `len` bytes of it, from the start of the block device, and
/// stays valid while the reference is held (fsdax pmem maps its whole range linearly).
enum Access {
    /// Persistent memory, mapped.
    Dax {
        dax: NonNull<raw::dax_device>,
        start_off: u64,
        base: NonNull<u8>,
    },
    /// A block device without DAX.
    Block(BlockIo),
}

// SAFETY: A DAX device and its linear mapping, and a block device, may be used from any thread;
// `Pmem` hands out no references into the device, only copies.
unsafe impl Send for Pmem {}
// SAFETY: See `Send`.
unsafe impl Sync for Pmem {}

impl Pmem {
    /// Opens the device under `bdev`: mapped through DAX if it supports DAX, with bios if it
    /// does not ([`Pmem::has_dax`]). Reports a DAX device that cannot be mapped through `fc`.
    ///
    /// # Safety
    ///
    /// `bdev` must be the valid block device of a superblock being set up, whose block size is
    /// the page size; the superblock must outlive the result.
    pub(super) unsafe fn open(bdev: *mut raw::block_device, fc: &mut FsContext) -> Result<Self> {
        let bdev = NonNull::new(bdev).ok_or(EINVAL)?;
        // SAFETY: `bdev` is valid.
        let pages = unsafe { raw::daxfs_bdev_nr_bytes(bdev.as_ptr()) } >> kernel::page::PAGE_SHIFT;
        let len = pages << kernel::page::PAGE_SHIFT;
        let mut start_off = 0u64;
        // SAFETY: `bdev` is valid; no holder, as ext4 does.
        let dax = unsafe {
            raw::fs_dax_get_by_bdev(
                bdev.as_ptr(),
                &mut start_off,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        };
        let Some(dax) = NonNull::new(dax) else {
            return Ok(Pmem {
                // SAFETY: As the caller guarantees.
                access: Access::Block(unsafe { BlockIo::new(bdev)? }),
                len,
                shut_down: Atomic::new(false),
            });
        };
        // Until a `Pmem` owns the reference, an early return puts it back.
        // SAFETY: The reference was taken just above and nothing else puts it.
        let put_dax =
            ScopeGuard::new(|| unsafe { raw::fs_put_dax(dax.as_ptr(), core::ptr::null_mut()) });

        let nr_pages = pages.try_into().map_err(|_| EFBIG)?;
        let first_page =
            usize::try_from(start_off >> kernel::page::PAGE_SHIFT).map_err(|_| EFBIG)?;
        let mut kaddr = core::ptr::null_mut();
        // SAFETY: A plain lock; released below, with nothing in between that can return early.
        let id = unsafe { raw::dax_read_lock() };
        // SAFETY: The DAX read lock is held, as `dax_direct_access` requires; the outputs are valid.
        let mapped = unsafe {
            raw::dax_direct_access(
                dax.as_ptr(),
                first_page,
                nr_pages,
                raw::dax_access_mode_DAX_ACCESS,
                &mut kaddr,
                core::ptr::null_mut(),
            )
        };
        // SAFETY: `id` is the cookie of the read lock taken above.
        unsafe { raw::dax_read_unlock(id) };
        if mapped < 0 {
            fc.error(c"cannot map the device through DAX");
            // CAST: a negative `long` from `dax_direct_access` is an errno.
            return Err(Error::from_errno(mapped as i32));
        }
        if u64::try_from(mapped).unwrap_or(0) < pages {
            fc.error(c"cannot map the whole device through DAX");
            return Err(EIO);
        }
        let base = NonNull::new(kaddr.cast()).ok_or(EIO)?;
        put_dax.dismiss();
        // INVARIANT: The reference is the one taken above; `kaddr` maps `pages` pages, `len`
        // bytes.
        Ok(Pmem {
            access: Access::Dax {
                dax,
                start_off,
                base,
            },
            len,
            shut_down: Atomic::new(false),
        })
    }

    /// Whether the device is persistent memory, mapped through DAX: only then may files use
    /// DAX.
    pub(crate) fn has_dax(&self) -> bool {
        matches!(self.access, Access::Dax { .. })
    }

    /// The DAX device, for iomap; null without DAX.
    pub(super) fn dax_device(&self) -> *mut raw::dax_device {
        match &self.access {
            Access::Dax { dax, .. } => dax.as_ptr(),
            Access::Block(_) => core::ptr::null_mut(),
        }
    }

    /// The DAX device address of byte `offset` of the block device (iomap's `addr` for a DAX
    /// inode, of which a device without DAX has none).
    pub(super) fn dax_addr(&self, offset: u64) -> u64 {
        match &self.access {
            Access::Dax { start_off, .. } => start_off + offset,
            Access::Block(_) => offset,
        }
    }

    /// The size of the mapped device in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Copies `buf.len()` bytes at byte `offset` of the device into `buf`. A media error (poison)
    /// in the range gives `EIO` instead of a machine check.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> Result {
        let end = offset.checked_add(buf.len() as u64).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        let base = match &self.access {
            Access::Dax { base, .. } => base,
            Access::Block(io) => return io.read(offset, buf).map_err(|_| EIO),
        };
        // SAFETY: By the type invariant `base` maps `len` bytes and `offset..end` is within them;
        // `buf` is a valid destination. `copy_mc_to_kernel` tolerates poisoned source memory.
        let left = unsafe {
            raw::copy_mc_to_kernel(
                buf.as_mut_ptr().cast(),
                base.as_ptr().add(offset as usize).cast(),
                buf.len().try_into().map_err(|_| EINVAL)?,
            )
        };
        if left != 0 {
            return Err(EIO);
        }
        Ok(())
    }

    /// Shuts the file system down: from now on every store fails with `EIO`, and the file
    /// system's entry points do too ([`Pmem::is_shut_down`]). Returns whether it was running.
    pub(crate) fn shut_down(&self) -> bool {
        !self.shut_down.xchg(true, Relaxed)
    }

    /// Whether the file system is shut down.
    #[inline]
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Relaxed)
    }

    /// `EIO` once the file system is shut down.
    #[inline]
    pub(crate) fn check_running(&self) -> Result {
        if self.is_shut_down() {
            return Err(EIO);
        }
        Ok(())
    }

    /// Checks that `len` bytes at `offset` are inside the device and that the file system is
    /// not shut down, for a store.
    fn check_store(&self, offset: u64, len: u64) -> Result {
        self.check_running()?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// The mapped address of byte `offset`, checked by [`Pmem::check_store`], of a DAX device.
    fn dax_store_addr(base: NonNull<u8>, offset: u64) -> *mut u8 {
        // SAFETY: By the type invariant `base` maps `len` bytes, and the caller checked that
        // `offset` is inside.
        unsafe { base.as_ptr().add(offset as usize) }
    }

    /// Copies `bytes` to byte `offset` of the device, bypassing the CPU cache. The data is
    /// durable, and ordered before later stores, after the next [`Pmem::fence`].
    pub(crate) fn write(&self, offset: u64, bytes: &[u8]) -> Result {
        self.check_store(offset, bytes.len() as u64)?;
        if recorder::recording() {
            recorder::store(offset, bytes);
        }
        self.write_unrecorded(offset, bytes)
    }

    /// [`Pmem::write`] without the recorder, for callers that record the store themselves.
    fn write_unrecorded(&self, offset: u64, bytes: &[u8]) -> Result {
        self.check_store(offset, bytes.len() as u64)?;
        match &self.access {
            Access::Dax { base, .. } => {
                let dst = Self::dax_store_addr(*base, offset);
                // SAFETY: `dst` is valid for `bytes.len()` bytes of the device; `bytes` is a
                // valid source. Concurrent writers to the same metadata are excluded by the file
                // system's locks.
                unsafe {
                    raw::daxfs_memcpy_flushcache(dst.cast(), bytes.as_ptr().cast(), bytes.len())
                };
                Ok(())
            }
            Access::Block(io) => io.write(offset, bytes).map_err(|_| EIO),
        }
    }

    /// Stores `value` little-endian at byte `offset` of the device, which must be 8-byte
    /// aligned, with one 8-byte store that a crash never tears: after a crash the device holds
    /// either the old or the new value. Durable after the next [`Pmem::fence`].
    pub(crate) fn write_u64(&self, offset: u64, value: u64) -> Result {
        self.check_store(offset, 8)?;
        if offset % 8 != 0 {
            return Err(EINVAL);
        }
        if recorder::recording() {
            recorder::store(offset, &value.to_le_bytes());
        }
        match &self.access {
            Access::Dax { base, .. } => {
                let dst = Self::dax_store_addr(*base, offset);
                // The mapping is page aligned, so the address is as aligned as the offset.
                // SAFETY: `dst` is valid for 8 bytes of the device and 8-byte aligned. Concurrent
                // writers of the field are excluded by the file system's locks.
                unsafe { raw::daxfs_store_u64_flushcache(dst.cast(), u64::to_le(value)) };
                Ok(())
            }
            // One sector, which the device writes whole.
            Access::Block(io) => io.write(offset, &value.to_le_bytes()).map_err(|_| EIO),
        }
    }

    /// Zeroes `len` bytes at byte `offset` of the device, bypassing the CPU cache (durable after
    /// the next [`Pmem::fence`]).
    pub(crate) fn zero(&self, offset: u64, len: u64) -> Result {
        static ZEROES: [u8; 4096] = [0; 4096];
        self.check_store(offset, len)?;
        if recorder::recording() {
            recorder::zero(offset, len);
        }
        if let Access::Block(io) = &self.access {
            return io.zero(offset, len).map_err(|_| EIO);
        }
        let mut done = 0;
        while done < len {
            // CAST: at most the 4096 bytes of `ZEROES`.
            let chunk = (len - done).min(ZEROES.len() as u64) as usize;
            self.write_unrecorded(offset + done, &ZEROES[..chunk])?;
            done += chunk as u64;
        }
        Ok(())
    }

    /// Orders all earlier [`Pmem::write`]s before any later one and makes them durable: the
    /// commit points of daxfs's metadata updates. A block device that fails the flush shuts
    /// the file system down, so that nothing ordered after it is stored, and gives `EIO`.
    pub(crate) fn fence(&self) -> Result {
        let flushed = match &self.access {
            Access::Dax { .. } => {
                // SAFETY: A plain barrier.
                unsafe { raw::daxfs_pmem_wmb() };
                Ok(())
            }
            Access::Block(io) => io.flush().map_err(|e| {
                if self.shut_down() {
                    pr_crit!("device cache flush failed ({e:?}): shutting down\n");
                }
                EIO
            }),
        };
        if recorder::recording() {
            recorder::fence();
        }
        flushed
    }
}

impl Drop for Pmem {
    fn drop(&mut self) {
        if let Access::Dax { dax, .. } = &self.access {
            // SAFETY: By the type invariant `dax` holds the reference taken in `open`, put only
            // here.
            unsafe { raw::fs_put_dax(dax.as_ptr(), core::ptr::null_mut()) };
        }
    }
}
