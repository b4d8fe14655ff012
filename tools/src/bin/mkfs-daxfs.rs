// SPDX-License-Identifier: GPL-2.0

//! `mkfs.daxfs [-f] [-N inodes] [-L label] [-U uuid] [-P] [-q] DEVICE [BLOCKS]`: creates a daxfs
//! file system, over the whole device or, as mke2fs does, its first BLOCKS blocks of 4096 bytes.
//!
//! `-P`: the root directory lacks the DAX flag, so that under `dax=inode` (the default mount)
//! new files use the page cache; without it they inherit the flag and use DAX.
//!
//! Refuses to overwrite a file system it recognises unless `-f` is given. Never reads standard
//! input (fstests pipes `yes` into mkfs). Exits 0 on success, 1 on any error.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use daxfs_tools::args;
use daxfs_tools::device::Access;
use daxfs_tools::device::BlockDevice;
use daxfs_tools::device::Device;
use daxfs_tools::format::BLOCK_SIZE_U64;
use daxfs_tools::mkfs;
use daxfs_tools::mkfs::MkfsOptions;

/// The program name, for messages.
const PROGRAM: &str = "mkfs.daxfs";

/// The usage line.
const USAGE: &str =
    "usage: mkfs.daxfs [-f] [-N inodes] [-L label] [-U uuid] [-P] [-q] DEVICE [BLOCKS]";

/// The command line, parsed.
struct Command {
    /// Overwrite an existing file system.
    force: bool,
    /// Print nothing on success.
    quiet: bool,
    /// What to create (the UUID may still be random).
    options: MkfsOptions,
    /// `-U` was given.
    uuid_given: bool,
    /// The device or image file.
    device: PathBuf,
}

/// Parses the command line; errors are usage messages.
fn parse_command(arguments: Vec<OsString>) -> Result<Command, String> {
    let parsed = args::parse(arguments, "fqP", "NLU")?;
    let mut command = Command {
        force: false,
        quiet: false,
        options: MkfsOptions::default(),
        uuid_given: false,
        device: PathBuf::new(),
    };
    for option in parsed.options {
        let value = option.value.unwrap_or_default();
        let text = value.to_string_lossy();
        match option.letter {
            'f' => command.force = true,
            'q' => command.quiet = true,
            'P' => command.options.page_cache_root = true,
            'N' => {
                let inodes = text
                    .parse()
                    .map_err(|_| format!("invalid inode count '{text}'"))?;
                command.options.inodes = Some(inodes);
            }
            'L' => {
                command.options.label =
                    mkfs::parse_label(value.as_bytes()).map_err(|e| e.to_string())?;
            }
            'U' => {
                command.options.uuid =
                    mkfs::parse_uuid(&text).ok_or_else(|| format!("invalid UUID '{text}'"))?;
                command.uuid_given = true;
            }
            other => return Err(format!("unexpected option '-{other}'")),
        }
    }
    let mut operands = parsed.operands.into_iter();
    command.device = operands.next().ok_or("no device given")?.into();
    if let Some(blocks) = operands.next() {
        let text = blocks.to_string_lossy();
        let blocks = text
            .parse()
            .map_err(|_| format!("invalid block count '{text}'"))?;
        command.options.blocks = Some(blocks);
    }
    if operands.next().is_some() {
        return Err("too many arguments".into());
    }
    Ok(command)
}

/// Creates the file system; errors are one-line messages.
fn run(mut command: Command) -> Result<(), String> {
    let path = command.device.display().to_string();
    let mut device = Device::open(&command.device, Access::ReadWrite).map_err(|e| e.to_string())?;
    if !command.force {
        if let Some(name) = mkfs::detect_signature(&device).map_err(|e| e.to_string())? {
            return Err(format!(
                "{path} contains a {name} file system; use -f to overwrite it"
            ));
        }
    }
    if !command.uuid_given {
        command.options.uuid = mkfs::random_uuid().map_err(|e| e.to_string())?;
    }
    command.options.time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let sb =
        mkfs::make_filesystem(&mut device, &command.options).map_err(|e| format!("{path}: {e}"))?;
    if !command.quiet {
        let mib = sb.total_blocks * BLOCK_SIZE_U64 / (1 << 20);
        println!(
            "{PROGRAM}: {path}: {} blocks of 4096 bytes ({mib} MiB), {} inodes",
            sb.total_blocks, sb.inode_count
        );
        println!(
            "  bitmap {}+{}, inode table {}+{}, data {}-{} ({} blocks)",
            sb.bitmap_start,
            sb.bitmap_blocks,
            sb.inode_table_start,
            sb.inode_table_blocks,
            sb.data_start,
            sb.total_blocks - 1,
            sb.data_blocks()
        );
        println!(
            "  uuid {}, label '{}'",
            mkfs::format_uuid(&sb.uuid),
            sb.label_bytes().escape_ascii()
        );
        if device.block_count() > sb.total_blocks {
            println!(
                "  ({} trailing blocks unused)",
                device.block_count() - sb.total_blocks
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    args::tool_main(PROGRAM, USAGE, 1, parse_command, run)
}
