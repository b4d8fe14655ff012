// SPDX-License-Identifier: GPL-2.0

//! In-VM selftests of daxfs's DAX mappings: what a shell script cannot do (mmap, faults,
//! SIGBUS, page pins through `process_vm_writev` and O_DIRECT, fork, threads).
//!
//! `daxfs-selftest COMMAND ARGS...` runs one check and exits 0 when it holds; otherwise it
//! prints `FAIL: ...` and exits 1. Each check asserts real results: the bytes read back, the
//! blocks the file owns, the signal a child died of.

use daxfs_selftest::{
    create_file,
    open_file,
    shuffled,
    Map, //
};
use daxfs_tools::fuzz::Rng;
use std::{
    cell::Cell,
    fs::{
        File,
        OpenOptions, //
    },
    io::{
        self,
        Error,
        Read, //
    },
    os::unix::{
        fs::{
            FileExt,
            MetadataExt,
            OpenOptionsExt, //
        },
        io::{
            AsRawFd,
            FromRawFd, //
        },
    },
    process::exit,
    sync::atomic::{
        AtomicBool,
        AtomicUsize,
        Ordering, //
    },
};

const PAGE: usize = 4096;
const HUGE: usize = 2 << 20;

type Res<T = ()> = Result<T, String>;

/// Turns an I/O error into a test failure that says what was being done.
trait Context<T> {
    fn ctx(self, what: &str) -> Res<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, what: &str) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

// After `check!`, which it uses.
mod xattr;

/// The byte at `offset` of the test pattern `seed`.
fn pattern(seed: u64, offset: usize) -> u8 {
    let x = (offset as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(seed.wrapping_mul(0x1234_5678_9abc_def1));
    (x >> 56) as u8 ^ (offset >> 12) as u8
}

fn fill(buf: &mut [u8], seed: u64, base: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(seed, base + i);
    }
}

/// The first offset where `buf` differs from the pattern `seed` from `base` on.
fn mismatch(buf: &[u8], seed: u64, base: usize) -> Option<usize> {
    buf.iter()
        .enumerate()
        .find(|&(i, &b)| b != pattern(seed, base + i))
        .map(|(i, _)| base + i)
}

/// The test-pattern accesses of a mapping.
trait PatternMap {
    fn write_pattern(&self, offset: usize, len: usize, seed: u64);
    fn check_pattern(&self, offset: usize, len: usize, seed: u64) -> Res;
}

impl PatternMap for Map {
    fn write_pattern(&self, offset: usize, len: usize, seed: u64) {
        for i in offset..offset + len {
            self.write(i, pattern(seed, i));
        }
    }

    fn check_pattern(&self, offset: usize, len: usize, seed: u64) -> Res {
        for i in offset..offset + len {
            check!(
                self.read(i) == pattern(seed, i),
                "mapping byte {i} is {:#x}, expected {:#x}",
                self.read(i),
                pattern(seed, i)
            );
        }
        Ok(())
    }
}

fn create(path: &str) -> Res<File> {
    create_file(path).ctx(&format!("create {path}"))
}

fn open_rw(path: &str) -> Res<File> {
    open_file(path).ctx(&format!("open {path}"))
}

/// Blocks (4 KiB) the file owns, from `st_blocks`.
fn blocks(file: &File) -> Res<u64> {
    Ok(file.metadata().ctx("fstat")?.blocks() / 8)
}

fn read_at(file: &File, offset: usize, len: usize) -> Res<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset as u64).ctx("pread")?;
    Ok(buf)
}

fn expect_pattern(file: &File, offset: usize, len: usize, seed: u64, what: &str) -> Res {
    let buf = read_at(file, offset, len)?;
    match mismatch(&buf, seed, offset) {
        None => Ok(()),
        Some(at) => Err(format!(
            "{what}: read() byte {at} is not the expected pattern"
        )),
    }
}

/// Runs `f` in a child process and returns the signal it died of, or `None` if it exited 0.
fn in_child(f: impl FnOnce()) -> Res<Option<i32>> {
    // SAFETY: The test is single-threaded when it forks; the child only touches memory and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", Error::last_os_error()));
    }
    if pid == 0 {
        f();
        // SAFETY: Leaves the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: Waits for our own child; `status` is a valid output.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(format!("waitpid: {}", Error::last_os_error()));
    }
    if libc::WIFSIGNALED(status) {
        return Ok(Some(libc::WTERMSIG(status)));
    }
    check!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child exited with status {status:#x}"
    );
    Ok(None)
}

/// mmap writes are visible to read() and write()s to the mapping, at odd offsets and sizes.
fn map_rw(path: &str) -> Res {
    let file = create(path)?;
    let len = 5 * PAGE + 123;
    let mut buf = vec![0u8; len];
    fill(&mut buf, 1, 0);
    file.write_all_at(&buf, 0).ctx("write")?;
    let map = Map::shared(&file, len).ctx("mmap")?;
    map.check_pattern(0, len, 1)?;
    println!("ok: write() then the mapping reads the same {len} bytes");
    map.write_pattern(PAGE - 7, 2 * PAGE + 11, 2);
    expect_pattern(&file, PAGE - 7, 2 * PAGE + 11, 2, "after mmap write")?;
    expect_pattern(&file, 0, PAGE - 7, 1, "before the mmap write")?;
    println!("ok: a write through the mapping at an odd offset is what read() returns");
    let mut buf = vec![0u8; 3001];
    fill(&mut buf, 3, 4 * PAGE + 5);
    file.write_all_at(&buf, (4 * PAGE + 5) as u64)
        .ctx("write")?;
    map.check_pattern(4 * PAGE + 5, 3001, 3)?;
    println!("ok: write() into a mapped range shows in the mapping");
    Ok(())
}

