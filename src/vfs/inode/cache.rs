// SPDX-License-Identifier: GPL-2.0

//! The inode cache: slab objects that embed the VFS inode next to the file system's data, and the
//! `alloc_inode`/`free_inode` callbacks that hand them out and take them back.

use core::{
    marker::PhantomData,
    mem::{
        offset_of,
        MaybeUninit, //
    },
    ptr::NonNull,
};

use kernel::{
    prelude::*,
    types::Opaque, //
};

use crate::vfs::{
    fs_type::{
        FileSystem,
        Registration, //
    },
    raw,
};

/// The object the inode cache hands out: daxfs's per-inode data next to the VFS inode.
///
/// # Invariants
///
/// `data` is initialised exactly when `data_ready` is true; `link` is `None` or the
/// NUL-terminated target of a symlink that `i_link` points to; `cache` is the cache the object
/// came from (kept here because `free_inode` runs after an RCU grace period, when the superblock
/// and its `s_type` may already be gone).
#[repr(C)]
pub(in crate::vfs) struct InodeWithData<T: FileSystem> {
    cache: NonNull<raw::kmem_cache>,
    pub(in crate::vfs) data_ready: bool,
    pub(in crate::vfs) data: MaybeUninit<T::InodeData>,
    /// A symlink's target, for `i_link`: freed with the object, after RCU path walks that may
    /// still read it are over.
    pub(in crate::vfs) link: Option<KVec<u8>>,
    pub(in crate::vfs) inode: Opaque<raw::inode>,
}

/// The `InodeWithData<T>` around `inode`.
///
/// # Safety
///
/// `inode` must be the `inode` field of an `InodeWithData<T>`.
pub(in crate::vfs) unsafe fn container_of_inode<T: FileSystem>(
    inode: *mut raw::inode,
) -> *mut InodeWithData<T> {
    // SAFETY: The caller guarantees `inode` is the `inode` field of an `InodeWithData<T>`.
    unsafe { kernel::container_of!(Opaque::cast_from(inode), InodeWithData<T>, inode).cast_mut() }
}

/// The slab cache of [`InodeWithData`] objects of `T`.
///
/// # Invariants
///
/// `cache` is a live kmem cache of `InodeWithData<T>` objects whose constructor runs
/// `inode_init_once` on the `inode` field; it is destroyed only in `Drop`.
pub(crate) struct InodeCache<T: FileSystem> {
    cache: NonNull<raw::kmem_cache>,
    _fs: PhantomData<T>,
}

// SAFETY: Kmem caches are thread-safe.
unsafe impl<T: FileSystem> Send for InodeCache<T> {}
// SAFETY: Kmem caches are thread-safe.
unsafe impl<T: FileSystem> Sync for InodeCache<T> {}

impl<T: FileSystem> InodeCache<T> {
    /// Creates the cache, named after the file system.
    pub(in crate::vfs) fn new(name: &'static CStr) -> Result<Self> {
        // CAST: an inode object is a few hundred bytes, far below `u32::MAX`.
        let size = size_of::<InodeWithData<T>>() as u32;
        // CAST: an offset inside that object.
        let inode_offset = offset_of!(InodeWithData<T>, inode) as u32;
        // SAFETY: `name` is a static NUL-terminated string; size and offset describe
        // `InodeWithData<T>`.
        let cache =
            unsafe { raw::daxfs_inode_cache_create(name.as_char_ptr(), size, inode_offset) };
        // INVARIANT: The glue's constructor initialises the inode at the given offset.
        Ok(Self {
            cache: NonNull::new(cache).ok_or(ENOMEM)?,
            _fs: PhantomData,
        })
    }
}

impl<T: FileSystem> Drop for InodeCache<T> {
    fn drop(&mut self) {
        // Inodes are freed after an RCU grace period: wait for the last ones first.
        // SAFETY: A plain kernel call.
        unsafe { raw::rcu_barrier() };
        // SAFETY: By the type invariant the cache is live and, with the file system type
        // unregistered and the grace period over, empty.
        unsafe { raw::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

/// `super_operations::alloc_inode`: a fresh object from the inode cache, data not yet ready.
///
/// # Safety
///
/// Called by the VFS with a live superblock of type `T`.
pub(in crate::vfs) unsafe extern "C" fn alloc_inode_callback<T: FileSystem>(
    sb: *mut raw::super_block,
) -> *mut raw::inode {
    // SAFETY: A superblock of type `T` has the `file_system_type` of the live `Registration<T>`.
    let reg = unsafe { Registration::<T>::from_fs_type((*sb).s_type) };
    let cache = reg.inode_cache.cache;
    // SAFETY: The cache is live by the invariant of `InodeCache`; `sb` is live. As
    // `alloc_inode_sb()` does, the object is charged to the superblock's inode LRU.
    let obj = unsafe {
        raw::kmem_cache_alloc_lru_noprof(
            cache.as_ptr(),
            &raw mut (*sb).s_inode_lru,
            raw::GFP_KERNEL,
        )
    }
    .cast::<InodeWithData<T>>();
    if obj.is_null() {
        return core::ptr::null_mut();
    }
    // INVARIANT: `data` is not initialised and `data_ready` says so; there is no link yet;
    // `cache` is its cache.
    // SAFETY: `obj` is a new object of the cache, ours to initialise; its fields other than
    // `inode` (which the constructor initialised) are uninitialised, so they are written
    // without dropping anything.
    unsafe {
        (&raw mut (*obj).cache).write(cache);
        (&raw mut (*obj).data_ready).write(false);
        (&raw mut (*obj).link).write(None);
    }
    // SAFETY: `obj` is valid; the VFS gets the embedded inode.
    unsafe { (*obj).inode.get() }
}

/// `super_operations::free_inode`: drops the data, if it was ever set, and frees the object.
///
/// # Safety
///
/// Called by the VFS once per inode from `alloc_inode_callback::<T>`, after an RCU grace period.
pub(in crate::vfs) unsafe extern "C" fn free_inode_callback<T: FileSystem>(inode: *mut raw::inode) {
    // SAFETY: `inode` is the `inode` field of an `InodeWithData<T>` from the cache.
    let obj = unsafe { container_of_inode::<T>(inode) };
    // SAFETY: The object is unused now; by its invariant `data` is initialised iff `data_ready`.
    unsafe {
        if (*obj).data_ready {
            (*obj).data.assume_init_drop();
        }
    }
    // SAFETY: `link` is initialised (in `alloc_inode_callback`) and nothing reads it any more.
    unsafe { core::ptr::drop_in_place(&raw mut (*obj).link) };
    // SAFETY: `cache` is where the object came from (the cache outlives its objects:
    // `InodeCache::drop` waits for pending RCU frees), and the object is not used again.
    unsafe { raw::kmem_cache_free((*obj).cache.as_ptr(), obj.cast()) };
}
