// SPDX-License-Identifier: GPL-2.0

//! Extended attributes: the `xattr_handler`s of the namespaces a file system stores (`user.`,
//! `trusted.`, `security.`), which the superblock lists in `s_xattr`, and `listxattr`.
//!
//! The VFS resolves a name to its handler, strips the prefix, and checks permissions before it
//! calls one: `user.` only on regular files and directories and with the file's access rights,
//! `trusted.` only with `CAP_SYS_ADMIN`, `security.` through the security module. It holds
//! `i_rwsem` around `set`, not around `get` or `listxattr`.
//!
//! C header: [`include/linux/xattr.h`](srctree/include/linux/xattr.h).

use core::marker::PhantomData;

use kernel::{
    error::from_result,
    ffi::{
        c_char,
        c_int,
        c_void, //
    },
    prelude::*,
};

use super::{
    fs_type::FileSystem,
    inode::{
        dentry_inode,
        Inode, //
    },
    raw,
};

/// The namespaces of extended attributes a file system stores, the ACLs' among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Namespace {
    /// `user.`: for users, on regular files and directories.
    User,
    /// `trusted.`: for processes with `CAP_SYS_ADMIN` only, listed only to them.
    Trusted,
    /// `security.`: for security modules.
    Security,
    /// `system.posix_acl_access`, the access ACL ([`super::acl`]): one attribute, with the
    /// empty name, which the VFS reads and writes through the ACL operations.
    AclAccess,
    /// `system.posix_acl_default`, a directory's default ACL, as [`Namespace::AclAccess`].
    AclDefault,
}

impl Namespace {
    /// Those with an `xattr_handler`, in the order of the handlers.
    const HANDLED: [Self; 3] = [Self::User, Self::Trusted, Self::Security];

    /// The prefix of its names, with the dot; the whole name of an ACL.
    fn prefix(self) -> &'static CStr {
        match self {
            Self::User => c"user.",
            Self::Trusted => c"trusted.",
            Self::Security => c"security.",
            Self::AclAccess => c"system.posix_acl_access",
            Self::AclDefault => c"system.posix_acl_default",
        }
    }

    /// The namespace of handler flags `flags` (the index in [`Namespace::HANDLED`]).
    fn from_flags(flags: c_int) -> Result<Self> {
        usize::try_from(flags)
            .ok()
            .and_then(|index| Self::HANDLED.get(index).copied())
            .ok_or(EOPNOTSUPP)
    }

    /// Whether the current task may see the names of this namespace in a listing.
    fn listable(self) -> bool {
        match self {
            // SAFETY: `capable` only reads the current task's credentials.
            Self::Trusted => unsafe { raw::capable(raw::CAP_SYS_ADMIN as c_int) },
            // The ACLs, as `posix_acl_listxattr` lists them (a file system stores them only
            // with `SB_POSIXACL`).
            Self::User | Self::Security | Self::AclAccess | Self::AclDefault => true,
        }
    }
}

/// How a `set` treats an attribute that exists, or not: its flags, which may come together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetMode {
    /// Only if it does not exist (`XATTR_CREATE`): else `EEXIST`.
    pub(crate) create: bool,
    /// Only if it exists (`XATTR_REPLACE`): else `ENODATA`.
    pub(crate) replace: bool,
    /// Store the attributes `touch` set even if there was nothing to remove: the mode that
    /// came with an ACL the mode says all of (which is removed, not stored).
    pub(crate) always_store: bool,
}

/// The extended-attribute operations a file system implements.
pub(crate) trait Operations<T: FileSystem> {
    /// Copies the value of attribute `name` of `namespace` of `inode` into `buffer` and returns
    /// its length; without a buffer, returns only the length. `ENODATA` if there is none,
    /// `ERANGE` if the buffer is too small.
    fn get(
        inode: &Inode<T>,
        namespace: Namespace,
        name: &[u8],
        buffer: Option<&mut [u8]>,
    ) -> Result<usize>;