/// Read faults on holes allocate nothing and see zeros; write faults allocate just the block.
fn hole_fault(path: &str) -> Res {
    let file = create(path)?;
    let len = 64 * PAGE;
    file.set_len(len as u64).ctx("ftruncate")?;
    check!(
        blocks(&file)? == 0,
        "a sparse file owns {} blocks",
        blocks(&file)?
    );
    let map = Map::shared(&file, len).ctx("mmap")?;
    for i in (0..len).step_by(512) {
        check!(map.read(i) == 0, "hole byte {i} reads {:#x}", map.read(i));
    }
    check!(
        blocks(&file)? == 0,
        "read faults on holes allocated {} blocks",
        blocks(&file)?
    );
    println!("ok: read faults over 64 hole pages see zeros and allocate nothing");
    map.write(10 * PAGE + 100, 0xab);
    check!(
        blocks(&file)? == 1,
        "one write fault allocated {} blocks",
        blocks(&file)?
    );
    map.write(40 * PAGE, 0xcd);
    map.write(40 * PAGE + 4095, 0xef);
    check!(
        blocks(&file)? == 2,
        "two write-faulted pages own {} blocks",
        blocks(&file)?
    );
    let page = read_at(&file, 10 * PAGE, PAGE)?;
    check!(
        page.iter()
            .enumerate()
            .all(|(i, &b)| b == if i == 100 { 0xab } else { 0 }),
        "a write-faulted hole page holds more than the byte written (stale data?)"
    );
    check!(
        map.read(11 * PAGE) == 0,
        "a neighbouring hole stopped reading zeros"
    );
    println!("ok: a write fault on a hole allocates exactly its block, zeroed");
    Ok(())
}

/// Accesses beyond EOF get SIGBUS, also after the file shrank under the mapping.
fn sigbus(path: &str) -> Res {
    let file = create(path)?;
    file.set_len((PAGE + 10) as u64).ctx("ftruncate")?;
    let map = Map::shared(&file, 4 * PAGE).ctx("mmap")?;
    map.write(PAGE + 20, 1); // within the last page: allowed, beyond EOF but not beyond its page
    check!(
        in_child(|| {
            map.read(2 * PAGE);
        })? == Some(libc::SIGBUS),
        "a read two pages beyond EOF did not get SIGBUS"
    );
    check!(
        in_child(|| map.write(3 * PAGE, 1))? == Some(libc::SIGBUS),
        "a write beyond EOF did not get SIGBUS"
    );
    println!("ok: read and write faults beyond EOF get SIGBUS");
    file.set_len((4 * PAGE) as u64).ctx("ftruncate up")?;
    map.write_pattern(0, 4 * PAGE, 7);
    file.set_len(PAGE as u64).ctx("ftruncate down")?;
    check!(
        in_child(|| {
            map.read(2 * PAGE);
        })? == Some(libc::SIGBUS),
        "a read of a page that was mapped before the file shrank did not get SIGBUS"
    );
    check!(
        in_child(|| map.write(PAGE, 1))? == Some(libc::SIGBUS),
        "a write to a page cut off by truncate did not get SIGBUS"
    );
    map.check_pattern(0, PAGE, 7)?;
    check!(
        blocks(&file)? == 1,
        "after truncate to one page the file owns {} blocks",
        blocks(&file)?
    );
    println!("ok: pages cut off by truncate get SIGBUS, the rest keeps its data, blocks freed");
    file.set_len((3 * PAGE) as u64).ctx("ftruncate up again")?;
    for i in PAGE..3 * PAGE {
        check!(
            map.read(i) == 0,
            "regrown byte {i} is {:#x}, not zero",
            map.read(i)
        );
    }
    let regrown = read_at(&file, PAGE, 2 * PAGE)?;
    check!(
        regrown.iter().all(|&b| b == 0),
        "read() of the regrown range is not zeros"
    );
    println!("ok: a regrown range reads zeros through the old mapping and read()");
    Ok(())
}

/// Faults (read or write) every page of `offset..offset + len` through a shared mapping of
/// the whole file, then msyncs: for counting PMD and PTE faults from outside.
fn touch(path: &str, offset: usize, len: usize, write: bool) -> Res {
    let file = open_rw(path)?;
    let size = file.metadata().ctx("fstat")?.len() as usize;
    let map = Map::shared(&file, size).ctx("mmap")?;
    check!(
        map.as_ptr() as usize % HUGE == 0 || size < HUGE,
        "a mapping of {size} bytes is not 2 MiB aligned (thp_get_unmapped_area)"
    );
    for i in (offset..offset + len).step_by(PAGE) {
        if write {
            map.write(i, pattern(9, i));
        } else {
            map.read(i);
        }
    }
    map.msync().ctx("msync")?;
    Ok(())
}

/// MAP_SHARED_VALIDATE | MAP_SYNC: accepted (`expect` "ok") or refused with EOPNOTSUPP.
fn map_sync(path: &str, expect: &str) -> Res {
    let file = create(path)?;
    file.set_len(PAGE as u64).ctx("ftruncate")?;
    let flags = libc::MAP_SHARED_VALIDATE | libc::MAP_SYNC;
    match (
        Map::new(&file, PAGE, libc::PROT_READ | libc::PROT_WRITE, flags),
        expect,
    ) {
        (Ok(map), "ok") => {
            map.write(0, 0x5a);
            check!(
                read_at(&file, 0, 1)?[0] == 0x5a,
                "a MAP_SYNC write is not in the file"
            );
            println!("ok: MAP_SYNC mapping accepted and written");
            Ok(())
        }
        (Err(e), "eopnotsupp") if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            println!("ok: MAP_SYNC refused with EOPNOTSUPP");
            Ok(())
        }
        (Ok(_), _) => Err("MAP_SYNC was accepted".into()),
        (Err(e), _) => Err(format!("MAP_SYNC failed: {e}")),
    }
}

