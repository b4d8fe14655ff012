// SPDX-License-Identifier: GPL-2.0

//! Crash states of persistent memory, rebuilt from a log of the metadata stores and fences a
//! workload issued: the host half of the crash-state explorer (issue 11).
//!
//! Persistent memory keeps an aligned 8-byte store whole across a power cut, and a fence makes
//! every earlier store durable; between two fences any subset of the stores issued may have
//! reached the media. So the stores of a fence interval are split into aligned 8-byte words,
//! in issue order, and a crash state is the image after every earlier interval plus some of
//! this interval's words: each prefix (a cut at every word) and a seeded sample of subsets.
//! A word written twice in one interval may persist as either value or not at all; applying a
//! subset in issue order covers all three.
//!
//! # The log
//!
//! A sequence of little-endian records, one per event, as the module's recorder writes them:
//! - `b'W'`, `u64` offset, `u32` length, then the bytes: a store;
//! - `b'Z'`, `u64` offset, `u32` length: a store of zeros;
//! - `b'F'`: a fence.
//!
//! A state is named by its interval and either its prefix length or its subset seed, which is
//! all a report needs to rebuild it ([`Explorer::state`]).

use std::collections::HashMap;
use std::fmt;

use crate::builder::ImageBuilder;
use crate::device::BlockDevice;
use crate::device::MemDevice;
use crate::format::FileType;
use crate::format::Inode;
use crate::format::Superblock;
use crate::format::BLOCK_SIZE;
use crate::format::DIRENTS_PER_BLOCK;
use crate::format::DIRENT_SIZE;
use crate::format::INODE_SIZE;
use crate::format::STATE_CLEAN;
use crate::fsck;
use crate::fsck::FsckOptions;
use crate::fsck::ProblemKind;
use crate::journal;

/// The unit that a power cut never tears: an aligned 8-byte word.
pub const WORD: u64 = 8;

/// Tag of a store record.
const TAG_STORE: u8 = b'W';
/// Tag of a zeroing record.
const TAG_ZERO: u8 = b'Z';
/// Tag of a fence record.
const TAG_FENCE: u8 = b'F';

/// One event of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `bytes` stored at byte `offset`.
    Store {
        /// Device byte offset.
        offset: u64,
        /// The bytes stored.
        bytes: Vec<u8>,
    },
    /// A fence: every earlier store is durable.
    Fence,
}

/// A log that cannot be parsed: the byte offset in the log and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError {
    /// Byte offset of the bad record in the log.
    pub at: usize,
    /// What is wrong with it.
    pub why: &'static str,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store log byte {}: {}", self.at, self.why)
    }
}

impl std::error::Error for LogError {}

/// Parses a store log.
pub fn parse_log(log: &[u8]) -> Result<Vec<Event>, LogError> {
    let mut events = Vec::new();
    let mut at = 0;
    while at < log.len() {
        let start = at;
        let bad = move |why| LogError { at: start, why };
        let tag = log[at];
        if tag == TAG_FENCE {
            events.push(Event::Fence);
            at += 1;
            continue;
        }
        if tag != TAG_STORE && tag != TAG_ZERO {
            return Err(bad("unknown record tag"));
        }
        let header = log
            .get(at + 1..at + 13)
            .ok_or(bad("truncated record header"))?;
        let offset = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(header[8..].try_into().expect("4 bytes")) as usize;
        if offset.checked_add(len as u64).is_none() {
            return Err(bad("store past the end of the address space"));
        }
        at += 13;
        let bytes = if tag == TAG_ZERO {
            vec![0; len]
        } else {
            let bytes = log.get(at..at + len).ok_or(bad("truncated store"))?;
            at += len;
            bytes.to_vec()
        };
        events.push(Event::Store { offset, bytes });
    }
    Ok(events)
}

/// Encodes `events` as a log (what the recorder writes; zeros are written as stores).
pub fn encode_log(events: &[Event]) -> Vec<u8> {
    let mut log = Vec::new();
    for event in events {
        match event {
            Event::Fence => log.push(TAG_FENCE),
            Event::Store { offset, bytes } => {
                log.push(TAG_STORE);
                log.extend_from_slice(&offset.to_le_bytes());
                let len = u32::try_from(bytes.len()).expect("a store below 4 GiB");
                log.extend_from_slice(&len.to_le_bytes());
                log.extend_from_slice(bytes);
            }
        }
    }
    log
}

/// A store's part in one aligned word: the bytes it gives the word where `mask` has a bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WordWrite {
    /// Device byte offset of the word (a multiple of [`WORD`]).
    pub offset: u64,
    /// The word's bytes from the store (others are zero and unused).
    pub bytes: [u8; WORD as usize],
    /// Bit `i` set: byte `i` of the word comes from the store.
    pub mask: u8,
}

