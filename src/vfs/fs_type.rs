// SPDX-License-Identifier: GPL-2.0

//! File system type registration, the mount context and `fill_super`.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

use core::marker::PhantomData;

use kernel::{
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    types::Opaque,
};

use super::{
    dax::Pmem,
    dir, export, fault, file,
    inode::{
        self,
        cache::InodeCache,
        Inode, //
    },
    iomap, raw,
    super_block::{
        self,
        New,
        SuperBlock, //
    },
    xattr,
};

/// A file system type that daxfs registers with the VFS: its mount context operations, and the
/// types that implement each of its operations tables.
pub(crate) trait FileSystem: 'static + Sized + Send + Sync {
    /// The name under which the type is registered (`mount -t NAME`).
    const NAME: &'static CStr;
    /// The magic number statfs(2) reports.
    const MAGIC: u32;
    /// The largest file size in bytes (`s_maxbytes`): what the on-disk format can hold, so
    /// that the VFS refuses a larger size (EFBIG) instead of the file system storing one it
    /// cannot read back.
    const MAX_FILE_SIZE: i64;
    /// The longest volume label in bytes (`FS_IOC_SETFSLABEL` refuses longer ones).
    const LABEL_LEN: usize;

    /// Mount options, parsed into a fresh `Default` value for every mount attempt.
    type Options: Default + Send + Sync;
    /// Per-mount state, owned by the superblock; it holds the persistent memory it was given.
    type Data: Send + Sync + AsRef<Pmem>;
    /// Per-inode state, embedded in each VFS inode.
    type InodeData: Send + Sync;

    /// `super_operations`.
    type SuperOps: super_block::Operations<Self>;
    /// `inode_operations` of regular files, symlinks and special files.
    type InodeOps: inode::Operations<Self>;
    /// `inode_operations` of directories: the namespace.
    type DirInodeOps: dir::InodeOperations<Self>;
    /// `file_operations` of directories.
    type DirFileOps: dir::FileOperations<Self>;
    /// `file_operations` of regular files.
    type FileOps: file::Operations<Self>;
    /// `iomap_ops` of regular files, for DAX I/O, faults, FIEMAP and SEEK_HOLE/SEEK_DATA.
    type IomapOps: iomap::Operations<Self>;
    /// `vm_operations_struct` of DAX mappings.
    type VmOps: fault::Operations<Self>;
    /// The `xattr_handler`s of every inode, and `listxattr`.
    type XattrOps: xattr::Operations<Self>;
    /// The file handle operations (NFS export, `open_by_handle_at(2)`).
    type ExportOps: export::Operations<Self>;

    /// Applies one mount parameter to `opts`.
    fn parse_param(fc: &mut FsContext, opts: &mut Self::Options, param: MountParam) -> Result;

    /// Reads and checks the file system on `pmem` and returns an initialiser of the per-mount
    /// state (pinned: it may hold locks). The superblock is [`New`]: it has no data yet.
    fn fill_super(
        sb: &SuperBlock<Self, New>,
        opts: &Self::Options,
        pmem: Pmem,
        fc: &mut FsContext,
    ) -> Result<impl PinInit<Self::Data, Error>>;

    /// Returns the root directory inode of a superblock that `fill_super` set up.
    fn root(sb: &SuperBlock<Self>) -> Result<ARef<Inode<Self>>>;

    /// Applies a remount: `opts` are the new options, `read_only` the new mode.
    fn reconfigure(
        sb: &SuperBlock<Self>,
        fc: &mut FsContext,
        opts: &Self::Options,
        read_only: bool,
    ) -> Result;
}

pub(crate) use kernel::sync::aref::ARef;

/// A mount parameter, as the C parameter table decoded it.
pub(crate) enum MountParam {
    /// `dax=always|never|inode`.
    Dax(DaxMode),
    /// `norecovery`.
    NoRecovery,
}

/// The values of the `dax=` mount parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum DaxMode {
    /// Every regular file uses DAX.
    #[default]
    Always,
    /// No file uses DAX.
    Never,
    /// Each inode's persistent flag decides.
    Inode,
}

/// A mount context under construction (`struct fs_context`).
///
/// # Invariants
///
/// The wrapped `fs_context` is valid and exclusively borrowed for the lifetime of the reference
/// through which this type is reached.
#[repr(transparent)]
pub(crate) struct FsContext(Opaque<raw::fs_context>);