/// process_vm_writev into a hole of a shared mapping: the pinned page gets a real block.
fn vm_writev(path: &str) -> Res {
    let file = create(path)?;
    file.set_len((8 * PAGE) as u64).ctx("ftruncate")?;
    let map = Map::shared(&file, 8 * PAGE).ctx("mmap")?;
    let mut data = vec![0u8; PAGE + 300];
    fill(&mut data, 11, 3 * PAGE + 50);
    let local = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: map.addr_of(3 * PAGE + 50).cast(),
        iov_len: data.len(),
    };
    // SAFETY: Both iovecs describe valid memory of this process.
    let n = unsafe { libc::process_vm_writev(libc::getpid(), &local, 1, &remote, 1, 0) };
    check!(
        n == data.len() as isize,
        "process_vm_writev wrote {n}: {}",
        Error::last_os_error()
    );
    check!(
        blocks(&file)? == 2,
        "process_vm_writev over two hole pages allocated {} blocks",
        blocks(&file)?
    );
    expect_pattern(
        &file,
        3 * PAGE + 50,
        data.len(),
        11,
        "after process_vm_writev",
    )?;
    map.check_pattern(3 * PAGE + 50, data.len(), 11)?;
    println!("ok: process_vm_writev into hole pages of a mapping allocated them and the data is in the file");
    Ok(())
}

/// An O_DIRECT read from a file on another file system into a daxfs mapping (a page pin held
/// for the I/O): the data lands in the daxfs file.
fn odirect_into_map(src: &str, path: &str) -> Res {
    let len = 16 * PAGE;
    {
        let src_file = create(src)?;
        let mut data = vec![0u8; len];
        fill(&mut data, 13, 0);
        src_file.write_all_at(&data, 0).ctx("write source")?;
        src_file.sync_all().ctx("fsync source")?;
    }
    let src_file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(src)
        .ctx("open O_DIRECT")?;
    let file = create(path)?;
    // Half allocated (by write), half holes.
    file.write_all_at(&vec![0xffu8; len / 2], 0).ctx("write")?;
    file.set_len(len as u64).ctx("ftruncate")?;
    let map = Map::shared(&file, len).ctx("mmap")?;
    // SAFETY: The mapping is valid for `len` bytes; read() writes into it.
    let n = unsafe { libc::read(src_file.as_raw_fd(), map.addr_of(0).cast(), len) };
    check!(
        n == len as isize,
        "O_DIRECT read returned {n}: {}",
        Error::last_os_error()
    );
    expect_pattern(&file, 0, len, 13, "after an O_DIRECT read into the mapping")?;
    check!(
        blocks(&file)? == 16,
        "the file owns {} blocks, expected 16",
        blocks(&file)?
    );
    println!(
        "ok: an O_DIRECT read into a daxfs mapping (allocated and hole pages) filled the file"
    );
    Ok(())
}

/// fork with a shared and a private mapping: the child's shared writes reach the parent and the
/// file; its private writes reach neither, and the parent's private copy keeps the file's data.
fn fork_maps(path: &str) -> Res {
    let file = create(path)?;
    let len = 4 * PAGE;
    let mut data = vec![0u8; len];
    fill(&mut data, 21, 0);
    file.write_all_at(&data, 0).ctx("write")?;
    let shared = Map::shared(&file, len).ctx("mmap shared")?;
    let private = Map::new(
        &file,
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE,
    )
    .ctx("mmap private")?;
    private.check_pattern(0, len, 21)?;
    private.write_pattern(0, PAGE, 22); // the parent's own copy of page 0
    let died = in_child(|| {
        shared.write_pattern(PAGE, PAGE, 23);
        private.write_pattern(2 * PAGE, PAGE, 24);
        private.write_pattern(0, PAGE, 25);
    })?;
    check!(died.is_none(), "the child died of signal {died:?}");
    shared.check_pattern(PAGE, PAGE, 23)?;
    expect_pattern(&file, PAGE, PAGE, 23, "the child's shared write")?;
    expect_pattern(
        &file,
        2 * PAGE,
        PAGE,
        21,
        "the child's private write must not reach the file",
    )?;
    expect_pattern(&file, 0, PAGE, 21, "private writes must not reach the file")?;
    private.check_pattern(0, PAGE, 22)?;
    private.check_pattern(2 * PAGE, PAGE, 21)?;
    println!("ok: after fork, shared writes are shared and private writes stay private");
    Ok(())
}

/// Threads fault the pages of one file (half allocated, half holes) for `iters` rounds, each
/// round writing its own pattern to its pages and reading the others, with mappings zapped in
/// between so that pages fault again; then every page holds its thread's last pattern.
fn storm(path: &str, threads: usize, iters: usize) -> Res {
    let pages = 128;
    let len = pages * PAGE;
    let file = create(path)?;
    file.write_all_at(&vec![0u8; len / 2], 0).ctx("write")?;
    file.set_len(len as u64).ctx("ftruncate")?;
    let map = Map::shared(&file, len).ctx("mmap")?;
    std::thread::scope(|s| {
        for t in 0..threads {
            let map = &map;
            s.spawn(move || {
                for iter in 0..iters {
                    for p in (t..pages).step_by(threads) {
                        let seed = (t * 1000 + iter) as u64;
                        for i in (p * PAGE..(p + 1) * PAGE).step_by(64) {
                            map.write(i, pattern(seed, i));
                        }
                    }
                    for p in 0..pages {
                        map.read(p * PAGE + 8);
                    }
                    if iter % 4 == t % 4 {
                        map.zap().expect("madvise(MADV_DONTNEED)");
                    }
                }
            });
        }
    });
    drop(map);
    let data = read_at(&file, 0, len)?;
    for p in 0..pages {
        let seed = ((p % threads) * 1000 + iters - 1) as u64;
        for i in (p * PAGE..(p + 1) * PAGE).step_by(64) {
            check!(
                data[i] == pattern(seed, i),
                "byte {i} of page {p} lost its thread's last write"
            );
        }
    }
    // Faults in any order may leave more than the inode's six extents: up to 128 extents take
    // one overflow block.
    let owned = blocks(&file)?;
    check!(
        owned == pages as u64 || owned == pages as u64 + 1,
        "the file owns {owned} blocks, not {pages} (and at most one overflow block)"
    );
    println!(
        "ok: {threads} threads x {iters} rounds of faults over {pages} pages; every page holds its last write ({owned} blocks)"
    );
    Ok(())
}

