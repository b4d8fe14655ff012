// SPDX-License-Identifier: GPL-2.0

//! Regular files: read and write through DAX (`dax_iomap_rw`), mmap with DAX faults, fsync,
//! fallocate and seeking, with the file operations a file system implements; the address space
//! operations of DAX files; and, for files without DAX (`dax=never`, or `dax=inode` without the
//! flag), the page cache through the kernel's iomap buffered I/O: reads and readahead, writes,
//! writeback in bios to the block device, mmap through `filemap_fault`, and direct I/O with
//! `iomap_dio_rw`.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/dax.h`](srctree/include/linux/dax.h).

use core::{
    marker::PhantomData,
    ptr, //
};

use kernel::{
    error::{
        from_result,
        to_result, //
    },
    ffi::{
        c_uint,
        c_ulong, //
    },
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::{
    fault::FaultOps,
    fs_type::FileSystem,
    inode::Inode,
    iomap,
    raw,
    super_block::Operations as _, //
};

/// The operations of regular files (`file_operations`) that a file system implements. The
/// caller holds the inode's `i_rwsem` exclusively for both.
pub(crate) trait Operations<T: FileSystem> {
    /// Before a write of `pos..end`: allocates what it needs and records its end as the size
    /// if it grows the file, with the times the write changed, in one transaction (so that a
    /// crash leaves the file's metadata as before the write or as after it). The size the VFS
    /// sees does not grow here: a write to the page cache raises it as it copies, and
    /// [`Operations::end_write`] does for the others. With `nowait` (`IOCB_NOWAIT`), a write
    /// that would allocate or grow the file fails with `EAGAIN` instead.
    fn begin_write(inode: &Inode<T>, pos: u64, end: u64, nowait: bool) -> Result;

    /// After the write begun by [`Operations::begin_write`]: `written_end` is where its data
    /// ends (`None` if it wrote nothing). Grows the size the VFS sees, and corrects the one
    /// recorded if the write fell short.
    fn end_write(inode: &Inode<T>, written_end: Option<u64>) -> Result;

    /// Allocates, punches or zeroes `len` bytes of the regular file `inode` at `offset`, after
    /// direct I/O in flight has finished.
    fn fallocate(inode: &Inode<T>, mode: Fallocate, offset: u64, len: u64) -> Result;
}

/// The file and address space operations of `T`'s regular files, which all use DAX.
pub(super) struct FileOps<T>(PhantomData<T>);

impl<T: FileSystem> FileOps<T> {
    pub(super) const FILE: raw::file_operations = raw::file_operations {
        llseek: Some(llseek_callback::<T>),
        read_iter: Some(read_iter_callback::<T>),
        write_iter: Some(write_iter_callback::<T>),
        // DAX reads of a pipe's worth, as `vfs_splice_read` does for every DAX file; writes
        // through `write_iter`. Together they give sendfile, splice and copy_file_range.
        splice_read: Some(raw::copy_splice_read),
        splice_write: Some(raw::iter_file_splice_write),
        open: Some(open_callback::<T>),
        fsync: Some(fsync_callback::<T>),
        unlocked_ioctl: Some(ioctl_callback::<T>),
        mmap_prepare: Some(mmap_prepare_callback::<T>),
        fallocate: Some(fallocate_callback::<T>),
        // PMD-aligned addresses for mappings of 2 MiB or more, so that PMD faults are possible.
        get_unmapped_area: Some(raw::thp_get_unmapped_area),
        // Leases (`F_SETLEASE`), which the VFS grants only where a file system asks for them.
        setlease: Some(raw::generic_setlease),
        fop_flags: raw::daxfs_fop_flags_DAXFS_FOP_DAX_FILE,
        ..pin_init::zeroed()
    };
    /// DAX mappings have no page cache: `writepages` only flushes the CPU cache of pages
    /// written through mappings (the dirty DAX entries), and folios are never dirtied.
    pub(super) const AOPS: raw::address_space_operations = raw::address_space_operations {
        writepages: Some(writepages_callback::<T>),
        dirty_folio: Some(raw::noop_dirty_folio),
        bmap: Some(bmap_callback::<T>),
        ..pin_init::zeroed()
    };

    /// The file operations of regular files without DAX: the same callbacks, which take the
    /// page-cache path for them; splice reads from the page cache; no `MAP_SYNC`.
    pub(super) const CACHED_FILE: raw::file_operations = raw::file_operations {
        splice_read: Some(raw::filemap_splice_read),
        fop_flags: raw::daxfs_fop_flags_DAXFS_FOP_CACHED_FILE,
        ..Self::FILE
    };
    /// The address space operations of regular files without DAX: iomap's page cache, with
    /// reads and writeback in bios to the block device.
    pub(super) const CACHED_AOPS: raw::address_space_operations = raw::address_space_operations {
        read_folio: Some(read_folio_callback::<T>),
        readahead: Some(readahead_callback::<T>),
        writepages: Some(cached_writepages_callback::<T>),
        dirty_folio: Some(raw::iomap_dirty_folio),
        release_folio: Some(raw::iomap_release_folio),
        invalidate_folio: Some(raw::iomap_invalidate_folio),
        migrate_folio: Some(raw::filemap_migrate_folio),
        is_partially_uptodate: Some(raw::iomap_is_partially_uptodate),
        error_remove_folio: Some(raw::generic_error_remove_folio),
        bmap: Some(bmap_callback::<T>),
        ..pin_init::zeroed()
    };
    /// How writeback of a file without DAX maps its dirty folios to blocks.
    const WRITEBACK: raw::iomap_writeback_ops = raw::iomap_writeback_ops {
        writeback_range: Some(writeback_range_callback::<T>),
        writeback_submit: Some(raw::iomap_ioend_writeback_submit),
    };
}

/// What a `fallocate(2)` call asks for (the VFS has checked the combination and the range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fallocate {
    /// Allocate (zeroed) blocks for the holes in the range; grow the size unless `keep_size`.
    Allocate {
        /// `FALLOC_FL_KEEP_SIZE`.
        keep_size: bool,
    },
    /// `FALLOC_FL_PUNCH_HOLE`: deallocate the range; it reads as zeros.
    PunchHole,
    /// `FALLOC_FL_ZERO_RANGE`: the range reads as zeros and is allocated; grow the size unless
    /// `keep_size`.
    ZeroRange {
        /// `FALLOC_FL_KEEP_SIZE`.
        keep_size: bool,
    },
    /// `FALLOC_FL_COLLAPSE_RANGE`: remove the range, moving what follows it down over it; the
    /// file shrinks by its length.
    CollapseRange,
    /// `FALLOC_FL_INSERT_RANGE`: move everything from the start of the range up by its length,
    /// leaving a hole; the file grows by its length.
    InsertRange,
}

