// SPDX-License-Identifier: GPL-2.0

//! Integration tests of `fsck.daxfs`: for each class of corruption it detects, a populated image
//! with that one corruption is checked with `-n` (reported, exit 4, image untouched), and, where
//! the problem is repairable, repaired with `-y` (exit 1) and then checked clean.

mod common;

use common::fsck;
use common::ino;
use common::populated;
use common::TempImage;
use daxfs_tools::builder::ImageBuilder;
use daxfs_tools::format::DirEntry;
use daxfs_tools::format::Extent;
use daxfs_tools::format::FileType;
use daxfs_tools::format::Inode;
use daxfs_tools::format::Superblock;
use daxfs_tools::format::BLOCK_SIZE;
use daxfs_tools::format::INODE_SIZE;
use daxfs_tools::format::STATE_DIRTY;

/// Whether fsck can repair a problem.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// `-y` repairs it.
    Yes,
    /// `-y` cannot repair it.
    No,
}

/// Checks that fsck detects `code` in `image` without writing, and repairs it if it can.
fn assert_detected(image: Vec<u8>, code: &str, repair: Repair) {
    let file = TempImage::with_bytes(code, &image);
    let tag = format!("{code}: ");

    for options in [&["-n"][..], &[], &["-f", "-n"]] {
        let checked = fsck(options, &file);
        assert_eq!(checked.code, 4, "{options:?}\n{}", checked.output());
        assert!(
            checked.stdout.contains(&tag),
            "{options:?}\n{}",
            checked.output()
        );
        assert!(file.read() == image, "fsck {options:?} modified the image");
    }

    let repaired = fsck(&["-y"], &file);
    assert!(repaired.stdout.contains(&tag), "{}", repaired.output());
    match repair {
        Repair::Yes => {
            assert_eq!(repaired.code, 1, "{}", repaired.output());
            assert!(repaired.stdout.contains("(fixed)"), "{}", repaired.output());
            let after = fsck(&["-n"], &file);
            assert_eq!(
                after.code,
                0,
                "after repair:\n{}\nrepair was:\n{}",
                after.output(),
                repaired.output()
            );
        }
        Repair::No => {
            assert_ne!(repaired.code & 4, 0, "{}", repaired.output());
            assert!(
                repaired.stdout.contains("(not fixed)"),
                "{}",
                repaired.output()
            );
        }
    }
}

/// Rewrites inode `ino` of `builder` with `change` applied.
fn change_inode(
    builder: &mut ImageBuilder,
    ino: u64,
    change: impl FnOnce(&mut daxfs_tools::format::Inode),
) {
    let mut inode = builder.read_inode(ino).unwrap();
    change(&mut inode);
    builder.write_inode(ino, &inode).unwrap();
}

#[test]
fn populated_image_is_clean() {
    let (builder, _) = populated();
    let image = builder.finish().unwrap();
    let file = TempImage::with_bytes("clean", &image);
    for options in [
        &["-n"][..],
        &[],
        &["-y"],
        &["-p"],
        &["-a"],
        &["-fy"],
        &["-v", "-n"],
    ] {
        let checked = fsck(options, &file);
        assert_eq!(checked.code, 0, "{options:?}\n{}", checked.output());
        assert!(checked.stdout.contains("clean"), "{}", checked.output());
    }
    assert!(file.read() == image, "fsck changed a clean image");
}

#[test]
fn bitmap_leak() {
    let (mut builder, _) = populated();
    let block = builder.alloc_blocks(3).unwrap();
    assert!(block >= builder.superblock().data_start);
    assert_detected(builder.finish().unwrap(), "bitmap-leak", Repair::Yes);
}

#[test]
fn bitmap_missing_bit() {
    let (mut builder, names) = populated();
    let extent = builder.extents(ino(&names, "file")).unwrap()[0];
    builder.set_bitmap_bit(extent.physical + 1, false).unwrap();
    builder.superblock_mut().free_blocks += 1;
    assert_detected(builder.finish().unwrap(), "bitmap-missing", Repair::Yes);
}

#[test]
fn bitmap_metadata_bit_clear() {
    let (mut builder, _) = populated();
    let table = builder.superblock().inode_table_start;
    builder.set_bitmap_bit(table, false).unwrap();
    assert_detected(builder.finish().unwrap(), "bitmap-missing", Repair::Yes);
}

