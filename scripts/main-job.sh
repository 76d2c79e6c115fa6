#!/usr/bin/env bash
# main-job.sh: what `make run` runs: the host's sched-domain tree, then the
# shipped imbalanced workload simulated under every policy on a synthetic
# two-package machine, side by side against the makespan lower bound, over
# 5 seeds, and an HTML report of that comparison and of one traced run.
set -euo pipefail
SCHEDKIT=${1:-build/bin/schedkit}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${REPORT_DIR:-$(cd "$(dirname "$SCHEDKIT")/.." && pwd)}
SPEC="$ROOT/examples/workloads/imbalanced.yaml"
TOPO="pack:2 l3:2 core:4 pu:2"
POLICIES=static,dynamic,fair,steal,governor
echo "== 1. This machine: its CPUs and the sched domains the balancer works in =="
echo "   (each level: how many CPUs a domain spans, its groups, how often it balances)"
"$SCHEDKIT" topo --topology host
echo
echo "== 2. Which policy for a skewed workload? (examples/workloads/imbalanced.yaml, simulated) =="
echo "   4 long tasks among 400 short ones on a 32-CPU two-package machine; every policy runs"
echo "   the same 5 seeds. Each figure is mean ± 95% confidence half-width over the seeds."
echo "   ratio = makespan / lower bound (1.000 is optimal); imbalance = busiest CPU's busy time /"
echo "   least busy one's (1.0 is even); ctx_switch counts context switches."
"$SCHEDKIT" compare "$SPEC" --topology "$TOPO" --policies "$POLICIES" --seeds 5 --jobs 2
echo
echo "== 3. The HTML report of that comparison (and a traced run under fair) =="
"$SCHEDKIT" compare "$SPEC" --topology "$TOPO" --policies "$POLICIES" --seeds 5 --jobs 2 \
    --json --quiet >"$OUT/compare.json"
"$SCHEDKIT" sim "$SPEC" --topology "$TOPO" --policy fair --json --quiet \
    --trace "$OUT/trace.json" >"$OUT/sim.json"
"$SCHEDKIT" report "$OUT/compare.json" "$OUT/trace.json" "$OUT/sim.json" \
    --title "schedkit: imbalanced.yaml under every policy" -o "$OUT/report.html"
echo "   open $OUT/report.html in a browser (self-contained, works offline)"