impl Fallocate {
    /// Decodes a `fallocate(2)` mode; `EOPNOTSUPP` for the modes daxfs does not implement
    /// (unshare, write-zeroes).
    fn from_mode(mode: c_int) -> Result<Self> {
        const KEEP: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_KEEP_SIZE;
        const PUNCH: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_PUNCH_HOLE;
        const ZERO: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_ZERO_RANGE;
        const COLLAPSE: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_COLLAPSE_RANGE;
        const INSERT: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_INSERT_RANGE;
        match mode as u32 {
            0 => Ok(Self::Allocate { keep_size: false }),
            KEEP => Ok(Self::Allocate { keep_size: true }),
            m if m == PUNCH | KEEP => Ok(Self::PunchHole),
            ZERO => Ok(Self::ZeroRange { keep_size: false }),
            m if m == ZERO | KEEP => Ok(Self::ZeroRange { keep_size: true }),
            COLLAPSE => Ok(Self::CollapseRange),
            INSERT => Ok(Self::InsertRange),
            _ => Err(EOPNOTSUPP),
        }
    }
}

/// `file_operations::open`: as `generic_file_open`, and the file accepts `O_DIRECT` (DAX I/O
/// goes to the media without a cache, so it is direct already) and `IOCB_NOWAIT`. `EIO` once
/// the file system is shut down.
///
/// # Safety
///
/// Called by the VFS with a ready regular inode of `T` and a file being opened on it.
unsafe extern "C" fn open_callback<T: FileSystem>(
    inode: *mut raw::inode,
    file: *mut raw::file,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    if let Err(e) = unsafe { Inode::<T>::from_raw(inode) }
        .super_block()
        .check_running()
    {
        return e.to_errno();
    }
    // SAFETY: As the VFS guarantees.
    let ret = unsafe { raw::generic_file_open(inode, file) };
    if ret == 0 {
        // SAFETY: The file is being opened: nobody else uses it yet.
        unsafe { (*file).f_mode |= raw::daxfs_fmode_flags_DAXFS_FMODE_DAX_FILE };
    }
    ret
}

