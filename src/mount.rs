// SPDX-License-Identifier: GPL-2.0

//! Mounting (the file system type of daxfs): options, reading and checking the superblock,
//! remount, freeing what a crash left on the orphan list; and the superblock operations (statfs,
//! show_options, and the inode write-back and eviction that [`crate::inode`] does).

use kernel::{
    prelude::*,
    str::CString, //
};

use crate::{
    format, inode, journal,
    meta::{
        block_offset,
        Why, //
    },
    orphan::OrphanList,
    sb_info::{
        write_state,
        SbInfo, //
    },
    vfs::{
        self,
        ARef,
        DaxMode,
        FsContext,
        MountParam,
        New,
        Pmem,
        SeqFile,
        StatFs,
        SuperBlock, //
    },
    Daxfs,
};

/// Mount options.
#[derive(Default)]
pub(crate) struct Options {
    /// `dax`, `dax=always|never|inode`, if given: a mount without it takes `dax=inode`, as ext4
    /// and XFS do (`dax=never` on a device without DAX); a remount without it keeps the mode.
    dax: Option<DaxMode>,
    /// `norecovery`: a read-only mount that leaves a file system that was not cleanly unmounted
    /// as it is (no interrupted transaction undone, no orphan freed, nothing written), as
    /// ext4's and XFS's: the way to read one on a read-only device.
    norecovery: bool,
}

/// The DAX mode of a mount of a device with DAX support (`has_dax`) or without, given the
/// `dax=` option `requested`: without DAX every file uses the page cache, as XFS turns DAX off
/// there; `None` for `dax=always` there, which ext4 refuses too.
fn dax_mode(has_dax: bool, requested: Option<DaxMode>) -> Option<DaxMode> {
    match (has_dax, requested) {
        (true, mode) => Some(mode.unwrap_or(DaxMode::Inode)),
        (false, Some(DaxMode::Always)) => None,
        (false, _) => Some(DaxMode::Never),
    }
}

/// Reports `what` and the format error `err` for this mount attempt; returns the errno.
fn report(fc: &mut FsContext, what: &str, err: format::FormatError) -> Error {
    match CString::try_from_fmt(fmt!("{what}: {}", Why(err))) {
        Ok(msg) => fc.error(&msg),
        Err(_) => fc.error(c"invalid file system (and no memory to say why)"),
    }
    EINVAL
}

// The largest file size is a valid `loff_t`.
const _: () = assert!(format::MAX_FILE_SIZE <= i64::MAX as u64);

impl vfs::FileSystem for Daxfs {
    const NAME: &'static CStr = c"daxfs";
    const MAGIC: u32 = format::STATFS_MAGIC;
    // CAST: the format's largest size fits `loff_t` (asserted below).
    const MAX_FILE_SIZE: i64 = format::MAX_FILE_SIZE as i64;
    const LABEL_LEN: usize = format::LABEL_LEN;

    type Options = Options;
    type Data = SbInfo;
    type InodeData = inode::InodeInfo;

    type SuperOps = SuperOps;
    type InodeOps = crate::truncate::FileInodeOps;
    type DirInodeOps = crate::namei::DirInodeOps;
    type DirFileOps = crate::dir::DirFileOps;
    type FileOps = crate::file::FileOps;
    type IomapOps = crate::file::IomapOps;
    type VmOps = crate::fault::VmOps;
    type XattrOps = crate::xattr::XattrOps;
    type ExportOps = crate::export::ExportOps;

    fn parse_param(_fc: &mut FsContext, opts: &mut Options, param: MountParam) -> Result {
        match param {
            MountParam::Dax(mode) => opts.dax = Some(mode),
            MountParam::NoRecovery => opts.norecovery = true,
        }
        Ok(())
    }