impl FsContext {
    /// Wraps a raw `fs_context` pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `fs_context` that nothing else accesses for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut raw::fs_context) -> &'a mut Self {
        // SAFETY: `FsContext` is a transparent wrapper of `fs_context`, and the caller guarantees
        // validity and exclusive access for `'a`.
        unsafe { &mut *ptr.cast() }
    }

    /// Reports an error for this mount attempt: to the kernel log, and to an fsopen(2) caller.
    pub(crate) fn error(&mut self, msg: &CStr) {
        // SAFETY: By the type invariant the context is valid; `msg` is a NUL-terminated string.
        unsafe { raw::daxfs_fc_error(self.0.get(), msg.as_char_ptr()) };
    }
}

/// The inode cache and the `file_system_type` of `T`; unregistered when dropped.
///
/// # Invariants
///
/// `fs_type` holds a `file_system_type` for `T` that is registered with the VFS from successful
/// initialisation until drop. It is pinned because the VFS links it into its list of types, and
/// superblocks reach this `Registration` (and so `inode_cache`) through their `s_type`.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: FileSystem> {
    pub(super) inode_cache: InodeCache<T>,
    #[pin]
    fs_type: Opaque<raw::file_system_type>,
    _fs: PhantomData<T>,
}

// SAFETY: After registration the VFS only touches `fs_type` under its own locks, and the inode
// cache is thread-safe, so a `Registration` can be sent to and shared with any thread.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: See `Send`: a shared `Registration` exposes nothing that could race.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers the file system type `T` on behalf of `module`.
    pub(crate) fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inode_cache: InodeCache::new(T::NAME)?,
            fs_type <- Opaque::try_ffi_init(|slot: *mut raw::file_system_type| {
                // SAFETY: `slot` is valid for writes of one `file_system_type`; all-zero is a
                // valid value for it (null pointers, `None` callbacks, empty lists, zeroed
                // lock class keys that lockdep accepts because they live in the module image).
                unsafe { slot.write_bytes(0, 1) };
                // SAFETY: `slot` now holds a valid, initialised `file_system_type`.
                let fs_type = unsafe { &mut *slot };
                fs_type.name = T::NAME.as_char_ptr();
                fs_type.fs_flags = raw::FS_REQUIRES_DEV as c_int;
                fs_type.init_fs_context = Some(init_fs_context_callback::<T>);
                fs_type.kill_sb = Some(super_block::kill_sb_callback::<T>);
                fs_type.owner = module.as_ptr();
                // SAFETY: `slot` is fully initialised and pinned; `PinnedDrop` unregisters it
                // before its memory goes away.
                // INVARIANT: On success the type is registered.
                to_result(unsafe { raw::register_filesystem(slot) })
            }),
            _fs: PhantomData,
        })
    }

    /// The registration that owns `fs_type`.
    ///
    /// # Safety
    ///
    /// `fs_type` must be the `file_system_type` of a live `Registration<T>`.
    pub(super) unsafe fn from_fs_type<'a>(fs_type: *const raw::file_system_type) -> &'a Self {
        // SAFETY: The caller guarantees `fs_type` is the field of a live `Registration<T>`.
        unsafe { &*kernel::container_of!(Opaque::cast_from(fs_type), Self, fs_type) }
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the type is registered. The VFS holds a module reference
        // for every superblock, so none is left when the module unloads and this runs.
        unsafe { raw::unregister_filesystem(self.fs_type.get()) };
    }
}

/// The `fs_context_operations` of `T`.
struct ContextOps<T>(PhantomData<T>);

impl<T: FileSystem> ContextOps<T> {
    const TABLE: raw::fs_context_operations = raw::fs_context_operations {
        free: Some(free_callback::<T>),
        dup: None,
        parse_param: Some(parse_param_callback::<T>),
        parse_monolithic: None,
        get_tree: Some(get_tree_callback::<T>),
        reconfigure: Some(reconfigure_callback::<T>),
    };
}

/// The parsed options of a context, kept in `fc->fs_private`.
///
/// # Safety
///
/// `fc` must be a valid context prepared by [`init_fs_context_callback`] for `T`, not yet freed.
unsafe fn options<'a, T: FileSystem>(fc: *mut raw::fs_context) -> &'a mut T::Options {
    // SAFETY: `init_fs_context_callback` stored a `KBox<T::Options>` there, freed only by
    // `free_callback`; the VFS serialises callbacks on one context.
    unsafe { &mut *(*fc).fs_private.cast::<T::Options>() }
}

/// `file_system_type::init_fs_context` for `T`.
///
/// # Safety
///
/// Called by the VFS with a valid `fs_context` that it does not touch during the call.
unsafe extern "C" fn init_fs_context_callback<T: FileSystem>(
    fc: *mut kernel::bindings::fs_context,
) -> c_int {
    // `kernel::bindings` declares `fs_context` opaque; this is the same C structure in full.
    let fc = fc.cast::<raw::fs_context>();
    from_result(|| {
        let opts = KBox::new(T::Options::default(), GFP_KERNEL)?;
        // SAFETY: The VFS passes a valid context that is ours for the duration of the call.
        unsafe { (*fc).fs_private = KBox::into_raw(opts).cast() };
        // SAFETY: As above; the table is `'static`.
        unsafe { (*fc).ops = &ContextOps::<T>::TABLE };
        Ok(0)
    })
}