/// Bookkeeping of the SIGBUS handler of [`fault_truncate`].
static SIGBUS_TOTAL: AtomicUsize = AtomicUsize::new(0);
static SIGBUS_BAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The faulting thread's mapping and the offset below which the file never ends.
    static MAPPED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// SIGBUS during the stress: counts it, flags it if it hit below the smallest size the file
/// ever has (only accesses beyond EOF may fail), and maps an anonymous page over the faulting
/// page so that the access completes.
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: The kernel passes a valid siginfo for SIGBUS; si_addr is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    SIGBUS_TOTAL.fetch_add(1, Ordering::Relaxed);
    let (base, never_beyond) = MAPPED.with(Cell::get);
    if addr < base + never_beyond {
        SIGBUS_BAD.fetch_add(1, Ordering::Relaxed);
    }
    // SAFETY: Replaces one page of the thread's own mapping (async-signal-safe syscall).
    unsafe {
        libc::mmap(
            (addr & !(PAGE - 1)) as *mut libc::c_void,
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
}

/// Fault-versus-truncate stress: `threads` threads read-fault every page of the file and
/// write-fault them (their pattern below `small` pages, zeros above), each round through a
/// fresh mapping, while this thread, `iters` times, writes a pattern into the pages above
/// `small`, shrinks the file to `small` pages and regrows it. Every access must succeed or get
/// SIGBUS beyond EOF, and each regrown range must read as zeros (the threads only write zeros
/// there).
fn fault_truncate(path: &str, threads: usize, iters: usize) -> Res {
    const SMALL: usize = 8;
    const BIG: usize = 32;
    let file = create(path)?;
    file.set_len((BIG * PAGE) as u64).ctx("ftruncate")?;
    // SAFETY: Installs a handler that only uses async-signal-safe operations.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        if libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) != 0 {
            return Err(format!("sigaction: {}", Error::last_os_error()));
        }
    }
    let stop = AtomicBool::new(false);
    let rounds = AtomicUsize::new(0);
    let result = std::thread::scope(|s| {
        for t in 0..threads {
            let (file, stop, rounds) = (&file, &stop, &rounds);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let map = Map::shared(file, BIG * PAGE).expect("mmap");
                    MAPPED.with(|m| m.set((map.as_ptr() as usize, SMALL * PAGE)));
                    for p in 0..BIG {
                        let at = p * PAGE + 64 * t;
                        map.read(at);
                        map.write(at, if p < SMALL { pattern(t as u64, at) } else { 0 });
                    }
                    drop(map);
                    rounds.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let mut data = vec![0u8; (BIG - SMALL) * PAGE];
        fill(&mut data, 99, SMALL * PAGE);
        let check = (|| {
            for iter in 0..iters {
                file.write_all_at(&data, (SMALL * PAGE) as u64)
                    .ctx("pwrite")?;
                file.set_len((SMALL * PAGE) as u64).ctx("shrink")?;
                file.set_len((BIG * PAGE) as u64).ctx("regrow")?;
                let regrown = read_at(&file, SMALL * PAGE, (BIG - SMALL) * PAGE)?;
                if let Some(at) = regrown.iter().position(|&b| b != 0) {
                    return Err(format!(
                        "round {iter}: regrown byte {} is {:#x}, not zero",
                        SMALL * PAGE + at,
                        regrown[at]
                    ));
                }
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        check
    });
    result?;
    let bad = SIGBUS_BAD.load(Ordering::Relaxed);
    check!(bad == 0, "{bad} accesses below the smallest EOF got SIGBUS");
    println!(
        "ok: {iters} shrink/regrow rounds against {threads} faulting threads ({} mapping rounds, {} SIGBUS beyond EOF); regrown ranges read zeros",
        rounds.load(Ordering::Relaxed),
        SIGBUS_TOTAL.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Writes pattern `seed` over `len` bytes through a shared mapping and msyncs.
fn mwrite(path: &str, len: usize, seed: u64) -> Res {
    let file = create(path)?;
    file.set_len(len as u64).ctx("ftruncate")?;
    let map = Map::shared(&file, len).ctx("mmap")?;
    map.write_pattern(0, len, seed);
    map.msync().ctx("msync")?;
    Ok(())
}

/// Checks that the file holds pattern `seed` over `len` bytes (read()).
fn verify(path: &str, len: usize, seed: u64) -> Res {
    let file = open_rw(path)?;
    check!(
        file.metadata().ctx("fstat")?.len() == len as u64,
        "the file's size changed"
    );
    expect_pattern(&file, 0, len, seed, "verify")
}

/// The ioctls of `/dev/daxfs-pin` (tests/pin/daxfs_pin.rs): `_IO('P', n)`.
const PIN_IOCTL_PIN: u64 = (b'P' as u64) << 8 | 1;
const PIN_IOCTL_WRITE: u64 = (b'P' as u64) << 8 | 2;
const PIN_IOCTL_RELEASE: u64 = (b'P' as u64) << 8 | 3;

fn pin_ioctl(dev: &File, cmd: u64, arg: usize) -> io::Result<()> {
    // SAFETY: The daxfs-pin ioctls take a plain value; PIN's is an address that the kernel
    // checks through GUP.
    let ret = unsafe { libc::ioctl(dev.as_raw_fd(), cmd as _, arg) };
    if ret != 0 {
        return Err(Error::last_os_error());
    }
    Ok(())
}

/// Reads the next command line from stdin; `None` at the end.
fn next_command() -> Option<String> {
    let mut line = String::new();
    match io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Maps FILE, pins the page at `offset` through `/dev/daxfs-pin` (as a device would for DMA)
/// and prints `pinned`; then obeys commands on stdin, answering each with `done`:
/// `write BYTE` (fill the pinned page through the pin), `unmap` (unmap and close the file; the
/// pin stays), `release` (unpin). At the end of stdin it exits, which also unpins.
fn pin_hold(path: &str, offset: usize) -> Res {
    let file = open_rw(path)?;
    let size = file.metadata().ctx("fstat")?.len() as usize;
    let map = Map::shared(&file, size).ctx("mmap")?;
    let dev = open_rw("/dev/daxfs-pin")?;
    pin_ioctl(&dev, PIN_IOCTL_PIN, map.addr_of(offset) as usize).ctx("pin")?;
    let mut held = Some((file, map));
    println!("pinned");
    while let Some(command) = next_command() {
        match command.split_whitespace().collect::<Vec<_>>()[..] {
            ["write", byte] => {
                let byte: u8 = byte.parse().map_err(|_| format!("bad byte {byte}"))?;
                pin_ioctl(&dev, PIN_IOCTL_WRITE, byte.into()).ctx("write through the pin")?;
            }
            ["unmap"] => drop(held.take()),
            ["release"] => pin_ioctl(&dev, PIN_IOCTL_RELEASE, 0).ctx("release")?,
            _ => return Err(format!("unknown command '{command}'")),
        }
        println!("done");
    }
    Ok(())
}

/// Opens FILE, prints `open`, and closes it when a line (or the end) arrives on stdin.
fn hold_open(path: &str) -> Res {
    let file = open_rw(path)?;
    println!("open");
    next_command();
    drop(file);
    Ok(())
}

/// An O_DIRECT read of one page from the block device DEV into the mapping of FILE at `offset`:
/// the page stays pinned for as long as the device takes.
fn odirect_pin(path: &str, offset: usize, dev: &str) -> Res {
    let file = open_rw(path)?;
    let size = file.metadata().ctx("fstat")?.len() as usize;
    let map = Map::shared(&file, size).ctx("mmap")?;
    let src = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(dev)
        .ctx(&format!("open {dev} O_DIRECT"))?;
    println!("reading");
    // SAFETY: The mapping is valid for a page at `offset`; read() writes into it.
    let n = unsafe { libc::read(src.as_raw_fd(), map.addr_of(offset).cast(), PAGE) };
    check!(
        n == PAGE as isize,
        "O_DIRECT read returned {n}: {}",
        Error::last_os_error()
    );
    Ok(())
}

/// `fcntl(F_SETLEASE)` of a read lease on FILE, opened read-only, then its removal: prints
/// `lease` or the error.
fn lease(path: &str) -> Res {
    let file = File::open(path).ctx(&format!("open {path}"))?;
    // SAFETY: F_SETLEASE takes an int argument.
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) };
    check!(ret == 0, "F_SETLEASE: {}", Error::last_os_error());
    // SAFETY: As above.
    let held = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLEASE) };
    check!(held == libc::F_RDLCK, "F_GETLEASE: {held}");
    // SAFETY: As above.
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
    check!(ret == 0, "F_SETLEASE F_UNLCK: {}", Error::last_os_error());
    println!("lease");
    Ok(())
}

/// FIBMAP of file block `block` of FILE: prints the device block (0 for a hole).
fn fibmap(path: &str, block: i32) -> Res {
    const FIBMAP: libc::c_ulong = 1;
    let file = File::open(path).ctx(&format!("open {path}"))?;
    let mut b: libc::c_int = block;
    // SAFETY: FIBMAP reads and writes one int, which `b` is.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), FIBMAP, &mut b) };
    check!(ret == 0, "FIBMAP: {}", Error::last_os_error());
    println!("{b}");
    Ok(())
}

/// The largest file handle (`MAX_HANDLE_SZ`).
const MAX_HANDLE_SZ: usize = 128;

/// A `struct file_handle` with room for the largest handle.
#[repr(C)]
struct FileHandle {
    bytes: u32,
    kind: i32,
    data: [u8; MAX_HANDLE_SZ],
}

/// `name_to_handle_at(2)` of FILE, connectable (with its parent: `AT_HANDLE_CONNECTABLE`) if
/// asked: prints the handle as `TYPE:HEX`.
fn handle(path: &str, connectable: bool) -> Res {
    let name = std::ffi::CString::new(path).map_err(|e| e.to_string())?;
    let mut h = FileHandle {
        bytes: MAX_HANDLE_SZ as u32,
        kind: 0,
        data: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: libc::c_int = 0;
    let flags = if connectable {
        libc::AT_HANDLE_CONNECTABLE
    } else {
        0
    };
    // SAFETY: `name` is NUL-terminated; `h` has room for the `bytes` it says.
    let ret = unsafe {
        libc::name_to_handle_at(
            libc::AT_FDCWD,
            name.as_ptr(),
            (&raw mut h).cast(),
            &mut mount_id,
            flags,
        )
    };
    check!(
        ret == 0,
        "name_to_handle_at {path}: {}",
        Error::last_os_error()
    );
    let hex: String = h.data[..h.bytes as usize]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("{}:{hex}", h.kind);
    Ok(())
}

/// `open_by_handle_at(2)` of HANDLE (as [`handle`] prints it) on the file system mounted at
/// MOUNT, with the generation (the handle's second word) changed if `bump` says so: prints the
/// path the kernel gives the file (`path: ...`), and a regular file's first line
/// (`data: ...`); the name of the error if it fails (`error: ESTALE`).
fn open_handle(mount: &str, text: &str, bump: bool) -> Res {
    let (kind, hex) = text.split_once(':').ok_or("bad handle")?;
    let mut h = FileHandle {
        bytes: (hex.len() / 2) as u32,
        kind: kind.parse().map_err(|_| "bad handle type")?,
        data: [0; MAX_HANDLE_SZ],
    };
    for (i, byte) in h.data.iter_mut().take(hex.len() / 2).enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| "bad handle")?;
    }
    if bump {
        let generation = u32::from_le_bytes(h.data[4..8].try_into().unwrap());
        h.data[4..8].copy_from_slice(&generation.wrapping_add(1).to_le_bytes());
    }
    let dir = File::open(mount).ctx(&format!("open {mount}"))?;
    // SAFETY: `h` holds a handle of `bytes` bytes.
    let fd =
        unsafe { libc::open_by_handle_at(dir.as_raw_fd(), (&raw mut h).cast(), libc::O_RDONLY) };
    if fd < 0 {
        let err = Error::last_os_error();
        let name = match err.raw_os_error() {
            Some(libc::ESTALE) => "ESTALE".to_string(),
            _ => err.to_string(),
        };
        println!("error: {name}");
        return Ok(());
    }
    // SAFETY: `fd` was just opened and is ours.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let path = std::fs::read_link(format!("/proc/self/fd/{fd}")).ctx("readlink")?;
    println!("path: {}", path.display());
    if file.metadata().ctx("fstat")?.is_file() {
        let mut data = String::new();
        file.read_to_string(&mut data).ctx("read")?;
        println!("data: {}", data.lines().next().unwrap_or(""));
    }
    Ok(())
}

/// ftruncate(2) of FILE to `size`, timed: prints `took N us`, the time the call itself took (a
/// truncate that parks pinned blocks returns without waiting for the pin).
fn timed_truncate(path: &str, size: u64) -> Res {
    let file = open_rw(path)?;
    let start = std::time::Instant::now();
    file.set_len(size).ctx("ftruncate")?;
    println!("took {} us", start.elapsed().as_micros());
    Ok(())
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> Res<T> {
    args.get(i)
        .ok_or_else(|| format!("missing argument {i}"))?
        .parse()
        .map_err(|_| format!("bad argument {i}: {}", args[i]))
}

/// `mount(2)` of a file system of type `fstype` on `dev` at `dir` with `MS_POSIXACL`, which
/// mount(8) has no option for: a file system decides itself whether it has ACLs.
fn mount_posixacl(fstype: &str, dev: &str, dir: &str) -> Res {
    let c = |s: &str| std::ffi::CString::new(s).map_err(|e| e.to_string());
    let (dev, dir, fstype) = (c(dev)?, c(dir)?, c(fstype)?);
    // SAFETY: The strings are NUL-terminated and live across the call; no data is passed.
    let ret = unsafe {
        libc::mount(
            dev.as_ptr(),
            dir.as_ptr(),
            fstype.as_ptr(),
            libc::MS_POSIXACL,
            std::ptr::null(),
        )
    };
    check!(ret == 0, "mount: {}", std::io::Error::last_os_error());
    Ok(())
}

/// `renameat2(2)` of `from` to `to` with `flags` (`exchange`, `whiteout`, `noreplace`, or
/// several joined by `,`); on failure, the errno's name is in the error, as the shell tests
/// compare it.
fn rename2(from: &str, to: &str, flags: &str) -> Res {
    let mut bits = 0;
    for flag in flags.split(',') {
        bits |= match flag {
            "exchange" => libc::RENAME_EXCHANGE,
            "whiteout" => libc::RENAME_WHITEOUT,
            "noreplace" => libc::RENAME_NOREPLACE,
            _ => return Err(format!("unknown flag {flag}")),
        };
    }
    let c = |path: &str| std::ffi::CString::new(path).map_err(|e| e.to_string());
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: Both paths are NUL-terminated strings that live across the call.
    let ret = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            bits,
        )
    };
    if ret != 0 {
        let e = Error::last_os_error();
        let name = match e.raw_os_error() {
            Some(libc::EINVAL) => "EINVAL",
            Some(libc::ENOENT) => "ENOENT",
            Some(libc::EEXIST) => "EEXIST",
            Some(libc::EPERM) => "EPERM",
            Some(libc::ENOTEMPTY) => "ENOTEMPTY",
            _ => "other",
        };
        return Err(format!("renameat2 {flags}: {name}: {e}"));
    }
    Ok(())
}

