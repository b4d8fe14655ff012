// SPDX-License-Identifier: GPL-2.0

//! The per-mount state ([`SbInfo`], like ext2's `ext2_sb_info`): the persistent memory, the
//! superblock as read at mount, the allocator and the orphan list, and writing the superblock
//! and inode records.
//!
//! A read-write mount marks the superblock dirty before anything else is written and clean,
//! with the free counters, when it ends; the counters in between live in the allocator. After a
//! crash the next mount, and fsck, see the dirty state and count them again. The orphan list's
//! head is the one field written while mounted (see [`crate::orphan`]).

use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};

use kernel::prelude::*;

use crate::{
    alloc::Allocator,
    format, meta,
    orphan::{
        OrphanList,
        Orphans, //
    },
    vfs::{
        DaxMode,
        Pmem, //
    },
};

/// Per-mount state.
#[pin_data(PinnedDrop)]
pub(crate) struct SbInfo {
    /// The device's persistent memory.
    pub(crate) pmem: Pmem,
    /// The superblock as read at mount; its geometry never changes.
    pub(crate) disk: format::Superblock,
    /// The DAX mode in effect.
    pub(crate) dax: DaxMode,
    /// Whether the mount is read-write (and so the superblock marked dirty).
    writable: AtomicBool,
    /// Allocation of blocks and inodes.
    #[pin]
    pub(crate) alloc: Allocator,
    /// The orphan list.
    #[pin]
    pub(crate) orphans: Orphans,
}

impl SbInfo {
    /// The state of a mount of the file system `disk` on `pmem`; `orphans` is its orphan list
    /// (empty on a read-only mount), `writable` whether it is mounted read-write (and so its
    /// superblock already marked dirty).
    pub(crate) fn new(
        pmem: Pmem,
        disk: format::Superblock,
        dax: DaxMode,
        orphans: OrphanList,
        writable: bool,
    ) -> impl PinInit<Self, Error> {
        // Inside the initialiser `disk` names the field being initialised: build these first.
        let alloc = Allocator::new(disk);
        let orphans = Orphans::new(disk, orphans);
        try_pin_init!(Self {
            pmem,
            disk,
            dax,
            writable: AtomicBool::new(writable),
            alloc <- alloc,
            orphans <- orphans,
        }? Error)
    }

    /// Whether the mount is read-write.
    pub(crate) fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    /// Switches between read-write (the superblock is marked dirty first) and read-only (marked
    /// clean, with the free counters). The VFS serialises remounts.
    pub(crate) fn set_writable(&self, writable: bool) -> Result {
        self.mark(if writable {
            format::STATE_DIRTY
        } else {
            format::STATE_CLEAN
        })?;
        self.writable.store(writable, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the free counters and `state`: clean at the end of a read-write mount, dirty at
    /// the start of one.
    fn mark(&self, state: u32) -> Result {
        let mut disk = self.disk;
        (disk.free_blocks, disk.free_inodes) = self.alloc.free_counts();
        disk.state = state;
        // The head is written on its own while mounted: hold it still while the block is rewritten.
        let orphans = self.orphans.lock();
        disk.orphan_head = orphans.head();
        write_superblock(&self.pmem, &disk)
    }

    /// Writes `disk` as inode `ino`. Durable after the next fence.
    ///
    /// `next_orphan` is not taken from `disk`: an unlinked inode in use gets its link on the
    /// orphan list, written under the list's lock so that it never undoes a change of the list
    /// (see [`crate::orphan`]); any other inode gets 0.
    pub(crate) fn write_inode(&self, ino: u64, disk: &format::Inode) -> Result {
        // Held across the write, for an unlinked inode.
        let orphans = (disk.nlink == 0 && !disk.is_free()).then(|| self.orphans.lock());
        let next_orphan = orphans.as_ref().map_or(0, |list| list.next_of(ino));
        meta::write_inode_record(
            &self.pmem,
            &self.disk,
            ino,
            &format::Inode {
                next_orphan,
                ..*disk
            },
        )
    }

    /// Reads and checks inode `ino`.
    pub(crate) fn read_inode(&self, ino: u64) -> Result<format::Inode> {
        meta::read_inode(&self.pmem, &self.disk, ino)
    }
}

impl AsRef<Pmem> for SbInfo {
    fn as_ref(&self) -> &Pmem {
        &self.pmem
    }
}

#[pinned_drop]
impl PinnedDrop for SbInfo {
    fn drop(self: Pin<&mut Self>) {
        if self.is_writable() && self.mark(format::STATE_CLEAN).is_err() {
            pr_err!("could not mark the file system clean at unmount\n");
        }
    }
}

/// Writes `disk` as the superblock and makes it durable.
pub(crate) fn write_superblock(pmem: &Pmem, disk: &format::Superblock) -> Result {
    let mut block = KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL)?;
    disk.encode(&mut block);
    pmem.write(0, &block[..])?;
    pmem.fence();
    Ok(())
}