#[test]
fn bitmap_tail_bit_clear() {
    let (mut builder, _) = populated();
    let total = builder.superblock().total_blocks;
    // Past the end: reach the bit through the raw bitmap block.
    let bitmap = builder.superblock().bitmap_start as usize * BLOCK_SIZE;
    let bit = total as usize + 5;
    builder.device_mut().bytes_mut()[bitmap + bit / 8] &= !(1 << (bit % 8));
    assert_detected(builder.finish().unwrap(), "bitmap-tail", Repair::Yes);
}

#[test]
fn double_owned_block() {
    let (mut builder, names) = populated();
    let file = ino(&names, "file");
    let victim = builder.extents(file).unwrap()[0];
    let sparse = ino(&names, "sparse");
    let mut inode = builder.read_inode(sparse).unwrap();
    let stolen = Extent {
        logical: 0,
        physical: victim.physical + 1,
        len: 1,
        unwritten: false,
    };
    builder.set_extents(sparse, &mut inode, &[stolen]).unwrap();
    builder.write_inode(sparse, &inode).unwrap();
    assert_detected(builder.finish().unwrap(), "double-owned", Repair::No);
}

#[test]
fn bad_link_count() {
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "file"), |inode| inode.nlink = 5);
    change_inode(&mut builder, ino(&names, "dir"), |inode| inode.nlink = 2);
    assert_detected(builder.finish().unwrap(), "link-count", Repair::Yes);
}

#[test]
fn zero_link_count_of_a_linked_file() {
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "fifo"), |inode| inode.nlink = 0);
    assert_detected(builder.finish().unwrap(), "link-count", Repair::Yes);
}

#[test]
fn dangling_dir_entry() {
    let (mut builder, _) = populated();
    let root = builder.superblock().root_ino;
    let free = builder.superblock().inode_count - 1;
    builder
        .add_entry(root, b"ghost", free, FileType::Regular)
        .unwrap();
    assert_detected(builder.finish().unwrap(), "dangling-entry", Repair::Yes);
}

#[test]
fn entry_past_the_inode_table() {
    let (mut builder, _) = populated();
    let root = builder.superblock().root_ino;
    let beyond = builder.superblock().inode_count + 7;
    builder
        .add_entry(root, b"far", beyond, FileType::Regular)
        .unwrap();
    assert_detected(builder.finish().unwrap(), "bad-entry", Repair::Yes);
}

#[test]
fn invalid_dir_entry_name() {
    let (mut builder, names) = populated();
    let (block, slot) = builder.entry_location(ino(&names, "dir"), b"fifo").unwrap();
    let offset = block as usize * BLOCK_SIZE + slot * 272 + 16;
    builder.device_mut().bytes_mut()[offset + 1] = b'/';
    assert_detected(builder.finish().unwrap(), "bad-entry", Repair::Yes);
}

#[test]
fn duplicate_name() {
    let (mut builder, names) = populated();
    let root = builder.superblock().root_ino;
    builder.link(root, b"file", ino(&names, "fifo")).unwrap();
    let image = builder.finish().unwrap();
    assert_detected(image.clone(), "duplicate-name", Repair::Yes);
    let file = TempImage::with_bytes("duplicate-renamed", &image);
    let repaired = fsck(&["-y"], &file);
    assert!(
        repaired.stdout.contains("'file~1'"),
        "{}",
        repaired.output()
    );
}

#[test]
fn dir_type_mismatch() {
    let (mut builder, names) = populated();
    let root = builder.superblock().root_ino;
    let file = ino(&names, "file");
    let (block, slot) = builder.entry_location(root, b"file").unwrap();
    let wrong = DirEntry::new(file, FileType::Fifo, b"file").unwrap();
    builder.write_entry(block, slot, Some(&wrong)).unwrap();
    assert_detected(builder.finish().unwrap(), "type-mismatch", Repair::Yes);
}

#[test]
fn directory_with_two_parents() {
    let (mut builder, names) = populated();
    let subdir = ino(&names, "subdir");
    builder
        .add_entry(ino(&names, "empty"), b"again", subdir, FileType::Directory)
        .unwrap();
    assert_detected(builder.finish().unwrap(), "dir-hard-link", Repair::Yes);
}

#[test]
fn link_to_the_root_directory() {
    let (mut builder, names) = populated();
    let root = builder.superblock().root_ino;
    builder
        .add_entry(ino(&names, "dir"), b"up", root, FileType::Directory)
        .unwrap();
    assert_detected(builder.finish().unwrap(), "dir-hard-link", Repair::Yes);
}

