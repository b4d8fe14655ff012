// SPDX-License-Identifier: GPL-2.0

//! Inodes with embedded private data: instantiation (`iget`, [`NewInode`]), the attributes the
//! VFS holds, `setattr`, `write_inode` and eviction, and the inode operations of files that are
//! not directories. The slab cache is in [`cache`]; directories are in [`super::dir`].
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

pub(super) mod cache;

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    error::from_result,
    ffi::c_uint,
    prelude::*,
    sync::aref::AlwaysRefCounted,
    types::Opaque, //
};

use self::cache::container_of_inode;
use super::{
    acl::{
        get_inode_acl_callback,
        set_acl_callback, //
    },
    dir,
    file::FileOps,
    fs_type::{
        ARef,
        FileSystem, //
    },
    iomap::fiemap_callback,
    raw,
    super_block::{
        Operations as _,
        SuperBlock, //
    },
    xattr::listxattr_callback,
};

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
        // SAFETY: By the type invariant the inode sits in an `InodeWithData<T>`.
        let obj = unsafe { container_of_inode::<T>(self.as_raw()) };
        // SAFETY: By the type invariant the data is initialised, and it lives as long as the
        // inode.
        unsafe { (*obj).data.assume_init_ref() }
    }

    /// The superblock the inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: By the type invariant the inode and its superblock (of type `T`) are live, and
        // the superblock is ready: inodes are instantiated only through `iget`, which takes a
        // ready superblock, and `put_super` runs after the last one is evicted.
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

    /// The size the VFS sees.
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: By the type invariant the inode is live.
        let size = unsafe { raw::daxfs_i_size_read(self.as_raw()) };
        u64::try_from(size).unwrap_or(0)
    }

    /// Sets the size and allocated bytes the VFS sees; callers hold `i_rwsem` or the invalidate
    /// lock exclusively (the size), and the file system's own inode lock (both).
    pub(crate) fn set_size(&self, size: u64, allocated_bytes: u64) {
        // CAST: sizes are at most `MAX_FILE_SIZE`, below `i64::MAX`; `loff_t` is signed.
        let (size, bytes) = (size as i64, allocated_bytes as i64);
        // SAFETY: By the type invariant the inode is live. A release store: lockless readers of
        // `i_size` (DAX faults check it) see what was written before it.
        unsafe { raw::daxfs_i_size_write(self.as_raw(), size) };
        // SAFETY: By the type invariant the inode is live.
        unsafe { raw::inode_set_bytes(self.as_raw(), bytes) };
    }

    /// Sets the allocated bytes the VFS sees, not the size: for block allocations by write
    /// faults, which do not hold `i_rwsem`, under which a buffered write raises the size
    /// meanwhile. Callers hold the file system's own inode lock.
    pub(crate) fn set_allocated_bytes(&self, allocated_bytes: u64) {
        // CAST: allocated bytes are at most `MAX_FILE_SIZE`, below `i64::MAX`.
        // SAFETY: By the type invariant the inode is live.
        unsafe { raw::inode_set_bytes(self.as_raw(), allocated_bytes as i64) };
    }

    /// Whether the inode uses DAX (`S_DAX`), which is decided once, when it is instantiated
    /// ([`InodeParams::dax`]); otherwise its data goes through the page cache.
    pub(crate) fn is_dax(&self) -> bool {
        // SAFETY: By the type invariant the inode is live.
        unsafe { raw::daxfs_is_dax(self.as_raw()) }
    }

    /// Marks the inode to be evicted when its last reference goes (`d_mark_dontcache`), rather
    /// than kept cached: its next instantiation decides `S_DAX` again, from the flag just
    /// changed.
    pub(crate) fn mark_dontcache(&self) {
        // SAFETY: By the type invariant the inode is live.
        unsafe { raw::d_mark_dontcache(self.as_raw()) };
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

/// The current time for the times of `inode`, from the clock the VFS takes them from
/// (`current_time`: coarse, a tick behind the fine clock). Times the file system sets and times
/// the VFS sets (a write's mtime, a read's atime) must come from the same clock: with a finer
/// one, a file created and then written would have an atime after its mtime, and `relatime`
/// would never update it.
pub(crate) fn now<T: FileSystem>(inode: &Inode<T>) -> (i64, u32) {
    // SAFETY: By the type invariant the inode is live.
    let ts = unsafe { raw::current_time(inode.as_raw()) };
    // CAST: `tv_nsec` is below one billion.
    (ts.tv_sec, ts.tv_nsec as u32)
}

/// A random number for a new inode's generation (`get_random_u32`), as ext4 and XFS take
/// theirs: file handles carry it, and one that could be guessed would let a client reach files
/// through a handle it made up rather than one it was given.
pub(crate) fn random_generation() -> u32 {
    // SAFETY: `get_random_u32` has no preconditions and may be called in any context.
    unsafe { raw::get_random_u32() }
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
pub(crate) enum InodeKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link, with its target and a trailing NUL (kept with the inode for `i_link`).
    Symlink(KVec<u8>),
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
    /// The generation of the inode number, which file handles carry (`i_generation`).
    pub(crate) generation: u32,
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
    /// The attribute flags.
    pub(crate) attributes: Attributes,
    /// For a regular file: whether it uses DAX (`S_DAX`); otherwise its data goes through the
    /// page cache. Never changes while the inode is live.
    pub(crate) dax: bool,
    /// Whether the inode is known to have no ACLs (no extended attributes at all): the VFS
    /// caches that, and checks permissions without asking the file system (in RCU walk too).
    pub(crate) no_acls: bool,
}

/// The attribute flags of an inode (`chattr`, `FS_IOC_SETFLAGS`, `FS_IOC_FSSETXATTR`,
/// `file_setattr(2)`) that a file system stores: those the VFS enforces from `i_flags`
/// (immutable, append-only, no access time, synchronous), one it only reports (no dump), and
/// the per-file DAX flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attributes {
    /// `FS_IMMUTABLE_FL` (`S_IMMUTABLE`).
    pub(crate) immutable: bool,
    /// `FS_APPEND_FL` (`S_APPEND`).
    pub(crate) append: bool,
    /// `FS_NOATIME_FL` (`S_NOATIME`).
    pub(crate) noatime: bool,
    /// `FS_SYNC_FL` (`S_SYNC`).
    pub(crate) sync: bool,
    /// `FS_NODUMP_FL`.
    pub(crate) nodump: bool,
    /// `FS_DAX_FL`, `FS_XFLAG_DAX`.
    pub(crate) dax: bool,
}

