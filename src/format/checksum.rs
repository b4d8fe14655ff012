// SPDX-License-Identifier: GPL-2.0

//! CRC32C, the checksum of every daxfs record.

/// The CRC32C (Castagnoli, reflected polynomial `0x82f63b78`) lookup table.
#[cfg(not(CONFIG_CRC32))]
static CRC32C_TABLE: [u32; 256] = crc32c_table();

/// Builds [`CRC32C_TABLE`] at compile time.
#[cfg(not(CONFIG_CRC32))]
const fn crc32c_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// CRC32C of `bytes`, continuing from `seed`: the CRC of everything hashed so far, 0 to start.
///
/// The usual pre- and post-inversion are applied, so `crc32c(0, b"123456789") == 0xe3069283` and
/// `crc32c(crc32c(0, a), b) == crc32c(0, ab)`. (The kernel's `crc32c()` leaves both inversions to
/// its caller: this equals `!crc32c_kernel(!seed, bytes)`.)
///
/// In a kernel with the CRC32 library (`CONFIG_CRC32`, a cfg the kernel build sets) this is the
/// kernel's, which uses the CPU's CRC32C instructions; elsewhere (the tools, the host's unit
/// tests, which check it against known values) a table lookup per byte.
#[cfg(CONFIG_CRC32)]
pub fn crc32c(seed: u32, bytes: &[u8]) -> u32 {
    crate::vfs::crc::crc32c(seed, bytes)
}

/// CRC32C of `bytes`, continuing from `seed` (see the kernel's variant above for the
/// conventions).
#[cfg(not(CONFIG_CRC32))]
pub fn crc32c(seed: u32, bytes: &[u8]) -> u32 {
    let mut crc = !seed;
    for &byte in bytes {
        // Indexing by a `u8` cannot go past the 256-entry table.
        crc = CRC32C_TABLE[usize::from(crc as u8 ^ byte)] ^ (crc >> 8);
    }
    !crc
}

/// The CRC32C polynomial, reflected.
const POLY: u32 = 0x82f6_3b78;

/// The product of the polynomials `a` and `b` modulo [`POLY`], reflected (bit 31 is x⁰).
const fn mult_mod_poly(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        bit >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    product
}

/// CRC32C of `len` zero bytes continuing from `seed`, the CRC of what came before (as
/// [`crc32c`] takes it). Appending zeros multiplies the CRC register by `x^(8 len)`: this takes
/// a multiplication per bit of `len` instead of a step per byte.
pub(super) fn crc32c_zeros(seed: u32, len: u64) -> u32 {
    let mut register = !seed;
    // `x^(8 len)`, from the binary digits of `len`: `x^(8 · 2^k)` for each set bit `k`, squared
    // from `x⁸` as the digits go (a table of the powers would not repeat after 32 of them:
    // `x^(2^32)` is not `x` modulo this polynomial).
    let mut power = 1u32 << 23;
    let mut bits = len;
    while bits != 0 {
        if bits & 1 != 0 {
            register = mult_mod_poly(power, register);
        }
        power = mult_mod_poly(power, power);
        bits >>= 1;
    }
    !register
}

/// CRC32C of `bytes` continuing from `seed`, as [`crc32c`], with the zero bytes they end with
/// taken at once ([`crc32c_zeros`]): a mostly empty block (an extent leaf, an inode record) costs
/// what its used part costs.
pub(super) fn crc32c_sparse(seed: u32, bytes: &[u8]) -> u32 {
    // Whole words of zeros at the end, found a word at a time.
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let zero_words = if tail.iter().all(|&b| b == 0) {
        words
            .rev()
            .take_while(|&w| w.try_into().map_or(1, u64::from_ne_bytes) == 0)
            .count()
    } else {
        0
    };
    let zeros = if zero_words > 0 {
        zero_words * 8 + tail.len()
    } else {
        0
    };
    let used = bytes.get(..bytes.len() - zeros).unwrap_or(bytes);
    // CAST: a slice length fits `u64`.
    crc32c_zeros(crc32c(seed, used), zeros as u64)
}

/// CRC32C of `record` with the 4-byte checksum field at `field` read as zero.
pub fn checksum_without_field(record: &[u8], field: usize) -> u32 {
    let head = record.get(..field).unwrap_or(record);
    let tail = record.get(field.saturating_add(4)..).unwrap_or(&[]);
    crc32c_sparse(crc32c(crc32c(0, head), &[0; 4]), tail)
}

/// The checksum ([`checksum_without_field`]) of a record that had checksum `sum` as `old`, now
/// that it is `new` (as long), which differs from `old` only within the byte ranges `runs`
/// (apart from each other) and not in the checksum field; the record goes on for `unchanged`
/// bytes after them that did not change (left out of `old` and `new`). CRC32C is linear but for its constant start and end: the
/// checksums of two records of one length differ by the CRC register of their XOR, which is the
/// register of each run's XOR, shifted by the bytes after the run ([`crc32c_zeros`]). This
/// costs the runs' length, not the record's; and a record whose old checksum was wrong keeps a
/// wrong one, so damage done meanwhile stays detected.
///
/// A run outside the record counts as no change.
pub fn checksum_after_change(
    sum: u32,
    old: &[u8],
    new: &[u8],
    runs: &[core::ops::Range<usize>],
    unchanged: usize,
) -> u32 {
    // The CRC register without the inversions at the start and the end: linear.
    let register = |seed: u32, bytes: &[u8]| !crc32c(!seed, bytes);
    let shifted = |seed: u32, len: usize| {
        // CAST: a slice length fits `u64`.
        !crc32c_zeros(!seed, len as u64)
    };
    let mut difference = 0;
    for run in runs {
        let (Some(old_run), Some(new_run)) = (old.get(run.clone()), new.get(run.clone())) else {
            continue;
        };
        let mut xor = [0u8; 64];
        let mut crc = 0;
        for (old_chunk, new_chunk) in old_run.chunks(xor.len()).zip(new_run.chunks(xor.len())) {
            for ((x, a), b) in xor.iter_mut().zip(old_chunk).zip(new_chunk) {
                *x = a ^ b;
            }
            crc = register(crc, xor.get(..old_chunk.len()).unwrap_or(&xor));
        }
        difference ^= shifted(crc, new.len() - run.end + unchanged);
    }
    sum ^ difference
}
