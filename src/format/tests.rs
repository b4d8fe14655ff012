// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the on-disk format, run on the host by `cargo test -p daxfs-tools`.

use super::checksum::checksum_without_field;
use super::codec::{
    read_i64,
    read_u16,
    read_u32,
    read_u64,
    write_bytes,
    write_i64,
    write_u16,
    write_u32,
    write_u64, //
};
use super::superblock::superblock_checksum;
use super::*;

/// A small valid superblock: 1024 blocks, 64 inodes.
fn sample_superblock() -> Superblock {
    let geometry = Geometry::for_device(1024, None).unwrap();
    let mut label = [0; 32];
    label[..4].copy_from_slice(b"test");
    Superblock::new(&geometry, [7; 16], label, 1_700_000_000)
}

/// An encoded [`sample_superblock`].
fn sample_superblock_block() -> [u8; BLOCK_SIZE] {
    let mut block = [0; BLOCK_SIZE];
    sample_superblock().encode(&mut block);
    block
}

/// Rewrites the superblock checksum after a test modified the raw block.
fn reseal_superblock(block: &mut [u8; BLOCK_SIZE]) {
    let checksum = superblock_checksum(block);
    write_bytes(block, sb_off::CHECKSUM, &checksum.to_le_bytes());
}

/// A regular file with two inline extents.
fn sample_file(sb: &Superblock) -> Inode {
    let mut inode = Inode {
        mode: S_IFREG | 0o644,
        nlink: 1,
        size: 5 * BLOCK_SIZE_U64,
        blocks: 3,
        extent_count: 2,
        generation: 42,
        mtime: Timestamp {
            sec: -5,
            nsec: 999_999_999,
        },
        ..Inode::FREE
    };
    let first = Extent {
        logical: 0,
        physical: sb.data_start,
        len: 1,
        unwritten: false,
    };
    let second = Extent {
        logical: 3,
        physical: sb.data_start + 10,
        len: 2,
        unwritten: false,
    };
    inode.set_inline_extent(0, &first).unwrap();
    inode.set_inline_extent(1, &second).unwrap();
    inode
}

#[test]
fn crc32c_of_zeros_and_sparse_records_equals_byte_by_byte() {
    use super::checksum::{crc32c_sparse, crc32c_zeros};
    let zeros = [0u8; 5000];
    for seed in [0, 1, 0xe306_9283, u32::MAX] {
        for len in (0..300).chain([4093, 4096, 5000]) {
            assert_eq!(
                crc32c_zeros(seed, len as u64),
                crc32c(seed, &zeros[..len]),
                "{len}"
            );
        }
    }
    // Records of every length up to 70 bytes with every split between used bytes and a zero
    // tail, and a block with a few extents.
    for len in 0..70usize {
        for used in 0..=len {
            let mut record = vec![0u8; len];
            for (i, byte) in record.iter_mut().take(used).enumerate() {
                // CAST: wraps on purpose.
                *byte = (i * 37 + 1) as u8;
            }
            assert_eq!(
                crc32c_sparse(7, &record),
                crc32c(7, &record),
                "{len} {used}"
            );
        }
    }
    // 2^29 bytes and more, where a table of `x^(2^k)` indexed modulo 32 would wrap, against the
    // table a MiB at a time.
    let mib = vec![0u8; 1 << 20];
    let mut crc = 9;
    for _ in 0..512 {
        crc = crc32c(crc, &mib);
    }
    assert_eq!(crc32c_zeros(9, 1 << 29), crc);
    assert_eq!(crc32c_zeros(9, (1 << 29) + 5), crc32c(crc, &[0; 5]));
    let mut block = vec![0u8; BLOCK_SIZE];
    block[..100].fill(0xa5);
    block[1000] = 1;
    assert_eq!(crc32c_sparse(0, &block), crc32c(0, &block));
}

#[test]
// Lists of changed runs that hold one run are meant.
#[allow(clippy::single_range_in_vec_init)]
fn checksum_after_change_equals_the_checksum_of_the_new_record() {
    use super::checksum::checksum_after_change;
    let field = 24;
    let mut old = vec![0u8; BLOCK_SIZE];
    for (i, byte) in old.iter_mut().enumerate().take(3000) {
        // CAST: wraps on purpose.
        *byte = (i * 131 + 7) as u8;
    }
    old[field..field + 4].fill(0);
    let sum = checksum_without_field(&old, field);
    // One change at each end, two in the middle, one across the whole used part, none.
    let cases: [&[core::ops::Range<usize>]; 5] = [
        &[0..8, 4090..4096],
        &[100..101, 2000..2600],
        &[32..3000],
        &[],
        &[0..20, 28..BLOCK_SIZE],
    ];
    for (case, runs) in cases.iter().enumerate() {
        let mut new = old.clone();
        for run in runs.iter() {
            for (i, byte) in new[run.clone()].iter_mut().enumerate() {
                // CAST: wraps on purpose.
                *byte ^= (i * 17 + case + 1) as u8;
            }
        }
        let expected = checksum_without_field(&new, field);
        assert_eq!(
            checksum_after_change(sum, &old, &new, runs, 0),
            expected,
            "case {case}"
        );
        // Runs wider than the change (still apart), or out of range, give the same checksum.
        let wider: Vec<_> = runs
            .iter()
            .map(|r| r.start.saturating_sub(5)..(r.end + 5).min(BLOCK_SIZE))
            .chain([BLOCK_SIZE..BLOCK_SIZE + 8])
            .collect();
        assert_eq!(
            checksum_after_change(sum, &old, &new, &wider, 0),
            expected,
            "case {case}"
        );
        // A run left out gives a checksum that does not match.
        if let Some((_, rest)) = runs.split_first() {
            assert_ne!(
                checksum_after_change(sum, &old, &new, rest, 0),
                expected,
                "case {case}"
            );
        }
    }
    // Only a prefix given, with the unchanged rest counted.
    let mut new = old.clone();
    new[40..90].fill(3);
    let expected = checksum_without_field(&new, field);
    for prefix in [90, 100, 3000] {
        let runs = [40..90];
        let got = checksum_after_change(
            sum,
            &old[..prefix],
            &new[..prefix],
            &runs,
            BLOCK_SIZE - prefix,
        );
        assert_eq!(got, expected, "prefix {prefix}");
    }
    // An old checksum that was wrong stays wrong.
    let new = old.iter().map(|b| b ^ 1).collect::<Vec<_>>();
    let all = [0..BLOCK_SIZE];
    assert_ne!(
        checksum_after_change(sum ^ 4, &old, &new, &all, 0),
        checksum_without_field(&new, field)
    );
}

#[test]
fn changed_runs_cover_every_change_in_order() {
    let mut state = 0x9e37_79b9_u32;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize % below
    };
    for case in 0..20_000 {
        // Lengths that are and are not whole words, up to a block.
        let len = [BLOCK_SIZE, 4093, 64, 13, 7, 0][case % 6];
        let old: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
        let mut new = old.clone();
        for _ in 0..next(12) {
            if len == 0 {
                break;
            }
            // A change of 1 to 40 bytes somewhere.
            let at = next(len);
            for byte in new.iter_mut().skip(at).take(1 + next(40)) {
                *byte ^= 1 + next(255) as u8;
            }
        }
        let always = (case % 3 == 0 && len > 0).then(|| {
            // A field of 1 to 4 bytes, which may straddle two words.
            let start = next(len);
            start..(start + 1 + next(4)).min(len)
        });
        let (runs, count) = changed_runs(&new, &old, always.clone());
        assert!(count <= CHANGED_RUNS, "case {case}");
        let runs = &runs[..count];
        for pair in runs.windows(2) {
            assert!(pair[0].end < pair[1].start, "case {case}: {runs:?}");
        }
        for run in runs {
            assert!(
                run.start < run.end && run.end <= len,
                "case {case}: {runs:?}"
            );
        }
        let covered = |byte: usize| runs.iter().any(|run| run.contains(&byte));
        for byte in 0..len {
            let forced = always.as_ref().is_some_and(|field| field.contains(&byte));
            if new[byte] != old[byte] || forced {
                assert!(covered(byte), "case {case}: byte {byte} not in {runs:?}");
            }
        }
        if new == old && always.is_none() {
            assert_eq!(count, 0, "case {case}");
        }
    }
    // Changes far apart are separate runs, the fifth and later joined to the fourth.
    let old = vec![0u8; BLOCK_SIZE];
    let mut new = old.clone();
    for at in [0, 1000, 2000, 3000, 3500, 4095] {
        new[at] = 1;
    }
    let (runs, count) = changed_runs(&new, &old, None);
    assert_eq!(count, 4);
    assert_eq!(runs, [0..8, 1000..1008, 2000..2008, 3000..BLOCK_SIZE]);
}

