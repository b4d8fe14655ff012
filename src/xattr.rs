// SPDX-License-Identifier: GPL-2.0

//! Extended attributes (the `xattr_handler`s and `listxattr`): all of an inode's in its one
//! xattr block ([`format::XattrBlock`]), read under the inode's `disk` lock and changed in one
//! transaction each. The block is allocated with the first attribute and freed with the last,
//! and with the inode ([`crate::inode::evict`]).

use kernel::prelude::*;

use crate::{
    format::{
        self,
        XattrError, //
    },
    inode::{
        take_attrs,
        Inode, //
    },
    journal::Tx,
    meta::{
        block_offset,
        report_corruption,
        Why, //
    },
    sb_info::SbInfo,
    vfs::{
        xattr::{
            Namespace,
            Operations,
            SetMode, //
        },
        NewAcls,
    },
    Daxfs,
};

/// The extended-attribute operations of every daxfs inode.
pub(crate) struct XattrOps;

/// The on-disk index of `namespace`.
fn index(namespace: Namespace) -> u8 {
    match namespace {
        Namespace::User => format::XATTR_INDEX_USER,
        Namespace::Trusted => format::XATTR_INDEX_TRUSTED,
        Namespace::Security => format::XATTR_INDEX_SECURITY,
        Namespace::AclAccess => format::XATTR_INDEX_POSIX_ACL_ACCESS,
        Namespace::AclDefault => format::XATTR_INDEX_POSIX_ACL_DEFAULT,
    }
}

/// The namespace of on-disk index `index`, which [`format::XattrBlock::decode`] has checked.
fn namespace(index: u8) -> Namespace {
    match index {
        format::XATTR_INDEX_TRUSTED => Namespace::Trusted,
        format::XATTR_INDEX_SECURITY => Namespace::Security,
        format::XATTR_INDEX_POSIX_ACL_ACCESS => Namespace::AclAccess,
        format::XATTR_INDEX_POSIX_ACL_DEFAULT => Namespace::AclDefault,
        _ => Namespace::User,
    }
}

/// Logs that the xattr block `block` of inode `ino` is corrupted (rate limited, as every such
/// report) and returns the errno for it.
fn corrupted(ino: u64, block: u64, err: format::FormatError) -> Error {
    report_corruption!(
        "inode {ino} is corrupted: its extended-attribute block {block}: {}; run fsck.daxfs\n",
        Why(err)
    );
    EUCLEAN
}

/// A buffer of one block.
fn block_buffer() -> Result<KBox<[u8; format::BLOCK_SIZE]>> {
    Ok(KBox::new([0u8; format::BLOCK_SIZE], GFP_KERNEL)?)
}

