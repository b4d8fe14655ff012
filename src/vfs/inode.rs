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
    file::{
        fiemap_callback,
        FileOps, //
    },
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
    pub(super) unsafe fn from_raw<'a>(inode: *mut raw::inode) -> &'a Self {
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

    /// The attributes the VFS holds for the inode (after `setattr`, for instance).
    pub(crate) fn attrs(&self) -> InodeAttrs {
        let mut a = raw::daxfs_inode_attrs::default();
        // SAFETY: By the type invariant the inode is live; `a` is a valid output.
        unsafe { raw::daxfs_inode_get_attrs(self.as_raw(), &mut a) };
        InodeAttrs {
            mode: a.mode,
            uid: a.uid,
            gid: a.gid,
            times: [
                (a.atime_sec, a.atime_nsec),
                (a.mtime_sec, a.mtime_nsec),
                (a.ctime_sec, a.ctime_nsec),
            ],
        }
    }

    /// Sets the link count the VFS sees. Callers hold the inode's `i_rwsem` (the VFS takes it
    /// around every operation that changes links) or are its only user.
    pub(crate) fn set_nlink(&self, nlink: u32) {
        // SAFETY: By the type invariant the inode is live.
        unsafe { raw::set_nlink(self.as_raw(), nlink) };
    }

    /// Sets the size and allocated bytes the VFS sees; callers hold `i_rwsem`.
    pub(crate) fn set_size(&self, size: u64, allocated_bytes: u64) {
        // SAFETY: By the type invariant the inode is live.
        unsafe {
            (*self.as_raw()).i_size = size as i64;
            raw::inode_set_bytes(self.as_raw(), allocated_bytes as i64);
        }
    }

    /// Sets the access, modification and change times the VFS sees.
    pub(crate) fn set_times(&self, times: [(i64, u32); 3]) {
        let [a, m, c] = times;
        // SAFETY: By the type invariant the inode is live.
        unsafe { raw::daxfs_inode_set_times(self.as_raw(), a.0, a.1, m.0, m.1, c.0, c.1) };
    }
}

/// The attributes of a VFS inode that daxfs stores.
pub(crate) struct InodeAttrs {
    /// Type and permission bits.
    pub(crate) mode: u16,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Access, modification and change times: seconds and nanoseconds.
    pub(crate) times: [(i64, u32); 3],
}

/// The current time, as file times take it.
pub(crate) fn now() -> (i64, u32) {
    let mut ts = raw::timespec64::default();
    // SAFETY: `ts` is a valid output.
    unsafe { raw::ktime_get_real_ts64(&mut ts) };
    (ts.tv_sec, ts.tv_nsec as u32)
}

/// The caller's file system user and group ids (init user namespace: daxfs does not support
/// idmapped mounts).
pub(crate) fn current_fsids() -> (u32, u32) {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: Valid outputs.
    unsafe { raw::daxfs_current_fsids(&mut uid, &mut gid) };
    (uid, gid)
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
    /// Fills the inode in, initialises its data in place and makes it visible.
    pub(crate) fn init(
        self,
        params: InodeParams,
        data: impl PinInit<T::InodeData, Error>,
    ) -> Result<ARef<Inode<T>>> {
        let inode = self.0.as_ptr();
        // The inode is new and ours to fill in: nobody else can see it until `unlock_new_inode`.
        // Its data slot sits in the slab object, which never moves, so initialising it in place
        // pins it; on error `self` is dropped, which fails the inode without touching the data.
        // SAFETY: By the type invariant of `NewInode`, as explained above.
        unsafe {
            let obj = container_of_inode::<T>(inode);
            data.__init((*obj).data.as_mut_ptr())?;
            // INVARIANT: `data` was just initialised.
            (*obj).data_ready = true;
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
                    i.i_op = &Ops::<T>::DIR_INODE;
                    i.__bindgen_anon_3.i_fop = &Ops::<T>::DIR_FILE;
                }
                InodeKind::Regular => {
                    i.i_op = &Ops::<T>::FILE_INODE;
                    i.__bindgen_anon_3.i_fop = &FileOps::<T>::FILE;
                    i.i_data.a_ops = &FileOps::<T>::AOPS;
                    // dax=always: decided once, here, before anyone can use the inode.
                    raw::daxfs_set_dax(inode);
                }
                InodeKind::Symlink => {
                    let target = T::symlink_target((*obj).data.assume_init_ref()).ok_or(EUCLEAN)?;
                    // The target lives in the inode's data, as long as the inode.
                    i.__bindgen_anon_5.i_link = target.as_char_ptr().cast_mut();
                    i.i_op = &Ops::<T>::SYMLINK_INODE;
                }
                InodeKind::Special(rdev) => {
                    raw::init_special_inode(inode, params.mode, rdev);
                    i.i_op = &Ops::<T>::SPECIAL_INODE;
                }
            }
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

/// What to create in a directory.
pub(crate) enum NodeKind<'a> {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link to the target.
    Symlink(&'a [u8]),
    /// A device, FIFO or socket node with its device number.
    Special(u32),
}

/// A node to create, with the caller's ids (the file system applies set-group-ID directories).
pub(crate) struct NewNode<'a> {
    /// What it is.
    pub(crate) kind: NodeKind<'a>,
    /// Type and permission bits, umask applied.
    pub(crate) mode: u16,
    /// The caller's file system user id.
    pub(crate) uid: u32,
    /// The caller's file system group id.
    pub(crate) gid: u32,
}

