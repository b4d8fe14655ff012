// SPDX-License-Identifier: GPL-2.0

//! `daxfs-edit DEVICE FIELD=VALUE...`: sets superblock fields of a valid daxfs and reseals its
//! checksum. `daxfs-edit DEVICE --inode N FIELD=VALUE...` sets fields of inode `N` instead, and
//! of its extents (inline or in its overflow chain), resealing what it rewrites.
//! `daxfs-edit DEVICE --entry DIR NAME ino=N` points the entry NAME of directory inode DIR at
//! inode N. `daxfs-edit DEVICE --show` prints the superblock's fields as `FIELD=VALUE`, and
//! writes nothing (fstests reads the clean/dirty `state` from it).
//!
//! For tests and debugging (as debugfs is for ext4): it writes exactly the values given, so it
//! can make images that a newer daxfs would have written, or that the kernel must refuse. Exits 0
//! on success, 1 on any error.

use std::fs::OpenOptions;
use std::io::{
    Read,
    Seek,
    SeekFrom,
    Write, //
};
use std::process::ExitCode;

use daxfs_tools::format::{
    DirEntry,
    Extent,
    ExtentBlockHeader,
    ExtentChecker,
    Inode,
    Superblock,
    BLOCK_SIZE,
    DIRENTS_PER_BLOCK,
    DIRENT_SIZE,
    INLINE_EXTENTS,
    INODE_SIZE, //
};

/// The usage line.
const USAGE: &str = "usage: daxfs-edit DEVICE FIELD=VALUE...\n\
       daxfs-edit DEVICE --inode N FIELD=VALUE...\n\
       daxfs-edit DEVICE --entry DIR NAME ino=N\n\
       daxfs-edit DEVICE --show\n\
superblock fields: version_major version_minor feature_compat feature_incompat feature_ro_compat \
state total_blocks inode_count data_start root_ino free_blocks free_inodes orphan_head\n\
inode fields: mode flags nlink size blocks extent_count overflow_block parent rdev next_orphan \
xattr_block, \
and extent.K.logical, extent.K.physical, extent.K.len, extent.K.unwritten (0 or 1) for extent K \
of the file (0 first)";

/// Parses a decimal or `0x` hexadecimal number.
fn parse_number(value: &str) -> Result<u64, String> {
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    parsed.map_err(|_| format!("'{value}' is not a number"))
}

/// Splits `FIELD=VALUE`.
fn split_edit(edit: &str) -> Result<(&str, &str), String> {
    edit.split_once('=')
        .ok_or_else(|| format!("'{edit}' is not FIELD=VALUE\n{USAGE}"))
}

/// Sets `field` of `sb` to `value`.
fn set_field(sb: &mut Superblock, field: &str, value: &str) -> Result<(), String> {
    let number = parse_number(value)?;
    let small = |n: u64| u32::try_from(n).map_err(|_| format!("{value} is too large for {field}"));
    match field {
        "version_major" => sb.version_major = small(number)?.try_into().map_err(|_| "too large")?,
        "version_minor" => sb.version_minor = small(number)?.try_into().map_err(|_| "too large")?,
        "feature_compat" => sb.feature_compat = small(number)?,
        "feature_incompat" => sb.feature_incompat = small(number)?,
        "feature_ro_compat" => sb.feature_ro_compat = small(number)?,
        "state" => sb.state = small(number)?,
        "total_blocks" => sb.total_blocks = number,
        "inode_count" => sb.inode_count = number,
        "data_start" => sb.data_start = number,
        "root_ino" => sb.root_ino = number,
        "free_blocks" => sb.free_blocks = number,
        "free_inodes" => sb.free_inodes = number,
        "orphan_head" => sb.orphan_head = number,
        _ => return Err(format!("unknown field '{field}'\n{USAGE}")),
    }
    Ok(())
}

/// A device opened for editing.
struct Device {
    file: std::fs::File,
    name: String,
}

impl Device {
    /// Opens `name` for reading, and for writing if `writable`.
    fn open(name: &str, writable: bool) -> Result<Self, String> {
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(name)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Self {
            file,
            name: name.to_owned(),
        })
    }

    /// Reads `buf.len()` bytes at byte `offset`.
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(buf))
            .map_err(|e| format!("{}: reading at byte {offset}: {e}", self.name))
    }

    /// Writes `buf` at byte `offset`.
    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), String> {
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(buf))
            .and_then(|()| self.file.sync_all())
            .map_err(|e| format!("{}: writing at byte {offset}: {e}", self.name))
    }

    /// The superblock.
    fn superblock(&mut self) -> Result<Superblock, String> {
        let mut block = [0u8; BLOCK_SIZE];
        self.read(0, &mut block)?;
        Superblock::decode(&block).map_err(|e| format!("{}: {e}", self.name))
    }
}