impl Attributes {
    /// Each `FS_*_FL` bit with whether it is set.
    fn bits(self) -> [(u32, bool); 6] {
        [
            (raw::FS_IMMUTABLE_FL, self.immutable),
            (raw::FS_APPEND_FL, self.append),
            (raw::FS_NOATIME_FL, self.noatime),
            (raw::FS_SYNC_FL, self.sync),
            (raw::FS_NODUMP_FL, self.nodump),
            (raw::FS_DAX_FL, self.dax),
        ]
    }

    /// The attributes of the `FS_*_FL` bits `flags`; `EOPNOTSUPP` for any other bit.
    fn from_fs_flags(flags: u32) -> Result<Self> {
        let known = Self::default()
            .bits()
            .iter()
            .fold(0, |known, (bit, _)| known | bit);
        if flags & !known != 0 {
            return Err(EOPNOTSUPP);
        }
        let has = |bit: u32| flags & bit != 0;
        Ok(Self {
            immutable: has(raw::FS_IMMUTABLE_FL),
            append: has(raw::FS_APPEND_FL),
            noatime: has(raw::FS_NOATIME_FL),
            sync: has(raw::FS_SYNC_FL),
            nodump: has(raw::FS_NODUMP_FL),
            dax: has(raw::FS_DAX_FL),
        })
    }

    /// The `FS_*_FL` bits.
    fn fs_flags(self) -> u32 {
        self.bits()
            .iter()
            .filter(|(_, set)| *set)
            .fold(0, |flags, (bit, _)| flags | bit)
    }

