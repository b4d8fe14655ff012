// SPDX-License-Identifier: GPL-2.0

//! Regular files: read and write through DAX (`dax_iomap_rw`), mmap with DAX faults, fsync, and
//! the iomap table that maps file ranges to the device for both.
//!
//! C headers: [`include/linux/dax.h`](srctree/include/linux/dax.h),
//! [`include/linux/iomap.h`](srctree/include/linux/iomap.h).

use core::marker::PhantomData;

use kernel::{
    error::from_result,
    prelude::*, //
};

use super::{
    fault::FaultOps,
    fs_type::FileSystem,
    inode::Inode,
    raw, //
};

/// How a range of a file maps to the device, as `FileSystem::map_blocks` reports it.
pub(crate) struct BlockMap {
    /// First file block of the range.
    pub(crate) file_block: u64,
    /// Blocks in the range.
    pub(crate) blocks: u64,
    /// First device block, `None` for a hole.
    pub(crate) device_block: Option<u64>,
    /// The blocks were just allocated (and zeroed).
    pub(crate) new: bool,
}

/// The iomap, file and address space operations of `T`'s regular files, which all use DAX.
pub(super) struct FileOps<T>(PhantomData<T>);

impl<T: FileSystem> FileOps<T> {
    pub(super) const IOMAP: raw::iomap_ops = raw::iomap_ops {
        iomap_begin: Some(iomap_begin_callback::<T>),
        iomap_end: None,
        iomap_next: None,
    };
    pub(super) const FILE: raw::file_operations = raw::file_operations {
        llseek: Some(llseek_callback::<T>),
        read_iter: Some(read_iter_callback::<T>),
        write_iter: Some(write_iter_callback::<T>),
        open: Some(raw::generic_file_open),
        fsync: Some(fsync_callback::<T>),
        mmap_prepare: Some(mmap_prepare_callback::<T>),
        fallocate: Some(fallocate_callback::<T>),
        // PMD-aligned addresses for mappings of 2 MiB or more, so that PMD faults are possible.
        get_unmapped_area: Some(raw::thp_get_unmapped_area),
        fop_flags: raw::daxfs_fop_flags_DAXFS_FOP_DAX_FILE,
        ..pin_init::zeroed()
    };
    /// DAX mappings have no page cache: `writepages` only flushes the CPU cache of pages
    /// written through mappings (the dirty DAX entries), and folios are never dirtied.
    pub(super) const AOPS: raw::address_space_operations = raw::address_space_operations {
        writepages: Some(writepages_callback::<T>),
        dirty_folio: Some(raw::noop_dirty_folio),
        ..pin_init::zeroed()
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
}

impl Fallocate {
    /// Decodes a `fallocate(2)` mode; `EOPNOTSUPP` for the modes daxfs does not implement
    /// (collapse, insert, unshare, write-zeroes).
    fn from_mode(mode: c_int) -> Result<Self> {
        const KEEP: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_KEEP_SIZE;
        const PUNCH: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_PUNCH_HOLE;
        const ZERO: u32 = raw::daxfs_falloc_mode_DAXFS_FALLOC_ZERO_RANGE;
        match mode as u32 {
            0 => Ok(Self::Allocate { keep_size: false }),
            KEEP => Ok(Self::Allocate { keep_size: true }),
            m if m == PUNCH | KEEP => Ok(Self::PunchHole),
            ZERO => Ok(Self::ZeroRange { keep_size: false }),
            m if m == ZERO | KEEP => Ok(Self::ZeroRange { keep_size: true }),
            _ => Err(EOPNOTSUPP),
        }
    }
}

/// `file_operations::fallocate`: under `i_rwsem` (as ext4 and XFS take it), after direct I/O
/// in flight has finished and the times and privileges are updated, `T::fallocate` does the
/// work.
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
        // SAFETY: The file is open; its inode is a ready regular inode of `T`.
        let inode = unsafe { Inode::<T>::from_raw((*file).f_inode) };
        // SAFETY: The inode is live; unlocked below.
        unsafe { raw::daxfs_inode_lock(inode.as_raw()) };
        let result = (|| {
            inode.dio_wait();
            // SAFETY: The file is open and its inode locked, as `file_modified` expects.
            kernel::error::to_result(unsafe { raw::file_modified(file) })?;
            T::fallocate(inode, mode, offset, len)
        })();
        // SAFETY: Locked above.
        unsafe { raw::daxfs_inode_unlock(inode.as_raw()) };
        result.map(|()| 0)
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
    // SAFETY: The descriptor is valid and its file open, so the inode is a ready inode of `T`.
    unsafe {
        let file = (*desc).file;
        let inode = Inode::<T>::from_raw((*file).f_inode);
        let dax = T::pmem(inode.super_block()).dax_device();
        if !raw::daxfs_mapping_supported(desc, inode.as_raw(), dax) {
            return EOPNOTSUPP.to_errno();
        }
        raw::daxfs_file_accessed(file);
        (*desc).vm_ops = &FaultOps::<T>::VM_OPS;
        raw::daxfs_desc_set_hugepage(desc);
    }
    0
}

/// `file_operations::fsync`: file data written by `write()` reached persistent memory with
/// non-temporal stores, and metadata is written synchronously; what remains is the CPU cache of
/// pages written through mappings (flushed by `writepages` for the range), and a fence.
///
/// # Safety
///
/// Called by the VFS with an open regular file of `T`.
unsafe extern "C" fn fsync_callback<T: FileSystem>(
    file: *mut raw::file,
    start: raw::loff_t,
    end: raw::loff_t,
    _datasync: c_int,
) -> c_int {
    // SAFETY: The file is open; its inode is a ready inode of `T`.
    let ret = unsafe { raw::file_write_and_wait_range(file, start, end) };
    if ret == 0 {
        // SAFETY: As above.
        let inode = unsafe { Inode::<T>::from_raw((*file).f_inode) };
        T::pmem(inode.super_block()).fence();
    }
    ret
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
    unsafe {
        let inode = Inode::<T>::from_raw((*mapping).host);
        raw::dax_writeback_mapping_range(mapping, T::pmem(inode.super_block()).dax_device(), wbc)
    }
}