#[test]
fn crc32c_known_vectors() {
    assert_eq!(crc32c(0, b""), 0);
    assert_eq!(crc32c(0, b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(0, &[0; 32]), 0x8a91_36aa);
    assert_eq!(crc32c(0, &[0xff; 32]), 0x62a8_ab43);
    assert_eq!(crc32c(crc32c(0, b"1234"), b"56789"), 0xe306_9283);
}

#[test]
fn superblock_round_trip() {
    let sb = sample_superblock();
    let block = sample_superblock_block();
    assert_eq!(&block[..8], b"DAXFS_SB");
    assert_eq!(Superblock::decode(&block), Ok(sb));
    assert_eq!(sb.label_bytes(), b"test");
    assert_eq!(sb.validate_geometry(1024), Ok(()));
    assert_eq!(sb.check_writable(), Ok(()));
}

#[test]
fn superblock_rejects_short_buffer() {
    let block = sample_superblock_block();
    assert_eq!(
        Superblock::decode(&block[..BLOCK_SIZE - 1]),
        Err(FormatError::TooShort)
    );
}

#[test]
fn superblock_rejects_bad_magic() {
    let mut block = sample_superblock_block();
    block[0] = b'X';
    assert_eq!(Superblock::decode(&block), Err(FormatError::BadMagic));
}

#[test]
fn superblock_rejects_checksum_mismatch() {
    let mut block = sample_superblock_block();
    // Reserved bytes are covered by the checksum too.
    block[BLOCK_SIZE - 1] ^= 1;
    assert_eq!(Superblock::decode(&block), Err(FormatError::BadChecksum));
    let mut block = sample_superblock_block();
    block[sb_off::TOTAL_BLOCKS] ^= 1;
    assert_eq!(Superblock::decode(&block), Err(FormatError::BadChecksum));
}

#[test]
fn free_counts_from_bitmap_and_inode_table() {
    let mut sb = sample_superblock();
    sb.data_start = 10;
    sb.total_blocks = BITS_PER_BITMAP_BLOCK + 100;
    let mut bitmap = [0u8; BLOCK_SIZE];
    // Blocks 0..16 in use, 20 in use: of the data area 10.., 16..20 and 21.. are free.
    bitmap[0] = 0xff;
    bitmap[1] = 0xff;
    bitmap[2] = 1 << 4;
    assert_eq!(
        sb.free_blocks_in_bitmap_block(0, &bitmap),
        BITS_PER_BITMAP_BLOCK - 17
    );
    // The second bitmap block covers 100 blocks; its bits past the end do not count.
    let mut last = [0xffu8; BLOCK_SIZE];
    last[..12].fill(0);
    last[12] = 0xf0;
    assert_eq!(sb.free_blocks_in_bitmap_block(1, &last), 100);

    let mut table = [0u8; BLOCK_SIZE];
    let file = sample_file(&sb);
    let mut slot = [0u8; INODE_SIZE];
    file.encode(&mut slot);
    table[INODE_SIZE..2 * INODE_SIZE].copy_from_slice(&slot);
    table[5 * INODE_SIZE..6 * INODE_SIZE].copy_from_slice(&slot);
    assert_eq!(
        free_inodes_in_table_block(&table),
        INODES_PER_BLOCK as u64 - 2
    );
}

#[test]
fn superblock_live_fields_are_outside_the_checksum() {
    let mut block = sample_superblock_block();
    let sealed = read_u32(&block, sb_off::CHECKSUM).unwrap();
    // Each live field stored alone, as the kernel does, keeps the checksum valid.
    write_bytes(&mut block, ORPHAN_HEAD_OFFSET, &7u64.to_le_bytes());
    write_bytes(&mut block, sb_off::FREE_BLOCKS, &3u64.to_le_bytes());
    write_bytes(&mut block, sb_off::FREE_INODES, &5u64.to_le_bytes());
    write_bytes(
        &mut block,
        STATE_WORD_OFFSET,
        &state_word(STATE_DIRTY).to_le_bytes(),
    );
    let sb = Superblock::decode(&block).expect("live fields alone keep the checksum valid");
    assert_eq!(
        (sb.orphan_head, sb.free_blocks, sb.free_inodes, sb.state),
        (7, 3, 5, STATE_DIRTY)
    );
    assert_eq!(sb.block_size, BLOCK_SIZE as u32);
    // Encoding with any live values gives the same checksum.
    let mut again = [0; BLOCK_SIZE];
    sb.encode(&mut again);
    assert_eq!(read_u32(&again, sb_off::CHECKSUM).unwrap(), sealed);
    assert_eq!(again, block);
    // The bytes around each unsummed field stay covered (`block_size` shares the state word).
    for (offset, len) in SUPERBLOCK_UNSUMMED {
        for neighbour in [offset - 1, offset + len] {
            if SUPERBLOCK_UNSUMMED
                .iter()
                .any(|&(o, l)| (o..o + l).contains(&neighbour))
            {
                continue;
            }
            let mut block = sample_superblock_block();
            block[neighbour] ^= 1;
            assert_eq!(
                Superblock::decode(&block),
                Err(FormatError::BadChecksum),
                "byte {neighbour:#x}"
            );
        }
    }
    // Each live field is one aligned 8-byte store.
    assert_eq!(ORPHAN_HEAD_OFFSET % 8, 0);
    assert_eq!(STATE_WORD_OFFSET % 8, 0);
}

#[test]
fn superblock_versions() {
    let mut block = sample_superblock_block();
    write_bytes(&mut block, sb_off::VERSION_MAJOR, &2u16.to_le_bytes());
    reseal_superblock(&mut block);
    assert_eq!(
        Superblock::decode(&block),
        Err(FormatError::UnsupportedVersion { major: 2, minor: 0 })
    );
    // A newer major is refused even if its checksum is elsewhere.
    block[sb_off::CHECKSUM] ^= 1;
    assert!(matches!(
        Superblock::decode(&block),
        Err(FormatError::UnsupportedVersion { .. })
    ));

    let mut block = sample_superblock_block();
    write_bytes(&mut block, sb_off::VERSION_MAJOR, &0u16.to_le_bytes());
    reseal_superblock(&mut block);
    assert!(matches!(
        Superblock::decode(&block),
        Err(FormatError::UnsupportedVersion { major: 0, .. })
    ));

    let mut block = sample_superblock_block();
    write_bytes(&mut block, sb_off::VERSION_MINOR, &7u16.to_le_bytes());
    reseal_superblock(&mut block);
    let sb = Superblock::decode(&block).unwrap();
    assert_eq!((sb.version_major, sb.version_minor), (1, 7));
}

#[test]
fn superblock_features() {
    let mut sb = sample_superblock();
    sb.feature_incompat = 0x8000_0000;
    let mut block = [0; BLOCK_SIZE];
    sb.encode(&mut block);
    assert_eq!(
        Superblock::decode(&block),
        Err(FormatError::UnsupportedFeatures {
            incompat: 0x8000_0000,
            ro_compat: 0
        })
    );

    let mut sb = sample_superblock();
    sb.feature_ro_compat = 0x4;
    sb.feature_compat = 0x10;
    sb.encode(&mut block);
    let decoded = Superblock::decode(&block).unwrap();
    assert_eq!(
        decoded.check_writable(),
        Err(FormatError::UnsupportedFeatures {
            incompat: 0,
            ro_compat: 0x4
        })
    );
}

#[test]
fn superblock_rejects_bad_block_size_and_state() {
    let mut sb = sample_superblock();
    sb.block_size = 8192;
    let mut block = [0; BLOCK_SIZE];
    sb.encode(&mut block);
    assert!(matches!(
        Superblock::decode(&block),
        Err(FormatError::BadGeometry(_))
    ));
    let mut sb = sample_superblock();
    sb.state = 3;
    sb.encode(&mut block);
    assert!(matches!(
        Superblock::decode(&block),
        Err(FormatError::BadSuperblock(_))
    ));
}

#[test]
fn geometry_for_device() {
    let small = Geometry::for_device(256, None).unwrap();
    assert_eq!(small.bitmap_start, 1);
    assert_eq!(small.bitmap_blocks, 1);
    assert_eq!(small.inode_table_start, 2);
    assert_eq!(small.inode_count, 64);
    assert_eq!(small.inode_table_blocks, 4);
    assert_eq!(small.journal_start, 6);
    assert_eq!(small.journal_blocks, MIN_JOURNAL_BLOCKS);
    assert_eq!(small.data_start, 22);

    // 1 GiB: 65536 inodes, data aligned to 2 MiB.
    let big = Geometry::for_device(262_144, None).unwrap();
    assert_eq!(big.bitmap_blocks, 8);
    assert_eq!(big.inode_count, 65_536);
    assert_eq!(big.inode_table_start, 9);
    assert_eq!(big.data_start % DATA_ALIGN_BLOCKS, 0);
    assert_eq!(big.journal_start, 4105);
    assert_eq!(big.journal_blocks, MAX_DEFAULT_JOURNAL_BLOCKS);
    assert_eq!(big.data_start, 5632);

    let explicit = Geometry::for_device(1024, Some(17)).unwrap();
    assert_eq!(explicit.inode_count, 32);

    assert!(Geometry::for_device(255, None).is_err());
    assert!(Geometry::for_device(1024, Some(0)).is_err());
    assert!(Geometry::for_device(1024, Some(1024 * 16)).is_err());
    assert!(Geometry::for_device(1024, Some(MAX_INODES + 1)).is_err());
    let sb = Superblock::new(&big, [0; 16], [0; 32], 0);
    assert_eq!(sb.validate_geometry(262_144), Ok(()));
}

#[test]
fn geometry_validation_rejects_bad_cases() {
    type Corruption = fn(&mut Superblock);
    let good = sample_superblock();
    let cases: [(&str, Corruption); 21] = [
        ("block size", |sb| sb.block_size = 512),
        ("too small", |sb| sb.total_blocks = 100),
        ("larger than device", |sb| sb.total_blocks = 2048),
        ("bitmap on superblock", |sb| sb.bitmap_start = 0),
        ("bitmap too small", |sb| sb.bitmap_blocks = 0),
        ("bitmap overflow", |sb| sb.bitmap_start = u64::MAX),
        ("table overlaps bitmap", |sb| sb.inode_table_start = 1),
        ("empty table", |sb| {
            sb.inode_table_blocks = 0;
            sb.inode_count = 0;
        }),
        ("count mismatch", |sb| sb.inode_count += 1),
        ("table overflow", |sb| sb.inode_table_start = u64::MAX - 1),
        ("journal overlaps table", |sb| sb.journal_start -= 1),
        ("journal too small", |sb| {
            sb.journal_blocks = MIN_JOURNAL_BLOCKS - 1
        }),
        ("journal too big", |sb| {
            sb.journal_blocks = MAX_JOURNAL_BLOCKS + 1
        }),
        ("journal overflow", |sb| sb.journal_start = u64::MAX - 1),
        ("data overlaps journal", |sb| sb.data_start -= 1),
        ("no data area", |sb| sb.data_start = sb.total_blocks),
        ("root zero", |sb| sb.root_ino = 0),
        ("root out of range", |sb| sb.root_ino = sb.inode_count + 1),
        ("free blocks", |sb| sb.free_blocks = sb.data_blocks() + 1),
        ("free inodes", |sb| sb.free_inodes = sb.inode_count),
        ("orphan head", |sb| sb.orphan_head = sb.inode_count + 1),
    ];
    for (name, corrupt) in cases {
        let mut sb = good;
        corrupt(&mut sb);
        assert!(
            matches!(sb.validate_geometry(1024), Err(FormatError::BadGeometry(_))),
            "{name} accepted"
        );
    }
    assert!(good.validate_geometry(1023).is_err());
}

#[test]
fn superblock_locations() {
    let sb = sample_superblock();
    assert_eq!(sb.inode_location(0), None);
    assert_eq!(sb.inode_location(1), Some((sb.inode_table_start, 0)));
    assert_eq!(sb.inode_location(18), Some((sb.inode_table_start + 1, 256)));
    assert_eq!(sb.inode_location(sb.inode_count + 1), None);
    assert_eq!(sb.bitmap_location(32_769), None);
    assert_eq!(sb.bitmap_location(1000), Some((1, 1000)));
    assert!(sb.is_data_range(sb.data_start, 1));
    assert!(!sb.is_data_range(sb.data_start - 1, 1));
    assert!(!sb.is_data_range(1023, 2));
    assert!(!sb.is_data_range(sb.data_start, u64::MAX));
}

#[test]
fn bitmap_bits() {
    let mut bitmap = [0u8; 16];
    assert_eq!(bitmap_set(&mut bitmap, 9, true), Ok(false));
    assert_eq!(bitmap[1], 0b10);
    assert_eq!(bitmap_get(&bitmap, 9), Ok(true));
    assert_eq!(bitmap_set(&mut bitmap, 9, false), Ok(true));
    assert_eq!(bitmap_get(&bitmap, 9), Ok(false));
    assert_eq!(bitmap_get(&bitmap, 128), Err(FormatError::TooShort));
    assert_eq!(
        bitmap_set(&mut bitmap, u64::MAX, true),
        Err(FormatError::TooShort)
    );
}

#[test]
fn inode_round_trip() {
    let sb = sample_superblock();
    let inode = sample_file(&sb);
    let mut buf = [0; INODE_SIZE];
    inode.encode(&mut buf);
    let decoded = Inode::decode(&buf).unwrap();
    assert_eq!(decoded, inode);
    assert_eq!(decoded.validate(&sb), Ok(()));
    assert_eq!(decoded.inline_extent_count(), 2);
    assert_eq!(
        decoded.inline_extent(1).unwrap().map(4),
        Some(sb.data_start + 11)
    );
}

#[test]
fn inode_zero_slot_is_free_and_checksum_is_checked() {
    assert_eq!(Inode::decode(&[0; INODE_SIZE]), Ok(Inode::FREE));
    assert_eq!(Inode::decode(&[0; 10]), Err(FormatError::TooShort));
    let sb = sample_superblock();
    let mut buf = [0; INODE_SIZE];
    sample_file(&sb).encode(&mut buf);
    buf[inode_off::SIZE] ^= 0x40;
    assert_eq!(Inode::decode(&buf), Err(FormatError::BadChecksum));

    // A freed inode keeps its generation and a checksum.
    let freed = Inode {
        generation: 9,
        ..Inode::FREE
    };
    freed.encode(&mut buf);
    let decoded = Inode::decode(&buf).unwrap();
    assert!(decoded.is_free());
    assert_eq!(decoded.generation, 9);

    // The free record of an inode keeps its generation, also from a damaged record.
    let mut buf = [0; INODE_SIZE];
    Inode {
        generation: 41,
        ..sample_file(&sb)
    }
    .encode(&mut buf);
    buf[inode_off::SIZE] ^= 0x40;
    assert_eq!(
        Inode::freed(&buf),
        Inode {
            generation: 41,
            ..Inode::FREE
        }
    );
    assert_eq!(Inode::freed(&[0; INODE_SIZE]), Inode::FREE);
}

#[test]
fn inode_decode_rejects_bad_mode_and_flags() {
    let mut buf = [0; INODE_SIZE];
    let bad_mode = Inode {
        mode: 0o030_644,
        ..Inode::FREE
    };
    bad_mode.encode(&mut buf);
    assert!(matches!(Inode::decode(&buf), Err(FormatError::BadInode(_))));
    let bad_flags = Inode {
        mode: S_IFREG,
        flags: 0x80,
        ..Inode::FREE
    };
    bad_flags.encode(&mut buf);
    assert!(matches!(Inode::decode(&buf), Err(FormatError::BadInode(_))));
}

#[test]
fn inode_validation() {
    let sb = sample_superblock();
    let good = sample_file(&sb);
    let extent = Extent::written;
    let cases: [(&str, Inode); 12] = [
        (
            "nsec",
            Inode {
                atime: Timestamp {
                    sec: 0,
                    nsec: NSEC_PER_SEC,
                },
                ..good
            },
        ),
        (
            "size",
            Inode {
                size: MAX_FILE_SIZE + 1,
                ..good
            },
        ),
        ("blocks", Inode { blocks: 4, ..good }),
        (
            "extent count",
            Inode {
                extent_count: 1,
                ..good
            },
        ),
        (
            "overflow without need",
            Inode {
                overflow_block: sb.data_start,
                ..good
            },
        ),
        (
            "overflow out of range",
            Inode {
                extent_count: 7,
                overflow_block: 3,
                ..good
            },
        ),
        ("parent on file", Inode { parent: 1, ..good }),
        ("rdev on file", Inode { rdev: 1, ..good }),
        (
            "next orphan",
            Inode {
                next_orphan: sb.inode_count + 1,
                ..good
            },
        ),
        (
            "fifo with data",
            Inode {
                mode: S_IFIFO | 0o600,
                ..good
            },
        ),
        (
            "directory size",
            Inode {
                mode: S_IFDIR | 0o755,
                parent: 1,
                nlink: 2,
                size: 100,
                ..good
            },
        ),
        (
            "inline flag on file",
            Inode {
                flags: INODE_FLAG_INLINE_SYMLINK,
                ..good
            },
        ),
    ];
    for (name, inode) in cases {
        assert!(inode.validate(&sb).is_err(), "{name} accepted");
    }

    let mut bad_extents = good;
    bad_extents
        .set_inline_extent(1, &extent(0, sb.data_start + 5, 1))
        .unwrap();
    assert_eq!(
        bad_extents.validate(&sb),
        Err(FormatError::BadExtent("overlaps or is out of order"))
    );
    bad_extents
        .set_inline_extent(1, &extent(3, sb.total_blocks - 1, 2))
        .unwrap();
    assert_eq!(
        bad_extents.validate(&sb),
        Err(FormatError::BadExtent("outside the data area"))
    );
    bad_extents.set_inline_extent(1, &extent(3, 2, 2)).unwrap();
    assert_eq!(
        bad_extents.validate(&sb),
        Err(FormatError::BadExtent("outside the data area"))
    );
    bad_extents
        .set_inline_extent(1, &extent(MAX_FILE_BLOCKS - 1, sb.data_start + 10, 2))
        .unwrap();
    assert_eq!(
        bad_extents.validate(&sb),
        Err(FormatError::BadExtent("maps past the largest file size"))
    );
    bad_extents
        .set_inline_extent(1, &extent(3, sb.data_start + 10, 0))
        .unwrap();
    assert_eq!(
        bad_extents.validate(&sb),
        Err(FormatError::BadExtent("zero length"))
    );

    // Counts from the disk bound the arithmetic done on them: a file owns at most the data
    // area, and has at most one extent per block it owns.
    let too_many_blocks = FormatError::BadInode("owns more blocks than the data area has");
    let too_many_extents = FormatError::BadExtent("more extents than blocks");
    for (inode, error) in [
        (
            Inode {
                blocks: u64::MAX,
                ..good
            },
            too_many_blocks,
        ),
        (
            Inode {
                blocks: sb.data_blocks() + 1,
                ..good
            },
            too_many_blocks,
        ),
        (
            Inode {
                extent_count: u32::MAX,
                ..good
            },
            too_many_extents,
        ),
    ] {
        assert_eq!(inode.validate_fields(&sb).err(), Some(error));
    }
}

#[test]
fn link_counts_fit_the_inode_type() {
    let sb = sample_superblock();
    let file = sample_file(&sb);
    let dir = Inode {
        mode: S_IFDIR | 0o755,
        nlink: 2,
        parent: 1,
        ..Inode::FREE
    };
    let cases = [
        (file, 0, true),
        (file, 1, true),
        (file, MAX_LINKS, true),
        (file, MAX_LINKS + 1, false),
        (file, u32::MAX, false),
        (dir, 0, true), // Removed while open: an orphan.
        (dir, 1, false),
        (dir, 2, true),
        (dir, MAX_LINKS, true),
        (dir, MAX_LINKS + 1, false),
        (Inode::FREE, u32::MAX, true), // Only in-use inodes are checked.
    ];
    for (inode, nlink, valid) in cases {
        let inode = Inode { nlink, ..inode };
        assert_eq!(
            inode.validate_link_count().is_ok(),
            valid,
            "mode {:o} nlink {nlink}",
            inode.mode
        );
    }
}

#[test]
fn directory_and_symlink_validation() {
    let sb = sample_superblock();
    let mut dir = Inode {
        mode: S_IFDIR | 0o755,
        nlink: 2,
        parent: 1,
        size: 2 * BLOCK_SIZE_U64,
        blocks: 2,
        extent_count: 1,
        ..Inode::FREE
    };
    dir.set_inline_extent(
        0,
        &Extent {
            logical: 0,
            physical: sb.data_start,
            len: 2,
            unwritten: false,
        },
    )
    .unwrap();
    assert_eq!(dir.validate(&sb), Ok(()));
    let mut holey = dir;
    holey
        .set_inline_extent(
            0,
            &Extent {
                logical: 1,
                physical: sb.data_start,
                len: 2,
                unwritten: false,
            },
        )
        .unwrap();
    assert!(holey.validate(&sb).is_err());
    assert!(Inode { parent: 0, ..dir }.validate(&sb).is_err());
    assert!(Inode { size: 0, ..dir }.validate(&sb).is_err());

    let mut link = Inode {
        mode: S_IFLNK | 0o777,
        nlink: 1,
        ..Inode::FREE
    };
    link.set_inline_symlink_target(b"../target").unwrap();
    assert_eq!(link.validate(&sb), Ok(()));
    assert_eq!(link.inline_symlink_target(), Some(&b"../target"[..]));
    let mut buf = [0; INODE_SIZE];
    link.encode(&mut buf);
    assert_eq!(Inode::decode(&buf), Ok(link));
    let mut nul = link;
    nul.inline[2] = 0;
    assert!(nul.validate(&sb).is_err());
    assert!(Inode { size: 121, ..link }.validate(&sb).is_err());
    assert!(link.set_inline_symlink_target(&[b'a'; 121]).is_err());
    assert!(link.set_inline_symlink_target(b"").is_err());

    let mut block_link = Inode {
        mode: S_IFLNK | 0o777,
        nlink: 1,
        size: 200,
        blocks: 1,
        extent_count: 1,
        ..Inode::FREE
    };
    block_link
        .set_inline_extent(
            0,
            &Extent {
                logical: 0,
                physical: sb.data_start,
                len: 1,
                unwritten: false,
            },
        )
        .unwrap();
    assert_eq!(block_link.validate(&sb), Ok(()));
    assert!(Inode {
        size: 4096,
        ..block_link
    }
    .validate(&sb)
    .is_err());
}

#[test]
fn extent_round_trip_and_checks() {
    let extent = Extent {
        logical: 1 << 40,
        physical: 123_456,
        len: 77,
        unwritten: false,
    };
    let mut buf = [0; EXTENT_SIZE];
    extent.encode(&mut buf);
    assert_eq!(Extent::decode(&buf), Ok(extent));
    assert_eq!(Extent::decode(&buf[..19]), Err(FormatError::TooShort));
    Extent { len: 0, ..extent }.encode(&mut buf);
    assert!(Extent::decode(&buf).is_err());
    Extent {
        physical: u64::MAX,
        ..extent
    }
    .encode(&mut buf);
    assert!(Extent::decode(&buf).is_err());
    assert_eq!(extent.map(extent.logical + 76), Some(123_456 + 76));
    assert_eq!(extent.map(extent.logical + 77), None);
    assert_eq!(extent.map(0), None);
}

#[test]
fn unwritten_extents_round_trip_in_the_top_bit_of_len() {
    let unwritten = Extent {
        unwritten: true,
        ..Extent::written(7, 9000, MAX_EXTENT_LEN)
    };
    let mut buf = [0; EXTENT_SIZE];
    unwritten.encode(&mut buf);
    assert_eq!(buf[16..20], u32::MAX.to_le_bytes());
    assert_eq!(Extent::decode(&buf), Ok(unwritten));
    let written = Extent::written(7, 9000, 5);
    written.encode(&mut buf);
    assert_eq!(buf[16..20], 5u32.to_le_bytes());
    assert_eq!(Extent::decode(&buf), Ok(written));
    // A length that would spill into the flag is not encodable: it reads back as empty.
    Extent::written(7, 9000, MAX_EXTENT_LEN + 1).encode(&mut buf);
    assert!(Extent::decode(&buf).is_err());
    // Both halves of a split keep the flag.
    let (head, tail) = Extent {
        unwritten: true,
        ..written
    }
    .split_at(9);
    assert!(head.is_some_and(|e| e.unwritten) && tail.is_some_and(|e| e.unwritten));
}

#[test]
fn extent_cut() {
    let extent = Extent::written(100, 5000, 10);
    assert_eq!(
        extent.cut(102, 105),
        [
            Some(Extent::written(100, 5000, 2)),
            Some(Extent::written(102, 5002, 3)),
            Some(Extent::written(105, 5005, 5)),
        ]
    );
    assert_eq!(extent.cut(0, 100), [None, None, Some(extent)]);
    assert_eq!(extent.cut(0, 200), [None, Some(extent), None]);
    assert_eq!(extent.cut(110, 200), [Some(extent), None, None]);
    assert_eq!(
        extent.cut(105, 200),
        [
            Some(Extent::written(100, 5000, 5)),
            Some(Extent::written(105, 5005, 5)),
            None
        ]
    );
}

#[test]
fn unwritten_extents_only_in_regular_files_of_the_feature() {
    let sb = sample_superblock();
    assert_ne!(sb.feature_incompat & FEATURE_INCOMPAT_UNWRITTEN, 0);
    let unwritten = Extent {
        unwritten: true,
        ..Extent::written(0, sb.data_start, 2)
    };
    let file = sample_file(&sb);
    assert_eq!(ExtentChecker::for_inode(&sb, &file).add(&unwritten), Ok(()));
    let dir = Inode {
        mode: S_IFDIR | 0o755,
        ..file
    };
    assert!(ExtentChecker::for_inode(&sb, &dir).add(&unwritten).is_err());
    let symlink = Inode {
        mode: S_IFLNK | 0o777,
        ..file
    };
    assert!(ExtentChecker::for_inode(&sb, &symlink)
        .add(&unwritten)
        .is_err());
    let old = Superblock {
        feature_incompat: 0,
        ..sb
    };
    assert!(ExtentChecker::for_inode(&old, &file)
        .add(&unwritten)
        .is_err());
    assert_eq!(
        ExtentChecker::for_inode(&old, &file).add(&Extent::written(0, sb.data_start, 2)),
        Ok(())
    );
}

#[test]
fn attribute_flags_only_on_files_and_directories_of_the_feature() {
    let sb = sample_superblock();
    assert_ne!(sb.feature_incompat & FEATURE_INCOMPAT_INODE_ATTRIBUTES, 0);
    let file = Inode {
        flags: INODE_FLAG_IMMUTABLE | INODE_FLAG_DAX,
        ..sample_file(&sb)
    };
    assert!(file.validate_fields(&sb).is_ok());
    let mut buf = [0; INODE_SIZE];
    file.encode(&mut buf);
    assert_eq!(Inode::decode(&buf).unwrap().flags, file.flags);
    let symlink = Inode {
        mode: S_IFLNK | 0o777,
        ..file
    };
    assert!(matches!(
        symlink.validate_fields(&sb),
        Err(FormatError::BadInode(
            "attribute flags on a special file or symlink"
        ))
    ));
    let old = Superblock {
        feature_incompat: sb.feature_incompat & !FEATURE_INCOMPAT_INODE_ATTRIBUTES,
        ..sb
    };
    assert!(matches!(
        file.validate_fields(&old),
        Err(FormatError::BadInode("attribute flags without the feature"))
    ));
    let plain = Inode { flags: 0, ..file };
    assert!(plain.validate_fields(&old).is_ok());
}

#[test]
fn posix_acls_need_extended_attributes() {
    let mut sb = sample_superblock();
    let both = FEATURE_INCOMPAT_XATTR | FEATURE_INCOMPAT_POSIX_ACL;
    assert_eq!(sb.feature_incompat & both, both, "mkfs sets both");
    sb.feature_incompat &= !FEATURE_INCOMPAT_XATTR;
    let mut block = [0; BLOCK_SIZE];
    sb.encode(&mut block);
    reseal_superblock(&mut block);
    assert_eq!(
        Superblock::decode(&block).unwrap_err(),
        FormatError::BadSuperblock("POSIX ACLs without extended attributes")
    );
    sb.feature_incompat &= !FEATURE_INCOMPAT_POSIX_ACL;
    sb.encode(&mut block);
    reseal_superblock(&mut block);
    assert!(Superblock::decode(&block).is_ok(), "neither is fine");
}

#[test]
fn extent_split_at() {
    let extent = Extent {
        logical: 100,
        physical: 5000,
        len: 10,
        unwritten: false,
    };
    assert_eq!(extent.split_at(0), (None, Some(extent)));
    assert_eq!(extent.split_at(100), (None, Some(extent)));
    assert_eq!(extent.split_at(110), (Some(extent), None));
    assert_eq!(extent.split_at(u64::MAX), (Some(extent), None));
    let (head, tail) = extent.split_at(103);
    assert_eq!(head, Some(Extent::written(100, 5000, 3)));
    assert_eq!(tail, Some(Extent::written(103, 5003, 7)));
}

#[test]
fn extent_block_round_trip() {
    let mut block = [0; BLOCK_SIZE];
    let extent = Extent {
        logical: 10,
        physical: 500,
        len: 3,
        unwritten: false,
    };
    ExtentBlockHeader::write_extent(&mut block, 0, &extent).unwrap();
    ExtentBlockHeader::write_extent(&mut block, EXTENTS_PER_BLOCK - 1, &extent).unwrap();
    assert!(ExtentBlockHeader::write_extent(&mut block, EXTENTS_PER_BLOCK, &extent).is_err());
    let header = ExtentBlockHeader {
        count: 1,
        next: 0,
        owner: 5,
    };
    header.encode(&mut block);
    assert_eq!(ExtentBlockHeader::decode(&block), Ok(header));
    assert_eq!(ExtentBlockHeader::read_extent(&block, 0), Ok(extent));
    assert_eq!(
        ExtentBlockHeader::read_extent(&block, EXTENTS_PER_BLOCK - 1),
        Ok(extent)
    );

    let mut corrupt = block;
    corrupt[100] ^= 1;
    assert_eq!(
        ExtentBlockHeader::decode(&corrupt),
        Err(FormatError::BadChecksum)
    );
    let mut corrupt = block;
    corrupt[0] ^= 1;
    assert_eq!(
        ExtentBlockHeader::decode(&corrupt),
        Err(FormatError::BadMagic)
    );
    ExtentBlockHeader { count: 0, ..header }.encode(&mut block);
    assert!(ExtentBlockHeader::decode(&block).is_err());
    ExtentBlockHeader {
        count: EXTENTS_PER_BLOCK as u32 + 1,
        ..header
    }
    .encode(&mut block);
    assert!(ExtentBlockHeader::decode(&block).is_err());
    assert_eq!(
        ExtentBlockHeader::decode(&block[..100]),
        Err(FormatError::TooShort)
    );
}

#[test]
fn extent_block_encoder_round_trip() {
    let extents: [Extent; EXTENTS_PER_BLOCK] = core::array::from_fn(|index| Extent {
        logical: 3 * index as u64,
        physical: 1000 + 2 * index as u64,
        len: index as u32 % 2 + 1,
        unwritten: false,
    });
    for count in [1, 2, EXTENTS_PER_BLOCK] {
        let mut block = [0xa5; BLOCK_SIZE];
        encode_extent_block(&mut block, 9, 77, &extents[..count]).unwrap();
        assert_eq!(
            ExtentBlockHeader::decode(&block),
            Ok(ExtentBlockHeader {
                count: count as u32,
                next: 77,
                owner: 9
            })
        );
        for (index, extent) in extents[..count].iter().enumerate() {
            assert_eq!(ExtentBlockHeader::read_extent(&block, index), Ok(*extent));
        }
        // The rest of the block is zeroed: unused slots and the reserved bytes.
        let used_end = EXTENT_BLOCK_HEADER_SIZE + count * EXTENT_SIZE;
        assert!(block[used_end..].iter().all(|&byte| byte == 0));
        assert!(
            block[extent_block_off::CHECKSUM + 4..EXTENT_BLOCK_HEADER_SIZE]
                .iter()
                .all(|&byte| byte == 0)
        );

        // The same block as written by hand with the header's own encoder.
        let mut by_hand = [0; BLOCK_SIZE];
        for (index, extent) in extents[..count].iter().enumerate() {
            ExtentBlockHeader::write_extent(&mut by_hand, index, extent).unwrap();
        }
        ExtentBlockHeader {
            count: count as u32,
            next: 77,
            owner: 9,
        }
        .encode(&mut by_hand);
        assert_eq!(block, by_hand);
    }

    // An empty or overfull block is refused and the buffer left alone.
    let mut block = [0xa5; BLOCK_SIZE];
    let mut too_many = [extents[0]; EXTENTS_PER_BLOCK + 1];
    too_many[..EXTENTS_PER_BLOCK].copy_from_slice(&extents);
    for bad in [&extents[..0], &too_many[..]] {
        assert!(matches!(
            encode_extent_block(&mut block, 9, 0, bad),
            Err(FormatError::BadExtent(_))
        ));
        assert!(block.iter().all(|&byte| byte == 0xa5));
    }
}

/// The next number of a xorshift64 sequence, for seeded random cases.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn unsorted_extent_blocks_are_read_in_file_order() {
    let sb = sample_superblock();
    assert_ne!(
        sb.feature_incompat & FEATURE_INCOMPAT_UNSORTED_EXTENT_BLOCKS,
        0
    );
    let file = sample_file(&sb);
    let extents: Vec<Extent> = (0..5)
        .map(|i| Extent::written(10 * i, sb.data_start + 10 * i, 2))
        .collect();
    let slots = [3u8, 0, 4, 1, 2];
    let mut block = [0xa5; BLOCK_SIZE];
    encode_extent_block_unsealed(&mut block, 9, 0, &extents, Some(&slots)).unwrap();
    for (extent, &slot) in extents.iter().zip(&slots) {
        assert_eq!(
            ExtentBlockHeader::read_extent(&block, usize::from(slot)),
            Ok(*extent)
        );
    }
    let read_in = |checker: &mut ExtentChecker, block: &[u8]| -> Result<Vec<Extent>, FormatError> {
        let order = checker.block_order(block, 5);
        order[..5]
            .iter()
            .map(|&slot| {
                let extent = ExtentBlockHeader::read_extent(block, usize::from(slot))?;
                checker.add(&extent).map(|()| extent)
            })
            .collect()
    };
    assert_eq!(
        read_in(&mut ExtentChecker::for_inode(&sb, &file), &block),
        Ok(extents.clone())
    );

    // Without the feature the slots are read as stored, and found out of order.
    let old = Superblock {
        feature_incompat: FEATURE_INCOMPAT_UNWRITTEN,
        ..sb
    };
    let checker = ExtentChecker::for_inode(&old, &file);
    assert!(!checker.unsorted_blocks());
    assert_eq!(checker.block_order(&block, 5)[..5], [0, 1, 2, 3, 4]);
    assert!(read_in(&mut checker.clone(), &block).is_err());

    // Overlapping extents are found whatever their slots.
    let mut overlapping = block;
    ExtentBlockHeader::write_extent(
        &mut overlapping,
        0,
        &Extent::written(21, sb.data_start + 100, 1),
    )
    .unwrap();
    assert!(read_in(&mut ExtentChecker::for_inode(&sb, &file), &overlapping).is_err());

    // Slots that are not a permutation are refused, the buffer left alone.
    let mut untouched = [0xa5; BLOCK_SIZE];
    for bad in [&[0u8, 1, 2, 3, 3][..], &[0, 1, 2, 3, 5], &[0, 1]] {
        assert!(encode_extent_block_unsealed(&mut untouched, 9, 0, &extents, Some(bad)).is_err());
        assert!(untouched.iter().all(|&byte| byte == 0xa5));
    }
}

