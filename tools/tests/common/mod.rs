// SPDX-License-Identifier: GPL-2.0

//! Helpers shared by the integration tests: temporary image files and running the tools.

#![allow(dead_code)] // Each test crate uses a different subset.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;

use daxfs_tools::builder::ImageBuilder;

/// The mkfs binary.
pub const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-daxfs");
/// The fsck binary.
pub const FSCK: &str = env!("CARGO_BIN_EXE_fsck-daxfs");

/// Blocks in the test images (4 MiB).
pub const IMAGE_BLOCKS: u64 = 1024;

/// An image file in the temporary directory, removed when dropped.
pub struct TempImage {
    /// Its path.
    pub path: PathBuf,
}

impl TempImage {
    /// A new empty file with a name unique to this process and call.
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("daxfs-test-{}-{tag}-{unique}.img", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, []).expect("creating the image file");
        Self { path }
    }

    /// A new sparse zeroed file of `blocks` blocks.
    pub fn zeroed(tag: &str, blocks: u64) -> Self {
        let image = Self::new(tag);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&image.path)
            .expect("opening the image file");
        file.set_len(blocks * 4096).expect("sizing the image file");
        image
    }

    /// A new file holding `bytes`.
    pub fn with_bytes(tag: &str, bytes: &[u8]) -> Self {
        let image = Self::new(tag);
        image.write(bytes);
        image
    }

    /// The file's contents.
    pub fn read(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("reading the image file")
    }

    /// Replaces the file's contents.
    pub fn write(&self, bytes: &[u8]) {
        std::fs::write(&self.path, bytes).expect("writing the image file");
    }

    /// The path as a string argument.
    pub fn arg(&self) -> &str {
        self.path.to_str().expect("temporary path is UTF-8")
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a tool run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Everything printed, for assertion messages.
    pub fn output(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `program` with `args` and no standard input.
pub fn run(program: &str, args: &[&str]) -> Run {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running the tool");
    Run {
        code: output.status.code().expect("tool killed by a signal"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `program` with `args` and an endless stream of `y` lines on standard input, like
/// `yes | program args`.
pub fn run_with_yes(program: &str, args: &[&str]) -> Run {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the tool");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let feeder = std::thread::spawn(move || {
        // Like yes(1): write until the reader goes away.
        let lines = "y\n".repeat(4096);
        while stdin.write_all(lines.as_bytes()).is_ok() {}
    });
    let output = child.wait_with_output().expect("waiting for the tool");
    feeder.join().expect("feeder thread");
    Run {
        code: output.status.code().expect("tool killed by a signal"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs fsck with `options` on `image`.
pub fn fsck(options: &[&str], image: &TempImage) -> Run {
    let mut args = options.to_vec();
    args.push(image.arg());
    run(FSCK, &args)
}

/// The standard populated test image, and its inode numbers by name.
pub fn populated() -> (ImageBuilder, Vec<(&'static str, u64)>) {
    ImageBuilder::populated(IMAGE_BLOCKS).expect("building the test image")
}

/// The inode number called `name` in a [`populated`] image.
pub fn ino(names: &[(&'static str, u64)], name: &str) -> u64 {
    names
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, ino)| ino)
        .unwrap_or_else(|| panic!("no inode called {name}"))
}
