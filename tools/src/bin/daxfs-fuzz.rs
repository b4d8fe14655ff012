// SPDX-License-Identifier: GPL-2.0

//! `daxfs-fuzz --seed N OUTPUT`: writes the seed image mutated by seed `N` (see
//! `daxfs_tools::fuzz`) to OUTPUT from offset 0, and prints one line, `seed N: MUTATIONS` (the
//! mutations joined by `; `, or `pristine` for seed 0).
//!
//! OUTPUT is a regular file, created or truncated, or a block device, of which only the image's
//! bytes are written (then synced). `daxfs-fuzz --list-targets` prints where the seed image's
//! structures are instead. Exits 0 on success, 1 on an I/O error, 2 on a usage error.

use std::ffi::OsString;
use std::fs::File;
use std::fs::OpenOptions;
use std::io::Seek;
use std::io::SeekFrom;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

use daxfs_tools::args;
use daxfs_tools::fuzz::Corpus;
use daxfs_tools::fuzz::Targets;

/// The program name, for messages.
const PROGRAM: &str = "daxfs-fuzz";

/// The usage line.
const USAGE: &str = "usage: daxfs-fuzz --seed N OUTPUT\n       daxfs-fuzz --list-targets";

/// Exit status of a usage error.
const EXIT_USAGE: u8 = 2;

/// What the command line asks for.
enum Command {
    /// Write the image of a seed to a file or device.
    Write {
        /// The seed.
        seed: u64,
        /// The file or block device.
        output: PathBuf,
    },
    /// Print the targets of the seed image.
    ListTargets,
}

/// Parses the command line; errors are usage messages.
fn parse_command(arguments: Vec<OsString>) -> Result<Command, String> {
    let mut seed = None;
    let mut list_targets = false;
    let mut operands = Vec::new();
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let text = argument.to_string_lossy();
        if text == "--" {
            operands.extend(arguments.by_ref());
        } else if let Some(value) = text.strip_prefix("--seed=") {
            seed = Some(parse_seed(value)?);
        } else if text == "--seed" {
            let value = arguments.next().ok_or("option '--seed' needs a value")?;
            seed = Some(parse_seed(&value.to_string_lossy())?);
        } else if text == "--list-targets" {
            list_targets = true;
        } else if text.starts_with('-') && text.len() > 1 {
            return Err(format!("unknown option '{text}'"));
        } else {
            operands.push(argument);
        }
    }
    match (seed, list_targets, operands.len()) {
        (None, true, 0) => Ok(Command::ListTargets),
        (Some(seed), false, 1) => Ok(Command::Write {
            seed,
            output: operands.remove(0).into(),
        }),
        (None, false, _) => Err("no seed given".into()),
        (_, true, _) => Err("--list-targets takes no other arguments".into()),
        (Some(_), false, 0) => Err("no output given".into()),
        (Some(_), false, _) => Err("too many arguments".into()),
    }
}

/// Parses a seed: a decimal number.
fn parse_seed(value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| format!("invalid seed '{value}'"))
}

/// Writes `image` to `output` from offset 0: a block device is written in place and synced,
/// anything else is created or truncated as a regular file.
fn write_image(output: &Path, image: &[u8]) -> Result<(), String> {
    let shown = output.display();
    let is_block_device =
        std::fs::metadata(output).is_ok_and(|metadata| metadata.file_type().is_block_device());
    let file = if is_block_device {
        let mut device = OpenOptions::new()
            .write(true)
            .open(output)
            .map_err(|e| format!("opening {shown}: {e}"))?;
        let size = device
            .seek(SeekFrom::End(0))
            .map_err(|e| format!("getting the size of {shown}: {e}"))?;
        if size < image.len() as u64 {
            return Err(format!(
                "{shown}: {size} bytes, too small for the {}-byte image",
                image.len()
            ));
        }
        device
    } else {
        File::create(output).map_err(|e| format!("creating {shown}: {e}"))?
    };
    file.write_all_at(image, 0)
        .map_err(|e| format!("writing {shown}: {e}"))?;
    if is_block_device {
        file.sync_all()
            .map_err(|e| format!("syncing {shown}: {e}"))?;
    }
    Ok(())
}

/// Prints the targets of the seed image, one per line.
fn print_targets(targets: &Targets) {
    let sb = &targets.superblock;
    println!(
        "superblock: block 0, {} blocks, bitmap {}+{}, inode table {}+{} ({} inodes), data from {}",
        sb.total_blocks,
        sb.bitmap_start,
        sb.bitmap_blocks,
        sb.inode_table_start,
        sb.inode_table_blocks,
        sb.inode_count,
        sb.data_start
    );
    for block in &targets.bitmap_blocks {
        println!("bitmap block {block}");
    }
    for inode in &targets.inodes {
        println!(
            "inode {}: {} {} at byte {:#x}, {} extents",
            inode.ino,
            inode.file_type.name(),
            inode.what,
            inode.offset,
            inode.extent_count
        );
    }
    for &(ino, offset) in &targets.free_inode_slots {
        println!("free inode {ino}: at byte {offset:#x}");
    }
    let lists = [
        ("directory block", &targets.directory_blocks),
        ("overflow block", &targets.overflow_blocks),
    ];
    for (what, list) in lists {
        for owned in list {
            println!("{what} {}: inode {}", owned.block, owned.owner);
        }
    }
    let symlink = targets.symlink_block;
    println!(
        "symlink block {}: inode {}, {} bytes",
        symlink.block, symlink.owner, targets.symlink_len
    );
    println!("data blocks: {}", targets.data_blocks.len());
    println!("orphan list: {:?}", targets.orphans);
}

/// Runs the command; errors are I/O messages.
fn run(command: Command) -> Result<(), String> {
    let corpus = Corpus::new().map_err(|e| format!("building the seed image: {e}"))?;
    match command {
        Command::ListTargets => print_targets(corpus.targets()),
        Command::Write { seed, output } => {
            let mutated = corpus.mutate(seed);
            write_image(&output, &mutated.image)?;
            println!("seed {seed}: {}", mutated.summary());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    args::tool_main(PROGRAM, USAGE, EXIT_USAGE, parse_command, run)
}
