// SPDX-License-Identifier: GPL-2.0

//! `daxfs-fuzz-vm FIRST COUNT DEVICE MOUNTPOINT OUTDIR [IMAGE_TIMEOUT]`: the in-guest loop of the
//! image fuzzer (`make fuzz`, and its sample in `make check`), in one process: under TCG with
//! KASAN every exec costs a third of a second, more than an image's own work.
//!
//! For each seed from FIRST on, COUNT of them, it writes the image of
//! [`Corpus::mutate`](daxfs_tools::fuzz::Corpus::mutate) to DEVICE (O_DIRECT, so no page cache
//! holds an older image), mounts it on MOUNTPOINT and, in a child with IMAGE_TIMEOUT seconds
//! (default 60), uses it: it walks the tree, stats and reads every file and symlink and the
//! extended attributes of every name, then appends, writes and truncates files, maps them and
//! reads and writes through the mapping, sets and removes attributes of files and directories,
//! creates, links, renames and removes names, makes and removes directories, and walks the
//! tree again. Then it unmounts. Errors are expected on a corrupted image and are only
//! counted: what is checked is the kernel (no report, no hang), by the harness around this.
//! Mapped accesses run in a forked grandchild, since a corrupted file may answer a fault with
//! SIGBUS.
//!
//! First the pristine image must mount: otherwise (module not loaded, say) every image would
//! count as refused. Before each image is written, its seed and mutations go to
//! `OUTDIR/current` and to the kernel log (`daxfs-fuzz: seed N: ...`), so that a kernel report
//! or a guest crash can be tied to it; the device past the image is zeroed where an earlier
//! image's file system could have written, so that a seed's image is the same whatever ran
//! before. `OUTDIR/results.txt` gets one line per image,
//! `SEED refused ERRNO|mounted ops N errors N euclean N|died (WHY)|hang after N s | DAX; MUTATIONS`
//! (DAX: the `dax=` option of the mount, `dax=never` for one seed in four),
//! and `OUTDIR/summary` the counts at the end. A hang logs the blocked tasks' stacks (sysrq
//! `w`). An image whose task is stuck in the kernel, or whose file system cannot be unmounted,
//! stops the run (the next mount would reuse its superblock): exit status 3, as for a hang or
//! a dead exercise. Bad arguments exit 2; I/O errors, and mount errors that are not the
//! image's, exit 1.

use daxfs_selftest::Map;
use daxfs_tools::{
    format::{
        sb_off,
        BLOCK_SIZE_U64, //
    },
    fuzz::Corpus,
};
use std::{
    ffi::{
        CStr,
        CString, //
    },
    fs::{
        self,
        File,
        OpenOptions, //
    },
    io::{
        self,
        Read,
        Seek,
        SeekFrom,
        Write, //
    },
    os::unix::{
        ffi::OsStrExt,
        fs::{
            FileExt,
            OpenOptionsExt, //
        },
        io::AsRawFd,
        net::UnixStream,
    },
    path::{
        Path,
        PathBuf, //
    },
    process::exit,
    time::{
        Duration,
        Instant, //
    },
};

/// Deepest directory the walk enters: a corrupted image may nest (or loop) without end.
const MAX_DEPTH: usize = 8;
/// Most names the walk visits.
const MAX_NAMES: usize = 2000;
/// Bytes read from the start and from the end of each file: a sparse file may be a gigabyte.
const READ_SPAN: u64 = 64 * 1024;
/// Files and directories that the changing part works on, chosen by the seed: all of them
/// every image would cost more than the rest of the image's work.
const MAX_CHANGED: usize = 4;

/// What the walk found.
#[derive(Default)]
struct Tree {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

/// Counts of what was done.
#[derive(Default)]
struct Tally {
    ops: u64,
    errors: u64,
    euclean: u64,
}

impl Tally {
    /// Counts `result` of one operation, and gives its value back if it succeeded.
    fn count<T>(&mut self, result: io::Result<T>) -> Option<T> {
        self.ops += 1;
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors += 1;
                if error.raw_os_error() == Some(libc::EUCLEAN) {
                    self.euclean += 1;
                }
                None
            }
        }
    }
}

