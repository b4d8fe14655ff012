// SPDX-License-Identifier: GPL-2.0

//! Directory entries and name validation.

use super::{
    codec::{
        read_bytes,
        read_u64,
        write_bytes,
        write_u64, //
    },
    dirent_off,
    FileType,
    FormatError,
    Superblock,
    DIRENTS_PER_BLOCK,
    DIRENT_SIZE,
    MAX_NAME_LEN, //
};

/// Checks that `name` can be a directory entry's name: 1 to 255 bytes, no `/` or NUL, and not
/// `.` or `..` (which are never stored).
pub fn validate_name(name: &[u8]) -> Result<(), FormatError> {
    if name.is_empty() {
        return Err(FormatError::BadDirEntry("empty name"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(FormatError::BadDirEntry("name too long"));
    }
    if name.iter().any(|&byte| byte == b'/' || byte == 0) {
        return Err(FormatError::BadDirEntry("name contains '/' or NUL"));
    }
    if name == b"." || name == b".." {
        return Err(FormatError::BadDirEntry("name is '.' or '..'"));
    }
    Ok(())
}

/// An in-use directory entry. Free slots decode to `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode the entry names (never 0).
    pub ino: u64,
    /// Type of that inode.
    pub file_type: FileType,
    /// Length of the name.
    name_len: u8,
    /// The name, zero-padded.
    name: [u8; MAX_NAME_LEN],
}

impl DirEntry {
    /// A new entry naming inode `ino` (not 0) of type `file_type`.
    pub fn new(ino: u64, file_type: FileType, name: &[u8]) -> Result<Self, FormatError> {
        if ino == 0 {
            return Err(FormatError::BadDirEntry("inode number 0"));
        }
        validate_name(name)?;
        let mut padded = [0; MAX_NAME_LEN];
        write_bytes(&mut padded, 0, name);
        Ok(Self {
            ino,
            file_type,
            name_len: u8::try_from(name.len())
                .map_err(|_| FormatError::BadDirEntry("name too long"))?,
            name: padded,
        })
    }

    /// The entry's name.
    pub fn name(&self) -> &[u8] {
        self.name
            .get(..usize::from(self.name_len))
            .unwrap_or(&self.name)
    }

    /// Decodes a directory entry slot: `None` for a free slot (inode 0), otherwise the entry,
    /// with its name ([`validate_name`]) and type checked. Whether the inode number is in range
    /// depends on the superblock and is the caller's check.
    pub fn decode(buf: &[u8]) -> Result<Option<Self>, FormatError> {
        let slot = buf.get(..DIRENT_SIZE).ok_or(FormatError::TooShort)?;
        let ino = read_u64(slot, dirent_off::INO)?;
        if ino == 0 {
            return Ok(None);
        }
        let name_len = read_bytes::<1>(slot, dirent_off::NAME_LEN)?[0];
        let dirent_type = read_bytes::<1>(slot, dirent_off::FILE_TYPE)?[0];
        let name: [u8; MAX_NAME_LEN] = read_bytes(slot, dirent_off::NAME)?;
        let file_type = FileType::from_dirent_type(dirent_type)
            .ok_or(FormatError::BadDirEntry("unknown file type"))?;
        validate_name(name.get(..usize::from(name_len)).unwrap_or(&name))?;
        // Keep the padding zero so that equal entries compare equal.
        let mut padded = [0; MAX_NAME_LEN];
        write_bytes(
            &mut padded,
            0,
            name.get(..usize::from(name_len)).unwrap_or(&[]),
        );
        Ok(Some(Self {
            ino,
            file_type,
            name_len,
            name: padded,
        }))
    }

    /// Checks what decoding alone cannot: the entry names an inode of the file system `sb`.
    pub fn validate(&self, sb: &Superblock) -> Result<(), FormatError> {
        if !sb.is_valid_ino(self.ino) {
            return Err(FormatError::BadDirEntry(
                "names an inode past the inode table",
            ));
        }
        Ok(())
    }

    /// Encodes the entry, zeroing the reserved bytes and the name's padding.
    pub fn encode(&self, buf: &mut [u8; DIRENT_SIZE]) {
        buf.fill(0);
        write_u64(buf, dirent_off::INO, self.ino);
        write_bytes(buf, dirent_off::NAME_LEN, &[self.name_len]);
        write_bytes(buf, dirent_off::FILE_TYPE, &[self.file_type.dirent_type()]);
        write_bytes(buf, dirent_off::NAME, self.name());
    }

    /// Encodes a free slot (all zeros).
    pub fn encode_free(buf: &mut [u8; DIRENT_SIZE]) {
        buf.fill(0);
    }

    /// Byte offset of entry slot `index` in a directory block, if there is such a slot.
    pub fn slot_offset(index: usize) -> Option<usize> {
        (index < DIRENTS_PER_BLOCK).then_some(index * DIRENT_SIZE)
    }
}
