// SPDX-License-Identifier: GPL-2.0

//! A seeded, deterministic mutator of daxfs images, for fuzzing fsck (in-process, by the
//! robustness tests) and the kernel (in the VM, through `daxfs-fuzz`).
//!
//! It works the way syzkaller and fsfuzzer mutate file system images: it starts from one
//! realistic seed image, the [`Corpus`], and changes a few fields of the structures in it to
//! "interesting" values (bounds, off-by-ones, the numbers of other live inodes, blocks of the
//! metadata or of other files), resealing the checksums it covers. A random bit flip is caught by
//! the checksums and tests nothing past them; a resealed change reaches the validation code and
//! whatever trusts it. A few raw changes without resealing remain, for the checksums themselves.
//!
//! The mutation of a seed is fully determined by the seed, so a crash report needs only the seed:
//! `daxfs-fuzz --seed N` writes the same image again. Seed 0 is the pristine image.
//!
//! The field tables below name the fields by the format's own offsets (`format::*_off`); the
//! unit tests check them against the format's encoders.

use crate::builder::ImageBuilder;
use crate::device::BlockDevice;
use crate::format::acl_tag;
use crate::format::crc32c;
use crate::format::dirent_off;
use crate::format::encode_journal_record;
use crate::format::encode_posix_acl;
use crate::format::extent_block_off;
use crate::format::extent_off;
use crate::format::inode_off;
use crate::format::journal_record_len;
use crate::format::sb_off;
use crate::format::xattr_off;
use crate::format::DirEntry;
use crate::format::FileType;
use crate::format::JournalRecords;
use crate::format::Superblock;
use crate::format::BITS_PER_BITMAP_BLOCK;
use crate::format::BLOCK_SIZE;
use crate::format::BLOCK_SIZE_U64;
use crate::format::DIRENTS_PER_BLOCK;
use crate::format::DIRENT_SIZE;
use crate::format::DT_BLK;
use crate::format::DT_CHR;
use crate::format::DT_DIR;
use crate::format::DT_FIFO;
use crate::format::DT_LNK;
use crate::format::DT_REG;
use crate::format::DT_SOCK;
use crate::format::EXTENTS_PER_BLOCK;
use crate::format::EXTENT_BLOCK_HEADER_SIZE;
use crate::format::EXTENT_LEN_UNWRITTEN;
use crate::format::EXTENT_SIZE;
use crate::format::INLINE_AREA_SIZE;
use crate::format::INLINE_EXTENTS;
use crate::format::INODE_SIZE;
use crate::format::JOURNAL_RECORD_MAX_DATA;
use crate::format::MAX_FILE_BLOCKS;
use crate::format::MAX_FILE_SIZE;
use crate::format::MAX_NAME_LEN;
use crate::format::ORPHAN_HEAD_OFFSET;
use crate::format::SUPERBLOCK_UNSUMMED;
use crate::format::S_IFBLK;
use crate::format::S_IFCHR;
use crate::format::S_IFDIR;
use crate::format::S_IFIFO;
use crate::format::S_IFLNK;
use crate::format::S_IFREG;
use crate::format::S_IFSOCK;
use crate::format::XATTR_BLOCK_HEADER_SIZE;
use crate::format::XATTR_ENTRY_HEADER_SIZE;
use crate::format::XATTR_INDEX_POSIX_ACL_ACCESS;
use crate::format::XATTR_INDEX_POSIX_ACL_DEFAULT;
use crate::format::XATTR_INDEX_SECURITY;
use crate::format::XATTR_INDEX_TRUSTED;
use crate::format::XATTR_INDEX_USER;
use crate::Error;
use crate::Result;

/// A POSIX ACL that agrees with `mode`, as the kernel keeps them: the owner's and others'
/// permissions, and with `named` entries (named users first, then groups) a mask of the
/// group's bits and an owning group's entry within it.
fn acl_of_mode(mode: u16, named: &[(u16, u16, u32)]) -> Vec<u8> {
    let none = u32::MAX;
    let (owner, group, other) = ((mode >> 6) & 7, (mode >> 3) & 7, mode & 7);
    let mut entries = vec![(acl_tag::USER_OBJ, owner, none)];
    entries.extend(named.iter().filter(|e| e.0 == acl_tag::USER));
    entries.push((acl_tag::GROUP_OBJ, group & 5, none));
    entries.extend(named.iter().filter(|e| e.0 == acl_tag::GROUP));
    if !named.is_empty() {
        entries.push((acl_tag::MASK, group, none));
    }
    entries.push((acl_tag::OTHER, other, none));
    encode_posix_acl(&entries).collect()
}

/// Blocks in the seed image (4 MiB): room for everything below, small enough to write and check
/// thousands of times.
pub const CORPUS_BLOCKS: u64 = 1024;

/// Extents of the corpus's `chain` file: six inline, then two overflow blocks (203 and 20).
const CHAIN_EXTENTS: u64 = (INLINE_EXTENTS + EXTENTS_PER_BLOCK + 20) as u64;

/// Most mutations applied for one seed.
const MAX_MUTATIONS: u64 = 4;

/// The device number of the corpus's block device node (8:0, `sda`, in `new_encode_dev` form).
const DISK_RDEV: u32 = 8 << 8;

/// The seed image and where its structures are.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The pristine image.
    image: Vec<u8>,
    /// Where its structures are.
    targets: Targets,
}

/// Where the structures of the seed image are: what the mutator aims at, and the values it
/// borrows (other inodes' numbers, other files' blocks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// The superblock (block 0) as written.
    pub superblock: Superblock,
    /// The bitmap blocks.
    pub bitmap_blocks: Vec<u64>,
    /// The in-use inode slots, by inode number.
    pub inodes: Vec<InodeTarget>,
    /// Some never-used inode slots (inode number and byte offset): the first after the used
    /// ones, and the last of the table.
    pub free_inode_slots: Vec<(u64, usize)>,
    /// The directory blocks.
    pub directory_blocks: Vec<OwnedBlock>,
    /// The extent-overflow blocks, in chain order per owner.
    pub overflow_blocks: Vec<OwnedBlock>,
    /// The block holding the target of the block symlink.
    pub symlink_block: OwnedBlock,
    /// The length of that target.
    pub symlink_len: usize,
    /// The data blocks of regular files.
    pub data_blocks: Vec<OwnedBlock>,
    /// Some free data blocks: the first two and the last.
    pub free_data_blocks: Vec<u64>,
    /// The orphan list, head first.
    pub orphans: Vec<u64>,
    /// The extended-attribute blocks.
    pub xattr_blocks: Vec<OwnedBlock>,
}

/// An in-use inode of the seed image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InodeTarget {
    /// Its number.
    pub ino: u64,
    /// Byte offset of its slot in the image.
    pub offset: usize,
    /// Its type.
    pub file_type: FileType,
    /// What it is: its path, or "orphan".
    pub what: String,
    /// Its extent count.
    pub extent_count: u32,
    /// The length of its target if it is an inline symlink, else 0.
    pub inline_symlink_len: usize,
}

/// A block of the data area and the inode owning it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnedBlock {
    /// The block number.
    pub block: u64,
    /// The owning inode.
    pub owner: u64,
}

/// A mutated image and what was done to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutated {
    /// The image.
    pub image: Vec<u8>,
    /// One line per mutation, e.g. `inode 12 extent_count 3 -> 4294967295 (resealed)`; empty
    /// for the pristine image.
    pub mutations: Vec<String>,
}

impl Mutated {
    /// The mutations as one line: joined by `"; "`, or `pristine`.
    pub fn summary(&self) -> String {
        if self.mutations.is_empty() {
            "pristine".into()
        } else {
            self.mutations.join("; ")
        }
    }
}

impl Corpus {
    /// Builds the seed image: [`ImageBuilder::populated`] (directories, files with holes and an
    /// overflow block, inline and block symlinks, a FIFO, a character device, a hard link) plus a
    /// file whose extents need a chain of two overflow blocks, a file whose second extent is
    /// unwritten, a block device node, a socket and two orphans on the orphan list; `prealloc`,
    /// `dir` and the first orphan have extended attributes, `prealloc` and `dir/subdir` ACLs.
    pub fn new() -> Result<Self> {
        let (mut builder, names) = ImageBuilder::populated(CORPUS_BLOCKS)?;
        let root = builder.superblock().root_ino;
        let dir = names
            .iter()
            .find(|(name, _)| *name == "dir")
            .map(|&(_, ino)| ino)
            .ok_or_else(|| Error::Other("populated image without 'dir'".into()))?;
        // One-block extents with a hole after each: none can merge, so each needs its own slot.
        let chain: Vec<(u64, u32)> = (0..CHAIN_EXTENTS).map(|index| (index * 2, 1)).collect();
        let chain_size = (CHAIN_EXTENTS * 2 - 1) * BLOCK_SIZE_U64;
        builder.create_file(dir, b"chain", chain_size, &chain)?;
        // Blocks 2 and 3 preallocated, unwritten: they hold the builder's pattern, which must
        // read as zeros.
        let prealloc =
            builder.create_file(root, b"prealloc", 4 * BLOCK_SIZE_U64, &[(0, 2), (2, 2)])?;
        let mut inode = builder.read_inode(prealloc)?;
        let mut extents = builder.extents(prealloc)?;
        if let Some(last) = extents.last_mut() {
            last.unwritten = true;
        }
        builder.set_extents(prealloc, &mut inode, &extents)?;
        builder.write_inode(prealloc, &inode)?;
        builder.mknod(root, b"disk", FileType::BlockDevice, DISK_RDEV)?;
        builder.mknod(dir, b"socket", FileType::Socket, 0)?;
        let orphan = builder.create_orphan(&[(0, 2)])?;
        builder.create_orphan(&[(0, 1), (3, 1)])?;
        // ACLs as setfacl leaves them, agreeing with the modes: prealloc's names a user and a
        // group; subdir has one too, and a default that names a user (so that a file created
        // in it gets an access ACL, and a directory both).
        let subdir = names
            .iter()
            .find(|(name, _)| *name == "subdir")
            .map(|&(_, ino)| ino)
            .ok_or_else(|| Error::Other("populated image without 'subdir'".into()))?;
        let named = [(acl_tag::USER, 4, 1000), (acl_tag::GROUP, 6, 100)];
        let file_acl = acl_of_mode(builder.read_inode(prealloc)?.mode, &named);
        let dir_acl = acl_of_mode(builder.read_inode(subdir)?.mode, &named);
        let default = acl_of_mode(0o750, &[(acl_tag::USER, 7, 1000)]);
        builder.set_xattrs(
            prealloc,
            &[
                (XATTR_INDEX_USER, b"one", b"first value"),
                (XATTR_INDEX_USER, b"empty", b""),
                (XATTR_INDEX_POSIX_ACL_ACCESS, b"", &file_acl),
                (XATTR_INDEX_SECURITY, b"label", b"system_u:object_r:etc_t"),
            ],
        )?;
        builder.set_xattrs(dir, &[(XATTR_INDEX_TRUSTED, b"overlay.opaque", b"y")])?;
        builder.set_xattrs(
            subdir,
            &[
                (XATTR_INDEX_POSIX_ACL_ACCESS, b"", &dir_acl),
                (XATTR_INDEX_POSIX_ACL_DEFAULT, b"", &default),
            ],
        )?;
        builder.set_xattrs(orphan, &[(XATTR_INDEX_USER, b"gone", b"with the orphan")])?;
        let targets = Targets::find(&builder)?;
        let image = builder.finish()?;
        Ok(Self { image, targets })
    }