#[test]
fn wrong_parent_field() {
    let (mut builder, names) = populated();
    let root = builder.superblock().root_ino;
    change_inode(&mut builder, ino(&names, "subdir"), |inode| {
        inode.parent = root
    });
    assert_detected(builder.finish().unwrap(), "parent", Repair::Yes);
}

#[test]
fn unreachable_inode() {
    let (mut builder, names) = populated();
    let (block, slot) = builder.entry_location(ino(&names, "dir"), b"fifo").unwrap();
    builder.write_entry(block, slot, None).unwrap();
    assert_detected(builder.finish().unwrap(), "unreachable", Repair::Yes);
}

#[test]
fn unreachable_directory_tree() {
    let (mut builder, names) = populated();
    let root = builder.superblock().root_ino;
    let (block, slot) = builder.entry_location(root, b"dir").unwrap();
    builder.write_entry(block, slot, None).unwrap();
    change_inode(&mut builder, root, |inode| inode.nlink -= 1);
    let image = builder.finish().unwrap();
    assert_detected(image.clone(), "unreachable", Repair::Yes);
    let file = TempImage::with_bytes("unreachable-tree", &image);
    let checked = fsck(&["-n"], &file);
    // dir, subdir and their contents; "file" stays reachable from the root.
    for freed in [
        "dir",
        "subdir",
        "big",
        "sparse",
        "long-link",
        "fifo",
        "null",
    ] {
        let line = format!("unreachable: inode {} ", ino(&names, freed));
        assert!(
            checked.stdout.contains(&line),
            "{freed}\n{}",
            checked.output()
        );
    }
    assert!(checked
        .stdout
        .contains(&format!("inode {}: link count", ino(&names, "file"))));
}

#[test]
fn orphans_are_freed() {
    let (mut builder, _) = populated();
    builder.create_orphan(&[(0, 2)]).unwrap();
    builder.create_orphan(&[(0, 1), (4, 1)]).unwrap();
    builder.superblock_mut().state = STATE_DIRTY;
    assert_detected(builder.finish().unwrap(), "orphan", Repair::Yes);
}

/// A repair that frees an inode keeps its generation in the free slot, as the kernel does: the
/// slot's next user gets a newer one, so file handles of the freed inode stay stale.
#[test]
fn freed_inodes_keep_their_generation() {
    let (mut builder, _) = populated();
    let orphan = builder.create_orphan(&[(0, 2)]).unwrap();
    builder.superblock_mut().state = STATE_DIRTY;
    let image = builder.finish().unwrap();
    let sb = Superblock::decode(&image[..BLOCK_SIZE]).unwrap();
    let (block, offset) = sb.inode_location(orphan).unwrap();
    let at = block as usize * BLOCK_SIZE + offset;
    let generation = Inode::decode(&image[at..at + INODE_SIZE])
        .unwrap()
        .generation;
    assert_ne!(generation, 0);
    let file = TempImage::with_bytes("freed-generation", &image);
    let repaired = fsck(&["-y"], &file);
    assert_eq!(repaired.code, 1, "{}", repaired.output());
    let after = file.read();
    let freed = Inode::decode(&after[at..at + INODE_SIZE]).unwrap();
    assert!(freed.is_free(), "{}", repaired.output());
    assert_eq!(freed.generation, generation);
}

#[test]
fn orphan_list_cycle() {
    let (mut builder, _) = populated();
    let first = builder.create_orphan(&[(0, 1)]).unwrap();
    let second = builder.create_orphan(&[(0, 1)]).unwrap();
    // The list is second -> first; close the loop.
    change_inode(&mut builder, first, |inode| inode.next_orphan = second);
    assert_detected(builder.finish().unwrap(), "orphan-list", Repair::Yes);
}

#[test]
fn orphan_list_member_still_linked() {
    let (mut builder, names) = populated();
    let fifo = ino(&names, "fifo");
    builder.superblock_mut().orphan_head = fifo;
    assert_detected(builder.finish().unwrap(), "orphan-list", Repair::Yes);
}

#[test]
fn orphan_list_points_at_a_free_inode() {
    let (mut builder, _) = populated();
    builder.superblock_mut().orphan_head = builder.superblock().inode_count;
    assert_detected(builder.finish().unwrap(), "orphan-list", Repair::Yes);
}

#[test]
fn stray_next_orphan() {
    let (mut builder, names) = populated();
    let fifo = ino(&names, "fifo");
    change_inode(&mut builder, ino(&names, "file"), |inode| {
        inode.next_orphan = fifo
    });
    assert_detected(builder.finish().unwrap(), "next-orphan", Repair::Yes);
}

