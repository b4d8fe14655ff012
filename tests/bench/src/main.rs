// SPDX-License-Identifier: GPL-2.0

//! `daxfs-bench`: the parts of `make bench` that a shell cannot do well.
//!
//! In the VM (`tests/bench/guest.sh`), one workload per call; each prints `name value` lines:
//! - `touch FILE MIB small|huge`: first-touch write faults over a sparse file;
//! - `touch-parallel DIR MIB THREADS`: the same (huge) by threads on files of their own;
//! - `reread FILE`: a second read of a whole mapped file;
//! - `truncate FILE`: truncate to zero of a fully mapped, faulted file;
//! - `files DIR COUNT`: create, stat and unlink COUNT small files;
//! - `memcpy MIB`: the memory-copy ceiling.
//!
//! On the host (`scripts/bench.sh`): `report ROWS.csv OUTDIR ABOUT` builds the tables and plot.

use std::process::exit;

mod report;
mod workload;

type Res<T = ()> = Result<T, String>;

fn number(arg: Option<&String>, what: &str) -> Res<usize> {
    arg.ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|_| format!("{what} is not a number"))
}

fn run(args: &[String]) -> Res {
    let arg = |i: usize, what: &str| -> Res<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing {what}"))
    };
    match arg(1, "a command")? {
        "touch" => workload::touch(
            arg(2, "FILE")?,
            number(args.get(3), "MIB")?,
            arg(4, "small|huge")?,
        ),
        "touch-parallel" => workload::touch_parallel(
            arg(2, "DIR")?,
            number(args.get(3), "MIB")?,
            number(args.get(4), "THREADS")?,
        ),
        "reread" => workload::reread(arg(2, "FILE")?),
        "truncate" => workload::truncate(arg(2, "FILE")?),
        "files" => workload::files(arg(2, "DIR")?, number(args.get(3), "COUNT")?),
        "memcpy" => workload::memcpy(number(args.get(2), "MIB")?),
        "sparse" => workload::sparse(
            arg(2, "DIR")?,
            number(args.get(3), "MIB")?,
            number(args.get(4), "COUNT")?,
        ),
        "fallocate" => workload::fallocate(arg(2, "FILE")?, number(args.get(3), "MIB")?),
        "report" => report::report(arg(2, "ROWS.csv")?, arg(3, "OUTDIR")?, arg(4, "ABOUT")?),
        other => Err(format!("unknown command '{other}'")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) = run(&args) {
        eprintln!(
            "daxfs-bench: {}: {e}",
            args.get(1).map_or("", String::as_str)
        );
        exit(1);
    }
}
