#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the main job:
# `ctflow run`, the live flow probe, on this host's connection tracking,
# printing one line per flow record. Ctrl-C (or SIGTERM) stops it after
# exporting every open flow. Extra arguments go to `ctflow run`, e.g.
#   scripts/run.sh -C udp://127.0.0.1:4739      (send IPFIX to a collector)
#   scripts/run.sh --netns NAME                  (a network namespace)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
[[ -f build/build.ninja ]] || meson setup build -Dtests=false >/dev/null
ninja -C build >/dev/null

# An idle machine has little traffic: make a few loopback flows (bash's
# /dev/udp and /dev/tcp, bounded) so records show within seconds.
(
  sleep 2
  for i in 1 2 3; do
    echo "ctflow demo $i" >/dev/udp/127.0.0.1/$((9000 + i)) 2>/dev/null || true
    (exec 3<>/dev/tcp/127.0.0.1/$((9100 + i))) 2>/dev/null || true
  done
) &
echo "== ctflow run: live flow records of this host (interim records every 5 s; Ctrl-C stops)" >&2
exec build/src/ctflow run --active-timeout 5 "$@"