#[test]
fn corrupted_inode_checksum() {
    let (mut builder, names) = populated();
    let offset = builder.inode_offset(ino(&names, "file")).unwrap();
    builder.device_mut().bytes_mut()[offset + 16] ^= 0x10;
    assert_detected(builder.finish().unwrap(), "inode-checksum", Repair::Yes);
}

#[test]
fn invalid_inode_fields() {
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "fifo"), |inode| inode.size = 10);
    assert_detected(builder.finish().unwrap(), "bad-inode", Repair::Yes);
}

#[test]
fn extent_out_of_range() {
    let (mut builder, names) = populated();
    let total = builder.superblock().total_blocks;
    change_inode(&mut builder, ino(&names, "file"), |inode| {
        let mut extent = inode.inline_extent(1).unwrap();
        extent.physical = total;
        inode.set_inline_extent(1, &extent).unwrap();
    });
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);
}

#[test]
fn unwritten_extents() {
    // In a regular file of an image with the feature: clean.
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "file"), |inode| {
        let mut extent = inode.inline_extent(0).unwrap();
        extent.unwritten = true;
        inode.set_inline_extent(0, &extent).unwrap();
    });
    let image = builder.finish().unwrap();
    let clean = TempImage::with_bytes("unwritten", &image);
    let checked = fsck(&["-n"], &clean);
    assert_eq!(checked.code, 0, "{}", checked.output());

    // Without the feature: the extent is bad.
    let mut builder = ImageBuilder::open(image).unwrap();
    builder.superblock_mut().feature_incompat = 0;
    builder.write_superblock().unwrap();
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);

    // In a directory: its blocks would be read as entries.
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "dir"), |inode| {
        let mut extent = inode.inline_extent(0).unwrap();
        extent.unwritten = true;
        inode.set_inline_extent(0, &extent).unwrap();
    });
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);
}

/// Gives file `ino` of `builder` `count` more one-block extents, after a hole each, from block
/// 100 of the file on: returns its inode and all its extents.
fn add_extents(
    builder: &mut ImageBuilder,
    ino: u64,
    count: u64,
) -> (daxfs_tools::format::Inode, Vec<Extent>) {
    let mut inode = builder.read_inode(ino).unwrap();
    let mut extents = builder.extents(ino).unwrap();
    let extra = builder.alloc_blocks(count).unwrap();
    extents.extend((0..count).map(|i| Extent {
        logical: 100 + 2 * i,
        physical: extra + i,
        len: 1,
        unwritten: false,
    }));
    builder.set_extents(ino, &mut inode, &extents).unwrap();
    builder.write_inode(ino, &inode).unwrap();
    (inode, extents)
}

#[test]
fn unsorted_overflow_block() {
    use daxfs_tools::format::{
        ExtentBlockHeader,
        FEATURE_INCOMPAT_UNWRITTEN, //
    };
    // A big file whose first overflow block holds its extents in reverse order of its slots,
    // as a kernel that leaves extents in place may store them.
    let (mut builder, names) = populated();
    let big = ino(&names, "big");
    let (inode, extents) = add_extents(&mut builder, big, 50);
    let start = inode.overflow_block as usize * BLOCK_SIZE;
    let mut block: [u8; BLOCK_SIZE] = builder.device().bytes()[start..start + BLOCK_SIZE]
        .try_into()
        .unwrap();
    let header = ExtentBlockHeader::decode(&block).unwrap();
    let count = header.count as usize;
    assert!(count > 2);
    let sorted: Vec<Extent> = (0..count)
        .map(|slot| ExtentBlockHeader::read_extent(&block, slot).unwrap())
        .collect();
    for (slot, extent) in sorted.iter().rev().enumerate() {
        ExtentBlockHeader::write_extent(&mut block, slot, extent).unwrap();
    }
    header.encode(&mut block);
    builder.device_mut().bytes_mut()[start..start + BLOCK_SIZE].copy_from_slice(&block);
    assert_eq!(builder.extents(big).unwrap(), extents, "read in file order");
    let image = builder.finish().unwrap();
    let clean = TempImage::with_bytes("unsorted", &image);
    let checked = fsck(&["-n"], &clean);
    assert_eq!(checked.code, 0, "{}", checked.output());

    // Without the feature the block is out of order.
    let mut builder = ImageBuilder::open(image.clone()).unwrap();
    builder.superblock_mut().feature_incompat = FEATURE_INCOMPAT_UNWRITTEN;
    builder.write_superblock().unwrap();
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);

    // Two extents that overlap are found in any slots.
    let mut builder = ImageBuilder::open(image).unwrap();
    let mut overlapping = block;
    let last = sorted[count - 1];
    let overlap = Extent {
        logical: last.logical,
        ..sorted[0]
    };
    ExtentBlockHeader::write_extent(&mut overlapping, count - 1, &overlap).unwrap();
    header.encode(&mut overlapping);
    builder.device_mut().bytes_mut()[start..start + BLOCK_SIZE].copy_from_slice(&overlapping);
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);
}