#[test]
fn extent_slots_stay_where_they_were() {
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for case in 0..20_000 {
        // Old extents at even multiples of 4, in a random permutation of slots.
        let old_len = (xorshift(&mut state) % (EXTENTS_PER_BLOCK as u64 + 1)) as usize;
        let old: Vec<Extent> = (0..old_len as u64)
            .map(|i| Extent::written(8 * i, 1000 + 8 * i, 2))
            .collect();
        let mut old_slots: Vec<u8> = (0..old_len as u8).collect();
        for i in (1..old_len).rev() {
            old_slots.swap(i, (xorshift(&mut state) % (i as u64 + 1)) as usize);
        }
        // New: some removed, some changed, some inserted between them.
        let mut new = Vec::new();
        for extent in &old {
            match xorshift(&mut state) % 16 {
                0 => {}
                1 => new.push(Extent { len: 1, ..*extent }),
                2 => {
                    new.push(*extent);
                    new.push(Extent::written(extent.logical + 4, 5000, 1));
                }
                _ => new.push(*extent),
            }
        }
        if case % 2 == 0 {
            new.insert(0, Extent::written(u64::MAX / 2, 7000, 1));
            new.sort_by_key(|e| e.logical);
        }
        new.truncate(EXTENTS_PER_BLOCK);
        let mut slots = vec![0u8; new.len()];
        assign_extent_slots(&old, &old_slots, &new, &mut slots);

        let mut sorted = slots.clone();
        sorted.sort();
        assert!(sorted.iter().copied().eq(0..new.len() as u8), "case {case}");
        let mut moved = 0;
        for (extent, &slot) in new.iter().zip(&slots) {
            if let Some(j) = old.iter().position(|o| o == extent) {
                if usize::from(old_slots[j]) < new.len() {
                    assert_eq!(slot, old_slots[j], "case {case}: a kept extent moved");
                } else {
                    moved += 1;
                }
            }
        }
        // Only new, changed and displaced extents take other slots.
        let changed = new
            .iter()
            .zip(&slots)
            .filter(|(extent, &slot)| {
                old_slots
                    .iter()
                    .position(|&s| s == slot)
                    .is_none_or(|j| old[j] != **extent)
            })
            .count();
        let kept = new.iter().filter(|e| old.contains(e)).count();
        assert_eq!(changed, new.len() - kept + moved, "case {case}");
    }

    // One insert into a block writes one slot, the first free one.
    let old: Vec<Extent> = (0..4)
        .map(|i| Extent::written(8 * i, 100 + 8 * i, 1))
        .collect();
    let mut new = old.clone();
    new.insert(2, Extent::written(12, 900, 1));
    let mut slots = [0u8; 5];
    assign_extent_slots(&old, &[2, 0, 3, 1], &new, &mut slots);
    assert_eq!(slots, [2, 0, 4, 3, 1]);
    // A removal moves the extent of the last slot into the hole: extent 2 from slot 3 to 0.
    let mut slots = [0u8; 3];
    assign_extent_slots(&old, &[2, 0, 3, 1], &[old[0], old[2], old[3]], &mut slots);
    assert_eq!(slots, [2, 0, 1]);
}

