// SPDX-License-Identifier: GPL-2.0

//! File handles: the `export_operations` that let NFS export a file system and
//! `name_to_handle_at(2)` / `open_by_handle_at(2)` reach its inodes.
//!
//! A handle is the VFS's 32-bit form (`generic_encode_ino32_fh`): the inode number and its
//! generation, and for a connectable handle the parent's. Decoding one asks the file system for
//! the inode of that number and generation; the VFS then finds or builds a dentry for it, and
//! reconnects a directory (or a connectable handle's parent) to the root through
//! [`Operations::parent`] and a search of each parent's entries.
//!
//! C header: [`include/linux/exportfs.h`](srctree/include/linux/exportfs.h).

use core::marker::PhantomData;

use kernel::{
    ffi::c_int,
    prelude::*, //
};

use super::{
    fs_type::{
        ARef,
        FileSystem, //
    },
    inode::{
        dentry_inode,
        Inode, //
    },
    raw,
    super_block::SuperBlock,
};

/// The file handle operations a file system implements.
pub(crate) trait Operations<T: FileSystem> {
    /// The inode `ino` of generation `generation`, for a handle: `ESTALE` when that inode no
    /// longer exists (never was, freed, reused with another generation, or unlinked and no
    /// longer open).
    fn inode_for_handle(sb: &SuperBlock<T>, ino: u64, generation: u32) -> Result<ARef<Inode<T>>>;

    /// The parent of the directory `dir`, which is not the root.
    fn parent(dir: &Inode<T>) -> Result<ARef<Inode<T>>>;
}

/// The `export_operations` table of `T`.
pub(super) struct Table<T>(PhantomData<T>);

impl<T: FileSystem> Table<T> {
    pub(super) const TABLE: raw::export_operations = raw::export_operations {
        encode_fh: Some(raw::generic_encode_ino32_fh),
        fh_to_dentry: Some(fh_to_dentry_callback::<T>),
        fh_to_parent: Some(fh_to_parent_callback::<T>),
        get_parent: Some(get_parent_callback::<T>),
        // The rest unset (with fields that only some configurations have): `get_name` (the VFS
        // searches the parent's entries for the inode), `commit_metadata` (every change is
        // durable when its system call returns), `permission` and `open` (the VFS's), no flags.
        // SAFETY: All zeros is a valid `export_operations`: null function pointers and no flags.
        ..unsafe { core::mem::zeroed() }
    };
}

/// The `get_inode` callback of `generic_fh_to_dentry` and `generic_fh_to_parent`.
///
/// # Safety
///
/// Called by the VFS with a live superblock of type `T` that has a root (it is ready).
unsafe extern "C" fn get_inode_callback<T: FileSystem>(
    sb: *mut raw::super_block,
    ino: u64,
    generation: u32,
) -> *mut raw::inode {
    // SAFETY: The VFS decodes handles only on a mounted, hence ready, superblock of type `T`.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    match sb
        .check_running()
        .and_then(|()| T::ExportOps::inode_for_handle(sb, ino, generation))
    {
        // The reference goes to the caller, which gives it to a dentry or puts it.
        Ok(inode) => ARef::into_raw(inode).as_ptr().cast(),
        Err(e) => e.to_ptr(),
    }
}

/// `export_operations::fh_to_dentry`.
///
/// # Safety
///
/// Called by the VFS with a live, ready superblock of type `T` and a handle of `fh_len` words.
unsafe extern "C" fn fh_to_dentry_callback<T: FileSystem>(
    sb: *mut raw::super_block,
    fid: *mut raw::fid,
    fh_len: c_int,
    fh_type: c_int,
) -> *mut raw::dentry {
    // SAFETY: As guaranteed by the caller; `generic_fh_to_dentry` reads only the `fh_len`
    // words of the handle, and `get_inode_callback` has the signature it calls.
    unsafe { raw::generic_fh_to_dentry(sb, fid, fh_len, fh_type, Some(get_inode_callback::<T>)) }
}

/// `export_operations::fh_to_parent`.
///
/// # Safety
///
/// As [`fh_to_dentry_callback`].
unsafe extern "C" fn fh_to_parent_callback<T: FileSystem>(
    sb: *mut raw::super_block,
    fid: *mut raw::fid,
    fh_len: c_int,
    fh_type: c_int,
) -> *mut raw::dentry {
    // SAFETY: As in `fh_to_dentry_callback`.
    unsafe { raw::generic_fh_to_parent(sb, fid, fh_len, fh_type, Some(get_inode_callback::<T>)) }
}

/// `export_operations::get_parent`: a dentry of the parent of a directory.
///
/// # Safety
///
/// Called by the VFS with a positive dentry of a directory of `T` that is not the root.
unsafe extern "C" fn get_parent_callback<T: FileSystem>(
    child: *mut raw::dentry,
) -> *mut raw::dentry {
    // SAFETY: The VFS holds the dentry, hence its inode, for the call.
    let dir = unsafe { dentry_inode::<T>(child) };
    match dir
        .super_block()
        .check_running()
        .and_then(|()| T::ExportOps::parent(dir))
    {
        // SAFETY: `d_obtain_alias` takes over the reference, also on failure.
        Ok(parent) => unsafe { raw::d_obtain_alias(ARef::into_raw(parent).as_ptr().cast()) },
        Err(e) => e.to_ptr(),
    }
}
