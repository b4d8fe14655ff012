// SPDX-License-Identifier: GPL-2.0

//! fsck on randomly corrupted images, in-process: it must never panic, a read-only check must
//! not write, and one repair must be enough (a second run finds nothing to fix).
//!
//! `fuzzed_images_never_panic_and_repair_converges` runs the image mutator of `daxfs-fuzz`
//! ([`daxfs_tools::fuzz`]) over many seeds, also through the format's decoders. `FUZZ_ITERS=N`
//! sets how many seeds (default [`DEFAULT_FUZZ_ITERS`]) and `FUZZ_SEED=B` where they start
//! (seeds `B+1..=B+N`):
//!
//! ```text
//! FUZZ_ITERS=100000 cargo test --release --locked -p daxfs-tools --test robustness fuzzed
//! ```

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;

use daxfs_tools::builder::ImageBuilder;
use daxfs_tools::device::Block;
use daxfs_tools::device::BlockDevice;
use daxfs_tools::device::MemDevice;
use daxfs_tools::format::free_inodes_in_table_block;
use daxfs_tools::format::DirEntry;
use daxfs_tools::format::Extent;
use daxfs_tools::format::ExtentBlockHeader;
use daxfs_tools::format::FileType;
use daxfs_tools::format::FormatError;
use daxfs_tools::format::Inode;
use daxfs_tools::format::Superblock;
use daxfs_tools::format::BLOCK_SIZE;
use daxfs_tools::format::DIRENTS_PER_BLOCK;
use daxfs_tools::format::DIRENT_SIZE;
use daxfs_tools::format::EXTENTS_PER_BLOCK;
use daxfs_tools::format::INLINE_EXTENTS;
use daxfs_tools::format::INODE_SIZE;
use daxfs_tools::fsck;
use daxfs_tools::fsck::FsckOptions;
use daxfs_tools::fsck::Outcome;
use daxfs_tools::fsck::Problem;
use daxfs_tools::fsck::ProblemKind;
use daxfs_tools::fuzz::Corpus;
use daxfs_tools::fuzz::Targets;
use daxfs_tools::Error;

/// A small deterministic pseudo-random generator (xorshift64).
struct Rng(u64);

impl Rng {
    /// The next value.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value below `bound`.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Runs fsck on `image` in memory and returns the outcome and the image after it.
fn check(image: Vec<u8>, repair: bool) -> (fsck::Outcome, Vec<u8>) {
    let mut dev = MemDevice::from_bytes(image);
    let options = FsckOptions {
        repair,
        verbose: false,
    };
    let outcome = fsck::check(&mut dev, &options, &mut std::io::sink());
    let outcome = outcome.unwrap_or_default(); // Operational errors are fine here.
    (outcome, dev.into_bytes())
}

#[test]
fn random_corruption_never_panics_and_repair_converges() {
    let (builder, _) = ImageBuilder::populated(1024).unwrap();
    let data_start = builder.superblock().data_start as usize;
    let pristine = builder.finish().unwrap();
    // Corrupt the superblock rarely (it stops the check), the bitmap, inode table and the
    // directory, overflow and symlink blocks at the start of the data area often.
    let hot_end = (data_start + 40) * BLOCK_SIZE;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let mut image = pristine.clone();
        for _ in 0..1 + rng.below(4) {
            let offset = if rng.below(20) == 0 {
                rng.below(BLOCK_SIZE)
            } else {
                BLOCK_SIZE + rng.below(hot_end - BLOCK_SIZE)
            };
            match rng.below(3) {
                0 => image[offset] ^= 1 << rng.below(8),
                1 => image[offset] = rng.next() as u8,
                _ => image[offset] = 0,
            }
        }
        let (_, after_check) = check(image.clone(), false);
        assert!(after_check == image, "round {round}: read-only check wrote");
        let (first, repaired) = check(image, true);
        let (second, _) = check(repaired, true);
        assert_eq!(
            second.fixed(),
            0,
            "round {round}: a second repair still fixed {:#?}\nafter the first fixed {:#?}",
            second.problems,
            first.problems
        );
    }
}

