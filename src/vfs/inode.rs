// SPDX-License-Identifier: GPL-2.0

//! Inodes with embedded private data, their slab cache, and the directory operations.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

use core::{
    marker::PhantomData,
    mem::{
        offset_of,
        MaybeUninit, //
    },
    ptr::NonNull,
};

use kernel::{
    error::from_result,
    prelude::*,
    sync::aref::AlwaysRefCounted,
    types::Opaque, //
};

use super::{
    fs_type::{
        ARef,
        FileSystem,
        Registration, //
    },
    raw,
    super_block::SuperBlock,
};

/// The object the inode cache hands out: daxfs's per-inode data next to the VFS inode.
///
/// # Invariants
///
/// `data` is initialised exactly when `data_ready` is true; `cache` is the cache the object
/// came from (kept here because `free_inode` runs after an RCU grace period, when the
/// superblock and its `s_type` may already be gone).
#[repr(C)]
struct InodeWithData<T: FileSystem> {
    cache: NonNull<raw::kmem_cache>,
    data_ready: bool,
    data: MaybeUninit<T::InodeData>,
    inode: Opaque<raw::inode>,
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
    pub(super) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a static NUL-terminated string; size and offset describe
        // `InodeWithData<T>`.
        let cache = unsafe {
            raw::daxfs_inode_cache_create(
                name.as_char_ptr(),
                size_of::<InodeWithData<T>>() as u32,
                offset_of!(InodeWithData<T>, inode) as u32,
            )
        };
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
        // SAFETY: Plain kernel calls; by the type invariant the cache is live and, with the file
        // system type unregistered and the grace period over, empty.
        unsafe {
            raw::rcu_barrier();
            raw::kmem_cache_destroy(self.cache.as_ptr());
        }
    }
}

/// `super_operations::alloc_inode`: a fresh object from the inode cache, data not yet ready.
///
/// # Safety
///
/// Called by the VFS with a live superblock of type `T`.
pub(super) unsafe extern "C" fn alloc_inode_callback<T: FileSystem>(
    sb: *mut raw::super_block,
) -> *mut raw::inode {
    // SAFETY: A superblock of type `T` has the `file_system_type` of the live `Registration<T>`.
    let reg = unsafe { Registration::<T>::from_fs_type((*sb).s_type) };
    // SAFETY: The cache is live by the invariant of `InodeCache`; `sb` is live. As
    // `alloc_inode_sb()` does, the object is charged to the superblock's inode LRU.
    let obj = unsafe {
        raw::kmem_cache_alloc_lru_noprof(
            reg.inode_cache.cache.as_ptr(),
            &raw mut (*sb).s_inode_lru,
            raw::GFP_KERNEL,
        )
    }
    .cast::<InodeWithData<T>>();
    if obj.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `obj` is a new object of the cache, ours to initialise.
    // INVARIANT: `data` is not initialised and `data_ready` says so; `cache` is its cache.
    unsafe {
        (*obj).cache = reg.inode_cache.cache;
        (*obj).data_ready = false;
        (*obj).inode.get()
    }
}

/// `super_operations::free_inode`: drops the data, if it was ever set, and frees the object.
///
/// # Safety
///
/// Called by the VFS once per inode from `alloc_inode_callback::<T>`, after an RCU grace period.
pub(super) unsafe extern "C" fn free_inode_callback<T: FileSystem>(inode: *mut raw::inode) {
    // SAFETY: `inode` is the `inode` field of an `InodeWithData<T>` from the cache.
    let obj = unsafe { container_of_inode::<T>(inode) };
    // SAFETY: The object is unused now; by its invariant `data` is initialised iff `data_ready`,
    // and `cache` is where it came from (the cache outlives its objects: `InodeCache::drop`
    // waits for pending RCU frees).
    unsafe {
        if (*obj).data_ready {
            (*obj).data.assume_init_drop();
        }
        raw::kmem_cache_free((*obj).cache.as_ptr(), obj.cast());
    }
}

/// The `InodeWithData<T>` around `inode`.
///
/// # Safety
///
/// `inode` must be the `inode` field of an `InodeWithData<T>`.
unsafe fn container_of_inode<T: FileSystem>(inode: *mut raw::inode) -> *mut InodeWithData<T> {
    // SAFETY: The caller guarantees `inode` is the `inode` field of an `InodeWithData<T>`.
    unsafe { kernel::container_of!(Opaque::cast_from(inode), InodeWithData<T>, inode).cast_mut() }
}

/// A VFS inode of file system `T`, with its data ready.
///
/// # Invariants
///
/// The wrapped inode is live, belongs to a superblock of type `T`, sits in an `InodeWithData<T>`
/// whose `data` is initialised, and is no longer `I_NEW`.
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem>(Opaque<raw::inode>, PhantomData<T>);

