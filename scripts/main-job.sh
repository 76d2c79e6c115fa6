#!/usr/bin/env bash
# main-job.sh: what `make run` runs: the topology of this host and of a
# synthetic two-package machine, with their sched-domain trees.
set -euo pipefail
SCHEDKIT=${1:-build/bin/schedkit}
"$SCHEDKIT" topo --topology host
echo
"$SCHEDKIT" topo --topology "pack:2 l3:2 core:4 pu:2"
