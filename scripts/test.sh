#!/usr/bin/env bash
# Install what is missing, build, and run every test suite twice: once
# with -Dwerror=true, once under AddressSanitizer + UndefinedBehaviorSanitizer.
# Suites: unit, golden, corpus, export (and root, when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

export G_SLICE=always-malloc G_DEBUG=gc-friendly
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0

run_suites() {
  local dir=$1; shift
  [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir"
  meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== build and test (werror)"
run_suites build-test -Dwerror=true -Dbuildtype=debugoptimized
echo "== build and test (ASan + UBSan)"
run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