// SAFETY: The VFS reference counts inodes with `ihold`/`iput`; `iput` may run on any thread.
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: The inode is live, so taking another reference is allowed.
        unsafe { raw::ihold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference to give back.
        unsafe { raw::iput(obj.as_ptr().cast()) };
    }
}

// SAFETY: Inodes are shared across threads by the VFS; `T::InodeData` is `Send + Sync`.
unsafe impl<T: FileSystem> Send for Inode<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FileSystem> Sync for Inode<T> {}

impl<T: FileSystem> Inode<T> {
    /// Wraps a raw inode pointer.
    ///
    /// # Safety
    ///
    /// `inode` must satisfy the type invariant for `'a`.
    unsafe fn from_raw<'a>(inode: *mut raw::inode) -> &'a Self {
        // SAFETY: Transparent wrapper; the caller guarantees the invariant.
        unsafe { &*inode.cast() }
    }

    pub(super) fn as_raw(&self) -> *mut raw::inode {
        self.0.get()
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: By the type invariant the inode is live; `i_ino` does not change.
        unsafe { (*self.as_raw()).i_ino }
    }

    /// The file system's data for this inode.
    pub(crate) fn data(&self) -> &T::InodeData {
        // SAFETY: By the type invariant the inode sits in an `InodeWithData<T>` with its data
        // initialised, and the data lives as long as the inode.
        unsafe {
            (*container_of_inode::<T>(self.as_raw()))
                .data
                .assume_init_ref()
        }
    }

    /// The superblock the inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: By the type invariant the inode and its superblock (of type `T`) are live.
        unsafe { SuperBlock::from_raw((*self.as_raw()).i_sb) }
    }
}

/// The kind of an inode, which selects its operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InodeKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A device, FIFO or socket node, with its device number.
    Special(u32),
}

/// The attributes of an inode being instantiated.
pub(crate) struct InodeParams {
    /// What the inode is.
    pub(crate) kind: InodeKind,
    /// Type and permission bits, as `st_mode`.
    pub(crate) mode: u16,
    /// Link count.
    pub(crate) nlink: u32,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Bytes of storage allocated.
    pub(crate) allocated_bytes: u64,
    /// Access, modification and change times: seconds and nanoseconds.
    pub(crate) times: [(i64, u32); 3],
}

/// The result of looking an inode number up in the inode cache.
pub(crate) enum Lookup<T: FileSystem> {
    /// The inode was cached and is ready.
    Cached(ARef<Inode<T>>),
    /// A new, locked inode that the caller must fill in.
    New(NewInode<T>),
}

/// A new inode (`I_NEW`, locked) that is not ready yet; dropping it fails the instantiation.
///
/// # Invariants
///
/// The wrapped inode is live, `I_NEW`, of a superblock of type `T`, and we hold its reference.
pub(crate) struct NewInode<T: FileSystem>(NonNull<raw::inode>, PhantomData<T>);

impl<T: FileSystem> NewInode<T> {
    /// Fills the inode in, attaches `data` and makes it visible.
    pub(crate) fn init(self, params: InodeParams, data: T::InodeData) -> Result<ARef<Inode<T>>> {
        let inode = self.0.as_ptr();
        // SAFETY: By the type invariant the inode is new and ours to fill in: nobody else can
        // see it until `unlock_new_inode`.
        unsafe {
            let i = &mut *inode;
            i.i_mode = params.mode;
            raw::set_nlink(inode, params.nlink);
            raw::daxfs_inode_set_ids(inode, params.uid, params.gid);
            i.i_size = params.size as i64;
            raw::inode_set_bytes(inode, params.allocated_bytes as i64);
            let [a, m, c] = params.times;
            raw::daxfs_inode_set_times(inode, a.0, a.1, m.0, m.1, c.0, c.1);
            match params.kind {
                InodeKind::Directory => {
                    i.i_op = &DirOps::<T>::INODE;
                    i.__bindgen_anon_3.i_fop = &DirOps::<T>::FILE;
                }
                InodeKind::Regular | InodeKind::Symlink => {
                    i.i_op = &EMPTY_INODE_OPS;
                    i.__bindgen_anon_3.i_fop = &EMPTY_FILE_OPS;
                }
                InodeKind::Special(rdev) => raw::init_special_inode(inode, params.mode, rdev),
            }
            let obj = container_of_inode::<T>(inode);
            (*obj).data.write(data);
            // INVARIANT: `data` was just initialised.
            (*obj).data_ready = true;
            raw::unlock_new_inode(inode);
        }
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: The inode now satisfies the invariant of `Inode<T>`, and the reference we held
        // as a `NewInode` passes to the `ARef`.
        Ok(unsafe { ARef::from_raw(this.0.cast()) })
    }
}

impl<T: FileSystem> Drop for NewInode<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the inode is new and we hold its reference.
        unsafe { raw::iget_failed(self.0.as_ptr()) };
    }
}

