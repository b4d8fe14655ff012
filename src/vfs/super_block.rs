// SPDX-License-Identifier: GPL-2.0

//! Superblocks: the typestate that keeps per-mount data out of reach until it exists, setting one
//! up, and the `super_operations` table with its trait.
//!
//! C header: [`include/linux/fs/super_types.h`](srctree/include/linux/fs/super_types.h).

use core::marker::PhantomData;

use kernel::{
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    types::{
        Opaque,
        ScopeGuard, //
    },
};

use super::{
    dax::Pmem,
    export,
    fs_type::{
        ARef,
        FileSystem,
        FsContext, //
    },
    inode::{
        self,
        Inode, //
    },
    raw,
    xattr::Handlers,
};

/// The states a superblock goes through, as a type parameter of [`SuperBlock`].
pub(crate) mod state {
    /// A superblock that `fill_super` is setting up: its per-mount data does not exist yet.
    pub(crate) struct New;

    /// A superblock whose per-mount data is installed, until `put_super`.
    pub(crate) struct Ready;

    mod private {
        pub(crate) trait Sealed {}
        impl Sealed for super::New {}
        impl Sealed for super::Ready {}
    }

    /// A superblock state; implemented by [`New`] and [`Ready`] only.
    pub(crate) trait State: private::Sealed {}
    impl State for New {}
    impl State for Ready {}
}

pub(crate) use state::{
    New,
    Ready, //
};

/// A superblock of file system `T` in state `S`.
///
/// Only a [`Ready`] superblock has [`SuperBlock::data`]: `T::fill_super` sees a [`New`] one, so
/// nothing it calls can reach per-mount data that is not there yet.
///
/// # Invariants
///
/// The wrapped `super_block` is live and of type `T`. In state [`Ready`], `s_fs_info` holds a
/// pinned `KBox<T::Data>` that lives until `put_super`, which runs after the last inode is gone.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem, S: state::State = Ready>(
    Opaque<raw::super_block>,
    PhantomData<(T, S)>,
);

impl<T: FileSystem, S: state::State> SuperBlock<T, S> {
    /// Wraps a raw superblock pointer.
    ///
    /// # Safety
    ///
    /// `sb` must be a live superblock of type `T` for `'a`, in state `S`.
    pub(super) unsafe fn from_raw<'a>(sb: *mut raw::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller guarantees liveness and state.
        unsafe { &*sb.cast() }
    }

    /// The raw superblock.
    pub(super) fn as_raw(&self) -> *mut raw::super_block {
        self.0.get()
    }

    /// The block device under the superblock.
    pub(super) fn bdev(&self) -> *mut raw::block_device {
        // SAFETY: By the type invariant the superblock is live; `s_bdev` is set for the whole
        // life of a block device superblock.
        unsafe { (*self.as_raw()).s_bdev }
    }

    /// The largest file size the superblock allows (`s_maxbytes`).
    pub(super) fn max_bytes(&self) -> raw::loff_t {
        // SAFETY: By the type invariant the superblock is live; `s_maxbytes` is set before any
        // file can be opened and never changes afterwards.
        unsafe { (*self.as_raw()).s_maxbytes }
    }

    /// Whether the superblock is mounted read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: By the type invariant the superblock is live.
        unsafe { raw::daxfs_sb_rdonly(self.as_raw()) }
    }

    /// Whether the block device under the superblock is read-only: nothing may be written to
    /// it, not even through DAX, which bypasses the block layer's check.
    pub(crate) fn device_is_read_only(&self) -> bool {
        // SAFETY: By the type invariant the superblock is live, with its block device.
        unsafe { raw::daxfs_sb_bdev_read_only(self.as_raw()) }
    }
}

impl<T: FileSystem> SuperBlock<T, New> {
    /// Turns POSIX ACLs on or off (`SB_POSIXACL`, which `mount(2)` may have set): with them
    /// the file system, not the VFS, applies the umask to new nodes (see [`super::acl`]), and
    /// stores ACLs.
    pub(crate) fn set_posix_acls(&self, on: bool) {
        // SAFETY: By the type invariant the superblock is live; a new one is the filler's alone.
        unsafe { raw::daxfs_set_posix_acls(self.as_raw(), on) };
    }
}

