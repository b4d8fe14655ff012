// SPDX-License-Identifier: GPL-2.0

//! The orphan list: inodes whose last link is gone while something still uses them.
//!
//! An unlinked file keeps its blocks until its last user closes or unmaps it (or its pages are
//! unpinned), which may be long after the unlink. The list on disk (the superblock's
//! `orphan_head`, then each member's `next_orphan`) names these inodes so that after a crash
//! the next read-write mount frees them, as fsck does. Order, so that a crash leaves only what
//! fsck repairs and nothing that a mount would have to guess about:
//! - last unlink: the entry goes first ([`crate::namei`]), then the inode is written with
//!   `nlink` 0 and `next_orphan` pointing at the old head, then the head is set to it with one
//!   8-byte store (the commit point). Before that store the inode is unreachable: fsck frees it.
//! - release (evict): the inode leaves the list (the head, or its predecessor's `next_orphan`,
//!   skips it), then the inode slot and its blocks are freed. In between it is unreachable.
//!
//! Members join at the head but leave in whatever order their users let go, so the list is also
//! kept in memory, to find a member's predecessor. While an inode is on the list its
//! `next_orphan` belongs to the list: every write of an unlinked inode takes the link from
//! here, under the same lock (see [`crate::sb_info::SbInfo::write_inode`]).

use kernel::{
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

use crate::{
    format,
    journal::Tx,
    meta,
    vfs::Pmem, //
};

/// The orphan list in memory, in step with the one on disk.
pub(crate) struct OrphanList {
    /// The members, the head last (the on-disk order reversed, so that joining is a push).
    members: KVec<u64>,
}

impl OrphanList {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self {
            members: KVec::new(),
        }
    }

    /// The first member, 0 if the list is empty: what `orphan_head` holds.
    pub(crate) fn head(&self) -> u64 {
        self.members.last().copied().unwrap_or(0)
    }

    /// The `next_orphan` of inode `ino`: the member after it, 0 at the end or off the list.
    pub(crate) fn next_of(&self, ino: u64) -> u64 {
        match self.members.iter().position(|&m| m == ino) {
            Some(index) if index > 0 => self.members[index - 1],
            _ => 0,
        }
    }

    /// The number of members.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// The members, head first, as a crash would leave them.
    pub(crate) fn members_head_first(&self) -> Result<KVec<u64>> {
        let mut members = KVec::with_capacity(self.members.len(), GFP_KERNEL)?;
        for &ino in self.members.iter().rev() {
            members.push(ino, GFP_KERNEL)?;
        }
        Ok(members)
    }

    /// Reads the list on `pmem` described by `disk`, checking each member: in range, an inode
    /// in use with no links, met once. The error names the inode and what is wrong with it.
    pub(crate) fn load(
        pmem: &Pmem,
        disk: &format::Superblock,
    ) -> Result<Self, (u64, &'static str, Error)> {
        let mut on_disk_order = KVec::new();
        let mut ino = disk.orphan_head;
        // Brent's cycle detection: a member met again is caught within twice the list's
        // length, at no cost per member (a search of the members met would make a damaged
        // image with a long list take quadratic time to mount).
        let (mut saved, mut power, mut since_saved) = (0u64, 1u64, 0u64);
        while ino != 0 {
            if !disk.is_valid_ino(ino) {
                return Err((ino, "is out of range", EUCLEAN));
            }
            if ino == saved {
                return Err((ino, "is on it twice (the list loops)", EUCLEAN));
            }
            since_saved += 1;
            if since_saved == power {
                (saved, power, since_saved) = (ino, power.saturating_mul(2), 0);
            }
            let member =
                meta::read_inode(pmem, disk, ino).map_err(|e| (ino, "is free or damaged", e))?;
            if member.nlink != 0 {
                return Err((ino, "still has links", EUCLEAN));
            }
            on_disk_order
                .push(ino, GFP_KERNEL)
                .map_err(|_| (ino, "does not fit in memory", ENOMEM))?;
            ino = member.next_orphan;
        }
        on_disk_order.reverse();
        Ok(Self {
            members: on_disk_order,
        })
    }
}

/// Byte offset of `orphan_head` on the device.
const HEAD_OFFSET: u64 = format::ORPHAN_HEAD_OFFSET as u64;

/// The orphan list of one mount, with its lock: taken after any inode's lock, never with the
/// allocator's.
///
/// Every method that writes takes the transaction it is part of: the list belongs to the
/// per-mount state, which owns it.
#[pin_data]
pub(crate) struct Orphans {
    /// The superblock as read at mount, for the inode table's place.
    sb: format::Superblock,
    #[pin]
    list: Mutex<OrphanList>,
}

impl Orphans {
    /// The orphan list `list` of the file system `sb`.
    pub(crate) fn new(sb: format::Superblock, list: OrphanList) -> impl PinInit<Self> {
        pin_init!(Self {
            sb,
            list <- new_mutex!(list),
        })
    }

    /// Locks the list, for reading it or replacing it whole (at a remount read-write).
    pub(crate) fn lock(&self) -> kernel::sync::MutexGuard<'_, OrphanList> {
        self.list.lock()
    }

    /// Puts inode `ino`, whose last link is gone (`disk.nlink` is 0), at the head of the list:
    /// writes the inode, linked to the old head, then the new head, in `tx`. Called under the
    /// inode's lock, which keeps `disk` current.
    pub(crate) fn add(&self, tx: &Tx<'_>, ino: u64, disk: &format::Inode) -> Result {
        let mut list = self.list.lock();
        let next_orphan = list.head();
        list.members.push(ino, GFP_KERNEL)?;
        let linked = meta::write_inode_record(
            tx,
            &self.sb,
            ino,
            &format::Inode {
                next_orphan,
                ..*disk
            },
        )
        .and_then(|()| tx.write_u64(HEAD_OFFSET, ino));
        if let Err(e) = linked {
            // Not on the list, on disk either: the head still names the old head.
            list.members.pop();
            return Err(e);
        }
        Ok(())
    }

    /// Takes inode `ino` off the list, if it is on it: the head or its predecessor's link now
    /// skips it, in `tx`. Called when its last user is gone, before it is freed.
    pub(crate) fn remove(&self, tx: &Tx<'_>, ino: u64) -> Result {
        let mut list = self.list.lock();
        let Some(index) = list.members.iter().position(|&m| m == ino) else {
            return Ok(());
        };
        let next = if index > 0 {
            list.members[index - 1]
        } else {
            0
        };
        match list.members.get(index + 1) {
            None => tx.write_u64(HEAD_OFFSET, next)?,
            Some(&previous) => {
                // The previous member's other fields are current on the device: every write of
                // an unlinked inode happens under this lock.
                let mut previous_disk = meta::read_inode(tx.pmem(), &self.sb, previous)?;
                previous_disk.next_orphan = next;
                meta::write_inode_record(tx, &self.sb, previous, &previous_disk)?;
            }
        }
        list.members.remove(index).map_err(|_| EINVAL)?;
        Ok(())
    }
}
