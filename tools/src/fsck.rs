// SPDX-License-Identifier: GPL-2.0

//! Checking and repairing a daxfs file system: the logic behind `fsck.daxfs`.
//!
//! Every field of the image is treated as hostile: block numbers are range-checked before they
//! are read, chains are walked with cycle detection, and nothing here panics on a corrupted
//! image.
//!
//! The check builds a model of the file system (the valid in-use inodes, the directory tree) and
//! applies each repair to the model whether or not it may write, so a read-only check reports
//! exactly what a repairing one would do. Only with [`FsckOptions::repair`] are the repairs also
//! written to the device.
//!
//! The passes, in order:
//!
//! 1. Superblock: decodes, and its geometry fits the device. Problems here stop the check.
//!    Then the journal: the transaction a crash interrupted is undone, as a mount would (on the
//!    device when repairing, else on an overlay in memory that the passes read through).
//! 2. Inodes: every in-use inode decodes (checksum, type), validates, and its extent map
//!    (including the overflow chain) is sound. Broken inodes are cleared; a wrong `blocks` or
//!    directory `size` is recomputed. A broken root directory cannot be repaired.
//! 3. Block ownership: no block is claimed twice. Not repairable, unless a claimant is in no
//!    directory and so freed below; reported after the walk of the tree, which tells.
//! 4. Directory tree, walked from the root: entries are valid, name inodes in use, have unique
//!    names and the right type, and no directory is linked twice. Bad entries are removed,
//!    duplicate names renamed (`name~N`), types corrected; `parent` fields are checked. A
//!    directory block that a surviving inode claims too is never written: its problems are
//!    reported as not fixed. Nor is anything its entries would have fsck repair: the parent
//!    fields, link counts and orphan list places of the inodes it names, and the link count of
//!    the directory reading it, are left alone (their problems too are reported as not fixed).
//!    Shared directory blocks are read last, so that such entries never make another block's
//!    entries second links or duplicate names.
//! 5. Orphan list: well formed (members in use, unlinked, no cycle). Its members are freed, as
//!    the kernel would do at mount.
//! 6. Unreachable inodes (in use, in no directory, not orphans) are freed; stray `next_orphan`
//!    fields cleared.
//! 7. Link counts.
//! 8. Bitmap against the metadata region and the blocks owned by the remaining inodes.
//! 9. Free block and inode counters, and the clean/dirty state.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::HashSet;
use std::collections::VecDeque;
use std::io::Write;

use crate::device::Block;
use crate::device::BlockDevice;
use crate::device::Overlay;
use crate::format::bitmap_get;
use crate::format::record_mut;
use crate::format::DirEntry;
use crate::format::Extent;
use crate::format::ExtentBlockHeader;
use crate::format::FileType;
use crate::format::FormatError;
use crate::format::Inode;
use crate::format::Superblock;
use crate::format::XattrBlock;
use crate::format::BITS_PER_BITMAP_BLOCK;
use crate::format::BLOCK_SIZE;
use crate::format::BLOCK_SIZE_U64;
use crate::format::DIRENTS_PER_BLOCK;
use crate::format::DIRENT_SIZE;
use crate::format::INODES_PER_BLOCK;
use crate::format::INODE_SIZE;
use crate::format::MAX_NAME_LEN;
use crate::format::STATE_CLEAN;
use crate::format::STATE_DIRTY;
use crate::journal;
use crate::Error;
use crate::Result;

/// fsck(8) exit status: no errors.
pub const EXIT_OK: i32 = 0;
/// fsck(8) exit status: errors were corrected.
pub const EXIT_FIXED: i32 = 1;
/// fsck(8) exit status: errors were left uncorrected.
pub const EXIT_UNFIXED: i32 = 4;
/// fsck(8) exit status: operational error.
pub const EXIT_OPERATIONAL: i32 = 8;
/// fsck(8) exit status: usage or syntax error.
pub const EXIT_USAGE: i32 = 16;

/// How to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FsckOptions {
    /// Write the repairs to the device.
    pub repair: bool,
    /// Report the passes and statistics.
    pub verbose: bool,
}

/// The kinds of problem fsck reports; each line starts with the kind's [`ProblemKind::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The superblock is unusable or its geometry inconsistent.
    Superblock,
    /// An inode's checksum does not match.
    InodeChecksum,
    /// An inode's fields are invalid.
    BadInode,
    /// An inode's extent map is invalid.
    BadExtent,
    /// An inode's block count is wrong.
    BlockCount,
    /// A directory's size does not match its blocks.
    DirSize,
    /// A symlink's target is invalid.
    Symlink,
    /// An extended-attribute block is invalid: the attributes are dropped.
    Xattr,
    /// A block is claimed by two extents.
    DoubleOwned,
    /// A directory entry is invalid.
    BadEntry,
    /// A directory entry names a free inode.
    DanglingEntry,
    /// Two entries of a directory have the same name.
    DuplicateName,
    /// An entry's file type does not match its inode.
    TypeMismatch,
    /// A directory is linked from more than one entry, or the root from any.
    DirHardLink,
    /// A directory's `parent` field does not name its parent.
    Parent,
    /// The orphan list is malformed.
    OrphanList,
    /// An orphan awaits freeing.
    Orphan,
    /// An inode is in use but not reachable from the root nor an orphan.
    Unreachable,
    /// An inode off the orphan list has `next_orphan` set.
    NextOrphan,
    /// An inode's link count is wrong.
    LinkCount,
    /// Blocks are marked in use but owned by nothing.
    BitmapLeak,
    /// Blocks in use are marked free.
    BitmapMissing,
    /// Bits past the end of the file system are not set.
    BitmapTail,
    /// The superblock's free block count is wrong.
    FreeBlocks,
    /// The superblock's free inode count is wrong.
    FreeInodes,
    /// The file system was not cleanly unmounted.
    Dirty,
    /// A transaction was interrupted by a crash and is undone.
    Journal,
}

impl ProblemKind {
    /// The stable name printed at the start of the problem's line.
    pub fn code(self) -> &'static str {
        match self {
            Self::Superblock => "superblock",
            Self::InodeChecksum => "inode-checksum",
            Self::BadInode => "bad-inode",
            Self::BadExtent => "bad-extent",
            Self::BlockCount => "block-count",
            Self::DirSize => "dir-size",
            Self::Symlink => "bad-symlink",
            Self::Xattr => "bad-xattr",
            Self::DoubleOwned => "double-owned",
            Self::BadEntry => "bad-entry",
            Self::DanglingEntry => "dangling-entry",
            Self::DuplicateName => "duplicate-name",
            Self::TypeMismatch => "type-mismatch",
            Self::DirHardLink => "dir-hard-link",
            Self::Parent => "parent",
            Self::OrphanList => "orphan-list",
            Self::Orphan => "orphan",
            Self::Unreachable => "unreachable",
            Self::NextOrphan => "next-orphan",
            Self::LinkCount => "link-count",
            Self::BitmapLeak => "bitmap-leak",
            Self::BitmapMissing => "bitmap-missing",
            Self::BitmapTail => "bitmap-tail",
            Self::FreeBlocks => "free-blocks",
            Self::FreeInodes => "free-inodes",
            Self::Dirty => "dirty",
            Self::Journal => "journal",
        }
    }
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// One-line description.
    pub message: String,
    /// Whether it was repaired on the device.
    pub fixed: bool,
}

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Problems, in the order found.
    pub problems: Vec<Problem>,
    /// Inodes in use at the end.
    pub inodes_used: u64,
    /// Inodes in the file system.
    pub inode_count: u64,
    /// Blocks in use at the end, metadata included.
    pub blocks_used: u64,
    /// Blocks in the file system.
    pub total_blocks: u64,
}

