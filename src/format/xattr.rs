// SPDX-License-Identifier: GPL-2.0

//! Extended attributes: the xattr block an inode names in `xattr_block`, its validation, and
//! the in-place edit that sets or removes one attribute.

use core::ops::Range;

use super::{
    acl_tag,
    checksum::checksum_without_field,
    codec::{
        read_u16,
        read_u32,
        read_u64,
        write_bytes,
        write_u16,
        write_u32,
        write_u64, //
    },
    xattr_off, FormatError, BLOCK_SIZE, POSIX_ACL_ENTRY_SIZE, POSIX_ACL_HEADER_SIZE,
    POSIX_ACL_VERSION, XATTR_BLOCK_HEADER_SIZE, XATTR_BLOCK_MAGIC, XATTR_ENTRY_HEADER_SIZE,
    XATTR_INDEX_POSIX_ACL_ACCESS, XATTR_INDEX_POSIX_ACL_DEFAULT, XATTR_INDEX_SECURITY,
    XATTR_INDEX_USER, XATTR_MAX_NAME_LEN,
};

/// One extended attribute: its namespace index, its name within the namespace and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XattrEntry<'a> {
    /// `XATTR_INDEX_*`: the namespace (`user.`, `trusted.`, `security.`, or one of the ACLs).
    pub index: u8,
    /// The name after the namespace prefix, 1..=[`XATTR_MAX_NAME_LEN`] bytes, no NUL; empty
    /// for an ACL.
    pub name: &'a [u8],
    /// The value, possibly empty.
    pub value: &'a [u8],
}

impl XattrEntry<'_> {
    /// Bytes the entry takes in a block.
    pub fn stored_len(&self) -> usize {
        XATTR_ENTRY_HEADER_SIZE + self.name.len() + self.value.len()
    }
}

/// Bytes a block holds in its entry area.
const AREA: usize = BLOCK_SIZE - XATTR_BLOCK_HEADER_SIZE;

/// A checked xattr block: every entry within the used area, well formed, named once.
#[derive(Clone, Copy, Debug)]
pub struct XattrBlock<'a> {
    /// The whole block.
    block: &'a [u8],
    /// Entries in it.
    count: u32,
    /// Bytes of entries from [`XATTR_BLOCK_HEADER_SIZE`].
    used: usize,
}

/// Why an attribute could not be set or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrError {
    /// It exists and the caller asked to create it (`EEXIST`).
    Exists,
    /// It does not exist and the caller asked to replace or remove it (`ENODATA`).
    NotFound,
    /// The block has no room for it (`ENOSPC`, as ext4 without `ea_inode`).
    NoSpace,
    /// The name is empty or too long, or the namespace unknown (`EINVAL`/`ERANGE`).
    BadName,
    /// The value is not one the namespace allows: an ACL that is not valid (`EINVAL`).
    BadValue,
    /// The block is not valid.
    Format(FormatError),
}

/// What [`xattr_block_set`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XattrChange {
    /// Bytes of entries before the change (so that a caller writing only what changed knows
    /// how far the old entries reached).
    pub old_used: usize,
    /// Entries after it: 0 if the block is empty now.
    pub count: u32,
    /// Bytes of entries after it.
    pub used: usize,
}

/// How [`xattr_block_set`] treats an attribute that exists or not: the `XATTR_CREATE` and
/// `XATTR_REPLACE` flags, which may come together (then an attribute that exists is
/// [`XattrError::Exists`] and one that does not [`XattrError::NotFound`], as in ext4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XattrSetMode {
    /// Fail with [`XattrError::Exists`] if it exists.
    pub create: bool,
    /// Fail with [`XattrError::NotFound`] unless it exists.
    pub replace: bool,
}

impl XattrSetMode {
    /// Set it whether or not it exists.
    pub const ANY: Self = Self {
        create: false,
        replace: false,
    };
    /// Only if it does not exist (`XATTR_CREATE`).
    pub const CREATE: Self = Self {
        create: true,
        replace: false,
    };
    /// Only if it exists (`XATTR_REPLACE`).
    pub const REPLACE: Self = Self {
        create: false,
        replace: true,
    };
}

/// Whether `name` can be the name of an attribute in namespace `index`: the ACLs have only the
/// empty name.
pub fn valid_xattr_name(index: u8, name: &[u8]) -> bool {
    match index {
        XATTR_INDEX_USER..=XATTR_INDEX_SECURITY => {
            !name.is_empty() && name.len() <= XATTR_MAX_NAME_LEN && !name.contains(&0)
        }
        XATTR_INDEX_POSIX_ACL_ACCESS | XATTR_INDEX_POSIX_ACL_DEFAULT => name.is_empty(),
        _ => false,
    }
}

