// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over the kernel's VFS, DAX and iomap interfaces.
//!
//! This is the only part of daxfs that touches raw bindings or writes `unsafe`: every type here
//! documents its invariants and every `unsafe` block its reasoning, so that the file system logic
//! built on top can be safe Rust.

mod fs_type;
mod raw;

pub(crate) use fs_type::{
    FileSystem,
    FsContext,
    Registration, //
};