#[test]
fn codec_writers_match_readers() {
    let mut buf = [0u8; 32];
    write_u16(&mut buf, 1, 0xbeef);
    write_u32(&mut buf, 3, 0x1234_5678);
    write_u64(&mut buf, 7, 0x0102_0304_0506_0708);
    write_i64(&mut buf, 15, -2);
    assert_eq!(&buf[1..3], &[0xef, 0xbe]);
    assert_eq!(&buf[3..7], &[0x78, 0x56, 0x34, 0x12]);
    assert_eq!(read_u16(&buf, 1), Ok(0xbeef));
    assert_eq!(read_u32(&buf, 3), Ok(0x1234_5678));
    assert_eq!(read_u64(&buf, 7), Ok(0x0102_0304_0506_0708));
    assert_eq!(read_i64(&buf, 15), Ok(-2));
    assert_eq!(read_u64(&buf, 25), Err(FormatError::TooShort));
    assert_eq!(read_u16(&buf, usize::MAX), Err(FormatError::TooShort));
    // Out-of-bounds writes write nothing instead of panicking.
    let before = buf;
    write_u64(&mut buf, 25, u64::MAX);
    write_u32(&mut buf, usize::MAX, u32::MAX);
    write_bytes(&mut buf, usize::MAX - 1, &[1, 2, 3]);
    assert_eq!(buf, before);
}