#[test]
fn extent_in_the_metadata_region() {
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "file"), |inode| {
        let mut extent = inode.inline_extent(0).unwrap();
        extent.physical = 1;
        inode.set_inline_extent(0, &extent).unwrap();
    });
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);
}

#[test]
fn corrupted_overflow_block() {
    let (mut builder, names) = populated();
    let big = builder.read_inode(ino(&names, "big")).unwrap();
    assert_ne!(
        big.overflow_block, 0,
        "the big file needs an overflow block"
    );
    let offset = big.overflow_block as usize * BLOCK_SIZE + 40;
    builder.device_mut().bytes_mut()[offset] ^= 1;
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);
}

#[test]
fn overflow_chain_loop() {
    let (mut builder, names) = populated();
    let big = ino(&names, "big");
    // Enough extents for two overflow blocks, then point the second back at the first.
    let (inode, _) = add_extents(&mut builder, big, 300);
    let first = inode.overflow_block;
    let mut block = builder.device().bytes()[first as usize * BLOCK_SIZE..][..BLOCK_SIZE].to_vec();
    let header = daxfs_tools::format::ExtentBlockHeader::decode(&block).unwrap();
    let second = header.next;
    let start = second as usize * BLOCK_SIZE;
    block.copy_from_slice(&builder.device().bytes()[start..start + BLOCK_SIZE]);
    let mut sealed: [u8; BLOCK_SIZE] = block.try_into().unwrap();
    let mut looped = daxfs_tools::format::ExtentBlockHeader::decode(&sealed).unwrap();
    looped.next = first;
    looped.encode(&mut sealed);
    builder.device_mut().bytes_mut()[start..start + BLOCK_SIZE].copy_from_slice(&sealed);
    assert_detected(builder.finish().unwrap(), "bad-extent", Repair::Yes);
}

#[test]
fn wrong_block_count() {
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "big"), |inode| inode.blocks += 7);
    assert_detected(builder.finish().unwrap(), "block-count", Repair::Yes);
}

#[test]
fn wrong_directory_size() {
    let (mut builder, names) = populated();
    change_inode(&mut builder, ino(&names, "dir"), |inode| inode.size += 4096);
    assert_detected(builder.finish().unwrap(), "dir-size", Repair::Yes);
}

#[test]
fn symlink_target_with_nul() {
    let (mut builder, names) = populated();
    let extent = builder.extents(ino(&names, "long-link")).unwrap()[0];
    builder.device_mut().bytes_mut()[extent.physical as usize * BLOCK_SIZE + 10] = 0;
    assert_detected(builder.finish().unwrap(), "bad-symlink", Repair::Yes);
}

#[test]
fn bad_superblock_checksum() {
    let (builder, _) = populated();
    let mut image = builder.finish().unwrap();
    image[0xa8] ^= 1; // mkfs_time (the live fields, free counters included, are not summed)
    assert_detected(image, "superblock", Repair::No);
}

#[test]
fn bad_superblock_geometry() {
    let (mut builder, _) = populated();
    builder.superblock_mut().data_start = 2;
    assert_detected(builder.finish().unwrap(), "superblock", Repair::No);
}

#[test]
fn broken_root_directory() {
    let (mut builder, _) = populated();
    let root = builder.superblock().root_ino;
    let offset = builder.inode_offset(root).unwrap();
    builder.device_mut().bytes_mut()[offset + 3] ^= 1;
    assert_detected(builder.finish().unwrap(), "inode-checksum", Repair::No);
}

#[test]
fn wrong_free_counters() {
    let (mut builder, _) = populated();
    builder.superblock_mut().free_blocks -= 3;
    assert_detected(builder.finish().unwrap(), "free-blocks", Repair::Yes);
    let (mut builder, _) = populated();
    builder.superblock_mut().free_inodes += 2;
    assert_detected(builder.finish().unwrap(), "free-inodes", Repair::Yes);
}

