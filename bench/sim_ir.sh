#!/usr/bin/env bash
# sim_ir.sh: instructions per simulator event per policy, under callgrind
# (valgrind): one BM_Scale run of bench/sim_bench (10,000 tasks of the mixed
# workload) at 16 and 1,024 CPUs. Whole-process instructions (spec, set-up
# and teardown included) over the run's events, so it is an upper bound.
# Usage: bench/sim_ir.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
bin="$build/bin/sim_bench"
[ -x "$bin" ] || { echo "sim_ir.sh: $bin not found (build the sim_bench target)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "sim_ir.sh: valgrind not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for policy in static fifo fair steal; do
  for cpus in 16 1024; do
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" \
      --benchmark_filter="^BM_Scale/$policy/$cpus/" --benchmark_format=json \
      >"$tmp/json" 2>"$tmp/log"
    ir=$(grep -E '^(summary|totals):' "$tmp/out" | head -1 | awk '{print $2}')
    events=$(sed -n 's/.*"events": \([0-9.e+]*\).*/\1/p' "$tmp/json" | head -1)
    awk -v p="$policy" -v c="$cpus" -v ir="$ir" -v ev="$events" \
      'BEGIN { printf "%-6s %5d CPUs: %8.0f events, %6.0f instructions per event\n", p, c, ev, ir / ev }'
  done
done