impl Outcome {
    /// Problems repaired.
    pub fn fixed(&self) -> usize {
        self.problems.iter().filter(|problem| problem.fixed).count()
    }

    /// Problems left.
    pub fn unfixed(&self) -> usize {
        self.problems.len() - self.fixed()
    }

    /// Whether a problem of `kind` was found.
    pub fn has(&self, kind: ProblemKind) -> bool {
        self.problems.iter().any(|problem| problem.kind == kind)
    }

    /// The fsck(8) exit status: [`EXIT_FIXED`] and [`EXIT_UNFIXED`] or-ed as they apply.
    pub fn exit_code(&self) -> i32 {
        let mut code = EXIT_OK;
        if self.fixed() > 0 {
            code |= EXIT_FIXED;
        }
        if self.unfixed() > 0 {
            code |= EXIT_UNFIXED;
        }
        code
    }
}

/// Checks the file system on `dev`, printing one line per problem to `out`, and repairs it if
/// `options.repair` is set. Errors are operational: I/O failures, or not a daxfs file system
/// this code can check (bad magic, unsupported version or features).
pub fn check(
    dev: &mut impl BlockDevice,
    options: &FsckOptions,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let sb = match read_superblock(dev, options, out)? {
        Ok(sb) => sb,
        Err(outcome) => return Ok(outcome),
    };
    if options.repair {
        sb.check_writable()?;
    }
    // The transaction a crash interrupted is undone first, as a mount does: when repairing on
    // the device, else on an overlay that the check reads through.
    let interrupted = journal::interrupted(dev, &sb)?;
    match &interrupted {
        Some(tx) if !options.repair => {
            let mut overlay = Overlay::new(&*dev);
            journal::undo(&mut overlay, &sb, tx)?;
            check_recovered(&mut overlay, options, out, interrupted.as_ref())
        }
        _ => {
            if let Some(tx) = &interrupted {
                journal::undo(dev, &sb, tx)?;
            }
            check_recovered(dev, options, out, interrupted.as_ref())
        }
    }
}

/// A checker of `dev` that has found nothing yet.
fn new_checker<'a, D: BlockDevice>(
    dev: &'a mut D,
    options: &FsckOptions,
    out: &'a mut dyn Write,
) -> Checker<'a, D> {
    Checker {
        dev,
        options: *options,
        out,
        sb: Superblock::default(),
        sb_changed: false,
        outcome: Outcome::default(),
        unrepairable: 0,
        inodes: BTreeMap::new(),
        parent_of: HashMap::new(),
        entry_links: HashMap::new(),
        subdirs: HashMap::new(),
        shared: BlockSet::new(0),
        overlaps: Vec::new(),
        held_reports: None,
        shared_dir_blocks: Vec::new(),
        unsettled: HashMap::new(),
        overflow_blocks: (0, 0),
        orphans_kept: HashSet::new(),
    }
}

/// Pass 0: reads the superblock and checks its geometry against `dev`; an unusable one is
/// reported, and its outcome returned as the error.
fn read_superblock<D: BlockDevice>(
    dev: &mut D,
    options: &FsckOptions,
    out: &mut dyn Write,
) -> Result<std::result::Result<Superblock, Outcome>> {
    let block_count = dev.block_count();
    // A checksum a crash left stale in the middle of a label change is read through the
    // journal's undo, as a mount reads it.
    let decoded = journal::superblock(dev)?;
    let mut checker = new_checker(dev, options, out);
    let error = match decoded {
        Ok(sb) => match sb.validate_geometry(block_count) {
            Ok(()) => return Ok(Ok(sb)),
            Err(error) => error,
        },
        Err(FormatError::BadMagic) => {
            return Err(Error::Other(
                "not a daxfs file system (bad magic number)".into(),
            ))
        }
        Err(
            error @ (FormatError::UnsupportedVersion { .. }
            | FormatError::UnsupportedFeatures { .. }),
        ) => return Err(Error::Format(error)),
        Err(error) => error,
    };
    checker.report(
        ProblemKind::Superblock,
        false,
        format!("superblock: {error}"),
    )?;
    Ok(Err(checker.outcome))
}

/// The passes after the journal's interrupted transaction, `interrupted`, was undone on `dev`.
fn check_recovered<D: BlockDevice>(
    dev: &mut D,
    options: &FsckOptions,
    out: &mut dyn Write,
    interrupted: Option<&journal::Interrupted>,
) -> Result<Outcome> {
    // Undoing may have restored `orphan_head` or the label, the superblock fields a
    // transaction writes.
    let mut block: Block = [0; BLOCK_SIZE];
    dev.read_block(0, &mut block)?;
    let mut checker = new_checker(dev, options, out);
    checker.sb = Superblock::decode(&block)?;
    if let Some(tx) = interrupted {
        let message = match &tx.bad {
            None => format!(
                "transaction {} was interrupted: its {} changes are undone",
                tx.tx,
                tx.records.len()
            ),
            Some(why) => format!(
                "transaction {} was interrupted, but its undo records are damaged ({why}): \
                 they are discarded",
                tx.tx
            ),
        };
        checker.report(ProblemKind::Journal, true, message)?;
    }
    // The geometry was valid before the undo; only the head it restored can be out of range.
    // Cut the list here, since a run that finds no root never reaches the orphan pass.
    let head = checker.sb.orphan_head;
    if head != 0 && !checker.sb.is_valid_ino(head) {
        checker.report(
            ProblemKind::OrphanList,
            true,
            format!("the orphan list's head, inode {head}, is out of range; emptying the list"),
        )?;
        checker.set_next_orphan(None, 0)?;
    }
    checker.run()?;
    Ok(checker.outcome)
}

/// A valid in-use inode and its extent map.
#[derive(Clone, Debug)]
struct InodeRecord {
    /// The inode, with repairs applied.
    inode: Inode,
    /// All its extents, in order.
    extents: Vec<Extent>,
    /// Its extent-overflow blocks, in chain order.
    overflow_blocks: Vec<u64>,
}

impl InodeRecord {
    /// The inode's file type (in-use inodes always have one).
    fn file_type(&self) -> FileType {
        self.inode.file_type().unwrap_or(FileType::Regular)
    }

