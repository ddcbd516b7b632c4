#!/bin/bash
# kernel-settings.h in a fresh namespace without rules: see
# kernel-settings-check.c for the scenario.
set -u
. "$(dirname "$0")/lib.sh"
ctft_require_root
: "${KERNEL_SETTINGS_CHECK:?set by meson}"
ctft_ns_new n ks
"$KERNEL_SETTINGS_CHECK" "$n"