#[test]
fn special_mode_bits_are_outside_the_type() {
    for bit in [S_ISUID, S_ISGID, S_ISVTX] {
        assert_eq!(bit & S_IFMT, 0);
        assert_eq!(
            FileType::from_mode(S_IFDIR | bit | 0o755),
            Some(FileType::Directory)
        );
    }
    assert_eq!(S_ISUID | S_ISGID | S_ISVTX, 0o7000);
}

#[test]
fn dir_entry_round_trip() {
    let entry = DirEntry::new(12, FileType::Symlink, b"hello").unwrap();
    let mut buf = [0xaa; DIRENT_SIZE];
    entry.encode(&mut buf);
    assert_eq!(buf[9], DT_LNK);
    assert_eq!(DirEntry::decode(&buf), Ok(Some(entry)));
    assert_eq!(entry.name(), b"hello");
    let long = [b'x'; MAX_NAME_LEN];
    let entry = DirEntry::new(3, FileType::Directory, &long).unwrap();
    entry.encode(&mut buf);
    assert_eq!(DirEntry::decode(&buf).unwrap().unwrap().name(), &long[..]);
    DirEntry::encode_free(&mut buf);
    assert_eq!(DirEntry::decode(&buf), Ok(None));
    assert_eq!(DirEntry::decode(&buf[..271]), Err(FormatError::TooShort));
    assert_eq!(DirEntry::slot_offset(14), Some(14 * DIRENT_SIZE));
    assert_eq!(DirEntry::slot_offset(15), None);
}

