#!/bin/sh
# Instructions per run of the baton-policies workload under callgrind (repeatable under load):
# `sh bench/policies-callgrind.sh [runs] [warm] [name ...]` counts `warm` and `warm + runs` runs
# of each configuration of bench/prof-policies.mjs (default: `turn`, every per-turn policy, and
# `all`, the same with the audit log) and prints the difference ÷ runs, then each ÷ the first.
# Only the main thread is counted: the optimizing compiler's and the GC's helper threads run
# beside it (their counts vary with when a function gets optimized), the main thread is what a
# run waits for. Under load the parallel scavenger splits its work between threads differently
# from run to run: NODE_FLAGS=--single-threaded-gc keeps it on the main thread.
runs=${1:-2000}; warm=${2:-2000}; shift 2 2>/dev/null
names=${*:-turn all}
dir=$(mktemp -d)
count() {
  rm -f "$dir"/out*
  valgrind --tool=callgrind --separate-threads=yes --smc-check=all-non-file --callgrind-out-file="$dir/out" \
    node $NODE_FLAGS "$(dirname "$0")/prof-policies.mjs" --only "$1" "$2" "$warm" >/dev/null 2>&1
  sed -n 's/^totals: //p' "$dir"/out-01
}
first=''
for name in $names; do
  base=$(count "$name" 0); total=$(count "$name" "$runs")
  per=$(( (total - base) / runs ))
  echo "$name: $per instructions per run ($total - $base over $runs runs)"
  if [ -z "$first" ]; then first=$per; else echo "  $name ÷ first: $(echo "scale=3; $per / $first" | bc)"; fi
done
rm -rf "$dir"
