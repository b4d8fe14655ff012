// SPDX-License-Identifier: GPL-2.0

//! A small image builder for tests: formats an in-memory image with [`make_filesystem`] and
//! populates it with files, directories, symlinks, device nodes, hard links and orphans, as the
//! kernel would lay them out, so that fsck can be tested on realistic images without a kernel.
//!
//! It favours simplicity over efficiency (blocks are allocated from a cursor and never reused)
//! and trusts its caller: it is for building test images, not for repairing them. The raw
//! helpers ([`ImageBuilder::write_inode`], [`ImageBuilder::add_entry`], ...) leave link counts
//! alone, so tests can use them to build inconsistent images on purpose.

use crate::device::Block;
use crate::device::BlockDevice;
use crate::device::MemDevice;
use crate::format::bitmap_set;
use crate::format::encode_extent_block;
use crate::format::record_mut;
use crate::format::xattr_block_init;
use crate::format::xattr_block_seal;
use crate::format::xattr_block_set;
use crate::format::DirEntry;
use crate::format::Extent;
use crate::format::ExtentBlockHeader;
use crate::format::ExtentChecker;
use crate::format::FileType;
use crate::format::Inode;
use crate::format::Superblock;
use crate::format::Timestamp;
use crate::format::XattrSetMode;
use crate::format::BLOCK_SIZE;
use crate::format::BLOCK_SIZE_U64;
use crate::format::DIRENTS_PER_BLOCK;
use crate::format::DIRENT_SIZE;
use crate::format::EXTENTS_PER_BLOCK;
use crate::format::INLINE_EXTENTS;
use crate::format::INODE_SIZE;
use crate::format::MAX_INLINE_SYMLINK;
use crate::mkfs::make_filesystem;
use crate::mkfs::MkfsOptions;
use crate::Error;
use crate::Result;

/// The creation time of every built image and inode, for reproducible images.
pub const BUILD_TIME: u64 = 1_700_000_000;

/// Builds a daxfs image in memory.
#[derive(Clone, Debug)]
pub struct ImageBuilder {
    /// The image.
    dev: MemDevice,
    /// The superblock, written back by [`ImageBuilder::finish`].
    sb: Superblock,
    /// Next block to allocate.
    next_block: u64,
}

impl ImageBuilder {
    /// A freshly formatted image of `blocks` blocks with the default inode count.
    pub fn new(blocks: u64) -> Result<Self> {
        let mut dev = MemDevice::new(blocks);
        let options = MkfsOptions {
            inodes: None,
            label: *b"test-image\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            uuid: [0x5a; 16],
            time: BUILD_TIME,
            // Tests clear feature bits of these images: a root without attribute flags stays
            // valid without the attribute feature.
            page_cache_root: true,
            blocks: None,
        };
        let sb = make_filesystem(&mut dev, &options)?;
        Ok(Self {
            dev,
            next_block: sb.data_start,
            sb,
        })
    }

    /// A builder over an existing image (its superblock must decode); blocks it allocates come
    /// after everything the image's bitmap marks in use.
    pub fn open(image: Vec<u8>) -> Result<Self> {
        let dev = MemDevice::from_bytes(image);
        let sb = Superblock::decode(&dev.read_new(0)?[..])?;
        Ok(Self {
            dev,
            next_block: sb.total_blocks,
            sb,
        })
    }

    /// The superblock as it will be written.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// The superblock, for changing it before [`ImageBuilder::finish`] writes it.
    pub fn superblock_mut(&mut self) -> &mut Superblock {
        &mut self.sb
    }

    /// The image so far (the superblock is only current after [`ImageBuilder::finish`]).
    pub fn device(&self) -> &MemDevice {
        &self.dev
    }

    /// The image, for corrupting it.
    pub fn device_mut(&mut self) -> &mut MemDevice {
        &mut self.dev
    }