#[test]
fn resealed_inode_corruption_is_repaired_in_one_pass() {
    let (builder, _) = ImageBuilder::populated(1024).unwrap();
    let sb = *builder.superblock();
    let in_use: Vec<usize> = (1..=sb.inode_count)
        .filter(|&ino| !builder.read_inode(ino).unwrap().is_free())
        .map(|ino| builder.inode_offset(ino).unwrap())
        .collect();
    let pristine = builder.finish().unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..300 {
        let mut image = pristine.clone();
        for _ in 0..1 + rng.below(3) {
            let offset = in_use[rng.below(in_use.len())];
            let slot: &mut [u8; INODE_SIZE] = (&mut image[offset..offset + INODE_SIZE])
                .try_into()
                .unwrap();
            let Ok(mut inode) = Inode::decode(slot) else {
                continue; // Already made undecodable this round.
            };
            // Small values are the interesting ones: off-by-one counts, nearby inodes.
            let small = rng.next() % 40;
            let any = rng.next();
            match rng.below(12) {
                0 => inode.nlink = small as u32,
                1 => inode.size = if rng.below(2) == 0 { small * 4096 } else { any },
                2 => inode.blocks = small,
                3 => inode.extent_count = small as u32,
                4 => inode.parent = small,
                5 => inode.next_orphan = small,
                6 => inode.overflow_block = if rng.below(2) == 0 { small } else { any },
                7 => inode.mode = any as u16,
                8 => inode.flags = small as u16 & 3,
                9 => inode.rdev = small as u32,
                10 => inode.mtime.nsec = any as u32,
                _ => {
                    let byte = rng.below(inode.inline.len());
                    inode.inline[byte] = any as u8;
                }
            }
            inode.encode(slot);
        }
        if rng.below(4) == 0 {
            // Sometimes also a pending orphan list pointing somewhere nearby.
            let mut sb_copy = sb;
            sb_copy.orphan_head = rng.next() % 40;
            let block: &mut [u8; BLOCK_SIZE] = (&mut image[..BLOCK_SIZE]).try_into().unwrap();
            sb_copy.encode(block);
        }
        let (_, after_check) = check(image.clone(), false);
        assert!(after_check == image, "round {round}: read-only check wrote");
        let (first, repaired) = check(image, true);
        let (second, _) = check(repaired, true);
        assert_eq!(
            second.fixed(),
            0,
            "round {round}: a second repair still fixed {:#?}\nafter the first fixed {:#?}",
            second.problems,
            first.problems
        );
    }
}

/// Makes the empty directory `dir` claim `block` as its only block.
fn claim_block(builder: &mut ImageBuilder, dir: u64, block: u64) {
    let mut inode = builder.read_inode(dir).unwrap();
    let extent = Extent {
        logical: 0,
        physical: block,
        len: 1,
        unwritten: false,
    };
    builder.set_extents(dir, &mut inode, &[extent]).unwrap();
    inode.size = BLOCK_SIZE as u64;
    builder.write_inode(dir, &inode).unwrap();
}

/// Makes the empty directory `empty` of a populated image claim `block` as its only block, and
/// returns the image.
fn empty_dir_claiming(mut builder: ImageBuilder, names: &[(&str, u64)], block: u64) -> Vec<u8> {
    let empty = names.iter().find(|(name, _)| *name == "empty").unwrap().1;
    claim_block(&mut builder, empty, block);
    builder.finish().unwrap()
}

#[test]
fn a_directory_block_another_file_owns_is_never_written() {
    // The directory `empty` claims the overflow block of `big`, and both stay reachable: the
    // block's "entries" are garbage, but removing them would destroy `big`'s extents.
    let (builder, names) = ImageBuilder::populated(1024).unwrap();
    let big = names.iter().find(|(name, _)| *name == "big").unwrap().1;
    let overflow = builder.overflow_chain(big).unwrap()[0];
    let image = empty_dir_claiming(builder, &names, overflow);
    let (first, repaired) = check(image.clone(), true);
    assert!(first.has(ProblemKind::DoubleOwned));
    assert!(first.has(ProblemKind::BadEntry));
    assert!(first.unfixed() > 0);
    let block = overflow as usize * BLOCK_SIZE..(overflow as usize + 1) * BLOCK_SIZE;
    assert!(
        repaired[block.clone()] == image[block],
        "fsck -y wrote big's overflow block"
    );
    assert_second_check_finds_what_was_left(&first, repaired);
}

