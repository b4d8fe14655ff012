// SPDX-License-Identifier: GPL-2.0

//! Raw C interfaces that `kernel::bindings` lacks.
//!
//! Two sources: bindings that bindgen generates at build time from `rust/daxfs_bindings.h`
//! (DAX, iomap), reusing the types of `kernel::bindings` instead of defining them again, and the
//! functions of the module's C glue (`rust/daxfs_glue.c`), which wrap static inline functions and
//! macros that bindgen cannot see.

#[allow(
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
mod generated {
    include!(env!("DAXFS_BINDINGS_RS"));
}

#[expect(unused_imports)]
pub(crate) use generated::*;
pub(crate) use kernel::bindings::*;

extern "C" {
    /// Logs `msg` as an error of the fs_context, so that it reaches both dmesg and the mount(2)
    /// caller (`errorfc()` is a macro).
    pub(crate) fn daxfs_fc_error(fc: *mut fs_context, msg: *const kernel::ffi::c_char);
}