    /// The pristine image.
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    /// Where the image's structures are.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The image mutated by `seed`: 1 to 4 mutations, the same for the same seed; none for seed 0.
    pub fn mutate(&self, seed: u64) -> Mutated {
        let mut image = self.image.clone();
        let mut mutations = Vec::new();
        if seed != 0 {
            let mut mutator = Mutator {
                targets: &self.targets,
                image: &mut image,
                rng: Rng::new(seed),
            };
            let count = 1 + mutator.rng.below(MAX_MUTATIONS);
            for _ in 0..count {
                mutations.push(mutator.mutate_once());
            }
        }
        Mutated { image, mutations }
    }
}

impl Targets {
    /// Finds the structures of the image `builder` holds.
    fn find(builder: &ImageBuilder) -> Result<Self> {
        let sb = *builder.superblock();
        let paths = directory_paths(builder)?;
        let mut targets = Self {
            superblock: sb,
            bitmap_blocks: (sb.bitmap_start..sb.bitmap_start + sb.bitmap_blocks).collect(),
            inodes: Vec::new(),
            free_inode_slots: Vec::new(),
            directory_blocks: Vec::new(),
            overflow_blocks: Vec::new(),
            symlink_block: OwnedBlock { block: 0, owner: 0 },
            symlink_len: 0,
            data_blocks: Vec::new(),
            free_data_blocks: Vec::new(),
            orphans: Vec::new(),
            xattr_blocks: Vec::new(),
        };
        let mut last_used = 0;
        for ino in 1..=sb.inode_count {
            let inode = builder.read_inode(ino)?;
            let Some(file_type) = inode.file_type() else {
                continue;
            };
            last_used = ino;
            let what = paths
                .iter()
                .find(|(path_ino, _)| *path_ino == ino)
                .map_or_else(|| "orphan".to_string(), |(_, path)| path.clone());
            targets.inodes.push(InodeTarget {
                ino,
                offset: builder.inode_offset(ino)?,
                file_type,
                what,
                extent_count: inode.extent_count,
                inline_symlink_len: inode.inline_symlink_target().map_or(0, <[u8]>::len),
            });
            if inode.xattr_block != 0 {
                targets.xattr_blocks.push(OwnedBlock {
                    block: inode.xattr_block,
                    owner: ino,
                });
            }
            for block in builder.overflow_chain(ino)? {
                targets
                    .overflow_blocks
                    .push(OwnedBlock { block, owner: ino });
            }
            let owned = builder.extents(ino)?.into_iter().flat_map(|extent| {
                (extent.physical..extent.physical + u64::from(extent.len))
                    .map(move |block| OwnedBlock { block, owner: ino })
            });
            match file_type {
                FileType::Directory => targets.directory_blocks.extend(owned),
                FileType::Symlink => {
                    if let Some(block) = owned.last() {
                        targets.symlink_block = block;
                        targets.symlink_len = usize::try_from(inode.size).unwrap_or(0);
                    }
                }
                _ => targets.data_blocks.extend(owned),
            }
        }
        for ino in [last_used + 1, sb.inode_count] {
            if ino > last_used && ino <= sb.inode_count {
                targets
                    .free_inode_slots
                    .push((ino, builder.inode_offset(ino)?));
            }
        }
        let bitmap = builder.device().read_new(sb.bitmap_start)?;
        let is_free = |block: u64| bitmap[(block / 8) as usize] & (1 << (block % 8)) == 0;
        let free: Vec<u64> = (sb.data_start..sb.total_blocks.min(BITS_PER_BITMAP_BLOCK))
            .filter(|&block| is_free(block))
            .collect();
        targets.free_data_blocks = free.iter().take(2).chain(free.last()).copied().collect();
        let mut orphan = sb.orphan_head;
        while orphan != 0 && !targets.orphans.contains(&orphan) {
            targets.orphans.push(orphan);
            orphan = builder.read_inode(orphan)?.next_orphan;
        }
        if targets.symlink_block.block == 0 || targets.overflow_blocks.len() < 3 {
            return Err(Error::Other(
                "the corpus lacks a block symlink or overflow chain".into(),
            ));
        }
        Ok(targets)
    }

    /// The target of in-use inode `ino`.
    fn inode(&self, ino: u64) -> Option<&InodeTarget> {
        self.inodes.iter().find(|target| target.ino == ino)
    }

    /// What owns `block`, for messages: "directory block of inode 1", ...
    fn block_role(&self, block: u64) -> String {
        let sb = &self.superblock;
        let lists = [
            ("directory block", &self.directory_blocks),
            ("overflow block", &self.overflow_blocks),
            ("data block", &self.data_blocks),
        ];
        for (role, list) in lists {
            if let Some(owned) = list.iter().find(|owned| owned.block == block) {
                return format!("{role} of inode {}", owned.owner);
            }
        }
        if block == self.symlink_block.block {
            return format!("symlink block of inode {}", self.symlink_block.owner);
        }
        if block < sb.data_start {
            return "metadata".into();
        }
        if block >= sb.total_blocks {
            return "past the end".into();
        }
        "free".into()
    }
}

/// The path of every inode reachable from the root, found by walking the directories.
fn directory_paths(builder: &ImageBuilder) -> Result<Vec<(u64, String)>> {
    let root = builder.superblock().root_ino;
    let mut paths = vec![(root, "/".to_string())];
    let mut next = 0;
    while let Some((dir, path)) = paths.get(next).cloned() {
        next += 1;
        if builder.read_inode(dir)?.file_type() != Some(FileType::Directory) {
            continue;
        }
        for extent in builder.extents(dir)? {
            for block in extent.physical..extent.physical + u64::from(extent.len) {
                let bytes = builder.device().read_new(block)?;
                for slot in bytes.chunks_exact(DIRENT_SIZE) {
                    if let Some(entry) = DirEntry::decode(slot)? {
                        let separator = if path.ends_with('/') { "" } else { "/" };
                        let name = entry.name().escape_ascii();
                        paths.push((entry.ino, format!("{path}{separator}{name}")));
                    }
                }
            }
        }
    }
    Ok(paths)
}

/// A small deterministic pseudo-random generator: xorshift64*, seeded through splitmix64 so that
/// neighbouring seeds give unrelated sequences.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut mixed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        // xorshift never leaves the all-zero state: keep out of it.
        Self(mixed | 1)
    }

    /// The next value.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value below `bound` (0 if `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next() % bound
        }
    }

    /// An index into a collection of `len` items (0 if empty).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `numerator` times in `denominator`.
    fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }

    /// One of `items`, which must not be empty.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }
}

/// What a field holds, which decides the interesting values to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meaning {
    /// A block number.
    Block,
    /// An inode number.
    Ino,
    /// A count: links, blocks, extents, a length.
    Count,
    /// An extent's length with its unwritten flag in the top bit.
    ExtentLen,
    /// A size in bytes.
    Size,
    /// A file block number.
    Logical,
    /// An inode's mode.
    Mode,
    /// Flag or feature bits.
    Bits,
    /// Signed seconds.
    Seconds,
    /// Nanoseconds.
    Nanoseconds,
    /// The superblock's state.
    State,
    /// A version number.
    Version,
    /// Anything else.
    Other,
}

/// A field of an on-disk record.
#[derive(Clone, Copy, Debug)]
struct Field {
    /// Its name, as in the format's documentation.
    name: &'static str,
    /// Byte offset in the record.
    offset: usize,
    /// Width in bytes, at most 8.
    width: usize,
    /// What it holds.
    meaning: Meaning,
    /// How often it is picked, relative to the other fields of its record.
    weight: u64,
}

impl Field {
    /// A field of `width` bytes at `offset` holding `meaning`, picked with `weight`.
    const fn new(
        name: &'static str,
        offset: usize,
        width: usize,
        meaning: Meaning,
        weight: u64,
    ) -> Self {
        Self {
            name,
            offset,
            width,
            meaning,
            weight,
        }
    }
}

/// Byte offset of the superblock's checksum.
const SUPERBLOCK_CHECKSUM: usize = sb_off::CHECKSUM;

