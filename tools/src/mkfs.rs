// SPDX-License-Identifier: GPL-2.0

//! Creating a daxfs file system: the logic behind `mkfs.daxfs`.

use std::fs::File;
use std::io::Read;

use crate::device::Block;
use crate::device::BlockDevice;
use crate::format::bitmap_set;
use crate::format::Geometry;
use crate::format::Inode;
use crate::format::Superblock;
use crate::format::Timestamp;
use crate::format::BITS_PER_BITMAP_BLOCK;
use crate::format::BLOCK_SIZE;
use crate::format::INODE_FLAG_DAX;
use crate::format::INODE_SIZE;
use crate::format::MAGIC;
use crate::format::MIN_BLOCKS;
use crate::format::S_IFDIR;
use crate::Error;
use crate::Result;

/// What to create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MkfsOptions {
    /// Inodes wanted; `None` for the default density.
    pub inodes: Option<u64>,
    /// Volume label, NUL-padded.
    pub label: [u8; 32],
    /// File system UUID.
    pub uuid: [u8; 16],
    /// Creation time, seconds since the epoch (also the root directory's timestamps).
    pub time: u64,
    /// The root directory lacks the DAX flag (`-P`): under `dax=inode`, the mount's default,
    /// new files then use the page cache unless a directory above them has the flag. Without
    /// it, every file created inherits the flag and uses DAX.
    pub page_cache_root: bool,
    /// Blocks the file system spans, from the start of the device; `None` for all of it. The
    /// blocks past it stay unused (fstests' `_scratch_mkfs_sized` makes small file systems so).
    pub blocks: Option<u64>,
}

/// A file system signature mkfs recognises, so as not to overwrite it by accident.
struct Signature {
    /// Name for the message.
    name: &'static str,
    /// Byte offset on the device.
    offset: usize,
    /// Bytes found there.
    magic: &'static [u8],
}

/// Signatures checked by [`detect_signature`]; all within the first two blocks.
const SIGNATURES: &[Signature] = &[
    Signature {
        name: "daxfs",
        offset: 0,
        magic: &MAGIC,
    },
    Signature {
        name: "xfs",
        offset: 0,
        magic: b"XFSB",
    },
    Signature {
        name: "ext2/ext3/ext4",
        offset: 1080,
        magic: &[0x53, 0xef],
    },
    Signature {
        name: "f2fs",
        offset: 1024,
        magic: &[0x10, 0x20, 0xf5, 0xf2],
    },
    Signature {
        name: "swap",
        offset: BLOCK_SIZE - 10,
        magic: b"SWAPSPACE2",
    },
    Signature {
        name: "btrfs",
        offset: 0x1_0040,
        magic: b"_BHRfS_M",
    },
];

/// The name of a file system whose signature is on `dev`, if any.
pub fn detect_signature(dev: &impl BlockDevice) -> Result<Option<&'static str>> {
    let mut block = [0; BLOCK_SIZE];
    let mut loaded = None;
    for signature in SIGNATURES {
        let block_index = (signature.offset / BLOCK_SIZE) as u64;
        let start = signature.offset % BLOCK_SIZE;
        if block_index >= dev.block_count() {
            continue;
        }
        if loaded != Some(block_index) {
            dev.read_block(block_index, &mut block)?;
            loaded = Some(block_index);
        }
        if block.get(start..start + signature.magic.len()) == Some(signature.magic) {
            return Ok(Some(signature.name));
        }
    }
    Ok(None)
}

/// A random version-4 UUID from `/dev/urandom`.
pub fn random_uuid() -> Result<[u8; 16]> {
    let mut uuid = [0; 16];
    File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut uuid))
        .map_err(|e| Error::io("reading /dev/urandom", e))?;
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    Ok(uuid)
}

/// Parses a UUID written as 32 hex digits, optionally with the usual dashes.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let dashed = text.len() == 36
        && [8, 13, 18, 23]
            .iter()
            .all(|&index| text.as_bytes()[index] == b'-');
    let hex: String = if dashed {
        text.chars().filter(|&c| c != '-').collect()
    } else {
        text.to_owned()
    };
    if hex.len() != 32 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let mut uuid = [0; 16];
    for (index, byte) in uuid.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(uuid)
}