/// Runs `f` on the checked attributes of inode `ino`, whose record is `disk` (held locked),
/// or on `None` if it has none.
fn with_attributes<R>(
    inode: &Inode,
    disk: &format::Inode,
    f: impl FnOnce(Option<format::XattrBlock<'_>>) -> Result<R>,
) -> Result<R> {
    let sbi = inode.super_block().data();
    let Some(number) = xattr_block(sbi, inode.ino(), disk)? else {
        return f(None);
    };
    let ino = inode.ino();
    let mut block = block_buffer()?;
    sbi.pmem.read(block_offset(number), &mut block[..])?;
    let checked =
        format::XattrBlock::decode(&block[..], ino).map_err(|e| corrupted(ino, number, e))?;
    f(Some(checked))
}

/// The xattr block of inode `ino`, whose record is `disk`, if it has one: a block of the data
/// area, or corruption.
pub(crate) fn xattr_block(sbi: &SbInfo, ino: u64, disk: &format::Inode) -> Result<Option<u64>> {
    disk.checked_xattr_block(&sbi.disk)
        .map_err(|e| corrupted(ino, disk.xattr_block, e))
}

/// The xattr block a new inode starts with, if any: its ACLs ([`NewAcls`]), checked and laid
/// out before the creating transaction writes anything, so that ACLs that do not fit fail the
/// creation with nothing to undo.
pub(crate) struct InitialXattrs(Option<KBox<[u8; format::BLOCK_SIZE]>>);

impl InitialXattrs {
    /// The block of a new inode with `acls`: none without ACLs. `ENOSPC` if they do not fit
    /// in a block, `EINVAL` if one is not valid.
    pub(crate) fn new(acls: &NewAcls) -> Result<Self> {
        if acls.is_empty() {
            return Ok(Self(None));
        }
        let mut block = block_buffer()?;
        format::xattr_block_init(&mut block, 0);
        for (namespace, value) in acls.iter() {
            let mode = format::XattrSetMode::CREATE;
            format::xattr_block_set(&mut block, 0, index(namespace), b"", Some(value), mode)
                .map_err(|e| match e {
                    XattrError::NoSpace => ENOSPC,
                    XattrError::BadValue => EINVAL,
                    // The block is ours and sealed after each change: not the caller's error.
                    e => {
                        pr_err!("could not lay out the ACLs of a new inode: {e:?}\n");
                        EIO
                    }
                })?;
            // Sealed, so that the next change finds a valid block.
            format::xattr_block_seal(&mut block);
        }
        Ok(Self(Some(block)))
    }

    /// Allocates the block in `tx`, if there is one, for the inode's `xattr_block`.
    pub(crate) fn alloc(&self, tx: &Tx<'_>) -> Result<Option<u64>> {
        self.0
            .as_ref()
            .map(|_| tx.sbi().alloc.alloc_block(tx, 0, None))
            .transpose()
    }

    /// Writes the block into `number` ([`InitialXattrs::alloc`]'s), in `tx`, once its inode has
    /// its number `ino`.
    pub(crate) fn write(mut self, tx: &Tx<'_>, ino: u64, number: Option<u64>) -> Result {
        let (Some(block), Some(number)) = (self.0.as_deref_mut(), number) else {
            return Ok(());
        };
        format::xattr_block_give(block, ino);
        format::xattr_block_seal(block);
        tx.write(block_offset(number), &block[..])
    }
}

impl Operations<Daxfs> for XattrOps {
    fn get(
        inode: &Inode,
        namespace: Namespace,
        name: &[u8],
        buffer: Option<&mut [u8]>,
    ) -> Result<usize> {
        let disk = inode.data().disk.lock();
        with_attributes(inode, &disk, |block| {
            let value = block
                .and_then(|block| block.get(index(namespace), name))
                .ok_or(ENODATA)?;
            if let Some(buffer) = buffer {
                buffer
                    .get_mut(..value.len())
                    .ok_or(ERANGE)?
                    .copy_from_slice(value);
            }
            Ok(value.len())
        })
    }

    fn set(
        inode: &Inode,
        namespace: Namespace,
        name: &[u8],
        value: Option<&[u8]>,
        mode: SetMode,
        touch: &dyn Fn(),
    ) -> Result {
        let sbi = inode.super_block().data();
        let ino = inode.ino();
        if sbi.disk.feature_incompat & format::FEATURE_INCOMPAT_XATTR == 0 {
            return Err(EOPNOTSUPP);
        }
        let is_acl = matches!(namespace, Namespace::AclAccess | Namespace::AclDefault);
        if is_acl && sbi.disk.feature_incompat & format::FEATURE_INCOMPAT_POSIX_ACL == 0 {
            // Never written without the feature (the mount does not turn ACLs on then).
            return Err(EOPNOTSUPP);
        }
        let acl_limit = format::POSIX_ACL_HEADER_SIZE
            + format::POSIX_ACL_MAX_ENTRIES * format::POSIX_ACL_ENTRY_SIZE;
        if is_acl && value.is_some_and(|value| value.len() > acl_limit) {
            // More entries than a block holds: the file system's limit (`E2BIG`, as XFS gives
            // past its own), not a lack of space.
            return Err(E2BIG);
        }
        let format_mode = format::XattrSetMode {
            create: mode.create,
            replace: mode.replace,
        };
        let tx = sbi.begin()?;
        let mut disk = inode.data().disk.lock();
        let mut new = *disk;
        let changed = tx.with_block_buffer(|block| {
            let old_block = xattr_block(sbi, ino, &disk)?;
            match old_block {
                None => format::xattr_block_init(block, ino),
                Some(number) => sbi.pmem.read(block_offset(number), &mut block[..])?,
            }
            // Everything that can refuse the change does so before anything is written.
            let change =
                format::xattr_block_set(block, ino, index(namespace), name, value, format_mode);
            let change = match change {
                // Removing what is not there without XATTR_REPLACE (only callers inside the
                // kernel do) changes nothing, as in ext4; but the mode that came with an ACL
                // that was not stored (it said no more than the mode) is stored all the same.
                Err(XattrError::NotFound) if value.is_none() && !mode.replace => {
                    if !mode.always_store {
                        return Ok(false);
                    }
                    None
                }
                Err(e) => {
                    return Err(match e {
                        XattrError::Exists => EEXIST,
                        XattrError::NotFound => ENODATA,
                        XattrError::NoSpace => ENOSPC,
                        XattrError::BadName | XattrError::BadValue => EINVAL,
                        XattrError::Format(e) => corrupted(ino, disk.xattr_block, e),
                    })
                }
                Ok(change) => Some(change),
            };
            match (change, old_block) {
                (None, _) => {}
                // The last attribute is gone: so is the block.
                (Some(change), Some(number)) if change.count == 0 => {
                    sbi.alloc.free_blocks(&tx, ino, number, 1)?;
                    new.xattr_block = 0;
                }
                (Some(change), None) if change.count == 0 => return Err(EINVAL),
                (Some(change), _) => {
                    if new.xattr_block == 0 {
                        new.xattr_block = sbi.alloc.alloc_block(&tx, ino, None)?;
                    }
                    // Only what changed is logged and written; bytes past both the old and
                    // the new entries are zero in both.
                    let reach = format::XATTR_BLOCK_HEADER_SIZE + change.used.max(change.old_used);
                    tx.write_changed_sealed(
                        block_offset(new.xattr_block),
                        &mut block[..],
                        format::xattr_off::CHECKSUM,
                        reach,
                    )?;
                }
            }
            touch();
            take_attrs(inode, &mut new);
            sbi.write_inode(&tx, ino, &new).map(|()| true)
        });
        if changed == Ok(true) {
            *disk = new;
        }
        drop(disk);
        tx.end(changed).map(|_| ())
    }

    fn block(inode: &Inode) -> Result<Option<u64>> {
        let disk = inode.data().disk.lock();
        xattr_block(inode.super_block().data(), inode.ino(), &disk)
    }

    fn list(inode: &Inode, emit: &mut dyn FnMut(Namespace, &[u8]) -> Result) -> Result {
        let disk = inode.data().disk.lock();
        with_attributes(inode, &disk, |block| {
            block.map_or(Ok(()), |block| {
                block
                    .entries()
                    .try_for_each(|entry| emit(namespace(entry.index), entry.name))
            })
        })
    }
}