/// The operations tables of `T`.
struct Ops<T>(PhantomData<T>);

impl<T: FileSystem> Ops<T> {
    const DIR_INODE: raw::inode_operations = raw::inode_operations {
        lookup: Some(lookup_callback::<T>),
        create: Some(create_callback::<T>),
        mkdir: Some(mkdir_callback::<T>),
        symlink: Some(symlink_callback::<T>),
        mknod: Some(mknod_callback::<T>),
        link: Some(link_callback::<T>),
        unlink: Some(unlink_callback::<T>),
        rmdir: Some(rmdir_callback::<T>),
        rename: Some(rename_callback::<T>),
        setattr: Some(setattr_callback::<T>),
        ..pin_init::zeroed()
    };
    const DIR_FILE: raw::file_operations = raw::file_operations {
        llseek: Some(raw::generic_file_llseek),
        read: Some(raw::generic_read_dir),
        iterate_shared: Some(iterate_shared_callback::<T>),
        ..pin_init::zeroed()
    };
    const FILE_INODE: raw::inode_operations = raw::inode_operations {
        setattr: Some(setattr_callback::<T>),
        fiemap: Some(fiemap_callback::<T>),
        ..pin_init::zeroed()
    };
    const SPECIAL_INODE: raw::inode_operations = raw::inode_operations {
        setattr: Some(setattr_callback::<T>),
        ..pin_init::zeroed()
    };
    const SYMLINK_INODE: raw::inode_operations = raw::inode_operations {
        get_link: Some(raw::simple_get_link),
        setattr: Some(setattr_callback::<T>),
        ..pin_init::zeroed()
    };
}

/// The name of a dentry.
///
/// # Safety
///
/// `dentry` must be valid, with a name that is stable for `'a` (the VFS holds the parent's lock).
unsafe fn dentry_name<'a>(dentry: *mut raw::dentry) -> &'a [u8] {
    // SAFETY: The caller guarantees the dentry and its name are valid and stable.
    unsafe {
        let qstr = &(*dentry).__bindgen_anon_1.d_name;
        core::slice::from_raw_parts(
            qstr.name,
            qstr.__bindgen_anon_1.__bindgen_anon_1.len as usize,
        )
    }
}

/// The inode of a positive dentry.
///
/// # Safety
///
/// `dentry` must be a valid positive dentry of a superblock of type `T`, stable for `'a`.
unsafe fn dentry_inode<'a, T: FileSystem>(dentry: *mut raw::dentry) -> &'a Inode<T> {
    // SAFETY: The caller guarantees a positive dentry whose inode is a ready inode of `T`.
    unsafe { Inode::from_raw((*dentry).d_inode) }
}

/// Creates `node` under `dentry` in `dir` and attaches the new inode to the dentry.
///
/// # Safety
///
/// `dir` must be a ready directory inode of `T` and `dentry` a negative dentry in it, with the
/// directory locked by the VFS.
unsafe fn create_node<T: FileSystem>(
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    kind: NodeKind<'_>,
    mode: u16,
) -> Result {
    // SAFETY: The caller guarantees `dir` and `dentry`.
    let (dir, name) = unsafe { (Inode::<T>::from_raw(dir), dentry_name(dentry)) };
    let (uid, gid) = current_fsids();
    let inode = T::create(
        dir,
        name,
        NewNode {
            kind,
            mode,
            uid,
            gid,
        },
    )?;
    // SAFETY: `d_instantiate` takes over the inode reference.
    unsafe { raw::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast()) };
    Ok(())
}