/// `fs_context_operations::free`.
///
/// # Safety
///
/// Called by the VFS once, with a context prepared by [`init_fs_context_callback`].
unsafe extern "C" fn free_callback<T: FileSystem>(fc: *mut raw::fs_context) {
    // SAFETY: `fs_private` holds the `KBox` made in `init_fs_context_callback`, freed only here.
    drop(unsafe { KBox::from_raw((*fc).fs_private.cast::<T::Options>()) });
}

/// `fs_context_operations::parse_param`.
///
/// # Safety
///
/// Called by the VFS with a valid context prepared for `T` and a valid parameter.
unsafe extern "C" fn parse_param_callback<T: FileSystem>(
    fc: *mut raw::fs_context,
    param: *mut raw::fs_parameter,
) -> c_int {
    from_result(|| {
        let mut value = 0;
        // SAFETY: `fc` and `param` are valid for the call; `value` is a valid output location.
        let opt = unsafe { raw::daxfs_parse_param(fc, param, &mut value) };
        // `fs_parse` already logged unknown or malformed parameters.
        to_result(opt.min(0))?;
        let param = match opt as u32 {
            raw::daxfs_param_DAXFS_PARAM_DAX => MountParam::Dax(DaxMode::Always),
            raw::daxfs_param_DAXFS_PARAM_DAX_MODE => MountParam::Dax(match value {
                raw::daxfs_dax_mode_DAXFS_DAX_ALWAYS => DaxMode::Always,
                raw::daxfs_dax_mode_DAXFS_DAX_NEVER => DaxMode::Never,
                _ => DaxMode::Inode,
            }),
            raw::daxfs_param_DAXFS_PARAM_NORECOVERY => MountParam::NoRecovery,
            _ => return Err(EINVAL),
        };
        // SAFETY: The context was prepared for `T` and is ours for the duration of the call.
        let (ctx, opts) = unsafe { (FsContext::from_raw(fc), options::<T>(fc)) };
        T::parse_param(ctx, opts, param)?;
        Ok(0)
    })
}

/// `fs_context_operations::get_tree`: a new mount of a block device.
///
/// # Safety
///
/// Called by the VFS with a valid context prepared for `T`.
unsafe extern "C" fn get_tree_callback<T: FileSystem>(fc: *mut raw::fs_context) -> c_int {
    // SAFETY: `fc` is valid; `fill_super_callback::<T>` has the signature `get_tree_bdev` expects.
    unsafe { raw::get_tree_bdev(fc, Some(fill_super_callback::<T>)) }
}

/// `fs_context_operations::reconfigure`: remount. Options are re-parsed into the context; the
/// ones that can change (`ro`/`rw`) the VFS applies itself.
///
/// # Safety
///
/// Called by the VFS with a valid context prepared for `T`, for a mounted superblock.
unsafe extern "C" fn reconfigure_callback<T: FileSystem>(fc: *mut raw::fs_context) -> c_int {
    // SAFETY: `fc->root` is the root of a live superblock of type `T`.
    let sb = unsafe { (*(*fc).root).d_sb };
    // SAFETY: `sb` is a live superblock that `fill_super_callback::<T>` set up: it is ready.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    // SAFETY: The context was prepared for `T` and is ours for the duration of the call.
    let (ctx, opts) = unsafe { (FsContext::from_raw(fc), options::<T>(fc)) };
    from_result(|| {
        // SAFETY: The context is valid for the call.
        let read_only = unsafe { raw::daxfs_fc_wants_rdonly(fc) };
        T::reconfigure(sb, ctx, opts, read_only)?;
        Ok(0)
    })
}

/// The `fill_super` callback of `get_tree_bdev`: sets up a new superblock.
///
/// # Safety
///
/// Called by `get_tree_bdev` with a new, locked superblock of type `T` and its context.
unsafe extern "C" fn fill_super_callback<T: FileSystem>(
    sb: *mut raw::super_block,
    fc: *mut raw::fs_context,
) -> c_int {
    from_result(|| {
        // SAFETY: The context was prepared for `T` and is ours for the duration of the call.
        let (ctx, opts) = unsafe { (FsContext::from_raw(fc), options::<T>(fc)) };
        // SAFETY: `sb` is a new superblock of type `T`, ours until this returns.
        unsafe { super_block::fill::<T>(sb, ctx, opts)? };
        Ok(0)
    })
}