    /// Sets attribute `name` of `namespace` of `inode` to `value`, or removes it if `value` is
    /// `None`, as `mode` says, with the attributes the VFS holds once `touch` has set its change
    /// time; the caller holds `i_rwsem` and has checked the caller's rights. For an ACL,
    /// `touch` may change the mode too (see [`SetMode::always_store`]).
    fn set(
        inode: &Inode<T>,
        namespace: Namespace,
        name: &[u8],
        value: Option<&[u8]>,
        mode: SetMode,
        touch: &dyn Fn(),
    ) -> Result;

    /// The block holding the attributes of `inode`, if it has any, for FIEMAP.
    fn block(inode: &Inode<T>) -> Result<Option<u64>>;

    /// Calls `emit` with the namespace and name of each attribute of `inode`, stopping at its
    /// first error.
    fn list(inode: &Inode<T>, emit: &mut dyn FnMut(Namespace, &[u8]) -> Result) -> Result;
}

/// The handlers of `T`, and the table of them for `s_xattr`.
pub(super) struct Handlers<T>(PhantomData<T>);

impl<T: FileSystem> Handlers<T> {
    /// The handler of `namespace`, whose flags are its index in [`Namespace::HANDLED`].
    const fn handler(namespace: Namespace, index: c_int) -> raw::xattr_handler {
        raw::xattr_handler {
            name: core::ptr::null(),
            prefix: namespace.prefix_ptr(),
            flags: index,
            list: None,
            get: Some(get_callback::<T>),
            set: Some(set_callback::<T>),
        }
    }
    const USER: raw::xattr_handler = Self::handler(Namespace::User, 0);
    const TRUSTED: raw::xattr_handler = raw::xattr_handler {
        list: Some(list_trusted_callback),
        ..Self::handler(Namespace::Trusted, 1)
    };
    const SECURITY: raw::xattr_handler = Self::handler(Namespace::Security, 2);
    /// The NULL-terminated table for `s_xattr`.
    pub(super) const TABLE: [*const raw::xattr_handler; 4] = [
        &Self::USER,
        &Self::TRUSTED,
        &Self::SECURITY,
        core::ptr::null(),
    ];
}

impl Namespace {
    /// [`Namespace::prefix`] as a C string pointer, in a constant.
    // `CStrExt::as_char_ptr`, which the lint points to, is not `const`; the cast gives the
    // kernel's unsigned `char` that it would.
    #[allow(clippy::disallowed_methods)]
    const fn prefix_ptr(self) -> *const c_char {
        match self {
            Self::User => c"user.".as_ptr().cast(),
            Self::Trusted => c"trusted.".as_ptr().cast(),
            Self::Security => c"security.".as_ptr().cast(),
            Self::AclAccess => c"system.posix_acl_access".as_ptr().cast(),
            Self::AclDefault => c"system.posix_acl_default".as_ptr().cast(),
        }
    }
}

/// `xattr_handler::list` of `trusted.`: listed only to `CAP_SYS_ADMIN`, as in ext4.
///
/// # Safety
///
/// Called by the VFS; it reads nothing through `dentry`.
unsafe extern "C" fn list_trusted_callback(_dentry: *mut raw::dentry) -> bool {
    Namespace::Trusted.listable()
}

/// `xattr_handler::get` of every namespace of `T`.
///
/// # Safety
///
/// Called by the VFS with one of `T`'s handlers, a ready inode of `T`, the name after the
/// prefix as a C string, and `buffer` valid for writes of `size` bytes unless `size` is 0.
unsafe extern "C" fn get_callback<T: FileSystem>(
    handler: *const raw::xattr_handler,
    _dentry: *mut raw::dentry,
    inode: *mut raw::inode,
    name: *const c_char,
    buffer: *mut c_void,
    size: usize,
) -> c_int {
    from_result(|| {
        // SAFETY: The handler is one of `T`'s, valid for the call.
        let namespace = Namespace::from_flags(unsafe { (*handler).flags })?;
        // SAFETY: The inode is a ready one of `T`.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        // SAFETY: `name` is a NUL-terminated string valid for the call.
        let name = unsafe { CStr::from_char_ptr(name) }.to_bytes();
        let buffer = if size == 0 || buffer.is_null() {
            None
        } else {
            // SAFETY: The VFS passes a buffer valid for writes of `size` bytes, ours for the
            // call.
            Some(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) })
        };
        let len = T::XattrOps::get(inode, namespace, name, buffer)?;
        c_int::try_from(len).map_err(|_| E2BIG)
    })
}