/// Walks `dir` (at `depth`), stating every name and, if `read`, reading files and symlinks;
/// collects files and directories into `tree`.
fn walk(dir: &Path, depth: usize, read: bool, tree: &mut Tree, tally: &mut Tally) {
    tree.dirs.push(dir.to_path_buf());
    let Some(entries) = tally.count(fs::read_dir(dir)) else {
        return;
    };
    for entry in entries {
        if tree.files.len() + tree.dirs.len() >= MAX_NAMES {
            return;
        }
        let Some(entry) = tally.count(entry) else {
            return; // A failed readdir step does not advance.
        };
        let path = entry.path();
        let Some(meta) = tally.count(fs::symlink_metadata(&path)) else {
            continue;
        };
        let kind = meta.file_type();
        if read {
            use_xattrs(&path, false, tally);
        }
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, read, tree, tally);
            }
        } else if kind.is_symlink() && read {
            tally.count(fs::read_link(&path));
            tally.count(fs::metadata(&path)); // Follows it.
        } else if kind.is_file() {
            if read {
                read_ends(&path, meta.len(), tally);
            }
            tree.files.push(path);
        }
        // Opening a device or FIFO would block or touch a device: stat is enough.
    }
}

/// The result of a system call that returns -1 and sets `errno` on failure.
fn os_result(ret: isize) -> io::Result<usize> {
    // CAST: non-negative.
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// Lists the extended attributes of `path` (not following a symlink) and reads each; with
/// `change`, also sets one and removes the first listed.
fn use_xattrs(path: &Path, change: bool, tally: &mut Tally) {
    let Ok(cpath) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return;
    };
    let mut names = vec![0u8; 65536];
    // SAFETY: A NUL-terminated path and a buffer of `names.len()` bytes.
    let listed =
        unsafe { libc::llistxattr(cpath.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let Some(len) = tally.count(os_result(listed)) else {
        return;
    };
    names.truncate(len);
    let mut value = vec![0u8; 65536];
    let mut first = None;
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = std::ffi::CString::new(name) else {
            continue;
        };
        // SAFETY: NUL-terminated strings and a buffer of `value.len()` bytes.
        let got = unsafe {
            libc::lgetxattr(
                cpath.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        tally.count(os_result(got));
        first.get_or_insert(cname);
    }
    if !change {
        return;
    }
    let new = c"user.fuzz";
    // SAFETY: NUL-terminated strings and a value of 5 bytes.
    let set =
        unsafe { libc::lsetxattr(cpath.as_ptr(), new.as_ptr(), b"fuzz!".as_ptr().cast(), 5, 0) };
    tally.count(os_result(set as isize));
    if let Some(name) = first {
        // SAFETY: NUL-terminated strings.
        let removed = unsafe { libc::lremovexattr(cpath.as_ptr(), name.as_ptr()) };
        tally.count(os_result(removed as isize));
    }
}

/// Reads the first and last [`READ_SPAN`] bytes of the file at `path`, of size `len`.
fn read_ends(path: &Path, len: u64, tally: &mut Tally) {
    let Some(file) = tally.count(File::open(path)) else {
        return;
    };
    // CAST: a small constant.
    let mut buf = vec![0u8; READ_SPAN as usize];
    tally.count((&file).take(READ_SPAN).read_to_end(&mut Vec::new()));
    if len > READ_SPAN {
        tally.count(file.read_at(&mut buf, len - READ_SPAN));
    }
}

/// Writes, appends, maps and truncates the regular file at `path`.
fn change_file(path: &Path, tally: &mut Tally) {
    let Some(file) = tally.count(OpenOptions::new().read(true).write(true).open(path)) else {
        return;
    };
    let size = tally.count(file.metadata().map(|m| m.len())).unwrap_or(0);
    tally.count(file.write_at(&[0x5a; 100], size)); // Append.
    tally.count(file.write_at(&[0xa5; 4096], 8192));
    map_in_child(&file, tally);
    use_xattrs(path, true, tally);
    tally.count(file.set_len(5000));
    // SAFETY: A plain system call on an open descriptor.
    let ret = unsafe { libc::fallocate(file.as_raw_fd(), 0, 16384, 8192) };
    tally.count(if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    });
}

/// Maps the first pages of `file` (up to its size) in a forked child that reads and writes each
/// of them, and counts the child's end: a SIGBUS from a corrupted file is an error, not the end
/// of the exercise.
fn map_in_child(file: &File, tally: &mut Tally) {
    let Some(size) = tally.count(file.metadata().map(|m| m.len())) else {
        return;
    };
    // CAST: at most three pages.
    let len = size.min(3 * 4096) as usize;
    if len == 0 {
        return;
    }
    // SAFETY: The child only touches the mapping and exits with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = match Map::shared(file, len) {
            Ok(map) => {
                for offset in (0..len).step_by(4096) {
                    let value = map.read(offset);
                    map.write(offset, value ^ 0xff);
                }
                i32::from(map.msync().is_err())
            }
            Err(_) => 1,
        };
        // SAFETY: Ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    if pid < 0 {
        tally.count::<()>(Err(io::Error::last_os_error()));
        return;
    }
    let mut status = 0;
    // SAFETY: Waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let clean = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    tally.count(if clean {
        Ok(())
    } else {
        Err(io::Error::other("mapped access failed"))
    });
}