/// A read-only check of `repaired` finds exactly the problems the repairing run `first` left.
fn assert_second_check_finds_what_was_left(first: &fsck::Outcome, repaired: Vec<u8>) {
    let (second, _) = check(repaired, false);
    let left: Vec<String> = first
        .problems
        .iter()
        .filter(|problem| !problem.fixed)
        .map(problem_line)
        .collect();
    assert_eq!(problem_lines(&second), left);
}

#[test]
fn a_directory_block_shared_with_an_orphan_is_repaired() {
    // The directory `empty` claims an overflow block of an orphan, which fsck frees: the block
    // is the directory's alone then, and its garbage entries are removed in the same run.
    let (mut builder, names) = ImageBuilder::populated(1024).unwrap();
    let extents: Vec<(u64, u32)> = (0..8).map(|index| (index * 2, 1)).collect();
    let orphan = builder.create_orphan(&extents).unwrap();
    let overflow = builder.overflow_chain(orphan).unwrap()[0];
    let image = empty_dir_claiming(builder, &names, overflow);
    let (first, repaired) = check(image, true);
    assert!(first.has(ProblemKind::DoubleOwned));
    assert!(first.has(ProblemKind::BadEntry));
    assert_eq!(first.unfixed(), 0, "{:#?}", first.problems);
    let (second, _) = check(repaired, false);
    assert!(second.problems.is_empty(), "{:#?}", second.problems);
}

/// An image in which the empty directory `a` claims the block of directory `b`, which holds
/// the subdirectories `c` and `d` and the file `f`. Returns the builder and the inode numbers
/// of a, b, c, d and f.
fn directory_claiming_another_directorys_block() -> (ImageBuilder, [u64; 5]) {
    let mut builder = ImageBuilder::new(1024).unwrap();
    let root = builder.superblock().root_ino;
    let a = builder.mkdir(root, b"a").unwrap();
    let b = builder.mkdir(root, b"b").unwrap();
    let c = builder.mkdir(b, b"c").unwrap();
    let d = builder.mkdir(b, b"d").unwrap();
    let f = builder.create_file(b, b"f", 0, &[]).unwrap();
    let block = builder.extents(b).unwrap()[0].physical;
    claim_block(&mut builder, a, block);
    (builder, [a, b, c, d, f])
}

/// The image `builder` holds, keeping the builder to find its inodes.
fn image_of(builder: &mut ImageBuilder) -> Vec<u8> {
    builder.write_superblock().unwrap();
    builder.device().bytes().to_vec()
}

/// Inode `ino` of `image`, as `builder` (which built it) placed it.
fn inode_in(image: &[u8], builder: &ImageBuilder, ino: u64) -> Inode {
    let offset = builder.inode_offset(ino).unwrap();
    Inode::decode(&image[offset..offset + INODE_SIZE]).unwrap()
}

#[test]
fn entries_of_a_disputed_directory_block_drive_no_repairs() {
    // Both a and b stay reachable, so which of them the block belongs to is in dispute. a is
    // walked first, so the block's entries seem to say that c and d are in a and b has no
    // subdirectories: none of that may be written. Not c's and d's parent, nor a's, b's or
    // f's link count (b's "fixed" to 2 would have the kernel refuse an rmdir in b).
    let (mut builder, [a, b, c, d, f]) = directory_claiming_another_directorys_block();
    let root = builder.superblock().root_ino;
    let image = image_of(&mut builder);
    let (first, repaired) = check(image.clone(), true);
    assert!(first.has(ProblemKind::DoubleOwned));
    for ino in [a, b, c, d, f] {
        assert_eq!(
            inode_in(&repaired, &builder, ino),
            inode_in(&image, &builder, ino),
            "fsck -y changed inode {ino}: {:#?}",
            first.problems
        );
    }
    let b_inode = inode_in(&repaired, &builder, b);
    assert_eq!((b_inode.parent, b_inode.nlink), (root, 4));
    for subdir in [c, d] {
        assert_eq!(inode_in(&repaired, &builder, subdir).parent, b);
    }
    // Nothing else is wrong, so nothing is written at all, and nothing is said to be fixed.
    assert!(repaired == image, "fsck -y wrote: {:#?}", first.problems);
    assert_eq!(first.fixed(), 0, "{:#?}", first.problems);
    let (second, _) = check(repaired, false);
    assert_eq!(problem_lines(&second), problem_lines(&first));
}

