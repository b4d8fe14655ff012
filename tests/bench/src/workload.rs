// SPDX-License-Identifier: GPL-2.0

//! The workloads that need more than a shell: each times one thing and prints `name value`
//! lines, which `tests/bench/guest.sh` turns into CSV rows.

use std::{
    fs::{
        self,
        File, //
    },
    hint::black_box,
    io::Write,
    time::{
        Duration,
        Instant, //
    },
};

use daxfs_selftest::{
    create_file,
    open_file,
    shuffled,
    Map, //
};

use crate::Res;

const PAGE: usize = 4096;
const MIB: usize = 1 << 20;

/// MiB per second for `bytes` moved in `seconds`.
fn mib_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / MIB as f64 / seconds
}

fn create(path: &str) -> Res<File> {
    create_file(path).map_err(|e| format!("create {path}: {e}"))
}

fn open_rw(path: &str) -> Res<File> {
    open_file(path).map_err(|e| format!("open {path}: {e}"))
}

fn map_file(file: &File, len: usize) -> Res<Map> {
    Map::shared(file, len).map_err(|e| format!("mmap {len} bytes: {e}"))
}

/// `touch FILE MIB small|huge`: a sparse file of MIB MiB, mapped shared, gets one write per
/// 4 KiB page, which allocates every block at fault time. `small` forbids huge pages on the
/// mapping (MADV_NOHUGEPAGE) so every fault is a 4 KiB one; `huge` asks for them, and a file
/// system that can map 2 MiB at once does. Prints the bandwidth.
pub(crate) fn touch(path: &str, mib: usize, pages: &str) -> Res {
    let len = mib * MIB;
    let file = create(path)?;
    file.set_len(len as u64)
        .map_err(|e| format!("ftruncate {path}: {e}"))?;
    let map = map_file(&file, len)?;
    let advice = match pages {
        "small" => libc::MADV_NOHUGEPAGE,
        "huge" => libc::MADV_HUGEPAGE,
        _ => return Err(format!("'{pages}' is not small or huge")),
    };
    map.advise(advice).map_err(|e| format!("madvise: {e}"))?;
    let start = Instant::now();
    for offset in (0..len).step_by(PAGE) {
        map.write(offset, 1);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("mib_per_s {:.1}", mib_per_s(len, seconds));
    Ok(())
}

/// `touch-parallel DIR MIB THREADS`: THREADS threads each first-touch write fault, with huge
/// pages asked for, a sparse file of their own of MIB / THREADS MiB in DIR, all started at
/// once: whether allocations of different files wait for each other. Prints the bandwidth of
/// them all, from the first start to the last end.
pub(crate) fn touch_parallel(dir: &str, mib: usize, threads: usize) -> Res {
    let len = mib / threads.max(1) * MIB;
    let mut maps = Vec::new();
    for thread in 0..threads {
        let path = format!("{dir}/touch-parallel-{thread}");
        let file = create(&path)?;
        file.set_len(len as u64)
            .map_err(|e| format!("ftruncate {path}: {e}"))?;
        let map = map_file(&file, len)?;
        map.advise(libc::MADV_HUGEPAGE)
            .map_err(|e| format!("madvise: {e}"))?;
        maps.push(map);
    }
    let barrier = std::sync::Barrier::new(threads + 1);
    let seconds = std::thread::scope(|scope| {
        for map in &maps {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for offset in (0..len).step_by(PAGE) {
                    map.write(offset, 1);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope ends when every thread has.
        start
    })
    .elapsed()
    .as_secs_f64();
    println!("mib_per_s {:.1}", mib_per_s(len * threads, seconds));
    Ok(())
}

/// Sums `bytes` a word at a time, so that every byte is really read.
fn sum_words(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0u64, |sum, w| {
        sum.wrapping_add(u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])))
    })
}

/// `reread FILE`: maps the whole file, reads it once to fault it in, then times a second read
/// of every byte through the mapping.
pub(crate) fn reread(path: &str) -> Res {
    let file = open_rw(path)?;
    let len = file.metadata().map_err(|e| e.to_string())?.len() as usize;
    let map = map_file(&file, len)?;
    // SAFETY: By `Map`'s invariant the `len` bytes are mapped for as long as `map` lives, and
    // this process does not write them while the slice exists.
    let bytes = unsafe { std::slice::from_raw_parts(map.as_ptr(), len) };
    black_box(sum_words(bytes));
    let start = Instant::now();
    black_box(sum_words(bytes));
    println!(
        "mib_per_s {:.1}",
        mib_per_s(len, start.elapsed().as_secs_f64())
    );
    Ok(())
}