    /// The `i_flags` bits the VFS enforces that are set, and the mask of all of them.
    fn i_flags(self) -> (c_uint, c_uint) {
        let pairs = [
            (raw::S_IMMUTABLE, self.immutable),
            (raw::S_APPEND, self.append),
            (raw::S_NOATIME, self.noatime),
            (raw::S_SYNC, self.sync),
        ];
        let set = pairs
            .iter()
            .filter(|(_, set)| *set)
            .fold(0, |flags, (bit, _)| flags | bit);
        let mask = pairs.iter().fold(0, |mask, (bit, _)| mask | bit);
        (set, mask)
    }
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
        // On error `self` is dropped, which fails the inode; its object keeps what was set here
        // until `free_inode`.
        // SAFETY: By the type invariant of `NewInode` the inode sits in an `InodeWithData<T>`.
        let obj = unsafe { container_of_inode::<T>(inode) };
        if let InodeKind::Symlink(target) = &params.kind {
            CStr::from_bytes_with_nul(target).map_err(|_| EUCLEAN)?;
        }
        // SAFETY: The data slot sits in the slab object, which never moves, so initialising it
        // in place pins it; nothing else uses the object yet.
        unsafe { data.__init((*obj).data.as_mut_ptr())? };
        // SAFETY: As above.
        // INVARIANT: `data` was just initialised.
        unsafe { (*obj).data_ready = true };
        // The inode is new and ours (see above): each call below only fills it in.
        // SAFETY: As explained above.
        unsafe { (*inode).i_mode = params.mode };
        // SAFETY: As above.
        unsafe { raw::set_nlink(inode, params.nlink) };
        // SAFETY: As above.
        unsafe { (*inode).i_generation = params.generation };
        // SAFETY: As above.
        unsafe { raw::daxfs_inode_set_ids(inode, params.uid, params.gid) };
        // CAST: sizes are at most `MAX_FILE_SIZE`, below `i64::MAX`.
        let (size, bytes) = (params.size as i64, params.allocated_bytes as i64);
        // SAFETY: As above.
        unsafe { raw::daxfs_i_size_write(inode, size) };
        // SAFETY: As above.
        unsafe { raw::inode_set_bytes(inode, bytes) };
        let [a, m, c] = params.times;
        // SAFETY: As above.
        unsafe { raw::daxfs_inode_set_times(inode, a.0, a.1, m.0, m.1, c.0, c.1) };
        let (flags, mask) = params.attributes.i_flags();
        // SAFETY: As above.
        unsafe { raw::inode_set_flags(inode, flags, mask) };
        if params.no_acls {
            // SAFETY: As above.
            unsafe { raw::daxfs_cache_no_acl(inode) };
        }
        match params.kind {
            InodeKind::Directory => {
                // SAFETY: As above; the tables are `'static`.
                unsafe {
                    (*inode).i_op = &dir::Tables::<T>::DIR_INODE;
                    (*inode).__bindgen_anon_3.i_fop = &dir::Tables::<T>::DIR_FILE;
                }
            }
            InodeKind::Regular => {
                let (fops, aops) = if params.dax {
                    (&FileOps::<T>::FILE, &FileOps::<T>::AOPS)
                } else {
                    (&FileOps::<T>::CACHED_FILE, &FileOps::<T>::CACHED_AOPS)
                };
                // SAFETY: As above; the tables are `'static`.
                unsafe {
                    (*inode).i_op = &Tables::<T>::FILE_INODE;
                    (*inode).__bindgen_anon_3.i_fop = fops;
                    (*inode).i_data.a_ops = aops;
                }
                // `S_DAX` is decided once, here, before anyone can use the inode: never on a
                // live one, whose mappings and cached pages would then meet DAX entries.
                if params.dax {
                    // SAFETY: As above.
                    unsafe { raw::daxfs_set_dax(inode) };
                }
            }
            InodeKind::Symlink(target) => {
                // INVARIANT: `link` is the NUL-terminated target (checked above) `i_link` names.
                // SAFETY: As above. The target lives in the object until `free_inode`, after any
                // RCU path walk that may still follow `i_link`.
                unsafe {
                    let link = &mut (*obj).link;
                    let target = link.insert(target);
                    (*inode).__bindgen_anon_5.i_link = target.as_mut_ptr().cast();
                    (*inode).i_op = &Tables::<T>::SYMLINK_INODE;
                }
            }
            InodeKind::Special(rdev) => {
                // SAFETY: As above.
                unsafe { raw::init_special_inode(inode, params.mode, rdev) };
                // SAFETY: As above; the table is `'static`.
                unsafe { (*inode).i_op = &Tables::<T>::SPECIAL_INODE };
            }
        }
        // SAFETY: The inode is filled in: it may become visible.
        unsafe { raw::unlock_new_inode(inode) };
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

/// The inode operations of regular files, symlinks and special files that a file system
/// implements (`setattr` itself is the VFS layer's).
pub(crate) trait Operations<T: FileSystem> {
    /// Changes the size of the regular file `inode` (truncate, either way), for `setattr`, and
    /// stores with it the other attributes of the same `setattr`, which `copy_attrs` copies into
    /// the VFS inode; the caller holds `i_rwsem`.
    fn set_size(inode: &Inode<T>, size: u64, copy_attrs: &dyn Fn()) -> Result;

