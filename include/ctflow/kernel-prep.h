/*
 * Kernel preparation for `ctflow run`, per namespace read: turn on
 * nf_conntrack_acct and nf_conntrack_timestamp (unless told not to),
 * activate conntrack with a minimal nftables table of ctflow's own where
 * no rule does, exempt ctflow's export traffic from tracking, and warn
 * clearly about what cannot be fixed (events disabled, missing
 * capabilities). Undone by ctf_kernel_prep_free(): the tables ctflow added
 * are removed; sysctls are left as set (other entries rely on them), so
 * nothing at exit needs write access to /proc/sys. The tables added by
 * ctf_kernel_prep_new() are removed through nf_tables sockets it opened in
 * their namespaces, which only needs CAP_NET_ADMIN: the removal works
 * after a switch to an unprivileged user (privdrop.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/run-config.h"

struct ctf_kernel_prep;
typedef struct ctf_kernel_prep ctf_kernel_prep;

/* Returns NULL with an error only for what makes running pointless
 * (e.g. conntrack events switched off and not switchable). */
struct ctf_kernel_prep *ctf_kernel_prep_new(const struct ctf_run_config *cfg, GError **error);

/**
 * ctf_kernel_prep_add_netns - prepare a namespace found at run time
 * @path: enters it during the call (ctf_netns_enter())
 * @label: names it in logs
 * @ino: its inode, the key for ctf_kernel_prep_remove_netns()
 *
 * netns = all: the same as ctf_kernel_prep_new() does for each namespace
 * it is given (sysctls, activation when conntrack is idle). Problems are
 * logged, never fatal. When ctflow adds its activation table it keeps a
 * reference to the namespace until the table is removed.
 */
void ctf_kernel_prep_add_netns(struct ctf_kernel_prep *p, const char *path, const char *label,
			       uint32_t ino);

/* ctflow no longer reads namespace @ino: remove what it added there and
 * drop its reference. @gone: nothing but ctflow refers to the namespace
 * any more, so what ctflow added dies with it: only the reference is
 * dropped. */
void ctf_kernel_prep_remove_netns(struct ctf_kernel_prep *p, uint32_t ino, bool gone);

void ctf_kernel_prep_free(struct ctf_kernel_prep *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_kernel_prep, ctf_kernel_prep_free)
