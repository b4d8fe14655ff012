// SPDX-License-Identifier: GPL-2.0

//! fsck on randomly corrupted images, in-process: it must never panic, a read-only check must
//! not write, and one repair must be enough (a second repairing run finds nothing to fix).

use daxfs_tools::builder::ImageBuilder;
use daxfs_tools::device::MemDevice;
use daxfs_tools::format::Inode;
use daxfs_tools::format::BLOCK_SIZE;
use daxfs_tools::format::INODE_SIZE;
use daxfs_tools::fsck;
use daxfs_tools::fsck::FsckOptions;

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