#[test]
fn dirty_state() {
    let (mut builder, _) = populated();
    builder.superblock_mut().state = STATE_DIRTY;
    assert_detected(builder.finish().unwrap(), "dirty", Repair::Yes);
}

#[test]
fn dirty_state_stays_with_unrepairable_problems() {
    // A double-owned block cannot be repaired, so the state must stay dirty.
    let (mut builder, names) = populated();
    let victim = builder.extents(ino(&names, "file")).unwrap()[0];
    let sparse = ino(&names, "sparse");
    let mut inode = builder.read_inode(sparse).unwrap();
    let stolen = Extent {
        logical: 0,
        physical: victim.physical,
        len: 1,
        unwritten: false,
    };
    builder.set_extents(sparse, &mut inode, &[stolen]).unwrap();
    builder.write_inode(sparse, &inode).unwrap();
    builder.superblock_mut().state = STATE_DIRTY;
    let file = TempImage::with_bytes("dirty-double", &builder.finish().unwrap());
    let repaired = fsck(&["-y"], &file);
    assert_eq!(repaired.code & 4, 4, "{}", repaired.output());
    assert!(repaired.stdout.contains("dirty: "), "{}", repaired.output());
    assert!(
        repaired.stdout.contains("left dirty"),
        "{}",
        repaired.output()
    );
}

#[test]
fn usage_and_operational_errors() {
    let (builder, _) = populated();
    let file = TempImage::with_bytes("usage", &builder.finish().unwrap());
    for options in [&["-n", "-y"][..], &["-np"], &["-x"], &["--yes"]] {
        let result = fsck(options, &file);
        assert_eq!(result.code, 16, "{options:?}\n{}", result.output());
        assert!(result.stderr.contains("usage:"), "{}", result.output());
    }
    assert_eq!(common::run(common::FSCK, &[]).code, 16);
    assert_eq!(
        common::run(common::FSCK, &[file.arg(), file.arg()]).code,
        16
    );

    let missing = common::run(common::FSCK, &["-n", "/nonexistent/daxfs.img"]);
    assert_eq!(missing.code, 8, "{}", missing.output());
    let zeros = TempImage::zeroed("not-daxfs", 64);
    let result = fsck(&["-n"], &zeros);
    assert_eq!(result.code, 8, "{}", result.output());
    assert!(
        result.stderr.contains("not a daxfs file system"),
        "{}",
        result.output()
    );
    let empty = TempImage::new("empty");
    assert_eq!(fsck(&["-n"], &empty).code, 8);
}

#[test]
fn newer_versions_and_features() {
    use daxfs_tools::format::Superblock;
    let (builder, _) = populated();
    let image = builder.finish().unwrap();
    let reseal = |change: &dyn Fn(&mut Superblock)| {
        let mut sb = Superblock::decode(&image[..BLOCK_SIZE]).unwrap();
        change(&mut sb);
        let mut copy = image.clone();
        let block: &mut [u8; BLOCK_SIZE] = (&mut copy[..BLOCK_SIZE]).try_into().unwrap();
        sb.encode(block);
        TempImage::with_bytes("versions", &copy)
    };
    let newer_minor = reseal(&|sb| sb.version_minor = 9);
    assert_eq!(fsck(&["-n"], &newer_minor).code, 0);
    let newer_major = reseal(&|sb| sb.version_major = 2);
    let result = fsck(&["-n"], &newer_major);
    assert_eq!(result.code, 8, "{}", result.output());
    assert!(
        result.stderr.contains("unsupported format version 2.0"),
        "{}",
        result.output()
    );
    let incompat = reseal(&|sb| sb.feature_incompat |= 1 << 31);
    assert_eq!(fsck(&["-n"], &incompat).code, 8);
    let ro_compat = reseal(&|sb| sb.feature_ro_compat = 1);
    assert_eq!(fsck(&["-n"], &ro_compat).code, 0);
    let result = fsck(&["-y"], &ro_compat);
    assert_eq!(result.code, 8, "{}", result.output());
}