    /// The block ranges the inode owns, as (first, end) pairs.
    fn claims(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let extents = self
            .extents
            .iter()
            .map(|extent| (extent.physical, extent.physical + u64::from(extent.len)));
        let overflow = self.overflow_blocks.iter().map(|&block| (block, block + 1));
        let xattr = self.inode.xattr_block;
        let xattr = (xattr != 0).then_some((xattr, xattr + 1));
        extents.chain(overflow).chain(xattr)
    }
}

/// A problem found in one inode, before deciding what to do about it.
struct Finding {
    /// Its kind.
    kind: ProblemKind,
    /// Its description.
    message: String,
}

impl Finding {
    /// A finding of `kind` described by `message`.
    fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The finding for a format error.
    fn from_format(error: FormatError) -> Self {
        let kind = match error {
            FormatError::BadChecksum => ProblemKind::InodeChecksum,
            FormatError::BadExtent(_) => ProblemKind::BadExtent,
            _ => ProblemKind::BadInode,
        };
        Self::new(kind, error.to_string())
    }
}

/// A set of block numbers, one bit each.
struct BlockSet {
    /// The bits, 64 to a word.
    words: Vec<u64>,
}

impl BlockSet {
    /// An empty set for blocks `0..blocks`.
    fn new(blocks: u64) -> Self {
        Self {
            words: vec![0; blocks.div_ceil(64) as usize],
        }
    }

    /// Adds blocks `start..end` (which callers have range-checked).
    fn insert_range(&mut self, start: u64, end: u64) {
        let mut block = start;
        while block < end {
            let word = &mut self.words[(block / 64) as usize];
            if block % 64 == 0 && end - block >= 64 {
                *word = u64::MAX;
                block += 64;
            } else {
                *word |= 1 << (block % 64);
                block += 1;
            }
        }
    }

    /// Whether `block` is in the set.
    fn contains(&self, block: u64) -> bool {
        self.words
            .get((block / 64) as usize)
            .is_some_and(|word| word & (1 << (block % 64)) != 0)
    }

    /// Blocks in the set.
    fn len(&self) -> u64 {
        self.words
            .iter()
            .map(|word| u64::from(word.count_ones()))
            .sum()
    }
}

/// Formats `name` for a message: printable ASCII as is, the rest escaped.
fn show_name(name: &[u8]) -> String {
    name.escape_ascii().to_string()
}

/// Formats block ranges as `a-b, c, ...`, at most `limit` of them.
fn show_ranges(ranges: &[(u64, u64)], limit: usize) -> String {
    let mut shown: Vec<String> = ranges
        .iter()
        .take(limit)
        .map(|&(start, end)| {
            if end - start == 1 {
                start.to_string()
            } else {
                format!("{start}-{}", end - 1)
            }
        })
        .collect();
    if ranges.len() > limit {
        shown.push(format!("and {} more ranges", ranges.len() - limit));
    }
    shown.join(", ")
}

/// Blocks in `ranges`.
fn count_blocks(ranges: &[(u64, u64)]) -> u64 {
    ranges.iter().map(|&(start, end)| end - start).sum()
}

/// Appends block `block` to `ranges`, extending the last range if adjacent.
fn push_block(ranges: &mut Vec<(u64, u64)>, block: u64) {
    match ranges.last_mut() {
        Some((_, end)) if *end == block => *end += 1,
        _ => ranges.push((block, block + 1)),
    }
}

/// The state of one check.
struct Checker<'a, D: BlockDevice> {
    /// The device.
    dev: &'a mut D,
    /// How to check.
    options: FsckOptions,
    /// Where problem lines go.
    out: &'a mut dyn Write,
    /// The superblock, with repairs applied.
    sb: Superblock,
    /// Whether `sb` differs from the device's.
    sb_changed: bool,
    /// What was found so far.
    outcome: Outcome,
    /// Problems found that no repair could fix.
    unrepairable: usize,
    /// Valid in-use inodes by number.
    inodes: BTreeMap<u64, InodeRecord>,
    /// Parent of each directory reached from the root (the root is its own).
    parent_of: HashMap<u64, u64>,
    /// Entries naming each non-directory inode, from directories reached from the root.
    entry_links: HashMap<u64, u64>,
    /// Subdirectories of each directory reached from the root.
    subdirs: HashMap<u64, u64>,
    /// Blocks claimed by more than one extent (pass 2).
    shared: BlockSet,
    /// The overlapping claims of pass 2, as (first block, end, one claimant, the other),
    /// reported after the walk of pass 3.
    overlaps: Vec<(u64, u64, u64, u64)>,
    /// Reports held back while a shared directory block is checked, as (kind, message).
    held_reports: Option<Vec<(ProblemKind, String)>>,
    /// The shared directory blocks checked in pass 3, settled at its end.
    shared_dir_blocks: Vec<SharedDirBlock>,
    /// Inodes whose links the walk could not settle, each with the directory block they depend
    /// on: one that another surviving inode claims too, so whether its entries are entries is in
    /// dispute. These are the inodes its entries name and the directory that read it; the
    /// model counts those entries (so nothing they name is freed), but the repairs that follow
    /// from them (parent fields, link counts, orphan list places) are not made.
    unsettled: HashMap<u64, u64>,
    /// The unsettled inodes that pass 4 kept on the orphan list.
    orphans_kept: HashSet<u64>,
    /// Extent-overflow blocks read, and how many of them held their extents out of order.
    overflow_blocks: (u64, u64),
}

/// A directory block that another extent claims too, checked but not yet written.
struct SharedDirBlock {
    /// The directory that read it.
    dir: u64,
    /// Its block number.
    number: u64,
    /// The inodes its kept entries name.
    named: Vec<u64>,
    /// Its contents with the entries repaired.
    repaired: Box<Block>,
    /// Whether any entry was repaired.
    changed: bool,
    /// The problems found in it, as (kind, message), not yet reported.
    reports: Vec<(ProblemKind, String)>,
}

