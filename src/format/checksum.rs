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

/// CRC32C of `record` with the 4-byte checksum field at `field` read as zero.
pub(super) fn checksum_without_field(record: &[u8], field: usize) -> u32 {
    let head = record.get(..field).unwrap_or(record);
    let tail = record.get(field.saturating_add(4)..).unwrap_or(&[]);
    crc32c(crc32c(crc32c(0, head), &[0; 4]), tail)
}
