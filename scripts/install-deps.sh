#!/usr/bin/env bash
# install-deps.sh: install the Debian packages schedkit builds, tests and
# benchmarks with. Idempotent: does nothing when every package is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  libhwloc-dev hwloc liburcu-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libfmt-dev libspdlog-dev libgtest-dev libgmock-dev librapidcheck-dev
  libbenchmark-dev libtbb-dev libconcurrentqueue-dev libboost-fiber-dev
  clang libclang-rt-dev
  libtracecmd-dev libtraceevent-dev libtracefs-dev trace-cmd
  chromium
)
# npm for the report's JavaScript: Debian's packages, unless an npm (say a
# nodejs that bundles it) is already on PATH.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

# install_js: the plotting libraries `schedkit report` inlines, pinned by
# third_party/js/package-lock.json, into the git-ignored node_modules there.
install_js() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/third_party/js"
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
     [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  echo "install-deps: npm ci in third_party/js (Vega, Vega-Lite, vega-embed)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "install-deps: error: 'npm ci' in $dir failed (is the npm registry reachable?)" >&2
    exit 1
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  install_js
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: error: apt-get not found; install these Debian packages by hand: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: error: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq; then
  echo "install-deps: error: 'apt-get update' failed (is the package archive reachable?)" >&2
  exit 1
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "install-deps: error: 'apt-get install ${missing[*]}' failed" >&2
  exit 1
fi
install_js