impl<D: BlockDevice> Checker<'_, D> {
    /// Records and prints a problem. `repairable` problems are repaired in the model by the
    /// caller, and on the device too when repairing.
    fn report(&mut self, kind: ProblemKind, repairable: bool, message: String) -> Result<()> {
        if let Some(held) = &mut self.held_reports {
            held.push((kind, message));
            return Ok(());
        }
        let fixed = repairable && self.options.repair;
        if !repairable {
            self.unrepairable += 1;
        }
        let suffix = match (self.options.repair, repairable) {
            (false, _) => "",
            (true, true) => " (fixed)",
            (true, false) => " (not fixed)",
        };
        writeln!(self.out, "{}: {message}{suffix}", kind.code())
            .map_err(|e| Error::io("writing the report", e))?;
        self.outcome.problems.push(Problem {
            kind,
            message,
            fixed,
        });
        Ok(())
    }

    /// Prints a progress line when verbose.
    fn progress(&mut self, message: &str) -> Result<()> {
        if self.options.verbose {
            writeln!(self.out, "{message}").map_err(|e| Error::io("writing the report", e))?;
        }
        Ok(())
    }

    /// Writes `block` to block `number` when repairing.
    fn write_block(&mut self, number: u64, block: &Block) -> Result<()> {
        if self.options.repair {
            self.dev.write_block(number, block)?;
        }
        Ok(())
    }

    /// Writes inode `ino` when repairing; `None` frees the slot: never-used zeros, or a free
    /// record that keeps the generation of its last user ([`Inode::freed`]), as the kernel
    /// frees inodes.
    fn write_inode(&mut self, ino: u64, inode: Option<&Inode>) -> Result<()> {
        if !self.options.repair {
            return Ok(());
        }
        let (number, offset) = self
            .sb
            .inode_location(ino)
            .ok_or_else(|| Error::Other(format!("inode {ino} out of range")))?;
        let mut block = self.dev.read_new(number)?;
        let slot = record_mut::<INODE_SIZE>(&mut block[..], offset)
            .ok_or_else(|| Error::Other(format!("inode {ino} slot out of range")))?;
        match inode {
            Some(inode) => inode.encode(slot),
            None => match Inode::freed(slot) {
                freed if freed.generation == 0 => slot.fill(0),
                freed => freed.encode(slot),
            },
        }
        self.dev.write_block(number, &block)
    }

    /// Writes the in-model state of inode `ino` when repairing.
    fn write_record(&mut self, ino: u64) -> Result<()> {
        if let Some(inode) = self.inodes.get(&ino).map(|record| record.inode) {
            self.write_inode(ino, Some(&inode))?;
        }
        Ok(())
    }

    /// Frees inode `ino`: drops it from the model and clears it on the device when repairing.
    /// Its blocks are released by the bitmap pass.
    fn free_inode(&mut self, ino: u64) -> Result<()> {
        self.inodes.remove(&ino);
        self.write_inode(ino, None)
    }

    /// If inode `ino` is unsettled, why its link repairs are not made: the end of the message
    /// reporting the problem as not fixed.
    fn unsettled_note(&self, ino: u64) -> Option<String> {
        self.unsettled.get(&ino).map(|block| {
            format!(" (its links depend on block {block}, which belongs to another inode too)")
        })
    }

    /// Runs the passes after the superblock.
    fn run(&mut self) -> Result<()> {
        self.progress("pass 1: inodes and extents")?;
        self.check_inodes()?;
        let (blocks, unsorted) = self.overflow_blocks;
        self.progress(&format!(
            "pass 1: {blocks} extent-overflow blocks, {unsorted} of them stored out of order"
        ))?;
        // Without a root nothing is reachable: stop rather than free everything.
        if self.inodes.contains_key(&self.sb.root_ino) {
            self.run_rooted()?;
        }
        if self.sb_changed && self.options.repair {
            let mut block: Block = [0; BLOCK_SIZE];
            self.sb.encode(&mut block);
            self.dev.write_block(0, &block)?;
        }
        if self.options.repair {
            self.dev.sync()?;
        }
        self.outcome.inode_count = self.sb.inode_count;
        self.outcome.inodes_used = self.inodes.len() as u64;
        self.outcome.total_blocks = self.sb.total_blocks;
        Ok(())
    }

    /// The passes after the first, for a file system whose root is usable.
    fn run_rooted(&mut self) -> Result<()> {
        self.progress("pass 2: block ownership")?;
        self.check_ownership()?;
        self.progress("pass 3: directory tree")?;
        self.check_tree()?;
        self.progress("pass 4: orphan list")?;
        self.check_orphans()?;
        self.progress("pass 5: unreachable inodes")?;
        self.check_unreachable()?;
        self.progress("pass 6: link counts")?;
        self.check_link_counts()?;
        self.progress("pass 7: bitmap and counters")?;
        self.check_bitmap()?;
        self.check_counters()?;
        self.check_state()
    }

    /// Pass 1: decodes and validates every inode and loads its extent map.
    fn check_inodes(&mut self) -> Result<()> {
        let sb = self.sb;
        for table_index in 0..sb.inode_table_blocks {
            let block = self.dev.read_new(sb.inode_table_start + table_index)?;
            for (slot, bytes) in block.chunks_exact(INODE_SIZE).enumerate() {
                let ino = table_index * INODES_PER_BLOCK as u64 + slot as u64 + 1;
                let finding = match Inode::decode(bytes) {
                    Ok(inode) if inode.is_free() => continue,
                    Ok(inode) => match self.load_inode(ino, inode)? {
                        Ok(record) => {
                            self.inodes.insert(ino, record);
                            continue;
                        }
                        Err(finding) => finding,
                    },
                    Err(error) => Finding::from_format(error),
                };
                self.clear_broken_inode(ino, finding)?;
            }
        }
        if !self.inodes.contains_key(&sb.root_ino) {
            self.report(
                ProblemKind::BadInode,
                false,
                format!(
                    "root directory (inode {}) is missing or unusable",
                    sb.root_ino
                ),
            )?;
        }
        Ok(())
    }

    /// Reports a broken inode and clears it (the root cannot be cleared).
    fn clear_broken_inode(&mut self, ino: u64, finding: Finding) -> Result<()> {
        if ino == self.sb.root_ino {
            return self.report(
                finding.kind,
                false,
                format!("inode {ino} (root directory): {}", finding.message),
            );
        }
        self.report(
            finding.kind,
            true,
            format!("inode {ino}: {}; clearing the inode", finding.message),
        )?;
        self.free_inode(ino)
    }

    /// Validates a decoded in-use inode and loads its extents, repairing its block count and
    /// directory size in the model. `Ok(Err(..))` is a broken inode.
    fn load_inode(
        &mut self,
        ino: u64,
        mut inode: Inode,
    ) -> Result<std::result::Result<InodeRecord, Finding>> {
        let sb = self.sb;
        let mut extents = match inode.validate_fields(&sb) {
            Ok(extents) => extents,
            Err(error) => return Ok(Err(Finding::from_format(error))),
        };
        let file_type = inode.file_type().unwrap_or(FileType::Regular);
        if ino == sb.root_ino && file_type != FileType::Directory {
            return Ok(Err(Finding::new(
                ProblemKind::BadInode,
                "the root inode is not a directory",
            )));
        }
        let mut record = InodeRecord {
            inode,
            extents: Vec::new(),
            overflow_blocks: Vec::new(),
        };
        for index in 0..inode.inline_extent_count() {
            match inode.inline_extent(index) {
                Ok(extent) => record.extents.push(extent),
                Err(error) => return Ok(Err(Finding::from_format(error))),
            }
        }

        // The overflow chain: each block checked before it is read, cycles caught by `seen`.
        let mut seen = HashSet::new();
        let mut next = inode.overflow_block;
        while next != 0 {
            let bad = |message: String| Ok(Err(Finding::new(ProblemKind::BadExtent, message)));
            if !sb.is_data_block(next) {
                return bad(format!(
                    "extent overflow block {next} is outside the data area"
                ));
            }
            if !seen.insert(next) {
                return bad(format!("extent overflow chain loops back to block {next}"));
            }
            let block = self.dev.read_new(next)?;
            let header = match ExtentBlockHeader::decode(&block[..]) {
                Ok(header) => header,
                Err(error) => return bad(format!("extent overflow block {next}: {error}")),
            };
            if header.owner != ino {
                return bad(format!(
                    "extent overflow block {next} belongs to inode {}",
                    header.owner
                ));
            }
            let count = header.count as usize;
            let order = extents.block_order(&block[..], count);
            let unsorted = order
                .iter()
                .take(count)
                .enumerate()
                .any(|(i, &s)| usize::from(s) != i);
            self.overflow_blocks.0 += 1;
            self.overflow_blocks.1 += u64::from(unsorted);
            for &slot in order.iter().take(count) {
                let added = ExtentBlockHeader::read_extent(&block[..], usize::from(slot))
                    .and_then(|extent| extents.add(&extent).map(|()| extent));
                match added {
                    Ok(extent) => record.extents.push(extent),
                    Err(error) => return bad(format!("extent overflow block {next}: {error}")),
                }
            }
            if extents.count() > u64::from(inode.extent_count) {
                return bad("more extents than the extent count".into());
            }
            record.overflow_blocks.push(next);
            next = header.next;
        }
        if extents.count() != u64::from(inode.extent_count) {
            return Ok(Err(Finding::new(
                ProblemKind::BadExtent,
                format!(
                    "extent count is {} but {} extents were found",
                    inode.extent_count,
                    extents.count()
                ),
            )));
        }

        if file_type == FileType::Directory {
            if !extents.is_contiguous() {
                return Ok(Err(Finding::new(
                    ProblemKind::BadExtent,
                    "directory blocks have holes",
                )));
            }
            let size = extents.next_logical() * BLOCK_SIZE_U64;
            if inode.size != size {
                self.report(
                    ProblemKind::DirSize,
                    true,
                    format!("directory {ino}: size is {}, should be {size}", inode.size),
                )?;
                inode.size = size;
            }
        }
        if file_type == FileType::Symlink && !inode.has_inline_symlink() {
            if let Some(finding) = self.check_symlink_block(&inode, &record.extents)? {
                return Ok(Err(finding));
            }
        }
        if inode.xattr_block != 0 {
            let checked = match inode.checked_xattr_block(&sb) {
                Ok(Some(number)) => {
                    let block = self.dev.read_new(number)?;
                    XattrBlock::decode(&block[..], ino)
                        .and_then(|block| block.check_unique())
                        .map(|_| ())
                }
                Ok(None) => Ok(()),
                Err(error) => Err(error),
            };
            if let Err(error) = checked {
                self.report(
                    ProblemKind::Xattr,
                    true,
                    format!(
                        "inode {ino}: extended-attribute block {}: {error}; dropping the attributes",
                        inode.xattr_block
                    ),
                )?;
                inode.xattr_block = 0;
            }
        }
        let blocks = extents.mapped_blocks() + record.overflow_blocks.len() as u64;
        if inode.blocks != blocks {
            self.report(
                ProblemKind::BlockCount,
                true,
                format!(
                    "inode {ino}: block count is {}, should be {blocks}",
                    inode.blocks
                ),
            )?;
            inode.blocks = blocks;
        }
        if inode != record.inode {
            record.inode = inode;
            self.write_inode(ino, Some(&inode))?;
        }
        Ok(Ok(record))
    }

    /// Checks the target of a symlink stored in a block: no NUL in it.
    fn check_symlink_block(&self, inode: &Inode, extents: &[Extent]) -> Result<Option<Finding>> {
        let Some(extent) = extents.first() else {
            return Ok(Some(Finding::new(
                ProblemKind::Symlink,
                "symlink has no block",
            )));
        };
        let block = self.dev.read_new(extent.physical)?;
        let len = usize::try_from(inode.size)
            .unwrap_or(usize::MAX)
            .min(BLOCK_SIZE);
        if block[..len].contains(&0) {
            return Ok(Some(Finding::new(
                ProblemKind::Symlink,
                "symlink target contains a NUL byte",
            )));
        }
        Ok(None)
    }

    /// Pass 2: finds the blocks claimed by two extents (of one inode or two), reported by
    /// [`Checker::report_double_owned`]. Extents are already known to be inside the data area,
    /// so metadata cannot be claimed.
    fn check_ownership(&mut self) -> Result<()> {
        let mut claims: Vec<(u64, u64, u64)> = self
            .inodes
            .iter()
            .flat_map(|(&ino, record)| record.claims().map(move |(start, end)| (start, end, ino)))
            .collect();
        claims.sort_unstable();
        // Sweep: compare each claim with the furthest-reaching one before it.
        let mut furthest: Option<(u64, u64)> = None;
        let mut overlaps = Vec::new();
        for &(start, end, ino) in &claims {
            if let Some((reach, owner)) = furthest {
                if start < reach {
                    overlaps.push((start, end.min(reach), owner, ino));
                }
                if end > reach {
                    furthest = Some((end, ino));
                }
            } else {
                furthest = Some((end, ino));
            }
        }
        self.shared = BlockSet::new(self.sb.total_blocks);
        for &(start, end, _, _) in &overlaps {
            self.shared.insert_range(start, end);
        }
        self.overlaps = overlaps;
        Ok(())
    }

    /// Reports the blocks claimed twice, once the walk of pass 3 has told which inodes survive.
    /// fsck cannot repair an overlap whose claimants survive (one inode claiming a block twice
    /// included); an overlap with an inode that no directory names is resolved by freeing that
    /// inode in pass 4 or 5.
    fn report_double_owned(&mut self) -> Result<()> {
        for (start, end, first, second) in std::mem::take(&mut self.overlaps) {
            let blocks = show_ranges(&[(start, end)], 1);
            let message = if first == second {
                format!("inode {first} claims blocks {blocks} twice")
            } else {
                format!("blocks {blocks} are claimed by both inode {first} and inode {second}")
            };
            let mut freed = vec![first, second];
            freed.dedup();
            freed.retain(|&ino| !self.is_linked(ino));
            if freed.is_empty() {
                self.report(ProblemKind::DoubleOwned, false, message)?;
            } else {
                let freed: Vec<String> = freed.iter().map(u64::to_string).collect();
                let freed = freed.join(" and inode ");
                let message = format!("{message}; inode {freed}, in no directory, is freed below");
                self.report(ProblemKind::DoubleOwned, true, message)?;
            }
        }
        Ok(())
    }

    /// Pass 3: walks the directory tree from the root, checking and repairing entries.
    fn check_tree(&mut self) -> Result<()> {
        let root = self.sb.root_ino;
        self.parent_of.insert(root, root);
        let mut queue = VecDeque::from([root]);
        // The shared directory blocks are read once the queue is empty, after every other
        // block reached: an entry that may be another inode's data must not be a directory's
        // first link, nor a name's first use, or the directory's own entry would be removed as
        // a second link (or renamed) in a block that is written. `deferred` holds them as
        // (directory, block), `deferred_names` the names of their directories so far.
        let mut deferred = VecDeque::new();
        let mut deferred_names: HashMap<u64, HashSet<Vec<u8>>> = HashMap::new();
        loop {
            if let Some(dir) = queue.pop_front() {
                let Some(record) = self.inodes.get(&dir) else {
                    continue;
                };
                let extents = record.extents.clone();
                let mut names = HashSet::new();
                for extent in extents {
                    for number in extent.physical..extent.physical + u64::from(extent.len) {
                        if self.shared.contains(number) {
                            deferred.push_back((dir, number));
                        } else {
                            self.check_dir_block(dir, number, &mut names, &mut queue)?;
                        }
                    }
                }
                if deferred.back().is_some_and(|&(last, _)| last == dir) {
                    deferred_names.insert(dir, names);
                }
            } else if let Some((dir, number)) = deferred.pop_front() {
                let names = deferred_names.entry(dir).or_default();
                self.check_dir_block(dir, number, names, &mut queue)?;
            } else {
                break;
            }
        }
        self.report_double_owned()?;
        self.settle_shared_dir_blocks()?;

        // Each directory's `parent` field names the directory its entry is in.
        let mut dirs: Vec<(u64, u64)> = self.parent_of.iter().map(|(&d, &p)| (d, p)).collect();
        dirs.sort_unstable();
        for (dir, parent) in dirs {
            let unsettled = self.unsettled_note(dir);
            let Some(record) = self.inodes.get_mut(&dir) else {
                continue;
            };
            let recorded = record.inode.parent;
            if recorded != parent {
                let message = format!("directory {dir}: parent is {recorded}, should be {parent}");
                // The entry naming an unsettled directory may be another inode's data.
                if let Some(note) = unsettled {
                    self.report(ProblemKind::Parent, false, message + &note)?;
                    continue;
                }
                record.inode.parent = parent;
                self.report(ProblemKind::Parent, true, message)?;
                self.write_record(dir)?;
            }
        }
        Ok(())
    }

    /// Whether inode `ino` is named by an entry of a directory reached from the root (or is the
    /// root): the inodes that survive passes 4 and 5.
    fn is_linked(&self, ino: u64) -> bool {
        self.parent_of.contains_key(&ino)
            || self.entry_links.get(&ino).is_some_and(|&links| links > 0)
    }

    /// Settles the shared directory blocks of the walk. Inodes the walk did not reach are freed
    /// in passes 4 and 5, and their claims with them: a block that only its directory still
    /// claims then is repaired like any other (this happens when a directory's extent points at
    /// the blocks of an inode that the damage cut off). A block that another surviving inode
    /// (or the directory a second time) claims is left as it is, since removing "entries" from
    /// it would destroy that inode's data or extents: its problems are reported as not fixed,
    /// and the inodes whose links depend on it are unsettled (see [`Checker::unsettled`]).
    fn settle_shared_dir_blocks(&mut self) -> Result<()> {
        for shared in std::mem::take(&mut self.shared_dir_blocks) {
            let claims = self
                .inodes
                .iter()
                .filter(|&(&ino, _)| self.is_linked(ino))
                .flat_map(|(_, record)| record.claims())
                .filter(|&(start, end)| start <= shared.number && shared.number < end)
                .count();
            let repairable = claims <= 1;
            for (kind, message) in shared.reports {
                let message = if repairable {
                    message
                } else {
                    format!(
                        "{message} (block {} belongs to another inode too)",
                        shared.number
                    )
                };
                self.report(kind, repairable, message)?;
            }
            if repairable && shared.changed {
                self.write_block(shared.number, &shared.repaired)?;
            }
            if !repairable {
                for ino in std::iter::once(shared.dir).chain(shared.named) {
                    self.unsettled.entry(ino).or_insert(shared.number);
                }
            }
        }
        Ok(())
    }

    /// Checks the entries of one block of directory `dir`.
    fn check_dir_block(
        &mut self,
        dir: u64,
        number: u64,
        names: &mut HashSet<Vec<u8>>,
        queue: &mut VecDeque<u64>,
    ) -> Result<()> {
        let mut block = self.dev.read_new(number)?;
        let mut changed = false;
        // A block another inode claims too may be that inode's data or extents: whether to
        // write it waits until the end of the walk tells which claimants survive, and so do
        // the reports that say whether it was repaired.
        let shared = self.shared.contains(number);
        if shared {
            self.held_reports = Some(Vec::new());
        }
        let mut named = Vec::new();
        for slot in 0..DIRENTS_PER_BLOCK {
            let offset = slot * DIRENT_SIZE;
            let Some(bytes) = record_mut::<DIRENT_SIZE>(&mut block[..], offset) else {
                continue;
            };
            let here = format!("directory {dir}, block {number} slot {slot}");
            let entry = match DirEntry::decode(&bytes[..]) {
                Ok(None) => continue,
                Ok(Some(entry)) => entry,
                Err(error) => {
                    self.report(
                        ProblemKind::BadEntry,
                        true,
                        format!("{here}: {error}; removing the entry"),
                    )?;
                    DirEntry::encode_free(bytes);
                    changed = true;
                    continue;
                }
            };
            match self.check_entry(dir, &here, entry, names)? {
                Some(kept) => {
                    if kept != entry {
                        kept.encode(bytes);
                        changed = true;
                    }
                    named.push(kept.ino);
                    if kept.file_type == FileType::Directory {
                        self.parent_of.insert(kept.ino, dir);
                        *self.subdirs.entry(dir).or_default() += 1;
                        queue.push_back(kept.ino);
                    } else {
                        *self.entry_links.entry(kept.ino).or_default() += 1;
                    }
                }
                None => {
                    DirEntry::encode_free(bytes);
                    changed = true;
                }
            }
        }
        if shared {
            let reports = self.held_reports.take().unwrap_or_default();
            self.shared_dir_blocks.push(SharedDirBlock {
                dir,
                number,
                named,
                repaired: block,
                changed,
                reports,
            });
        } else if changed {
            self.write_block(number, &block)?;
        }
        Ok(())
    }

    /// Checks one valid-looking entry of directory `dir` (located at `here`): returns the entry
    /// to keep, possibly repaired, or `None` to remove it.
    fn check_entry(
        &mut self,
        dir: u64,
        here: &str,
        mut entry: DirEntry,
        names: &mut HashSet<Vec<u8>>,
    ) -> Result<Option<DirEntry>> {
        let ino = entry.ino;
        let name = show_name(entry.name());
        if let Err(error) = entry.validate(&self.sb) {
            self.report(
                ProblemKind::BadEntry,
                true,
                format!("{here}: entry '{name}' (inode {ino}): {error}; removing it"),
            )?;
            return Ok(None);
        }
        let Some(record) = self.inodes.get(&ino) else {
            self.report(
                ProblemKind::DanglingEntry,
                true,
                format!("directory {dir}: entry '{name}' names free inode {ino}; removing it"),
            )?;
            return Ok(None);
        };
        let actual = record.file_type();
        if ino == self.sb.root_ino {
            self.report(
                ProblemKind::DirHardLink,
                true,
                format!("directory {dir}: entry '{name}' links to the root directory; removing it"),
            )?;
            return Ok(None);
        }
        if actual == FileType::Directory {
            if let Some(&first) = self.parent_of.get(&ino) {
                self.report(
                    ProblemKind::DirHardLink,
                    true,
                    format!(
                        "directory {dir}: entry '{name}' is a second link to directory {ino} \
                         (already in directory {first}); removing it"
                    ),
                )?;
                return Ok(None);
            }
        }
        if names.contains(entry.name()) {
            let renamed = unique_name(entry.name(), names);
            self.report(
                ProblemKind::DuplicateName,
                true,
                format!(
                    "directory {dir}: duplicate name '{name}' (inode {ino}); renaming it to '{}'",
                    show_name(&renamed)
                ),
            )?;
            entry = DirEntry::new(ino, entry.file_type, &renamed)?;
        }
        names.insert(entry.name().to_vec());
        if entry.file_type != actual {
            self.report(
                ProblemKind::TypeMismatch,
                true,
                format!(
                    "directory {dir}: entry '{name}' has type {} but inode {ino} is a {}",
                    entry.file_type.name(),
                    actual.name()
                ),
            )?;
            entry.file_type = actual;
        }
        Ok(Some(entry))
    }

    /// Pass 4: checks the orphan list and frees its members.
    fn check_orphans(&mut self) -> Result<()> {
        let mut members = Vec::new();
        // Unsettled inodes that would be taken off the list: left on it (see below).
        let mut kept = Vec::new();
        let mut seen = HashSet::new();
        // The inode whose `next_orphan` points at `current`; `None` for the superblock.
        let mut previous: Option<u64> = None;
        let mut current = self.sb.orphan_head;
        while current != 0 {
            let broken = if !self.sb.is_valid_ino(current) {
                Some(format!(
                    "inode {current} on the orphan list is out of range"
                ))
            } else if seen.contains(&current) {
                Some(format!("the orphan list loops back to inode {current}"))
            } else if !self.inodes.contains_key(&current) {
                Some(format!("inode {current} on the orphan list is not in use"))
            } else {
                None
            };
            if let Some(why) = broken {
                self.report(
                    ProblemKind::OrphanList,
                    true,
                    format!("{why}; ending the list there"),
                )?;
                self.set_next_orphan(previous, 0)?;
                break;
            }
            seen.insert(current);
            let Some(record) = self.inodes.get(&current) else {
                break;
            };
            let next = record.inode.next_orphan;
            let nlink = record.inode.nlink;
            let linked = self.parent_of.contains_key(&current)
                || self
                    .entry_links
                    .get(&current)
                    .is_some_and(|&links| links > 0);
            if nlink != 0 || linked {
                let why = if linked {
                    "is still linked from a directory".to_string()
                } else {
                    format!("has a link count of {nlink}")
                };
                let message =
                    format!("inode {current} on the orphan list {why}; taking it off the list");
                // Its links may be entries of another inode's data: it neither leaves the list
                // nor, being linked in the model, is freed.
                if let Some(note) = self.unsettled_note(current) {
                    self.report(ProblemKind::OrphanList, false, message + &note)?;
                    kept.push(current);
                    previous = Some(current);
                } else {
                    self.report(ProblemKind::OrphanList, true, message)?;
                    self.set_next_orphan(previous, next)?;
                    self.set_next_orphan(Some(current), 0)?;
                }
            } else {
                members.push(current);
                previous = Some(current);
            }
            current = next;
        }
        for &ino in &members {
            self.report(
                ProblemKind::Orphan,
                true,
                format!("inode {ino} is an orphan (unlinked while open); freeing it"),
            )?;
            self.free_inode(ino)?;
        }
        // What is left of the list is the inodes kept on it, in order: linked past the freed
        // members (without any, they still are).
        if !members.is_empty() {
            let mut previous = None;
            for &ino in kept.iter().chain(&[0]) {
                self.set_next_orphan(previous, ino)?;
                previous = Some(ino);
            }
        }
        self.orphans_kept.extend(kept);
        Ok(())
    }

    /// Points the orphan list link of `inode` (`None`: the superblock's head) at `next`.
    fn set_next_orphan(&mut self, inode: Option<u64>, next: u64) -> Result<()> {
        match inode {
            None => {
                self.sb.orphan_head = next;
                self.sb_changed = true;
            }
            Some(ino) => {
                if let Some(record) = self.inodes.get_mut(&ino) {
                    record.inode.next_orphan = next;
                }
                self.write_record(ino)?;
            }
        }
        Ok(())
    }

    /// Pass 5: frees inodes in use that nothing reaches, and clears stray orphan links.
    fn check_unreachable(&mut self) -> Result<()> {
        let numbers: Vec<u64> = self.inodes.keys().copied().collect();
        for ino in numbers {
            // Linked (pass 4 kept it on the orphan list for that), and its `next_orphan` is
            // the list's.
            if self.orphans_kept.contains(&ino) {
                continue;
            }
            let reachable = self.parent_of.contains_key(&ino)
                || self.entry_links.get(&ino).is_some_and(|&links| links > 0);
            let Some(record) = self.inodes.get(&ino) else {
                continue;
            };
            let (file_type, nlink) = (record.file_type(), record.inode.nlink);
            if !reachable {
                self.report(
                    ProblemKind::Unreachable,
                    true,
                    format!(
                        "inode {ino} ({}, link count {nlink}) is in use but in no directory and \
                         not on the orphan list; freeing it",
                        file_type.name()
                    ),
                )?;
                self.free_inode(ino)?;
                continue;
            }
            let next = record.inode.next_orphan;
            if next != 0 {
                self.report(
                    ProblemKind::NextOrphan,
                    true,
                    format!(
                        "inode {ino}: next orphan is {next} but it is not an orphan; clearing it"
                    ),
                )?;
                self.set_next_orphan(Some(ino), 0)?;
            }
        }
        Ok(())
    }

    /// Pass 6: link counts match the entries naming each inode.
    fn check_link_counts(&mut self) -> Result<()> {
        let numbers: Vec<u64> = self.inodes.keys().copied().collect();
        for ino in numbers {
            let unsettled = self.unsettled_note(ino);
            let Some(record) = self.inodes.get_mut(&ino) else {
                continue;
            };
            let expected = if record.file_type() == FileType::Directory {
                2 + self.subdirs.get(&ino).copied().unwrap_or(0)
            } else {
                self.entry_links.get(&ino).copied().unwrap_or(0)
            };
            let nlink = record.inode.nlink;
            if u64::from(nlink) != expected {
                let message = format!("inode {ino}: link count is {nlink}, should be {expected}");
                // Entries that may be another inode's data were counted in `expected`.
                if let Some(note) = unsettled {
                    self.report(ProblemKind::LinkCount, false, message + &note)?;
                    continue;
                }
                let Ok(fixed) = u32::try_from(expected) else {
                    self.report(
                        ProblemKind::LinkCount,
                        false,
                        format!("inode {ino}: {expected} links do not fit the link count"),
                    )?;
                    continue;
                };
                record.inode.nlink = fixed;
                self.report(ProblemKind::LinkCount, true, message)?;
                self.write_record(ino)?;
            }
        }
        Ok(())
    }

    /// Pass 7: the bitmap marks exactly the metadata region, the blocks the remaining inodes own,
    /// and the bits past the end.
    fn check_bitmap(&mut self) -> Result<()> {
        let sb = self.sb;
        let mut owned = BlockSet::new(sb.total_blocks);
        for record in self.inodes.values() {
            for (start, end) in record.claims() {
                owned.insert_range(start, end.min(sb.total_blocks));
            }
        }
        let mut leaked = Vec::new();
        let mut missing_data = Vec::new();
        let mut missing_metadata = Vec::new();
        let mut tail_clear = Vec::new();
        for index in 0..sb.bitmap_blocks {
            let number = sb.bitmap_start + index;
            let mut block = self.dev.read_new(number)?;
            let mut changed = false;
            for bit in 0..BITS_PER_BITMAP_BLOCK {
                let block_number = index * BITS_PER_BITMAP_BLOCK + bit;
                let expected = block_number < sb.data_start
                    || block_number >= sb.total_blocks
                    || owned.contains(block_number);
                let actual = bitmap_get(&block[..], bit)?;
                if actual == expected {
                    continue;
                }
                changed = true;
                crate::format::bitmap_set(&mut block[..], bit, expected)?;
                let ranges = if actual {
                    &mut leaked
                } else if block_number < sb.data_start {
                    &mut missing_metadata
                } else if block_number >= sb.total_blocks {
                    &mut tail_clear
                } else {
                    &mut missing_data
                };
                push_block(ranges, block_number);
            }
            if changed {
                self.write_block(number, &block)?;
            }
        }
        const SHOWN: usize = 8;
        if !leaked.is_empty() {
            let message = format!(
                "{} blocks are marked in use but owned by nothing: {}",
                count_blocks(&leaked),
                show_ranges(&leaked, SHOWN)
            );
            self.report(ProblemKind::BitmapLeak, true, message)?;
        }
        if !missing_data.is_empty() {
            let message = format!(
                "{} blocks owned by inodes are marked free: {}",
                count_blocks(&missing_data),
                show_ranges(&missing_data, SHOWN)
            );
            self.report(ProblemKind::BitmapMissing, true, message)?;
        }
        if !missing_metadata.is_empty() {
            let message = format!(
                "{} metadata blocks are marked free: {}",
                count_blocks(&missing_metadata),
                show_ranges(&missing_metadata, SHOWN)
            );
            self.report(ProblemKind::BitmapMissing, true, message)?;
        }
        if !tail_clear.is_empty() {
            let message = format!(
                "{} bits past the end of the file system are clear",
                count_blocks(&tail_clear)
            );
            self.report(ProblemKind::BitmapTail, true, message)?;
        }
        self.outcome.blocks_used = sb.data_start + owned.len();
        Ok(())
    }

    /// Pass 8: the superblock's free counters.
    fn check_counters(&mut self) -> Result<()> {
        let free_blocks = self.sb.total_blocks - self.outcome.blocks_used;
        if self.sb.free_blocks != free_blocks {
            let message = format!(
                "free block count is {}, should be {free_blocks}",
                self.sb.free_blocks
            );
            self.report(ProblemKind::FreeBlocks, true, message)?;
            self.sb.free_blocks = free_blocks;
            self.sb_changed = true;
        }
        let free_inodes = self.sb.inode_count - self.inodes.len() as u64;
        if self.sb.free_inodes != free_inodes {
            let message = format!(
                "free inode count is {}, should be {free_inodes}",
                self.sb.free_inodes
            );
            self.report(ProblemKind::FreeInodes, true, message)?;
            self.sb.free_inodes = free_inodes;
            self.sb_changed = true;
        }
        Ok(())
    }

    /// The clean flag: a dirty file system is marked clean once everything else is repaired.
    fn check_state(&mut self) -> Result<()> {
        if self.sb.state == STATE_DIRTY {
            let repairable = self.unrepairable == 0;
            let message = if repairable {
                "file system was not cleanly unmounted; marking it clean"
            } else {
                "file system was not cleanly unmounted; left dirty because of unrepaired problems"
            };
            self.report(ProblemKind::Dirty, repairable, message.into())?;
            if repairable {
                self.sb.state = STATE_CLEAN;
                self.sb_changed = true;
            }
        }
        Ok(())
    }
}

