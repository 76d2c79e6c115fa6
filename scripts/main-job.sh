#!/usr/bin/env bash
# main-job.sh: what `make run` runs: the host's sched-domain tree, then a
# simulation of the shipped imbalanced workload on a synthetic two-package
# machine.
set -euo pipefail
SCHEDKIT=${1:-build/bin/schedkit}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$SCHEDKIT" topo --topology host
echo
"$SCHEDKIT" sim "$ROOT/examples/workloads/imbalanced.yaml" --topology "pack:2 l3:2 core:4 pu:2"