/// Creates, links, renames and removes names in the directory `dir`; `file` is a regular file
/// found by the walk, if any.
fn change_dir(dir: &Path, file: Option<&Path>, tally: &mut Tally) {
    let new = dir.join("fz-new");
    let sub = dir.join("fz-dir");
    tally.count(File::create(&new).and_then(|f| f.write_all_at(b"fuzz", 0)));
    tally.count(fs::create_dir(&sub));
    use_xattrs(dir, true, tally);
    tally.count(fs::rename(&new, sub.join("fz-moved")));
    tally.count(std::os::unix::fs::symlink(
        "fz-dir/fz-moved",
        dir.join("fz-sym"),
    ));
    if let Some(file) = file {
        let link = dir.join("fz-link");
        tally.count(fs::hard_link(file, &link));
        let renamed = dir.join("fz-renamed");
        tally.count(fs::rename(file, &renamed));
        tally.count(fs::rename(&renamed, file));
        tally.count(fs::remove_file(&link));
    }
    tally.count(fs::remove_file(sub.join("fz-moved")));
    tally.count(fs::remove_dir(&sub));
    tally.count(fs::remove_file(dir.join("fz-sym")));
}

/// Uses the file system mounted on `root` (the exercise described in the module docs); `seed`
/// picks the files and directories changed.
fn exercise(root: &Path, seed: u64) -> Tally {
    let mut tally = Tally::default();
    let mut tree = Tree::default();
    walk(root, 0, true, &mut tree, &mut tally);

    // CAST: only the low bits of the seed matter for the pick.
    let pick = |len: usize, k: usize| (seed as usize).wrapping_add(k) % len;
    let files = tree.files.len().min(MAX_CHANGED);
    for k in 0..files {
        change_file(&tree.files[pick(tree.files.len(), k)], &mut tally);
    }
    for k in 0..tree.dirs.len().min(MAX_CHANGED) {
        let dir = &tree.dirs[pick(tree.dirs.len(), k)];
        let file =
            (!tree.files.is_empty()).then(|| tree.files[pick(tree.files.len(), k)].as_path());
        change_dir(dir, file, &mut tally);
    }
    // A file and a directory go, then the tree is walked again.
    if !tree.files.is_empty() {
        tally.count(fs::remove_file(&tree.files[pick(tree.files.len(), 0)]));
    }
    if tree.dirs.len() > 1 {
        tally.count(fs::remove_dir(&tree.dirs[1 + pick(tree.dirs.len() - 1, 0)]));
    }
    walk(root, 0, false, &mut Tree::default(), &mut tally);
    // SAFETY: A plain system call.
    unsafe { libc::sync() };
    tally
}