/// `iomap_ops::iomap_begin`: maps (and for writes allocates) the range at `pos`.
///
/// # Safety
///
/// Called by iomap with a ready inode of `T` under its `i_rwsem` (or the invalidate lock for
/// faults), and valid `iomap`/`srcmap` outputs.
unsafe extern "C" fn iomap_begin_callback<T: FileSystem>(
    inode: *mut raw::inode,
    pos: raw::loff_t,
    length: raw::loff_t,
    flags: c_uint,
    iomap: *mut raw::iomap,
    _srcmap: *mut raw::iomap,
) -> c_int {
    from_result(|| {
        // SAFETY: iomap passes a ready inode of `T`.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
        let length = u64::try_from(length).map_err(|_| EINVAL)?;
        let map = T::map_blocks(inode, pos, length, flags & raw::IOMAP_WRITE != 0)?;
        let pmem = T::pmem(inode.super_block());
        // SAFETY: `iomap` is a valid output for the call; the superblock is live.
        unsafe {
            let m = &mut *iomap;
            m.offset = (map.file_block << kernel::page::PAGE_SHIFT) as i64;
            m.length = map.blocks << kernel::page::PAGE_SHIFT;
            m.dax_dev = pmem.dax_device();
            m.bdev = (*(*inode.as_raw()).i_sb).s_bdev;
            match map.device_block {
                Some(block) => {
                    m.type_ = raw::IOMAP_MAPPED as u16;
                    m.addr = pmem.dax_addr(block << kernel::page::PAGE_SHIFT);
                }
                None => {
                    m.type_ = raw::IOMAP_HOLE as u16;
                    m.addr = raw::IOMAP_NULL_ADDR as u64;
                }
            }
            if map.new {
                m.flags |= raw::IOMAP_F_NEW as u16;
            }
        }
        Ok(0)
    })
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
    let whence_u = whence as u32;
    if whence_u != raw::SEEK_HOLE && whence_u != raw::SEEK_DATA {
        // SAFETY: As the VFS guarantees.
        return unsafe { raw::generic_file_llseek(file, offset, whence) };
    }
    // SAFETY: An open file keeps its inode live; it is a ready regular inode of `T`.
    unsafe {
        let inode = (*file).f_inode;
        raw::daxfs_inode_lock_shared(inode);
        let found = if whence_u == raw::SEEK_HOLE {
            raw::iomap_seek_hole(inode, offset, &FileOps::<T>::IOMAP)
        } else {
            raw::iomap_seek_data(inode, offset, &FileOps::<T>::IOMAP)
        };
        raw::daxfs_inode_unlock_shared(inode);
        if found < 0 {
            return found;
        }
        raw::vfs_setpos(file, found, (*(*inode).i_sb).s_maxbytes)
    }
}

/// `inode_operations::fiemap`: the block map, through iomap, under the shared `i_rwsem`.
///
/// # Safety
///
/// Called by the VFS with a ready regular inode of `T` and a valid `fiemap_extent_info`.
pub(super) unsafe extern "C" fn fiemap_callback<T: FileSystem>(
    inode: *mut raw::inode,
    info: *mut raw::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    unsafe {
        raw::daxfs_inode_lock_shared(inode);
        let ret = raw::iomap_fiemap(inode, info, start, len, &FileOps::<T>::IOMAP);
        raw::daxfs_inode_unlock_shared(inode);
        ret
    }
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
    // SAFETY: The file of a live kiocb keeps its inode live.
    unsafe {
        let inode = (*(*iocb).ki_filp).f_inode;
        raw::daxfs_inode_lock_shared(inode);
        let ret = raw::dax_iomap_rw(iocb, to, &FileOps::<T>::IOMAP);
        raw::daxfs_inode_unlock_shared(inode);
        ret
    }
}

/// `file_operations::write_iter`: a DAX write under the exclusive `i_rwsem`; blocks are
/// allocated and zeroed in `iomap_begin`, and the size grows afterwards.
///
/// # Safety
///
/// Called by the VFS with a valid kiocb of an open regular file of `T` and a valid iterator.
unsafe extern "C" fn write_iter_callback<T: FileSystem>(
    iocb: *mut raw::kiocb,
    from: *mut raw::iov_iter,
) -> isize {
    // SAFETY: The file of a live kiocb keeps its inode live; the inode is a ready inode of `T`,
    // locked exclusively around the checks, the write and the size update.
    unsafe {
        let file = (*iocb).ki_filp;
        let inode = (*file).f_inode;
        raw::daxfs_inode_lock(inode);
        let mut ret = raw::generic_write_checks(iocb, from);
        if ret > 0 {
            let err = raw::file_remove_privs(file);
            let err = if err == 0 {
                raw::file_update_time(file)
            } else {
                err
            };
            ret = if err == 0 {
                raw::dax_iomap_rw(iocb, from, &FileOps::<T>::IOMAP)
            } else {
                err as isize
            };
        }
        if ret > 0 {
            let end = u64::try_from((*iocb).ki_pos).unwrap_or(0);
            if let Err(e) = T::extend_size(Inode::<T>::from_raw(inode), end) {
                ret = e.to_errno() as isize;
            }
        }
        raw::daxfs_inode_unlock(inode);
        ret
    }
}