/// Whether the kiocb `iocb` asks for I/O that does not block (`IOCB_NOWAIT`).
///
/// # Safety
///
/// `iocb` must be valid.
unsafe fn is_nowait(iocb: *const raw::kiocb) -> bool {
    // CAST: the flag is a positive `int` bit.
    let nowait = raw::daxfs_iocb_flags_DAXFS_IOCB_NOWAIT as c_int;
    // SAFETY: As the caller guarantees.
    unsafe { (*iocb).ki_flags & nowait != 0 }
}

/// Whether the kiocb `iocb` asks for direct I/O (`IOCB_DIRECT`, from `O_DIRECT`).
///
/// # Safety
///
/// `iocb` must be valid.
unsafe fn is_direct(iocb: *const raw::kiocb) -> bool {
    // CAST: the flag is a positive `int` bit.
    let direct = raw::daxfs_iocb_flags_DAXFS_IOCB_DIRECT as c_int;
    // SAFETY: As the caller guarantees.
    unsafe { (*iocb).ki_flags & direct != 0 }
}

/// Before a file grows: without DAX, zeroes the bytes from the end of file to the end of its
/// block in the page cache, where a mapping may have written past the end of file, and on the
/// device below (see [`super::InvalidateExclusive::zero_cached`]); those bytes must not become
/// file data. DAX files have their transaction zero the device.
fn zero_cached_tail<T: FileSystem>(inode: &Inode<T>) -> Result {
    let size = inode.size();
    let block_end = size.next_multiple_of(kernel::page::PAGE_SIZE as u64);
    if inode.is_dax() || size == block_end {
        // Nothing to zero here: keep DAX faults running.
        return Ok(());
    }
    inode.invalidate_lock().zero_cached(size, block_end)
}

/// The inode of an open file.
///
/// # Safety
///
/// `file` must be an open regular file of `T`, valid for `'a`.
unsafe fn file_inode<'a, T: FileSystem>(file: *mut raw::file) -> &'a Inode<T> {
    // SAFETY: An open file keeps its inode live; the caller guarantees it is a ready regular
    // inode of `T`.
    unsafe { Inode::from_raw((*file).f_inode) }
}

/// `file_operations::fallocate`: under `i_rwsem` (as ext4 and XFS take it), after direct I/O
/// in flight has finished and the times and privileges are updated, `T::FileOps::fallocate`
/// does the work.
///
/// # Safety
///
/// Called by the VFS with an open regular file of `T` and a range it checked.
unsafe extern "C" fn fallocate_callback<T: FileSystem>(
    file: *mut raw::file,
    mode: c_int,
    offset: raw::loff_t,
    len: raw::loff_t,
) -> c_long {
    from_result(|| {
        let mode = Fallocate::from_mode(mode)?;
        let offset = u64::try_from(offset).map_err(|_| EINVAL)?;
        let len = u64::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: As the VFS guarantees.
        let inode = unsafe { file_inode::<T>(file) };
        inode.super_block().check_running()?;
        let _lock = inode.lock();
        let grows = matches!(
            mode,
            Fallocate::Allocate { keep_size: false } | Fallocate::ZeroRange { keep_size: false }
        );
        let end = offset.checked_add(len).ok_or(EFBIG)?;
        // The size the call leaves, if it grows the file.
        let new_size = match mode {
            // An insert at or past the end of file is EINVAL, not a size.
            Fallocate::InsertRange if offset < inode.size() => {
                Some(inode.size().checked_add(len).ok_or(EFBIG)?)
            }
            _ if grows && end > inode.size() => Some(end),
            _ => None,
        };
        if let Some(new_size) = new_size {
            // RLIMIT_FSIZE and the largest file: EFBIG (and SIGXFSZ), as for ext4 and XFS.
            let new_size = i64::try_from(new_size).map_err(|_| EFBIG)?;
            // SAFETY: The inode is live and its `i_rwsem` held.
            to_result(unsafe { raw::inode_newsize_ok(inode.as_raw(), new_size) })?;
        }
        inode.dio_wait();
        // SAFETY: The file is open and its inode locked, as `file_modified` expects.
        to_result(unsafe { raw::file_modified(file) })?;
        if new_size.is_some() {
            zero_cached_tail(inode)?;
        }
        T::FileOps::fallocate(inode, mode, offset, len)?;
        Ok(0)
    })
}