impl WordWrite {
    /// Applies the write to `image`; bytes past its end are not there to write.
    fn apply(&self, image: &mut [u8]) {
        for i in 0..WORD as usize {
            if self.mask & (1 << i) == 0 {
                continue;
            }
            let at = usize::try_from(self.offset)
                .ok()
                .and_then(|o| o.checked_add(i));
            if let Some(byte) = at.and_then(|at| image.get_mut(at)) {
                *byte = self.bytes[i];
            }
        }
    }
}

/// Splits a store into its aligned words, in address order.
fn split_words(offset: u64, bytes: &[u8]) -> Vec<WordWrite> {
    let mut words: Vec<WordWrite> = Vec::new();
    for (i, &byte) in bytes.iter().enumerate() {
        let at = offset + i as u64;
        let word = at - at % WORD;
        let index = (at % WORD) as usize;
        match words.last_mut() {
            Some(last) if last.offset == word => {
                last.bytes[index] = byte;
                last.mask |= 1 << index;
            }
            _ => {
                let mut write = WordWrite {
                    offset: word,
                    bytes: [0; WORD as usize],
                    mask: 1 << index,
                };
                write.bytes[index] = byte;
                words.push(write);
            }
        }
    }
    words
}

/// The word writes of each fence interval, in issue order. The stores after the last fence, if
/// any, form a last interval: a crash may come before it is fenced.
pub fn intervals(events: &[Event]) -> Vec<Vec<WordWrite>> {
    let mut intervals = vec![Vec::new()];
    for event in events {
        match event {
            Event::Store { offset, bytes } => intervals
                .last_mut()
                .expect("never empty")
                .extend(split_words(*offset, bytes)),
            Event::Fence => intervals.push(Vec::new()),
        }
    }
    intervals.retain(|interval| !interval.is_empty());
    intervals
}

/// Which of an interval's word writes reached the media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The first `n` in issue order.
    Prefix(usize),
    /// The subset that a generator seeded with this value picks (each write with even odds).
    Subset(u64),
}

/// A crash state: the interval it falls in and what of it persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateId {
    /// The fence interval (0-based) the power cut fell in.
    pub interval: usize,
    /// What of that interval's writes persisted.
    pub cut: Cut,
}

impl fmt::Display for StateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cut {
            Cut::Prefix(n) => write!(f, "interval {} prefix {n}", self.interval),
            Cut::Subset(seed) => write!(f, "interval {} subset {seed:#x}", self.interval),
        }
    }
}

/// A small deterministic generator (xorshift64*) for the subsets.
fn subset_bits(seed: u64) -> impl FnMut() -> bool {
    let mut state = seed | 1;
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 63 == 1
    }
}

/// Builds the crash states of a workload: its image before the first logged store, and the log.
pub struct Explorer {
    base: Vec<u8>,
    intervals: Vec<Vec<WordWrite>>,
    /// The images between the workload's system calls, if it makes several.
    steps: Vec<Vec<u8>>,
}

impl Explorer {
    /// An explorer of `events` applied to the image `base`.
    pub fn new(base: Vec<u8>, events: &[Event]) -> Self {
        Self {
            base,
            intervals: intervals(events),
            steps: Vec::new(),
        }
    }

    /// The explorer of a workload of several system calls: `steps` are the images between
    /// them, which the old-or-new check accepts as well as the images before and after.
    pub fn with_steps(self, steps: Vec<Vec<u8>>) -> Self {
        Self { steps, ..self }
    }

    /// The fence intervals' word writes.
    pub fn intervals(&self) -> &[Vec<WordWrite>] {
        &self.intervals
    }

    /// The states to check: for each interval, every prefix (from none of its writes to all
    /// but the last: all of them is the next interval's empty prefix, or the final image) and
    /// `subsets` seeded subsets (none for an interval of one write, whose prefixes are all its
    /// states). `seed` makes the subsets of one run differ from another's.
    pub fn state_ids(&self, subsets: usize, seed: u64) -> Vec<StateId> {
        let mut ids = Vec::new();
        for (interval, writes) in self.intervals.iter().enumerate() {
            ids.extend((0..writes.len()).map(|n| StateId {
                interval,
                cut: Cut::Prefix(n),
            }));
            if writes.len() > 1 {
                ids.extend((0..subsets as u64).map(|k| StateId {
                    interval,
                    cut: Cut::Subset(mix(seed, interval as u64, k)),
                }));
            }
        }
        ids
    }

    /// The image of state `id`. Rebuilding each from the base costs a copy and a replay, which
    /// is nothing next to checking it.
    pub fn state(&self, id: StateId) -> Vec<u8> {
        let mut image = self.base.clone();
        for writes in &self.intervals[..id.interval] {
            writes.iter().for_each(|write| write.apply(&mut image));
        }
        let writes = &self.intervals[id.interval];
        match id.cut {
            Cut::Prefix(n) => writes[..n].iter().for_each(|w| w.apply(&mut image)),
            Cut::Subset(seed) => {
                let mut persisted = subset_bits(seed);
                writes
                    .iter()
                    .filter(|_| persisted())
                    .for_each(|w| w.apply(&mut image));
            }
        }
        image
    }

