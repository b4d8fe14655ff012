// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over the kernel's VFS, DAX and iomap interfaces.
//!
//! This is the only part of daxfs that touches raw bindings or writes `unsafe`: every type here
//! documents its invariants and every `unsafe` block its reasoning, so that the file system logic
//! built on top can be safe Rust.

mod dax;
mod fault;
mod file;
mod fs_type;
mod inode;
mod locks;
mod raw;
mod super_block;
pub(crate) mod trace;

pub(crate) use dax::Pmem;
pub(crate) use fault::{
    DaxFault,
    FaultResult,
    VmFault, //
};
pub(crate) use file::{
    BlockMap,
    Fallocate, //
};
pub(crate) use fs_type::{
    ARef,
    DaxMode,
    FileSystem,
    FsContext,
    MountParam,
    Registration, //
};
pub(crate) use inode::{
    iget,
    now,
    DirEmitter,
    Inode,
    InodeKind,
    InodeParams,
    Lookup,
    NewNode,
    NodeKind, //
};
pub(crate) use super_block::{
    SeqFile,
    StatFs,
    SuperBlock, //
};