/// How an image's exercise ended.
enum Outcome {
    /// It finished, with this tally line.
    Done(String),
    /// The child died (a signal, or no tally): a fault of the harness, or of the kernel
    /// killing it.
    Died(String),
    /// It outlived its time and was killed, with every process it forked.
    Killed,
    /// It outlived its time and could not be killed: a task is stuck in the kernel.
    Stuck,
}

/// Asks the kernel to log the stacks of blocked tasks (sysrq `w`), so that a hang comes with
/// where it hangs even when the harness gives up before the hung-task detector fires.
fn log_blocked_tasks() {
    let _ = fs::write("/proc/sysrq-trigger", "w");
}

/// Whether any process of the group `pgid` is left.
fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: Signal 0 only checks that the processes exist.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Runs [`exercise`] of `seed` on `root` in a child process, within `limit`.
fn exercise_in_child(root: &Path, seed: u64, limit: Duration) -> io::Result<Outcome> {
    let (mut parent_end, mut child_end) = UnixStream::pair()?;
    // SAFETY: This program is single-threaded; the child runs the exercise and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(parent_end);
        // SAFETY: Makes the child the leader of its own process group, so that a kill reaches
        // the children it forks for mapped accesses too.
        unsafe { libc::setpgid(0, 0) };
        let tally = exercise(root, seed);
        let line = format!(
            "ops {} errors {} euclean {}",
            tally.ops, tally.errors, tally.euclean
        );
        let code = i32::from(child_end.write_all(line.as_bytes()).is_err());
        // SAFETY: Ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    drop(child_end);
    // The parent too, so that no kill can miss a child that has not run setpgid yet.
    // SAFETY: Sets the process group of our own child.
    unsafe { libc::setpgid(pid, pid) };
    let start = Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: Polls our own child.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            break;
        }
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        if start.elapsed() > limit {
            log_blocked_tasks();
            // SAFETY: Kills the child's process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            // Every process of the group must be gone: one stuck in the kernel keeps the
            // file system busy, and the next mount would reuse its superblock.
            let killed = Instant::now();
            while killed.elapsed() < Duration::from_secs(10) {
                // SAFETY: Reaps our own child if it died (a grandchild goes to init).
                unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                if !group_alive(pid) {
                    return Ok(Outcome::Killed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            log_blocked_tasks();
            return Ok(Outcome::Stuck);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut line = String::new();
    parent_end.read_to_string(&mut line)?;
    if libc::WIFSIGNALED(status) {
        return Ok(Outcome::Died(format!(
            "killed by signal {}",
            libc::WTERMSIG(status)
        )));
    }
    if line.is_empty() || libc::WEXITSTATUS(status) != 0 {
        return Ok(Outcome::Died(format!(
            "exit status {} without a tally",
            libc::WEXITSTATUS(status)
        )));
    }
    Ok(Outcome::Done(line))
}

/// Writes `image` at the start of `device`, bypassing (and invalidating) its page cache, and
/// zeros the device from the image's end to `dirty_end`, where an earlier image's file system
/// may have written: the image of a seed is then the same whatever ran before.
fn write_image(device: &File, image: &[u8], dirty_end: u64) -> io::Result<()> {
    const CHUNK: usize = 1 << 20;
    // O_DIRECT wants a block-aligned buffer.
    let mut buf = vec![0u8; image.len().max(CHUNK) + 4096];
    let start = buf.as_ptr().align_offset(4096);
    let aligned = &mut buf[start..start + image.len()];
    aligned.copy_from_slice(image);
    device.write_all_at(aligned, 0)?;
    let zeros = &mut buf[start..start + CHUNK];
    zeros.fill(0);
    let mut at = image.len() as u64;
    while at < dirty_end {
        // CAST: at most CHUNK.
        let len = (dirty_end - at).min(CHUNK as u64) as usize;
        device.write_all_at(&zeros[..len], at)?;
        at += len as u64;
    }
    device.sync_all()
}

/// The end of what the file system of `image` may write on a device of `device_len` bytes:
/// its superblock's size, if it has one that fits the device.
fn fs_end(image: &[u8], device_len: u64) -> u64 {
    let total_blocks = image
        .get(sb_off::TOTAL_BLOCKS..sb_off::TOTAL_BLOCKS + 8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    total_blocks
        .saturating_mul(BLOCK_SIZE_U64)
        .min(device_len)
        .max(image.len() as u64)
}

/// The `dax=` mount option for the image of `seed`: `dax=always` for three seeds in four, since
/// the seed image's files lack the DAX flag and the DAX paths are what daxfs is for; the page
/// cache (`dax=never`) for the fourth, so that corrupted block maps meet readahead, writeback
/// and `page_mkwrite` too.
fn dax_option(seed: u64) -> &'static CStr {
    if seed % 4 == 3 {
        c"dax=never"
    } else {
        c"dax=always"
    }
}

/// Mounts the daxfs on `device` at `mnt`, with the `dax=` option `dax`.
fn mount(device: &CStr, mnt: &CStr, dax: &CStr) -> io::Result<()> {
    // SAFETY: All pointers are NUL-terminated strings that outlive the call.
    let ret = unsafe {
        libc::mount(
            device.as_ptr(),
            mnt.as_ptr(),
            c"daxfs".as_ptr(),
            0,
            dax.as_ptr().cast(),
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Unmounts `mnt`.
fn umount(mnt: &CStr) -> io::Result<()> {
    // SAFETY: A NUL-terminated string that outlives the call.
    if unsafe { libc::umount2(mnt.as_ptr(), 0) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether a mount failed for a reason that is not the image's: the module not loaded, the
/// device or mount point missing or busy. Running on would count every image as refused.
fn harness_mount_error(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::ENODEV | libc::ENOENT | libc::EBUSY | libc::ENOTBLK | libc::EPERM | libc::EACCES
        )
    )
}

/// The errno name of `error`, for the results.
fn errno_name(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::EUCLEAN) => "EUCLEAN".into(),
        Some(libc::EINVAL) => "EINVAL".into(),
        Some(libc::EIO) => "EIO".into(),
        Some(libc::ENOMEM) => "ENOMEM".into(),
        Some(libc::EROFS) => "EROFS".into(),
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP".into(),
        Some(errno) => format!("errno {errno}"),
        None => error.to_string(),
    }
}

/// The command line.
struct Args {
    first: u64,
    count: u64,
    device: PathBuf,
    mnt: PathBuf,
    out: PathBuf,
    limit: Duration,
}

/// Parses the command line, or exits 2 with the usage.
fn parse_args() -> Args {
    let usage = || -> ! {
        eprintln!("usage: daxfs-fuzz-vm FIRST COUNT DEVICE MOUNTPOINT OUTDIR [IMAGE_TIMEOUT]");
        exit(2)
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 && args.len() != 6 {
        usage();
    }
    let number = |s: &str| s.parse::<u64>().unwrap_or_else(|_| usage());
    Args {
        first: number(&args[0]),
        count: number(&args[1]),
        device: PathBuf::from(&args[2]),
        mnt: PathBuf::from(&args[3]),
        out: PathBuf::from(&args[4]),
        limit: Duration::from_secs(args.get(5).map_or(60, |s| number(s))),
    }
}

/// Runs the images and writes the summary; returns whether every image ran its course (no
/// hang, no dead exercise). Stops at an image whose task is stuck in the kernel or whose file
/// system cannot be unmounted, and at a mount error that is not the image's.
fn run(args: &Args) -> io::Result<bool> {
    let corpus = Corpus::new().map_err(|e| io::Error::other(e.to_string()))?;
    let mut device = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(&args.device)?;
    let device_len = device.seek(SeekFrom::End(0))?;
    let c_path = |path: &Path| {
        CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::other("NUL in a path"))
    };
    let (device_name, mnt) = (c_path(&args.device)?, c_path(&args.mnt)?);
    fs::create_dir_all(&args.out)?;
    let mut results = File::create(args.out.join("results.txt"))?;
    let mut kmsg = OpenOptions::new().write(true).open("/dev/kmsg")?;

    // Earlier users of the device may have left anything past the image.
    let mut dirty_end = device_len;
    // The harness works: the pristine image mounts.
    write_image(&device, corpus.image(), dirty_end)?;
    dirty_end = fs_end(corpus.image(), device_len);
    mount(&device_name, &mnt, dax_option(0))
        .and_then(|()| umount(&mnt))
        .map_err(|e| io::Error::other(format!("the pristine image does not mount: {e}")))?;

    let (mut mounted, mut refused, mut hangs, mut died) = (0u64, 0u64, 0u64, 0u64);
    for seed in args.first..args.first.saturating_add(args.count) {
        let mutated = corpus.mutate(seed);
        let dax = dax_option(seed);
        let summary = format!("{}; {}", dax.to_string_lossy(), mutated.summary());
        // Named before the device changes: a crash from here on is this image's.
        let line = format!("seed {seed}: {summary}");
        fs::write(args.out.join("current"), format!("{line}\n"))?;
        // The kernel log takes at most about a kilobyte a record.
        let mark: String = line.chars().take(900).collect();
        kmsg.write_all(format!("daxfs-fuzz: {mark}\n").as_bytes())?;
        write_image(&device, &mutated.image, dirty_end)?;
        // Even a refused mount may have written (freeing orphans comes before the root check).
        dirty_end = fs_end(&mutated.image, device_len);
        if let Err(error) = mount(&device_name, &mnt, dax) {
            if harness_mount_error(&error) {
                return Err(io::Error::other(format!("seed {seed}: mount: {error}")));
            }
            refused += 1;
            writeln!(results, "{seed} refused {} | {summary}", errno_name(&error))?;
            continue;
        }
        let outcome = exercise_in_child(&args.mnt, seed, args.limit)?;
        let verdict = match &outcome {
            Outcome::Done(tally) => {
                mounted += 1;
                format!("mounted {tally}")
            }
            Outcome::Died(why) => {
                died += 1;
                format!("died ({why})")
            }
            Outcome::Killed | Outcome::Stuck => {
                hangs += 1;
                kmsg.write_all(format!("daxfs-fuzz: seed {seed} hung\n").as_bytes())?;
                format!("hang after {} s", args.limit.as_secs())
            }
        };
        writeln!(results, "{seed} {verdict} | {summary}")?;
        if matches!(outcome, Outcome::Stuck) {
            // Its task keeps the device busy: no further image can be mounted. No summary:
            // the run did not finish.
            return Ok(false);
        }
        if let Err(error) = umount(&mnt) {
            // A file system left mounted would be reused by the next mount of the device.
            writeln!(results, "{seed} umount failed ({error}) | {summary}")?;
            return Ok(false);
        }
    }
    let summary = format!(
        "images {} mounted {mounted} refused {refused} hangs {hangs} died {died}",
        mounted + refused + hangs + died
    );
    println!("{summary}");
    fs::write(args.out.join("summary"), format!("{summary}\n"))?;
    Ok(hangs == 0 && died == 0)
}

fn main() {
    let args = parse_args();
    match run(&args) {
        Ok(true) => {}
        Ok(false) => exit(3),
        Err(error) => {
            eprintln!("daxfs-fuzz-vm: {error}");
            exit(1);
        }
    }
}