/// `file_operations::mmap_prepare`: DAX mappings get the DAX fault handlers and may use PMDs;
/// `MAP_SYNC` is accepted where the DAX device is synchronous.
///
/// # Safety
///
/// Called by the memory manager with a valid descriptor of a new mapping of an open regular file
/// of `T`.
unsafe extern "C" fn mmap_prepare_callback<T: FileSystem>(desc: *mut raw::vm_area_desc) -> c_int {
    // SAFETY: The descriptor is valid for the call.
    let file = unsafe { (*desc).file };
    // SAFETY: The descriptor's file is an open regular file of `T`.
    let inode = unsafe { file_inode::<T>(file) };
    if let Err(e) = inode.super_block().check_running() {
        return e.to_errno();
    }
    if !inode.is_dax() {
        // The page cache's faults; `page_mkwrite` allocates. `MAP_SYNC` was refused already
        // (the file operations lack `FOP_MMAP_SYNC`).
        // SAFETY: The file is open.
        unsafe { raw::daxfs_file_accessed(file) };
        // SAFETY: The descriptor is ours to fill in for the call; the table is `'static`.
        unsafe { (*desc).vm_ops = &FaultOps::<T>::CACHED_VM_OPS };
        return 0;
    }
    let dax = inode.super_block().pmem().dax_device();
    // SAFETY: The descriptor and inode are valid; `dax` is the file system's device.
    if !unsafe { raw::daxfs_mapping_supported(desc, inode.as_raw(), dax) } {
        return EOPNOTSUPP.to_errno();
    }
    // SAFETY: The file is open.
    unsafe { raw::daxfs_file_accessed(file) };
    // SAFETY: The descriptor is ours to fill in for the call; the table is `'static`.
    unsafe { (*desc).vm_ops = &FaultOps::<T>::VM_OPS };
    // SAFETY: As above.
    unsafe { raw::daxfs_desc_set_hugepage(desc) };
    0
}

/// `file_operations::unlocked_ioctl` of regular files and directories: `FS_IOC_SHUTDOWN` (for
/// `CAP_SYS_ADMIN`), which `xfs_io -c shutdown` and fstests' `godown` use, and the label's
/// `FS_IOC_GETFSLABEL` and `FS_IOC_SETFSLABEL` (`xfs_io -c label`). Other commands are
/// `ENOTTY`; the VFS has answered the generic ones (FIEMAP, FIFREEZE, ...) before.
///
/// # Safety
///
/// Called by the VFS with an open file of `T`.
pub(super) unsafe extern "C" fn ioctl_callback<T: FileSystem>(
    file: *mut raw::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    let known = [
        raw::daxfs_ioctl_DAXFS_IOC_SHUTDOWN,
        raw::daxfs_ioctl_DAXFS_IOC_GETFSLABEL,
        raw::daxfs_ioctl_DAXFS_IOC_SETFSLABEL,
    ];
    if !known.contains(&cmd) {
        // CAST: an errno fits `c_long`.
        return ENOTTY.to_errno() as c_long;
    }
    from_result(|| {
        // SAFETY: An open file keeps its inode, and so its superblock, live.
        let inode = unsafe { Inode::<T>::from_raw((*file).f_inode) };
        let sb = inode.super_block();
        // Each command's `arg` is a user address.
        let user = |len| UserSlice::new(UserPtr::from_addr(arg), len);
        // CAST: a small constant.
        let label_max = raw::FSLABEL_MAX as usize;
        if cmd == raw::daxfs_ioctl_DAXFS_IOC_GETFSLABEL {
            let mut label = KVec::from_elem(0u8, label_max, GFP_KERNEL)?;
            T::SuperOps::label(sb, &mut label)?;
            user(label_max).writer().write_slice(&label)?;
            return Ok(0);
        }
        // CAST: the capability number is a small non-negative constant.
        // SAFETY: A plain check of the calling task's credentials.
        if !unsafe { raw::capable(raw::CAP_SYS_ADMIN as c_int) } {
            return Err(EPERM);
        }
        if cmd == raw::daxfs_ioctl_DAXFS_IOC_SHUTDOWN {
            let flags = user(4).reader().read::<u32>()?;
            sb.shut_down(flags)?;
            return Ok(0);
        }
        // As ext4: only as much as the longest label and its NUL is read, and a label that
        // does not end there is EINVAL, before anything else is checked.
        let mut label = KVec::from_elem(0u8, T::LABEL_LEN + 1, GFP_KERNEL)?;
        user(T::LABEL_LEN + 1).reader().read_slice(&mut label)?;
        let len = label.iter().position(|&b| b == 0).ok_or(EINVAL)?;
        sb.check_running()?;
        // Read-only mounts refuse (EROFS), and a frozen file system waits.
        // SAFETY: The file is open.
        to_result(unsafe { raw::mnt_want_write_file(file) })?;
        let set = T::SuperOps::set_label(sb, label.get(..len).unwrap_or(&[]));
        // SAFETY: Pairs with the successful `mnt_want_write_file` above.
        unsafe { raw::mnt_drop_write_file(file) };
        set.map(|()| 0)
    })
}