/// The superblock's fields (the 16-byte UUID and 32-byte label by their first 8 bytes).
const SUPERBLOCK_FIELDS: &[Field] = &[
    Field::new("magic", sb_off::MAGIC, 8, Meaning::Other, 1),
    Field::new(
        "version_major",
        sb_off::VERSION_MAJOR,
        2,
        Meaning::Version,
        2,
    ),
    Field::new(
        "version_minor",
        sb_off::VERSION_MINOR,
        2,
        Meaning::Version,
        1,
    ),
    Field::new(
        "feature_compat",
        sb_off::FEATURE_COMPAT,
        4,
        Meaning::Bits,
        1,
    ),
    Field::new(
        "feature_incompat",
        sb_off::FEATURE_INCOMPAT,
        4,
        Meaning::Bits,
        1,
    ),
    Field::new(
        "feature_ro_compat",
        sb_off::FEATURE_RO_COMPAT,
        4,
        Meaning::Bits,
        1,
    ),
    Field::new("uuid", sb_off::UUID, 8, Meaning::Other, 1),
    Field::new("label", sb_off::LABEL, 8, Meaning::Other, 1),
    Field::new("block_size", sb_off::BLOCK_SIZE, 4, Meaning::Size, 1),
    Field::new("state", sb_off::STATE, 4, Meaning::State, 2),
    Field::new("total_blocks", sb_off::TOTAL_BLOCKS, 8, Meaning::Block, 3),
    Field::new("bitmap_start", sb_off::BITMAP_START, 8, Meaning::Block, 2),
    Field::new("bitmap_blocks", sb_off::BITMAP_BLOCKS, 8, Meaning::Count, 2),
    Field::new(
        "inode_table_start",
        sb_off::INODE_TABLE_START,
        8,
        Meaning::Block,
        2,
    ),
    Field::new(
        "inode_table_blocks",
        sb_off::INODE_TABLE_BLOCKS,
        8,
        Meaning::Count,
        2,
    ),
    Field::new("inode_count", sb_off::INODE_COUNT, 8, Meaning::Ino, 2),
    Field::new("data_start", sb_off::DATA_START, 8, Meaning::Block, 3),
    Field::new("root_ino", sb_off::ROOT_INO, 8, Meaning::Ino, 4),
    Field::new("free_blocks", sb_off::FREE_BLOCKS, 8, Meaning::Count, 3),
    Field::new("free_inodes", sb_off::FREE_INODES, 8, Meaning::Count, 3),
    Field::new("orphan_head", ORPHAN_HEAD_OFFSET, 8, Meaning::Ino, 4),
    Field::new("mkfs_time", sb_off::MKFS_TIME, 8, Meaning::Seconds, 1),
    Field::new("checksum", SUPERBLOCK_CHECKSUM, 4, Meaning::Other, 1),
    Field::new("journal_start", sb_off::JOURNAL_START, 8, Meaning::Block, 2),
    Field::new(
        "journal_blocks",
        sb_off::JOURNAL_BLOCKS,
        8,
        Meaning::Count,
        2,
    ),
];

/// Byte offset of an inode's checksum.
const INODE_CHECKSUM: usize = inode_off::CHECKSUM;
/// Byte offset of an inode's inline area.
const INODE_INLINE: usize = inode_off::INLINE;

/// An inode's mode.
const INODE_MODE: Field = Field::new("mode", inode_off::MODE, 2, Meaning::Mode, 6);
/// An inode's link count.
const INODE_NLINK: Field = Field::new("nlink", inode_off::NLINK, 4, Meaning::Count, 6);
/// An inode's link in the orphan list.
const INODE_NEXT_ORPHAN: Field =
    Field::new("next_orphan", inode_off::NEXT_ORPHAN, 8, Meaning::Ino, 4);

/// The inode's fields, weighted towards those the code relies on.
const INODE_FIELDS: &[Field] = &[
    INODE_MODE,
    Field::new("flags", inode_off::FLAGS, 2, Meaning::Bits, 3),
    Field::new("uid", inode_off::UID, 4, Meaning::Other, 1),
    Field::new("gid", inode_off::GID, 4, Meaning::Other, 1),
    INODE_NLINK,
    Field::new("size", inode_off::SIZE, 8, Meaning::Size, 6),
    Field::new("blocks", inode_off::BLOCKS, 8, Meaning::Count, 5),
    Field::new("atime.sec", inode_off::TIME_SECS, 8, Meaning::Seconds, 1),
    Field::new(
        "mtime.sec",
        inode_off::TIME_SECS + 8,
        8,
        Meaning::Seconds,
        1,
    ),
    Field::new(
        "ctime.sec",
        inode_off::TIME_SECS + 16,
        8,
        Meaning::Seconds,
        1,
    ),
    Field::new(
        "btime.sec",
        inode_off::TIME_SECS + 24,
        8,
        Meaning::Seconds,
        1,
    ),
    Field::new(
        "atime.nsec",
        inode_off::TIME_NSECS,
        4,
        Meaning::Nanoseconds,
        1,
    ),
    Field::new(
        "mtime.nsec",
        inode_off::TIME_NSECS + 4,
        4,
        Meaning::Nanoseconds,
        1,
    ),
    Field::new(
        "ctime.nsec",
        inode_off::TIME_NSECS + 8,
        4,
        Meaning::Nanoseconds,
        1,
    ),
    Field::new(
        "btime.nsec",
        inode_off::TIME_NSECS + 12,
        4,
        Meaning::Nanoseconds,
        1,
    ),
    Field::new("generation", inode_off::GENERATION, 4, Meaning::Other, 1),
    Field::new(
        "extent_count",
        inode_off::EXTENT_COUNT,
        4,
        Meaning::Count,
        6,
    ),
    INODE_NEXT_ORPHAN,
    Field::new(
        "overflow_block",
        inode_off::OVERFLOW_BLOCK,
        8,
        Meaning::Block,
        5,
    ),
    Field::new("parent", inode_off::PARENT, 8, Meaning::Ino, 5),
    Field::new("rdev", inode_off::RDEV, 4, Meaning::Other, 2),
    Field::new("xattr_block", inode_off::XATTR_BLOCK, 8, Meaning::Block, 3),
];

/// An extent's fields.
const EXTENT_FIELDS: &[Field] = &[
    Field::new("logical", extent_off::LOGICAL, 8, Meaning::Logical, 1),
    Field::new("physical", extent_off::PHYSICAL, 8, Meaning::Block, 1),
    Field::new("len", extent_off::LEN, 4, Meaning::ExtentLen, 1),
];

/// Byte offset of an extent-overflow block's checksum.
const EXTENT_BLOCK_CHECKSUM: usize = extent_block_off::CHECKSUM;

/// An extent-overflow block's header fields.
const EXTENT_BLOCK_FIELDS: &[Field] = &[
    Field::new("magic", extent_block_off::MAGIC, 4, Meaning::Other, 1),
    Field::new("count", extent_block_off::COUNT, 4, Meaning::Count, 4),
    Field::new("next", extent_block_off::NEXT, 8, Meaning::Block, 4),
    Field::new("owner", extent_block_off::OWNER, 8, Meaning::Ino, 3),
];

/// An extended-attribute block's header fields.
const XATTR_BLOCK_FIELDS: &[Field] = &[
    Field::new("magic", xattr_off::MAGIC, 4, Meaning::Other, 1),
    Field::new("count", xattr_off::COUNT, 4, Meaning::Count, 3),
    Field::new("owner", xattr_off::OWNER, 8, Meaning::Ino, 2),
    Field::new("used", xattr_off::USED, 4, Meaning::Count, 3),
];

/// An extended-attribute entry's fields.
const XATTR_ENTRY_FIELDS: &[Field] = &[
    Field::new("index", 0, 1, Meaning::Other, 2),
    Field::new("name_len", 1, 1, Meaning::Count, 3),
    Field::new("value_len", 2, 2, Meaning::Count, 3),
];

/// A directory entry's inode number.
const DIRENT_INO: Field = Field::new("ino", dirent_off::INO, 8, Meaning::Ino, 1);
/// A directory entry's name length.
const DIRENT_NAME_LEN: Field = Field::new("name_len", dirent_off::NAME_LEN, 1, Meaning::Count, 1);
/// A directory entry's `DT_*` type.
const DIRENT_FILE_TYPE: Field =
    Field::new("file_type", dirent_off::FILE_TYPE, 1, Meaning::Other, 1);
/// Byte offset of a directory entry's name.
const DIRENT_NAME: usize = dirent_off::NAME;

/// The kinds of mutation, and how often each is chosen (out of 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// A field of an in-use inode.
    InodeField,
    /// A field of an inline extent.
    InlineExtent,
    /// A byte of an inline symlink's target.
    InlineSymlink,
    /// A field of a never-used inode slot.
    FreeInodeSlot,
    /// A field of an extent-overflow block's header.
    OverflowHeader,
    /// A field of an extent in an overflow block.
    OverflowExtent,
    /// A field of an extended-attribute block's header or of one of its entries.
    XattrBlock,
    /// A directory entry.
    DirEntry,
    /// A bit of the bitmap.
    Bitmap,
    /// A superblock field.
    SuperblockField,
    /// A link of the orphan list.
    OrphanList,
    /// A byte of the block symlink's target.
    SymlinkBlock,
    /// A raw byte, checksums left stale.
    RawByte,
    /// The undo journal: its commit word, or a record of the interrupted transaction (which
    /// mount and fsck apply before anything else reads the image).
    Journal,
}

/// The classes with their weights.
const CLASSES: &[(Class, u64)] = &[
    (Class::InodeField, 26),
    (Class::InlineExtent, 10),
    (Class::InlineSymlink, 3),
    (Class::FreeInodeSlot, 3),
    (Class::OverflowHeader, 6),
    (Class::OverflowExtent, 7),
    (Class::XattrBlock, 5),
    (Class::DirEntry, 16),
    (Class::Bitmap, 6),
    (Class::SuperblockField, 9),
    (Class::OrphanList, 6),
    (Class::SymlinkBlock, 2),
    (Class::RawByte, 6),
    (Class::Journal, 8),
];

/// Reads the `width`-byte little-endian field at byte `at`.
fn get(image: &[u8], at: usize, width: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes[..width].copy_from_slice(&image[at..at + width]);
    u64::from_le_bytes(bytes)
}

