// SPDX-License-Identifier: GPL-2.0

//! The per-mount state ([`SbInfo`], like ext2's `ext2_sb_info`): the persistent memory, the
//! superblock as read at mount, the allocator, the orphan list and the journal, and writing the
//! superblock's live fields and inode records.
//!
//! The kernel never rewrites the superblock block, which a power cut could tear: it stores its
//! live fields alone, each with one aligned 8-byte store (see "Live superblock fields" in
//! [`crate::format`]). A read-write mount stores `state` dirty before anything else is written;
//! when it ends the free counters are stored, then after a fence `state` clean. The counters in
//! between live in the allocator: after a crash the next mount, and fsck, see the dirty state
//! and count them again. The orphan list's head is stored while mounted (see
//! [`crate::orphan`]).

use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};

use kernel::{
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

use crate::{
    alloc::Allocator,
    format,
    journal::{
        Journal,
        Tx, //
    },
    meta,
    orphan::{
        OrphanList,
        Orphans, //
    },
    park::Parking,
    vfs::{
        DaxMode,
        Pmem, //
    },
};

/// Per-mount state.
#[pin_data(PinnedDrop)]
pub(crate) struct SbInfo {
    /// Blocks parked under pinned pages ([`crate::park`]). First, so that it is dropped first:
    /// its work queue is drained before anything else of the mount goes.
    pub(crate) parking: Parking,
    /// The device's persistent memory.
    pub(crate) pmem: Pmem,
    /// The superblock as read at mount; its geometry never changes.
    pub(crate) disk: format::Superblock,
    /// The DAX mode in effect.
    pub(crate) dax: DaxMode,
    /// Whether the mount was given a `dax` option: only then does /proc/mounts show the mode,
    /// as for ext4 and XFS (fstests takes a `dax` there for a DAX mount option).
    pub(crate) dax_shown: bool,
    /// Whether the mount is read-write (and so the superblock marked dirty).
    writable: AtomicBool,
    /// Allocation of blocks and inodes.
    #[pin]
    pub(crate) alloc: Allocator,
    /// The orphan list.
    #[pin]
    pub(crate) orphans: Orphans,
    /// The undo journal: every metadata change is a transaction of it.
    #[pin]
    pub(crate) journal: Journal,
    /// The volume label as on the device (`disk.label` is the one read at mount); changed
    /// only in a transaction, which takes this lock inside the journal's.
    #[pin]
    label: Mutex<[u8; format::LABEL_LEN]>,
}

impl SbInfo {
    /// The state of a mount of the file system `disk` on `pmem` in DAX mode `dax` (`dax_shown`
    /// if a `dax` option asked for it); `orphans` is its orphan list
    /// (empty on a read-only mount), `writable` whether it is mounted read-write (and so its
    /// superblock already marked dirty), `committed` the journal's last transaction.
    pub(crate) fn new(
        pmem: Pmem,
        disk: format::Superblock,
        dax: DaxMode,
        dax_shown: bool,
        orphans: OrphanList,
        writable: bool,
        committed: u64,
    ) -> impl PinInit<Self, Error> {
        // Inside the initialiser `disk` names the field being initialised: build these first.
        let alloc = Allocator::new(disk);
        let orphans = Orphans::new(disk, orphans);
        let journal = Journal::new(&disk, committed);
        let label = new_mutex!(disk.label);
        try_pin_init!(Self {
            pmem,
            disk,
            dax,
            dax_shown,
            writable: AtomicBool::new(writable),
            alloc <- alloc,
            orphans <- orphans,
            journal <- journal,
            label <- label,
            parking: Parking::new()?,
        }? Error)
    }

    /// The volume label, NUL-padded (`FS_IOC_GETFSLABEL`).
    pub(crate) fn label(&self) -> [u8; format::LABEL_LEN] {
        *self.label.lock()
    }

    /// Stores `label` as the volume label (`FS_IOC_SETFSLABEL`): the label and the
    /// superblock's checksum, which covers it, in one transaction, so that a crash leaves the
    /// old label or the new one. Too long (more than [`format::LABEL_LEN`] bytes) is `EINVAL`.
    pub(crate) fn set_label(&self, label: &[u8]) -> Result {
        if label.len() > format::LABEL_LEN || label.contains(&0) {
            return Err(EINVAL);
        }
        let tx = self.begin()?;
        let mut current = self.label.lock();
        let written = tx.with_block_buffer(|block| {
            self.pmem.read(0, &mut block[..])?;
            format::Superblock::relabel(block, label).map_err(|_| EINVAL)?;
            let at = |field: usize, len: usize| block.get(field..field + len).ok_or(EINVAL);
            // CAST: offsets inside block 0.
            tx.write(
                format::sb_off::LABEL as u64,
                at(format::sb_off::LABEL, format::LABEL_LEN)?,
            )?;
            tx.write(
                format::sb_off::CHECKSUM as u64,
                at(format::sb_off::CHECKSUM, 4)?,
            )?;
            let mut new = [0u8; format::LABEL_LEN];
            new.get_mut(..label.len())
                .ok_or(EINVAL)?
                .copy_from_slice(label);
            Ok(new)
        });
        // Shown only once it is committed.
        let new = tx.end(written)?;
        *current = new;
        Ok(())
    }

    /// Whether a regular file whose DAX flag is `flag` uses DAX on this mount: always under
    /// `dax=always`, never under `dax=never`, as the flag says under `dax=inode`.
    pub(crate) fn uses_dax(&self, flag: bool) -> bool {
        match self.dax {
            DaxMode::Always => true,
            DaxMode::Never => false,
            DaxMode::Inode => flag,
        }
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

    /// Marks the file system clean for a freeze (with the free counters, as an unmount
    /// does), or dirty again at its end. Nothing changes it in between: a copy of the device
    /// taken while it is frozen is a cleanly unmounted file system. A read-only or shut-down
    /// mount writes nothing, so it has nothing to mark.
    pub(crate) fn set_frozen(&self, frozen: bool) -> Result {
        if !self.is_writable() || self.pmem.is_shut_down() {
            return Ok(());
        }
        self.mark(if frozen {
            format::STATE_CLEAN
        } else {
            format::STATE_DIRTY
        })
    }

    /// Stores `state`: clean at the end of a read-write mount, after the free counters (a power
    /// cut in between leaves the file system dirty, and the counters are recounted); dirty at
    /// the start of one.
    fn mark(&self, state: u32) -> Result {
        if state == format::STATE_CLEAN {
            let (free_blocks, free_inodes) = self.alloc.device_free_counts();
            // CAST: offsets inside block 0.
            self.pmem
                .write_u64(format::sb_off::FREE_BLOCKS as u64, free_blocks)?;
            self.pmem
                .write_u64(format::sb_off::FREE_INODES as u64, free_inodes)?;
            self.pmem.fence()?;
        }
        write_state(&self.pmem, state)
    }

    /// Writes `disk` as inode `ino`, in `tx`.
    ///
    /// `next_orphan` is not taken from `disk`: an unlinked inode in use gets its link on the
    /// orphan list, written under the list's lock so that it never undoes a change of the list
    /// (see [`crate::orphan`]); any other inode gets 0.
    pub(crate) fn write_inode(&self, tx: &Tx<'_>, ino: u64, disk: &format::Inode) -> Result {
        // Held across the write, for an unlinked inode.
        let orphans = (disk.nlink == 0 && !disk.is_free()).then(|| self.orphans.lock());
        let next_orphan = orphans.as_ref().map_or(0, |list| list.next_of(ino));
        meta::write_inode_record(
            tx,
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

    /// Reads and checks inode `ino`: `None` if it is free.
    pub(crate) fn read_inode_if_used(&self, ino: u64) -> Result<Option<format::Inode>> {
        meta::read_inode_if_used(&self.pmem, &self.disk, ino)
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
        // Shut down, it stays dirty: the next mount undoes what the journal holds and counts
        // the free blocks and inodes again.
        if self.is_writable()
            && !self.pmem.is_shut_down()
            && self.mark(format::STATE_CLEAN).is_err()
        {
            pr_err!("could not mark the file system clean at unmount\n");
        }
    }
}

/// Stores the superblock's `state` with one 8-byte store, which a power cut never tears, and
/// makes it durable.
pub(crate) fn write_state(pmem: &Pmem, state: u32) -> Result {
    // CAST: an offset inside block 0.
    pmem.write_u64(format::STATE_WORD_OFFSET as u64, format::state_word(state))?;
    pmem.fence()
}
