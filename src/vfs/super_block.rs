// SPDX-License-Identifier: GPL-2.0

//! Superblocks: setting one up, its operations table, statfs and mount options.
//!
//! C header: [`include/linux/fs/super_types.h`](srctree/include/linux/fs/super_types.h).

use core::marker::PhantomData;

use kernel::{
    error::from_result,
    prelude::*,
    types::Opaque, //
};

use super::{
    dax::Pmem,
    fs_type::{
        ARef,
        FileSystem,
        FsContext, //
    },
    inode, raw,
};

/// A mounted (or mounting) superblock of file system `T`.
///
/// # Invariants
///
/// The wrapped `super_block` is live and of type `T`. Once [`fill`] has succeeded, `s_fs_info`
/// holds a pinned `KBox<T::Data>` that lives until `put_super`.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<raw::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// Wraps a raw superblock pointer.
    ///
    /// # Safety
    ///
    /// `sb` must be a live superblock of type `T` for `'a`.
    pub(super) unsafe fn from_raw<'a>(sb: *mut raw::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller guarantees liveness.
        unsafe { &*sb.cast() }
    }

    /// The raw superblock.
    pub(super) fn as_raw(&self) -> *mut raw::super_block {
        self.0.get()
    }

    /// The per-mount state that `T::fill_super` returned.
    pub(crate) fn data(&self) -> &T::Data {
        // SAFETY: By the type invariant the superblock is live; `s_fs_info` is set before any
        // caller can reach a `SuperBlock` of a set-up superblock (the root inode is looked up
        // only after it is set), and freed only in `put_super`, after the last inode is gone.
        unsafe { &*(*self.as_raw()).s_fs_info.cast::<T::Data>() }
    }

    /// Whether the superblock is mounted read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: By the type invariant the superblock is live.
        unsafe { raw::daxfs_sb_rdonly(self.as_raw()) }
    }
}

/// Statistics that statfs(2) reports, in blocks of the file system's block size.
pub(crate) struct StatFs {
    /// Total data blocks.
    pub(crate) blocks: u64,
    /// Free data blocks.
    pub(crate) free_blocks: u64,
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

/// The `super_operations` of `T`.
struct Ops<T>(PhantomData<T>);

impl<T: FileSystem> Ops<T> {
    const TABLE: raw::super_operations = raw::super_operations {
        alloc_inode: Some(inode::alloc_inode_callback::<T>),
        free_inode: Some(inode::free_inode_callback::<T>),
        evict_inode: Some(inode::evict_inode_callback::<T>),
        dirty_inode: Some(inode::dirty_inode_callback::<T>),
        put_super: Some(put_super_callback::<T>),
        statfs: Some(statfs_callback::<T>),
        show_options: Some(show_options_callback::<T>),
        ..pin_init::zeroed()
    };
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
    // SAFETY: `sb` is new and ours until this returns.
    let s = unsafe { &mut *sb };
    s.s_op = &Ops::<T>::TABLE;
    s.s_magic = T::MAGIC as usize;
    s.s_time_gran = 1;
    s.s_maxbytes = i64::MAX;
    // SAFETY: `sb` is a valid superblock with a block device.
    if unsafe { raw::sb_set_blocksize(sb, kernel::page::PAGE_SIZE as c_int) } == 0 {
        fc.error(c"the device's logical block size is larger than the page size");
        return Err(EINVAL);
    }
    // SAFETY: `s_bdev` is the superblock's valid block device.
    let pmem = unsafe { Pmem::open(s.s_bdev, fc)? };
    // SAFETY: `sb` is live and of type `T`.
    let sbw = unsafe { SuperBlock::<T>::from_raw(sb) };
    let data = KBox::pin_init(T::fill_super(sbw, opts, pmem, fc)?, GFP_KERNEL)?;
    // SAFETY: The data stays where it is until `drop_data` drops it in place.
    s.s_fs_info = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) }).cast();

    let root = match T::root(sbw) {
        Ok(root) => root,
        Err(e) => {
            // Without a root, the VFS never calls `put_super`: free the state here.
            drop_data::<T>(sb);
            return Err(e);
        }
    };
    // SAFETY: `d_make_root` takes over the reference `root` holds, also on failure.
    let dentry = unsafe { raw::d_make_root(ARef::into_raw(root).as_ptr().cast()) };
    if dentry.is_null() {
        drop_data::<T>(sb);
        return Err(ENOMEM);
    }
    s.s_root = dentry;
    Ok(())
}

/// Frees the `T::Data` of `sb` and clears the pointer.
fn drop_data<T: FileSystem>(sb: *mut raw::super_block) {
    // SAFETY: Called with a live superblock whose `s_fs_info` is null or a pinned `KBox<T::Data>`
    // that nothing uses any more; it is dropped in place.
    unsafe {
        let data = (*sb).s_fs_info.cast::<T::Data>();
        (*sb).s_fs_info = core::ptr::null_mut();
        if !data.is_null() {
            drop(Pin::new_unchecked(KBox::from_raw(data)));
        }
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

/// `super_operations::statfs`.
///
/// # Safety
///
/// Called by the VFS with a dentry of a live superblock of type `T` and a valid output.
unsafe extern "C" fn statfs_callback<T: FileSystem>(
    dentry: *mut raw::dentry,
    buf: *mut kernel::bindings::kstatfs,
) -> c_int {
    // `kernel::bindings` declares `kstatfs` opaque; this is the same C structure in full.
    let buf = buf.cast::<raw::kstatfs>();
    from_result(|| {
        // SAFETY: The dentry and its superblock are live for the call.
        let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
        let st = T::statfs(sb)?;
        // SAFETY: `buf` is valid for writes for the call.
        let buf = unsafe { &mut *buf };
        buf.f_type = T::MAGIC as isize;
        buf.f_bsize = kernel::page::PAGE_SIZE as isize;
        buf.f_frsize = kernel::page::PAGE_SIZE as isize;
        buf.f_blocks = st.blocks;
        buf.f_bfree = st.free_blocks;
        buf.f_bavail = st.free_blocks;
        buf.f_files = st.files;
        buf.f_ffree = st.free_files;
        buf.f_namelen = st.name_len as isize;
        buf.f_fsid.val = [st.fsid[0] as c_int, st.fsid[1] as c_int];
        Ok(0)
    })
}

/// `super_operations::show_options`.
///
/// # Safety
///
/// Called by the VFS with a valid `seq_file` and the root dentry of a live superblock of `T`.
unsafe extern "C" fn show_options_callback<T: FileSystem>(
    seq: *mut raw::seq_file,
    root: *mut raw::dentry,
) -> c_int {
    from_result(|| {
        // SAFETY: The dentry and its superblock are live for the call.
        let sb = unsafe { SuperBlock::<T>::from_raw((*root).d_sb) };
        // SAFETY: `seq` is valid for the call; `SeqFile` is a transparent wrapper.
        let seq = unsafe { &mut *seq.cast::<SeqFile>() };
        T::show_options(sb, seq)?;
        Ok(0)
    })
}