#[test]
fn dir_entry_rejects_bad_entries() {
    let mut buf = [0; DIRENT_SIZE];
    DirEntry::new(12, FileType::Regular, b"ok")
        .unwrap()
        .encode(&mut buf);
    let corrupt = |offset: usize, value: u8| {
        let mut copy = buf;
        copy[offset] = value;
        DirEntry::decode(&copy)
    };
    assert!(matches!(corrupt(8, 0), Err(FormatError::BadDirEntry(_))));
    assert!(matches!(corrupt(9, 3), Err(FormatError::BadDirEntry(_))));
    assert!(matches!(
        corrupt(17, b'/'),
        Err(FormatError::BadDirEntry(_))
    ));
    assert!(matches!(corrupt(8, 3), Err(FormatError::BadDirEntry(_))));
    assert!(DirEntry::new(0, FileType::Regular, b"x").is_err());
    assert!(DirEntry::new(1, FileType::Regular, b".").is_err());
    assert!(DirEntry::new(1, FileType::Regular, b"..").is_err());
    assert!(DirEntry::new(1, FileType::Regular, &[b'x'; 256]).is_err());
    assert!(DirEntry::new(1, FileType::Regular, b"a\0b").is_err());

    // An entry must name an inode of the file system.
    let sb = sample_superblock();
    let entry = |ino| DirEntry::new(ino, FileType::Regular, b"ok").unwrap();
    assert_eq!(entry(sb.inode_count).validate(&sb), Ok(()));
    assert_eq!(
        entry(sb.inode_count + 1).validate(&sb),
        Err(FormatError::BadDirEntry(
            "names an inode past the inode table"
        ))
    );
    assert!(entry(u64::MAX).validate(&sb).is_err());
}

#[test]
fn file_types_round_trip() {
    let types = [
        FileType::Regular,
        FileType::Directory,
        FileType::Symlink,
        FileType::CharDevice,
        FileType::BlockDevice,
        FileType::Fifo,
        FileType::Socket,
    ];
    for file_type in types {
        assert_eq!(
            FileType::from_mode(file_type.mode_bits() | 0o755),
            Some(file_type)
        );
        assert_eq!(
            FileType::from_dirent_type(file_type.dirent_type()),
            Some(file_type)
        );
    }
    assert_eq!(FileType::from_mode(0), None);
    assert_eq!(FileType::from_dirent_type(0), None);
}

#[test]
fn decoders_never_panic_on_garbage() {
    // A cheap deterministic fuzz: every decoder on pseudo-random blocks.
    let sb = sample_superblock();
    let mut state = 0x1234_5678_u32;
    let mut block = [0; BLOCK_SIZE];
    for _ in 0..200 {
        for byte in block.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        let _ = Superblock::decode(&block);
        let _ = ExtentBlockHeader::decode(&block);
        for index in 0..EXTENTS_PER_BLOCK + 2 {
            let _ = ExtentBlockHeader::read_extent(&block, index);
        }
        for chunk in block.chunks(INODE_SIZE) {
            if let Ok(inode) = Inode::decode(chunk) {
                let _ = inode.validate(&sb);
            }
            // Checksums would reject nearly everything: validate the raw fields too.
            let mut unchecked = [0; INODE_SIZE];
            unchecked.copy_from_slice(chunk);
            let checksum = checksum_without_field(&unchecked, inode_off::CHECKSUM);
            write_bytes(&mut unchecked, inode_off::CHECKSUM, &checksum.to_le_bytes());
            if let Ok(inode) = Inode::decode(&unchecked) {
                let _ = inode.validate(&sb);
                let _ = inode.inline_symlink_target();
            }
        }
        for chunk in block.chunks(DIRENT_SIZE) {
            let _ = DirEntry::decode(chunk);
        }
    }
}

/// A record area holding `records` of transaction `tx`, as (offset, old bytes).
fn journal_area(tx: u64, records: &[(u64, &[u8])]) -> Vec<u8> {
    let mut area = vec![0u8; 16 * BLOCK_SIZE];
    let mut at = 0;
    for &(offset, old) in records {
        at += encode_journal_record(&mut area[at..], tx, offset, old).unwrap();
    }
    area
}

#[test]
fn journal_records_round_trip() {
    let records: [(u64, &[u8]); 3] = [(8192, &[1, 2, 3]), (12288, &[7; 256]), (0xa0, &[9; 8])];
    let area = journal_area(5, &records);
    let walked: Vec<_> = JournalRecords::new(&area, 5).collect();
    assert_eq!(walked.len(), 3);
    for (record, &(offset, old)) in walked.iter().zip(&records) {
        assert_eq!((record.offset, record.old), (offset, old));
        assert_eq!(record.position % 8, 0);
    }
    assert_eq!(walked[1].position, journal_record_len(3));
    // Another transaction's records are not this one's.
    assert_eq!(JournalRecords::new(&area, 4).count(), 0);
    assert_eq!(JournalRecords::new(&area, 6).count(), 0);
    // A zeroed area has no records, even of transaction 0.
    assert_eq!(JournalRecords::new(&[0; 4096], 0).count(), 0);
    let mut buf = [0u8; 64];
    assert!(encode_journal_record(&mut buf, 1, 0, &[]).is_err());
    assert!(encode_journal_record(&mut buf, 1, 0, &[0; 41]).is_err());
    let mut big = vec![0u8; 2 * BLOCK_SIZE];
    assert!(encode_journal_record(&mut big, 1, 0, &[0; BLOCK_SIZE + 1]).is_err());
}

#[test]
fn journal_walk_stops_at_a_torn_or_stale_record() {
    let records: [(u64, &[u8]); 3] = [(8192, &[1; 16]), (8200, &[2; 16]), (8208, &[3; 16])];
    let whole = journal_area(9, &records);
    let second = journal_record_len(16);
    // Any byte of the second record torn (left as it was, zero) ends the walk after the first.
    for byte in second..2 * second {
        let mut torn = whole.clone();
        torn[byte] ^= 0xff;
        assert_eq!(JournalRecords::new(&torn, 9).count(), 1, "byte {byte}");
    }
    // A record of an earlier transaction after this one's last ends the walk.
    let mut stale = journal_area(8, &records);
    stale[..second].copy_from_slice(&whole[..second]);
    assert_eq!(JournalRecords::new(&stale, 9).count(), 1);
    // A length past the area ends it too.
    let mut short = whole.clone();
    short.truncate(second + 30);
    assert_eq!(JournalRecords::new(&short, 9).count(), 1);
}

#[test]
fn journal_undo_targets() {
    let sb = sample_superblock();
    let block = |b: u64| b * BLOCK_SIZE_U64;
    let head = ORPHAN_HEAD_OFFSET as u64;
    assert_eq!(sb.check_undo_target(head, 8), Ok(()));
    assert_eq!(sb.check_undo_target(block(sb.bitmap_start), 512), Ok(()));
    assert_eq!(
        sb.check_undo_target(block(sb.inode_table_start) + 256, 256),
        Ok(())
    );
    assert_eq!(sb.check_undo_target(block(sb.data_start), 4096), Ok(()));
    assert_eq!(sb.check_undo_target(block(sb.total_blocks) - 8, 8), Ok(()));
    for (offset, len) in [
        (0, 8),
        (head, 9),
        (head - 1, 8),
        (sb_off::CHECKSUM as u64, 5),
        (sb_off::CHECKSUM as u64 - 1, 4),
        (sb_off::LABEL as u64 - 1, 4),
        (block(sb.journal_start), 8),
        (block(sb.journal_start) - 8, 16),
        (block(sb.journal_start + sb.journal_blocks) - 1, 8),
        (block(sb.total_blocks) - 8, 9),
        (block(sb.data_start), 0),
        (u64::MAX - 4, 8),
    ] {
        assert!(
            sb.check_undo_target(offset, len).is_err(),
            "{offset:#x}+{len} accepted"
        );
    }
    let (start, len) = sb.journal_records();
    assert_eq!(start, block(sb.journal_start + 1));
    assert_eq!(len, (sb.journal_blocks - 1) * BLOCK_SIZE_U64);
}