#[test]
fn an_orphan_a_disputed_directory_block_names_stays_on_the_orphan_list() {
    // f, unlinked, is on the orphan list behind an orphan: the disputed block's entry for f
    // may be another inode's data, so f neither leaves the list nor is freed; the orphan is.
    let (mut builder, [_, _, _, _, f]) = directory_claiming_another_directorys_block();
    let mut inode = builder.read_inode(f).unwrap();
    inode.nlink = 0;
    builder.write_inode(f, &inode).unwrap();
    builder.superblock_mut().orphan_head = f;
    let orphan = builder.create_orphan(&[]).unwrap();
    let image = image_of(&mut builder);
    let (first, repaired) = check(image.clone(), true);
    assert!(first.has(ProblemKind::OrphanList));
    assert!(inode_in(&repaired, &builder, orphan).is_free());
    assert_eq!(inode_in(&repaired, &builder, f), inode);
    let sb = Superblock::decode(&repaired[..BLOCK_SIZE]).unwrap();
    assert_eq!(sb.orphan_head, f);
    assert_second_check_finds_what_was_left(&first, repaired);
}

#[test]
fn a_disputed_directory_block_never_takes_a_directory_from_its_own() {
    // The empty directory `a` claims the data block of the file `g`, which holds a copy of the
    // block of directory `p` (as a file holding a daxfs image might). a is walked before p, but
    // the copy's entry for c must not count as c's first link: then p's own entry for c would
    // be removed as a second one, and p's link count "fixed".
    let mut builder = ImageBuilder::new(1024).unwrap();
    let root = builder.superblock().root_ino;
    let a = builder.mkdir(root, b"a").unwrap();
    let p = builder.mkdir(root, b"p").unwrap();
    let g = builder
        .create_file(root, b"g", BLOCK_SIZE as u64, &[(0, 1)])
        .unwrap();
    builder.mkdir(p, b"c").unwrap();
    let p_block = builder.extents(p).unwrap()[0].physical;
    let g_block = builder.extents(g).unwrap()[0].physical;
    let copy = builder.device().read_new(p_block).unwrap();
    builder.device_mut().write_block(g_block, &copy).unwrap();
    claim_block(&mut builder, a, g_block);
    let image = builder.finish().unwrap();
    let (first, repaired) = check(image.clone(), true);
    assert!(first.has(ProblemKind::DoubleOwned));
    assert!(repaired == image, "fsck -y wrote: {:#?}", first.problems);
    assert_eq!(first.fixed(), 0, "{:#?}", first.problems);
    let (second, _) = check(repaired, false);
    assert_eq!(problem_lines(&second), problem_lines(&first));
}

/// Seeds of the mutator that found fsck bugs (with the corpus as it is now).
const FUZZ_REGRESSIONS: &[u64] = &[1189, 1597, 2220, 2249, 2781, 91182];

#[test]
fn fuzz_seeds_that_found_bugs() {
    let corpus = Corpus::new().expect("building the corpus");
    for &seed in FUZZ_REGRESSIONS {
        if let Err(what) = check_seed(&corpus, seed) {
            panic!("seed {seed}: {}\n{what}", corpus.mutate(seed).summary());
        }
    }
}

/// Seeds the mutator test runs without `FUZZ_ITERS`: a few seconds in a debug build.
const DEFAULT_FUZZ_ITERS: u64 = 600;

/// Failures reported in full before the mutator test gives up listing them.
const SHOWN_FAILURES: usize = 20;