    /// Reads and checks the superblock on `pmem`; a read-write mount marks it dirty.
    fn fill_super(
        sb: &SuperBlock<Daxfs, New>,
        opts: &Options,
        pmem: Pmem,
        fc: &mut FsContext,
    ) -> Result<impl PinInit<SbInfo, Error>> {
        let Some(dax) = dax_mode(pmem.has_dax(), opts.dax) else {
            fc.error(c"DAX unsupported by block device (dax=always)");
            return Err(EINVAL);
        };
        let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
        pmem.read(0, &mut block)?;
        let mut disk = match format::Superblock::decode(&block) {
            // A crash in the middle of a label change: its undo, below, restores the block.
            Err(e @ format::FormatError::BadChecksum) => {
                journal::superblock_after_undo(&pmem, &block, e).inspect(|_| {
                    pr_notice!(
                        "superblock read through the journal: a crash cut a label change short\n"
                    );
                })
            }
            decoded => decoded,
        }
        .map_err(|e| report(fc, "bad superblock", e))?;
        disk.validate_geometry(pmem.len() / format::BLOCK_SIZE_U64)
            .map_err(|e| report(fc, "superblock does not fit the device", e))?;
        let read_only = sb.is_read_only();
        if opts.norecovery && !read_only {
            fc.error(c"norecovery requires a read-only mount (-o ro)");
            return Err(EINVAL);
        }
        // Recovery writes, and a read-only block device must not be written, not even through
        // DAX: as ext4 and XFS, such a mount fails unless it is told not to recover.
        if read_only
            && disk.state != format::STATE_CLEAN
            && !opts.norecovery
            && sb.device_is_read_only()
        {
            // In dmesg, not the mount context: mount(8) then says what it says for ext4 and
            // XFS here, "cannot mount read-only" (fstests generic/050 compares that).
            pr_err!("recovery required on a read-only device; mount with -o norecovery\n");
            return Err(EROFS);
        }
        if !read_only {
            disk.check_writable()
                .map_err(|e| report(fc, "cannot mount read-write, mount with -o ro", e))?;
        }
        // A read-only mount of a file system that was not cleanly unmounted recovers it as a
        // read-write one would (orphans freed, free space recounted) and marks it clean, as
        // ext4 and XFS replay their logs and free their orphans on a read-only mount: unless
        // this daxfs may not write the image, or its orphan list is damaged (then it leaves
        // the file system as it is).
        let mut recovers = read_only
            && disk.state != format::STATE_CLEAN
            && !opts.norecovery
            && disk.check_writable().is_ok();
        // Before anything is read: undo the transaction a crash interrupted, if any. It may
        // have changed `orphan_head` or the label, the superblock fields a transaction writes.
        // `norecovery` reads what is there, an interrupted transaction's changes included.
        let committed = if opts.norecovery {
            journal::last_committed(&pmem, &disk)
        } else {
            journal::recover(&pmem, &disk, !read_only || recovers)
        }
        .inspect_err(|_| {
            fc.error(c"the journal is damaged; run fsck.daxfs");
        })?;
        pmem.read(0, &mut block)?;
        // The fields a transaction writes, as the undo left them: a label whose change was cut
        // short before its commit is the old one again.
        let recovered =
            format::Superblock::decode(&block).map_err(|e| report(fc, "bad superblock", e))?;
        disk.orphan_head = recovered.orphan_head;
        disk.label = recovered.label;
        if disk.state != format::STATE_CLEAN {
            // The counters are written only at a clean unmount: count what the bitmap and the
            // inode table say instead.
            pr_warn!(
                "file system was not cleanly unmounted: recounting free space; run fsck.daxfs\n"
            );
            (disk.free_blocks, disk.free_inodes) = count_free(&pmem, &disk)?;
        }
        // A read-write or recovering mount frees the orphans once the superblock is ready (in
        // `root`); any other read-only one leaves them for the next read-write mount.
        let orphans = if !read_only {
            load_orphans(&pmem, &disk, fc)?
        } else {
            let list = if recovers {
                OrphanList::load(&pmem, &disk).ok()
            } else {
                None
            };
            recovers = list.is_some();
            if !recovers && disk.orphan_head != 0 {
                pr_notice!("orphan inodes are freed at the next read-write mount\n");
            }
            list.unwrap_or_else(OrphanList::new)
        };
        sb.set_posix_acls(disk.feature_incompat & format::FEATURE_INCOMPAT_POSIX_ACL != 0);
        if !read_only {
            write_state(&pmem, format::STATE_DIRTY)?;
        }
        // Until `root` has recovered it, a recovering mount writes as a read-write one.
        Ok(SbInfo::new(
            pmem,
            disk,
            dax,
            opts.dax.is_some(),
            orphans,
            !read_only || recovers,
            committed,
        ))
    }

