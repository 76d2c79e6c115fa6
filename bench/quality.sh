#!/usr/bin/env bash
# quality.sh: makespan quality of every policy on the shipped imbalanced
# workloads, on a 64-CPU synthetic machine, against the lower bound
# max(total work / CPUs, critical path) of each run (docs/PERFORMANCE.md).
#
#   bench/quality.sh [path/to/schedkit] [topology]
#
# Aim: fair and steal within 1.05x the bound. Exits 1 if either misses it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCHEDKIT=${1:-$ROOT/build/bin/schedkit}
TOPOLOGY=${2:-"pack:2 l3:2 core:8 pu:2"}
POLICIES=static,dynamic,fair,steal,governor
AIM=1.05
status=0
for spec in "$ROOT"/examples/workloads/imbalanced*.yaml; do
    echo "== $(basename "$spec") on '$TOPOLOGY'"
    json=$("$SCHEDKIT" compare "$spec" --topology "$TOPOLOGY" --policies "$POLICIES" --json)
    python3 - "$AIM" "$json" <<'PY' || status=1
import json, sys
aim, doc = float(sys.argv[1]), json.loads(sys.argv[2])
print(f"{doc['cpus']} CPUs, lower bound {doc['lower_bound_us'] / 1e3:.3f} ms")
print(f"{'policy':<10} {'makespan_ms':>12} {'ratio':>8} {'migrations':>10} {'energy_j':>9}")
ok = True
for row in doc["policies"]:
    r = row["ratio_to_bound"]
    mark = ""
    if row["policy"] in ("fair", "steal"):
        mark = "  ok" if r <= aim else f"  MISSES {aim}"
        ok &= r <= aim
    print(f"{row['policy']:<10} {row['makespan_us'] / 1e3:>12.3f} {r:>8.4f} "
          f"{row['migrations']:>10} {row['energy_j']:>9.3f}{mark}")
sys.exit(0 if ok else 1)
PY
done
exit $status
