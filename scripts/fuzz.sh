#!/usr/bin/env bash
# fuzz.sh: build schedkit's libFuzzer targets (clang, ASan + UBSan) in
# build-fuzz and run each one for a bounded time. docs/fuzzing.md.
#
#   scripts/fuzz.sh                  every target, FUZZ_SECONDS (20) each
#   FUZZ_SECONDS=1800 scripts/fuzz.sh spec     one target for 30 minutes
#   FUZZ_RUNS=1000000 scripts/fuzz.sh          10^6 executions each
#   FUZZ_RUNS=1000000 FUZZ_SECONDS=1800 scripts/fuzz.sh   whichever comes first
#
# Each target starts from a seed corpus built from the shipped examples
# (workload specs, the bad-spec corpus, traces, tests/fuzz/seeds/*.txt) and
# keeps what it learns in build-fuzz/corpus/<target>. A crash, a leak, a
# sanitizer report or a timeout fails the script and leaves the input as
# build-fuzz/crash-<target>-*: turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-20}
JOBS=${JOBS:-2}
ALL="spec topology cpulist policy duration trace"
TARGETS=${*:-$ALL}

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (scripts/install-deps.sh installs clang and libclang-rt-dev)" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSCHEDKIT_FUZZ=ON -DSCHEDKIT_SANITIZE=address,undefined -DSCHEDKIT_BUILD_TESTS=OFF \
  -DSCHEDKIT_BUILD_BENCH=OFF -DSCHEDKIT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)

# seed() fills a corpus directory from the shipped examples.
seed() {
  local t=$1 dir=$2 i=0
  mkdir -p "$dir"
  case $t in
    spec) cp examples/workloads/*.yaml tests/data/bad-specs/*.yaml "$dir"/ ;;
    trace) cp tests/data/traces/* "$dir"/ ;;
    *) while IFS= read -r line; do
         printf '%s' "$line" >"$dir/seed-$i"; i=$((i + 1))
       done <"tests/fuzz/seeds/$t.txt" ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A leak inside libtracecmd on a bad trace.dat header (tests/fuzz/lsan.supp).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp}
status=0
for t in $TARGETS; do
  corpus="$BUILD/corpus/$t"
  seed "$t" "$corpus"
  # FUZZ_RUNS alone: that many executions; with FUZZ_SECONDS too: whichever comes first.
  limit=(-max_total_time="$SECONDS_EACH")
  if [ -n "${FUZZ_RUNS:-}" ]; then
    limit=(-runs="$FUZZ_RUNS")
    [ -n "${FUZZ_SECONDS:-}" ] && limit+=(-max_total_time="$FUZZ_SECONDS")
  fi
  start=$(date +%s)
  log="$BUILD/fuzz-$t.log"
  echo "fuzz: $t (${limit[*]})"
  if "$BUILD/bin/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2560 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$BUILD/crash-$t-" "$corpus" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    secs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t clean: $runs executions in $(($(date +%s) - start)) s ($secs/s)," \
      "corpus $(ls "$corpus" | wc -l) inputs"
  else
    status=1
    echo "fuzz: $t FAILED; the last lines of $log:" >&2
    tail -40 "$log" >&2
  fi
done
exit $status