    fn root(sb: &SuperBlock<Daxfs>) -> Result<ARef<inode::Inode>> {
        // The superblock is ready here: first free what a crash left on the orphan list.
        reclaim_orphans(sb)?;
        let sbi = sb.data();
        if sb.is_read_only() && sbi.is_writable() {
            // A recovering read-only mount (see `fill_super`): recovered, clean, read-only.
            sbi.set_writable(false)?;
            pr_info!("recovered on a read-only mount: the file system is clean\n");
        }
        let root_ino = sb.data().disk.root_ino;
        let root = inode::iget(sb, root_ino)?;
        let is_dir = root.data().disk.lock().file_type() == Some(format::FileType::Directory);
        if !is_dir {
            pr_err!("the root inode {root_ino} is not a directory; run fsck.daxfs\n");
            return Err(EUCLEAN);
        }
        Ok(root)
    }

    /// Applies a remount. The DAX mode of a mounted file system cannot change. Read-write to
    /// read-only writes the counters and the clean state (the VFS has synced everything first,
    /// pending times through `write_inode`, and daxfs writes all other metadata
    /// synchronously); read-only to read-write checks that this daxfs may write the image and
    /// marks it dirty first, as a read-write mount does.
    fn reconfigure(
        sb: &SuperBlock<Daxfs>,
        fc: &mut FsContext,
        opts: &Options,
        read_only: bool,
    ) -> Result {
        let sbi = sb.data();
        // As ext4: a `dax` option on remount must be the one the mount was given; a mount
        // given none (which means `dax=inode`) takes none, not even `dax=inode`.
        if opts.dax.is_some_and(|mode| {
            !sbi.dax_shown || dax_mode(sbi.pmem.has_dax(), Some(mode)) != Some(sbi.dax)
        }) {
            fc.error(c"the dax= mode cannot change on remount");
            return Err(EINVAL);
        }
        let writable = sbi.is_writable();
        if !read_only && !writable {
            sbi.disk
                .check_writable()
                .map_err(|e| report(fc, "cannot remount read-write", e))?;
            // Re-read the head: a read-only mount does not keep the list in memory.
            let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
            sbi.pmem.read(0, &mut block)?;
            let mut disk = sbi.disk;
            let on_device =
                format::Superblock::decode(&block).map_err(|e| report(fc, "bad superblock", e))?;
            // A read-only mount that did not recover (`norecovery`, or one that could not)
            // left an interrupted transaction and the orphans as they were: only a new mount
            // recovers them, as XFS refuses this remount of a `norecovery` mount.
            if on_device.state != format::STATE_CLEAN {
                fc.error(c"mounted without recovery: unmount, and mount read-write to recover");
                return Err(EINVAL);
            }
            disk.orphan_head = on_device.orphan_head;
            *sbi.orphans.lock() = load_orphans(&sbi.pmem, &disk, fc)?;
            sbi.set_writable(true)?;
            // As a read-write mount does (see `journal::recover`).
            sbi.end_interrupted_transaction()?;
            reclaim_orphans(sb)?;
        }
        if read_only && writable {
            sbi.set_writable(false)?;
        }
        Ok(())
    }
}

/// Counts the free data blocks in the bitmap and the free slots in the inode table.
fn count_free(pmem: &Pmem, disk: &format::Superblock) -> Result<(u64, u64)> {
    let mut block = KVec::from_elem(0u8, format::BLOCK_SIZE, GFP_KERNEL)?;
    let mut free_blocks = 0;
    for index in 0..disk.bitmap_blocks {
        pmem.read(block_offset(disk.bitmap_start + index), &mut block)?;
        free_blocks += disk.free_blocks_in_bitmap_block(index, &block);
    }
    let mut free_inodes = 0;
    for index in 0..disk.inode_table_blocks {
        pmem.read(block_offset(disk.inode_table_start + index), &mut block)?;
        free_inodes += format::free_inodes_in_table_block(&block);
    }
    Ok((free_blocks, free_inodes))
}

/// Reads the orphan list of a file system about to be written; a damaged list refuses the
/// mount (EUCLEAN), as freeing the wrong inode would lose data.
fn load_orphans(pmem: &Pmem, disk: &format::Superblock, fc: &mut FsContext) -> Result<OrphanList> {
    OrphanList::load(pmem, disk).map_err(|(ino, why, err)| {
        match CString::try_from_fmt(fmt!(
            "orphan list: inode {ino} {why}; run fsck.daxfs, or mount with -o ro"
        )) {
            Ok(msg) => fc.error(&msg),
            Err(_) => fc.error(c"orphan list damaged; run fsck.daxfs, or mount with -o ro"),
        }
        err
    })
}

