// SPDX-License-Identifier: GPL-2.0

//! `daxfs-edit DEVICE FIELD=VALUE...`: sets superblock fields of a valid daxfs and reseals its
//! checksum.
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
    Superblock,
    BLOCK_SIZE, //
};

/// The usage line.
const USAGE: &str = "usage: daxfs-edit DEVICE FIELD=VALUE...\n\
fields: version_major version_minor feature_compat feature_incompat feature_ro_compat state \
total_blocks inode_count data_start root_ino free_blocks free_inodes orphan_head";

/// Sets `field` of `sb` to `value`.
fn set_field(sb: &mut Superblock, field: &str, value: &str) -> Result<(), String> {
    let parse = |value: &str| -> Result<u64, String> {
        let parsed = match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => value.parse(),
        };
        parsed.map_err(|_| format!("'{value}' is not a number"))
    };
    let number = parse(value)?;
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

/// Reads the superblock of `device`, applies `edits` and writes it back sealed.
fn edit(device: &str, edits: &[String]) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .map_err(|e| format!("{device}: {e}"))?;
    let mut block = [0u8; BLOCK_SIZE];
    file.read_exact(&mut block)
        .map_err(|e| format!("{device}: reading the superblock: {e}"))?;
    let mut sb = Superblock::decode(&block).map_err(|e| format!("{device}: {e}"))?;
    for edit in edits {
        let (field, value) = edit
            .split_once('=')
            .ok_or_else(|| format!("'{edit}' is not FIELD=VALUE\n{USAGE}"))?;
        set_field(&mut sb, field, value)?;
    }
    sb.encode(&mut block);
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.write_all(&block))
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{device}: writing the superblock: {e}"))
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
