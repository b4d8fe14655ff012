// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over the kernel's VFS, DAX and iomap interfaces.
//!
//! This is the only part of daxfs that touches raw bindings or writes `unsafe`: every type here
//! documents its invariants and every `unsafe` block its reasoning, so that the file system logic
//! built on top can be safe Rust.
//!
//! Each operations table of the C side has a trait here that the file system implements, in the
//! logic file that owns it (as each ext2 file owns the table it implements):
//! [`FileSystem`] (the type and its mount context), [`super_block::Operations`],
//! [`inode::Operations`], [`dir::InodeOperations`], [`dir::FileOperations`],
//! [`file::Operations`], [`iomap::Operations`] and [`fault::Operations`].

mod acl;
pub(crate) mod crc;
mod dax;
pub(crate) mod dir;
pub(crate) mod export;
mod fail;
pub(crate) mod fault;
pub(crate) mod file;
mod fs_type;
pub(crate) mod inode;
pub(crate) mod iomap;
mod locks;
mod pinned;
pub(crate) mod ratelimit;
mod raw;
mod recorder;
pub(crate) mod super_block;
pub(crate) mod trace;
pub(crate) mod xattr;

pub(crate) use acl::NewAcls;
pub(crate) use dax::Pmem;
pub(crate) use dir::{
    DirEmitter,
    NewNode,
    NodeKind, //
};
pub(crate) use fail::fail_injected;
pub(crate) use fault::{
    DaxFault,
    FaultResult,
    VmFault, //
};
pub(crate) use file::Fallocate;
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
    random_generation,
    Attributes,
    Inode,
    InodeKind,
    InodeParams,
    Lookup, //
};
pub(crate) use iomap::BlockMap;
pub(crate) use locks::{
    InvalidateExclusive,
    NoFsScope, //
};
pub(crate) use pinned::{
    OwnedQueue,
    PinnedPage, //
};
pub(crate) use recorder::DebugFiles;
pub(crate) use super_block::{
    New,
    SeqFile,
    StatFs,
    SuperBlock, //
};
