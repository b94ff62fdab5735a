#!/bin/sh
# Replay a libFuzzer corpus as a regression test: every input must run
# without a crash or sanitizer report.
set -e
bin=$1 dir=$2
n=$(ls "$dir" | wc -l)
[ "$n" -gt 0 ] || { echo "fuzz-replay: no corpus in $dir" >&2; exit 1; }
"$bin" -runs=0 "$dir" >build/fuzz-replay.log 2>&1 || { tail -40 build/fuzz-replay.log; exit 1; }
echo "fuzz-replay: $n inputs from $dir, no findings"