/// Writes `value` as the `width`-byte little-endian field at byte `at`.
fn put(image: &mut [u8], at: usize, width: usize, value: u64) {
    image[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// `value` cut to `width` bytes.
fn truncate(value: u64, width: usize) -> u64 {
    if width >= 8 {
        value
    } else {
        value & ((1 << (8 * width)) - 1)
    }
}

/// Byte offset of block `block` in the image.
fn block_at(block: u64) -> usize {
    block as usize * BLOCK_SIZE
}

/// CRC32C of `record` with the `width` bytes at each of `skip` read as zero: the format's
/// checksums (CRC32C streams, so zeroing a copy equals hashing around the field).
fn checksum_without(record: &[u8], skip: &[(usize, usize)]) -> u32 {
    let mut copy = record.to_vec();
    for &(offset, width) in skip {
        copy[offset..offset + width].fill(0);
    }
    crc32c(0, &copy)
}

/// Reseals the superblock's checksum (which reads the live fields as zero).
fn reseal_superblock(image: &mut [u8]) {
    let checksum = checksum_without(&image[..BLOCK_SIZE], &SUPERBLOCK_UNSUMMED);
    put(image, SUPERBLOCK_CHECKSUM, 4, u64::from(checksum));
}

/// Reseals the checksum of the inode slot at byte `at`.
fn reseal_inode(image: &mut [u8], at: usize) {
    let checksum = checksum_without(&image[at..at + INODE_SIZE], &[(INODE_CHECKSUM, 4)]);
    put(image, at + INODE_CHECKSUM, 4, u64::from(checksum));
}

/// Reseals the checksum of the extended-attribute block `block`.
fn reseal_xattr_block(image: &mut [u8], block: u64) {
    let at = block_at(block);
    let checksum = checksum_without(&image[at..at + BLOCK_SIZE], &[(xattr_off::CHECKSUM, 4)]);
    put(image, at + xattr_off::CHECKSUM, 4, u64::from(checksum));
}

/// Reseals the checksum of the extent-overflow block `block`.
fn reseal_extent_block(image: &mut [u8], block: u64) {
    let at = block_at(block);
    let checksum = checksum_without(&image[at..at + BLOCK_SIZE], &[(EXTENT_BLOCK_CHECKSUM, 4)]);
    put(image, at + EXTENT_BLOCK_CHECKSUM, 4, u64::from(checksum));
}

/// Formats a field value for a message, the way the field is usually read.
fn show(meaning: Meaning, width: usize, value: u64) -> String {
    match meaning {
        Meaning::Mode => format!("{value:#o}"),
        Meaning::Bits | Meaning::ExtentLen => format!("{value:#x}"),
        Meaning::Seconds if width == 8 => (value as i64).to_string(),
        _ => value.to_string(),
    }
}

/// The valid `S_IFMT` types.
const MODE_TYPES: [u16; 7] = [
    S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
];

/// The valid `DT_*` values.
const DIRENT_TYPES: [u8; 7] = [DT_REG, DT_DIR, DT_LNK, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK];

/// One seed's mutation in progress.
struct Mutator<'a> {
    /// Where the structures are.
    targets: &'a Targets,
    /// The image being mutated.
    image: &'a mut [u8],
    /// The seed's random sequence.
    rng: Rng,
}

impl<'a> Mutator<'a> {
    /// Applies one mutation and describes it.
    fn mutate_once(&mut self) -> String {
        let weights: Vec<u64> = CLASSES.iter().map(|&(_, weight)| weight).collect();
        match CLASSES[self.weighted(&weights)].0 {
            Class::InodeField => self.inode_field(),
            Class::InlineExtent => self.inline_extent(),
            Class::InlineSymlink => self.inline_symlink(),
            Class::FreeInodeSlot => self.free_inode_slot(),
            Class::OverflowHeader => self.overflow_header(),
            Class::OverflowExtent => self.overflow_extent(),
            Class::XattrBlock => self.xattr_block(),
            Class::DirEntry => self.dir_entry(),
            Class::Bitmap => self.bitmap(),
            Class::SuperblockField => self.superblock_field(),
            Class::OrphanList => self.orphan_list(),
            Class::SymlinkBlock => self.symlink_block(),
            Class::RawByte => self.raw_byte(),
            Class::Journal => self.journal(),
        }
    }

    /// An index into `weights`, chosen in proportion to them.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut left = self.rng.below(weights.iter().sum());
        for (index, &weight) in weights.iter().enumerate() {
            if left < weight {
                return index;
            }
            left -= weight;
        }
        0
    }

    /// A field of `fields`, chosen by weight.
    fn pick_field(&mut self, fields: &[Field]) -> Field {
        let weights: Vec<u64> = fields.iter().map(|field| field.weight).collect();
        fields[self.weighted(&weights)]
    }

    /// Sets `field` of the record at byte `record` to an interesting value other than its
    /// current one, and returns `field old -> new`.
    fn set_field(&mut self, record: usize, field: Field) -> String {
        let at = record + field.offset;
        let old = get(self.image, at, field.width);
        let new = self.value(field.meaning, old, field.width);
        put(self.image, at, field.width, new);
        format!(
            "{} {} -> {}",
            field.name,
            show(field.meaning, field.width, old),
            show(field.meaning, field.width, new)
        )
    }

    /// An interesting value for a field holding `meaning`, currently `old`, cut to `width`
    /// bytes and different from `old`.
    fn value(&mut self, meaning: Meaning, old: u64, width: usize) -> u64 {
        let specific = self.rng.chance(3, 4);
        let value = match meaning {
            Meaning::Block if specific => self.block_value(),
            Meaning::Ino if specific => self.ino_value(),
            Meaning::Count if specific => self.count_value(old),
            // The unwritten flag flipped (on a directory's or symlink's extent too), or the
            // length changed under it.
            Meaning::ExtentLen if specific && self.rng.chance(1, 2) => {
                old ^ u64::from(EXTENT_LEN_UNWRITTEN)
            }
            Meaning::ExtentLen if specific => {
                (old & u64::from(EXTENT_LEN_UNWRITTEN)) | self.count_value(old & 0x7fff_ffff)
            }
            Meaning::Size if specific => self.size_value(old),
            Meaning::Logical if specific => self.logical_value(old),
            Meaning::Mode if specific => self.mode_value(old),
            Meaning::Bits if specific => self.rng.pick(&[0, 1, 2, 3, 0x8000, 1 << 31, u64::MAX]),
            Meaning::Seconds if specific => {
                self.rng
                    .pick(&[i64::MIN, i64::MAX, -1, 0, 1 << 34, -(1 << 34)]) as u64
            }
            Meaning::Nanoseconds if specific => {
                self.rng
                    .pick(&[999_999_999, 1_000_000_000, u64::from(u32::MAX)])
            }
            Meaning::State if specific => self.rng.pick(&[0, 1, 2, 3, u64::from(u32::MAX)]),
            Meaning::Version if specific => self.rng.pick(&[0, 1, 2, u64::from(u16::MAX)]),
            _ => self.generic_value(old),
        };
        let value = truncate(value, width);
        if value == old {
            truncate(old ^ 1, width)
        } else {
            value
        }
    }

    /// A value of any kind: small numbers, neighbours of `old`, bounds, random bits.
    fn generic_value(&mut self, old: u64) -> u64 {
        let sb = &self.targets.superblock;
        match self.rng.below(16) {
            0 => 0,
            1 => 1,
            2 => 2,
            3 => 3 + self.rng.below(14),
            4 => old.wrapping_add(1),
            5 => old.wrapping_sub(1),
            6 => old ^ (1 << self.rng.below(64)),
            7 => u64::from(u32::MAX),
            8 => u64::MAX,
            9 => 0x7fff_ffff_ffff_ffff,
            10 => 0x7_ffff_ffff_ffff,
            11 => sb.inode_count + self.rng.below(2),
            12 => sb.total_blocks - self.rng.below(2),
            13 => self.block_value(),
            14 => self.ino_value(),
            _ => self.rng.next(),
        }
    }

    /// A block number: bounds of the regions, metadata, blocks of files, free blocks.
    fn block_value(&mut self) -> u64 {
        let targets = self.targets;
        let sb = &targets.superblock;
        match self.rng.below(14) {
            0 => 0,
            1 => sb.bitmap_start,
            2 => sb.inode_table_start + self.rng.below(sb.inode_table_blocks),
            3 => sb.data_start - 1,
            4 => sb.data_start,
            5 => sb.total_blocks - 1,
            6 => sb.total_blocks,
            7 => u64::MAX - self.rng.below(2),
            8 => self.rng.pick(&targets.directory_blocks).block,
            9 => self.rng.pick(&targets.overflow_blocks).block,
            10 => targets.symlink_block.block,
            11 => self.rng.pick(&targets.free_data_blocks),
            _ => self.rng.pick(&targets.data_blocks).block,
        }
    }

    /// An inode number: live ones (the root, directories, orphans), free ones, bounds.
    fn ino_value(&mut self) -> u64 {
        let targets = self.targets;
        let sb = &targets.superblock;
        match self.rng.below(12) {
            0 => 0,
            1 => sb.root_ino,
            2 => sb.inode_count,
            3 => sb.inode_count + 1,
            4 => u64::MAX,
            5 => 1 << 32,
            6 => self.rng.pick(&targets.orphans),
            7 => self.rng.pick(&targets.free_inode_slots).0,
            8 => {
                let dirs: Vec<u64> = targets
                    .inodes
                    .iter()
                    .filter(|target| target.file_type == FileType::Directory)
                    .map(|target| target.ino)
                    .collect();
                self.rng.pick(&dirs)
            }
            _ => targets.inodes[self.rng.index(targets.inodes.len())].ino,
        }
    }

    /// A count: off-by-ones of `old`, the limits of the inline area and of an overflow block,
    /// the data area's size, the widths' maxima.
    fn count_value(&mut self, old: u64) -> u64 {
        let data_blocks = self.targets.superblock.data_blocks();
        match self.rng.below(12) {
            0 => 0,
            1 => 1,
            2 => 2,
            3 | 4 => old.wrapping_add(1),
            5 | 6 => old.wrapping_sub(1),
            7 => self.rng.pick(&[5, 6, 7, 8]),
            8 => (EXTENTS_PER_BLOCK as u64 - 1) + self.rng.below(3),
            9 => data_blocks + self.rng.below(2),
            10 => u64::from(u32::MAX),
            _ => u64::MAX,
        }
    }

    /// A size in bytes: block and inline-area boundaries, the largest file, past it.
    fn size_value(&mut self, old: u64) -> u64 {
        match self.rng.below(12) {
            0 => 0,
            1 => 1,
            2 => BLOCK_SIZE_U64 - 1 + self.rng.below(3),
            3 => INLINE_AREA_SIZE as u64 + self.rng.below(2),
            4 => old.wrapping_add(1),
            5 => old.wrapping_sub(1),
            6 => old.wrapping_add(BLOCK_SIZE_U64),
            7 => old.wrapping_sub(BLOCK_SIZE_U64),
            8 => MAX_FILE_SIZE + self.rng.below(2),
            9 => 0x7fff_ffff_ffff_ffff,
            10 => u64::MAX,
            _ => 1 << 40,
        }
    }

    /// A file block number: neighbours of `old`, the largest file's end.
    fn logical_value(&mut self, old: u64) -> u64 {
        match self.rng.below(9) {
            0 => 0,
            1 | 2 => old.wrapping_add(1),
            3 | 4 => old.wrapping_sub(1),
            5 => MAX_FILE_BLOCKS - self.rng.below(2),
            6 => u64::MAX - self.rng.below(2),
            7 => 0x7_ffff_ffff_ffff,
            _ => 1 << 32,
        }
    }

    /// A mode: another type, an invalid type, free, or a flipped bit.
    fn mode_value(&mut self, old: u64) -> u64 {
        let permissions = old & 0o7777;
        match self.rng.below(5) {
            0 | 1 => u64::from(self.rng.pick(&MODE_TYPES)) | permissions,
            2 => {
                let invalid = [0o030_000, 0o050_000, 0o070_000, 0o110_000, 0o170_000];
                self.rng.pick(&invalid) | permissions
            }
            3 => 0,
            _ => old ^ (1 << self.rng.below(16)),
        }
    }

    /// An in-use inode of the corpus, more often one with blocks, a special type or on the
    /// orphan list than one of the many empty regular files.
    fn pick_inode(&mut self) -> &'a InodeTarget {
        let targets = self.targets;
        let weights: Vec<u64> = targets
            .inodes
            .iter()
            .map(|target| {
                let plain = target.file_type == FileType::Regular
                    && target.extent_count == 0
                    && !targets.orphans.contains(&target.ino);
                if plain {
                    1
                } else {
                    4
                }
            })
            .collect();
        &targets.inodes[self.weighted(&weights)]
    }

    /// A field of an in-use inode, resealed.
    fn inode_field(&mut self) -> String {
        let target = self.pick_inode();
        let (ino, offset) = (target.ino, target.offset);
        let field = self.pick_field(INODE_FIELDS);
        let change = self.set_field(offset, field);
        reseal_inode(self.image, offset);
        format!("inode {ino} {change} (resealed)")
    }

    /// A field of an inline extent, in use or just past the last one, resealed.
    fn inline_extent(&mut self) -> String {
        let targets = self.targets;
        let mapped: Vec<&InodeTarget> = targets
            .inodes
            .iter()
            .filter(|target| target.extent_count > 0 && target.inline_symlink_len == 0)
            .collect();
        let target = mapped[self.rng.index(mapped.len())];
        let inline = (target.extent_count as usize).min(INLINE_EXTENTS);
        let index = if inline < INLINE_EXTENTS && self.rng.chance(1, 6) {
            inline
        } else {
            self.rng.index(inline)
        };
        let field = self.pick_field(EXTENT_FIELDS);
        let change = self.set_field(target.offset + INODE_INLINE + index * EXTENT_SIZE, field);
        reseal_inode(self.image, target.offset);
        format!("inode {} extent[{index}].{change} (resealed)", target.ino)
    }

    /// A byte of an inline symlink's target, or the one after it, resealed.
    fn inline_symlink(&mut self) -> String {
        let targets = self.targets;
        let links: Vec<&InodeTarget> = targets
            .inodes
            .iter()
            .filter(|target| target.inline_symlink_len > 0)
            .collect();
        let target = links[self.rng.index(links.len())];
        let index = self
            .rng
            .index(target.inline_symlink_len + 1)
            .min(INLINE_AREA_SIZE - 1);
        let at = target.offset + INODE_INLINE + index;
        let old = self.image[at];
        let new = self.byte_value(old);
        self.image[at] = new;
        reseal_inode(self.image, target.offset);
        format!(
            "inode {} inline symlink byte {index} {old:#04x} -> {new:#04x} (resealed)",
            target.ino
        )
    }

    /// A byte for a name or path: NUL, `/`, `.`, or anything, but not `old`.
    fn byte_value(&mut self, old: u8) -> u8 {
        let new = match self.rng.below(5) {
            0 => 0,
            1 => b'/',
            2 => b'.',
            _ => self.rng.next() as u8,
        };
        if new == old {
            old ^ 0x20
        } else {
            new
        }
    }

    /// A field of a never-used inode slot, resealed: mostly a valid type, making an inode in
    /// use that nothing names.
    fn free_inode_slot(&mut self) -> String {
        let (ino, offset) = self.rng.pick(&self.targets.free_inode_slots);
        let change = if self.rng.chance(2, 3) {
            let at = offset + INODE_MODE.offset;
            let old = get(self.image, at, INODE_MODE.width);
            let new = u64::from(self.rng.pick(&MODE_TYPES)) | 0o644;
            put(self.image, at, INODE_MODE.width, new);
            format!("{} {old:#o} -> {new:#o}", INODE_MODE.name)
        } else {
            let field = self.pick_field(INODE_FIELDS);
            self.set_field(offset, field)
        };
        reseal_inode(self.image, offset);
        format!("free inode {ino} {change} (resealed)")
    }

    /// A header field of an extent-overflow block, resealed.
    fn overflow_header(&mut self) -> String {
        let owned = self.rng.pick(&self.targets.overflow_blocks);
        let field = self.pick_field(EXTENT_BLOCK_FIELDS);
        let change = self.set_field(block_at(owned.block), field);
        reseal_extent_block(self.image, owned.block);
        format!(
            "overflow block {} (inode {}) {change} (resealed)",
            owned.block, owned.owner
        )
    }

    /// A field of an xattr block's header, or of one of its entries (found by walking them as
    /// they are now), or a byte of its name; resealed.
    fn xattr_block(&mut self) -> String {
        let owned = self.rng.pick(&self.targets.xattr_blocks);
        let at = block_at(owned.block);
        let what = if self.rng.chance(1, 3) {
            let field = self.pick_field(XATTR_BLOCK_FIELDS);
            self.set_field(at, field)
        } else {
            // The entries as they are: each is 4 bytes, its name, its value.
            let count = get(self.image, at + xattr_off::COUNT, 4).min(64) as usize;
            let index = self.rng.index(count.max(1));
            let mut entry = at + XATTR_BLOCK_HEADER_SIZE;
            for _ in 0..index {
                let len = XATTR_ENTRY_HEADER_SIZE
                    + get(self.image, entry + 1, 1) as usize
                    + get(self.image, entry + 2, 2) as usize;
                if entry + len + XATTR_ENTRY_HEADER_SIZE + 1 > at + BLOCK_SIZE {
                    break;
                }
                entry += len;
            }
            if self.rng.chance(1, 4) {
                let byte = entry + XATTR_ENTRY_HEADER_SIZE;
                let value = self.rng.pick(&[0u8, b'/', b'.', 0xff]);
                self.image[byte] = value;
                format!("entry[{index}] name byte 0 = {value:#x}")
            } else {
                let field = self.pick_field(XATTR_ENTRY_FIELDS);
                format!("entry[{index}].{}", self.set_field(entry, field))
            }
        };
        reseal_xattr_block(self.image, owned.block);
        format!(
            "xattr block {} (inode {}) {what} (resealed)",
            owned.block, owned.owner
        )
    }

    /// A field of an extent of an overflow block, in use or just past the last, resealed.
    fn overflow_extent(&mut self) -> String {
        let owned = self.rng.pick(&self.targets.overflow_blocks);
        let at = block_at(owned.block);
        let count = (get(self.image, at + 4, 4) as usize).min(EXTENTS_PER_BLOCK);
        let index = if count < EXTENTS_PER_BLOCK && self.rng.chance(1, 8) {
            count
        } else {
            self.rng.index(count.max(1))
        };
        let field = self.pick_field(EXTENT_FIELDS);
        let change = self.set_field(at + EXTENT_BLOCK_HEADER_SIZE + index * EXTENT_SIZE, field);
        reseal_extent_block(self.image, owned.block);
        format!(
            "overflow block {} (inode {}) extent[{index}].{change} (resealed)",
            owned.block, owned.owner
        )
    }

    /// The slots of directory block `block` that are in use (`true`) or free (`false`).
    fn dir_slots(&self, block: u64, in_use: bool) -> Vec<usize> {
        (0..DIRENTS_PER_BLOCK)
            .filter(|slot| {
                (get(self.image, block_at(block) + slot * DIRENT_SIZE, 8) != 0) == in_use
            })
            .collect()
    }

    /// A used entry anywhere: its block and slot.
    fn any_used_entry(&mut self) -> Option<(OwnedBlock, usize)> {
        let targets = self.targets;
        let candidates: Vec<(OwnedBlock, usize)> = targets
            .directory_blocks
            .iter()
            .flat_map(|&owned| {
                self.dir_slots(owned.block, true)
                    .into_iter()
                    .map(move |slot| (owned, slot))
            })
            .collect();
        (!candidates.is_empty()).then(|| candidates[self.rng.index(candidates.len())])
    }

    /// A directory entry: its inode number, name length, a name byte, the name (`.`, `..`, or
    /// another entry's), its type, or a free slot filled (a copy of another entry, or garbage).
    fn dir_entry(&mut self) -> String {
        let owned = self.rng.pick(&self.targets.directory_blocks);
        let used = self.dir_slots(owned.block, true);
        let free = self.dir_slots(owned.block, false);
        let here = |slot: usize| {
            format!(
                "directory {} block {} slot {slot}",
                owned.owner, owned.block
            )
        };
        if used.is_empty() || (!free.is_empty() && self.rng.chance(1, 6)) {
            let slot = self.rng.pick(&free);
            let at = block_at(owned.block) + slot * DIRENT_SIZE;
            if self.rng.chance(2, 3) {
                if let Some((source, source_slot)) = self.any_used_entry() {
                    let from = block_at(source.block) + source_slot * DIRENT_SIZE;
                    self.image.copy_within(from..from + DIRENT_SIZE, at);
                    return format!(
                        "{} (free) <- copy of directory {} block {} slot {source_slot} ({})",
                        here(slot),
                        source.owner,
                        source.block,
                        self.entry_text(at)
                    );
                }
            }
            let change = self.set_field(at, DIRENT_INO);
            return format!("{} (free) {change}", here(slot));
        }
        let slot = self.rng.pick(&used);
        let at = block_at(owned.block) + slot * DIRENT_SIZE;
        let entry = self.entry_text(at);
        let change = match self.rng.below(9) {
            0 | 1 => self.set_field(at, DIRENT_INO),
            2 => {
                let old = u64::from(self.image[at + DIRENT_NAME_LEN.offset]);
                let random = self.rng.below(256);
                let new = self.rng.pick(&[
                    0,
                    1,
                    old.wrapping_sub(1) & 0xff,
                    (old + 1) & 0xff,
                    MAX_NAME_LEN as u64,
                    random,
                ]);
                let new = if new == old { old ^ 1 } else { new };
                self.image[at + DIRENT_NAME_LEN.offset] = new as u8;
                format!("{} {old} -> {new}", DIRENT_NAME_LEN.name)
            }
            3 => {
                let len = usize::from(self.image[at + DIRENT_NAME_LEN.offset]);
                let index = self.rng.index(len + 1).min(MAX_NAME_LEN - 1);
                let old = self.image[at + DIRENT_NAME + index];
                let new = self.byte_value(old);
                self.image[at + DIRENT_NAME + index] = new;
                format!("name byte {index} {old:#04x} -> {new:#04x}")
            }
            4 => {
                let dots: &[u8] = if self.rng.chance(1, 2) { b"." } else { b".." };
                self.set_name(at, dots)
            }
            5 => {
                // Another entry's name: a duplicate when it is in the same directory.
                let same_dir: Vec<(u64, usize)> = self
                    .targets
                    .directory_blocks
                    .iter()
                    .filter(|other| other.owner == owned.owner)
                    .flat_map(|other| {
                        self.dir_slots(other.block, true)
                            .into_iter()
                            .map(move |slot| (other.block, slot))
                    })
                    .filter(|&(block, other_slot)| (block, other_slot) != (owned.block, slot))
                    .collect();
                let source = if same_dir.is_empty() {
                    self.any_used_entry()
                        .map(|(other, slot)| (other.block, slot))
                } else {
                    Some(self.rng.pick(&same_dir))
                };
                let source = source.unwrap_or((owned.block, slot));
                let from = block_at(source.0) + source.1 * DIRENT_SIZE;
                let len = usize::from(self.image[from + DIRENT_NAME_LEN.offset]);
                let name = self.image[from + DIRENT_NAME..from + DIRENT_NAME + len].to_vec();
                self.set_name(at, &name)
            }
            6 => {
                let old = u64::from(self.image[at + DIRENT_FILE_TYPE.offset]);
                let new = if self.rng.chance(2, 3) {
                    u64::from(self.rng.pick(&DIRENT_TYPES))
                } else {
                    self.rng.pick(&[0, 3, 5, 7, 9, 11, 13, 14, 15, 255])
                };
                let new = if new == old { old ^ 2 } else { new };
                self.image[at + DIRENT_FILE_TYPE.offset] = new as u8;
                format!("{} {old} -> {new}", DIRENT_FILE_TYPE.name)
            }
            _ => {
                let old = get(self.image, at, 8);
                put(self.image, at, 8, 0);
                format!("{} {old} -> 0 (freed)", DIRENT_INO.name)
            }
        };
        format!("{} ({entry}) {change}", here(slot))
    }

    /// Sets the name of the entry at byte `at` to `name` and describes the change.
    fn set_name(&mut self, at: usize, name: &[u8]) -> String {
        let old = self.entry_name(at);
        self.image[at + DIRENT_NAME..at + DIRENT_NAME + MAX_NAME_LEN].fill(0);
        self.image[at + DIRENT_NAME..at + DIRENT_NAME + name.len()].copy_from_slice(name);
        self.image[at + DIRENT_NAME_LEN.offset] = name.len() as u8;
        format!("name '{old}' -> '{}'", name.escape_ascii())
    }

    /// The name of the entry at byte `at`, escaped, as far as its length allows.
    fn entry_name(&self, at: usize) -> String {
        let len = usize::from(self.image[at + DIRENT_NAME_LEN.offset]).min(MAX_NAME_LEN);
        self.image[at + DIRENT_NAME..at + DIRENT_NAME + len]
            .escape_ascii()
            .to_string()
    }

    /// The entry at byte `at`, for messages: `ino 5 'file'`.
    fn entry_text(&self, at: usize) -> String {
        format!("ino {} '{}'", get(self.image, at, 8), self.entry_name(at))
    }

    /// A bit of the bitmap: a used block marked free, a free block marked used, a metadata
    /// block marked free, or a bit past the end cleared.
    fn bitmap(&mut self) -> String {
        let targets = self.targets;
        let sb = &targets.superblock;
        let (block, in_use) = match self.rng.below(6) {
            0 | 1 => {
                let owned: Vec<u64> = targets
                    .data_blocks
                    .iter()
                    .chain(&targets.directory_blocks)
                    .chain(&targets.overflow_blocks)
                    .map(|owned| owned.block)
                    .chain([targets.symlink_block.block])
                    .collect();
                (self.rng.pick(&owned), false)
            }
            2 | 3 => (self.rng.pick(&targets.free_data_blocks), true),
            4 => (self.rng.below(sb.data_start), false),
            _ => {
                let end = sb.bitmap_blocks * BITS_PER_BITMAP_BLOCK;
                (
                    sb.total_blocks + self.rng.below(end - sb.total_blocks),
                    false,
                )
            }
        };
        let bitmap_block = sb.bitmap_start + block / BITS_PER_BITMAP_BLOCK;
        let bit = block % BITS_PER_BITMAP_BLOCK;
        let at = block_at(bitmap_block) + (bit / 8) as usize;
        let mask = 1 << (bit % 8);
        let state = |set: bool| if set { "in use" } else { "free" };
        let was = self.image[at] & mask != 0;
        if in_use {
            self.image[at] |= mask;
        } else {
            self.image[at] &= !mask;
        }
        format!(
            "bitmap bit of block {block} ({}) {} -> {}",
            targets.block_role(block),
            state(was),
            state(in_use)
        )
    }

    /// A superblock field, resealed (the live fields are outside the checksum; a change of the
    /// checksum itself is left as it is).
    fn superblock_field(&mut self) -> String {
        let field = self.pick_field(SUPERBLOCK_FIELDS);
        let change = self.set_field(0, field);
        let live = SUPERBLOCK_UNSUMMED
            .iter()
            .any(|&(offset, _)| offset == field.offset && offset != SUPERBLOCK_CHECKSUM);
        let how = match field.offset {
            _ if live => "not checksummed",
            SUPERBLOCK_CHECKSUM => "not resealed",
            _ => {
                reseal_superblock(self.image);
                "resealed"
            }
        };
        format!("superblock {change} ({how})")
    }

    /// The current `next_orphan` of in-use inode `target`.
    fn next_orphan_of(&self, offset: usize) -> u64 {
        get(self.image, offset + INODE_NEXT_ORPHAN.offset, 8)
    }

    /// A link of the orphan list: its head, a member's `next_orphan` or link count, or a linked
    /// inode pushed onto it.
    fn orphan_list(&mut self) -> String {
        let targets = self.targets;
        let next_orphan = INODE_NEXT_ORPHAN;
        let head = get(self.image, ORPHAN_HEAD_OFFSET, 8);
        let member = self.rng.pick(&targets.orphans);
        let member_offset = targets.inode(member).map_or(0, |target| target.offset);
        let linked: Vec<&InodeTarget> = targets
            .inodes
            .iter()
            .filter(|target| !targets.orphans.contains(&target.ino))
            .collect();
        let linked = linked[self.rng.index(linked.len())];
        let other_orphan = self.rng.pick(&targets.orphans);
        let free_ino = self.rng.pick(&targets.free_inode_slots).0;
        match self.rng.below(5) {
            0 => {
                let new = self.rng.pick(&[
                    0,
                    other_orphan,
                    linked.ino,
                    free_ino,
                    targets.superblock.inode_count + 1,
                ]);
                let new = match new == head {
                    true if head == 0 => linked.ino,
                    true => 0,
                    false => new,
                };
                put(self.image, ORPHAN_HEAD_OFFSET, 8, new);
                format!("orphan list: superblock orphan_head {head} -> {new} (not checksummed)")
            }
            1 => {
                let old = self.next_orphan_of(member_offset);
                let new = self
                    .rng
                    .pick(&[member, head, other_orphan, linked.ino, free_ino, 0]);
                let new = match new == old {
                    true if old == 0 => member,
                    true => 0,
                    false => new,
                };
                put(self.image, member_offset + next_orphan.offset, 8, new);
                reseal_inode(self.image, member_offset);
                format!("orphan list: inode {member} next_orphan {old} -> {new} (resealed)")
            }
            2 => {
                let nlink = INODE_NLINK;
                let change = self.set_field(member_offset, nlink);
                reseal_inode(self.image, member_offset);
                format!("orphan list: inode {member} {change} (resealed)")
            }
            3 => {
                let old = self.next_orphan_of(linked.offset);
                put(self.image, linked.offset + next_orphan.offset, 8, head);
                reseal_inode(self.image, linked.offset);
                put(self.image, ORPHAN_HEAD_OFFSET, 8, linked.ino);
                format!(
                    "orphan list: linked inode {} pushed on it (next_orphan {old} -> {head}, \
                     orphan_head {head} -> {})",
                    linked.ino, linked.ino
                )
            }
            _ => {
                let last = *targets.orphans.last().unwrap_or(&member);
                let last_offset = targets.inode(last).map_or(0, |target| target.offset);
                let old = self.next_orphan_of(last_offset);
                let new = if old == linked.ino { 0 } else { linked.ino };
                put(self.image, last_offset + next_orphan.offset, 8, new);
                reseal_inode(self.image, last_offset);
                format!("orphan list: last inode {last} next_orphan {old} -> {new} (resealed)")
            }
        }
    }

    /// A byte of the block symlink's target, or just past it.
    fn symlink_block(&mut self) -> String {
        let owned = self.targets.symlink_block;
        let index = self.rng.index(self.targets.symlink_len + 2);
        let at = block_at(owned.block) + index;
        let old = self.image[at];
        let new = self.byte_value(old);
        self.image[at] = new;
        format!(
            "symlink block {} (inode {}) byte {index} {old:#04x} -> {new:#04x}",
            owned.block, owned.owner
        )
    }

    /// A raw byte of a checksummed structure, changed without resealing.
    fn raw_byte(&mut self) -> String {
        let targets = self.targets;
        let (at, what) = match self.rng.below(4) {
            0 => (
                self.rng.index(SUPERBLOCK_CHECKSUM + 4),
                "superblock".to_string(),
            ),
            1 | 2 => {
                let target = self.pick_inode();
                let what = format!("inode {}", target.ino);
                (target.offset + self.rng.index(INODE_SIZE), what)
            }
            _ => {
                let owned = self.rng.pick(&targets.overflow_blocks);
                let what = format!("overflow block {}", owned.block);
                (block_at(owned.block) + self.rng.index(BLOCK_SIZE), what)
            }
        };
        let old = self.image[at];
        let new = old ^ (1 + self.rng.below(255)) as u8;
        self.image[at] = new;
        format!("raw byte {at:#x} ({what}) {old:#04x} -> {new:#04x} (not resealed)")
    }

    /// The journal: its commit word changed, or one more record of the transaction that mount
    /// and fsck take as interrupted, appended after those earlier mutations of this seed wrote.
    /// A record is whole (CRC32C resealed) and aims at metadata it may restore with changed
    /// bytes, or aims where a transaction never writes; or it is torn, or of another transaction.
    fn journal(&mut self) -> String {
        let sb = self.targets.superblock;
        let commit_at = sb.journal_commit_offset() as usize;
        let committed = get(self.image, commit_at, 8);
        if self.rng.chance(1, 6) {
            let random = self.rng.next();
            let new = self.rng.pick(&[
                committed.wrapping_sub(1),
                committed.wrapping_add(1),
                u64::MAX,
                1 << 63,
                random,
            ]);
            let new = if new == committed { !committed } else { new };
            put(self.image, commit_at, 8, new);
            return format!("journal commit word {committed} -> {new}");
        }
        let tx = committed.wrapping_add(1);
        let (area_start, area_len) = sb.journal_records();
        let area = area_start as usize..(area_start + area_len) as usize;
        let (index, used) = JournalRecords::new(&self.image[area.clone()], tx).fold(
            (0, 0),
            |(count, _), record| {
                (
                    count + 1,
                    record.position + journal_record_len(record.old.len()),
                )
            },
        );
        let (offset, old, what) = self.undo_target();
        let mut record = vec![0; journal_record_len(old.len())];
        if encode_journal_record(&mut record, tx, offset, &old).is_err() {
            return format!("journal record not made ({what})");
        }
        let how = match self.rng.below(10) {
            0 => {
                let at = self.rng.index(record.len());
                record[at] ^= 1 << self.rng.below(8);
                format!(", torn (bit flipped at byte {at})")
            }
            1 => {
                let other = self.rng.pick(&[committed, tx.wrapping_add(1)]);
                put(&mut record, 0, 8, other);
                format!(", of transaction {other}")
            }
            _ => String::new(),
        };
        let at = area.start + used;
        if at + record.len() > area.end {
            return format!("journal record not written: the record area is full ({what})");
        }
        self.image[at..at + record.len()].copy_from_slice(&record);
        format!(
            "journal record {index} of transaction {tx}: {} bytes at {offset:#x} ({what}){how}",
            old.len()
        )
    }

    /// [`Self::set_field`] on a copy of a record, `bytes`, rather than on the image.
    fn set_field_in(&mut self, bytes: &mut [u8], field: Field) -> String {
        let mut inner = Mutator {
            targets: self.targets,
            image: bytes,
            rng: self.rng.clone(),
        };
        let change = inner.set_field(0, field);
        self.rng = inner.rng;
        change
    }

    /// The bytes of the image at device byte `offset`, `len` of them; zeros past its end.
    fn bytes_at(&self, offset: u64, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        if let Ok(start) = usize::try_from(offset) {
            let available = self.image.len().saturating_sub(start).min(len);
            if available > 0 {
                bytes[..available].copy_from_slice(&self.image[start..start + available]);
            }
        }
        bytes
    }

    /// Where a crafted undo record aims, the old bytes it restores there, and what it is: mostly
    /// metadata a transaction writes, with changed bytes; sometimes a range no transaction
    /// writes, which recovery must refuse.
    fn undo_target(&mut self) -> (u64, Vec<u8>, String) {
        let targets = self.targets;
        let sb = targets.superblock;
        let block_bytes = |block: u64| block * BLOCK_SIZE_U64;
        match self.rng.below(11) {
            0..=2 => {
                // An inode slot with one field changed, usually resealed.
                let target = self.pick_inode();
                let mut slot = self.bytes_at(target.offset as u64, INODE_SIZE);
                let field = self.pick_field(INODE_FIELDS);
                let change = self.set_field_in(&mut slot, field);
                let sealed = self.rng.chance(3, 4);
                if sealed {
                    reseal_inode(&mut slot, 0);
                }
                let how = if sealed { "resealed" } else { "not resealed" };
                (
                    target.offset as u64,
                    slot,
                    format!("inode {} {change}, {how}", target.ino),
                )
            }
            3 => {
                // Another in-use inode's slot: two inodes with the same extents.
                let target = self.pick_inode();
                let source = self.pick_inode();
                let mut slot = self.bytes_at(source.offset as u64, INODE_SIZE);
                if self.rng.chance(1, 2) {
                    // Resealed, so that only the duplicate is wrong.
                    reseal_inode(&mut slot, 0);
                }
                (
                    target.offset as u64,
                    slot,
                    format!("inode {} <- copy of inode {}", target.ino, source.ino),
                )
            }
            4 => {
                let start = block_bytes(self.rng.pick(&targets.bitmap_blocks));
                let len = self.rng.pick(&[1, 8, 64, BLOCK_SIZE]);
                let offset = start + self.rng.below((BLOCK_SIZE - len) as u64 + 1);
                let random = self.rng.next() as u8;
                let fill = self.rng.pick(&[0, 0xff, random]);
                (
                    offset,
                    vec![fill; len],
                    format!("bitmap bytes set to {fill:#04x}"),
                )
            }
            5 => {
                let ino = self.ino_value();
                (
                    ORPHAN_HEAD_OFFSET as u64,
                    ino.to_le_bytes().to_vec(),
                    format!("orphan_head <- {ino}"),
                )
            }
            6 => {
                let owned = self.rng.pick(&targets.directory_blocks);
                let slot = self.rng.index(DIRENTS_PER_BLOCK);
                let offset = block_bytes(owned.block) + (slot * DIRENT_SIZE) as u64;
                let mut entry = self.bytes_at(offset, DIRENT_SIZE);
                let change = self.set_field_in(&mut entry, DIRENT_INO);
                (
                    offset,
                    entry,
                    format!(
                        "directory {} block {} slot {slot} {change}",
                        owned.owner, owned.block
                    ),
                )
            }
            7 => {
                let owned = self.rng.pick(&targets.overflow_blocks);
                let offset = block_bytes(owned.block);
                let mut header = self.bytes_at(offset, BLOCK_SIZE);
                let field = self.pick_field(EXTENT_BLOCK_FIELDS);
                let change = self.set_field_in(&mut header, field);
                reseal_extent_block(&mut header, 0);
                (
                    offset,
                    header,
                    format!("overflow block {} {change}, resealed", owned.block),
                )
            }
            8 => {
                // The largest record, across two blocks of file data: restores what is there.
                let block = self.rng.pick(&targets.data_blocks).block;
                let offset = block_bytes(block) + BLOCK_SIZE_U64 / 2;
                let bytes = self.bytes_at(offset, JOURNAL_RECORD_MAX_DATA);
                (
                    offset,
                    bytes,
                    format!("4096 bytes from the middle of block {block}"),
                )
            }
            _ => {
                // Where no transaction writes.
                let journal = sb.journal_commit_offset();
                let journal_end = block_bytes(sb.journal_start + sb.journal_blocks);
                let device_end = block_bytes(sb.total_blocks);
                let (offset, what) = self.rng.pick(&[
                    (0, "the superblock's magic"),
                    (ORPHAN_HEAD_OFFSET as u64 - 4, "across orphan_head's start"),
                    (ORPHAN_HEAD_OFFSET as u64 + 4, "across orphan_head's end"),
                    (journal, "the commit word"),
                    (journal - 4, "across the journal's start"),
                    (journal + BLOCK_SIZE_U64, "the record area"),
                    (journal_end - 4, "across the journal's end"),
                    (device_end - 4, "across the device's end"),
                    (device_end, "past the device's end"),
                    (u64::MAX - 3, "where offset + length overflows"),
                ]);
                let bytes = vec![self.rng.next() as u8; 8];
                (
                    offset,
                    bytes,
                    format!("{what}, never written by a transaction"),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::MemDevice;
    use crate::format::ExtentBlockHeader;
    use crate::format::Inode;
    use crate::format::Timestamp;
    use crate::fsck;
    use crate::fsck::FsckOptions;
    use crate::fsck::ProblemKind;

    fn corpus() -> Corpus {
        Corpus::new().expect("building the corpus")
    }

    #[test]
    fn corpus_is_clean_but_for_its_orphans() {
        let corpus = corpus();
        let targets = corpus.targets();
        assert!(corpus.image().len() <= 8 << 20);
        assert_eq!(targets.orphans.len(), 2);
        let chain = targets
            .inodes
            .iter()
            .find(|target| target.what == "/dir/chain")
            .expect("the chain file");
        let chain_blocks = targets
            .overflow_blocks
            .iter()
            .filter(|owned| owned.owner == chain.ino)
            .count();
        assert_eq!(chain_blocks, 2);
        let mut dev = MemDevice::from_bytes(corpus.image().to_vec());
        let outcome = fsck::check(&mut dev, &FsckOptions::default(), &mut std::io::sink()).unwrap();
        assert!(dev.bytes() == corpus.image());
        // The orphans are what a crash leaves and mount (or fsck) frees: fsck reports them and
        // what freeing them changes (their blocks, the free counts), and nothing else.
        let orphans = outcome
            .problems
            .iter()
            .filter(|problem| problem.kind == ProblemKind::Orphan);
        assert_eq!(orphans.count(), 2, "{:#?}", outcome.problems);
        let freeing = [
            ProblemKind::Orphan,
            ProblemKind::BitmapLeak,
            ProblemKind::FreeBlocks,
            ProblemKind::FreeInodes,
        ];
        assert!(
            outcome
                .problems
                .iter()
                .all(|problem| freeing.contains(&problem.kind)),
            "{:#?}",
            outcome.problems
        );
        // Once they are freed, the image is clean.
        let options = FsckOptions {
            repair: true,
            verbose: false,
        };
        fsck::check(&mut dev, &options, &mut std::io::sink()).unwrap();
        let after = fsck::check(&mut dev, &FsckOptions::default(), &mut std::io::sink()).unwrap();
        assert!(after.problems.is_empty(), "{:#?}", after.problems);
    }

    #[test]
    fn seed_zero_is_pristine_and_mutation_is_deterministic() {
        let corpus = corpus();
        let pristine = corpus.mutate(0);
        assert!(pristine.image == corpus.image());
        assert!(pristine.mutations.is_empty());
        assert_eq!(pristine.summary(), "pristine");
        let mut unchanged = 0;
        for seed in 1..200 {
            let first = corpus.mutate(seed);
            let again = corpus.mutate(seed);
            assert!(first == again, "seed {seed}: {:?}", first.mutations);
            assert!((1..=MAX_MUTATIONS as usize).contains(&first.mutations.len()));
            assert!(first.mutations.iter().all(|line| !line.contains('\n')));
            // Two mutations of one seed may undo each other, rarely.
            if first.image == corpus.image() {
                unchanged += 1;
            }
        }
        assert!(unchanged < 5, "{unchanged} seeds left the image unchanged");
        let differing = (1..50)
            .filter(|&seed| corpus.mutate(seed).image != corpus.mutate(seed + 1).image)
            .count();
        assert_eq!(differing, 49);
    }

    #[test]
    fn every_class_is_reached() {
        let corpus = corpus();
        let lines: Vec<String> = (1..2000)
            .flat_map(|seed| corpus.mutate(seed).mutations)
            .collect();
        for needle in [
            "inode ",
            "extent[",
            "inline symlink byte",
            "free inode",
            "overflow block",
            "directory ",
            "(free) <- copy",
            "bitmap bit",
            "superblock ",
            "orphan list:",
            "symlink block",
            "raw byte",
            "journal commit word",
            "journal record",
            ", torn",
            "never written by a transaction",
        ] {
            assert!(
                lines.iter().any(|line| line.contains(needle)),
                "no mutation contains '{needle}'"
            );
        }
    }

    #[test]
    fn reseal_matches_the_format() {
        let corpus = corpus();
        let targets = corpus.targets();
        let mut image = corpus.image().to_vec();
        reseal_superblock(&mut image);
        for target in &targets.inodes {
            reseal_inode(&mut image, target.offset);
        }
        for owned in &targets.overflow_blocks {
            reseal_extent_block(&mut image, owned.block);
        }
        assert!(image == corpus.image());
    }

    /// A value with distinct bytes for field number `index`, cut to `width`.
    fn marker(index: usize, width: usize) -> u64 {
        truncate(0x0807_0605_0403_0201 * (index as u64 + 3), width)
    }

    #[test]
    fn superblock_fields_match_the_format() {
        let value = |name: &str| {
            SUPERBLOCK_FIELDS
                .iter()
                .position(|field| field.name == name)
                .map(|index| marker(index, SUPERBLOCK_FIELDS[index].width))
                .unwrap()
        };
        let sb = Superblock {
            version_major: value("version_major") as u16,
            version_minor: value("version_minor") as u16,
            feature_compat: value("feature_compat") as u32,
            feature_incompat: value("feature_incompat") as u32,
            feature_ro_compat: value("feature_ro_compat") as u32,
            uuid: [7; 16],
            label: [9; 32],
            block_size: value("block_size") as u32,
            state: value("state") as u32,
            total_blocks: value("total_blocks"),
            bitmap_start: value("bitmap_start"),
            bitmap_blocks: value("bitmap_blocks"),
            inode_table_start: value("inode_table_start"),
            inode_table_blocks: value("inode_table_blocks"),
            inode_count: value("inode_count"),
            data_start: value("data_start"),
            root_ino: value("root_ino"),
            free_blocks: value("free_blocks"),
            free_inodes: value("free_inodes"),
            orphan_head: value("orphan_head"),
            mkfs_time: value("mkfs_time"),
            journal_start: value("journal_start"),
            journal_blocks: value("journal_blocks"),
        };
        let mut block = [0; BLOCK_SIZE];
        sb.encode(&mut block);
        for (index, field) in SUPERBLOCK_FIELDS.iter().enumerate() {
            let expected = match field.name {
                "magic" => u64::from_le_bytes(*b"DAXFS_SB"),
                "uuid" => u64::from_le_bytes([7; 8]),
                "label" => u64::from_le_bytes([9; 8]),
                "checksum" => continue,
                _ => marker(index, field.width),
            };
            assert_eq!(
                get(&block, field.offset, field.width),
                expected,
                "{}",
                field.name
            );
        }
        let mut resealed = block;
        resealed[SUPERBLOCK_CHECKSUM..SUPERBLOCK_CHECKSUM + 4].fill(0);
        reseal_superblock(&mut resealed);
        assert_eq!(resealed, block);
    }

    #[test]
    fn inode_fields_match_the_format() {
        let value = |name: &str| {
            INODE_FIELDS
                .iter()
                .position(|field| field.name == name)
                .map(|index| marker(index, INODE_FIELDS[index].width))
                .unwrap()
        };
        let time = |which: &str| Timestamp {
            sec: value(&format!("{which}.sec")) as i64,
            nsec: value(&format!("{which}.nsec")) as u32,
        };
        let mut inode = Inode {
            mode: value("mode") as u16,
            flags: value("flags") as u16,
            uid: value("uid") as u32,
            gid: value("gid") as u32,
            nlink: value("nlink") as u32,
            size: value("size"),
            blocks: value("blocks"),
            atime: time("atime"),
            mtime: time("mtime"),
            ctime: time("ctime"),
            btime: time("btime"),
            generation: value("generation") as u32,
            extent_count: value("extent_count") as u32,
            next_orphan: value("next_orphan"),
            overflow_block: value("overflow_block"),
            parent: value("parent"),
            rdev: value("rdev") as u32,
            inline: [0; INLINE_AREA_SIZE],
            xattr_block: value("xattr_block"),
        };
        let extent = crate::format::Extent {
            logical: marker(0, 8),
            physical: marker(1, 8),
            len: marker(2, 4) as u32,
            unwritten: false,
        };
        inode.set_inline_extent(2, &extent).unwrap();
        let mut slot = [0; INODE_SIZE];
        inode.encode(&mut slot);
        for (index, field) in INODE_FIELDS.iter().enumerate() {
            let got = get(&slot, field.offset, field.width);
            assert_eq!(got, marker(index, field.width), "{}", field.name);
        }
        for (index, field) in EXTENT_FIELDS.iter().enumerate() {
            let at = INODE_INLINE + 2 * EXTENT_SIZE + field.offset;
            assert_eq!(get(&slot, at, field.width), marker(index, field.width));
        }
        let mut image = slot.to_vec();
        image[INODE_CHECKSUM] ^= 1;
        reseal_inode(&mut image, 0);
        assert_eq!(image, slot);
    }

    #[test]
    fn extent_block_and_dirent_fields_match_the_format() {
        let mut block = [0; BLOCK_SIZE];
        let extent = crate::format::Extent {
            logical: 5,
            physical: 6,
            len: 7,
            unwritten: false,
        };
        crate::format::encode_extent_block(&mut block, 0x1234, 0x5678, &[extent, extent]).unwrap();
        assert_eq!(
            get(&block, 0, 4),
            u64::from(crate::format::EXTENT_BLOCK_MAGIC)
        );
        assert_eq!(get(&block, EXTENT_BLOCK_FIELDS[1].offset, 4), 2);
        assert_eq!(get(&block, EXTENT_BLOCK_FIELDS[2].offset, 8), 0x5678);
        assert_eq!(get(&block, EXTENT_BLOCK_FIELDS[3].offset, 8), 0x1234);
        let second = EXTENT_BLOCK_HEADER_SIZE + EXTENT_SIZE;
        assert_eq!(get(&block, second + EXTENT_FIELDS[2].offset, 4), 7);
        let mut image = block.to_vec();
        image[EXTENT_BLOCK_CHECKSUM] ^= 1;
        reseal_extent_block(&mut image, 0);
        assert_eq!(image, block);
        assert!(ExtentBlockHeader::decode(&image).is_ok());

        let entry = DirEntry::new(0x0102_0304, FileType::Symlink, b"name").unwrap();
        let mut slot = [0; DIRENT_SIZE];
        entry.encode(&mut slot);
        assert_eq!(get(&slot, DIRENT_INO.offset, 8), 0x0102_0304);
        assert_eq!(get(&slot, DIRENT_NAME_LEN.offset, 1), 4);
        assert_eq!(get(&slot, DIRENT_FILE_TYPE.offset, 1), u64::from(DT_LNK));
        assert_eq!(&slot[DIRENT_NAME..DIRENT_NAME + 4], b"name");
    }
}