/// An xattr block of inode 5 holding `entries` (namespace, name, value), sealed.
fn xattr_block(entries: &[(u8, &[u8], &[u8])]) -> [u8; BLOCK_SIZE] {
    let mut block = [0; BLOCK_SIZE];
    xattr_block_init(&mut block, 5);
    for &(index, name, value) in entries {
        xattr_block_set(&mut block, 5, index, name, Some(value), XattrSetMode::ANY).unwrap();
        xattr_block_seal(&mut block);
    }
    block
}

#[test]
fn xattr_set_get_remove() {
    let mut block = xattr_block(&[
        (XATTR_INDEX_USER, b"a", b"one"),
        (XATTR_INDEX_TRUSTED, b"a", b""),
        (XATTR_INDEX_USER, b"b", b"two"),
    ]);
    let checked = XattrBlock::decode(&block, 5).unwrap();
    assert_eq!(checked.count(), 3);
    assert_eq!(checked.get(XATTR_INDEX_USER, b"a"), Some(&b"one"[..]));
    assert_eq!(checked.get(XATTR_INDEX_TRUSTED, b"a"), Some(&b""[..]));
    assert_eq!(checked.get(XATTR_INDEX_SECURITY, b"a"), None);
    assert_eq!(checked.used(), 3 * 4 + 3 + 6);

    let set = |block: &mut [u8; BLOCK_SIZE], name: &[u8], value, mode| {
        let result = xattr_block_set(block, 5, XATTR_INDEX_USER, name, value, mode);
        xattr_block_seal(block);
        result
    };
    let before = block;
    assert_eq!(
        set(&mut block, b"a", Some(b"x"), XattrSetMode::CREATE),
        Err(XattrError::Exists)
    );
    assert_eq!(
        set(&mut block, b"c", Some(b"x"), XattrSetMode::REPLACE),
        Err(XattrError::NotFound)
    );
    assert_eq!(
        set(&mut block, b"c", None, XattrSetMode::ANY),
        Err(XattrError::NotFound)
    );
    assert_eq!(
        set(&mut block, b"", Some(b"x"), XattrSetMode::ANY),
        Err(XattrError::BadName)
    );
    // Both flags, as the VFS allows: EEXIST if it exists, ENODATA if not (as ext4).
    let both = XattrSetMode {
        create: true,
        replace: true,
    };
    assert_eq!(
        set(&mut block, b"a", Some(b"x"), both),
        Err(XattrError::Exists)
    );
    assert_eq!(
        set(&mut block, b"c", Some(b"x"), both),
        Err(XattrError::NotFound)
    );
    assert_eq!(block, before, "a failed change leaves the block as it was");
    // A block that says it is empty is a block made by `xattr_block_init`, or damage.
    let mut empty = [0; BLOCK_SIZE];
    xattr_block_init(&mut empty, 5);
    let mut sealed_empty = empty;
    xattr_block_seal(&mut sealed_empty);
    for bad in [sealed_empty, [0; BLOCK_SIZE]] {
        let mut block = bad;
        assert!(matches!(
            xattr_block_set(
                &mut block,
                5,
                XATTR_INDEX_USER,
                b"n",
                Some(b"v"),
                XattrSetMode::ANY
            ),
            Err(XattrError::Format(_))
        ));
    }

    // Replacing moves the entry to the end; the block stays valid and holds exactly the rest.
    assert_eq!(
        set(&mut block, b"a", Some(b"longer"), XattrSetMode::REPLACE),
        Ok(XattrChange {
            old_used: 21,
            count: 3,
            used: (4 + 1) + (4 + 1 + 3) + (4 + 1 + 6)
        })
    );
    let checked = XattrBlock::decode(&block, 5).unwrap();
    let names: Vec<_> = checked
        .entries()
        .map(|e| (e.index, e.name, e.value))
        .collect();
    assert_eq!(
        names,
        [
            (XATTR_INDEX_TRUSTED, &b"a"[..], &b""[..]),
            (XATTR_INDEX_USER, b"b", b"two"),
            (XATTR_INDEX_USER, b"a", b"longer"),
        ]
    );
    set(&mut block, b"a", None, XattrSetMode::REPLACE).unwrap();
    set(&mut block, b"b", None, XattrSetMode::ANY).unwrap();
    let checked = XattrBlock::decode(&block, 5).unwrap();
    assert_eq!((checked.count(), checked.used()), (1, 5));
    assert_eq!(
        block,
        xattr_block(&[(XATTR_INDEX_TRUSTED, b"a", b"")]),
        "removed entries leave zeros behind"
    );
}

#[test]
fn xattr_block_room() {
    // One value that fills the block exactly, then nothing more fits.
    let room = BLOCK_SIZE - XATTR_BLOCK_HEADER_SIZE - XATTR_ENTRY_HEADER_SIZE - 1;
    let big = vec![7u8; room];
    let mut block = [0; BLOCK_SIZE];
    xattr_block_init(&mut block, 5);
    let set = |block: &mut [u8; BLOCK_SIZE], name: &[u8], value: &[u8]| {
        let result = xattr_block_set(
            block,
            5,
            XATTR_INDEX_USER,
            name,
            Some(value),
            XattrSetMode::ANY,
        );
        xattr_block_seal(block);
        result
    };
    assert_eq!(
        set(&mut block, b"a", &big[..room]),
        Ok(XattrChange {
            old_used: 0,
            count: 1,
            used: BLOCK_SIZE - XATTR_BLOCK_HEADER_SIZE
        })
    );
    assert_eq!(set(&mut block, b"b", b""), Err(XattrError::NoSpace));
    // Replacing it with a value one byte too long does not fit either, but a shorter one does.
    let mut longer = big.clone();
    longer.push(7);
    assert_eq!(set(&mut block, b"a", &longer), Err(XattrError::NoSpace));
    assert!(set(&mut block, b"a", b"short").is_ok());
    assert!(XattrBlock::decode(&block, 5).is_ok());
}

#[test]
fn xattr_block_validation() {
    let good = xattr_block(&[
        (XATTR_INDEX_USER, b"a", b"one"),
        (XATTR_INDEX_USER, b"b", b""),
    ]);
    assert!(XattrBlock::decode(&good, 5).is_ok());
    assert_eq!(
        XattrBlock::decode(&good, 6).unwrap_err(),
        FormatError::BadXattr("xattr block belongs to another inode")
    );
    let mut checksum = good;
    checksum[100] ^= 1;
    assert_eq!(
        XattrBlock::decode(&checksum, 5).unwrap_err(),
        FormatError::BadChecksum
    );
    let mut magic = good;
    magic[0] ^= 1;
    assert_eq!(
        XattrBlock::decode(&magic, 5).unwrap_err(),
        FormatError::BadMagic
    );
    // Each damage resealed, so that the field checks see it.
    let damaged = |offset: usize, bytes: &[u8]| {
        let mut block = good;
        write_bytes(&mut block, offset, bytes);
        xattr_block_seal(&mut block);
        XattrBlock::decode(&block, 5)
            .and_then(|block| block.check_unique())
            .is_err()
    };
    let first = XATTR_BLOCK_HEADER_SIZE;
    let second = first + 4 + 1 + 3;
    assert!(damaged(xattr_off::COUNT, &3u32.to_le_bytes()), "count");
    assert!(damaged(xattr_off::COUNT, &0u32.to_le_bytes()), "zero count");
    assert!(
        damaged(xattr_off::USED, &9u32.to_le_bytes()),
        "used cuts an entry"
    );
    assert!(
        damaged(xattr_off::USED, &5000u32.to_le_bytes()),
        "used past the block"
    );
    assert!(damaged(first, &[0]), "namespace 0");
    assert!(damaged(first, &[6]), "unknown namespace");
    assert!(
        damaged(first, &[XATTR_INDEX_POSIX_ACL_ACCESS]),
        "an ACL with a name"
    );
    assert!(damaged(first + 1, &[0]), "empty name");
    assert!(damaged(first + 2, &200u16.to_le_bytes()), "value past used");
    assert!(damaged(second + 4, b"a"), "a name twice");
    assert!(damaged(first + 4, &[0]), "NUL in a name");
    assert!(damaged(BLOCK_SIZE - 1, &[1]), "bytes after the entries");
    assert!(!damaged(first + 5, b"x"), "a changed value is still valid");
}

/// A POSIX ACL value of `entries` (tag, permissions, id).
fn posix_acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    encode_posix_acl(entries).collect()
}

