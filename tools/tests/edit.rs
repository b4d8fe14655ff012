// SPDX-License-Identifier: GPL-2.0

//! `daxfs-edit`: each kind of edit changes exactly what it names, reseals it, and makes an image
//! that fsck reports (the guest tests use it to make corrupted images for the kernel).

mod common;

use common::{
    fsck,
    ino,
    populated,
    run,
    TempImage, //
};
use daxfs_tools::format::{
    DirEntry,
    ExtentBlockHeader,
    Inode,
    Superblock,
    BLOCK_SIZE,
    DIRENTS_PER_BLOCK,
    DIRENT_SIZE,
    INODE_SIZE, //
};

/// The edit binary.
const EDIT: &str = env!("CARGO_BIN_EXE_daxfs-edit");

/// Runs daxfs-edit on `image` with `args`; it must succeed.
fn edit(image: &TempImage, args: &[&str]) {
    let mut all = vec![image.arg()];
    all.extend_from_slice(args);
    let result = run(EDIT, &all);
    assert_eq!(result.code, 0, "daxfs-edit {args:?}: {}", result.output());
}

/// Inode `ino` of `bytes`.
fn inode(bytes: &[u8], ino: u64) -> Inode {
    let sb = Superblock::decode(&bytes[..BLOCK_SIZE]).unwrap();
    let (block, offset) = sb.inode_location(ino).unwrap();
    let at = block as usize * BLOCK_SIZE + offset;
    Inode::decode(&bytes[at..at + INODE_SIZE]).unwrap()
}

/// fsck -n must report the damage (exit status with bit 4).
fn assert_fsck_finds(image: &TempImage) {
    let result = fsck(&["-n"], image);
    assert!(
        result.code & 4 != 0,
        "fsck -n missed it: {}",
        result.output()
    );
}

#[test]
fn inode_fields_and_overflow_extents() {
    let (builder, names) = populated();
    let big = ino(&names, "big");
    let image = TempImage::with_bytes("edit-inode", &builder.finish().unwrap());
    // Extent 8 of `big` (ten one-block extents) is in its overflow block.
    edit(
        &image,
        &[
            "--inode",
            &big.to_string(),
            "extent.8.physical=0x7ffffffffffff",
        ],
    );
    let bytes = image.read();
    let edited = inode(&bytes, big);
    let at = edited.overflow_block as usize * BLOCK_SIZE;
    let block = &bytes[at..at + BLOCK_SIZE];
    // The block is resealed (it decodes) and holds the new block number.
    ExtentBlockHeader::decode(block).unwrap();
    assert_eq!(
        ExtentBlockHeader::read_extent(block, 2).unwrap().physical,
        0x7ffffffffffff
    );
    assert_fsck_finds(&image);

    let image = TempImage::with_bytes("edit-inode", &populated().0.finish().unwrap());
    edit(
        &image,
        &[
            "--inode",
            &big.to_string(),
            "blocks=0xffffffffffffffff",
            "nlink=7",
        ],
    );
    let edited = inode(&image.read(), big);
    assert_eq!((edited.blocks, edited.nlink), (u64::MAX, 7));
    assert_fsck_finds(&image);
}

#[test]
fn directory_entries() {
    let (builder, names) = populated();
    let root = ino(&names, "root");
    let image = TempImage::with_bytes("edit-entry", &builder.finish().unwrap());
    let past = "0xfffffff0000";
    edit(
        &image,
        &["--entry", &root.to_string(), "f03", &format!("ino={past}")],
    );
    let bytes = image.read();
    let found = bytes
        .chunks(BLOCK_SIZE)
        .flat_map(|block| {
            (0..DIRENTS_PER_BLOCK)
                .filter_map(|slot| {
                    DirEntry::decode(&block[slot * DIRENT_SIZE..][..DIRENT_SIZE])
                        .ok()
                        .flatten()
                })
                .collect::<Vec<_>>()
        })
        .find(|entry| entry.name() == b"f03")
        .expect("the entry is still there");
    assert_eq!(found.ino, 0xfffffff0000);
    assert_fsck_finds(&image);
}

#[test]
fn show_prints_the_superblock_and_writes_nothing() {
    let (builder, _) = populated();
    let image = TempImage::with_bytes("edit-show", &builder.finish().unwrap());
    edit(&image, &["state=2", "free_inodes=7"]);
    let before = image.read();
    let result = run(EDIT, &[image.arg(), "--show"]);
    assert_eq!(result.code, 0, "daxfs-edit --show: {}", result.output());
    let sb = Superblock::decode(&before[..BLOCK_SIZE]).unwrap();
    let total = format!("total_blocks={}", sb.total_blocks);
    for line in ["state=2", "free_inodes=7", "root_ino=1", total.as_str()] {
        assert!(
            result.stdout.lines().any(|l| l == line),
            "no '{line}' in: {}",
            result.output()
        );
    }
    assert_eq!(result.stdout.lines().count(), 13, "{}", result.output());
    assert!(image.read() == before, "--show changed the image");
}