/// Whether `value` can be the value of an attribute in namespace `index`: any bytes, except
/// for the ACLs ([`valid_posix_acl`]).
fn valid_xattr_value(index: u8, value: &[u8]) -> bool {
    match index {
        XATTR_INDEX_POSIX_ACL_ACCESS | XATTR_INDEX_POSIX_ACL_DEFAULT => valid_posix_acl(value),
        _ => true,
    }
}

/// The stored form of a POSIX ACL of `entries` (tag, permissions, id), byte by byte: the
/// version, then each entry.
pub fn encode_posix_acl(entries: &[(u16, u16, u32)]) -> impl Iterator<Item = u8> + '_ {
    let entries = entries.iter().flat_map(|&(tag, perm, id)| {
        let mut entry = [0; POSIX_ACL_ENTRY_SIZE];
        write_u16(&mut entry, 0, tag);
        write_u16(&mut entry, 2, perm);
        write_u32(&mut entry, 4, id);
        entry
    });
    POSIX_ACL_VERSION.to_le_bytes().into_iter().chain(entries)
}

/// Whether `value` is a POSIX ACL the kernel accepts (`posix_acl_from_xattr` and
/// `posix_acl_valid` in `fs/posix_acl.c`): the version, whole entries, and the entries in the
/// order the format table gives, with `rwx` permissions only and a mask if any entry is named.
pub fn valid_posix_acl(value: &[u8]) -> bool {
    /// Where in the order an entry may come, as `posix_acl_valid`'s states.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Next {
        Owner,
        Users,
        Groups,
        Other,
        Done,
    }
    let Some((header, entries)) = value.split_at_checked(POSIX_ACL_HEADER_SIZE) else {
        return false;
    };
    if read_u32(header, 0) != Ok(POSIX_ACL_VERSION) || entries.len() % POSIX_ACL_ENTRY_SIZE != 0 {
        return false;
    }
    let (mut next, mut named) = (Next::Owner, false);
    for entry in entries.chunks_exact(POSIX_ACL_ENTRY_SIZE) {
        let (Ok(tag), Ok(perm), Ok(id)) =
            (read_u16(entry, 0), read_u16(entry, 2), read_u32(entry, 4))
        else {
            return false;
        };
        if perm & !0o7 != 0 {
            return false;
        }
        next = match (tag, next) {
            (acl_tag::USER_OBJ, Next::Owner) => Next::Users,
            (acl_tag::USER, Next::Users) | (acl_tag::GROUP, Next::Groups) if id != u32::MAX => {
                named = true;
                next
            }
            (acl_tag::GROUP_OBJ, Next::Users) => Next::Groups,
            (acl_tag::MASK, Next::Groups) => Next::Other,
            (acl_tag::OTHER, Next::Other) => Next::Done,
            (acl_tag::OTHER, Next::Groups) if !named => Next::Done,
            _ => return false,
        };
    }
    next == Next::Done
}

impl<'a> XattrBlock<'a> {
    /// Decodes and checks the xattr block of inode `owner`: magic, checksum (over the whole
    /// block, which `block` must be), owner, and every entry: a known namespace, a valid name,
    /// and an extent inside the used area, which the entries fill exactly; the bytes after it
    /// are zero. That no name comes twice, which costs a comparison of every pair, is checked
    /// by [`XattrBlock::check_unique`] where it matters: before a change, and in fsck (a read
    /// finds the first of two).
    pub fn decode(block: &'a [u8], owner: u64) -> Result<Self, FormatError> {
        use FormatError::BadXattr;

        let block = block.get(..BLOCK_SIZE).ok_or(FormatError::TooShort)?;
        if read_u32(block, xattr_off::MAGIC)? != XATTR_BLOCK_MAGIC {
            return Err(FormatError::BadMagic);
        }
        if read_u32(block, xattr_off::CHECKSUM)?
            != checksum_without_field(block, xattr_off::CHECKSUM)
        {
            return Err(FormatError::BadChecksum);
        }
        if read_u64(block, xattr_off::OWNER)? != owner {
            return Err(BadXattr("xattr block belongs to another inode"));
        }
        let count = read_u32(block, xattr_off::COUNT)?;
        // CAST: a `u32` fits `usize` on every target daxfs builds for (64-bit).
        let used = read_u32(block, xattr_off::USED)? as usize;
        if count == 0 || used > AREA {
            return Err(BadXattr("xattr block count or used size out of range"));
        }
        let this = Self { block, count, used };
        let mut seen = 0u32;
        for entry in this.raw_entries() {
            let (_, entry) = entry?;
            if !valid_xattr_name(entry.index, entry.name) {
                return Err(BadXattr("xattr entry with a bad namespace or name"));
            }
            if !valid_xattr_value(entry.index, entry.value) {
                return Err(BadXattr("xattr entry holds an ACL that is not valid"));
            }
            seen = seen
                .checked_add(1)
                .ok_or(BadXattr("xattr count overflows"))?;
        }
        if seen != count {
            return Err(BadXattr("xattr count does not match the entries"));
        }
        let tail = block
            .get(XATTR_BLOCK_HEADER_SIZE + used..)
            .ok_or(FormatError::TooShort)?;
        if tail.iter().any(|&byte| byte != 0) {
            return Err(BadXattr("xattr block has bytes after its entries"));
        }
        Ok(this)
    }