    /// The image once every logged store is durable.
    pub fn final_image(&self) -> Vec<u8> {
        let mut image = self.base.clone();
        for write in self.intervals.iter().flatten() {
            write.apply(&mut image);
        }
        image
    }
}

/// Whether fsck's `kind` is harmless after a crash, in an image whose orphans were freed as
/// mount frees them ([`reclaim_orphans`]): the `dirty` state, and then the free counters, which
/// mount recounts (a clean file system's counters are trusted, so there they must be right).
pub fn harmless(kind: ProblemKind, dirty: bool) -> bool {
    matches!(kind, ProblemKind::Dirty | ProblemKind::Journal)
        || (dirty && matches!(kind, ProblemKind::FreeBlocks | ProblemKind::FreeInodes))
}

/// `image` with the transaction a crash interrupted undone, as every mount does first
/// ([`journal::recover`]); as it is if its superblock is unusable (fsck reports why).
pub fn recover_journal(image: &[u8]) -> Vec<u8> {
    let mut dev = MemDevice::from_bytes(image.to_vec());
    let sb = journal::superblock(&dev)
        .ok()
        .and_then(|sb| sb.ok())
        .filter(|sb| sb.validate_geometry(dev.block_count()).is_ok());
    match sb {
        Some(sb) if journal::recover(&mut dev, &sb).is_ok() => dev.into_bytes(),
        _ => image.to_vec(),
    }
}

/// `image` as the next read-write mount leaves it before it serves anything: the interrupted
/// transaction undone ([`recover_journal`]), then every orphan freed,
/// its blocks, overflow blocks and xattr block released in the bitmap and the list emptied, as
/// `src/orphan.rs` does, and the free counters raised by what was freed (the kernel's counters
/// after it, which unmount writes). `None` if the list or an orphan's extents cannot be walked: the image is
/// then checked as it is, and fsck reports why.
pub fn reclaim_orphans(image: &[u8]) -> Option<Vec<u8>> {
    let mut builder = ImageBuilder::open(recover_journal(image)).ok()?;
    let sb = *builder.superblock();
    let mut orphan = sb.orphan_head;
    let mut walked = 0;
    while orphan != 0 {
        walked += 1;
        if walked > sb.inode_count {
            return None;
        }
        let inode = builder.read_inode(orphan).ok()?;
        if inode.is_free() || inode.nlink != 0 {
            return None;
        }
        // The chain and the map are bounded by the blocks of the file system.
        let chain = bounded(builder.overflow_chain(orphan).ok()?, sb.total_blocks)?;
        let extents = bounded(builder.extents(orphan).ok()?, sb.total_blocks)?;
        for extent in extents {
            for block in extent.physical..extent.physical.checked_add(u64::from(extent.len))? {
                builder.free_block(block).ok()?;
            }
        }
        for block in chain {
            builder.free_block(block).ok()?;
        }
        if inode.xattr_block != 0 {
            builder.free_block(inode.xattr_block).ok()?;
        }
        builder.superblock_mut().free_inodes += 1;
        builder
            .write_inode(
                orphan,
                &Inode {
                    generation: inode.generation,
                    ..Inode::default()
                },
            )
            .ok()?;
        orphan = inode.next_orphan;
    }
    builder.superblock_mut().orphan_head = 0;
    builder.finish().ok()
}

/// `items`, if there are at most `limit` of them.
fn bounded<T>(items: Vec<T>, limit: u64) -> Option<Vec<T>> {
    (items.len() as u64 <= limit).then_some(items)
}

/// What `fsck -n` finds beyond the harmless classes in `image` as the next mount leaves it
/// ([`reclaim_orphans`]), one line per problem; an image fsck cannot check at all (a torn
/// superblock) is one line too.
pub fn harmful_problems(image: &[u8]) -> Vec<String> {
    let image = reclaim_orphans(image).unwrap_or_else(|| recover_journal(image));
    let dirty = image
        .get(..BLOCK_SIZE)
        .and_then(|block| Superblock::decode(block).ok())
        .is_some_and(|sb| sb.state != STATE_CLEAN);
    let mut dev = MemDevice::from_bytes(image);
    match fsck::check(&mut dev, &FsckOptions::default(), &mut std::io::sink()) {
        Ok(outcome) => outcome
            .problems
            .into_iter()
            .filter(|problem| !harmless(problem.kind, dirty))
            .map(|problem| format!("{}: {}", problem.kind.code(), problem.message))
            .collect(),
        Err(error) => vec![format!("fsck cannot check it: {error}")],
    }
}

