#!/usr/bin/env bash
# main-job.sh: what `make run` runs: the host's sched-domain tree, then the
# shipped imbalanced workload simulated under every policy on a synthetic
# two-package machine, side by side against the makespan lower bound.
set -euo pipefail
SCHEDKIT=${1:-build/bin/schedkit}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
echo "== 1. This machine: its CPUs and the sched domains the balancer works in =="
echo "   (each level: how many CPUs a domain spans, its groups, how often it balances)"
"$SCHEDKIT" topo --topology host
echo
echo "== 2. Which policy for a skewed workload? (examples/workloads/imbalanced.yaml, simulated) =="
echo "   4 long tasks among 400 short ones on a 32-CPU two-package machine, same spec and seed"
echo "   for every policy. ratio = makespan / lower bound (1.000 is optimal); imbalance = busiest"
echo "   CPU's busy time / least busy one's (1.0 is even); ctx_switch counts context switches."
"$SCHEDKIT" compare "$ROOT/examples/workloads/imbalanced.yaml" --topology "pack:2 l3:2 core:4 pu:2" \
    --policies static,dynamic,fair,steal,governor
