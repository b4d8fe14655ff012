// SPDX-License-Identifier: GPL-2.0

//! Directories: the namespace operations (`inode_operations` of directories) and reading a
//! directory (`file_operations` of directories), each with the trait a file system implements.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

use core::marker::PhantomData;

use kernel::{
    error::from_result,
    prelude::*,
    types::Opaque, //
};

use super::{
    acl::{
        for_new_node,
        NewAcls, //
    },
    fs_type::{
        ARef,
        FileSystem, //
    },
    inode::{
        current_fsids,
        dentry_inode,
        setattr_callback,
        Inode, //
    },
    raw,
};

/// The namespace operations of directories (`inode_operations`) that a file system implements.
/// The VFS holds the locks named on each.
pub(crate) trait InodeOperations<T: FileSystem> {
    /// Looks `name` up in the directory `dir`.
    fn lookup(dir: &Inode<T>, name: &[u8]) -> Result<Option<ARef<Inode<T>>>>;

    /// Creates `node` as `name` in `dir` (locked) and returns its inode.
    fn create(dir: &Inode<T>, name: &[u8], node: NewNode<'_>) -> Result<ARef<Inode<T>>>;

    /// Creates the regular file `node` in `dir` without a name (`O_TMPFILE`) and returns its
    /// inode, which has no links until [`Self::link`] gives it one.
    fn tmpfile(dir: &Inode<T>, node: NewNode<'_>) -> Result<ARef<Inode<T>>>;

    /// Adds `name` in `dir` for `inode`; both are locked. An inode without links is an
    /// `O_TMPFILE` file that `linkat` names (the VFS allows that for no other).
    fn link(dir: &Inode<T>, name: &[u8], inode: &Inode<T>) -> Result;

    /// Removes the entry `name` of the non-directory `inode` from `dir`; both are locked.
    fn unlink(dir: &Inode<T>, name: &[u8], inode: &Inode<T>) -> Result;

    /// Removes the directory `inode`, named `name` in `dir`; both are locked.
    fn rmdir(dir: &Inode<T>, name: &[u8], inode: &Inode<T>) -> Result;

    /// Moves `inode` from `old_name` in `old_dir` to `new_name` in `new_dir`, replacing `target`
    /// if there is one. With `whiteout` (`RENAME_WHITEOUT`), `old_name` then names a new
    /// whiteout inode instead of nothing. All are locked.
    fn rename(
        old_dir: &Inode<T>,
        old_name: &[u8],
        inode: &Inode<T>,
        new_dir: &Inode<T>,
        new_name: &[u8],
        target: Option<&Inode<T>>,
        whiteout: Option<NewNode<'_>>,
    ) -> Result;

    /// Swaps what `old_name` in `old_dir` (`inode`) and `new_name` in `new_dir` (`other`) name,
    /// atomically (`RENAME_EXCHANGE`). All are locked.
    fn exchange(
        old_dir: &Inode<T>,
        old_name: &[u8],
        inode: &Inode<T>,
        new_dir: &Inode<T>,
        new_name: &[u8],
        other: &Inode<T>,
    ) -> Result;
}

/// The operations of open directories (`file_operations`) that a file system implements.
pub(crate) trait FileOperations<T: FileSystem> {
    /// Emits the entries of the directory `dir` from `emitter.pos()` on, "." and ".." included.
    fn read_dir(dir: &Inode<T>, emitter: &mut DirEmitter) -> Result;
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
        // CAST: names are at most 255 bytes long.
        let len = name.len() as c_int;
        // SAFETY: By the type invariant the context is valid; `name` is valid for its length.
        let ok = unsafe {
            raw::daxfs_dir_emit(self.0.get(), name.as_ptr().cast(), len, ino, dtype.into())
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
    /// Type and permission bits, with the umask or the directory's default ACL applied.
    pub(crate) mode: u16,
    /// The caller's file system user id.
    pub(crate) uid: u32,
    /// The caller's file system group id.
    pub(crate) gid: u32,
    /// Its ACLs, from the directory's default ACL: the file system stores them with it.
    pub(crate) acls: NewAcls,
}

/// The directory operations tables of `T`.
pub(super) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    pub(super) const DIR_INODE: raw::inode_operations = raw::inode_operations {
        lookup: Some(lookup_callback::<T>),
        create: Some(create_callback::<T>),
        mkdir: Some(mkdir_callback::<T>),
        symlink: Some(symlink_callback::<T>),
        mknod: Some(mknod_callback::<T>),
        tmpfile: Some(tmpfile_callback::<T>),
        link: Some(link_callback::<T>),
        unlink: Some(unlink_callback::<T>),
        rmdir: Some(rmdir_callback::<T>),
        rename: Some(rename_callback::<T>),
        getattr: Some(super::inode::getattr_callback::<T>),
        fileattr_get: Some(super::inode::fileattr_get_callback::<T>),
        fileattr_set: Some(super::inode::fileattr_set_callback::<T>),
        setattr: Some(setattr_callback::<T>),
        listxattr: Some(super::xattr::listxattr_callback::<T>),
        get_inode_acl: Some(super::acl::get_inode_acl_callback::<T>),
        set_acl: Some(super::acl::set_acl_callback::<T>),
        ..pin_init::zeroed()
    };
    pub(super) const DIR_FILE: raw::file_operations = raw::file_operations {
        llseek: Some(raw::generic_file_llseek),
        read: Some(raw::generic_read_dir),
        iterate_shared: Some(iterate_shared_callback::<T>),
        // The create-then-fsync-the-directory pattern of every program that wants a new name
        // durable.
        fsync: Some(super::file::fsync_callback::<T>),
        unlocked_ioctl: Some(super::file::ioctl_callback::<T>),
        // Directory leases, as ext4's and XFS's directories grant them.
        setlease: Some(raw::generic_setlease),
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
    mut mode: u16,
) -> Result {
    // SAFETY: The caller guarantees `dir` and `dentry`.
    let (dir, name) = unsafe { (Inode::<T>::from_raw(dir), dentry_name(dentry)) };
    let (uid, gid) = current_fsids();
    let acls = for_new_node(dir, &mut mode)?;
    let inode = T::DirInodeOps::create(
        dir,
        name,
        NewNode {
            kind,
            mode,
            uid,
            gid,
            acls,
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

/// `inode_operations::tmpfile`: an unnamed regular file, opened in `file` (`O_TMPFILE`).
///
/// # Safety
///
/// Called by the VFS with `dir` a directory of `T` and `file` being opened on an unhashed dentry
/// of it.
unsafe extern "C" fn tmpfile_callback<T: FileSystem>(
    _idmap: *mut raw::mnt_idmap,
    dir: *mut raw::inode,
    file: *mut raw::file,
    mode: raw::umode_t,
) -> c_int {
    from_result(|| {
        // SAFETY: As the VFS guarantees.
        let dir = unsafe { Inode::<T>::from_raw(dir) };
        let (uid, gid) = current_fsids();
        let mut mode = mode;
        let acls = for_new_node(dir, &mut mode)?;
        let node = NewNode {
            kind: NodeKind::Regular,
            mode,
            uid,
            gid,
            acls,
        };
        let inode = T::DirInodeOps::tmpfile(dir, node)?;
        // `d_tmpfile` takes the one link the VFS gives a new inode away again.
        inode.set_nlink(1);
        // SAFETY: `file` is being opened on its dentry, as `d_tmpfile` expects; it takes over
        // the inode reference.
        unsafe { raw::d_tmpfile(file, ARef::into_raw(inode).as_ptr().cast()) };
        // SAFETY: `file` is valid and its dentry now positive.
        Ok(unsafe { raw::finish_open(file, (*file).__bindgen_anon_1.f_path.dentry, None) })
    })
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
        T::DirInodeOps::link(dir, name, inode)?;
        // The new dentry gets its own reference to the inode.
        let inode = ARef::from(inode);
        // SAFETY: `dentry` is the VFS's negative dentry; `d_instantiate` takes over the
        // reference.
        unsafe { raw::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast()) };
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
    unsafe { remove_callback::<T>(dir, dentry, T::DirInodeOps::unlink) }
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
    unsafe { remove_callback::<T>(dir, dentry, T::DirInodeOps::rmdir) }
}

/// `inode_operations::rename`, with the `renameat2` flags `RENAME_NOREPLACE` (the VFS checks
/// it), `RENAME_EXCHANGE` and `RENAME_WHITEOUT` (the VFS checks the combination and the
/// privilege).
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
        if flags & !(raw::RENAME_NOREPLACE | raw::RENAME_EXCHANGE | raw::RENAME_WHITEOUT) != 0 {
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
        if flags & raw::RENAME_EXCHANGE != 0 {
            // The VFS made sure that both names exist.
            let other = target.ok_or(ENOENT)?;
            T::DirInodeOps::exchange(old_dir, old_name, inode, new_dir, new_name, other)?;
            return Ok(0);
        }
        // A whiteout is a character device 0:0 (`WHITEOUT_MODE`, `WHITEOUT_DEV`), owned by the
        // caller, as ext4 and XFS make it.
        let whiteout = (flags & raw::RENAME_WHITEOUT != 0).then(|| {
            let (uid, gid) = current_fsids();
            NewNode {
                kind: NodeKind::Special(0),
                // CAST: `S_IFCHR` fits the 16 bits of a mode.
                mode: raw::S_IFCHR as u16,
                uid,
                gid,
                // No ACLs, as on XFS: nothing opens a whiteout.
                acls: NewAcls::default(),
            }
        });
        T::DirInodeOps::rename(
            old_dir, old_name, inode, new_dir, new_name, target, whiteout,
        )?;
        Ok(0)
    })
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
    let name = unsafe { dentry_name(dentry) };
    let found = dir
        .super_block()
        .check_running()
        .and_then(|()| T::DirInodeOps::lookup(dir, name));
    match found {
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
        dir.super_block().check_running()?;
        T::DirFileOps::read_dir(dir, emitter)?;
        Ok(0)
    })
}