/// `file_operations::fsync` of regular files and directories: file data written by `write()`
/// reached persistent memory with non-temporal stores, and metadata is written synchronously
/// but for times the VFS changed (fsync writes them, fdatasync needs not); what remains is the
/// CPU cache of pages written through mappings (flushed by `writepages` for the range), and a
/// fence. A directory's entries are durable when the call that changed them returns, so
/// fsync of a directory (after a create or rename, for durability) only writes its times.
///
/// # Safety
///
/// Called by the VFS with an open file of `T`.
pub(super) unsafe extern "C" fn fsync_callback<T: FileSystem>(
    file: *mut raw::file,
    start: raw::loff_t,
    end: raw::loff_t,
    datasync: c_int,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    let inode = unsafe { file_inode::<T>(file) };
    if let Err(e) = inode.super_block().check_running() {
        return e.to_errno();
    }
    // SAFETY: The file is open, as `file_write_and_wait_range` expects.
    let mut ret = unsafe { raw::file_write_and_wait_range(file, start, end) };
    if ret == 0 && datasync == 0 {
        // Times the VFS changed and daxfs has not written yet (see `write_inode_callback`).
        // SAFETY: The inode is live while its file is open.
        ret = unsafe { raw::sync_inode_metadata(inode.as_raw(), 1) };
    }
    if ret == 0 {
        if is_cached_file(inode) {
            // Writeback wrote the data in bios; the device's flush makes it durable.
            // SAFETY: The superblock's block device is live while it is mounted.
            ret = unsafe { raw::blkdev_issue_flush(inode.super_block().bdev()) };
        } else if let Err(e) = inode.super_block().pmem().fence() {
            ret = e.to_errno();
        }
    }
    ret
}

/// Whether `inode` is a regular file without DAX, whose data goes through the page cache.
fn is_cached_file<T: FileSystem>(inode: &Inode<T>) -> bool {
    // SAFETY: The inode is live.
    let mode = u32::from(unsafe { (*inode.as_raw()).i_mode });
    mode & raw::S_IFMT == raw::S_IFREG && !inode.is_dax()
}

/// `address_space_operations::bmap` (the `FIBMAP` ioctl): the device block that holds file block
/// `block`, 0 for a hole or an unwritten block, as ext4 answers, DAX files included. Under
/// `i_rwsem` shared, which keeps truncation out while the map is read.
///
/// # Safety
///
/// Called by the VFS with the mapping of a ready regular inode of `T`.
unsafe extern "C" fn bmap_callback<T: FileSystem>(
    mapping: *mut raw::address_space,
    block: raw::sector_t,
) -> raw::sector_t {
    // SAFETY: The mapping's host is a ready inode of `T`, live while its mapping is used.
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
    let _lock = inode.lock_shared();
    // SAFETY: The mapping is valid for the call; the `iomap_ops` table is `'static`.
    unsafe { raw::iomap_bmap(mapping, block, &iomap::Tables::<T>::IOMAP) }
}

/// `address_space_operations::writepages`: writes back (flushes the CPU cache of) the dirty DAX
/// entries of a data integrity sync; other writeback has nothing to do.
///
/// # Safety
///
/// Called by the writeback code with the mapping of a ready regular inode of `T` and a valid
/// writeback control.
unsafe extern "C" fn writepages_callback<T: FileSystem>(
    mapping: *mut raw::address_space,
    wbc: *mut raw::writeback_control,
) -> c_int {
    // SAFETY: The mapping's host is a ready inode of `T`, live while its mapping is written.
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
    let dax = inode.super_block().pmem().dax_device();
    // SAFETY: The mapping and `wbc` are valid for the call; `dax` is the file system's device.
    unsafe { raw::dax_writeback_mapping_range(mapping, dax, wbc) }
}