/// Byte offset of block `block`.
fn block_offset(block: u64) -> Result<u64, String> {
    block
        .checked_mul(BLOCK_SIZE as u64)
        .ok_or_else(|| format!("block {block} is beyond any device"))
}

/// Reads the superblock of `device`, applies `edits` and writes it back sealed.
fn edit_superblock(device: &mut Device, edits: &[String]) -> Result<(), String> {
    let mut sb = device.superblock()?;
    for edit in edits {
        let (field, value) = split_edit(edit)?;
        set_field(&mut sb, field, value)?;
    }
    let mut block = [0u8; BLOCK_SIZE];
    sb.encode(&mut block);
    device.write(0, &block)
}

/// Sets extent `index` of the file `inode`: inline in `inode`, or in its overflow chain on
/// `device`, whose block is resealed.
fn set_extent(
    device: &mut Device,
    inode: &mut Inode,
    index: usize,
    part: &str,
    value: u64,
) -> Result<(), String> {
    let apply = |extent: &mut daxfs_tools::format::Extent| -> Result<(), String> {
        match part {
            "logical" => extent.logical = value,
            "physical" => extent.physical = value,
            "len" => extent.len = u32::try_from(value).map_err(|_| "len is too large")?,
            "unwritten" => extent.unwritten = value != 0,
            _ => return Err(format!("unknown extent field '{part}'\n{USAGE}")),
        }
        Ok(())
    };
    if index < INLINE_EXTENTS {
        let mut extent = inode.inline_extent(index).map_err(|e| e.to_string())?;
        apply(&mut extent)?;
        return inode
            .set_inline_extent(index, &extent)
            .map_err(|e| e.to_string());
    }
    // Find the overflow block holding it: each block says how many extents it has.
    let checker = ExtentChecker::for_inode(&device.superblock()?, inode);
    let mut left = index - INLINE_EXTENTS;
    let mut next = inode.overflow_block;
    let mut block = [0u8; BLOCK_SIZE];
    for _ in 0..=index {
        if next == 0 {
            break;
        }
        device.read(block_offset(next)?, &mut block)?;
        let header = ExtentBlockHeader::decode(&block).map_err(|e| e.to_string())?;
        let count = header.count as usize;
        if left < count {
            // The extent `left` in file order, wherever its slot.
            let slot = usize::from(checker.block_order(&block, count)[left]);
            let mut extent =
                ExtentBlockHeader::read_extent(&block, slot).map_err(|e| e.to_string())?;
            apply(&mut extent)?;
            ExtentBlockHeader::write_extent(&mut block, slot, &extent)
                .map_err(|e| e.to_string())?;
            header.encode(&mut block);
            return device.write(block_offset(next)?, &block);
        }
        left -= count;
        next = header.next;
    }
    Err(format!("the file has no extent {index}"))
}

/// Inode `ino` of `device`, and the byte offset of its record.
fn read_inode(device: &mut Device, ino: u64) -> Result<(u64, Inode), String> {
    let sb = device.superblock()?;
    let (block, offset) = sb
        .inode_location(ino)
        .ok_or_else(|| format!("inode {ino} is out of range"))?;
    let at = block_offset(block)? + offset as u64;
    let mut record = [0u8; INODE_SIZE];
    device.read(at, &mut record)?;
    let inode = Inode::decode(&record).map_err(|e| format!("inode {ino}: {e}"))?;
    Ok((at, inode))
}