    /// Writes the superblock and returns the image.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.write_superblock()?;
        Ok(self.dev.into_bytes())
    }

    /// Writes the in-memory superblock to block 0.
    pub fn write_superblock(&mut self) -> Result<()> {
        let mut block: Block = [0; BLOCK_SIZE];
        self.sb.encode(&mut block);
        self.dev.write_block(0, &block)
    }

    /// Sets or clears the bitmap bit of `block` without touching the free counter.
    pub fn set_bitmap_bit(&mut self, block: u64, in_use: bool) -> Result<()> {
        let (bitmap_block, bit) = self
            .sb
            .bitmap_location(block)
            .ok_or_else(|| Error::Other(format!("block {block} outside the file system")))?;
        let mut buf = self.dev.read_new(bitmap_block)?;
        bitmap_set(&mut buf[..], bit, in_use)?;
        self.dev.write_block(bitmap_block, &buf)
    }

    /// Allocates `count` contiguous zeroed blocks and returns the first.
    pub fn alloc_blocks(&mut self, count: u64) -> Result<u64> {
        let first = self.next_block;
        let end = first
            .checked_add(count)
            .filter(|&end| end <= self.sb.total_blocks)
            .ok_or(Error::Other("image full".into()))?;
        for block in first..end {
            self.set_bitmap_bit(block, true)?;
            self.dev.write_block(block, &[0; BLOCK_SIZE])?;
        }
        self.sb.free_blocks -= count;
        self.next_block = end;
        Ok(first)
    }

    /// Frees `block` (it is not handed out again).
    pub fn free_block(&mut self, block: u64) -> Result<()> {
        self.set_bitmap_bit(block, false)?;
        self.sb.free_blocks += 1;
        Ok(())
    }

    /// Reads inode `ino`.
    pub fn read_inode(&self, ino: u64) -> Result<Inode> {
        let (block, offset) = self.inode_location(ino)?;
        let buf = self.dev.read_new(block)?;
        Ok(Inode::decode(&buf[offset..offset + INODE_SIZE])?)
    }

    /// Writes inode `ino` as is (no counters are updated).
    pub fn write_inode(&mut self, ino: u64, inode: &Inode) -> Result<()> {
        let (block, offset) = self.inode_location(ino)?;
        let mut buf = self.dev.read_new(block)?;
        inode.encode(record_mut(&mut buf[..], offset).expect("inode slot in bounds"));
        self.dev.write_block(block, &buf)
    }

    /// Gives inode `ino` the extended attributes `entries` (namespace index, name, value) in a
    /// new xattr block, and returns the block.
    pub fn set_xattrs(&mut self, ino: u64, entries: &[(u8, &[u8], &[u8])]) -> Result<u64> {
        let mut block = [0; BLOCK_SIZE];
        xattr_block_init(&mut block, ino);
        for &(index, name, value) in entries {
            xattr_block_set(&mut block, ino, index, name, Some(value), XattrSetMode::ANY)
                .map_err(|e| Error::Other(format!("extended attribute: {e:?}")))?;
            xattr_block_seal(&mut block);
        }
        let number = self.alloc_blocks(1)?;
        self.dev.write_block(number, &block)?;
        let mut inode = self.read_inode(ino)?;
        inode.xattr_block = number;
        self.write_inode(ino, &inode)?;
        Ok(number)
    }

    /// Byte offset of inode `ino` in the image, for corrupting it.
    pub fn inode_offset(&self, ino: u64) -> Result<usize> {
        let (block, offset) = self.inode_location(ino)?;
        Ok(block as usize * BLOCK_SIZE + offset)
    }

    /// Where inode `ino` is.
    fn inode_location(&self, ino: u64) -> Result<(u64, usize)> {
        self.sb
            .inode_location(ino)
            .ok_or_else(|| Error::Other(format!("inode {ino} out of range")))
    }

    /// Allocates a free inode number.
    fn alloc_ino(&mut self) -> Result<u64> {
        for ino in 1..=self.sb.inode_count {
            if self.read_inode(ino)?.is_free() {
                self.sb.free_inodes -= 1;
                return Ok(ino);
            }
        }
        Err(Error::Other("no free inode".into()))
    }

    /// A new in-use inode of `file_type` with build-time timestamps.
    fn new_inode(file_type: FileType, permissions: u16) -> Inode {
        let time = Timestamp {
            sec: BUILD_TIME as i64,
            nsec: 0,
        };
        Inode {
            mode: file_type.mode_bits() | permissions,
            nlink: 1,
            uid: 1000,
            gid: 1000,
            atime: time,
            mtime: time,
            ctime: time,
            btime: time,
            generation: 1,
            ..Inode::FREE
        }
    }

    /// All extents of inode `ino`, inline and overflow, in order.
    pub fn extents(&self, ino: u64) -> Result<Vec<Extent>> {
        let inode = self.read_inode(ino)?;
        let mut extents = Vec::new();
        for index in 0..inode.inline_extent_count() {
            extents.push(inode.inline_extent(index)?);
        }
        let mut next = inode.overflow_block;
        while next != 0 {
            let block = self.dev.read_new(next)?;
            let header = ExtentBlockHeader::decode(&block[..])?;
            let count = header.count as usize;
            let order = ExtentChecker::for_inode(&self.sb, &inode).block_order(&block[..], count);
            for &slot in order.iter().take(count) {
                extents.push(ExtentBlockHeader::read_extent(
                    &block[..],
                    usize::from(slot),
                )?);
            }
            next = header.next;
        }
        Ok(extents)
    }

    /// The extent-overflow blocks of inode `ino`, in chain order.
    pub fn overflow_chain(&self, ino: u64) -> Result<Vec<u64>> {
        self.overflow_blocks(&self.read_inode(ino)?)
    }

    /// Overflow blocks of `inode`, in chain order.
    fn overflow_blocks(&self, inode: &Inode) -> Result<Vec<u64>> {
        let mut blocks = Vec::new();
        let mut next = inode.overflow_block;
        while next != 0 {
            blocks.push(next);
            next = ExtentBlockHeader::decode(&self.dev.read_new(next)?[..])?.next;
        }
        Ok(blocks)
    }

    /// Replaces the extent map of `inode` (number `ino`) by `extents`, storing the first six
    /// inline and the rest in newly allocated overflow blocks (the old ones are freed), and sets
    /// `extent_count` and `blocks`. The caller writes the inode.
    pub fn set_extents(&mut self, ino: u64, inode: &mut Inode, extents: &[Extent]) -> Result<()> {
        for block in self.overflow_blocks(inode)? {
            self.free_block(block)?;
        }
        inode.inline = [0; crate::format::INLINE_AREA_SIZE];
        let (inline, overflow) = extents.split_at(extents.len().min(INLINE_EXTENTS));
        for (index, extent) in inline.iter().enumerate() {
            inode.set_inline_extent(index, extent)?;
        }
        let chunks: Vec<&[Extent]> = overflow.chunks(EXTENTS_PER_BLOCK).collect();
        let mut chain = Vec::new();
        for _ in &chunks {
            chain.push(self.alloc_blocks(1)?);
        }
        for (index, chunk) in chunks.iter().enumerate() {
            let mut block: Block = [0; BLOCK_SIZE];
            let next = chain.get(index + 1).copied().unwrap_or(0);
            encode_extent_block(&mut block, ino, next, chunk)?;
            self.dev.write_block(chain[index], &block)?;
        }
        inode.overflow_block = chain.first().copied().unwrap_or(0);
        inode.extent_count = extents.len() as u32;
        inode.blocks = extents.iter().map(|e| u64::from(e.len)).sum::<u64>() + chain.len() as u64;
        Ok(())
    }

    /// Adds an entry `name` for inode `ino` of `file_type` to directory `dir`, growing the
    /// directory by a block if it is full. Link counts are left alone.
    pub fn add_entry(
        &mut self,
        dir: u64,
        name: &[u8],
        ino: u64,
        file_type: FileType,
    ) -> Result<()> {
        let entry = DirEntry::new(ino, file_type, name)?;
        for extent in self.extents(dir)? {
            for block in extent.physical..extent.physical + u64::from(extent.len) {
                let mut buf = self.dev.read_new(block)?;
                for slot in 0..DIRENTS_PER_BLOCK {
                    let offset = slot * DIRENT_SIZE;
                    if DirEntry::decode(&buf[offset..offset + DIRENT_SIZE])?.is_none() {
                        entry.encode(record_mut(&mut buf[..], offset).expect("slot in bounds"));
                        return self.dev.write_block(block, &buf);
                    }
                }
            }
        }
        // Full: append a block, merging it into the last extent when it is adjacent.
        let block = self.alloc_blocks(1)?;
        let mut buf: Block = [0; BLOCK_SIZE];
        entry.encode(record_mut(&mut buf[..], 0).expect("slot in bounds"));
        self.dev.write_block(block, &buf)?;
        let mut inode = self.read_inode(dir)?;
        let mut extents = self.extents(dir)?;
        let logical = inode.size / BLOCK_SIZE_U64;
        match extents.last_mut() {
            Some(last) if last.physical + u64::from(last.len) == block => last.len += 1,
            _ => extents.push(Extent::written(logical, block, 1)),
        }
        self.set_extents(dir, &mut inode, &extents)?;
        inode.size += BLOCK_SIZE_U64;
        self.write_inode(dir, &inode)
    }

    /// Where the entry `name` of directory `dir` is: its block and slot.
    pub fn entry_location(&self, dir: u64, name: &[u8]) -> Result<(u64, usize)> {
        for extent in self.extents(dir)? {
            for block in extent.physical..extent.physical + u64::from(extent.len) {
                let buf = self.dev.read_new(block)?;
                for slot in 0..DIRENTS_PER_BLOCK {
                    let offset = slot * DIRENT_SIZE;
                    if let Some(entry) = DirEntry::decode(&buf[offset..offset + DIRENT_SIZE])? {
                        if entry.name() == name {
                            return Ok((block, slot));
                        }
                    }
                }
            }
        }
        Err(Error::Other(format!(
            "no entry {} in directory {dir}",
            name.escape_ascii()
        )))
    }

    /// Overwrites the entry slot `slot` of directory block `block` (`None` frees it).
    pub fn write_entry(&mut self, block: u64, slot: usize, entry: Option<&DirEntry>) -> Result<()> {
        let mut buf = self.dev.read_new(block)?;
        let record = record_mut(&mut buf[..], slot * DIRENT_SIZE).expect("slot in bounds");
        match entry {
            Some(entry) => entry.encode(record),
            None => DirEntry::encode_free(record),
        }
        self.dev.write_block(block, &buf)
    }

    /// Creates inode `inode` and links it into `parent` as `name`.
    fn create(&mut self, parent: u64, name: &[u8], inode: &Inode) -> Result<u64> {
        let ino = self.alloc_ino()?;
        self.write_inode(ino, inode)?;
        let file_type = inode
            .file_type()
            .ok_or(Error::Other("inode without a type".into()))?;
        self.add_entry(parent, name, ino, file_type)?;
        Ok(ino)
    }

    /// Creates an empty directory `name` in `parent`.
    pub fn mkdir(&mut self, parent: u64, name: &[u8]) -> Result<u64> {
        let inode = Inode {
            nlink: 2,
            parent,
            ..Self::new_inode(FileType::Directory, 0o755)
        };
        let ino = self.create(parent, name, &inode)?;
        let mut parent_inode = self.read_inode(parent)?;
        parent_inode.nlink += 1;
        self.write_inode(parent, &parent_inode)?;
        Ok(ino)
    }

    /// Allocates blocks for `extents`, given as (file block, length) pairs.
    fn alloc_extents(&mut self, extents: &[(u64, u32)]) -> Result<Vec<Extent>> {
        extents
            .iter()
            .map(|&(logical, len)| {
                Ok(Extent::written(
                    logical,
                    self.alloc_blocks(u64::from(len))?,
                    len,
                ))
            })
            .collect()
    }

    /// Creates a regular file `name` in `parent` of `size` bytes whose data is at `extents`,
    /// given as (file block, length) pairs in order; each gets newly allocated blocks, filled
    /// with a pattern of the inode and file block numbers (so that a block lost or overwritten
    /// shows).
    pub fn create_file(
        &mut self,
        parent: u64,
        name: &[u8],
        size: u64,
        extents: &[(u64, u32)],
    ) -> Result<u64> {
        let ino = self.create(parent, name, &Self::new_inode(FileType::Regular, 0o644))?;
        let mut inode = self.read_inode(ino)?;
        let extents = self.alloc_extents(extents)?;
        for extent in &extents {
            for offset in 0..u64::from(extent.len) {
                let mut data: Block = [0; BLOCK_SIZE];
                for (index, byte) in data.iter_mut().enumerate() {
                    // CAST: a pattern; the truncation is wanted.
                    *byte =
                        (ino as usize * 31 + (extent.logical + offset) as usize * 7 + index) as u8;
                }
                self.dev.write_block(extent.physical + offset, &data)?;
            }
        }
        self.set_extents(ino, &mut inode, &extents)?;
        inode.size = size;
        self.write_inode(ino, &inode)?;
        Ok(ino)
    }

    /// Creates a symlink `name` in `parent` to `target`, inline if it fits.
    pub fn symlink(&mut self, parent: u64, name: &[u8], target: &[u8]) -> Result<u64> {
        let mut inode = Self::new_inode(FileType::Symlink, 0o777);
        if target.len() <= MAX_INLINE_SYMLINK {
            inode.set_inline_symlink_target(target)?;
            return self.create(parent, name, &inode);
        }
        let ino = self.create(parent, name, &inode)?;
        let block = self.alloc_blocks(1)?;
        let mut buf: Block = [0; BLOCK_SIZE];
        buf[..target.len()].copy_from_slice(target);
        self.dev.write_block(block, &buf)?;
        let extent = Extent {
            logical: 0,
            physical: block,
            len: 1,
            unwritten: false,
        };
        self.set_extents(ino, &mut inode, &[extent])?;
        inode.size = target.len() as u64;
        self.write_inode(ino, &inode)?;
        Ok(ino)
    }

    /// Creates a device node, FIFO or socket `name` in `parent`.
    pub fn mknod(
        &mut self,
        parent: u64,
        name: &[u8],
        file_type: FileType,
        rdev: u32,
    ) -> Result<u64> {
        let inode = Inode {
            rdev,
            ..Self::new_inode(file_type, 0o600)
        };
        self.create(parent, name, &inode)
    }

    /// Adds a hard link `name` in `parent` to the non-directory `ino`.
    pub fn link(&mut self, parent: u64, name: &[u8], ino: u64) -> Result<()> {
        let mut inode = self.read_inode(ino)?;
        let file_type = inode
            .file_type()
            .ok_or(Error::Other("linking a free inode".into()))?;
        self.add_entry(parent, name, ino, file_type)?;
        inode.nlink += 1;
        self.write_inode(ino, &inode)
    }

    /// Creates an orphan: a regular file with `extents` that was unlinked while open, so it has
    /// no links and is at the head of the orphan list.
    pub fn create_orphan(&mut self, extents: &[(u64, u32)]) -> Result<u64> {
        let ino = self.alloc_ino()?;
        let mut inode = Inode {
            nlink: 0,
            next_orphan: self.sb.orphan_head,
            ..Self::new_inode(FileType::Regular, 0o644)
        };
        let extents = self.alloc_extents(extents)?;
        self.set_extents(ino, &mut inode, &extents)?;
        inode.size = extents
            .last()
            .map_or(0, |e| (e.logical + u64::from(e.len)) * BLOCK_SIZE_U64);
        self.write_inode(ino, &inode)?;
        self.sb.orphan_head = ino;
        Ok(ino)
    }

    /// A populated image: nested directories, files with holes and with overflow extents,
    /// inline and block symlinks, device nodes and hard links. Returns the builder and the inode
    /// numbers by name (`"dir"`, `"subdir"`, `"file"`, `"big"`, `"link"`, ...).
    pub fn populated(blocks: u64) -> Result<(Self, Vec<(&'static str, u64)>)> {
        let mut builder = Self::new(blocks)?;
        let root = builder.sb.root_ino;
        let dir = builder.mkdir(root, b"dir")?;
        let subdir = builder.mkdir(dir, b"subdir")?;
        let empty = builder.mkdir(root, b"empty")?;
        let file =
            builder.create_file(root, b"file", 3 * BLOCK_SIZE_U64 + 100, &[(0, 2), (3, 1)])?;
        let extents: Vec<(u64, u32)> = (0..10).map(|i| (i * 2, 1)).collect();
        let big = builder.create_file(subdir, b"big", 20 * BLOCK_SIZE_U64, &extents)?;
        let sparse = builder.create_file(dir, b"sparse", 1 << 30, &[])?;
        let short = builder.symlink(root, b"short-link", b"dir/subdir/big")?;
        let long_target = vec![b'x'; 300];
        let long = builder.symlink(dir, b"long-link", &long_target)?;
        let fifo = builder.mknod(dir, b"fifo", FileType::Fifo, 0)?;
        let chr = builder.mknod(dir, b"null", FileType::CharDevice, (1 << 8) | 3)?;
        builder.link(subdir, b"file-link", file)?;
        // Enough entries to give the root directory a second block.
        for index in 0..16 {
            builder.create_file(root, format!("f{index:02}").as_bytes(), 0, &[])?;
        }
        let names = vec![
            ("root", root),
            ("dir", dir),
            ("subdir", subdir),
            ("empty", empty),
            ("file", file),
            ("big", big),
            ("sparse", sparse),
            ("short-link", short),
            ("long-link", long),
            ("fifo", fifo),
            ("null", chr),
        ];
        Ok((builder, names))
    }
}