/// What a file should hold, a block at a time: 0 for a hole (zeros), else the pattern seed of
/// the write that filled it.
struct Model {
    tags: Vec<u64>,
}

impl Model {
    /// Writes `blocks` blocks of the pattern `tag` at block `at` of `file` and the model.
    fn write(&mut self, file: &File, at: usize, blocks: usize, tag: u64) -> Res {
        let mut buf = vec![0u8; blocks * PAGE];
        fill(&mut buf, tag, at * PAGE);
        file.write_all_at(&buf, (at * PAGE) as u64)
            .ctx(&format!("pwrite {blocks} blocks at block {at}"))?;
        if self.tags.len() < at + blocks {
            self.tags.resize(at + blocks, 0);
        }
        self.tags[at..at + blocks].fill(tag);
        Ok(())
    }

    /// Punches `blocks` blocks at block `at` of `file` and the model.
    fn punch(&mut self, file: &File, at: usize, blocks: usize) -> Res {
        fallocate(file, PUNCH, at * PAGE, blocks * PAGE)?;
        let end = (at + blocks).min(self.tags.len());
        if at < end {
            self.tags[at..end].fill(0);
        }
        Ok(())
    }

    /// Truncates `file` and the model to `blocks` blocks.
    fn truncate(&mut self, file: &File, blocks: usize) -> Res {
        file.set_len((blocks * PAGE) as u64).ctx("ftruncate")?;
        self.tags.resize(blocks, 0);
        Ok(())
    }

