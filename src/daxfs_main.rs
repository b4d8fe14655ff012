// SPDX-License-Identifier: GPL-2.0

//! daxfs: a small file system whose file data lives directly in persistent memory (DAX).
//!
//! The raw kernel interfaces are wrapped in [`vfs`], the one module that uses `unsafe`; the file
//! system logic ([`mount`], [`inode`], [`dir`], [`namei`], [`orphan`], [`file`], [`extents`],
//! [`fault`], [`truncate`], [`alloc`]) sits on top of it, and [`format`] defines the on-disk layout that the
//! userspace tools share.

use kernel::prelude::*;

mod alloc;
mod dir;
mod extents;
mod fault;
mod file;
pub mod format;
mod inode;
mod mount;
mod namei;
mod orphan;
mod truncate;
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
    const MAGIC: u32 = format::STATFS_MAGIC;

    type Options = mount::Options;
    type Data = mount::SbInfo;
    type InodeData = inode::InodeInfo;

    fn parse_param(
        fc: &mut vfs::FsContext,
        opts: &mut mount::Options,
        param: vfs::MountParam,
    ) -> Result {
        mount::parse_param(fc, opts, param)
    }

    fn fill_super(
        sb: &vfs::SuperBlock<Self>,
        opts: &mount::Options,
        pmem: vfs::Pmem,
        fc: &mut vfs::FsContext,
    ) -> Result<impl PinInit<mount::SbInfo, Error>> {
        mount::fill_super(sb, opts, pmem, fc)
    }

    fn root(sb: &vfs::SuperBlock<Self>) -> Result<vfs::ARef<inode::Inode>> {
        // The superblock is ready here: first free what a crash left on the orphan list.
        orphan::reclaim(sb)?;
        inode::iget(sb, sb.data().disk.root_ino)
    }

    fn reconfigure(
        sb: &vfs::SuperBlock<Self>,
        fc: &mut vfs::FsContext,
        opts: &mount::Options,
        read_only: bool,
    ) -> Result {
        mount::reconfigure(sb, fc, opts, read_only)
    }

    fn statfs(sb: &vfs::SuperBlock<Self>) -> Result<vfs::StatFs> {
        mount::statfs(sb)
    }

    fn show_options(sb: &vfs::SuperBlock<Self>, seq: &mut vfs::SeqFile) -> Result {
        mount::show_options(sb, seq)
    }

    fn lookup(dir: &inode::Inode, name: &[u8]) -> Result<Option<vfs::ARef<inode::Inode>>> {
        dir::lookup(dir, name)
    }

    fn read_dir(dir: &inode::Inode, emitter: &mut vfs::DirEmitter) -> Result {
        dir::read_dir(dir, emitter)
    }

    fn create(
        dir: &inode::Inode,
        name: &[u8],
        node: vfs::NewNode<'_>,
    ) -> Result<vfs::ARef<inode::Inode>> {
        namei::create(dir, name, node)
    }

    fn link(dir: &inode::Inode, name: &[u8], inode: &inode::Inode) -> Result {
        namei::link(dir, name, inode)
    }

    fn unlink(dir: &inode::Inode, name: &[u8], inode: &inode::Inode) -> Result {
        namei::unlink(dir, name, inode)
    }

    fn rmdir(dir: &inode::Inode, name: &[u8], inode: &inode::Inode) -> Result {
        namei::rmdir(dir, name, inode)
    }

    fn rename(
        old_dir: &inode::Inode,
        old_name: &[u8],
        inode: &inode::Inode,
        new_dir: &inode::Inode,
        new_name: &[u8],
        target: Option<&inode::Inode>,
    ) -> Result {
        namei::rename(old_dir, old_name, inode, new_dir, new_name, target)
    }

    fn write_inode(inode: &inode::Inode) -> Result {
        inode::write_inode(inode)
    }

    fn evict(inode: &inode::Inode) {
        inode::evict(inode)
    }

    fn symlink_target(data: &inode::InodeInfo) -> Option<&CStr> {
        data.symlink_target()
    }

    fn pmem(sb: &vfs::SuperBlock<Self>) -> &vfs::Pmem {
        &sb.data().pmem
    }

    fn map_blocks(inode: &inode::Inode, pos: u64, len: u64, write: bool) -> Result<vfs::BlockMap> {
        file::map_blocks(inode, pos, len, write)
    }

    fn extend_size(inode: &inode::Inode, end: u64) -> Result {
        file::extend_size(inode, end)
    }

    fn set_size(inode: &inode::Inode, size: u64) -> Result {
        truncate::set_size(inode, size)
    }

    fn fallocate(inode: &inode::Inode, mode: vfs::Fallocate, offset: u64, len: u64) -> Result {
        truncate::fallocate(inode, mode, offset, len)
    }

    fn fault(vmf: &vfs::VmFault<Self>, order: u32) -> vfs::FaultResult {
        fault::fault(vmf, order)
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