    /// Checks that no name comes twice in a namespace: each pair compared, at most a few
    /// hundred thousand comparisons of short names in a full block.
    pub fn check_unique(&self) -> Result<(), FormatError> {
        for (seen, entry) in self.entries().enumerate() {
            if self
                .entries()
                .take(seen)
                .any(|other| other.index == entry.index && other.name == entry.name)
            {
                return Err(FormatError::BadXattr(
                    "xattr block names an attribute twice",
                ));
            }
        }
        Ok(())
    }

    /// The entries with their byte ranges in the block, decoded without the checks of
    /// [`XattrBlock::decode`] beyond their bounds; ends at `used`.
    fn raw_entries(&self) -> RawEntries<'a> {
        RawEntries {
            block: self.block,
            at: XATTR_BLOCK_HEADER_SIZE,
            end: XATTR_BLOCK_HEADER_SIZE + self.used,
        }
    }

    /// The entries, in the order stored.
    pub fn entries(&self) -> impl Iterator<Item = XattrEntry<'a>> + 'a {
        self.raw_entries()
            .map_while(|entry| entry.ok().map(|(_, e)| e))
    }

    /// The attribute `name` of namespace `index`, and where its entry is in the block.
    fn find(&self, index: u8, name: &[u8]) -> Option<(Range<usize>, XattrEntry<'a>)> {
        self.raw_entries()
            .map_while(Result::ok)
            .find(|(_, e)| e.index == index && e.name == name)
    }

    /// The value of attribute `name` of namespace `index`.
    pub fn get(&self, index: u8, name: &[u8]) -> Option<&'a [u8]> {
        self.find(index, name).map(|(_, entry)| entry.value)
    }

    /// Entries in the block.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes of entries, after the header.
    pub fn used(&self) -> usize {
        self.used
    }
}

/// Iterator over the entries of a block's used area.
struct RawEntries<'a> {
    block: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Iterator for RawEntries<'a> {
    type Item = Result<(Range<usize>, XattrEntry<'a>), FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let start = self.at;
        let entry = (|| {
            let bad = FormatError::BadXattr("xattr entry runs past the used area");
            let header = self
                .block
                .get(start..start.checked_add(XATTR_ENTRY_HEADER_SIZE).ok_or(bad)?)
                .filter(|_| start + XATTR_ENTRY_HEADER_SIZE <= self.end)
                .ok_or(bad)?;
            let index = *header.first().ok_or(bad)?;
            let name_len = usize::from(*header.get(1).ok_or(bad)?);
            let value_len = usize::from(read_u16(header, 2)?);
            let name_at = start + XATTR_ENTRY_HEADER_SIZE;
            let value_at = name_at + name_len;
            let end = value_at + value_len;
            if end > self.end {
                return Err(bad);
            }
            let name = self.block.get(name_at..value_at).ok_or(bad)?;
            let value = self.block.get(value_at..end).ok_or(bad)?;
            Ok((start..end, XattrEntry { index, name, value }))
        })();
        match &entry {
            Ok((range, _)) => self.at = range.end,
            // Stop after an error.
            Err(_) => self.at = self.end,
        }
        Some(entry)
    }
}

/// Writes the header of an empty xattr block of inode `owner` over the whole of `block`
/// (zeroing the rest), unsealed: [`xattr_block_set`] adds entries to it.
pub fn xattr_block_init(block: &mut [u8; BLOCK_SIZE], owner: u64) {
    block.fill(0);
    write_u32(block, xattr_off::MAGIC, XATTR_BLOCK_MAGIC);
    write_u64(block, xattr_off::OWNER, owner);
}

