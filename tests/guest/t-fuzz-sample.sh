#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A fixed-seed sample of the image fuzzer (`make fuzz` runs 10,000 images):
# the pristine image (seed 0) and 200 mutated ones, each written to the scratch
# device, mounted and used (tests/fuzz/run-images.sh). Any kernel report
# panics the debug kernel, which fails the run; a hang fails this test. The
# sample must also reach what it is for: the pristine image mounts and is used
# without a single EUCLEAN, some mutated images are refused at mount, and some
# mount and then meet corruption (EUCLEAN) while in use; some of those used
# were mounted dax=never, through the page cache.
. "$(dirname "$0")/lib.sh"

out=/tmp/fuzz-sample
results=$out/results.txt
FUZZ_OUT=$out bash /repo/tests/fuzz/run-images.sh 0 201 ||
	fail "the run stopped or an image failed: $(grep -E '^[0-9]+ (hang|died|umount)' "$results" 2>/dev/null || tail -n 3 "$results")"
cat "$out/summary"
ran=$(grep -cE '^[0-9]+ (mounted|refused)' "$results" || true)
((ran == 201)) || fail "$ran of 201 images ran"

# The pristine image is used without EUCLEAN, and nearly every operation works
# (the few that fail do on any file system: rmdir of a full directory).
pristine=$(grep '^0 ' "$results")
[[ $pristine =~ ^0\ mounted\ ops\ ([0-9]+)\ errors\ ([0-9]+)\ euclean\ 0\  ]] ||
	fail "the pristine image did not mount and run cleanly: $pristine"
((BASH_REMATCH[1] >= 200 && BASH_REMATCH[2] <= 5)) ||
	fail "the pristine image's exercise did too little or failed too often: $pristine"
refused=$(grep -c '^[0-9]* refused' "$results" || true)
((refused > 0)) || fail "no mutated image was refused at mount: the mutations miss the superblock"
with_euclean=$(grep -cE '^[0-9]+ mounted .* euclean [1-9]' "$results" || true)
((with_euclean > 0)) || fail "no mounted image met EUCLEAN: the mutations miss the validation"
# One seed in four mounts dax=never: corrupted images meet the page cache too.
cached=$(grep -cE '^[0-9]+ mounted .*\| dax=never;' "$results" || true)
((cached > 0)) || fail "no image was mounted and used with dax=never"
echo "ok: 201 images, $refused refused at mount, $with_euclean met EUCLEAN in use, $cached used through the page cache"
