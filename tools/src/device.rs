// SPDX-License-Identifier: GPL-2.0

//! Block-granular access to a device or image file, and an in-memory image for tests.

use std::fs::File;
use std::fs::OpenOptions;
use std::io::Seek;
use std::io::SeekFrom;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::path::PathBuf;

use crate::format::BLOCK_SIZE;
use crate::format::BLOCK_SIZE_U64;
use crate::Error;
use crate::Result;

/// One block's worth of bytes.
pub type Block = [u8; BLOCK_SIZE];

/// Something made of [`BLOCK_SIZE`] blocks that can be read and written.
pub trait BlockDevice {
    /// Whole blocks on the device.
    fn block_count(&self) -> u64;

    /// Reads block `block` into `buf`.
    fn read_block(&self, block: u64, buf: &mut Block) -> Result<()>;

    /// Writes `buf` to block `block`.
    fn write_block(&mut self, block: u64, buf: &Block) -> Result<()>;

    /// Zeroes `count` blocks from `start`.
    fn zero_blocks(&mut self, start: u64, count: u64) -> Result<()> {
        let zero = [0; BLOCK_SIZE];
        for block in start..start.saturating_add(count) {
            self.write_block(block, &zero)?;
        }
        Ok(())
    }

    /// Makes everything written so far durable.
    fn sync(&mut self) -> Result<()>;

    /// Reads block `block` into a new buffer.
    fn read_new(&self, block: u64) -> Result<Box<Block>> {
        let mut buf = Box::new([0; BLOCK_SIZE]);
        self.read_block(block, &mut buf)?;
        Ok(buf)
    }
}

/// Fails unless `block` is one of the `block_count` blocks of a device.
fn check_in_range(block: u64, block_count: u64) -> Result<()> {
    if block < block_count {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "block {block} is beyond the end of the device ({block_count} blocks)"
        )))
    }
}

/// How to open a [`Device`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only: writes fail without touching the device.
    ReadOnly,
    /// Read and write. A block device is opened exclusively, so this fails while it is mounted.
    ReadWrite,
}

/// `O_EXCL`, which on a block device means "fail if mounted or otherwise claimed".
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "s390x"
))]
const O_EXCL: i32 = 0o200;

/// On other architectures the value differs; skip the exclusive open rather than guess.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "s390x"
)))]
const O_EXCL: i32 = 0;

/// A block device or regular image file.
#[derive(Debug)]
pub struct Device {
    /// The open device.
    file: File,
    /// Its path, for messages.
    path: PathBuf,
    /// Whole blocks in it.
    blocks: u64,
    /// Whether it was opened for writing.
    writable: bool,
}

impl Device {
    /// Opens `path`, which must be a block device or a regular file.
    pub fn open(path: &Path, access: Access) -> Result<Self> {
        let what = || format!("opening {}", path.display());
        let metadata = std::fs::metadata(path).map_err(|e| Error::io(what(), e))?;
        let file_type = metadata.file_type();
        let is_block_device = file_type.is_block_device();
        if !is_block_device && !file_type.is_file() {
            return Err(Error::Other(format!(
                "{}: not a block device or regular file",
                path.display()
            )));
        }
        let writable = access == Access::ReadWrite;
        let mut options = OpenOptions::new();
        options.read(true).write(writable);
        if writable && is_block_device {
            options.custom_flags(O_EXCL);
        }
        let mut file = options.open(path).map_err(|e| Error::io(what(), e))?;
        // Seeking to the end gives the size of block devices and files alike.
        let bytes = file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(format!("getting the size of {}", path.display()), e))?;
        Ok(Self {
            file,
            path: path.to_owned(),
            blocks: bytes / BLOCK_SIZE_U64,
            writable,
        })
    }

    /// The device's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Byte offset of `block`, checked against the device size.
    fn offset(&self, block: u64) -> Result<u64> {
        check_in_range(block, self.blocks)?;
        Ok(block * BLOCK_SIZE_U64)
    }
}