    /// The attribute flags of `inode` (of any type).
    fn attributes(inode: &Inode<T>) -> Attributes;

    /// The creation time of `inode` (of any type): seconds and nanoseconds.
    fn birth_time(inode: &Inode<T>) -> (i64, u32);

    /// Stores `attributes` as the attribute flags of the regular file or directory `inode`, with
    /// its times, after `touch` has set the change time the VFS holds to now; the caller holds
    /// `i_rwsem` and has checked the caller's privileges. The VFS layer then applies the flags
    /// it enforces.
    fn set_attributes(inode: &Inode<T>, attributes: Attributes, touch: &dyn Fn()) -> Result;
}

/// The inode operations tables of `T`'s files other than directories.
struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const FILE_INODE: raw::inode_operations = raw::inode_operations {
        setattr: Some(setattr_callback::<T>),
        getattr: Some(getattr_callback::<T>),
        fiemap: Some(fiemap_callback::<T>),
        fileattr_get: Some(fileattr_get_callback::<T>),
        fileattr_set: Some(fileattr_set_callback::<T>),
        listxattr: Some(listxattr_callback::<T>),
        get_inode_acl: Some(get_inode_acl_callback::<T>),
        set_acl: Some(set_acl_callback::<T>),
        ..pin_init::zeroed()
    };
    const SPECIAL_INODE: raw::inode_operations = raw::inode_operations {
        setattr: Some(setattr_callback::<T>),
        getattr: Some(getattr_callback::<T>),
        listxattr: Some(listxattr_callback::<T>),
        get_inode_acl: Some(get_inode_acl_callback::<T>),
        set_acl: Some(set_acl_callback::<T>),
        ..pin_init::zeroed()
    };
    const SYMLINK_INODE: raw::inode_operations = raw::inode_operations {
        get_link: Some(raw::simple_get_link),
        setattr: Some(setattr_callback::<T>),
        getattr: Some(getattr_callback::<T>),
        listxattr: Some(listxattr_callback::<T>),
        ..pin_init::zeroed()
    };
}

/// The inode of a positive dentry.
///
/// # Safety
///
/// `dentry` must be a valid positive dentry of a superblock of type `T`, stable for `'a`.
pub(super) unsafe fn dentry_inode<'a, T: FileSystem>(dentry: *mut raw::dentry) -> &'a Inode<T> {
    // SAFETY: The caller guarantees a positive dentry whose inode is a ready inode of `T`.
    unsafe { Inode::from_raw((*dentry).d_inode) }
}

/// `inode_operations::fileattr_get` of regular files and directories: the attribute flags that
/// `FS_IOC_GETFLAGS` (`lsattr`), `FS_IOC_FSGETXATTR` (`xfs_io -c stat`) and `file_getattr(2)`
/// report.
///
/// # Safety
///
/// Called by the VFS with a dentry of a ready regular file or directory of `T` and a valid
/// attribute structure to fill in.
pub(super) unsafe extern "C" fn fileattr_get_callback<T: FileSystem>(
    dentry: *mut raw::dentry,
    fa: *mut raw::file_kattr,
) -> c_int {
    // SAFETY: The dentry is positive, its inode a ready one of `T`.
    let inode = unsafe { Inode::<T>::from_raw((*dentry).d_inode) };
    let flags = T::InodeOps::attributes(inode).fs_flags();
    // SAFETY: `fa` is valid for writes for the call.
    unsafe { raw::fileattr_fill_flags(fa, flags) };
    0
}

