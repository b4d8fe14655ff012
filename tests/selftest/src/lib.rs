// SPDX-License-Identifier: GPL-2.0

//! What the in-VM selftests and benchmarks share: a file or anonymous memory mapping.

use std::{
    fs::{
        File,
        OpenOptions, //
    },
    io::{
        self,
        Error, //
    },
    os::unix::io::AsRawFd,
    ptr::NonNull,
};

/// A memory mapping, unmapped on drop.
///
/// # Invariants
///
/// `addr` maps `len` bytes until drop.
pub struct Map {
    addr: NonNull<u8>,
    len: usize,
}

// SAFETY: The mapping is plain memory; the tests that share it between threads write disjoint
// pages, and the kernel keeps the mapping coherent.
unsafe impl Sync for Map {}
// SAFETY: See `Sync`.
unsafe impl Send for Map {}

impl Map {
    pub fn new(file: &File, len: usize, prot: i32, flags: i32) -> io::Result<Map> {
        // SAFETY: A fresh mapping at an address of the kernel's choice; no memory of ours is
        // touched.
        let addr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, file.as_raw_fd(), 0) };
        if addr == libc::MAP_FAILED {
            return Err(Error::last_os_error());
        }
        // INVARIANT: mmap succeeded for `len` bytes.
        Ok(Map {
            addr: NonNull::new(addr.cast()).ok_or_else(|| Error::other("mmap returned null"))?,
            len,
        })
    }

    pub fn shared(file: &File, len: usize) -> io::Result<Map> {
        Map::new(
            file,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
        )
    }

    pub fn read(&self, offset: usize) -> u8 {
        assert!(offset < self.len);
        // SAFETY: By the type invariant the byte is mapped; volatile so the access (and its
        // fault) really happens.
        unsafe { self.addr.as_ptr().add(offset).read_volatile() }
    }

    pub fn write(&self, offset: usize, value: u8) {
        assert!(offset < self.len);
        // SAFETY: By the type invariant the byte is mapped (writable in the tests that write).
        unsafe { self.addr.as_ptr().add(offset).write_volatile(value) }
    }

    /// The first byte of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: mmap refuses a zero length).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn addr_of(&self, offset: usize) -> *mut u8 {
        assert!(offset < self.len);
        // SAFETY: In bounds by the assertion.
        unsafe { self.addr.as_ptr().add(offset) }
    }

    pub fn msync(&self) -> io::Result<()> {
        // SAFETY: By the type invariant the range is mapped.
        let ret = unsafe { libc::msync(self.addr.as_ptr().cast(), self.len, libc::MS_SYNC) };
        if ret != 0 {
            return Err(Error::last_os_error());
        }
        Ok(())
    }

    /// Gives the kernel `advice` (madvise) about the whole mapping.
    pub fn advise(&self, advice: i32) -> io::Result<()> {
        // SAFETY: By the type invariant the range is mapped; the advice only changes how the
        // kernel maps it.
        let ret = unsafe { libc::madvise(self.addr.as_ptr().cast(), self.len, advice) };
        if ret != 0 {
            return Err(Error::last_os_error());
        }
        Ok(())
    }

    /// Drops the mapping's page table entries (MADV_DONTNEED on a shared file mapping), so the
    /// next access faults again.
    pub fn zap(&self) -> io::Result<()> {
        self.advise(libc::MADV_DONTNEED)
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the range is mapped, and nothing uses it any more.
        unsafe { libc::munmap(self.addr.as_ptr().cast(), self.len) };
    }
}

/// Creates (or empties) `path` for reading and writing.
pub fn create_file(path: &str) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// Opens the existing `path` for reading and writing.
pub fn open_file(path: &str) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// `0..count` in an order `seed` shuffles (Fisher-Yates with the fuzzer's generator): the same
/// order on every run and every file system.
pub fn shuffled(count: usize, seed: u64) -> Vec<usize> {
    let mut rng = daxfs_tools::fuzz::Rng::new(seed);
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..count).rev() {
        order.swap(i, rng.index(i + 1));
    }
    order
}
