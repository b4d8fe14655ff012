// SPDX-License-Identifier: GPL-2.0

//! `daxfs-crashtest [--subsets N] [--seed S] [--guest-results FILE | --replay-only |
//! --emit COUNT OUTDIR] DIR...`: the host half of the crash-state explorer.
//!
//! Each DIR holds one recorded workload (tests/crash/record-workloads.sh): `base.img`, the image
//! before it, `store.log`, the metadata stores and fences it issued, `after.img`, the image
//! after it, and for a workload of several system calls `step-1.img` and on, the images between
//! them. First the log replayed on `base.img` must give `after.img` exactly: else a store
//! escaped the recorder, and the workload fails without its states being checked
//! (`--replay-only` stops there). Then every crash state that `daxfs_tools::crash` builds (each
//! prefix of each fence interval, N seeded subsets of each, default 16, and the final image) is
//! checked (`Explorer::check`): fsck -n finds no more than what is harmless after a crash, and
//! every inode and directory entry is as before the workload or as after it. With
//! `--guest-results FILE`, a state the guest could not mount or read (lines
//! `NAME<TAB>STATE<TAB>WHY`, tests/crash/mount-states.sh) fails too.
//!
//! Prints one line per workload, `NAME: S states, F failed`, with the first failing state and
//! its problems, then `crashtest: S states checked, F failed` (a workload whose log does not
//! replay counts as one failed state). Exits 0 if none failed, 1 if some did or a workload could
//! not be read, 2 on a usage error.
//!
//! `--emit COUNT OUTDIR` checks nothing: it writes a seeded sample of COUNT states of each
//! workload (the final image first, then states of the same `--subsets` and `--seed`) to
//! `OUTDIR/NAME/K.img`, with `OUTDIR/NAME/states.txt` naming each (`K.img<TAB>STATE`), for the
//! guest to mount.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

use daxfs_tools::args;
use daxfs_tools::crash::parse_log;
use daxfs_tools::crash::state_name;
use daxfs_tools::crash::Explorer;

/// The program name, for messages.
const PROGRAM: &str = "daxfs-crashtest";

/// The usage line.
const USAGE: &str = "usage: daxfs-crashtest [--subsets N] [--seed S] \
    [--guest-results FILE | --replay-only | --emit COUNT OUTDIR] DIR...";

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
    /// What to do with each workload.
    mode: Mode,
    /// What the guest found mounting states: (workload, state) to why it failed.
    guest: HashMap<(String, String), String>,
    /// The workload directories.
    dirs: Vec<PathBuf>,
}

/// What to do with each workload.
enum Mode {
    /// Check its crash states.
    Check,
    /// Check only that its log replays to the image after it.
    ReplayOnly,
    /// Write a sample of its crash states for the guest.
    Emit {
        /// States per workload.
        count: usize,
        /// Where to write them.
        out: PathBuf,
    },
}

/// Reads the guest's results: lines `NAME<TAB>STATE<TAB>WHY` of the states it failed on.
fn read_guest_results(path: &Path) -> Result<HashMap<(String, String), String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(name), Some(state), Some(why)) => {
                    Ok(((name.to_string(), state.to_string()), why.to_string()))
                }
                _ => Err(format!("{}: bad line '{line}'", path.display())),
            }
        })
        .collect()
}

/// Parses the command line; errors are usage messages.
fn parse_command(arguments: Vec<OsString>) -> Result<Command, String> {
    let mut command = Command {
        subsets: 16,
        seed: 1,
        mode: Mode::Check,
        guest: HashMap::new(),
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
            "--replay-only" => command.mode = Mode::ReplayOnly,
            "--emit" => {
                let count = usize::try_from(value("--emit")?)
                    .map_err(|_| "--emit is too large".to_string())?;
                let out = arguments
                    .next()
                    .ok_or("option '--emit' needs a directory")?;
                command.mode = Mode::Emit {
                    count,
                    out: out.into(),
                };
            }
            "--guest-results" => {
                let path = arguments
                    .next()
                    .ok_or("option '--guest-results' needs a file")?;
                command.guest = read_guest_results(Path::new(&path))?;
            }
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

/// Reads the workload in `dir`, checks that its log replays to the image after it, then checks
/// its crash states or writes a sample of them, as the mode says; prints its line and returns
/// the states checked and failed. A log that does not replay is one failed state; with
/// `--replay-only` each log is one state.
fn check_workload(dir: &Path, command: &Command) -> Result<(usize, usize), String> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    let base = read("base.img")?;
    let after = read("after.img")?;
    let log = read("store.log")?;
    let events = parse_log(&log).map_err(|e| format!("{}: {e}", dir.display()))?;
    let explorer = Explorer::new(base, &events).with_steps(read_steps(dir)?);
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
    match &command.mode {
        Mode::ReplayOnly => {
            println!(
                "{name}: the log ({words} words in {} fence intervals) replays to after.img",
                explorer.intervals().len()
            );
            Ok((1, 0))
        }
        Mode::Emit { count, out } => {
            let dir = out.join(&*name);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
            let mut list = String::new();
            let sample = explorer.sample(command.subsets, command.seed, *count);
            for (k, id) in sample.iter().enumerate() {
                let path = dir.join(format!("{k}.img"));
                std::fs::write(&path, explorer.image_of(*id))
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                writeln!(list, "{k}.img\t{}", state_name(*id)).expect("writing to a String");
            }
            let path = dir.join("states.txt");
            std::fs::write(&path, list).map_err(|e| format!("writing {}: {e}", path.display()))?;
            println!(
                "{name}: {} states written to {}",
                sample.len(),
                dir.display()
            );
            Ok((0, 0))
        }
        Mode::Check => Ok(check_states(&name, &explorer, command)),
    }
}

/// Checks the crash states of the workload `name`; prints its line and returns the states
/// checked and failed.
fn check_states(name: &str, explorer: &Explorer, command: &Command) -> (usize, usize) {
    let guest: HashMap<String, String> = command
        .guest
        .iter()
        .filter(|((workload, _), _)| workload == name)
        .map(|((_, state), why)| (state.clone(), why.clone()))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = explorer.check(command.subsets, command.seed, threads, &guest);
    print!(
        "{name}: {} states in {} fence intervals, {} failed",
        report.checked,
        explorer.intervals().len(),
        report.failed
    );
    match &report.first_failure {
        None => println!(),
        Some((state, problems)) => {
            println!("; first: {} (--seed {}):", state_name(*state), command.seed);
            for problem in problems.iter().take(SHOWN_PROBLEMS) {
                println!("    {problem}");
            }
            if problems.len() > SHOWN_PROBLEMS {
                println!("    ... {} more", problems.len() - SHOWN_PROBLEMS);
            }
        }
    }
    (report.checked, report.failed)
}

/// The images between the system calls of a workload of several: `step-1.img`, `step-2.img`
/// and on, as many as there are.
fn read_steps(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let mut steps = Vec::new();
    loop {
        let path = dir.join(format!("step-{}.img", steps.len() + 1));
        match std::fs::read(&path) {
            Ok(image) => steps.push(image),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(steps),
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
    }
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
    match command.mode {
        Mode::ReplayOnly => println!(
            "crashtest: {checked} logs replayed, {failed} did not give the image after them"
        ),
        Mode::Emit { .. } if failed == 0 => {}
        _ => println!("crashtest: {checked} states checked, {failed} failed"),
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
