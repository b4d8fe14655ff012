// SPDX-License-Identifier: GPL-2.0

//! Integration tests of `mkfs.daxfs`, run as a program on image files.

mod common;

use common::fsck;
use common::run;
use common::run_with_yes;
use common::TempImage;
use common::IMAGE_BLOCKS;
use common::MKFS;
use daxfs_tools::format::Superblock;
use daxfs_tools::format::BLOCK_SIZE;

/// Decodes the superblock of `image`.
fn superblock(image: &TempImage) -> Superblock {
    Superblock::decode(&image.read()[..BLOCK_SIZE]).expect("valid superblock")
}

#[test]
fn mkfs_then_fsck_is_clean() {
    let image = TempImage::zeroed("mkfs-clean", IMAGE_BLOCKS);
    let made = run(MKFS, &[image.arg()]);
    assert_eq!(made.code, 0, "{}", made.output());
    assert!(made.stdout.contains("1024 blocks"), "{}", made.output());
    let checked = fsck(&["-n"], &image);
    assert_eq!(checked.code, 0, "{}", checked.output());
    assert!(checked.stdout.contains("clean"), "{}", checked.output());
    let verbose = fsck(&["-nfv"], &image);
    assert_eq!(verbose.code, 0, "{}", verbose.output());
    assert!(verbose.stdout.contains("pass 1"), "{}", verbose.output());
}

#[test]
fn mkfs_spans_the_blocks_given_after_the_device() {
    let image = TempImage::zeroed("mkfs-sized", IMAGE_BLOCKS);
    let made = run(MKFS, &[image.arg(), "600"]);
    assert_eq!(made.code, 0, "{}", made.output());
    assert!(made.stdout.contains("600 blocks"), "{}", made.output());
    assert!(
        made.stdout.contains("424 trailing blocks unused"),
        "{}",
        made.output()
    );
    assert_eq!(superblock(&image).total_blocks, 600);
    assert_eq!(fsck(&["-n"], &image).code, 0);

    let too_many = run(MKFS, &["-f", image.arg(), "1025"]);
    assert_eq!(too_many.code, 1, "{}", too_many.output());
    assert!(
        too_many.stderr.contains("the device has 1024"),
        "{}",
        too_many.output()
    );
    let not_a_number = run(MKFS, &["-f", image.arg(), "6OO"]);
    assert_eq!(not_a_number.code, 1, "{}", not_a_number.output());
    assert!(
        not_a_number.stderr.contains("invalid block count '6OO'"),
        "{}",
        not_a_number.output()
    );
    assert_eq!(superblock(&image).total_blocks, 600, "a refused mkfs wrote");
}

#[test]
fn mkfs_writes_only_the_metadata_region() {
    let blocks = 20_000; // Large enough for an aligned data area.
    let pattern = vec![0xa5; blocks * BLOCK_SIZE];
    let image = TempImage::with_bytes("mkfs-region", &pattern);
    let made = run(MKFS, &["-q", image.arg()]);
    assert_eq!(made.code, 0, "{}", made.output());
    assert_eq!(made.stdout, "");
    let sb = superblock(&image);
    assert_eq!(sb.data_start % 512, 0);
    let bytes = image.read();
    let data = &bytes[sb.data_start as usize * BLOCK_SIZE..];
    assert!(
        data.iter().all(|&byte| byte == 0xa5),
        "mkfs wrote into the data area"
    );
    assert_eq!(fsck(&["-n"], &image).code, 0);
}

#[test]
fn mkfs_refuses_an_existing_daxfs_without_force() {
    let image = TempImage::zeroed("mkfs-existing", IMAGE_BLOCKS);
    assert_eq!(run(MKFS, &["-q", image.arg()]).code, 0);
    let before = image.read();
    let refused = run(MKFS, &[image.arg()]);
    assert_eq!(refused.code, 1, "{}", refused.output());
    assert!(refused.stderr.contains("daxfs"), "{}", refused.output());
    assert!(refused.stderr.contains("-f"), "{}", refused.output());
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.output());
    assert!(image.read() == before, "refused mkfs changed the image");
    let forced = run(MKFS, &["-f", "-q", image.arg()]);
    assert_eq!(forced.code, 0, "{}", forced.output());
    assert_ne!(
        superblock(&image).uuid,
        Superblock::decode(&before[..BLOCK_SIZE]).unwrap().uuid
    );
}