/// Gives `block`, built for owner 0 before its inode had a number, to inode `owner`.
pub fn xattr_block_give(block: &mut [u8; BLOCK_SIZE], owner: u64) {
    write_u64(block, xattr_off::OWNER, owner);
}

/// Seals `block` with its checksum.
pub fn xattr_block_seal(block: &mut [u8; BLOCK_SIZE]) {
    let checksum = checksum_without_field(block, xattr_off::CHECKSUM);
    write_u32(block, xattr_off::CHECKSUM, checksum);
}

/// Sets attribute `name` of namespace `index` to `value` in `block`, or removes it if `value`
/// is `None`, in place: the entries after the old one move down over it and the new one goes
/// at the end. `block` is an xattr block of `owner` that [`XattrBlock::decode`] and
/// [`XattrBlock::check_unique`] accept, or one that [`xattr_block_init`] made (empty,
/// unsealed: its checksum field is zero). Removing an attribute that does not exist is
/// [`XattrError::NotFound`] whatever `mode` says. On success the checksum field is left
/// stale for the caller to seal ([`xattr_block_seal`], or a journal that derives it from what
/// changed). On failure `block` is unchanged.
pub fn xattr_block_set(
    block: &mut [u8; BLOCK_SIZE],
    owner: u64,
    index: u8,
    name: &[u8],
    value: Option<&[u8]>,
    mode: XattrSetMode,
) -> Result<XattrChange, XattrError> {
    if !valid_xattr_name(index, name) {
        return Err(XattrError::BadName);
    }
    if value.is_some_and(|value| !valid_xattr_value(index, value)) {
        return Err(XattrError::BadValue);
    }
    let count = read_u32(block, xattr_off::COUNT).map_err(XattrError::Format)?;
    let (old, used) = if count == 0 {
        // CAST: as in `decode`.
        let used = read_u32(block, xattr_off::USED).map_err(XattrError::Format)? as usize;
        let fresh = read_u32(block, xattr_off::MAGIC) == Ok(XATTR_BLOCK_MAGIC)
            && read_u32(block, xattr_off::CHECKSUM) == Ok(0)
            && read_u64(block, xattr_off::OWNER) == Ok(owner);
        if used != 0 || !fresh {
            return Err(XattrError::Format(FormatError::BadXattr(
                "empty xattr block with entries",
            )));
        }
        (None, 0)
    } else {
        let checked = XattrBlock::decode(&block[..], owner)
            .and_then(|checked| checked.check_unique().map(|()| checked))
            .map_err(XattrError::Format)?;
        (
            checked.find(index, name).map(|(range, _)| range),
            checked.used(),
        )
    };
    match (&old, value) {
        (Some(_), _) if mode.create => return Err(XattrError::Exists),
        (None, _) if mode.replace => return Err(XattrError::NotFound),
        (None, None) => return Err(XattrError::NotFound),
        _ => {}
    }
    let freed = old.as_ref().map_or(0, |range| range.len());
    let added = value.map_or(0, |value| {
        XATTR_ENTRY_HEADER_SIZE + name.len() + value.len()
    });
    let new_used = used - freed + added;
    if new_used > AREA {
        return Err(XattrError::NoSpace);
    }
    let end = XATTR_BLOCK_HEADER_SIZE + used;
    let mut new_count = count;
    if let Some(range) = old {
        block.copy_within(range.end..end, range.start);
        new_count -= 1;
    }
    let mut at = XATTR_BLOCK_HEADER_SIZE + used - freed;
    if let Some(value) = value {
        // CAST: `valid_xattr_name` bounds the name by 255 bytes, and the room check the value
        // by the block.
        let header = [index, name.len() as u8];
        write_bytes(block, at, &header);
        write_u16(block, at + 2, value.len() as u16);
        at += XATTR_ENTRY_HEADER_SIZE;
        write_bytes(block, at, name);
        write_bytes(block, at + name.len(), value);
        at += name.len() + value.len();
        new_count += 1;
    }
    if let Some(rest) = block.get_mut(at..end) {
        rest.fill(0);
    }
    write_u32(block, xattr_off::COUNT, new_count);
    // CAST: at most a block.
    write_u32(block, xattr_off::USED, new_used as u32);
    Ok(XattrChange {
        old_used: used,
        count: new_count,
        used: new_used,
    })
}
