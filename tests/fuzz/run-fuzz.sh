#!/bin/sh
# A bounded libFuzzer run for `meson test`. libFuzzer writes new inputs into the first
# corpus directory it is given: that is a fresh one under WORK (in the build tree); the
# committed corpus comes after it and is only read. A crash, leak or sanitizer report
# fails the test; the input that caused it is left in WORK/artifacts.
#
# usage: run-fuzz.sh TARGET CORPUS DICT WORK SECONDS
set -eu
target=$1
corpus=$2
dict=$3
work=$4
seconds=$5
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
exec "$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
	-dict="$dict" -artifact_prefix="$work/artifacts/" "$work/new" "$corpus"