/// The number in environment variable `name`, or `default` if it is unset.
fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
        Err(_) => default,
    }
}

/// An image that may only be read: writes are counted and refused, so that a check that must
/// not write is caught if it tries.
struct ReadOnlyImage<'a> {
    /// The image.
    bytes: &'a [u8],
    /// Writes attempted.
    writes: usize,
}

impl<'a> ReadOnlyImage<'a> {
    /// A read-only view of `bytes`.
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, writes: 0 }
    }
}

impl BlockDevice for ReadOnlyImage<'_> {
    fn block_count(&self) -> u64 {
        (self.bytes.len() / BLOCK_SIZE) as u64
    }

    fn read_block(&self, block: u64, buf: &mut Block) -> daxfs_tools::Result<()> {
        let bytes = block_of(self.bytes, block)
            .ok_or_else(|| Error::Other(format!("block {block} is beyond the end")))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn write_block(&mut self, block: u64, _buf: &Block) -> daxfs_tools::Result<()> {
        self.writes += 1;
        Err(Error::Other(format!(
            "write of block {block} to a read-only image"
        )))
    }

    fn sync(&mut self) -> daxfs_tools::Result<()> {
        Ok(())
    }
}

/// Block `number` of `image`, if the image has it.
fn block_of(image: &[u8], number: u64) -> Option<&[u8]> {
    let start = usize::try_from(number).ok()?.checked_mul(BLOCK_SIZE)?;
    image.get(start..start.checked_add(BLOCK_SIZE)?)
}

/// Decodes and validates every entry slot of a directory block.
fn decode_dir_block(block: &[u8], sb: &Superblock) {
    for slot in 0..=DIRENTS_PER_BLOCK {
        let Some(offset) = DirEntry::slot_offset(slot) else {
            continue;
        };
        if let Ok(Some(entry)) = DirEntry::decode(&block[offset..offset + DIRENT_SIZE]) {
            let _ = entry.validate(sb);
            let _ = entry.name();
        }
    }
}

/// Runs the decoders the kernel and fsck share over `image`, the way a reader walks it: the
/// superblock, the bitmap and inode table counts, every inode slot (decode and validate), each
/// inode's extents through the overflow chain with an [`ExtentChecker`], and the entries of
/// every directory block. Nothing here may panic, whatever the image holds. Where the
/// superblock is unusable, the corpus's geometry locates the rest.
///
/// [`ExtentChecker`]: daxfs_tools::format::ExtentChecker
fn exercise_decoders(image: &[u8], targets: &Targets) {
    let device_blocks = (image.len() / BLOCK_SIZE) as u64;
    let sb = match Superblock::decode(image) {
        Ok(sb) => {
            let _ = sb.check_writable();
            let _ = sb.label_bytes();
            if sb.validate_geometry(device_blocks).is_ok() {
                sb
            } else {
                targets.superblock
            }
        }
        Err(_) => targets.superblock,
    };
    for index in 0..sb.bitmap_blocks {
        if let Some(bitmap) = block_of(image, sb.bitmap_start + index) {
            sb.free_blocks_in_bitmap_block(index, bitmap);
        }
    }
    for index in 0..sb.inode_table_blocks {
        if let Some(table) = block_of(image, sb.inode_table_start + index) {
            free_inodes_in_table_block(table);
        }
    }
    for ino in 1..=sb.inode_count {
        let Some((number, offset)) = sb.inode_location(ino) else {
            continue;
        };
        let Some(slot) = block_of(image, number).map(|block| &block[offset..offset + INODE_SIZE])
        else {
            continue;
        };
        if let Ok(inode) = Inode::decode(slot) {
            exercise_inode(image, &sb, &inode);
        }
    }
    for owned in &targets.directory_blocks {
        if let Some(block) = block_of(image, owned.block) {
            decode_dir_block(block, &sb);
        }
    }
    for owned in &targets.overflow_blocks {
        let Some(block) = block_of(image, owned.block) else {
            continue;
        };
        if ExtentBlockHeader::decode(block).is_ok() {
            for index in 0..=EXTENTS_PER_BLOCK {
                let _ = ExtentBlockHeader::read_extent(block, index);
            }
        }
    }
}