/// The inode records of `state` that are as no system call boundary left them: `versions` are
/// the images before the workload, between its system calls (if it makes several) and after
/// it, and after a crash each record must be as one of them, never torn and never halfway
/// through a call. Records the same in every version are not looked at. Empty if the first
/// version has no valid superblock (fsck reports that).
pub fn inodes_neither_old_nor_new(versions: &[&[u8]], state: &[u8]) -> Vec<u64> {
    let Some(sb) = versions
        .first()
        .and_then(|base| base.get(..BLOCK_SIZE))
        .and_then(|b| Superblock::decode(b).ok())
    else {
        return Vec::new();
    };
    (1..=sb.inode_count)
        .filter(|&ino| {
            let Some((block, offset)) = sb.inode_location(ino) else {
                return false;
            };
            let Some(at) = usize::try_from(block)
                .ok()
                .and_then(|block| block.checked_mul(BLOCK_SIZE))
                .and_then(|start| start.checked_add(offset))
            else {
                return false;
            };
            neither(versions, state, at, INODE_SIZE)
        })
        .collect()
}

/// Whether the `len` bytes at `at` differ between `versions` and `state` has them as none of
/// them has.
fn neither(versions: &[&[u8]], state: &[u8], at: usize, len: usize) -> bool {
    let bytes = |image: &[u8]| image.get(at..at.saturating_add(len)).map(<[u8]>::to_vec);
    let first = versions.first().map(|image| bytes(image));
    let changed = versions.iter().any(|image| Some(bytes(image)) != first);
    let now = bytes(state);
    changed && versions.iter().all(|image| bytes(image) != now)
}

/// The blocks that the directories of `image` map; `None` if its superblock does not decode.
/// Directories whose inode or extents do not decode are left out (fsck reports them).
fn directory_blocks(image: &[u8]) -> Option<Vec<u64>> {
    let builder = ImageBuilder::open(image.to_vec()).ok()?;
    let sb = *builder.superblock();
    let mut blocks = Vec::new();
    for ino in 1..=sb.inode_count {
        let is_dir = builder
            .read_inode(ino)
            .is_ok_and(|inode| inode.file_type() == Some(FileType::Directory));
        if !is_dir {
            continue;
        }
        for extent in builder.extents(ino).unwrap_or_default() {
            let end = extent
                .physical
                .saturating_add(u64::from(extent.len))
                .min(sb.total_blocks);
            blocks.extend(extent.physical..end);
        }
    }
    Some(blocks)
}

/// The directory-entry slots of `state`'s directories that are as no system call boundary left
/// them (`versions` as for [`inodes_neither_old_nor_new`]), as (block, slot): a torn entry, or
/// one halfway through a call. A block that a directory of `state` maps must hold entries as
/// one of the versions left them, whether or not the directory mapped it before.
pub fn entries_neither_old_nor_new(versions: &[&[u8]], state: &[u8]) -> Vec<(u64, usize)> {
    let Some(blocks) = directory_blocks(state) else {
        return Vec::new();
    };
    let mut torn = Vec::new();
    for block in blocks {
        let Some(start) = usize::try_from(block)
            .ok()
            .and_then(|block| block.checked_mul(BLOCK_SIZE))
        else {
            continue;
        };
        for index in 0..DIRENTS_PER_BLOCK {
            if neither(versions, state, start + index * DIRENT_SIZE, DIRENT_SIZE) {
                torn.push((block, index));
            }
        }
    }
    torn
}

/// The files of `base` that the workload did not touch (their inode record is the same in
/// `after`) but that `state` does not keep whole: their record, or a block they map or chain
/// through, differs from `base`. Files made durable before the workload must survive any crash
/// during it. Empty if `base` has no valid superblock (fsck reports that).
pub fn untouched_files_not_intact(base: &[u8], after: &[u8], state: &[u8]) -> Vec<u64> {
    let Ok(builder) = ImageBuilder::open(base.to_vec()) else {
        return Vec::new();
    };
    let sb = *builder.superblock();
    let bytes = |image: &[u8], at: usize, len: usize| {
        image.get(at..at.saturating_add(len)).map(<[u8]>::to_vec)
    };
    let block_differs = |block: u64| {
        let at = usize::try_from(block)
            .unwrap_or(usize::MAX)
            .saturating_mul(BLOCK_SIZE);
        bytes(base, at, BLOCK_SIZE) != bytes(state, at, BLOCK_SIZE)
    };
    (1..=sb.inode_count)
        .filter(|&ino| {
            let Ok(at) = builder.inode_offset(ino) else {
                return false;
            };
            let record = bytes(base, at, INODE_SIZE);
            if record != bytes(after, at, INODE_SIZE)
                || builder
                    .read_inode(ino)
                    .map_or(true, |inode| inode.is_free())
            {
                return false;
            }
            if record != bytes(state, at, INODE_SIZE) {
                return true;
            }
            let extents = builder.extents(ino).unwrap_or_default();
            let chain = builder.overflow_chain(ino).unwrap_or_default();
            extents
                .iter()
                .flat_map(|e| e.physical..e.physical.saturating_add(u64::from(e.len)))
                .chain(chain)
                .take(usize::try_from(sb.total_blocks).unwrap_or(usize::MAX))
                .any(block_differs)
        })
        .collect()
}