/// `image` with transaction `committed + 1` interrupted halfway through a chmod of inode `ino`:
/// the undo record of its inode record is written, and the record torn in place (its first
/// half new, the rest old), as a power cut leaves it.
fn interrupted_chmod(builder: ImageBuilder, ino: u64) -> Vec<u8> {
    use daxfs_tools::format::{encode_journal_record, INODE_SIZE};
    let offset = builder.inode_offset(ino).unwrap();
    let sb = *builder.superblock();
    let mut image = builder.finish().unwrap();
    let commit = sb.journal_commit_offset() as usize;
    let committed = 41u64;
    image[commit..commit + 8].copy_from_slice(&committed.to_le_bytes());
    let old = image[offset..offset + INODE_SIZE].to_vec();
    let (records, _) = sb.journal_records();
    encode_journal_record(
        &mut image[records as usize..],
        committed + 1,
        offset as u64,
        &old,
    )
    .unwrap();
    image[offset] ^= 0o7;
    image
}

#[test]
fn an_interrupted_transaction_is_undone_first() {
    let (builder, names) = populated();
    let ino = ino(&names, "file");
    let clean = builder.clone().finish().unwrap();
    let image = interrupted_chmod(builder, ino);
    let file = TempImage::with_bytes("journal", &image);
    // Read-only: only the journal is reported (the torn inode is seen as the undo leaves it),
    // and nothing is written.
    let checked = fsck(&["-n"], &file);
    assert_eq!(checked.code, 4, "{}", checked.output());
    assert!(
        checked
            .stdout
            .contains("journal: transaction 42 was interrupted: its 1 changes"),
        "{}",
        checked.output()
    );
    let problems = checked.stdout.lines().filter(|line| !line.starts_with('/'));
    assert_eq!(problems.count(), 1, "{}", checked.output());
    assert!(file.read() == image);
    // Repairing undoes it on the device: the inode is back, and the commit word moved on.
    let repaired = fsck(&["-y"], &file);
    assert_eq!(repaired.code, 1, "{}", repaired.output());
    let after = file.read();
    let offset = ImageBuilder::open(clean.clone())
        .unwrap()
        .inode_offset(ino)
        .unwrap();
    assert_eq!(after[offset..offset + 256], clean[offset..offset + 256]);
    assert_eq!(fsck(&["-n"], &file).code, 0);
}

#[test]
fn a_committed_transaction_is_not_undone() {
    let (builder, names) = populated();
    let ino = ino(&names, "file");
    let sb = *builder.superblock();
    let mut image = interrupted_chmod(builder, ino);
    // Transaction 42 committed: its record is stale, and the (torn) inode is what fsck sees.
    let commit = sb.journal_commit_offset() as usize;
    image[commit..commit + 8].copy_from_slice(&42u64.to_le_bytes());
    let checked = fsck(&["-n"], &TempImage::with_bytes("committed", &image));
    assert!(!checked.stdout.contains("journal"), "{}", checked.output());
    assert!(
        checked.stdout.contains("inode-checksum"),
        "{}",
        checked.output()
    );
}

#[test]
fn a_damaged_undo_record_is_discarded() {
    use daxfs_tools::format::encode_journal_record;
    let (builder, _) = populated();
    let sb = *builder.superblock();
    let mut image = builder.finish().unwrap();
    let (records, _) = sb.journal_records();
    // A record of the next transaction that would overwrite the superblock's checksummed part.
    encode_journal_record(&mut image[records as usize..], 1, 0, &[0; 16]).unwrap();
    assert_detected(image, "journal", Repair::Yes);
}

