// SPDX-License-Identifier: GPL-2.0

//! The kernel's CRC32C, which uses the CPU's instructions for it (SSE4.2's `crc32`, and
//! PCLMULQDQ for long buffers) where the portable table in `format::checksum` takes a lookup per
//! byte: every metadata write checksums a record of up to a block, and its undo record.

use super::raw;

/// CRC32C of `bytes`, continuing from `seed`, with the pre- and post-inversion of
/// `format::checksum::crc32c`, which it equals.
pub(crate) fn crc32c(seed: u32, bytes: &[u8]) -> u32 {
    // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes; `crc32c` only reads them, in any
    // context.
    !unsafe { raw::crc32c(!seed, bytes.as_ptr().cast(), bytes.len()) }
}