    /// Checks the size, every block's bytes, and where SEEK_DATA finds data, against `file`.
    fn verify(&self, file: &File, what: &str) -> Res {
        let size = file.metadata().ctx("fstat")?.len();
        check!(
            size == (self.tags.len() * PAGE) as u64,
            "{what}: size {size}, expected {} blocks",
            self.tags.len()
        );
        // A big file is checked at both ends of every block (which write's block it is), and
        // SEEK_DATA from every 64th hole.
        let big = self.tags.len() > 20_000;
        let sample = if big { 32 } else { PAGE / 2 };
        const CHUNK: usize = 256;
        let mut chunk = vec![0u8; CHUNK * PAGE];
        for (block, &tag) in self.tags.iter().enumerate() {
            let in_chunk = block % CHUNK;
            if in_chunk == 0 {
                let len = (self.tags.len() - block).min(CHUNK) * PAGE;
                file.read_exact_at(&mut chunk[..len], (block * PAGE) as u64)
                    .ctx("pread")?;
            }
            let buf = &chunk[in_chunk * PAGE..(in_chunk + 1) * PAGE];
            let base = block * PAGE;
            let ends = [(0, &buf[..sample]), (PAGE - sample, &buf[PAGE - sample..])];
            let bad = ends.iter().find_map(|&(at, part)| {
                if tag == 0 {
                    part.iter().position(|&b| b != 0).map(|i| base + at + i)
                } else {
                    mismatch(part, tag, base + at)
                }
            });
            check!(
                bad.is_none(),
                "{what}: block {block} (tag {tag}) differs at byte {bad:?}"
            );
        }
        // SEEK_DATA from every hole's start lands on the next written block.
        let fd = file.as_raw_fd();
        let mut block = 0;
        let mut holes = 0;
        while block < self.tags.len() {
            if self.tags[block] != 0 {
                block += 1;
                continue;
            }
            let next = self.tags[block..]
                .iter()
                .position(|&t| t != 0)
                .map(|i| block + i);
            holes += 1;
            if big && holes % 64 != 0 {
                block = next.unwrap_or(self.tags.len());
                continue;
            }
            // SAFETY: lseek on an open file descriptor.
            let found = unsafe { libc::lseek(fd, (block * PAGE) as libc::off_t, libc::SEEK_DATA) };
            match next {
                Some(next) => check!(
                    found == (next * PAGE) as libc::off_t,
                    "{what}: SEEK_DATA from block {block} gave {found}, expected block {next}"
                ),
                None => check!(
                    found < 0,
                    "{what}: SEEK_DATA from block {block} found {found} past the data"
                ),
            }
            block = next.unwrap_or(self.tags.len());
        }
        Ok(())
    }
}