/// `truncate FILE`: maps the whole file and faults every page in, then times truncating it to
/// zero with the mapping in place (unmap, no pins to wait for, free every block).
pub(crate) fn truncate(path: &str) -> Res {
    let file = open_rw(path)?;
    let len = file.metadata().map_err(|e| e.to_string())?.len() as usize;
    let map = map_file(&file, len)?;
    for offset in (0..len).step_by(PAGE) {
        black_box(map.read(offset));
    }
    let start = Instant::now();
    file.set_len(0)
        .map_err(|e| format!("ftruncate {path}: {e}"))?;
    println!("ms {:.2}", start.elapsed().as_secs_f64() * 1000.0);
    drop(map);
    Ok(())
}

/// `files DIR COUNT`: creates COUNT files of 100 bytes in DIR, stats each, unlinks each; times
/// each phase and prints operations per second.
pub(crate) fn files(dir: &str, count: usize) -> Res {
    let name = |i: usize| format!("{dir}/f{i:06}");
    let payload = [0x5a_u8; 100];
    let start = Instant::now();
    for i in 0..count {
        create(&name(i))?
            .write_all(&payload)
            .map_err(|e| format!("write {}: {e}", name(i)))?;
    }
    println!(
        "create_per_s {:.0}",
        count as f64 / start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    for i in 0..count {
        let meta = fs::metadata(name(i)).map_err(|e| format!("stat {}: {e}", name(i)))?;
        if meta.len() != payload.len() as u64 {
            return Err(format!("{} has {} bytes, not 100", name(i), meta.len()));
        }
    }
    println!(
        "stat_per_s {:.0}",
        count as f64 / start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    for i in 0..count {
        fs::remove_file(name(i)).map_err(|e| format!("unlink {}: {e}", name(i)))?;
    }
    println!(
        "unlink_per_s {:.0}",
        count as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Copies `source` into `target` (of the same length) with `rep movsb`, the instruction the
/// kernel's own copies (`memcpy`, `copy_to_user`) use on CPUs with fast string operations.
#[cfg(target_arch = "x86_64")]
fn copy_rep_movsb(target: &mut [u8], source: &[u8]) {
    assert_eq!(target.len(), source.len());
    // SAFETY: Both buffers are valid for `len` bytes and do not overlap (one is borrowed
    // mutably); `rep movsb` copies exactly `rcx` bytes from `rsi` to `rdi`, forwards (the ABI
    // guarantees the direction flag is clear).
    unsafe {
        std::arch::asm!(
            "rep movsb",
            inout("rcx") source.len() => _,
            inout("rsi") source.as_ptr() => _,
            inout("rdi") target.as_mut_ptr() => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Copies `source` into `target` (of the same length) 8 bytes at a time with plain loads and
/// stores, as the kernel's copies to persistent memory do (`__copy_user_flushcache`: 8-byte
/// `movnti`). Volatile, so the compiler does not turn the loop back into a `memcpy` call.
fn copy_words(target: &mut [u8], source: &[u8]) {
    assert_eq!(target.len(), source.len());
    // The buffers come from the allocator, page aligned at this size.
    assert_eq!(target.as_ptr().align_offset(8), 0);
    for (t, s) in target.chunks_exact_mut(8).zip(source.chunks_exact(8)) {
        // SAFETY: Each chunk is 8 valid bytes; the target's are 8-byte aligned (asserted above),
        // the source may be read unaligned.
        unsafe {
            let word = s.as_ptr().cast::<u64>().read_unaligned();
            t.as_mut_ptr().cast::<u64>().write_volatile(word);
        }
    }
}

/// `memcpy MIB`: the ceiling: copies between two anonymous buffers of MIB MiB, already faulted
/// in, four times each with the C library's `memcpy`, `rep movsb` and an 8-byte word loop, and
/// prints each bandwidth and the best as `mib_per_s`. Under TCG they differ a lot: vector code
/// is emulated instruction by instruction, `rep movsb` byte by byte in a helper, while scalar
/// 8-byte moves translate to host moves; on hardware the library's `memcpy` wins.
pub(crate) fn memcpy(mib: usize) -> Res {
    const ROUNDS: usize = 4;
    let len = mib * MIB;
    let source = vec![0x5a_u8; len];
    let mut target = vec![0xa5_u8; len];
    let mut time = |copy: &dyn Fn(&mut [u8], &[u8])| {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            copy(black_box(&mut target), black_box(&source));
        }
        mib_per_s(len * ROUNDS, start.elapsed().as_secs_f64())
    };
    let libc = time(&|target, source| target.copy_from_slice(source));
    println!("libc_mib_per_s {libc:.1}");
    let words = time(&copy_words);
    println!("word_loop_mib_per_s {words:.1}");
    let mut best = libc.max(words);
    #[cfg(target_arch = "x86_64")]
    {
        let rep_movsb = time(&copy_rep_movsb);
        println!("rep_movsb_mib_per_s {rep_movsb:.1}");
        best = best.max(rep_movsb);
    }
    println!("mib_per_s {best:.1}");
    if target[len - 1] != 0x5a {
        return Err("the copy did not copy".to_string());
    }
    Ok(())
}

/// The passes over the fragmented file of each read phase of [`sparse`].
const READ_PASSES: u64 = 5;

/// `sparse DIR MIB COUNT`: random 4 KiB allocations into sparse files of MIB MiB, COUNT of
/// them at distinct pages in a shuffled order, so that each one allocates a block whose
/// neighbours are mostly holes and the extent map grows by an extent at a random place: by
/// `pwrite` into one file and by write faults through a shared mapping of another. Then reads
/// the COUNT pages of the fragmented file in random order through `pread` and through a new
/// mapping, [`READ_PASSES`] times each, and
/// times truncating one file to zero and unlinking the other. Prints microseconds per write
/// and per fault, reads per second, and milliseconds for the removals.
pub(crate) fn sparse(dir: &str, mib: usize, count: usize) -> Res {
    use std::os::unix::fs::FileExt;

    let len = mib * MIB;
    let pages = len / PAGE;
    if count > pages {
        return Err(format!("{count} pages do not fit in {mib} MiB"));
    }
    let order: Vec<usize> = shuffled(pages, 1).into_iter().take(count).collect();
    let page = [0x5a_u8; PAGE];

    let written = create(&format!("{dir}/sparse-pwrite"))?;
    written
        .set_len(len as u64)
        .map_err(|e| format!("ftruncate: {e}"))?;
    let start = Instant::now();
    for &p in &order {
        written
            .write_all_at(&page, (p * PAGE) as u64)
            .map_err(|e| format!("pwrite page {p}: {e}"))?;
    }
    println!(
        "pwrite_us {:.1}",
        start.elapsed().as_secs_f64() * 1e6 / count as f64
    );

    let faulted = create(&format!("{dir}/sparse-fault"))?;
    faulted
        .set_len(len as u64)
        .map_err(|e| format!("ftruncate: {e}"))?;
    let map = map_file(&faulted, len)?;
    map.advise(libc::MADV_NOHUGEPAGE)
        .map_err(|e| format!("madvise: {e}"))?;
    let start = Instant::now();
    for &p in &order {
        map.write(p * PAGE, 1);
    }
    println!(
        "fault_us {:.1}",
        start.elapsed().as_secs_f64() * 1e6 / count as f64
    );
    drop(map);

    // Each read phase is READ_PASSES passes over the COUNT pages, in a new order each time
    // (and, for the mapping, through a new mapping each time, its unmapping not timed): one
    // pass takes a quarter of a second under TCG, too short to time against a timer tick or
    // a host hiccup.
    let passes: Vec<Vec<usize>> = (0..READ_PASSES)
        .map(|pass| shuffled(count, 2 + pass))
        .collect();
    let reads = count as f64 * READ_PASSES as f64;
    let mut buf = [0_u8; PAGE];
    let start = Instant::now();
    for order_of_pass in &passes {
        for &i in order_of_pass {
            written
                .read_exact_at(&mut buf, (order[i] * PAGE) as u64)
                .map_err(|e| format!("pread: {e}"))?;
            black_box(&buf);
        }
    }
    println!("pread_per_s {:.0}", reads / start.elapsed().as_secs_f64());
    let mut mapped_reads = Duration::ZERO;
    for order_of_pass in &passes {
        let map = map_file(&written, len)?;
        map.advise(libc::MADV_NOHUGEPAGE)
            .map_err(|e| format!("madvise: {e}"))?;
        let start = Instant::now();
        for &i in order_of_pass {
            black_box(map.read(order[i] * PAGE));
        }
        mapped_reads += start.elapsed();
    }
    println!("map_read_per_s {:.0}", reads / mapped_reads.as_secs_f64());

    let start = Instant::now();
    written.set_len(0).map_err(|e| format!("ftruncate: {e}"))?;
    println!("truncate_ms {:.2}", start.elapsed().as_secs_f64() * 1000.0);
    drop(faulted);
    let start = Instant::now();
    fs::remove_file(format!("{dir}/sparse-fault")).map_err(|e| format!("unlink: {e}"))?;
    println!("unlink_ms {:.2}", start.elapsed().as_secs_f64() * 1000.0);
    fs::remove_file(format!("{dir}/sparse-pwrite")).map_err(|e| format!("unlink: {e}"))?;
    Ok(())
}

/// `fallocate FILE MIB`: times preallocating MIB MiB, then prints milliseconds.
pub(crate) fn fallocate(path: &str, mib: usize) -> Res {
    use std::os::unix::io::AsRawFd;

    let file = create(path)?;
    let start = Instant::now();
    // SAFETY: fallocate on an open file descriptor.
    let ret = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, (mib * MIB) as libc::off_t) };
    if ret != 0 {
        return Err(format!("fallocate: {}", std::io::Error::last_os_error()));
    }
    println!("ms {:.2}", start.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}
