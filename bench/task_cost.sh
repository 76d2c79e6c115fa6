#!/usr/bin/env bash
# task_cost.sh: instructions per spawned-and-completed empty task, schedkit
# against oneTBB, under callgrind (valgrind). The marginal cost: the
# difference between a run of 3 rounds of N tasks and one of 1 round (after
# a warm-up round each), divided by the 2N tasks in between, so start-up,
# warm-up and teardown cancel out.
# Usage: bench/task_cost.sh [BUILD_DIR] [N]   (defaults: build, 50000)
set -euo pipefail
build=${1:-build}
n=${2:-50000}
bin="$build/bin/task_cost"
[ -x "$bin" ] || { echo "task_cost.sh: $bin not found (build the task_cost target)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "task_cost.sh: valgrind not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$n" "$2" >/dev/null 2>"$tmp/log"
  grep -E '^(summary|totals):' "$tmp/out" | head -1 | awk '{print $2}'
}
for rt in schedkit tbb; do
  a=$(ir "$rt" 1)
  b=$(ir "$rt" 3)
  echo "$rt: $(( (b - a) / (2 * n) )) instructions per task"
done