/// `address_space_operations::read_folio` of files without DAX: iomap reads the folio's blocks
/// in a bio (holes and unwritten blocks are zeroed).
///
/// # Safety
///
/// Called by the page cache with a locked folio of the mapping of a ready regular inode of `T`.
unsafe extern "C" fn read_folio_callback<T: FileSystem>(
    _file: *mut raw::file,
    folio: *mut raw::folio,
) -> c_int {
    let mut ctx = raw::iomap_read_folio_ctx {
        // The kernel's table of bio reads: only its address is taken.
        ops: &raw const raw::iomap_bio_read_ops,
        cur_folio: folio,
        ..Default::default()
    };
    // SAFETY: The folio is locked and of a mapping of `T`; the context is valid for the call;
    // the table is `'static`.
    unsafe { raw::iomap_read_folio(&iomap::Tables::<T>::IOMAP, &mut ctx, ptr::null_mut()) };
    0
}

/// `address_space_operations::readahead` of files without DAX, as [`read_folio_callback`].
///
/// # Safety
///
/// Called by the page cache with a valid readahead control of the mapping of a ready regular
/// inode of `T`, under its invalidate lock (shared).
unsafe extern "C" fn readahead_callback<T: FileSystem>(rac: *mut raw::readahead_control) {
    let mut ctx = raw::iomap_read_folio_ctx {
        // The kernel's table of bio reads: only its address is taken.
        ops: &raw const raw::iomap_bio_read_ops,
        rac,
        ..Default::default()
    };
    // SAFETY: As the page cache guarantees; the context is valid for the call; the table is
    // `'static`.
    unsafe { raw::iomap_readahead(&iomap::Tables::<T>::IOMAP, &mut ctx, ptr::null_mut()) };
}

/// `address_space_operations::writepages` of files without DAX: iomap writes the dirty folios
/// back in bios, mapped by [`writeback_range_callback`].
///
/// # Safety
///
/// Called by the writeback code with the mapping of a ready regular inode of `T` and a valid
/// writeback control.
unsafe extern "C" fn cached_writepages_callback<T: FileSystem>(
    mapping: *mut raw::address_space,
    wbc: *mut raw::writeback_control,
) -> c_int {
    let mut wpc = raw::iomap_writepage_ctx {
        // SAFETY: The mapping is valid for the call.
        inode: unsafe { (*mapping).host },
        wbc,
        ops: &FileOps::<T>::WRITEBACK,
        ..Default::default()
    };
    // SAFETY: The context is valid for the call, for a live inode of `T`.
    unsafe { raw::iomap_writepages(&mut wpc) }
}

/// `iomap_writeback_ops::writeback_range`: maps `len` dirty bytes at `pos` of a locked folio
/// and adds them to the bio being built. The blocks are looked up for every range, never taken
/// from an earlier one: a truncate between two folios may have freed those. A dirty folio
/// always has written blocks below it (its `write()` or write fault allocated them, and
/// truncate and hole punch drop the cached pages before they free blocks); a hole there is
/// corruption, answered with `EIO` and a line in the log.
///
/// # Safety
///
/// Called by `iomap_writepages` with the context [`cached_writepages_callback`] made and a
/// locked folio under writeback.
unsafe extern "C" fn writeback_range_callback<T: FileSystem>(
    wpc: *mut raw::iomap_writepage_ctx,
    folio: *mut raw::folio,
    pos: u64,
    len: c_uint,
    end_pos: u64,
) -> isize {
    // SAFETY: The context is valid and its inode a live regular inode of `T`.
    let inode = unsafe { Inode::<T>::from_raw((*wpc).inode) };
    let mapped = (|| -> Result {
        inode.super_block().check_running()?;
        let map =
            <T::IomapOps as iomap::Operations<T>>::map_blocks(inode, pos, u64::from(len), false)?;
        if map.device_block.is_none() || map.unwritten {
            if super::ratelimit::corruption_report_allowed() {
                pr_err!(
                    "inode {}: dirty page at byte {pos} has no written block; \
                     its data is not written (run fsck.daxfs)\n",
                    inode.ino()
                );
            }
            return Err(EIO);
        }
        // SAFETY: The context is ours for the call.
        let m = unsafe { &mut (*wpc).iomap };
        *m = raw::iomap::default();
        iomap::fill(inode, &map, false, m);
        Ok(())
    })();
    match mapped {
        // CAST: file offsets below `MAX_FILE_SIZE` fit `loff_t`.
        // SAFETY: The context and the folio are valid, and the context's mapping covers `pos`.
        Ok(()) => unsafe { raw::iomap_add_to_ioend(wpc, folio, pos as i64, end_pos as i64, len) },
        // CAST: an errno fits `isize`.
        Err(e) => e.to_errno() as isize,
    }
}

