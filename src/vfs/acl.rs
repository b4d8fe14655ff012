// SPDX-License-Identifier: GPL-2.0

//! POSIX ACLs: the `get_inode_acl` and `set_acl` inode operations, the ACLs and mode of a new
//! node (`posix_acl_create`), and the ACL's update after a mode change (`posix_acl_chmod`).
//!
//! A file system stores each ACL as an extended attribute of [`Namespace::AclAccess`] or
//! [`Namespace::AclDefault`] with the empty name, its value in the format the VFS gives user
//! space (`posix_acl_to_xattr` with the initial user namespace: ids as the file system sees
//! them), through its [`super::xattr::Operations`]; the VFS serves `system.posix_acl_*` itself,
//! with no `xattr_handler`. The VFS caches what `get_inode_acl` returns in the
//! inode and checks permissions against it; `set_acl` updates the cache.
//!
//! With `SB_POSIXACL` the VFS no longer applies the umask to new nodes: `posix_acl_create` does,
//! when the directory has no default ACL, so every way of creating a node goes through
//! [`for_new_node`].
//!
//! C header: [`include/linux/posix_acl.h`](srctree/include/linux/posix_acl.h).

use core::ptr::NonNull;

use kernel::{
    error::to_result,
    ffi::c_int,
    prelude::*, //
};

use super::{
    fs_type::FileSystem,
    inode::{
        dentry_inode,
        Inode, //
    },
    raw,
    xattr::{
        Namespace,
        Operations as _,
        SetMode, //
    },
};

/// An ACL as the VFS holds it (`struct posix_acl`), one reference of it.
///
/// # Invariants
///
/// The pointer is a live `posix_acl` that this owns one reference of.
struct Acl(NonNull<raw::posix_acl>);

impl Acl {
    /// Takes over the reference `acl` holds, if it is not NULL.
    ///
    /// # Safety
    ///
    /// `acl` must be NULL or a live `posix_acl` whose reference the caller gives away.
    unsafe fn from_raw(acl: *mut raw::posix_acl) -> Option<Self> {
        // INVARIANT: The caller gives away a reference of a live ACL.
        NonNull::new(acl).map(Self)
    }

    /// The ACL in the extended-attribute format, ids of the initial user namespace.
    fn to_value(&self) -> Result<AclValue> {
        // SAFETY: By the type invariant the ACL is live, and this holds a reference of it.
        unsafe { to_value(self.0.as_ptr()) }
    }
}

impl Drop for Acl {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this owns a reference of a live ACL.
        unsafe { raw::daxfs_posix_acl_release(self.0.as_ptr()) };
    }
}

/// `acl` in the extended-attribute format.
///
/// # Safety
///
/// `acl` must be a live ACL that the caller holds a reference of for the call.
unsafe fn to_value(acl: *const raw::posix_acl) -> Result<AclValue> {
    let mut len = 0usize;
    // SAFETY: `acl` is a live ACL, as the caller guarantees; `init_user_ns` lives for ever;
    // `len` is valid for a write.
    let value = unsafe {
        raw::posix_acl_to_xattr(&raw mut raw::init_user_ns, acl, &mut len, raw::GFP_KERNEL)
    };
    // INVARIANT: `posix_acl_to_xattr` returns a buffer of `len` bytes from `kmalloc`, or NULL.
    let value = NonNull::new(value.cast::<u8>()).ok_or(ENOMEM)?;
    Ok(AclValue { value, len })
}

/// An ACL in the extended-attribute format, as stored.
///
/// # Invariants
///
/// `value` is a `kmalloc` buffer of `len` initialised bytes that this owns.
pub(crate) struct AclValue {
    value: NonNull<u8>,
    len: usize,
}

impl core::ops::Deref for AclValue {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: By the type invariant the buffer holds `len` initialised bytes, ours.
        unsafe { core::slice::from_raw_parts(self.value.as_ptr(), self.len) }
    }
}

impl Drop for AclValue {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the buffer is a `kmalloc` one that this owns.
        unsafe { raw::kfree(self.value.as_ptr().cast()) };
    }
}

