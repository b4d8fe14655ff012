// SPDX-License-Identifier: GPL-2.0

//! `daxfs-crashtest [--subsets N] [--seed S] [--replay-only] DIR...`: the host half of the
//! crash-state explorer.
//!
//! Each DIR holds one recorded workload (tests/crash/record-workloads.sh): `base.img`, the image
//! before it, `store.log`, the metadata stores and fences it issued, and `after.img`, the image
//! after it. First the log replayed on `base.img` must give `after.img` exactly: else a store
//! escaped the recorder, and the workload fails without its states being checked
//! (`--replay-only` stops there). Then every crash
//! state that `daxfs_tools::crash` builds (each prefix of each fence interval, N seeded subsets
//! of each, default 16, and the final image) is checked with an in-process `fsck -n`: a state
//! fails if fsck finds more than the classes harmless after a crash. Prints one line per
//! workload, `NAME: S states, F failed`, with the first failing state and its problems, then
//! `crashtest: S states checked, F failed` (a workload whose log does not replay counts as one
//! failed state). Exits 0 if none failed, 1 if some did or a workload
//! could not be read, 2 on a usage error.

use std::ffi::OsString;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

use daxfs_tools::args;
use daxfs_tools::crash::parse_log;
use daxfs_tools::crash::Explorer;

/// The program name, for messages.
const PROGRAM: &str = "daxfs-crashtest";

/// The usage line.
const USAGE: &str = "usage: daxfs-crashtest [--subsets N] [--seed S] [--replay-only] DIR...";

/// Exit status of a usage error.
const EXIT_USAGE: u8 = 2;

/// Problems of a failing state printed at most.
const SHOWN_PROBLEMS: usize = 4;

/// What the command line asks for.
struct Command {
    /// Seeded subsets per fence interval.
    subsets: usize,
    /// The seed of the subsets.
    seed: u64,
    /// Check only that each log replays to the image after it.
    replay_only: bool,
    /// The workload directories.
    dirs: Vec<PathBuf>,
}

/// Parses the command line; errors are usage messages.
fn parse_command(arguments: Vec<OsString>) -> Result<Command, String> {
    let mut command = Command {
        subsets: 16,
        seed: 1,
        replay_only: false,
        dirs: Vec::new(),
    };
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let text = argument.to_string_lossy().into_owned();
        let mut value = |name: &str| -> Result<u64, String> {
            let value = arguments
                .next()
                .ok_or(format!("option '{name}' needs a value"))?;
            let value = value.to_string_lossy();
            value
                .parse()
                .map_err(|_| format!("invalid value '{value}' for '{name}'"))
        };
        match text.as_str() {
            "--subsets" => {
                command.subsets = usize::try_from(value("--subsets")?)
                    .map_err(|_| "--subsets is too large".to_string())?;
            }
            "--seed" => command.seed = value("--seed")?,
            "--replay-only" => command.replay_only = true,
            "--" => command.dirs.extend(arguments.by_ref().map(PathBuf::from)),
            option if option.starts_with('-') => {
                return Err(format!("unknown option '{option}'"));
            }
            _ => command.dirs.push(argument.into()),
        }
    }
    if command.dirs.is_empty() {
        return Err("no workload directory given".into());
    }
    Ok(command)
}

/// Reads the workload in `dir`, checks that its log replays to the image after it, then (unless
/// `--replay-only`) checks its crash states; prints its line and returns the states checked and
/// failed. A log that does not replay is one failed state; with `--replay-only` each log is one
/// state.
fn check_workload(dir: &Path, command: &Command) -> Result<(usize, usize), String> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    let base = read("base.img")?;
    let after = read("after.img")?;
    let log = read("store.log")?;
    let events = parse_log(&log).map_err(|e| format!("{}: {e}", dir.display()))?;
    let explorer = Explorer::new(base, &events);
    let name = dir.file_name().unwrap_or(dir.as_os_str()).to_string_lossy();
    let replayed = explorer.final_image();
    if let Some(at) = first_difference(&replayed, &after) {
        println!(
            "{name}: the log replayed on base.img differs from after.img at byte {at:#x} \
             (block {}): a store escaped the recorder",
            at / 4096
        );
        return Ok((1, 1));
    }
    let words: usize = explorer.intervals().iter().map(Vec::len).sum();
    if command.replay_only {
        println!(
            "{name}: the log ({words} words in {} fence intervals) replays to after.img",
            explorer.intervals().len()
        );
        return Ok((1, 0));
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = explorer.check(command.subsets, command.seed, threads);
    print!(
        "{name}: {} states in {} fence intervals, {} failed",
        report.checked,
        explorer.intervals().len(),
        report.failed
    );
    match &report.first_failure {
        None => println!(),
        Some((state, problems)) => {
            let state = state.map_or("the final image".to_string(), |id| id.to_string());
            println!("; first: {state} (--seed {}):", command.seed);
            for problem in problems.iter().take(SHOWN_PROBLEMS) {
                println!("    {problem}");
            }
            if problems.len() > SHOWN_PROBLEMS {
                println!("    ... {} more", problems.len() - SHOWN_PROBLEMS);
            }
        }
    }
    Ok((report.checked, report.failed))
}

/// The first byte offset at which `a` and `b` differ, their lengths included.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Runs the command; an unreadable workload is an error after the others are checked.
fn run(command: Command) -> Result<(), String> {
    let (mut checked, mut failed, mut unreadable) = (0, 0, 0);
    for dir in &command.dirs {
        match check_workload(dir, &command) {
            Ok((states, failures)) => {
                checked += states;
                failed += failures;
            }
            Err(message) => {
                eprintln!("{PROGRAM}: {message}");
                unreadable += 1;
            }
        }
    }
    if command.replay_only {
        println!("crashtest: {checked} logs replayed, {failed} did not give the image after them");
    } else {
        println!("crashtest: {checked} states checked, {failed} failed");
    }
    match (failed, unreadable) {
        (0, 0) => Ok(()),
        (_, 0) => Err(format!("{failed} failed")),
        _ => Err(format!("{unreadable} workloads could not be read")),
    }
}

fn main() -> ExitCode {
    args::tool_main(PROGRAM, USAGE, EXIT_USAGE, parse_command, run)
}