/// `file_operations::llseek`: SEEK_HOLE and SEEK_DATA from the block map (through iomap, under
/// the shared `i_rwsem`), the rest as usual.
///
/// # Safety
///
/// Called by the VFS with an open regular file of `T`.
unsafe extern "C" fn llseek_callback<T: FileSystem>(
    file: *mut raw::file,
    offset: raw::loff_t,
    whence: c_int,
) -> raw::loff_t {
    // CAST: `whence` is one of the small non-negative SEEK_* values.
    let whence_u = whence as u32;
    if whence_u != raw::SEEK_HOLE && whence_u != raw::SEEK_DATA {
        // SAFETY: As the VFS guarantees.
        return unsafe { raw::generic_file_llseek(file, offset, whence) };
    }
    // SAFETY: As the VFS guarantees.
    let inode = unsafe { file_inode::<T>(file) };
    let found = {
        let _lock = inode.lock_shared();
        let iomap_ops = &iomap::Tables::<T>::IOMAP;
        if whence_u == raw::SEEK_HOLE {
            // SAFETY: The inode is live with its `i_rwsem` held; the table is `'static`.
            unsafe { raw::iomap_seek_hole(inode.as_raw(), offset, iomap_ops) }
        } else {
            // SAFETY: As above.
            unsafe { raw::iomap_seek_data(inode.as_raw(), offset, iomap_ops) }
        }
    };
    if found < 0 {
        return found;
    }
    let max = inode.super_block().max_bytes();
    // SAFETY: The file is open.
    unsafe { raw::vfs_setpos(file, found, max) }
}

/// `file_operations::read_iter`: a DAX read under the shared `i_rwsem`, as `dax_iomap_rw` wants.
///
/// # Safety
///
/// Called by the VFS with a valid kiocb of an open regular file of `T` and a valid iterator.
unsafe extern "C" fn read_iter_callback<T: FileSystem>(
    iocb: *mut raw::kiocb,
    to: *mut raw::iov_iter,
) -> isize {
    // SAFETY: The kiocb is valid for the call.
    let file = unsafe { (*iocb).ki_filp };
    // SAFETY: The kiocb's file is an open regular file of `T`.
    let inode = unsafe { file_inode::<T>(file) };
    if let Err(e) = inode.super_block().check_running() {
        // CAST: an errno fits `isize`.
        return e.to_errno() as isize;
    }
    // SAFETY: The kiocb is valid.
    let read = match inode.lock_for_read(unsafe { is_nowait(iocb) }) {
        // SAFETY: The kiocb and iterator are valid and the inode's `i_rwsem` is held shared, as
        // `dax_iomap_rw` expects for a read; the table is `'static`.
        Ok(_lock) if inode.is_dax() => unsafe {
            raw::dax_iomap_rw(iocb, to, &iomap::Tables::<T>::IOMAP)
        },
        // SAFETY: As above, for iomap's direct I/O to the block device.
        Ok(_lock) if unsafe { is_direct(iocb) } => unsafe {
            let ops = &iomap::Tables::<T>::IOMAP;
            raw::iomap_dio_rw(iocb, to, ops, ptr::null(), 0, ptr::null_mut(), 0)
        },
        // SAFETY: As above; a read through the page cache.
        Ok(_lock) => unsafe { raw::generic_file_read_iter(iocb, to) },
        // CAST: an errno fits `isize`.
        Err(e) => return e.to_errno() as isize,
    };
    // The access time, as every file system's read does.
    // SAFETY: The file is open.
    unsafe { raw::daxfs_file_accessed(file) };
    read
}

