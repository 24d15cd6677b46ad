#!/bin/sh
# Instructions per run of the audit writer alone (the three entries of the bench's run, sealed)
# under callgrind: `sh bench/audit-writer-callgrind.sh [runs]` counts 20,000 and 20,000 + runs
# runs of bench/prof-audit-writer.mjs --only and prints the difference ÷ runs (of the build at
# BATON_AB_DIST when set, to compare with another build). Node runs with
# --single-threaded --predictable and fixed seeds, so two counts of one build agree within
# about 1.5%. Valgrind hides SHA-NI from OpenSSL (which then uses its AVX2 SHA-256), so the
# hash weighs more here than it does natively (docs/audit.md, Cost).
runs=${1:-20000}
dir=$(mktemp -d)
count() {
  rm -f "$dir"/out*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/out" \
    node --single-threaded --predictable --hash-seed=1 --random-seed=1 \
    "$(dirname "$0")/prof-audit-writer.mjs" --only "$1" >/dev/null 2>&1
  sed -n 's/^totals: //p' "$dir"/out-01
}
base=$(count 0); total=$(count "$runs")
echo "audit writer, sealed: $(( (total - base) / runs )) instructions per run ($total - $base over $runs runs)"
rm -rf "$dir"
