/*
 * Kernel preparation for `ctflow run`, per namespace read: turn on
 * nf_conntrack_acct and nf_conntrack_timestamp (unless told not to),
 * activate conntrack with a minimal nftables table of ctflow's own where
 * no rule does, exempt ctflow's export traffic from tracking, and warn
 * clearly about what cannot be fixed (events disabled, missing
 * capabilities). Undone by ctf_kernel_prep_free(): the tables ctflow added
 * are removed; sysctls are left as set (other entries rely on them).
 */
#pragma once

#include <glib.h>

#include "ctflow/run-config.h"

struct ctf_kernel_prep;
typedef struct ctf_kernel_prep ctf_kernel_prep;

/* Returns NULL with an error only for what makes running pointless
 * (e.g. conntrack events switched off and not switchable). */
struct ctf_kernel_prep *ctf_kernel_prep_new(const struct ctf_run_config *cfg, GError **error);

void ctf_kernel_prep_free(struct ctf_kernel_prep *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_kernel_prep, ctf_kernel_prep_free)
