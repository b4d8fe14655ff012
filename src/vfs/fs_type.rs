// SPDX-License-Identifier: GPL-2.0

//! File system type registration and the mount context.
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

use super::raw;

/// A file system type that daxfs registers with the VFS.
pub(crate) trait FileSystem: 'static + Sized + Send + Sync {
    /// The name under which the type is registered (`mount -t NAME`).
    const NAME: &'static CStr;

    /// Prepares a mount context; called by the VFS for every mount and remount attempt.
    fn init_fs_context(fc: &mut FsContext) -> Result;
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

    /// Reports an error for this mount attempt, to the kernel log or to the mount(2) caller.
    pub(crate) fn error(&mut self, msg: &CStr) {
        // SAFETY: By the type invariant the context is valid; `msg` is a NUL-terminated string.
        unsafe { raw::daxfs_fc_error(self.0.get(), msg.as_char_ptr()) };
    }
}

/// A registered file system type; unregistered when dropped.
///
/// # Invariants
///
/// `fs_type` holds a `file_system_type` for `T` that is registered with the VFS from successful
/// initialisation until drop. It is pinned because the VFS links it into its list of types.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: FileSystem> {
    #[pin]
    fs_type: Opaque<raw::file_system_type>,
    _fs: PhantomData<T>,
}

// SAFETY: After registration the VFS only touches `fs_type` under its own locks, and `Registration`
// has no other state, so it can be sent to and shared with any thread.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: See `Send`: a shared `Registration` exposes nothing that could race.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers the file system type `T` on behalf of `module`.
    pub(crate) fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
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
                fs_type.kill_sb = Some(raw::kill_block_super);
                fs_type.owner = module.as_ptr();
                // SAFETY: `slot` is fully initialised and pinned; `PinnedDrop` unregisters it
                // before its memory goes away.
                // INVARIANT: On success the type is registered.
                to_result(unsafe { raw::register_filesystem(slot) })
            }),
            _fs: PhantomData,
        })
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

/// `file_system_type::init_fs_context` for `T`.
///
/// # Safety
///
/// Called by the VFS with a valid `fs_context` that it does not touch during the call.
unsafe extern "C" fn init_fs_context_callback<T: FileSystem>(fc: *mut raw::fs_context) -> c_int {
    from_result(|| {
        // SAFETY: The VFS passes a valid context that is ours for the duration of the call.
        let fc = unsafe { FsContext::from_raw(fc) };
        T::init_fs_context(fc)?;
        Ok(0)
    })
}