/// Formats a UUID in the usual dashed form.
pub fn format_uuid(uuid: &[u8; 16]) -> String {
    let hex: String = uuid.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Turns a label into the superblock field: at most 32 bytes, no NUL.
pub fn parse_label(label: &[u8]) -> Result<[u8; 32]> {
    let mut field = [0; 32];
    if label.len() > field.len() {
        return Err(Error::Other("label longer than 32 bytes".into()));
    }
    if label.contains(&0) {
        return Err(Error::Other("label contains a NUL byte".into()));
    }
    field[..label.len()].copy_from_slice(label);
    Ok(field)
}

/// The root directory of a new file system: empty, mode 0755, owned by root, its own parent;
/// with the DAX flag, which new files and directories inherit, unless `page_cache_root`.
pub fn root_inode(time: u64, page_cache_root: bool) -> Inode {
    let now = Timestamp {
        sec: i64::try_from(time).unwrap_or(i64::MAX),
        nsec: 0,
    };
    Inode {
        mode: S_IFDIR | 0o755,
        nlink: 2,
        parent: crate::format::ROOT_INO,
        atime: now,
        mtime: now,
        ctime: now,
        btime: now,
        flags: if page_cache_root { 0 } else { INODE_FLAG_DAX },
        ..Inode::FREE
    }
}

/// Creates a file system on `dev` and returns its superblock.
///
/// Only the metadata region is written: the superblock is invalidated first, then the bitmap and
/// inode table are written, and the superblock is written last, after a sync, so that an
/// interrupted mkfs never leaves something that looks like a valid file system.
pub fn make_filesystem(dev: &mut impl BlockDevice, options: &MkfsOptions) -> Result<Superblock> {
    let device_blocks = dev.block_count();
    let blocks = match options.blocks {
        Some(blocks) if blocks > device_blocks => {
            return Err(Error::Other(format!(
                "{blocks} blocks asked for, the device has {device_blocks}"
            )))
        }
        Some(blocks) if blocks < MIN_BLOCKS => {
            return Err(Error::Other(format!(
                "{blocks} blocks asked for, the minimum is {MIN_BLOCKS}"
            )))
        }
        Some(blocks) => blocks,
        None => device_blocks,
    };
    let geometry = Geometry::for_device(blocks, options.inodes)?;
    let sb = Superblock::new(&geometry, options.uuid, options.label, options.time);

    dev.zero_blocks(0, geometry.data_start)?;

    // Bitmap: the metadata region and the bits past the end are in use.
    for index in 0..geometry.bitmap_blocks {
        let mut block: Block = [0; BLOCK_SIZE];
        let first = index * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let block_number = first + bit;
            if block_number < geometry.data_start || block_number >= geometry.total_blocks {
                bitmap_set(&mut block, bit, true)?;
            }
        }
        dev.write_block(geometry.bitmap_start + index, &block)?;
    }

    // Inode table: zeroed above; only the root inode is written.
    let (root_block, root_offset) = sb
        .inode_location(sb.root_ino)
        .ok_or(Error::Other("root inode outside the inode table".into()))?;
    let mut block: Block = [0; BLOCK_SIZE];
    let slot = crate::format::record_mut::<INODE_SIZE>(&mut block, root_offset)
        .ok_or(Error::Other("root inode slot out of range".into()))?;
    root_inode(options.time, options.page_cache_root).encode(slot);
    dev.write_block(root_block, &block)?;
    dev.sync()?;

    let mut block: Block = [0; BLOCK_SIZE];
    sb.encode(&mut block);
    dev.write_block(0, &block)?;
    dev.sync()?;
    Ok(sb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::MemDevice;

    #[test]
    fn uuid_round_trip() {
        let text = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        let uuid = parse_uuid(text).unwrap();
        assert_eq!(format_uuid(&uuid), text);
        assert_eq!(parse_uuid("1b4e28ba2fa111d2883f0016d3cca427"), Some(uuid));
        assert_eq!(parse_uuid("1b4e28ba-2fa1-11d2-883f-0016d3cca42"), None);
        assert_eq!(parse_uuid("zb4e28ba2fa111d2883f0016d3cca427"), None);
        assert_eq!(parse_uuid("1b4e28ba-2fa1-11d2-883f-0016d3cca42é"), None);
        let random = random_uuid().unwrap();
        assert_eq!(random[6] >> 4, 4);
    }

    #[test]
    fn labels() {
        assert_eq!(&parse_label(b"abc").unwrap()[..4], b"abc\0");
        assert!(parse_label(&[b'x'; 32]).is_ok());
        assert!(parse_label(&[b'x'; 33]).is_err());
        assert!(parse_label(b"a\0").is_err());
    }

    #[test]
    fn detects_signatures() {
        let mut dev = MemDevice::new(32);
        assert_eq!(detect_signature(&dev).unwrap(), None);
        dev.bytes_mut()[1080..1082].copy_from_slice(&[0x53, 0xef]);
        assert_eq!(detect_signature(&dev).unwrap(), Some("ext2/ext3/ext4"));
        let options = MkfsOptions::default();
        let mut dev = MemDevice::new(300);
        make_filesystem(&mut dev, &options).unwrap();
        assert_eq!(detect_signature(&dev).unwrap(), Some("daxfs"));
    }

    #[test]
    fn spans_the_blocks_asked_for() {
        let mut dev = MemDevice::new(1000);
        let options = MkfsOptions {
            blocks: Some(400),
            ..MkfsOptions::default()
        };
        let sb = make_filesystem(&mut dev, &options).unwrap();
        assert_eq!(sb.total_blocks, 400);
        let found = crate::format::Superblock::decode(dev.bytes_mut().get(..BLOCK_SIZE).unwrap());
        assert_eq!(found.unwrap().total_blocks, 400);

        let too_many = MkfsOptions {
            blocks: Some(1001),
            ..MkfsOptions::default()
        };
        assert!(make_filesystem(&mut dev, &too_many).is_err());
        let too_few = MkfsOptions {
            blocks: Some(100),
            ..MkfsOptions::default()
        };
        let refused = make_filesystem(&mut dev, &too_few).unwrap_err().to_string();
        assert!(refused.contains("the minimum is 256"), "{refused}");
    }
}
