#!/bin/sh
# Instructions per run of a layer of bench/hot-layers.mjs under callgrind (repeatable under load):
# `sh bench/hot-callgrind.sh <layer> [runs] [warm]` runs `warm` and `warm + runs` runs and prints
# the difference ÷ runs.
layer=${1:-agent}; runs=${2:-2000}; warm=${3:-2000}
dir=$(mktemp -d)
count() {
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$dir/out" \
    node $NODE_FLAGS "$(dirname "$0")/hot-layers.mjs" "$layer" "$1" only "$warm" 2>&1 | sed -n 's/.*Collected : //p'
}
base=$(count 0); total=$(count "$runs")
echo "$layer: $(( (total - base) / runs )) instructions per run ($total - $base over $runs runs)"
rm -rf "$dir"