#[test]
fn posix_acl_validation() {
    use acl_tag::*;
    let undefined = u32::MAX;
    let minimal = [
        (USER_OBJ, 6, undefined),
        (GROUP_OBJ, 4, undefined),
        (OTHER, 4, undefined),
    ];
    let named = [
        (USER_OBJ, 7, undefined),
        (USER, 5, 1000),
        (USER, 4, 1001),
        (GROUP_OBJ, 5, undefined),
        (GROUP, 7, 100),
        (MASK, 7, undefined),
        (OTHER, 0, undefined),
    ];
    assert!(valid_posix_acl(&posix_acl(&minimal)));
    assert!(valid_posix_acl(&posix_acl(&named)));
    let with_mask = [minimal[0], minimal[1], (MASK, 4, 0), minimal[2]];
    assert!(valid_posix_acl(&posix_acl(&with_mask)));

    let bad: &[(&str, Vec<u8>)] = &[
        ("no entries", posix_acl(&[])),
        ("header only, short", vec![2, 0]),
        ("no owner", posix_acl(&minimal[1..])),
        ("no other", posix_acl(&minimal[..2])),
        (
            "group before owner",
            posix_acl(&[minimal[1], minimal[0], minimal[2]]),
        ),
        (
            "owner twice",
            posix_acl(&[minimal[0], minimal[0], minimal[1], minimal[2]]),
        ),
        (
            "named without a mask",
            posix_acl(&[named[0], named[1], named[3], named[6]]),
        ),
        (
            "named user with id -1",
            posix_acl(&[named[0], (USER, 4, undefined), named[3], named[5], named[6]]),
        ),
        (
            "a user after the group",
            posix_acl(&[named[0], named[3], named[1], named[5], named[6]]),
        ),
        (
            "permission bit 8",
            posix_acl(&[(USER_OBJ, 8, 0), minimal[1], minimal[2]]),
        ),
        (
            "unknown tag",
            posix_acl(&[minimal[0], minimal[1], (0x40, 0, 0), minimal[2]]),
        ),
        (
            "entries after other",
            posix_acl(&[minimal[0], minimal[1], minimal[2], minimal[2]]),
        ),
    ];
    for (why, value) in bad {
        assert!(!valid_posix_acl(value), "{why}");
    }
    // The largest ACL fits alone in a block, and tests/fstests/guest.sh tells fstests so.
    assert_eq!(POSIX_ACL_MAX_ENTRIES, 508);
    let largest: Vec<_> = [(USER_OBJ, 7, undefined)]
        .into_iter()
        .chain((0..POSIX_ACL_MAX_ENTRIES as u32 - 4).map(|id| (USER, 7, id)))
        .chain([
            (GROUP_OBJ, 7, undefined),
            (MASK, 7, undefined),
            (OTHER, 7, undefined),
        ])
        .collect();
    let acl = posix_acl(&largest);
    assert!(valid_posix_acl(&acl));
    let mut block = [0; BLOCK_SIZE];
    xattr_block_init(&mut block, 5);
    let set = |block: &mut [u8; BLOCK_SIZE], value: &[u8]| {
        let mode = XattrSetMode::ANY;
        xattr_block_set(
            block,
            5,
            XATTR_INDEX_POSIX_ACL_ACCESS,
            b"",
            Some(value),
            mode,
        )
    };
    assert!(set(&mut block, &acl).is_ok());
    let mut larger = largest;
    larger.insert(1, (USER, 7, u32::MAX - 1));
    xattr_block_init(&mut block, 5);
    assert_eq!(
        set(&mut block, &posix_acl(&larger)),
        Err(XattrError::NoSpace)
    );

    let mut version = posix_acl(&minimal);
    version[0] = 1;
    assert!(!valid_posix_acl(&version), "version 1");
    let mut torn = posix_acl(&minimal);
    torn.pop();
    assert!(!valid_posix_acl(&torn), "a torn entry");

    // In a block: the empty name only, and only valid values, which decode checks too.
    let acl = posix_acl(&named);
    let mut block = xattr_block(&[
        (XATTR_INDEX_USER, b"a", b"one"),
        (XATTR_INDEX_POSIX_ACL_ACCESS, b"", &acl),
        (XATTR_INDEX_POSIX_ACL_DEFAULT, b"", &acl),
    ]);
    let checked = XattrBlock::decode(&block, 5).unwrap();
    assert_eq!(
        checked.get(XATTR_INDEX_POSIX_ACL_ACCESS, b""),
        Some(&acl[..])
    );
    for (index, name, value, error) in [
        (
            XATTR_INDEX_POSIX_ACL_ACCESS,
            &b"x"[..],
            &acl[..],
            XattrError::BadName,
        ),
        (XATTR_INDEX_USER, b"", b"v", XattrError::BadName),
        (
            XATTR_INDEX_POSIX_ACL_DEFAULT,
            b"",
            &torn[..],
            XattrError::BadValue,
        ),
    ] {
        let before = block;
        let result = xattr_block_set(&mut block, 5, index, name, Some(value), XattrSetMode::ANY);
        assert_eq!(result, Err(error));
        assert_eq!(block, before);
    }
    // An ACL damaged in place (its mask dropped to a user's tag), resealed.
    let at = XATTR_BLOCK_HEADER_SIZE + 4 + 1 + 3 + 4 + POSIX_ACL_HEADER_SIZE + 5 * 8;
    assert_eq!(read_u16(&block, at).unwrap(), MASK);
    write_u16(&mut block, at, USER);
    xattr_block_seal(&mut block);
    assert_eq!(
        XattrBlock::decode(&block, 5).unwrap_err(),
        FormatError::BadXattr("xattr entry holds an ACL that is not valid")
    );
}

#[test]
fn xattr_decoders_never_panic_on_garbage() {
    let mut state = 0x9e37_79b9_u32;
    let mut block = [0; BLOCK_SIZE];
    for round in 0..300 {
        for byte in block.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        // A plausible header, so that the entry walk runs over the garbage.
        write_u32(&mut block, xattr_off::MAGIC, XATTR_BLOCK_MAGIC);
        write_u64(&mut block, xattr_off::OWNER, 5);
        write_u32(&mut block, xattr_off::COUNT, round % 7 + 1);
        write_u32(&mut block, xattr_off::USED, state % 4200);
        xattr_block_seal(&mut block);
        if let Ok(checked) = XattrBlock::decode(&block, 5) {
            let _ = checked.entries().count();
        }
        let before = block;
        let result = xattr_block_set(
            &mut block,
            5,
            XATTR_INDEX_USER,
            b"n",
            Some(b"v"),
            XattrSetMode::ANY,
        );
        if result.is_err() {
            assert_eq!(block, before);
        }
    }
}

#[test]
fn inode_xattr_block_validation() {
    let sb = sample_superblock();
    let good = sample_file(&sb);
    let with_block = Inode {
        xattr_block: sb.data_start + 10,
        ..good
    };
    assert!(with_block.validate(&sb).is_ok());
    let mut buf = [0; INODE_SIZE];
    with_block.encode(&mut buf);
    assert_eq!(Inode::decode(&buf), Ok(with_block));
    assert_eq!(
        read_u64(&buf, inode_off::XATTR_BLOCK),
        Ok(sb.data_start + 10)
    );
    assert_eq!(
        with_block.checked_xattr_block(&sb),
        Ok(Some(sb.data_start + 10))
    );
    assert_eq!(good.checked_xattr_block(&sb), Ok(None));
    // A bad pointer is the attributes' problem, not the inode's.
    let outside = Inode {
        xattr_block: sb.data_start - 1,
        ..good
    };
    assert!(outside.validate(&sb).is_ok());
    assert!(outside.checked_xattr_block(&sb).is_err());
    let mut old = sb;
    old.feature_incompat &= !FEATURE_INCOMPAT_XATTR;
    assert!(with_block.checked_xattr_block(&old).is_err());
    assert_eq!(good.checked_xattr_block(&old), Ok(None));
}

#[test]
fn label_change_and_its_undo() {
    let sb = sample_superblock();
    let old = sample_superblock_block();
    let mut new = old;
    Superblock::relabel(&mut new, b"a new label").unwrap();
    assert_eq!(
        Superblock::decode(&new).unwrap().label_bytes(),
        b"a new label"
    );
    assert!(Superblock::relabel(&mut new.clone(), &[b'x'; LABEL_LEN + 1]).is_err());
    assert!(Superblock::relabel(&mut new.clone(), b"nul\0").is_err());
    // A label change undo-logs the label and the checksum, and nothing else of block 0.
    assert!(sb
        .check_undo_target(sb_off::LABEL as u64, LABEL_LEN as u64)
        .is_ok());
    assert!(sb.check_undo_target(sb_off::CHECKSUM as u64, 4).is_ok());
    assert!(sb
        .check_undo_target(sb_off::LABEL as u64, LABEL_LEN as u64 + 1)
        .is_err());
    assert!(sb.check_undo_target(sb_off::UUID as u64, 4).is_err());
    assert!(sb
        .check_undo_target(sb_off::TOTAL_BLOCKS as u64, 8)
        .is_err());

    // Torn: the new label stored, the checksum not yet. Unreadable as it is; the undo
    // records give the old superblock back, whatever part of the change was stored.
    let mut torn = old;
    write_bytes(
        &mut torn,
        sb_off::LABEL,
        &new[sb_off::LABEL..sb_off::LABEL + LABEL_LEN],
    );
    assert_eq!(Superblock::decode(&torn), Err(FormatError::BadChecksum));
    let unchecked = Superblock::decode_unchecked(&torn).unwrap();
    assert_eq!(unchecked.journal_start, sb.journal_start);
    let records: [(u64, &[u8]); 2] = [
        (
            sb_off::LABEL as u64,
            &old[sb_off::LABEL..sb_off::LABEL + LABEL_LEN],
        ),
        (
            sb_off::CHECKSUM as u64,
            &old[sb_off::CHECKSUM..sb_off::CHECKSUM + 4],
        ),
    ];
    for state in [torn, new, old] {
        let undone =
            Superblock::decode_after_undo(&mut state.clone(), records.iter().copied()).unwrap();
        assert_eq!(undone, sb);
    }
    // Records of other blocks are not applied; without the records it stays unreadable.
    let elsewhere: [(u64, &[u8]); 1] = [(8192, &[1; 8])];
    assert!(Superblock::decode_after_undo(&mut torn.clone(), elsewhere.iter().copied()).is_err());
    let past: [(u64, &[u8]); 1] = [(4090, &[1; 8])];
    assert!(Superblock::decode_after_undo(&mut old.clone(), past.iter().copied()).is_err());
}