/// Looks `ino` up in `sb`'s inode cache, or allocates a new inode for the caller to fill in.
pub(crate) fn iget<T: FileSystem>(sb: &SuperBlock<T>, ino: u64) -> Result<Lookup<T>> {
    // SAFETY: `sb` is a live superblock.
    let inode = NonNull::new(unsafe { raw::iget_locked(sb.as_raw(), ino) }).ok_or(ENOMEM)?;
    // SAFETY: `iget_locked` returned a live inode with a reference for us.
    if unsafe { raw::daxfs_inode_is_new(inode.as_ptr()) } {
        // INVARIANT: The inode is new and we hold its reference.
        return Ok(Lookup::New(NewInode(inode, PhantomData)));
    }
    // SAFETY: A cached inode of `sb` was filled in by `NewInode::init`, so it satisfies the
    // invariant of `Inode<T>`, and `iget_locked` gave us a reference.
    Ok(Lookup::Cached(unsafe { ARef::from_raw(inode.cast()) }))
}

/// Operations of regular files and symlinks until their data paths exist.
const EMPTY_INODE_OPS: raw::inode_operations = pin_init::zeroed();
const EMPTY_FILE_OPS: raw::file_operations = pin_init::zeroed();

/// Emits directory entries into a `readdir` buffer.
///
/// # Invariants
///
/// The wrapped `dir_context` is valid for the lifetime of the reference to this type.
#[repr(transparent)]
pub(crate) struct DirEmitter(Opaque<raw::dir_context>);

impl DirEmitter {
    /// The position to continue from.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the context is valid.
        unsafe { (*self.0.get()).pos }
    }

    /// Emits one entry at the current position and moves to `next_pos`; false when the buffer
    /// is full (the entry was not emitted and the position stays).
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, dtype: u8, next_pos: i64) -> bool {
        // SAFETY: By the type invariant the context is valid; `name` is valid for its length.
        let ok = unsafe {
            raw::daxfs_dir_emit(
                self.0.get(),
                name.as_ptr().cast(),
                name.len() as c_int,
                ino,
                dtype.into(),
            )
        };
        if ok {
            // SAFETY: By the type invariant the context is valid.
            unsafe { (*self.0.get()).pos = next_pos };
        }
        ok
    }
}

/// The `inode_operations` and `file_operations` of directories of `T`.
struct DirOps<T>(PhantomData<T>);

impl<T: FileSystem> DirOps<T> {
    const INODE: raw::inode_operations = raw::inode_operations {
        lookup: Some(lookup_callback::<T>),
        ..pin_init::zeroed()
    };
    const FILE: raw::file_operations = raw::file_operations {
        llseek: Some(raw::generic_file_llseek),
        read: Some(raw::generic_read_dir),
        iterate_shared: Some(iterate_shared_callback::<T>),
        ..pin_init::zeroed()
    };
}

/// `inode_operations::lookup`.
///
/// # Safety
///
/// Called by the VFS with a live directory inode of `T` and a valid negative dentry.
unsafe extern "C" fn lookup_callback<T: FileSystem>(
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    _flags: c_uint,
) -> *mut raw::dentry {
    // SAFETY: The VFS passes a live, ready directory inode of `T`.
    let dir = unsafe { Inode::<T>::from_raw(dir) };
    // SAFETY: The dentry's name is valid and stable during lookup.
    let name = unsafe {
        let qstr = &(*dentry).__bindgen_anon_1.d_name;
        core::slice::from_raw_parts(
            qstr.name,
            qstr.__bindgen_anon_1.__bindgen_anon_1.len as usize,
        )
    };
    match T::lookup(dir, name) {
        // SAFETY: `d_splice_alias` takes over the inode reference (or none for a negative
        // dentry) and accepts the dentry the VFS gave us.
        Ok(inode) => unsafe {
            raw::d_splice_alias(
                inode.map_or(core::ptr::null_mut(), |i| ARef::into_raw(i).as_ptr().cast()),
                dentry,
            )
        },
        Err(e) => e.to_ptr(),
    }
}

/// `file_operations::iterate_shared`.
///
/// # Safety
///
/// Called by the VFS with an open directory of `T` and a valid `dir_context`.
unsafe extern "C" fn iterate_shared_callback<T: FileSystem>(
    file: *mut raw::file,
    ctx: *mut raw::dir_context,
) -> c_int {
    from_result(|| {
        // SAFETY: An open file keeps its inode live; it is a ready directory inode of `T`.
        let dir = unsafe { Inode::<T>::from_raw((*file).f_inode) };
        // SAFETY: `ctx` is valid for the call; `DirEmitter` is a transparent wrapper.
        let emitter = unsafe { &mut *ctx.cast::<DirEmitter>() };
        T::read_dir(dir, emitter)?;
        Ok(0)
    })
}