/// `xattr_handler::set` of every namespace of `T`: sets, or with a NULL `buffer` removes.
///
/// # Safety
///
/// Called by the VFS with one of `T`'s handlers, a ready inode of `T` whose `i_rwsem` it holds,
/// the name after the prefix as a C string, and `buffer` NULL or valid for reads of `size`
/// bytes.
unsafe extern "C" fn set_callback<T: FileSystem>(
    handler: *const raw::xattr_handler,
    _idmap: *mut raw::mnt_idmap,
    _dentry: *mut raw::dentry,
    inode: *mut raw::inode,
    name: *const c_char,
    buffer: *const c_void,
    size: usize,
    flags: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: The handler is one of `T`'s, valid for the call.
        let namespace = Namespace::from_flags(unsafe { (*handler).flags })?;
        // SAFETY: The inode is a ready one of `T`.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        inode.super_block().check_running()?;
        // SAFETY: `name` is a NUL-terminated string valid for the call.
        let name = unsafe { CStr::from_char_ptr(name) }.to_bytes();
        let value = if buffer.is_null() {
            None
        } else if size == 0 {
            Some(&[][..])
        } else {
            // SAFETY: A non-NULL buffer is valid for reads of `size` bytes for the call.
            Some(unsafe { core::slice::from_raw_parts(buffer.cast::<u8>(), size) })
        };
        // CAST: the flags are non-negative bits.
        let flags = flags as u32;
        let mode = SetMode {
            create: flags & raw::XATTR_CREATE != 0,
            replace: flags & raw::XATTR_REPLACE != 0,
            always_store: false,
        };
        let touch = || {
            // SAFETY: The inode is live and its `i_rwsem` held.
            unsafe { raw::inode_set_ctime_current(inode.as_raw()) };
        };
        T::XattrOps::set(inode, namespace, name, value, mode, &touch)?;
        Ok(0)
    })
}

/// `inode_operations::listxattr` of every inode of `T`: the full names (prefix and name, each
/// NUL-terminated) of the attributes the caller may list, into `buffer` of `size` bytes, or
/// with `size` 0 only their total length. `ERANGE` if they do not fit.
///
/// # Safety
///
/// Called by the VFS with a positive dentry of `T`, and `buffer` valid for writes of `size`
/// bytes unless `size` is 0.
pub(super) unsafe extern "C" fn listxattr_callback<T: FileSystem>(
    dentry: *mut raw::dentry,
    buffer: *mut c_char,
    size: usize,
) -> isize {
    let listed = (|| -> Result<usize> {
        // SAFETY: The dentry is positive, its inode a ready one of `T`.
        let inode = unsafe { dentry_inode::<T>(dentry) };
        let mut out = if size == 0 || buffer.is_null() {
            None
        } else {
            // SAFETY: The VFS passes a buffer valid for writes of `size` bytes, ours for the
            // call.
            Some(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) })
        };
        let mut total = 0usize;
        T::XattrOps::list(inode, &mut |namespace, name| {
            if !namespace.listable() {
                return Ok(());
            }
            let prefix = namespace.prefix().to_bytes();
            let len = prefix.len() + name.len() + 1;
            let end = total.checked_add(len).ok_or(E2BIG)?;
            if let Some(out) = out.as_deref_mut() {
                let slot = out.get_mut(total..end).ok_or(ERANGE)?;
                let (head, rest) = slot.split_at_mut(prefix.len());
                head.copy_from_slice(prefix);
                let (middle, nul) = rest.split_at_mut(name.len());
                middle.copy_from_slice(name);
                nul.fill(0);
            }
            total = end;
            Ok(())
        })?;
        Ok(total)
    })();
    match listed {
        // CAST: at most the buffer's size, or a block's worth of names.
        Ok(len) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}