/// A name like `name` that is not in `names`: `name~1`, `name~2`, ..., shortening `name` if
/// needed to stay within [`MAX_NAME_LEN`].
fn unique_name(name: &[u8], names: &HashSet<Vec<u8>>) -> Vec<u8> {
    (1u64..)
        .map(|counter| {
            let suffix = format!("~{counter}");
            let keep = name.len().min(MAX_NAME_LEN - suffix.len());
            let mut candidate = name[..keep].to_vec();
            candidate.extend_from_slice(suffix.as_bytes());
            candidate
        })
        .find(|candidate| !names.contains(candidate))
        .unwrap_or_else(|| name.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_set() {
        let mut set = BlockSet::new(200);
        set.insert_range(3, 140);
        assert!(!set.contains(2));
        assert!(set.contains(3) && set.contains(64) && set.contains(139));
        assert!(!set.contains(140));
        assert!(!set.contains(10_000));
        assert_eq!(set.len(), 137);
    }

    #[test]
    fn unique_names() {
        let mut names = HashSet::new();
        names.insert(b"a".to_vec());
        names.insert(b"a~1".to_vec());
        assert_eq!(unique_name(b"a", &names), b"a~2");
        let long = vec![b'x'; MAX_NAME_LEN];
        assert_eq!(unique_name(&long, &names).len(), MAX_NAME_LEN);
    }

    #[test]
    fn ranges_are_shown_compactly() {
        let mut ranges = Vec::new();
        for block in [5, 6, 7, 9] {
            push_block(&mut ranges, block);
        }
        assert_eq!(ranges, vec![(5, 8), (9, 10)]);
        assert_eq!(show_ranges(&ranges, 8), "5-7, 9");
        assert_eq!(show_ranges(&ranges, 1), "5-7, and 1 more ranges");
        assert_eq!(count_blocks(&ranges), 4);
    }
}