/// `inode_operations::create`.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T` and a negative dentry in it.
unsafe extern "C" fn create_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    mode: raw::umode_t,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    from_result(|| unsafe { create_node::<T>(dir, dentry, NodeKind::Regular, mode).map(|()| 0) })
}

/// `inode_operations::mkdir`; returns null: the dentry passed in is the new directory's.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T` and a negative dentry in it.
unsafe extern "C" fn mkdir_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    mode: raw::umode_t,
) -> *mut raw::dentry {
    let mode = mode | raw::S_IFDIR as raw::umode_t;
    // SAFETY: As the VFS guarantees.
    match unsafe { create_node::<T>(dir, dentry, NodeKind::Directory, mode) } {
        Ok(()) => core::ptr::null_mut(),
        Err(e) => e.to_ptr(),
    }
}

/// `inode_operations::symlink`.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T`, a negative dentry in it and a
/// NUL-terminated target.
unsafe extern "C" fn symlink_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    target: *const c_char,
) -> c_int {
    // SAFETY: The VFS passes a NUL-terminated target that lives for the call.
    let target = unsafe { CStr::from_char_ptr(target) }.to_bytes();
    let mode = raw::S_IFLNK as raw::umode_t | 0o777;
    // SAFETY: As the VFS guarantees.
    from_result(|| unsafe {
        create_node::<T>(dir, dentry, NodeKind::Symlink(target), mode).map(|()| 0)
    })
}

/// `inode_operations::mknod`.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T` and a negative dentry in it.
unsafe extern "C" fn mknod_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    mode: raw::umode_t,
    rdev: raw::dev_t,
) -> c_int {
    let kind = if u32::from(mode) & raw::S_IFMT == raw::S_IFREG {
        NodeKind::Regular
    } else {
        NodeKind::Special(rdev)
    };
    // SAFETY: As the VFS guarantees.
    from_result(|| unsafe { create_node::<T>(dir, dentry, kind, mode).map(|()| 0) })
}

/// `inode_operations::link`.
///
/// # Safety
///
/// Called by the VFS with `old` positive, `dir` a locked directory of `T` and `dentry` a
/// negative dentry in it, the linked inode locked too.
unsafe extern "C" fn link_callback<T: FileSystem>(
    old: *mut raw::dentry,
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
) -> c_int {
    from_result(|| {
        // SAFETY: As the VFS guarantees.
        let (inode, dir, name) = unsafe {
            (
                dentry_inode::<T>(old),
                Inode::<T>::from_raw(dir),
                dentry_name(dentry),
            )
        };
        T::link(dir, name, inode)?;
        // SAFETY: The new dentry gets its own reference to the inode.
        unsafe {
            raw::ihold(inode.as_raw());
            raw::d_instantiate(dentry, inode.as_raw());
        }
        Ok(0)
    })
}

/// Removes the positive `dentry` from `dir` with `remove` (`T::unlink` or `T::rmdir`).
///
/// # Safety
///
/// `dir` must be a locked directory of `T` and `dentry` a positive dentry in it, its inode
/// locked too.
unsafe fn remove_callback<T: FileSystem>(
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
    remove: fn(&Inode<T>, &[u8], &Inode<T>) -> Result,
) -> c_int {
    from_result(|| {
        // SAFETY: As the caller guarantees.
        let (dir, name, inode) = unsafe {
            (
                Inode::<T>::from_raw(dir),
                dentry_name(dentry),
                dentry_inode::<T>(dentry),
            )
        };
        remove(dir, name, inode)?;
        Ok(0)
    })
}

/// `inode_operations::unlink`.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T` and a positive dentry in it, its inode
/// locked too.
unsafe extern "C" fn unlink_callback<T: FileSystem>(
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    unsafe { remove_callback::<T>(dir, dentry, T::unlink) }
}

/// `inode_operations::rmdir`.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T` and a positive directory dentry in it, its
/// inode locked too.
unsafe extern "C" fn rmdir_callback<T: FileSystem>(
    dir: *mut raw::inode,
    dentry: *mut raw::dentry,
) -> c_int {
    // SAFETY: As the VFS guarantees.
    unsafe { remove_callback::<T>(dir, dentry, T::rmdir) }
}