const PUNCH: libc::c_int = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;

fn fallocate(file: &File, mode: libc::c_int, offset: usize, len: usize) -> Res {
    // SAFETY: fallocate on an open file descriptor.
    let ret = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            mode,
            offset as libc::off_t,
            len as libc::off_t,
        )
    };
    check!(
        ret == 0,
        "fallocate {mode:#x} {offset} {len}: {}",
        Error::last_os_error()
    );
    Ok(())
}

/// Creates PATH with COUNT one-block extents, one every other block, written in an order SEED
/// shuffles, so that each write inserts into the middle of the extent map; then checks it.
fn fragment(path: &str, count: usize, seed: u64) -> Res {
    let file = create(path)?;
    let order = shuffled(count, seed);
    let mut model = Model { tags: Vec::new() };
    let start = std::time::Instant::now();
    for &i in &order {
        model.write(&file, 2 * i, 1, seed.wrapping_add(i as u64) | 1)?;
    }
    let written = start.elapsed();
    model.verify(&file, "fragmented")?;
    eprintln!(
        "fragment: {count} writes in {:.1} s, checked in {:.1} s",
        written.as_secs_f64(),
        (start.elapsed() - written).as_secs_f64()
    );
    check!(
        blocks(&file)? >= count as u64,
        "{} blocks for {count} extents",
        blocks(&file)?
    );
    Ok(())
}

/// OPS random writes (1 to 4 blocks), hole punches (1 to 3 blocks, often inside what a write
/// made, which splits its extent), and now and then a truncate, within BLOCKS blocks of PATH,
/// checked against a model every so often and at the end.
fn churn(path: &str, span: usize, ops: usize, seed: u64) -> Res {
    let file = create(path)?;
    let mut model = Model { tags: Vec::new() };
    let mut rng = Rng::new(seed);
    for op in 0..ops {
        let at = rng.index(span);
        match rng.below(100) {
            0..=54 => model.write(&file, at, 1 + rng.index(4), (seed << 32) + op as u64 + 1)?,
            55..=94 => model.punch(&file, at, 1 + rng.index(3))?,
            95..=96 => model.truncate(&file, at)?,
            _ => model.verify(&file, &format!("after op {op}"))?,
        }
    }
    model.verify(&file, "at the end")
}

/// Formats DEVICE with a root directory holding `fragmented`, a file of COUNT one-block
/// extents (file blocks 0, 2, 4, ...), built in memory by the tools' image builder: a file the
/// kernel would take minutes to write under TCG and KASAN. Block K of the file holds the
/// builder's pattern: byte I is `(ino * 31 + K * 7 + I) mod 256`.
fn build_fragmented(device: &str, count: u64) -> Res {
    use daxfs_tools::{
        builder::ImageBuilder,
        format::{
            BLOCK_SIZE_U64,
            ROOT_INO, //
        },
    };
    let mut dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .ctx(&format!("open {device}"))?;
    let bytes = io::Seek::seek(&mut dev, io::SeekFrom::End(0)).ctx("size")?;
    let mut image = ImageBuilder::new(bytes / BLOCK_SIZE_U64).map_err(|e| format!("{e}"))?;
    let extents: Vec<(u64, u32)> = (0..count).map(|i| (2 * i, 1)).collect();
    let size = (2 * count - 1) * BLOCK_SIZE_U64;
    image
        .create_file(ROOT_INO, b"fragmented", size, &extents)
        .map_err(|e| format!("{e}"))?;
    let image = image.finish().map_err(|e| format!("{e}"))?;
    dev.write_all_at(&image, 0).ctx("write the image")?;
    dev.sync_all().ctx("fsync")
}

