#!/usr/bin/env bash
# Install what is missing, build, and run every test suite:
#  1. an optimised build with -Dwerror=true and link-time optimisation (as
#     releases are built): the unit, golden, corpus and export suites
#     (everything that needs no privileges);
#  2. an AddressSanitizer + UndefinedBehaviorSanitizer build (also
#     -Dwerror=true): every suite, the root ones included (network
#     namespaces, real conntrack, real collectors). Root suites skip
#     themselves when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

export G_SLICE=always-malloc G_DEBUG=gc-friendly
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0

setup() {
  local dir=$1; shift
  [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir"
}

echo "== build (werror, link-time optimisation as releases are built) and the unprivileged suites"
setup build-test -Dwerror=true -Dbuildtype=debugoptimized -Db_lto=true
meson test -C build-test --print-errorlogs --num-processes 2 \
  --suite unit --suite golden --suite corpus --suite export --suite install

echo "== build (ASan + UBSan, werror) and every suite"
setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
meson test -C build-asan --print-errorlogs --num-processes 2
