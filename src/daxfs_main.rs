// SPDX-License-Identifier: GPL-2.0

//! daxfs: a small file system whose file data lives directly in persistent memory (DAX).
//!
//! The raw kernel interfaces are wrapped in [`vfs`], the one module that uses `unsafe`. The file
//! system logic sits on top of it, each file implementing the operations table it owns: [`mount`]
//! (the file system type and `super_operations`), [`namei`] (the inode operations of directories),
//! [`dir`] (directory entries and their file operations), [`file`] (the file and iomap operations
//! of regular files), [`truncate`] (their inode operations: size changes, and hole punching),
//! [`fault`] (DAX faults), [`xattr`] (extended attributes), [`export`] (file handles). Below
//! them: [`inode`], [`extents`], [`sb_info`] (the per-mount state), [`alloc`], [`park`] (blocks a
//! truncate parks under pinned pages), [`orphan`] and [`meta`]; [`format`] defines the on-disk
//! layout that the userspace tools share.

use kernel::prelude::*;

mod alloc;
mod dir;
mod export;
mod extents;
mod fault;
mod file;
pub mod format;
mod inode;
mod journal;
mod meta;
mod mount;
mod namei;
mod orphan;
mod park;
mod sb_info;
mod truncate;
mod vfs;
mod xattr;

module! {
    type: DaxfsModule,
    name: "daxfs",
    authors: ["daxfs developers"],
    description: "A small DAX file system for persistent memory",
    license: "GPL",
}

/// The daxfs file system type; its operations are implemented in [`mount`] and the files it
/// names.
pub(crate) struct Daxfs;

#[pin_data]
struct DaxfsModule {
    #[pin]
    fs: vfs::Registration<Daxfs>,
    /// The debugfs files: the crash-state recorder (off until a workload starts it) and
    /// failure injection (disarmed).
    #[pin]
    debug_files: vfs::DebugFiles,
}

impl kernel::InPlaceModule for DaxfsModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            debug_files <- vfs::DebugFiles::new(),
            fs <- vfs::Registration::new(module),
        })
    }
}
