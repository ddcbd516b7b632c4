#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the main job.
# Today the main job converts the bundled sample capture and prints the
# flow records; pass your own capture as an argument to convert that.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
[[ -f build/build.ninja ]] || meson setup build -Dtests=false >/dev/null
ninja -C build >/dev/null
sample=${1:-docs/sample.pcap}
echo "== ctflow convert $sample" >&2
build/src/ctflow convert --idle-timeout 30 "$sample"