#[test]
fn mkfs_refuses_other_file_systems_without_force() {
    for (name, offset, magic) in [("ext", 1080, &[0x53, 0xef][..]), ("xfs", 0, &b"XFSB"[..])] {
        let mut bytes = vec![0; IMAGE_BLOCKS as usize * BLOCK_SIZE];
        bytes[offset..offset + magic.len()].copy_from_slice(magic);
        let image = TempImage::with_bytes(name, &bytes);
        let refused = run(MKFS, &[image.arg()]);
        assert_eq!(refused.code, 1, "{name}: {}", refused.output());
        assert!(
            image.read() == bytes,
            "{name}: refused mkfs changed the image"
        );
        assert_eq!(run(MKFS, &["-fq", image.arg()]).code, 0, "{name}");
    }
}

#[test]
fn mkfs_with_yes_on_stdin() {
    let image = TempImage::zeroed("mkfs-yes", IMAGE_BLOCKS);
    let made = run_with_yes(MKFS, &[image.arg()]);
    assert_eq!(made.code, 0, "{}", made.output());
    // Still refuses without -f: it never takes an answer from stdin.
    let refused = run_with_yes(MKFS, &[image.arg()]);
    assert_eq!(refused.code, 1, "{}", refused.output());
    assert_eq!(run_with_yes(MKFS, &["-f", image.arg()]).code, 0);
    assert_eq!(fsck(&["-n"], &image).code, 0);
}

#[test]
fn mkfs_options_reach_the_superblock() {
    let image = TempImage::zeroed("mkfs-options", IMAGE_BLOCKS);
    let uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    let made = run(MKFS, &["-N", "100", "-Lscratch", "-U", uuid, image.arg()]);
    assert_eq!(made.code, 0, "{}", made.output());
    assert!(made.stdout.contains(uuid), "{}", made.output());
    let sb = superblock(&image);
    assert_eq!(sb.inode_count, 112);
    assert_eq!(sb.label_bytes(), b"scratch");
    assert_eq!(daxfs_tools::mkfs::format_uuid(&sb.uuid), uuid);
    assert_eq!(sb.free_inodes, 111);
    assert_eq!(fsck(&["-n"], &image).code, 0);
}

#[test]
fn mkfs_usage_errors() {
    let image = TempImage::zeroed("mkfs-usage", IMAGE_BLOCKS);
    for args in [
        vec!["-x", image.arg()],
        vec!["--force", image.arg()],
        vec![],
        vec![image.arg(), image.arg()],
        vec!["-N", "lots", image.arg()],
        vec!["-U", "not-a-uuid", image.arg()],
        vec![
            "-L",
            "a label that is much too long for the field",
            image.arg(),
        ],
        vec!["-N"],
    ] {
        let result = run(MKFS, &args);
        assert_eq!(result.code, 1, "{args:?}: {}", result.output());
        assert!(
            result.stderr.contains("usage:"),
            "{args:?}: {}",
            result.output()
        );
    }
    assert!(
        image.read().iter().all(|&byte| byte == 0),
        "a usage error wrote"
    );
}

#[test]
fn mkfs_operational_errors() {
    let small = TempImage::zeroed("mkfs-small", 100);
    let result = run(MKFS, &[small.arg()]);
    assert_eq!(result.code, 1, "{}", result.output());
    assert!(
        result.stderr.contains("smaller than the minimum"),
        "{}",
        result.output()
    );

    let image = TempImage::zeroed("mkfs-inodes", IMAGE_BLOCKS);
    let result = run(MKFS, &["-N", "100000", image.arg()]);
    assert_eq!(result.code, 1, "{}", result.output());
    assert!(
        result.stderr.contains("no room for data"),
        "{}",
        result.output()
    );

    let missing = std::env::temp_dir().join("daxfs-test-does-not-exist.img");
    let result = run(MKFS, &[missing.to_str().unwrap()]);
    assert_eq!(result.code, 1, "{}", result.output());

    let result = run(MKFS, &[std::env::temp_dir().to_str().unwrap()]);
    assert_eq!(result.code, 1, "{}", result.output());
    assert!(
        result.stderr.contains("not a block device"),
        "{}",
        result.output()
    );
}