/// The ACLs a new node starts with, from its directory's default ACL.
#[derive(Default)]
pub(crate) struct NewAcls {
    /// Its access ACL, unless its mode says all of it.
    pub(crate) access: Option<AclValue>,
    /// A new directory's default ACL: its parent's.
    pub(crate) default: Option<AclValue>,
}

impl NewAcls {
    /// The ACLs there are, with their namespaces.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Namespace, &[u8])> {
        let access = self.access.as_deref().map(|v| (Namespace::AclAccess, v));
        let default = self.default.as_deref().map(|v| (Namespace::AclDefault, v));
        Iterator::chain(access.into_iter(), default)
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.access.is_none() && self.default.is_none()
    }
}

/// Applies the default ACL of `dir` to `mode`, the type and permission bits of a node to create
/// in it, or the umask if it has none, and returns the ACLs of the node.
pub(super) fn for_new_node<T: FileSystem>(dir: &Inode<T>, mode: &mut u16) -> Result<NewAcls> {
    let (mut default, mut access) = (core::ptr::null_mut(), core::ptr::null_mut());
    // SAFETY: `dir` is a live directory inode whose `i_rwsem` the VFS holds; the pointers are
    // valid for writes.
    to_result(unsafe { raw::posix_acl_create(dir.as_raw(), mode, &mut default, &mut access) })?;
    // SAFETY: `posix_acl_create` gives the caller a reference of each ACL it returns.
    let (default, access) = unsafe { (Acl::from_raw(default), Acl::from_raw(access)) };
    Ok(NewAcls {
        access: access.as_ref().map(Acl::to_value).transpose()?,
        default: default.as_ref().map(Acl::to_value).transpose()?,
    })
}

/// The namespace that stores ACLs of type `kind` (`ACL_TYPE_ACCESS`, `ACL_TYPE_DEFAULT`).
fn namespace(kind: c_int) -> Result<Namespace> {
    // CAST: the ACL types are small positive constants.
    match kind as u32 {
        raw::ACL_TYPE_ACCESS => Ok(Namespace::AclAccess),
        raw::ACL_TYPE_DEFAULT => Ok(Namespace::AclDefault),
        _ => Err(EINVAL),
    }
}