#[test]
fn extended_attributes() {
    use daxfs_tools::format::acl_tag;
    use daxfs_tools::format::encode_posix_acl;
    use daxfs_tools::format::xattr_block_seal;
    use daxfs_tools::format::XATTR_BLOCK_HEADER_SIZE;
    use daxfs_tools::format::XATTR_INDEX_POSIX_ACL_ACCESS;
    use daxfs_tools::format::XATTR_INDEX_USER;

    // A file with attributes is clean; its block is in use.
    let (mut builder, names) = populated();
    let file = ino(&names, "file");
    let block = builder
        .set_xattrs(file, &[(XATTR_INDEX_USER, b"name", b"value")])
        .unwrap();
    let image = builder.finish().unwrap();
    let clean = TempImage::with_bytes("xattr-clean", &image);
    let checked = fsck(&["-n"], &clean);
    assert_eq!(checked.code, 0, "{}", checked.output());

    // A damaged block: the attributes are dropped and the block freed.
    let mut damaged = image.clone();
    let at = block as usize * BLOCK_SIZE + 30;
    damaged[at] ^= 0x55;
    assert_detected(damaged, "bad-xattr", Repair::Yes);

    // A block that another inode owns.
    let mut builder = ImageBuilder::open(image.clone()).unwrap();
    let dir = ino(&names, "dir");
    change_inode(&mut builder, dir, |inode| inode.xattr_block = block);
    assert_detected(builder.finish().unwrap(), "bad-xattr", Repair::Yes);

    // A pointer outside the data area (the bitmap), on the root directory too: the
    // attributes are dropped, the inodes kept.
    for victim in [file, 1] {
        let mut builder = ImageBuilder::open(image.clone()).unwrap();
        change_inode(&mut builder, victim, |inode| inode.xattr_block = 1);
        assert_detected(builder.finish().unwrap(), "bad-xattr", Repair::Yes);
    }

    // An ACL the kernel would refuse (its mask's tag unknown), sealed as if written so: the
    // attributes are dropped, as for any damage to the block.
    let (mut builder, _) = populated();
    let acl = encode_posix_acl(&[
        (acl_tag::USER_OBJ, 6, u32::MAX),
        (acl_tag::USER, 4, 1000),
        (acl_tag::GROUP_OBJ, 4, u32::MAX),
        (acl_tag::MASK, 4, u32::MAX),
        (acl_tag::OTHER, 4, u32::MAX),
    ])
    .collect::<Vec<_>>();
    let acl_block = builder
        .set_xattrs(dir, &[(XATTR_INDEX_POSIX_ACL_ACCESS, b"", &acl)])
        .unwrap() as usize;
    let with_acl = builder.finish().unwrap();
    let checked = fsck(&["-n"], &TempImage::with_bytes("acl-clean", &with_acl));
    assert_eq!(checked.code, 0, "{}", checked.output());
    let mut bad_acl = with_acl;
    let xattrs = &mut bad_acl[acl_block * BLOCK_SIZE..(acl_block + 1) * BLOCK_SIZE];
    // The entry's header, no name, the ACL's version, then three entries before the mask.
    let mask = XATTR_BLOCK_HEADER_SIZE + 4 + 4 + 3 * 8;
    assert_eq!(xattrs[mask], acl_tag::MASK as u8);
    xattrs[mask] = 0x40;
    xattr_block_seal(xattrs.try_into().unwrap());
    assert_detected(bad_acl, "bad-xattr", Repair::Yes);

    // Without the block's bit in the bitmap.
    let mut builder = ImageBuilder::open(image).unwrap();
    builder.set_bitmap_bit(block, false).unwrap();
    builder.superblock_mut().free_blocks += 1;
    assert_detected(builder.finish().unwrap(), "bitmap-missing", Repair::Yes);
}

#[test]
fn label_change_interrupted_by_a_crash() {
    use daxfs_tools::format::encode_journal_record;
    use daxfs_tools::format::sb_off;
    use daxfs_tools::format::Superblock;
    use daxfs_tools::format::LABEL_LEN;

    let (builder, _) = populated();
    let mut image = builder.finish().unwrap();
    let sb = Superblock::decode(&image[..BLOCK_SIZE]).unwrap();
    let old: Vec<u8> = image[..BLOCK_SIZE].to_vec();
    // Transaction 1 (the commit word is 0 after mkfs) logged the label and the checksum, then
    // stored the new label; the crash came before the new checksum.
    let (area, _) = sb.journal_records();
    let mut at = area as usize;
    for (offset, len) in [(sb_off::LABEL, LABEL_LEN), (sb_off::CHECKSUM, 4)] {
        at += encode_journal_record(
            &mut image[at..],
            1,
            offset as u64,
            &old[offset..offset + len],
        )
        .unwrap();
    }
    image[sb_off::LABEL..sb_off::LABEL + 5].copy_from_slice(b"torn!");
    assert!(Superblock::decode(&image[..BLOCK_SIZE]).is_err());
    let file = TempImage::with_bytes("torn-label", &image);
    let checked = fsck(&["-n"], &file);
    assert!(
        checked
            .stdout
            .contains("journal: transaction 1 was interrupted"),
        "{}",
        checked.output()
    );
    assert!(
        !checked.stdout.contains("superblock:"),
        "{}",
        checked.output()
    );
    let repaired = fsck(&["-y"], &file);
    assert_eq!(repaired.code & 4, 0, "{}", repaired.output());
    assert_eq!(
        &file.read()[..BLOCK_SIZE],
        &old[..],
        "the undo restores the old superblock"
    );
    assert_eq!(fsck(&["-n"], &file).code, 0);
}