impl BlockDevice for Device {
    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read_block(&self, block: u64, buf: &mut Block) -> Result<()> {
        let offset = self.offset(block)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io(format!("reading block {block}"), e))
    }

    fn write_block(&mut self, block: u64, buf: &Block) -> Result<()> {
        if !self.writable {
            return Err(Error::Other(format!(
                "refusing to write block {block}: {} is open read-only",
                self.path.display()
            )));
        }
        let offset = self.offset(block)?;
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| Error::io(format!("writing block {block}"), e))
    }

    fn zero_blocks(&mut self, start: u64, count: u64) -> Result<()> {
        // Large writes: zeroing a big inode table block by block would be slow.
        const CHUNK_BLOCKS: u64 = 256;
        if count == 0 {
            return Ok(());
        }
        if !self.writable {
            return Err(Error::Other(format!(
                "refusing to zero blocks: {} is open read-only",
                self.path.display()
            )));
        }
        let end = start.saturating_add(count);
        check_in_range(end - 1, self.blocks)?;
        let zeros = vec![0; BLOCK_SIZE * CHUNK_BLOCKS as usize];
        let mut block = start;
        while block < end {
            let blocks = (end - block).min(CHUNK_BLOCKS);
            let bytes = &zeros[..blocks as usize * BLOCK_SIZE];
            self.file
                .write_all_at(bytes, block * BLOCK_SIZE_U64)
                .map_err(|e| Error::io(format!("zeroing blocks from {block}"), e))?;
            block += blocks;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        self.file
            .sync_all()
            .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }
}

/// An image held in memory, for building and checking images in tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemDevice {
    /// The image, a whole number of blocks.
    bytes: Vec<u8>,
}

impl MemDevice {
    /// A zeroed image of `blocks` blocks.
    pub fn new(blocks: u64) -> Self {
        let len = usize::try_from(blocks).expect("image too large") * BLOCK_SIZE;
        Self {
            bytes: vec![0; len],
        }
    }

    /// An image with the given contents, truncated to whole blocks.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Self {
        bytes.truncate(bytes.len() / BLOCK_SIZE * BLOCK_SIZE);
        Self { bytes }
    }

    /// The image.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The image, for corrupting it.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The image, consuming the device.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Byte range of `block`.
    fn range(&self, block: u64) -> Result<std::ops::Range<usize>> {
        check_in_range(block, self.block_count())?;
        let start = block as usize * BLOCK_SIZE;
        Ok(start..start + BLOCK_SIZE)
    }
}

impl BlockDevice for MemDevice {
    fn block_count(&self) -> u64 {
        (self.bytes.len() / BLOCK_SIZE) as u64
    }

    fn read_block(&self, block: u64, buf: &mut Block) -> Result<()> {
        let range = self.range(block)?;
        buf.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    fn write_block(&mut self, block: u64, buf: &Block) -> Result<()> {
        let range = self.range(block)?;
        self.bytes[range].copy_from_slice(buf);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A device seen through changes kept in memory: reads see them, writes make them, and the
/// device under it is never written. What a read-only check works on once the journal's
/// interrupted transaction is undone.
pub struct Overlay<'a, D: BlockDevice> {
    dev: &'a D,
    changed: std::collections::HashMap<u64, Box<Block>>,
}

impl<'a, D: BlockDevice> Overlay<'a, D> {
    /// `dev` with no changes yet.
    pub fn new(dev: &'a D) -> Self {
        Self {
            dev,
            changed: std::collections::HashMap::new(),
        }
    }
}

impl<D: BlockDevice> BlockDevice for Overlay<'_, D> {
    fn block_count(&self) -> u64 {
        self.dev.block_count()
    }

    fn read_block(&self, block: u64, buf: &mut Block) -> Result<()> {
        match self.changed.get(&block) {
            Some(changed) => {
                buf.copy_from_slice(&changed[..]);
                Ok(())
            }
            None => self.dev.read_block(block, buf),
        }
    }

    fn write_block(&mut self, block: u64, buf: &Block) -> Result<()> {
        check_in_range(block, self.block_count())?;
        self.changed.insert(block, Box::new(*buf));
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_device_bounds() {
        let mut dev = MemDevice::new(4);
        let mut buf = [1; BLOCK_SIZE];
        dev.write_block(3, &buf).unwrap();
        assert!(dev.write_block(4, &buf).is_err());
        buf = [0; BLOCK_SIZE];
        dev.read_block(3, &mut buf).unwrap();
        assert_eq!(buf[0], 1);
        assert!(dev.read_block(u64::MAX, &mut buf).is_err());
        dev.zero_blocks(3, 1).unwrap();
        assert_eq!(dev.read_new(3).unwrap()[0], 0);
    }
}
