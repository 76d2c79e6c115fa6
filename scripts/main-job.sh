#!/usr/bin/env bash
# main-job.sh: what `make run` runs: the host's sched-domain tree, then the
# shipped imbalanced workload simulated under every policy on a synthetic
# two-package machine, side by side against the makespan lower bound.
set -euo pipefail
SCHEDKIT=${1:-build/bin/schedkit}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$SCHEDKIT" topo --topology host
echo
"$SCHEDKIT" compare "$ROOT/examples/workloads/imbalanced.yaml" --topology "pack:2 l3:2 core:4 pu:2" \
    --policies static,dynamic,fair,steal,governor