/// `inode_operations::rename`. Only `RENAME_NOREPLACE` is supported (the VFS checks it).
///
/// # Safety
///
/// Called by the VFS with both directories locked, `old` positive, `new` possibly positive.
unsafe extern "C" fn rename_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    old_dir: *mut raw::inode,
    old: *mut raw::dentry,
    new_dir: *mut raw::inode,
    new: *mut raw::dentry,
    flags: c_uint,
) -> c_int {
    from_result(|| {
        if flags & !raw::RENAME_NOREPLACE != 0 {
            return Err(EINVAL);
        }
        // SAFETY: As the VFS guarantees; `new` may be negative.
        let (old_dir, old_name, inode, new_dir, new_name, target) = unsafe {
            (
                Inode::<T>::from_raw(old_dir),
                dentry_name(old),
                dentry_inode::<T>(old),
                Inode::<T>::from_raw(new_dir),
                dentry_name(new),
                if (*new).d_inode.is_null() {
                    None
                } else {
                    Some(dentry_inode::<T>(new))
                },
            )
        };
        T::rename(old_dir, old_name, inode, new_dir, new_name, target)?;
        Ok(0)
    })
}

/// `inode_operations::setattr`: the VFS checks and copies the attributes, daxfs stores them; a
/// size change (truncate) goes to `T::set_size` first.
///
/// # Safety
///
/// Called by the VFS with a positive dentry of `T`, its inode locked, and valid attributes.
unsafe extern "C" fn setattr_callback<T: FileSystem>(
    idmap: *mut raw::mnt_idmap,
    dentry: *mut raw::dentry,
    attr: *mut raw::iattr,
) -> c_int {
    from_result(|| {
        // SAFETY: As the VFS guarantees.
        let inode = unsafe { dentry_inode::<T>(dentry) };
        // SAFETY: As the VFS guarantees.
        kernel::error::to_result(unsafe { raw::setattr_prepare(idmap, dentry, attr) })?;
        // Also to the current size: that drops blocks allocated past EOF (fallocate
        // --keep-size), as in ext4 and XFS.
        // SAFETY: `attr` is valid.
        let new_size =
            unsafe { ((*attr).ia_valid & raw::ATTR_SIZE != 0).then_some((*attr).ia_size) };
        if let Some(size) = new_size {
            // `setattr_prepare` checked it against the size limits; the VFS holds `i_rwsem`.
            T::set_size(inode, u64::try_from(size).map_err(|_| EINVAL)?)?;
        }
        // SAFETY: `attr` is valid; the inode is live and locked.
        unsafe { raw::setattr_copy(idmap, inode.as_raw(), attr) };
        T::write_inode(inode)?;
        Ok(0)
    })
}

/// `super_operations::dirty_inode`: the VFS changed the inode's times (or other attributes);
/// store them now, as daxfs writes metadata synchronously.
///
/// # Safety
///
/// Called by the VFS with a live inode of a superblock of type `T`.
pub(super) unsafe extern "C" fn dirty_inode_callback<T: FileSystem>(
    inode: *mut raw::inode,
    _flags: c_int,
) {
    // SAFETY: The inode is live; only one whose data is ready was ever filled in from disk.
    unsafe {
        if !(*container_of_inode::<T>(inode)).data_ready {
            return;
        }
        if let Err(e) = T::write_inode(Inode::from_raw(inode)) {
            pr_err!(
                "could not store the attributes of inode {}: {e:?}\n",
                (*inode).i_ino
            );
        }
    }
}

/// `super_operations::evict_inode`: the last reference to an inode is gone.
///
/// # Safety
///
/// Called by the VFS once per inode of a superblock of type `T`, with nobody else using it.
pub(super) unsafe extern "C" fn evict_inode_callback<T: FileSystem>(inode: *mut raw::inode) {
    // SAFETY: The inode is being evicted and is ours. No DAX mapping or pin may remain before
    // its page cache and blocks go: wait for them first (a no-op for non-DAX inodes).
    unsafe {
        raw::dax_break_layout_final(inode);
        raw::truncate_inode_pages_final(&raw mut (*inode).i_data);
        let obj = container_of_inode::<T>(inode);
        // An inode that failed instantiation never had data and was never on disk.
        if (*obj).data_ready && (*inode).__bindgen_anon_1.__i_nlink == 0 {
            T::evict(Inode::from_raw(inode));
        }
        raw::clear_inode(inode);
    }
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