/// The extents of the file `inode`: inline, then those of its overflow chain.
fn file_extents(device: &mut Device, inode: &Inode) -> Result<Vec<Extent>, String> {
    let checker = ExtentChecker::for_inode(&device.superblock()?, inode);
    let mut extents = (0..inode.inline_extent_count())
        .map(|index| inode.inline_extent(index).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut next = inode.overflow_block;
    let mut block = [0u8; BLOCK_SIZE];
    while next != 0 && extents.len() < inode.extent_count as usize {
        device.read(block_offset(next)?, &mut block)?;
        let header = ExtentBlockHeader::decode(&block).map_err(|e| e.to_string())?;
        let count = header.count as usize;
        for &slot in checker.block_order(&block, count).iter().take(count) {
            extents.push(
                ExtentBlockHeader::read_extent(&block, usize::from(slot))
                    .map_err(|e| e.to_string())?,
            );
        }
        next = header.next;
    }
    Ok(extents)
}

/// Points the entry `name` of directory inode `dir` of `device` at the inode `edit` names
/// (`ino=N`).
fn edit_entry(device: &mut Device, dir: u64, name: &str, edit: &str) -> Result<(), String> {
    let (field, value) = split_edit(edit)?;
    if field != "ino" {
        return Err(format!("unknown entry field '{field}'\n{USAGE}"));
    }
    let ino = parse_number(value)?;
    let (_, inode) = read_inode(device, dir)?;
    let mut block = [0u8; BLOCK_SIZE];
    for extent in file_extents(device, &inode)? {
        for number in extent.physical..extent.physical + u64::from(extent.len) {
            device.read(block_offset(number)?, &mut block)?;
            for slot in 0..DIRENTS_PER_BLOCK {
                let at = slot * DIRENT_SIZE;
                let Ok(Some(mut entry)) = DirEntry::decode(&block[at..at + DIRENT_SIZE]) else {
                    continue;
                };
                if entry.name() != name.as_bytes() {
                    continue;
                }
                entry.ino = ino;
                let record: &mut [u8; DIRENT_SIZE] = (&mut block[at..at + DIRENT_SIZE])
                    .try_into()
                    .map_err(|_| "bad slot")?;
                entry.encode(record);
                return device.write(block_offset(number)? + at as u64, &record[..]);
            }
        }
    }
    Err(format!("directory {dir} has no entry '{name}'"))
}

/// Reads inode `ino` of `device`, applies `edits` and writes it back sealed.
fn edit_inode(device: &mut Device, ino: u64, edits: &[String]) -> Result<(), String> {
    let (at, mut inode) = read_inode(device, ino)?;
    let mut record = [0u8; INODE_SIZE];
    for edit in edits {
        let (field, value) = split_edit(edit)?;
        let number = parse_number(value)?;
        let small =
            || u32::try_from(number).map_err(|_| format!("{value} is too large for {field}"));
        let tiny =
            || u16::try_from(number).map_err(|_| format!("{value} is too large for {field}"));
        match field {
            "mode" => inode.mode = tiny()?,
            "flags" => inode.flags = tiny()?,
            "nlink" => inode.nlink = small()?,
            "size" => inode.size = number,
            "blocks" => inode.blocks = number,
            "extent_count" => inode.extent_count = small()?,
            "overflow_block" => inode.overflow_block = number,
            "xattr_block" => inode.xattr_block = number,
            "parent" => inode.parent = number,
            "rdev" => inode.rdev = small()?,
            "next_orphan" => inode.next_orphan = number,
            _ => {
                let extent = field.strip_prefix("extent.").and_then(|rest| {
                    let (index, part) = rest.split_once('.')?;
                    Some((index.parse::<usize>().ok()?, part))
                });
                let Some((index, part)) = extent else {
                    return Err(format!("unknown inode field '{field}'\n{USAGE}"));
                };
                set_extent(device, &mut inode, index, part, number)?;
            }
        }
    }
    inode.encode(&mut record);
    device.write(at, &record)
}

/// The superblock's fields that `--show` prints, by the names [`set_field`] takes.
fn superblock_fields(sb: &Superblock) -> [(&'static str, u64); 13] {
    [
        ("version_major", sb.version_major.into()),
        ("version_minor", sb.version_minor.into()),
        ("feature_compat", sb.feature_compat.into()),
        ("feature_incompat", sb.feature_incompat.into()),
        ("feature_ro_compat", sb.feature_ro_compat.into()),
        ("state", sb.state.into()),
        ("total_blocks", sb.total_blocks),
        ("inode_count", sb.inode_count),
        ("data_start", sb.data_start),
        ("root_ino", sb.root_ino),
        ("free_blocks", sb.free_blocks),
        ("free_inodes", sb.free_inodes),
        ("orphan_head", sb.orphan_head),
    ]
}

/// Applies the command line's edits, or shows the superblock.
fn edit(device: &str, args: &[String]) -> Result<(), String> {
    if let [flag] = args {
        if flag == "--show" {
            let sb = Device::open(device, false)?.superblock()?;
            for (field, value) in superblock_fields(&sb) {
                println!("{field}={value}");
            }
            return Ok(());
        }
    }
    let mut device = Device::open(device, true)?;
    match args {
        [flag, ino, edits @ ..] if flag == "--inode" && !edits.is_empty() => {
            let ino = parse_number(ino)?;
            edit_inode(&mut device, ino, edits)
        }
        [flag, dir, name, edit] if flag == "--entry" => {
            let dir = parse_number(dir)?;
            edit_entry(&mut device, dir, name, edit)
        }
        [flag, ..] if flag == "--inode" || flag == "--entry" => Err(USAGE.to_owned()),
        edits => edit_superblock(&mut device, edits),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((device, edits)) = args.split_first().filter(|(_, edits)| !edits.is_empty()) else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    match edit(device, edits) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("daxfs-edit: {message}");
            ExitCode::FAILURE
        }
    }
}
