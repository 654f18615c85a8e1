#!/bin/sh
# A bounded libFuzzer run for `meson test`. libFuzzer writes new inputs into the first
# corpus directory it is given: that is a fresh one under WORK (in the build tree); the
# committed corpus comes after it and is only read. A crash, leak or sanitizer report
# fails the test; the input that caused it is left in WORK/artifacts.
#
# usage: run-fuzz.sh TARGET CORPUS WORK SECONDS
set -eu
target=$1
corpus=$2
work=$3
seconds=$4
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
exec "$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
	-artifact_prefix="$work/artifacts/" "$work/new" "$corpus"