/// The decoders' walk of one decoded inode (see [`exercise_decoders`]).
fn exercise_inode(image: &[u8], sb: &Superblock, inode: &Inode) {
    let _ = inode.validate(sb);
    let _ = inode.inline_symlink_target();
    for index in 0..=INLINE_EXTENTS {
        if let Ok(extent) = inode.inline_extent(index) {
            let _ = extent.map(extent.logical);
            let _ = extent.split_at(extent.logical.saturating_add(1));
        }
    }
    let Ok(mut checker) = inode.validate_fields(sb) else {
        return;
    };
    let mut extents: Vec<Extent> = (0..inode.inline_extent_count())
        .filter_map(|index| inode.inline_extent(index).ok())
        .collect();
    // A chain that loops repeats extents, which the checker refuses: the walk ends.
    let mut next = inode.overflow_block;
    let mut overflow_blocks = 0;
    while next != 0 {
        let Some(block) = block_of(image, next).filter(|_| sb.is_data_block(next)) else {
            return;
        };
        let Ok(header) = ExtentBlockHeader::decode(block) else {
            return;
        };
        for index in 0..header.count as usize {
            let added = ExtentBlockHeader::read_extent(block, index)
                .and_then(|extent| checker.add(&extent).map(|()| extent));
            match added {
                Ok(extent) => extents.push(extent),
                Err(_) => return,
            }
        }
        overflow_blocks += 1;
        next = header.next;
    }
    // Sound totals bound the blocks below by the data area's size.
    if inode
        .check_extent_totals(&checker, overflow_blocks)
        .is_err()
    {
        return;
    }
    if inode.file_type() == Some(FileType::Directory) {
        for extent in extents {
            for number in extent.physical..extent.physical + u64::from(extent.len) {
                if let Some(block) = block_of(image, number) {
                    decode_dir_block(block, sb);
                }
            }
        }
    }
}

/// Whether fsck may stop with `error` on a mutated image: it is not a daxfs this code may check
/// (or repair), not a failure of fsck.
fn is_refusal(error: &Error) -> bool {
    match error {
        Error::Format(FormatError::UnsupportedVersion { .. })
        | Error::Format(FormatError::UnsupportedFeatures { .. }) => true,
        Error::Other(message) => message.starts_with("not a daxfs file system"),
        _ => false,
    }
}

/// A problem as fsck prints it, without the "(fixed)" suffix.
fn problem_line(problem: &Problem) -> String {
    format!("{}: {}", problem.kind.code(), problem.message)
}

/// The problems of `outcome` as [`problem_line`]s.
fn problem_lines(outcome: &Outcome) -> Vec<String> {
    outcome.problems.iter().map(problem_line).collect()
}

/// Checks one seed: the decoders survive its image; `fsck -n` does not write and reports what
/// `fsck -y` repairs; after `fsck -y`, a read-only check finds nothing but what the repair had
/// to leave. Returns what went wrong.
fn check_seed(corpus: &Corpus, seed: u64) -> Result<(), String> {
    let mutated = corpus.mutate(seed);
    exercise_decoders(&mutated.image, corpus.targets());

    let check_only = FsckOptions::default();
    let repair = FsckOptions {
        repair: true,
        verbose: false,
    };
    let mut view = ReadOnlyImage::new(&mutated.image);
    let checked = fsck::check(&mut view, &check_only, &mut std::io::sink());
    if view.writes > 0 {
        return Err(format!("fsck -n tried to write {} blocks", view.writes));
    }
    let mut dev = MemDevice::from_bytes(mutated.image);
    let repaired = fsck::check(&mut dev, &repair, &mut std::io::sink());
    let (checked, first) = match (checked, repaired) {
        (Ok(checked), Ok(first)) => (checked, first),
        (Err(error), Err(_)) | (Ok(_), Err(error)) if is_refusal(&error) => return Ok(()),
        (checked, repaired) => {
            return Err(format!(
                "operational error: fsck -n {:?}, fsck -y {:?}",
                checked.err(),
                repaired.err()
            ))
        }
    };
    let (reported, fixed) = (problem_lines(&checked), problem_lines(&first));
    if reported != fixed {
        return Err(format!(
            "fsck -n and fsck -y disagree\n-n: {reported:#?}\n-y: {fixed:#?}"
        ));
    }

    let image = dev.into_bytes();
    let mut view = ReadOnlyImage::new(&image);
    let second = fsck::check(&mut view, &check_only, &mut std::io::sink())
        .map_err(|error| format!("fsck after the repair: {error}"))?;
    // Only what the repair could not fix may be found again.
    let left: HashSet<String> = first
        .problems
        .iter()
        .filter(|problem| !problem.fixed)
        .map(problem_line)
        .collect();
    let new: Vec<String> = problem_lines(&second)
        .into_iter()
        .filter(|line| !left.contains(line))
        .collect();
    if !new.is_empty() {
        return Err(format!(
            "after fsck -y, fsck -n still finds {new:#?}\nfsck -y found {fixed:#?}"
        ));
    }
    Ok(())
}