/// Copies a write's data to the file `inode`, whose blocks `begin_write` allocated: through DAX,
/// or for a file without DAX into the page cache, or with `direct` in bios to the device
/// (waiting for them: `end_write` needs to know how far it got). Returns what was written, and
/// whether it is durable already as `O_SYNC`/`O_DSYNC` ask (direct I/O syncs as it completes).
/// A direct write whose cached pages could not be dropped (`ENOTBLK`) goes through the page
/// cache instead, which is then written back and dropped, as ext4 does.
///
/// # Safety
///
/// `iocb` and `from` must be valid, for an open regular file of `T` whose inode is `inode`, with
/// `i_rwsem` held exclusively.
unsafe fn copy_in<T: FileSystem>(
    inode: &Inode<T>,
    iocb: *mut raw::kiocb,
    from: *mut raw::iov_iter,
    direct: bool,
) -> (isize, bool) {
    let ops = &iomap::Tables::<T>::IOMAP;
    if inode.is_dax() {
        // SAFETY: As the caller guarantees; the table is `'static`.
        return (unsafe { raw::dax_iomap_rw(iocb, from, ops) }, false);
    }
    if !direct {
        // SAFETY: As above.
        let written = unsafe {
            raw::iomap_file_buffered_write(iocb, from, ops, ptr::null(), ptr::null_mut())
        };
        return (written, false);
    }
    let wait = raw::IOMAP_DIO_FORCE_WAIT;
    // SAFETY: As above.
    let written =
        unsafe { raw::iomap_dio_rw(iocb, from, ops, ptr::null(), wait, ptr::null_mut(), 0) };
    // CAST: an errno fits `isize`.
    if written != ENOTBLK.to_errno() as isize {
        return (written, true);
    }
    // SAFETY: As above.
    let buffered =
        unsafe { raw::iomap_file_buffered_write(iocb, from, ops, ptr::null(), ptr::null_mut()) };
    // SAFETY: As above; `buffered` bytes were just written at the position before `ki_pos`.
    (
        unsafe { raw::direct_write_fallback(iocb, from, 0, buffered) },
        false,
    )
}

/// `file_operations::write_iter`: a write under the exclusive `i_rwsem`: blocks are allocated
/// and zeroed first (`begin_write`), the data copied (see [`copy_in`]), and the size grows
/// afterwards.
///
/// # Safety
///
/// Called by the VFS with a valid kiocb of an open regular file of `T` and a valid iterator.
unsafe extern "C" fn write_iter_callback<T: FileSystem>(
    iocb: *mut raw::kiocb,
    from: *mut raw::iov_iter,
) -> isize {
    // SAFETY: The kiocb is valid for the call.
    let file = unsafe { (*iocb).ki_filp };
    // SAFETY: The kiocb's file is an open regular file of `T`.
    let inode = unsafe { file_inode::<T>(file) };
    // SAFETY: The kiocb is valid.
    let nowait = unsafe { is_nowait(iocb) };
    let written = (|| -> Result<(isize, bool)> {
        inode.super_block().check_running()?;
        let _lock = inode.lock_for_write(nowait)?;
        // SAFETY: The kiocb and iterator are valid; `i_rwsem` is held.
        let count = unsafe { raw::generic_write_checks(iocb, from) };
        if count <= 0 {
            // Nothing to write, or an error (a negative errno), as it is.
            return Ok((count, false));
        }
        // Privileges dropped and times updated (`EAGAIN` if that would block under
        // `IOCB_NOWAIT`).
        // SAFETY: The kiocb is valid, its file open and its inode locked.
        to_result(unsafe { raw::kiocb_modified(iocb) })?;
        // SAFETY: The kiocb is valid; `generic_write_checks` settled the position.
        let pos = u64::try_from(unsafe { (*iocb).ki_pos }).map_err(|_| EINVAL)?;
        // CAST: `count` is positive here.
        let end = pos.checked_add(count as u64).ok_or(EFBIG)?;
        if pos > inode.size() {
            if nowait {
                // It grows the file: `begin_write` would refuse it too, after waiting here.
                return Err(EAGAIN);
            }
            zero_cached_tail(inode)?;
        }
        T::FileOps::begin_write(inode, pos, end, nowait)?;
        // SAFETY: The kiocb is valid.
        let direct = unsafe { is_direct(iocb) };
        // SAFETY: As for reads, with `i_rwsem` held exclusively.
        let (written, synced) = unsafe { copy_in(inode, iocb, from, direct) };
        // SAFETY: The kiocb is valid; the copy moved its position past the data.
        let written_end = (written > 0).then(|| unsafe { (*iocb).ki_pos });
        T::FileOps::end_write(inode, written_end.and_then(|e| u64::try_from(e).ok()))?;
        Ok((written, synced))
    })();
    match written {
        // O_SYNC, O_DSYNC and RWF_DSYNC: fsync the range written, once `i_rwsem` is released.
        // SAFETY: The kiocb is valid; its position is past the data written.
        Ok((count, false)) if count > 0 => unsafe { raw::daxfs_generic_write_sync(iocb, count) },
        Ok((count, _)) => count,
        // CAST: an errno fits `isize`.
        Err(e) => e.to_errno() as isize,
    }
}
