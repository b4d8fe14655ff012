// SPDX-License-Identifier: GPL-2.0

//! daxfs: a small file system whose file data lives directly in persistent memory (DAX).
//!
//! This crate root only registers the file system type. The raw kernel interfaces are wrapped in
//! [`vfs`], the one module that uses `unsafe`; the file system logic sits on top of it.

use kernel::prelude::*;

mod vfs;

module! {
    type: DaxfsModule,
    name: "daxfs",
    authors: ["daxfs developers"],
    description: "A small DAX file system for persistent memory",
    license: "GPL",
}

/// The daxfs file system type.
struct Daxfs;

impl vfs::FileSystem for Daxfs {
    const NAME: &'static CStr = c"daxfs";

    fn init_fs_context(fc: &mut vfs::FsContext) -> Result {
        // Mounting arrives with the on-disk format; until then say so instead of failing silently.
        fc.error(c"mounting is not implemented yet");
        Err(EOPNOTSUPP)
    }
}

#[pin_data]
struct DaxfsModule {
    #[pin]
    fs: vfs::Registration<Daxfs>,
}

impl kernel::InPlaceModule for DaxfsModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            fs <- vfs::Registration::new(module),
        })
    }
}