#[test]
fn fuzzed_images_never_panic_and_repair_converges() {
    let iterations = env_number("FUZZ_ITERS", DEFAULT_FUZZ_ITERS);
    let base = env_number("FUZZ_SEED", 0);
    let corpus = Corpus::new().expect("building the corpus");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let failures: Vec<(u64, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let corpus = &corpus;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    let mut seed = base + 1 + thread;
                    while seed <= base + iterations {
                        let outcome =
                            std::panic::catch_unwind(AssertUnwindSafe(|| check_seed(corpus, seed)));
                        let failure = match outcome {
                            Ok(Ok(())) => None,
                            Ok(Err(what)) => Some(what),
                            Err(panic) => Some(format!(
                                "panic: {}",
                                panic
                                    .downcast_ref::<String>()
                                    .map(String::as_str)
                                    .or_else(|| panic.downcast_ref::<&str>().copied())
                                    .unwrap_or("(no message)")
                            )),
                        };
                        if let Some(what) = failure {
                            failures.push((seed, what));
                        }
                        seed += threads;
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a fuzz worker died"))
            .collect()
    });
    if failures.is_empty() {
        return;
    }
    let mut failures = failures;
    failures.sort_by_key(|&(seed, _)| seed);
    let mut report = format!(
        "{} of {iterations} seeds failed (replay one with `daxfs-fuzz --seed N IMAGE`):\n",
        failures.len()
    );
    for (seed, what) in failures.iter().take(SHOWN_FAILURES) {
        let mutations = corpus.mutate(*seed).summary();
        report.push_str(&format!("\nseed {seed}: {mutations}\n{what}\n"));
    }
    panic!("{report}");
}

#[test]
fn daxfs_fuzz_writes_the_image_of_its_seed() {
    let program = env!("CARGO_BIN_EXE_daxfs-fuzz");
    let corpus = Corpus::new().expect("building the corpus");
    let path = std::env::temp_dir().join(format!("daxfs-fuzz-test-{}.img", std::process::id()));
    for seed in [0, 7] {
        // Longer than the image: a regular file is truncated to it.
        std::fs::write(&path, vec![0xa5; corpus.image().len() + BLOCK_SIZE]).unwrap();
        let output = std::process::Command::new(program)
            .args(["--seed", &seed.to_string()])
            .arg(&path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let mutated = corpus.mutate(seed);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout, format!("seed {seed}: {}\n", mutated.summary()));
        assert!(std::fs::read(&path).unwrap() == mutated.image);
    }
    let _ = std::fs::remove_file(&path);
    for arguments in [
        &[][..],
        &["--seed", "1"],
        &["--seed", "x", "out"],
        &["-q", "out"],
    ] {
        let status = std::process::Command::new(program)
            .args(arguments)
            .output()
            .unwrap()
            .status;
        assert_eq!(status.code(), Some(2), "{arguments:?}");
    }
    let unwritable = std::process::Command::new(program)
        .args(["--seed", "1", "/nonexistent/directory/image"])
        .output()
        .unwrap();
    assert_eq!(unwritable.status.code(), Some(1));
    assert!(unwritable.stdout.is_empty());
}