/// Opens FILE read-write, shuts its file system down through it with
/// `FS_IOC_SHUTDOWN` and `flags`, then checks that the open descriptor's read, write, fsync and
/// a new mapping fail with EIO, and that fstat still works.
fn shutdown_eio(path: &str, flags: u32) -> Res {
    /// `_IOR('X', 125, __u32)`.
    const FS_IOC_SHUTDOWN: libc::c_ulong = 0x8004_587d;
    let file = open_file(path).ctx("open")?;
    // SAFETY: The descriptor is open and the argument a valid `u32`.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_SHUTDOWN, &flags) };
    check!(r == 0, "FS_IOC_SHUTDOWN: {}", Error::last_os_error());
    fn eio<T: std::fmt::Debug>(what: &str, result: io::Result<T>) -> Res {
        match result {
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(()),
            other => Err(format!("{what} after shutdown: {other:?}, expected EIO")),
        }
    }
    let mut buf = [0u8; PAGE];
    eio("read", file.read_at(&mut buf, 0))?;
    eio("write", file.write_at(&buf, 0))?;
    eio("fsync", file.sync_all())?;
    eio("mmap", Map::shared(&file, PAGE).map(|_| ()))?;
    file.metadata().ctx("fstat after shutdown")?;
    Ok(())
}

/// Maps FILE (of at least two pages) shared, writes pattern 5 into its first half through the
/// mapping, says "mapped" and waits for a line on standard input (meanwhile the caller changes
/// the file's DAX flag); then the mapping must still read pattern 5 and takes pattern 6 in its
/// second half; read() must see both.
fn map_hold(path: &str) -> Res {
    let file = open_rw(path)?;
    let size = file.metadata().ctx("fstat")?.len() as usize;
    check!(
        size >= 2 * PAGE,
        "{path} has {size} bytes, wants two pages or more"
    );
    let half = size / 2;
    let map = Map::shared(&file, size).ctx("mmap")?;
    map.write_pattern(0, half, 5);
    println!("mapped");
    next_command();
    map.check_pattern(0, half, 5)?;
    map.write_pattern(half, size - half, 6);
    drop(map);
    expect_pattern(
        &file,
        0,
        half,
        5,
        "the first half, written before the flag changed",
    )?;
    expect_pattern(
        &file,
        half,
        size - half,
        6,
        "the second half, written after",
    )?;
    println!("ok: the mapping kept working across the flag change");
    Ok(())
}

/// Checks through read() that FILE holds what `map-hold` wrote: patterns 5 and 6 in its halves.
fn map_hold_check(path: &str) -> Res {
    let file = open_rw(path)?;
    let size = file.metadata().ctx("fstat")?.len() as usize;
    let half = size / 2;
    expect_pattern(&file, 0, half, 5, "the first half")?;
    expect_pattern(&file, half, size - half, 6, "the second half")
}

fn run(args: &[String]) -> Res {
    let path = args.get(2).map(String::as_str).unwrap_or("");
    match args.get(1).map(String::as_str) {
        Some("map-rw") => map_rw(path),
        Some("hole-fault") => hole_fault(path),
        Some("sigbus") => sigbus(path),
        Some("touch") => touch(path, arg(args, 3)?, arg(args, 4)?, args.get(5).map(String::as_str) == Some("write")),
        Some("map-sync") => map_sync(path, args.get(3).map_or("ok", String::as_str)),
        Some("vm-writev") => vm_writev(path),
        Some("odirect-into-map") => odirect_into_map(path, &arg::<String>(args, 3)?),
        Some("fork") => fork_maps(path),
        Some("storm") => storm(path, arg(args, 3)?, arg(args, 4)?),
        Some("fault-truncate") => fault_truncate(path, arg(args, 3)?, arg(args, 4)?),
        Some("mwrite") => mwrite(path, arg(args, 3)?, arg(args, 4)?),
        Some("verify") => verify(path, arg(args, 3)?, arg(args, 4)?),
        Some("pin-hold") => pin_hold(path, arg(args, 3)?),
        Some("hold-open") => hold_open(path),
        Some("map-hold") => map_hold(path),
        Some("map-hold-check") => map_hold_check(path),
        Some("lease") => lease(path),
        Some("fibmap") => fibmap(path, arg(args, 3)?),
        Some("handle") => handle(path, args.get(3).map(String::as_str) == Some("connectable")),
        Some("open-handle") => open_handle(
            path,
            &arg::<String>(args, 3)?,
            args.get(4).map(String::as_str) == Some("bump-generation"),
        ),
        Some("timed-truncate") => timed_truncate(path, arg(args, 3)?),
        Some("odirect-pin") => odirect_pin(path, arg(args, 3)?, &arg::<String>(args, 4)?),
        Some("rename2") => rename2(path, &arg::<String>(args, 3)?, &arg::<String>(args, 4)?),
        Some("fragment") => fragment(path, arg(args, 3)?, arg(args, 4)?),
        Some("churn") => churn(path, arg(args, 3)?, arg(args, 4)?, arg(args, 5)?),
        Some("build-fragmented") => build_fragmented(path, arg(args, 3)?),
        Some("shutdown-eio") => shutdown_eio(path, arg(args, 3)?),
        Some("xattr") => xattr::run(path),
        Some("mount-posixacl") => {
            mount_posixacl(path, &arg::<String>(args, 3)?, &arg::<String>(args, 4)?)
        }
        _ => Err("usage: daxfs-selftest map-rw|hole-fault|sigbus|map-sync|vm-writev|fork|storm|touch|mwrite|verify FILE [ARGS]".into()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) = run(&args) {
        eprintln!("FAIL: {}: {e}", args.get(1).map_or("", String::as_str));
        exit(1);
    }
}
