#!/usr/bin/env bash
# mem_limit.sh: a simulation of N tasks under an address-space limit
# (ulimit -v) completes, or exits 2 with one line on stderr and no output
# file: never a signal (an abort, exit 134) or a partial file. Runs `sim`,
# `sim --trace` (an output file at stake; the trace keeps every run slice)
# and `compare --jobs 2` (simulations on worker threads), and prints each one's exit status,
# peak RSS (/usr/bin/time -v, when installed) and wall time.
# Usage: bench/mem_limit.sh SCHEDKIT [TASKS] [LIMIT_KB]
#   defaults: 10,000,000 tasks under 2 GB (2097152 KB), as issue #11 asks.
# tests/CMakeLists.txt runs a smaller one (mem_limit_small) as a test.
set -uo pipefail
bin=${1:?usage: mem_limit.sh SCHEDKIT [TASKS] [LIMIT_KB]}
tasks=${2:-10000000}
limit_kb=${3:-2097152}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Requests of ~100 us of CPU arriving at 100,000/s on 16 CPUs (ρ ≈ 0.6).
cat >"$tmp/spec.yaml" <<SPEC
name: mem-limit
seed: 1
groups:
  - name: req
    count: $tasks
    arrival: {rate: 100000}
    behavior:
      - run: {exp: 100us}
SPEC
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -v)
status=0
check() {  # check NAME OUTPUT_FILE -- COMMAND...
  local name=$1 out=$2
  shift 3
  local start end rc lines
  start=$(date +%s.%N)
  (ulimit -v "$limit_kb"; exec "${timer[@]}" "$@" >"$tmp/stdout" 2>"$tmp/stderr")
  rc=$?
  end=$(date +%s.%N)
  local rss
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/stderr")
  # Keep only schedkit's own lines (time -v appends its report).
  grep -v -E '^\s|^Command (exited|terminated)' "$tmp/stderr" >"$tmp/errors" || true
  lines=$(wc -l <"$tmp/errors")
  printf '%s: %s tasks under ulimit -v %s KB: exit %s, peak RSS %s KB, %.1f s\n' \
    "$name" "$tasks" "$limit_kb" "$rc" "${rss:-?}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
  if [ "$rc" -eq 0 ]; then
    [ -z "$out" ] || [ -s "$out" ] || { echo "  FAIL: exit 0 without $out"; status=1; }
  elif [ "$rc" -eq 2 ]; then
    [ "$lines" -eq 1 ] || { echo "  FAIL: exit 2 with $lines lines on stderr:"; cat "$tmp/errors"; status=1; }
    sed 's/^/  /' "$tmp/errors"
    [ -z "$out" ] || [ ! -e "$out" ] || { echo "  FAIL: exit 2 left $out behind"; status=1; }
  else
    echo "  FAIL: exit $rc (a signal or an unexpected status):"; cat "$tmp/errors"; status=1
  fi
}
common=(--topology 'pack:1 core:8 pu:2' --max-tasks "$tasks" --quiet)
check sim "" -- "$bin" sim "$tmp/spec.yaml" "${common[@]}"
check "sim --trace" "$tmp/trace.json" -- "$bin" sim "$tmp/spec.yaml" "${common[@]}" \
  --trace "$tmp/trace.json"
check compare "$tmp/rows.csv" -- "$bin" compare "$tmp/spec.yaml" "${common[@]}" \
  --policies static,fifo --jobs 2 --csv "$tmp/rows.csv"
exit $status
