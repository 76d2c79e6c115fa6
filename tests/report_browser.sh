#!/bin/sh
# report_browser.sh SCHEDKIT SOURCE_DIR WORK_DIR: writes a report from a
# trace, a sim and a run summary, a compare --seeds and a sweep, opens it in
# headless Chromium and fails on any console message (the page logs only
# failures), on a page that did not finish rendering, or on an empty plot.
set -eu
S=$1 SRC=$2 W=$3
rm -rf "$W"
mkdir -p "$W"
fail() { echo "report_browser: FAIL: $*" >&2; exit 1; }
command -v chromium >/dev/null || fail "chromium not installed (scripts/install-deps.sh installs it)"
spec=$SRC/examples/workloads/balanced.yaml
topo="pack:1 core:2 pu:1"
"$S" sim "$spec" --topology "$topo" --policy fair --json --trace "$W/trace.json" >"$W/sim.json"
"$S" run "$spec" --topology "$topo" --cpus 0-1 --policy fair --scale 0.05 --json >"$W/run.json"
"$S" compare "$SRC/examples/workloads/imbalanced.yaml" --policies static,fair,steal --seeds 5 \
    --json >"$W/compare.json"
"$S" sweep "$spec" --topology "$topo" --policies static,fair \
    --param fair:migration_cost_us=0,250,500 --seeds 3 --json >"$W/sweep.json"
"$S" report "$W/trace.json" "$W/sim.json" "$W/run.json" "$W/compare.json" "$W/sweep.json" \
    -o "$W/report.html" >/dev/null
plots=$(grep -o '<div id="plot[0-9]*">' "$W/report.html" | wc -l)
[ "$plots" -ge 6 ] || fail "expected at least 6 plots, the report has $plots"
grep -q 'class="fidelity"' "$W/report.html" || fail "no sim vs run table"
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$W/profile" \
    --virtual-time-budget=60000 --enable-logging=stderr --v=0 \
    --dump-dom "file://$W/report.html" >"$W/dom.html" 2>"$W/chromium.log" ||
    fail "chromium exited with $? (see $W/chromium.log)"
if grep ':CONSOLE' "$W/chromium.log"; then
    fail "console messages above"
fi
grep -q 'data-status="ok"' "$W/dom.html" ||
    fail "the page did not render every plot: $(grep -o '<div id="status"[^>]*>[^<]*' "$W/dom.html")"
drawn=$(grep -o '<svg [^>]*class="marks"' "$W/dom.html" | wc -l)
[ "$drawn" -ge "$plots" ] || fail "$drawn of $plots plots drew an SVG"
echo "report_browser: $plots plots rendered, no console message"