/// The objects of `state` that are as no system call boundary left them, one line each.
fn old_or_new_problems(versions: &[&[u8]], state: &[u8]) -> Vec<String> {
    let inodes = inodes_neither_old_nor_new(versions, state)
        .into_iter()
        .map(|ino| format!("inode {ino}: neither as before a system call nor as after it"));
    let entries = entries_neither_old_nor_new(versions, state)
        .into_iter()
        .map(|(block, slot)| {
            format!(
                "directory block {block} slot {slot}: neither as before a system call nor as \
                 after it"
            )
        });
    inodes.chain(entries).collect()
}

/// The crash states of one workload that were checked, and the failures among them.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// States checked (the final image included).
    pub checked: usize,
    /// States with harmful problems.
    pub failed: usize,
    /// The first failing state (`None`: the final image) and its problems.
    pub first_failure: Option<(Option<StateId>, Vec<String>)>,
}

impl Explorer {
    /// The states [`Explorer::check`] checks: the final image (`None`), then
    /// [`Explorer::state_ids`]`(subsets, seed)`.
    pub fn checked_ids(&self, subsets: usize, seed: u64) -> Vec<Option<StateId>> {
        let mut ids = vec![None];
        ids.extend(self.state_ids(subsets, seed).into_iter().map(Some));
        ids
    }

    /// The image of a state of [`Explorer::checked_ids`].
    pub fn image_of(&self, id: Option<StateId>) -> Vec<u8> {
        match id {
            Some(id) => self.state(id),
            None => self.final_image(),
        }
    }

    /// A seeded sample of `count` states of [`Explorer::checked_ids`]`(subsets, seed)`, the
    /// final image first: those the guest mounts.
    pub fn sample(&self, subsets: usize, seed: u64, count: usize) -> Vec<Option<StateId>> {
        let ids = self.checked_ids(subsets, seed);
        let mut picked = vec![0];
        let mut k = 0;
        while picked.len() < count.min(ids.len()) {
            k += 1;
            // CAST: an index below `ids.len()`.
            let index = (mix(seed, u64::MAX, k) % ids.len() as u64) as usize;
            if !picked.contains(&index) {
                picked.push(index);
            }
        }
        picked.into_iter().map(|index| ids[index]).collect()
    }

    /// Checks the states of [`Explorer::checked_ids`]`(subsets, seed)`, each as the next mount
    /// leaves it (the interrupted transaction undone, the orphans freed; the versions too), with
    /// [`harmful_problems`], [`inodes_neither_old_nor_new`], [`entries_neither_old_nor_new`]
    /// and [`untouched_files_not_intact`], on `threads` threads. `guest` has what the guest
    /// found mounting some of them, by [`state_name`]: those are failures too.
    pub fn check(
        &self,
        subsets: usize,
        seed: u64,
        threads: usize,
        guest: &HashMap<String, String>,
    ) -> Report {
        let ids = self.checked_ids(subsets, seed);
        let threads = threads.clamp(1, ids.len());
        let after = self.final_image();
        let mut versions: Vec<&[u8]> = vec![&self.base];
        versions.extend(self.steps.iter().map(Vec::as_slice));
        versions.push(&after);
        let versions = &versions;
        let after = &after;
        // Objects are compared as the next mount leaves them: the interrupted transaction
        // undone and the orphans freed (an unlink's inode is freed by the eviction that follows
        // it, in a transaction of its own).
        let mounted = |image: &[u8]| {
            let recovered = recover_journal(image);
            reclaim_orphans(&recovered).unwrap_or(recovered)
        };
        let mounted_versions: Vec<Vec<u8>> = versions.iter().map(|v| mounted(v)).collect();
        let mounted_versions: Vec<&[u8]> = mounted_versions.iter().map(Vec::as_slice).collect();
        let mounted_versions = &mounted_versions;
        let results: Vec<Vec<(usize, Vec<String>)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|worker| {
                    let ids = &ids;
                    scope.spawn(move || {
                        (worker..ids.len())
                            .step_by(threads)
                            .filter_map(|index| {
                                let image = recover_journal(&self.image_of(ids[index]));
                                let state = reclaim_orphans(&image).unwrap_or(image.clone());
                                let mut problems = harmful_problems(&state);
                                problems.extend(old_or_new_problems(mounted_versions, &state));
                                problems.extend(
                                    untouched_files_not_intact(&self.base, after, &image)
                                        .into_iter()
                                        .map(|ino| {
                                            format!(
                                                "inode {ino}: untouched by the workload, but its \
                                                 record or blocks changed"
                                            )
                                        }),
                                );
                                if let Some(why) = guest.get(&state_name(ids[index])) {
                                    problems.push(format!("guest: {why}"));
                                }
                                (!problems.is_empty()).then_some((index, problems))
                            })
                            .collect()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().expect("a checker thread panicked"))
                .collect()
        });
        let mut failures: Vec<(usize, Vec<String>)> = results.into_iter().flatten().collect();
        failures.sort_by_key(|(index, _)| *index);
        Report {
            checked: ids.len(),
            failed: failures.len(),
            first_failure: failures
                .into_iter()
                .next()
                .map(|(index, problems)| (ids[index], problems)),
        }
    }
}

