#!/usr/bin/env bash
# install-deps.sh: install the Debian packages schedkit builds, tests and
# benchmarks with. Idempotent: does nothing when every package is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  libhwloc-dev hwloc liburcu-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libfmt-dev libspdlog-dev libgtest-dev libgmock-dev librapidcheck-dev
  libbenchmark-dev libtbb-dev libconcurrentqueue-dev
  libtracecmd-dev libtraceevent-dev libtracefs-dev trace-cmd
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
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