impl<T: FileSystem> SuperBlock<T, Ready> {
    /// The per-mount state that `T::fill_super` returned.
    pub(crate) fn data(&self) -> &T::Data {
        // SAFETY: By the type invariant the superblock is ready: `s_fs_info` holds the data, which
        // lives as long as the superblock is mounted, so at least as long as `self`.
        unsafe { &*(*self.as_raw()).s_fs_info.cast::<T::Data>() }
    }

    /// The persistent memory under the file system.
    pub(super) fn pmem(&self) -> &Pmem {
        self.data().as_ref()
    }

    /// `EIO` once the file system is shut down: the entry points of the VFS layer check it, as
    /// ext4's and XFS's do.
    pub(super) fn check_running(&self) -> Result {
        self.pmem().check_running()
    }

    /// Shuts the file system down for `FS_IOC_SHUTDOWN` with `flags`: with the default (0), what
    /// mappings dirtied is written back first (the block device is frozen and thawed, as ext4
    /// and XFS do); with `FS_SHUTDOWN_FLAGS_LOGFLUSH` (1) or `_NOLOGFLUSH` (2) it is not. Other
    /// flags are `EINVAL`. A file system shut down already stays so.
    pub(super) fn shut_down(&self, flags: u32) -> Result {
        const DEFAULT: u32 = raw::daxfs_shutdown_flags_DAXFS_SHUTDOWN_DEFAULT;
        const LOGFLUSH: u32 = raw::daxfs_shutdown_flags_DAXFS_SHUTDOWN_LOGFLUSH;
        const NOLOGFLUSH: u32 = raw::daxfs_shutdown_flags_DAXFS_SHUTDOWN_NOLOGFLUSH;
        if self.pmem().is_shut_down() {
            return Ok(());
        }
        match flags {
            DEFAULT => {
                // SAFETY: The superblock is live and its device set.
                to_result(unsafe { raw::bdev_freeze(self.bdev()) })?;
                T::SuperOps::shut_down(self, "requested, after writing back");
                // SAFETY: Frozen just above.
                to_result(unsafe { raw::bdev_thaw(self.bdev()) })
            }
            LOGFLUSH | NOLOGFLUSH => {
                T::SuperOps::shut_down(self, "requested");
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }
}

/// Statistics that statfs(2) reports, in blocks of the file system's block size.
pub(crate) struct StatFs {
    /// Total data blocks.
    pub(crate) blocks: u64,
    /// Free data blocks.
    pub(crate) free_blocks: u64,
    /// Free data blocks that unprivileged allocations may take.
    pub(crate) available_blocks: u64,
    /// Total inodes.
    pub(crate) files: u64,
    /// Free inodes.
    pub(crate) free_files: u64,
    /// Longest file name.
    pub(crate) name_len: u64,
    /// File system id, from the UUID.
    pub(crate) fsid: [u32; 2],
}

/// A `seq_file` that `show_options` writes mount options to.
///
/// # Invariants
///
/// The wrapped `seq_file` is valid for the lifetime of the reference to this type.
#[repr(transparent)]
pub(crate) struct SeqFile(Opaque<raw::seq_file>);

impl SeqFile {
    /// Appends `s`.
    pub(crate) fn puts(&mut self, s: &CStr) {
        // SAFETY: By the type invariant the seq_file is valid; `s` is NUL-terminated.
        unsafe { raw::daxfs_seq_puts(self.0.get(), s.as_char_ptr()) };
    }
}

/// The operations of `super_operations` that a file system implements (`alloc_inode`,
/// `free_inode` and `put_super` are the VFS layer's own).
pub(crate) trait Operations<T: FileSystem> {
    /// Reports usage for statfs(2).
    fn statfs(sb: &SuperBlock<T>) -> Result<StatFs>;

    /// Writes the mount options that differ from the defaults, each as ",name=value".
    fn show_options(sb: &SuperBlock<T>, seq: &mut SeqFile) -> Result;

    /// Stores the attributes the VFS holds for `inode` (`write_inode`, and after `setattr`).
    fn write_inode(inode: &Inode<T>) -> Result;

    /// Releases an inode whose last link and last reference are gone: its blocks and its slot
    /// (`evict_inode`, after the VFS layer has waited for its mappings and pins).
    fn evict(inode: &Inode<T>);

    /// Leaves the file system consistent and marked clean on the device for a freeze
    /// (`freeze_fs`): writers, faults and the file system's own changes are blocked, and
    /// everything is synced, when it is called.
    fn freeze(sb: &SuperBlock<T>) -> Result;

    /// Ends a freeze (`unfreeze_fs`): the file system may change again. Must not fail once the
    /// file system is shut down: the VFS would leave it frozen.
    fn unfreeze(sb: &SuperBlock<T>) -> Result;

    /// Copies the volume label, NUL-padded, into the start of `out`, a zeroed buffer of at
    /// least [`FileSystem::LABEL_LEN`] bytes (`FS_IOC_GETFSLABEL`).
    fn label(sb: &SuperBlock<T>, out: &mut [u8]) -> Result;

    /// Stores `label` as the volume label (`FS_IOC_SETFSLABEL`); the caller has checked the
    /// caller's privilege and holds write access to the mount.
    fn set_label(sb: &SuperBlock<T>, label: &[u8]) -> Result;

    /// Shuts the file system down (`why` says what asked): what is durable stays so, nothing
    /// more is written, and every entry point fails with `EIO` until it is unmounted. Fine if it
    /// is down already.
    fn shut_down(sb: &SuperBlock<T>, why: &str);

    /// Finishes what the file system still does on its own with inodes of a mounted `sb`, at
    /// unmount, before the VFS evicts them (`kill_sb`, before `kill_block_super`).
    fn unmounting(sb: &SuperBlock<T>);
}

/// `file_system_type::kill_sb`: [`Operations::unmounting`] on a ready superblock, then
/// `kill_block_super`.
///
/// # Safety
///
/// Called by the VFS once, with a live superblock of type `T` whose last active reference is
/// gone.
pub(super) unsafe extern "C" fn kill_sb_callback<T: FileSystem>(sb: *mut raw::super_block) {
    // SAFETY: The VFS passes a live superblock. A superblock has a root only once it is ready
    // (its data installed; `put_super`, called by `kill_block_super` below, drops it).
    if unsafe { !(*sb).s_root.is_null() } {
        // SAFETY: Ready, as just checked, and live until `kill_block_super` returns.
        T::SuperOps::unmounting(unsafe { SuperBlock::<T>::from_raw(sb) });
    }
    // SAFETY: A block device superblock, as the VFS expects.
    unsafe { raw::kill_block_super(sb) };
}

/// The `super_operations` of `T`.
struct Ops<T>(PhantomData<T>);

impl<T: FileSystem> Ops<T> {
    const TABLE: raw::super_operations = raw::super_operations {
        alloc_inode: Some(inode::cache::alloc_inode_callback::<T>),
        free_inode: Some(inode::cache::free_inode_callback::<T>),
        evict_inode: Some(inode::evict_inode_callback::<T>),
        write_inode: Some(inode::write_inode_callback::<T>),
        put_super: Some(put_super_callback::<T>),
        statfs: Some(statfs_callback::<T>),
        show_options: Some(show_options_callback::<T>),
        shutdown: Some(shutdown_callback::<T>),
        sync_fs: Some(sync_fs_callback::<T>),
        freeze_fs: Some(freeze_fs_callback::<T>),
        unfreeze_fs: Some(unfreeze_fs_callback::<T>),
        ..pin_init::zeroed()
    };
}

/// `super_operations::sync_fs` (syncfs(2), sync(2), umount), after the VFS wrote back every
/// inode's data: metadata is durable already (each transaction fences its stores), so what
/// remains on a waiting sync is the device's flush, which makes durable what writeback wrote to
/// it in bios (files in the page cache) or flushed from the CPU cache (pages written through
/// DAX mappings).
///
/// # Safety
///
/// Called by the VFS with a live superblock of `T`.
unsafe extern "C" fn sync_fs_callback<T: FileSystem>(
    sb: *mut raw::super_block,
    wait: c_int,
) -> c_int {
    if wait == 0 {
        return 0;
    }
    // SAFETY: A live block device superblock keeps its device.
    unsafe { raw::blkdev_issue_flush((*sb).s_bdev) }
}

/// `super_operations::freeze_fs` (FIFREEZE, a device freeze): see [`Operations::freeze`].
///
/// # Safety
///
/// Called by the VFS with a live, ready superblock of `T`, frozen at every other level.
unsafe extern "C" fn freeze_fs_callback<T: FileSystem>(sb: *mut raw::super_block) -> c_int {
    // SAFETY: As the VFS guarantees.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    from_result(|| T::SuperOps::freeze(sb).map(|()| 0))
}

/// `super_operations::unfreeze_fs` (FITHAW, the end of a device freeze): see
/// [`Operations::unfreeze`].
///
/// # Safety
///
/// Called by the VFS with a live, ready superblock of `T` that `freeze_fs` froze.
unsafe extern "C" fn unfreeze_fs_callback<T: FileSystem>(sb: *mut raw::super_block) -> c_int {
    // SAFETY: As the VFS guarantees.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    from_result(|| T::SuperOps::unfreeze(sb).map(|()| 0))
}

/// Sets up the new superblock `sb` of type `T`: geometry, DAX device, `T::fill_super`, root.
///
/// # Safety
///
/// `sb` must be a new, locked superblock of type `T` that `get_tree_bdev` is filling.
pub(super) unsafe fn fill<T: FileSystem>(
    sb: *mut raw::super_block,
    fc: &mut FsContext,
    opts: &T::Options,
) -> Result {
    {
        // SAFETY: `sb` is new and ours until this returns; this borrow ends at the block's end.
        let s = unsafe { &mut *sb };
        s.s_op = &Ops::<T>::TABLE;
        s.s_magic = T::MAGIC as usize;
        s.s_time_gran = 1;
        s.s_maxbytes = T::MAX_FILE_SIZE;
        s.s_xattr = Handlers::<T>::TABLE.as_ptr();
        let export_ops: &'static raw::export_operations = &export::Table::<T>::TABLE;
        // `kernel::bindings` declares `export_operations` opaque; this is the same C structure.
        s.s_export_op = core::ptr::from_ref(export_ops).cast();
    }
    // CAST: the page size (4096) fits a C int.
    let block_size = kernel::page::PAGE_SIZE as c_int;
    // SAFETY: `sb` is a valid superblock with a block device.
    if unsafe { raw::sb_set_blocksize(sb, block_size) } == 0 {
        fc.error(c"the device's logical block size is larger than the page size");
        return Err(EINVAL);
    }
    // SAFETY: `sb` is valid; `s_bdev` is set for the whole life of a block device superblock.
    let bdev = unsafe { (*sb).s_bdev };
    // SAFETY: `bdev` is the superblock's valid block device.
    let pmem = unsafe { Pmem::open(bdev, fc)? };
    // SAFETY: `sb` is live, of type `T`, and has no data yet.
    let new_sb = unsafe { SuperBlock::<T, New>::from_raw(sb) };
    let data = KBox::pin_init(T::fill_super(new_sb, opts, pmem, fc)?, GFP_KERNEL)?;
    // SAFETY: The data is never moved out of its box: `drop_data` drops it in place.
    let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
    // SAFETY: `sb` is new and ours until this returns.
    unsafe { (*sb).s_fs_info = data.cast() };
    // Without a root, the VFS never calls `put_super`: free the state here on failure.
    let free_data = ScopeGuard::new(|| drop_data::<T>(sb));

    // SAFETY: `s_fs_info` now holds the data: the superblock is ready.
    let sb_ready = unsafe { SuperBlock::<T, Ready>::from_raw(sb) };
    let root = T::root(sb_ready)?;
    // SAFETY: `d_make_root` takes over the reference `root` holds, also on failure.
    let dentry = unsafe { raw::d_make_root(ARef::into_raw(root).as_ptr().cast()) };
    if dentry.is_null() {
        return Err(ENOMEM);
    }
    free_data.dismiss();
    // SAFETY: `sb` is new and ours until this returns.
    unsafe { (*sb).s_root = dentry };
    Ok(())
}

/// Frees the `T::Data` of `sb` and clears the pointer.
fn drop_data<T: FileSystem>(sb: *mut raw::super_block) {
    // SAFETY: Called with a live superblock whose `s_fs_info` is null or a pinned `KBox<T::Data>`
    // that nothing uses any more.
    let data = unsafe { core::ptr::replace(&raw mut (*sb).s_fs_info, core::ptr::null_mut()) };
    if !data.is_null() {
        // SAFETY: `data` came from `KBox::into_raw` in `fill` and is dropped in place, once.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(data.cast::<T::Data>())) });
    }
}

/// `super_operations::put_super`.
///
/// # Safety
///
/// Called by the VFS once, at unmount, after every inode of `sb` is evicted.
unsafe extern "C" fn put_super_callback<T: FileSystem>(sb: *mut raw::super_block) {
    drop_data::<T>(sb);
}

/// `super_operations::shutdown`: the block device went away (or failed) under the mounted file
/// system.
///
/// # Safety
///
/// Called by the VFS with a live, ready superblock of type `T`.
unsafe extern "C" fn shutdown_callback<T: FileSystem>(sb: *mut raw::super_block) {
    // SAFETY: As the VFS guarantees.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    T::SuperOps::shut_down(sb, "the device went away");
}

/// `super_operations::statfs`.
///
/// # Safety
///
/// Called by the VFS with a dentry of a live, ready superblock of type `T` and a valid output.
unsafe extern "C" fn statfs_callback<T: FileSystem>(
    dentry: *mut raw::dentry,
    buf: *mut kernel::bindings::kstatfs,
) -> c_int {
    // `kernel::bindings` declares `kstatfs` opaque; this is the same C structure in full.
    let buf = buf.cast::<raw::kstatfs>();
    from_result(|| {
        // SAFETY: The dentry and its superblock are live and ready for the call.
        let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
        let st = T::SuperOps::statfs(sb)?;
        // SAFETY: `buf` is valid for writes for the call.
        let buf = unsafe { &mut *buf };
        buf.f_type = T::MAGIC as isize;
        buf.f_bsize = kernel::page::PAGE_SIZE as isize;
        buf.f_frsize = kernel::page::PAGE_SIZE as isize;
        buf.f_blocks = st.blocks;
        buf.f_bfree = st.free_blocks;
        buf.f_bavail = st.available_blocks;
        buf.f_files = st.files;
        buf.f_ffree = st.free_files;
        // CAST: a name length (255) fits any integer type.
        buf.f_namelen = st.name_len as isize;
        // CAST: the fsid words are bit patterns; the C field is signed.
        buf.f_fsid.val = [st.fsid[0] as c_int, st.fsid[1] as c_int];
        Ok(0)
    })
}

/// `super_operations::show_options`.
///
/// # Safety
///
/// Called by the VFS with a valid `seq_file` and the root dentry of a live, ready superblock of
/// `T`.
unsafe extern "C" fn show_options_callback<T: FileSystem>(
    seq: *mut raw::seq_file,
    root: *mut raw::dentry,
) -> c_int {
    from_result(|| {
        // SAFETY: The dentry and its superblock are live and ready for the call.
        let sb = unsafe { SuperBlock::<T>::from_raw((*root).d_sb) };
        // SAFETY: `seq` is valid for the call; `SeqFile` is a transparent wrapper.
        let seq = unsafe { &mut *seq.cast::<SeqFile>() };
        T::SuperOps::show_options(sb, seq)?;
        Ok(0)
    })
}
