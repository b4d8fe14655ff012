// SPDX-License-Identifier: GPL-2.0

//! `fsck.daxfs [-n] [-y|-p|-a] [-f] [-v] DEVICE`: checks, and with `-y`, `-p` or `-a` repairs,
//! a daxfs file system.
//!
//! Without `-y`, `-p` or `-a` it only checks, opening the device read-only, as with `-n`; it
//! never asks questions. `-f` is accepted for compatibility: the check is always complete.
//! Exit status as fsck(8): 0 clean, 1 errors corrected, 4 errors left uncorrected,
//! 8 operational error, 16 usage error.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use daxfs_tools::args;
use daxfs_tools::device::Access;
use daxfs_tools::device::Device;
use daxfs_tools::fsck;
use daxfs_tools::fsck::FsckOptions;

/// The program name, for messages.
const PROGRAM: &str = "fsck.daxfs";

/// The usage line.
const USAGE: &str = "usage: fsck.daxfs [-n] [-y|-p|-a] [-f] [-v] DEVICE";

/// Parses the command line into options and the device; errors are usage messages.
fn parse_command(arguments: Vec<OsString>) -> Result<(FsckOptions, PathBuf), String> {
    let parsed = args::parse(arguments, "nypafv", "")?;
    let mut options = FsckOptions::default();
    let mut read_only = false;
    for option in parsed.options {
        match option.letter {
            'n' => read_only = true,
            'y' | 'p' | 'a' => options.repair = true,
            'v' => options.verbose = true,
            _ => {}
        }
    }
    if read_only && options.repair {
        return Err("-n cannot be combined with -y, -p or -a".into());
    }
    let mut operands = parsed.operands.into_iter();
    let device = operands.next().ok_or("no device given")?;
    if operands.next().is_some() {
        return Err("too many arguments".into());
    }
    Ok((options, device.into()))
}

fn main() -> ExitCode {
    let (options, path) = match parse_command(std::env::args_os().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{PROGRAM}: {message}\n{USAGE}");
            return ExitCode::from(fsck::EXIT_USAGE as u8);
        }
    };
    let access = if options.repair {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    };
    let shown = path.display().to_string();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let outcome = Device::open(&path, access)
        .and_then(|mut device| fsck::check(&mut device, &options, &mut out));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            let _ = out.flush();
            eprintln!("{PROGRAM}: {shown}: {error}");
            return ExitCode::from(fsck::EXIT_OPERATIONAL as u8);
        }
    };
    let verdict = match (outcome.problems.len(), outcome.unfixed()) {
        (0, _) => "clean".to_string(),
        (found, 0) => format!("{found} problems found, all fixed"),
        (found, left) if options.repair => format!("{found} problems found, {left} not fixed"),
        (found, _) => format!("{found} problems found, none fixed (check only)"),
    };
    let _ = writeln!(
        out,
        "{shown}: {verdict}; {}/{} inodes, {}/{} blocks in use",
        outcome.inodes_used, outcome.inode_count, outcome.blocks_used, outcome.total_blocks
    );
    ExitCode::from(outcome.exit_code() as u8)
}