/// `inode_operations::fileattr_set` of regular files and directories: `chattr`,
/// `FS_IOC_SETFLAGS`, `FS_IOC_FSSETXATTR` and `file_setattr(2)`. The VFS has checked the
/// caller's privileges (ownership; `CAP_LINUX_IMMUTABLE` to change immutable or append-only)
/// and holds `i_rwsem`. Flags daxfs does not store, and the extended fields (extent size
/// hints, project ids), are `EOPNOTSUPP`. The change time becomes the current time, and the
/// flags the VFS enforces take effect at once; a changed DAX flag never changes `S_DAX` of the
/// live inode.
///
/// # Safety
///
/// Called by the VFS with a dentry of a ready regular file or directory of `T` and a valid
/// attribute structure.
pub(super) unsafe extern "C" fn fileattr_set_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    dentry: *mut raw::dentry,
    fa: *mut raw::file_kattr,
) -> c_int {
    from_result(|| {
        // SAFETY: `fa` is valid for the call.
        if unsafe { raw::daxfs_fileattr_has_fsx(fa) } {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: As above.
        let attributes = Attributes::from_fs_flags(unsafe { raw::daxfs_fileattr_flags(fa) })?;
        // SAFETY: The dentry is positive, its inode a ready one of `T`.
        let inode = unsafe { Inode::<T>::from_raw((*dentry).d_inode) };
        inode.super_block().check_running()?;
        let touch = || {
            // SAFETY: The inode is live and its `i_rwsem` held.
            unsafe { raw::inode_set_ctime_current(inode.as_raw()) };
        };
        T::InodeOps::set_attributes(inode, attributes, &touch)?;
        let (flags, mask) = attributes.i_flags();
        // SAFETY: As above.
        unsafe { raw::inode_set_flags(inode.as_raw(), flags, mask) };
        Ok(0)
    })
}

/// `inode_operations::getattr` of every inode of `T`: what the VFS fills in, with the creation
/// time (`STATX_BTIME`) and the attribute flags that statx reports (`STATX_ATTR_IMMUTABLE`,
/// `_APPEND`, `_NODUMP`), as ext4 reports them.
///
/// # Safety
///
/// Called by the VFS with a path to a positive dentry of `T` and a valid `kstat` to fill in.
pub(super) unsafe extern "C" fn getattr_callback<T: FileSystem>(
    idmap: *mut raw::mnt_idmap,
    path: *const raw::path,
    stat: *mut raw::kstat,
    request_mask: u32,
    _query_flags: c_uint,
) -> c_int {
    // SAFETY: The path's dentry is positive, its inode a ready one of `T`.
    let inode = unsafe { Inode::<T>::from_raw((*(*path).dentry).d_inode) };
    // SAFETY: The arguments are valid for the call.
    unsafe { raw::generic_fillattr(idmap, request_mask, inode.as_raw(), stat) };
    let attributes = T::InodeOps::attributes(inode);
    let (sec, nsec) = T::InodeOps::birth_time(inode);
    // SAFETY: `stat` is valid for writes for the call, and no one else's meanwhile.
    let stat = unsafe { &mut *stat };
    stat.btime.tv_sec = sec;
    // CAST: nanoseconds, below one billion.
    stat.btime.tv_nsec = nsec as isize;
    stat.result_mask |= raw::STATX_BTIME;
    for (bit, set) in [
        (raw::STATX_ATTR_IMMUTABLE, attributes.immutable),
        (raw::STATX_ATTR_APPEND, attributes.append),
        (raw::STATX_ATTR_NODUMP, attributes.nodump),
    ] {
        if set {
            stat.attributes |= u64::from(bit);
        }
        stat.attributes_mask |= u64::from(bit);
    }
    0
}

/// `inode_operations::setattr`: the VFS checks and copies the attributes, daxfs stores them; a
/// size change (truncate) goes to `T::InodeOps::set_size` first.
///
/// # Safety
///
/// Called by the VFS with a positive dentry of `T`, its inode locked, and valid attributes.
pub(super) unsafe extern "C" fn setattr_callback<T: FileSystem>(
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
        // truncate(2), unlike ftruncate(2), asks for no time change: a size that changes sets
        // the modification and change times anyway, as XFS and ext4 do.
        let times = raw::ATTR_CTIME | raw::ATTR_MTIME;
        // SAFETY: `attr` is valid.
        let sets_times = unsafe { (*attr).ia_valid } & times != 0;
        if !sets_times && new_size.is_some_and(|size| i64::try_from(inode.size()) != Ok(size)) {
            // SAFETY: The inode is live.
            let now = unsafe { raw::current_time(inode.as_raw()) };
            // SAFETY: `attr` is valid, and ours to fill in for the call.
            unsafe {
                (*attr).ia_ctime = now;
                (*attr).ia_mtime = now;
                (*attr).ia_valid |= times;
            }
        }
        let copied = core::cell::Cell::new(false);
        let copy_attrs = || {
            if !copied.replace(true) {
                // SAFETY: `attr` is valid; the inode is live and locked.
                unsafe { raw::setattr_copy(idmap, inode.as_raw(), attr) };
            }
        };
        if let Some(size) = new_size {
            // `setattr_prepare` checked it against the size limits; the VFS holds `i_rwsem`.
            T::InodeOps::set_size(inode, u64::try_from(size).map_err(|_| EINVAL)?, &copy_attrs)?;
        }
        copy_attrs();
        T::SuperOps::write_inode(inode)?;
        // SAFETY: `attr` is valid.
        if unsafe { (*attr).ia_valid } & raw::ATTR_MODE != 0 {
            // The access ACL follows the new permission bits, in a change of its own, as on
            // ext4. (Symbolic links have no ACL operations: `EOPNOTSUPP`, as on ext4, though
            // nothing changes the mode of one.)
            // SAFETY: As the VFS guarantees, which holds `i_rwsem`.
            unsafe { super::acl::chmod::<T>(idmap, dentry) }?;
        }
        Ok(0)
    })
}