/// The stored value of the ACL of `namespace` of `inode`, if it has one.
fn read<T: FileSystem>(inode: &Inode<T>, namespace: Namespace) -> Result<Option<KVec<u8>>> {
    // The length, then the value: a change in between (the VFS does not hold `i_rwsem` around
    // this) makes the second read find another length, and the two are tried again.
    for _ in 0..3 {
        let len = match T::XattrOps::get(inode, namespace, b"", None) {
            Err(e) if e == ENODATA => return Ok(None),
            len => len?,
        };
        let mut value = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        match T::XattrOps::get(inode, namespace, b"", Some(&mut value)) {
            Ok(read) if read == len => return Ok(Some(value)),
            Ok(_) => {}
            Err(e) if e == ERANGE => {}
            Err(e) if e == ENODATA => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    // Changed under each read: not `EAGAIN`, which a permission check takes for "no ACL".
    Err(EBUSY)
}

/// `inode_operations::get_inode_acl`: the ACL of type `kind` of `inode`, NULL if it has none,
/// or an error pointer. Not in RCU walk: reading it may sleep.
///
/// # Safety
///
/// Called by the VFS with a ready inode of `T`.
pub(super) unsafe extern "C" fn get_inode_acl_callback<T: FileSystem>(
    inode: *mut raw::inode,
    kind: c_int,
    rcu: bool,
) -> *mut raw::posix_acl {
    if rcu {
        return ECHILD.to_ptr();
    }
    // SAFETY: The inode is a ready one of `T`.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    let value = match namespace(kind).and_then(|namespace| read(inode, namespace)) {
        Ok(Some(value)) => value,
        Ok(None) => return core::ptr::null_mut(),
        Err(e) => return e.to_ptr(),
    };
    // SAFETY: `value` is valid for reads of its length; `init_user_ns` lives for ever. The
    // result is a new ACL whose reference goes to the caller, or an error pointer (the file
    // system stores only values it checked, in the format this decodes).
    unsafe {
        raw::posix_acl_from_xattr(
            &raw mut raw::init_user_ns,
            value.as_ptr().cast(),
            value.len(),
        )
    }
}

/// `inode_operations::set_acl`: sets the ACL of type `kind` of the inode of `dentry` to `acl`,
/// or removes it if `acl` is NULL. An access ACL sets the permission bits of the mode with it,
/// in the same change, and is not stored if the mode says all of it. The VFS has checked the
/// caller's rights and the ACL (`posix_acl_valid`), and holds `i_rwsem`.
///
/// # Safety
///
/// Called by the VFS with a positive dentry of `T`, and `acl` NULL or a live ACL.
pub(super) unsafe extern "C" fn set_acl_callback<T: FileSystem>(
    idmap: *mut raw::mnt_idmap,
    dentry: *mut raw::dentry,
    acl: *mut raw::posix_acl,
    kind: c_int,
) -> c_int {
    kernel::error::from_result(|| {
        // SAFETY: The dentry is positive, its inode a ready one of `T`.
        let inode = unsafe { dentry_inode::<T>(dentry) };
        inode.super_block().check_running()?;
        let namespace = namespace(kind)?;
        let raw_inode = inode.as_raw();
        // SAFETY: The inode is live; its mode changes only under `i_rwsem`, which the VFS holds.
        let mut mode = unsafe { (*raw_inode).i_mode };
        if namespace == Namespace::AclDefault && u32::from(mode) & raw::S_IFMT != raw::S_IFDIR {
            // Only directories have one, as on ext4.
            return if acl.is_null() { Ok(0) } else { Err(EACCES) };
        }
        let mut acl = acl;
        if namespace == Namespace::AclAccess && !acl.is_null() {
            // SAFETY: As the VFS guarantees; `mode` and `acl` are valid for writes. It may set
            // `acl` to NULL (the mode says it all), and never takes a reference.
            to_result(unsafe {
                raw::posix_acl_update_mode(idmap, raw_inode, &mut mode, &mut acl)
            })?;
        }
        let value = if acl.is_null() {
            None
        } else {
            // SAFETY: The VFS holds a reference of `acl` for the call.
            Some(unsafe { to_value(acl) }?)
        };
        let touch = || {
            // SAFETY: The inode is live and its `i_rwsem` held.
            unsafe {
                (*raw_inode).i_mode = mode;
                raw::inode_set_ctime_current(raw_inode);
            }
        };
        let mode = SetMode {
            create: false,
            replace: false,
            // SAFETY: The inode is live; its mode changes only under `i_rwsem`, held.
            always_store: mode != unsafe { (*raw_inode).i_mode },
        };
        T::XattrOps::set(inode, namespace, b"", value.as_deref(), mode, &touch)?;
        // SAFETY: The inode is live; `set_cached_acl` takes a reference of `acl` if not NULL.
        unsafe { raw::set_cached_acl(raw_inode, kind, acl) };
        Ok(0)
    })
}

/// Updates the access ACL of the inode of `dentry`, if it has one, to the permission bits of
/// its mode, after `setattr` changed them (`posix_acl_chmod`).
///
/// # Safety
///
/// `dentry` must be a positive dentry of `T` whose inode's `i_rwsem` the caller holds, and
/// `idmap` the mount's, as `setattr` gets them.
pub(super) unsafe fn chmod<T: FileSystem>(
    idmap: *mut raw::mnt_idmap,
    dentry: *mut raw::dentry,
) -> Result {
    // SAFETY: As the caller guarantees.
    let mode = unsafe { (*(*dentry).d_inode).i_mode };
    // SAFETY: As the caller guarantees.
    to_result(unsafe { raw::posix_acl_chmod(idmap, dentry, mode) })
}