/// The name of a state of [`Explorer::checked_ids`] in reports and in the guest's results.
pub fn state_name(id: Option<StateId>) -> String {
    id.map_or_else(|| "the final image".to_string(), |id| id.to_string())
}

/// A subset seed from the run's seed, the interval and the sample's number.
fn mix(seed: u64, interval: u64, k: u64) -> u64 {
    let mut x =
        seed ^ interval.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ORPHAN_HEAD_OFFSET;

    fn store(offset: u64, bytes: &[u8]) -> Event {
        Event::Store {
            offset,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn log_round_trip_and_zero_records() {
        let events = vec![store(3, b"abc"), Event::Fence, store(4096, &[7; 20])];
        assert_eq!(parse_log(&encode_log(&events)), Ok(events));
        let mut zero = vec![TAG_ZERO];
        zero.extend_from_slice(&16u64.to_le_bytes());
        zero.extend_from_slice(&5u32.to_le_bytes());
        zero.push(TAG_FENCE);
        assert_eq!(parse_log(&zero), Ok(vec![store(16, &[0; 5]), Event::Fence]));
    }

    #[test]
    fn bad_logs_are_refused_with_their_place() {
        assert_eq!(parse_log(b"FX").unwrap_err().at, 1);
        assert_eq!(
            parse_log(b"W\x01\x02").unwrap_err().why,
            "truncated record header"
        );
        let mut short = encode_log(&[store(0, b"abcdef")]);
        short.pop();
        assert_eq!(parse_log(&short).unwrap_err().why, "truncated store");
        let mut wrap = vec![TAG_ZERO];
        wrap.extend_from_slice(&u64::MAX.to_le_bytes());
        wrap.extend_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            parse_log(&wrap).unwrap_err().why,
            "store past the end of the address space"
        );
    }

    #[test]
    fn stores_split_at_aligned_words() {
        // 12 bytes from offset 6: bytes 6-7 of word 0, all of word 8, bytes 0-1 of word 16.
        let words = split_words(6, &[1; 12]);
        let shape: Vec<(u64, u8)> = words.iter().map(|w| (w.offset, w.mask)).collect();
        assert_eq!(shape, [(0, 0b1100_0000), (8, 0xff), (16, 0b0000_0011)]);
    }

    #[test]
    fn intervals_end_at_fences_and_keep_an_unfenced_tail() {
        let events = [
            Event::Fence,
            store(0, &[1; 16]),
            Event::Fence,
            Event::Fence,
            store(64, &[2; 8]),
        ];
        let intervals = intervals(&events);
        assert_eq!(intervals.len(), 2);
        assert_eq!(intervals[0].len(), 2);
        assert_eq!(intervals[1][0].offset, 64);
    }

    /// A populated image, and the device offset and the record of the inode named `name`.
    fn image_and_inode(name: &str) -> (Vec<u8>, u64, crate::format::Inode) {
        let (builder, names) = crate::builder::ImageBuilder::populated(256).unwrap();
        let ino = names.iter().find(|(n, _)| *n == name).unwrap().1;
        let inode = builder.read_inode(ino).unwrap();
        let (block, offset) = builder.superblock().inode_location(ino).unwrap();
        let image = builder.finish().unwrap();
        (image, block * 4096 + offset as u64, inode)
    }

    #[test]
    fn a_block_of_an_untouched_file_overwritten_fails() {
        let (builder, names) = crate::builder::ImageBuilder::populated(256).unwrap();
        let file = names.iter().find(|(n, _)| *n == "file").unwrap().1;
        let block = builder.extents(file).unwrap()[0].physical;
        let base = builder.finish().unwrap();
        // A workload that zeroes a block of "file" without changing its inode.
        let events = [store(block * 4096, &[0; 4096]), Event::Fence];
        let explorer = Explorer::new(base.clone(), &events);
        let after = explorer.final_image();
        assert!(untouched_files_not_intact(&base, &base, &base).is_empty());
        // Untouched in `after` too (only its data changed): the zeroed block is a failure.
        assert_eq!(
            untouched_files_not_intact(&base, &after, &after),
            vec![file]
        );
        let report = explorer.check(0, 1, 1, &HashMap::new());
        let (first, problems) = report.first_failure.unwrap();
        assert_eq!(first, None, "the final image fails first");
        assert!(
            problems.iter().any(|p| p.contains("untouched")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_interrupted_transaction_is_undone_before_the_checks() {
        let (base, at, mut inode) = image_and_inode("file");
        inode.mode = (inode.mode & !0o777) | 0o600;
        let mut record = [0u8; crate::format::INODE_SIZE];
        inode.encode(&mut record);
        let sb = Superblock::decode(&base[..BLOCK_SIZE]).unwrap();
        let (area, _) = sb.journal_records();
        let mut undo = vec![0u8; crate::format::journal_record_len(record.len())];
        let old = &base[at as usize..at as usize + record.len()];
        crate::format::encode_journal_record(&mut undo, 1, at, old).unwrap();
        // The journal's protocol: the undo record, fence, the inode in place, fence, commit.
        let events = [
            store(area, &undo),
            Event::Fence,
            store(at, &record),
            Event::Fence,
            store(sb.journal_commit_offset(), &1u64.to_le_bytes()),
            Event::Fence,
        ];
        let explorer = Explorer::new(base.clone(), &events);
        let report = explorer.check(64, 1, 2, &HashMap::new());
        assert_eq!(report.failed, 0, "{:?}", report.first_failure);
        assert!(report.checked > 64);
        // Without the undo record the torn inode shows.
        let unjournaled = Explorer::new(base, &events[2..]);
        assert!(unjournaled.check(64, 1, 2, &HashMap::new()).failed > 0);
    }

    #[test]
    fn a_torn_inode_rewrite_fails_and_whole_ones_pass() {
        let (base, at, mut inode) = image_and_inode("file");
        inode.mode = (inode.mode & !0o777) | 0o600;
        let mut record = [0u8; crate::format::INODE_SIZE];
        inode.encode(&mut record);
        let events = [store(at, &record), Event::Fence];
        let explorer = Explorer::new(base.clone(), &events);
        assert!(harmful_problems(&base).is_empty());
        assert!(harmful_problems(&explorer.final_image()).is_empty());
        let report = explorer.check(8, 1, 2, &HashMap::new());
        // Prefixes 0..32 (the first, the old record, passes) and 8 subsets, and the final image.
        assert_eq!(report.checked, 1 + 32 + 8);
        assert!(report.failed > 0 && report.failed < report.checked);
        let (state, problems) = report.first_failure.unwrap();
        assert_eq!(state.unwrap().cut, Cut::Prefix(1));
        assert!(problems[0].starts_with("inode-checksum"), "{problems:?}");
        // A file system left `dirty` by a crash while mounted is harmless: mount recounts.
        let mut sb_block = [0u8; 4096];
        sb_block.copy_from_slice(&base[..4096]);
        let mut sb = crate::format::Superblock::decode(&sb_block).unwrap();
        sb.state = 2;
        sb.encode(&mut sb_block);
        assert!(harmful_problems(&[&sb_block[..], &base[4096..]].concat()).is_empty());
    }

    #[test]
    fn an_inode_halfway_through_a_call_is_neither_old_nor_new() {
        let (base, at, inode) = image_and_inode("file");
        let version = |mode: u16| {
            let mut record = [0u8; crate::format::INODE_SIZE];
            let mut changed = inode;
            changed.mode = (inode.mode & !0o777) | mode;
            changed.encode(&mut record);
            record
        };
        // Two whole, fenced rewrites: after the first, the inode is valid but halfway.
        let events = [
            store(at, &version(0o600)),
            Event::Fence,
            store(at, &version(0o640)),
            Event::Fence,
        ];
        let explorer = Explorer::new(base.clone(), &events);
        let after = explorer.final_image();
        let halfway = explorer.state(StateId {
            interval: 1,
            cut: Cut::Prefix(0),
        });
        assert!(
            harmful_problems(&halfway).is_empty(),
            "fsck sees a valid inode"
        );
        let ino = inodes_neither_old_nor_new(&[&base, &after], &halfway);
        assert_eq!(ino.len(), 1);
        assert!(inodes_neither_old_nor_new(&[&base, &after], &base).is_empty());
        // Between two system calls, the image after the first is a version too.
        assert!(inodes_neither_old_nor_new(&[&base, &halfway, &after], &halfway).is_empty());
        assert!(inodes_neither_old_nor_new(&[&base, &after], &after).is_empty());
        let report = explorer.check(0, 1, 1, &HashMap::new());
        // Told that the image halfway is between two calls, the states that have it (the
        // second rewrite's words that are not yet written are those it already holds) pass.
        let with_steps = Explorer::new(base.clone(), &events).with_steps(vec![halfway.clone()]);
        assert!(with_steps.check(0, 1, 1, &HashMap::new()).failed < report.failed);
        let (state, problems) = report.first_failure.unwrap();
        assert_eq!(state.unwrap().cut, Cut::Prefix(1));
        assert!(
            problems.iter().any(|p| p.contains("neither")),
            "{problems:?}"
        );
    }

    #[test]
    fn orphans_are_freed_as_mount_frees_them_before_the_check() {
        let corpus = crate::fuzz::Corpus::new().unwrap();
        let image = corpus.image().to_vec();
        let mut dev = MemDevice::from_bytes(image.clone());
        let raw = fsck::check(&mut dev, &FsckOptions::default(), &mut std::io::sink()).unwrap();
        assert!(raw.has(ProblemKind::Orphan) && raw.has(ProblemKind::BitmapLeak));
        assert_eq!(harmful_problems(&image), Vec::<String>::new());
        // A list through an inode that still has links is no orphan list: reported as it is.
        let mut bad = image.clone();
        let linked = corpus
            .targets()
            .inodes
            .iter()
            .find(|i| i.what == "/file")
            .unwrap()
            .ino;
        bad[ORPHAN_HEAD_OFFSET..ORPHAN_HEAD_OFFSET + 8].copy_from_slice(&linked.to_le_bytes());
        assert!(reclaim_orphans(&bad).is_none());
        assert!(!harmful_problems(&bad).is_empty());
    }

    #[test]
    fn a_torn_directory_entry_is_neither_old_nor_new() {
        let (builder, names) = crate::builder::ImageBuilder::populated(256).unwrap();
        let ino = |name: &str| names.iter().find(|(n, _)| *n == name).unwrap().1;
        // A new entry naming "file" in a free slot of "dir", written as the kernel would.
        let mut with_entry = crate::builder::ImageBuilder::open(builder.finish().unwrap()).unwrap();
        let base = with_entry.device().bytes().to_vec();
        with_entry
            .add_entry(ino("dir"), b"new-name", ino("file"), FileType::Regular)
            .unwrap();
        let after = with_entry.device().bytes().to_vec();
        let at = first_difference_at(&base, &after);
        let (block, slot) = ((at / BLOCK_SIZE) as u64, at % BLOCK_SIZE / DIRENT_SIZE);
        let record = &after[at..at + DIRENT_SIZE];
        let events = [store(at as u64, record), Event::Fence];
        let explorer = Explorer::new(base.clone(), &events);
        let torn = explorer.state(StateId {
            interval: 0,
            cut: Cut::Prefix(1),
        });
        assert_eq!(
            entries_neither_old_nor_new(&[&base, &after], &torn),
            [(block, slot)]
        );
        assert!(entries_neither_old_nor_new(&[&base, &after], &base).is_empty());
        assert!(entries_neither_old_nor_new(&[&base, &after], &after).is_empty());
    }

    /// The first byte at which `a` and `b` differ.
    fn first_difference_at(a: &[u8], b: &[u8]) -> usize {
        a.iter().zip(b).position(|(x, y)| x != y).unwrap()
    }

    #[test]
    fn prefixes_and_subsets_rebuild_the_states_a_cut_can_leave() {
        let base = vec![0u8; 32];
        let events = [
            store(0, &[1; 8]),
            Event::Fence,
            store(8, &[2; 16]),
            store(8, &[3; 8]),
        ];
        let explorer = Explorer::new(base, &events);
        let ids = explorer.state_ids(4, 42);
        // Interval 0: prefix 0. Interval 1 (three word writes): prefixes 0..3 and 4 subsets.
        assert_eq!(ids.len(), 1 + 3 + 4);
        assert_eq!(explorer.state(ids[0]), vec![0; 32]);
        let prefix = |n| StateId {
            interval: 1,
            cut: Cut::Prefix(n),
        };
        let word = |image: &[u8], w: usize| image[w * 8];
        let two = explorer.state(prefix(2));
        assert_eq!((word(&two, 0), word(&two, 1), word(&two, 2)), (1, 2, 2));
        let fin = explorer.final_image();
        assert_eq!((word(&fin, 1), word(&fin, 2)), (3, 2));
        // Every subset leaves each word old, or as one of the stores wrote it, never torn.
        for id in &ids {
            let image = explorer.state(*id);
            if id.interval == 1 {
                assert_eq!(word(&image, 0), 1, "{id}: an earlier interval is durable");
            }
            for chunk in image.chunks(8) {
                assert!(chunk.iter().all(|&b| b == chunk[0]), "{id}: a torn word");
            }
            assert!([0, 2, 3].contains(&word(&image, 1)), "{id}");
            assert!([0, 2].contains(&word(&image, 2)), "{id}");
        }
        // The same seed gives the same states; another seed other subsets.
        assert_eq!(ids, explorer.state_ids(4, 42));
        assert_ne!(ids, explorer.state_ids(4, 43));
    }
}
