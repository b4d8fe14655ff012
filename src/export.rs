// SPDX-License-Identifier: GPL-2.0

//! File handles: the inode of a handle, and the parent of a directory, which is stored in its
//! inode (daxfs directories have no `..` entry).

use kernel::prelude::*;

use crate::{
    format,
    inode::{
        self,
        Inode, //
    },
    meta::report_corruption,
    vfs::{
        self,
        ARef,
        SuperBlock, //
    },
    Daxfs,
};

/// The file handle operations of daxfs.
pub(crate) struct ExportOps;

impl vfs::export::Operations<Daxfs> for ExportOps {
    fn inode_for_handle(sb: &SuperBlock<Daxfs>, ino: u64, generation: u32) -> Result<ARef<Inode>> {
        inode::iget_handle(sb, ino, generation)
    }

    fn parent(dir: &Inode) -> Result<ARef<Inode>> {
        let disk = dir.data().disk.lock();
        // Removed, but still cached (open, or a working directory): it has no parent any more.
        if disk.nlink == 0 {
            return Err(ESTALE);
        }
        let parent_ino = disk.parent;
        drop(disk);
        let parent = inode::iget_parent(dir.super_block(), parent_ino)?;
        let is_dir = parent.data().disk.lock().file_type() == Some(format::FileType::Directory);
        if !is_dir {
            // Moved meanwhile, and its old parent's slot reused: stale, not damaged.
            if dir.data().disk.lock().parent != parent_ino {
                return Err(ESTALE);
            }
            report_corruption!(
                "inode {}: its parent {parent_ino} is not a directory; run fsck.daxfs\n",
                dir.ino()
            );
            return Err(EUCLEAN);
        }
        Ok(parent)
    }
}