/// Frees the inodes a crash left on the orphan list: each is read and released as if its last
/// user had just closed it. Called once the superblock is ready, on a read-write mount and on a
/// remount read-write; the list is empty otherwise.
fn reclaim_orphans(sb: &SuperBlock<Daxfs>) -> Result {
    let sbi = sb.data();
    let members = sbi.orphans.lock().members_head_first()?;
    for &ino in members.iter() {
        // The only reference: dropping it evicts the inode, which frees it and its blocks.
        drop(inode::iget_orphan(sb, ino)?);
    }
    if !members.is_empty() {
        pr_info!(
            "freed {} orphan inode(s): unlinked while in use when the file system was last \
             mounted\n",
            members.len()
        );
    }
    let left = sbi.orphans.lock().len();
    if left != 0 {
        pr_err!("{left} orphan inode(s) could not be freed; run fsck.daxfs\n");
    }
    Ok(())
}

/// The superblock operations of daxfs (`super_operations`).
pub(crate) struct SuperOps;

impl vfs::super_block::Operations<Daxfs> for SuperOps {
    fn label(sb: &SuperBlock<Daxfs>, out: &mut [u8]) -> Result {
        out.get_mut(..format::LABEL_LEN)
            .ok_or(EINVAL)?
            .copy_from_slice(&sb.data().label());
        Ok(())
    }

    fn set_label(sb: &SuperBlock<Daxfs>, label: &[u8]) -> Result {
        sb.data().set_label(label)
    }

    /// Usage for statfs(2).
    fn statfs(sb: &SuperBlock<Daxfs>) -> Result<StatFs> {
        let sbi = sb.data();
        let disk = &sbi.disk;
        let (free_blocks, available_blocks, free_files) = sbi.alloc.free_counts();
        let uuid = disk.uuid;
        let word = |i: usize| u32::from_le_bytes([uuid[i], uuid[i + 1], uuid[i + 2], uuid[i + 3]]);
        Ok(StatFs {
            blocks: disk.data_blocks(),
            free_blocks,
            available_blocks,
            files: disk.inode_count,
            free_files,
            name_len: format::MAX_NAME_LEN as u64,
            fsid: [word(0) ^ word(8), word(4) ^ word(12)],
        })
    }

    /// Mount options for /proc/mounts: the DAX mode in effect if a `dax` option was given, as
    /// ext4 shows it. A mount without one shows none, also where it runs `dax=never` (a device
    /// without DAX): fstests' DAX tests (generic/413, 605) tell a mount without DAX options so.
    fn show_options(sb: &SuperBlock<Daxfs>, seq: &mut SeqFile) -> Result {
        let sbi = sb.data();
        if !sbi.dax_shown {
            return Ok(());
        }
        seq.puts(match sbi.dax {
            DaxMode::Always => c",dax=always",
            DaxMode::Never => c",dax=never",
            DaxMode::Inode => c",dax=inode",
        });
        Ok(())
    }

    fn write_inode(inode: &inode::Inode) -> Result {
        inode::write_inode(inode)
    }

    fn evict(inode: &inode::Inode) {
        inode::evict(inode)
    }

    /// Marks the file system clean: every transaction has committed (the VFS blocked writers,
    /// faults and evictions first), so the device holds a consistent file system, which a
    /// snapshot or a crash during the freeze keeps as if unmounted. Nothing to do read-only or
    /// shut down.
    fn freeze(sb: &SuperBlock<Daxfs>) -> Result {
        sb.data().set_frozen(true)
    }

    /// Marks the file system dirty again, as a read-write mount does. If that fails the file
    /// system shuts down rather than fail the thaw, which would leave it frozen for good (ext4
    /// and XFS never fail it either): writes must not resume on a device marked clean.
    fn unfreeze(sb: &SuperBlock<Daxfs>) -> Result {
        let sbi = sb.data();
        if sbi.set_frozen(false).is_err() {
            sbi.shut_down("the thaw could not mark the file system dirty");
        }
        Ok(())
    }

    fn shut_down(sb: &SuperBlock<Daxfs>, why: &str) {
        sb.data().shut_down(why);
    }

    /// Waits for the blocks that truncates parked under pinned pages ([`crate::park`]): their
    /// work items hold inode references.
    fn unmounting(sb: &SuperBlock<Daxfs>) {
        sb.data().parking.count.wait_for_none();
    }
}