/// `super_operations::write_inode`: writeback (or fsync) stores what the VFS changed of the
/// inode and marked dirty, its times: daxfs writes them with the next transaction of the inode
/// or here, never in a transaction of their own in the middle of an operation (`dirty_inode`
/// would, between an operation's time update and its own transaction).
///
/// # Safety
///
/// Called by the VFS with a live inode of a superblock of type `T`.
pub(super) unsafe extern "C" fn write_inode_callback<T: FileSystem>(
    inode: *mut raw::inode,
    _wbc: *mut raw::writeback_control,
) -> c_int {
    // SAFETY: The inode is live and sits in an `InodeWithData<T>`.
    let obj = unsafe { container_of_inode::<T>(inode) };
    // SAFETY: As above. Only an inode whose data is ready was ever filled in from disk.
    if !unsafe { (*obj).data_ready } {
        return 0;
    }
    // SAFETY: The inode is live and ready (its data is set only in `NewInode::init`, which
    // clears `I_NEW`).
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    match T::SuperOps::write_inode(inode) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `super_operations::evict_inode`: the last reference to an inode is gone.
///
/// # Safety
///
/// Called by the VFS once per inode of a superblock of type `T`, with nobody else using it.
pub(super) unsafe extern "C" fn evict_inode_callback<T: FileSystem>(inode: *mut raw::inode) {
    // No DAX mapping or pin may remain before its page cache and blocks go: wait for them first
    // (a no-op for non-DAX inodes).
    // SAFETY: The inode is being evicted and is ours.
    unsafe { raw::dax_break_layout_final(inode) };
    // SAFETY: As above.
    unsafe { raw::truncate_inode_pages_final(&raw mut (*inode).i_data) };
    // SAFETY: The inode sits in an `InodeWithData<T>`.
    let obj = unsafe { container_of_inode::<T>(inode) };
    // SAFETY: As above. An inode that failed instantiation never had data and was never on disk.
    let unlinked = unsafe { (*obj).data_ready && (*inode).__bindgen_anon_1.__i_nlink == 0 };
    if unlinked {
        // SAFETY: Its data is ready, so it was filled in by `NewInode::init`.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        // Freeing changes the file system: not while it is frozen (a last close can come then).
        let _internal = inode.super_block().start_internal_write();
        T::SuperOps::evict(inode);
    }
    // SAFETY: The inode is ours; this ends its use by the file system.
    unsafe { raw::clear_inode(inode) };
}
