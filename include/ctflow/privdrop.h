/*
 * Least privilege for `ctflow run` started as root with `[daemon] user`
 * (-u): which capabilities the configuration still needs once every
 * privileged socket is open, and the switch to that user.
 *
 * What needs what after start-up (measured on Linux 6.x; the reasons are
 * the kernel's permission checks, not guesses):
 * - CAP_NET_ADMIN, always: nfnetlink checks it for every message a
 *   process sends, so the table dumps (interim records, resyncs after an
 *   overrun, the final dump at exit) and the removal of ctflow's nftables
 *   tables at exit need it even on sockets opened as root. Receiving
 *   events on the open socket needs nothing.
 * - CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, with process enrichment:
 *   /proc/PID/fd of another user's process is a 0500 directory of that
 *   user (listing and looking up links needs DAC_READ_SEARCH), and
 *   reading a link needs ptrace read access (SYS_PTRACE). Either alone
 *   finds nothing.
 * - CAP_SYS_ADMIN and CAP_SYS_PTRACE, with `netns = all`: namespaces that
 *   appear later are found through /proc/PID/ns/net (ptrace read access
 *   to every process) and entered (setns) while running. Then NET_ADMIN
 *   and SYS_ADMIN are also raised as ambient capabilities, so the nft
 *   that ctflow runs for a new namespace has them too.
 * - CAP_NET_RAW is never kept: packet sockets check it when they are
 *   created, and every capture is opened before the switch (with
 *   `netns = all` the enrichers cover ctflow's own namespace only; a
 *   capture opened while running would need it here).
 *
 * Capabilities and credentials are per thread on Linux: a thread keeps
 * what it had when it was created. The switch therefore runs while the
 * process has a single thread, and fails if it has more; threads started
 * afterwards inherit the final state.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/run-config.h"

#define CTF_CAP_BIT(c) ((uint64_t)1 << (c))

/**
 * ctf_privdrop_caps_needed - the capabilities @cfg needs after start-up
 * @ret_ambient: (optional) the subset to raise as ambient capabilities
 *               (inherited by the programs ctflow runs)
 *
 * A bit mask, bit N for capability N. Pure policy (see the file comment).
 */
uint64_t ctf_privdrop_caps_needed(const struct ctf_run_config *cfg, uint64_t *ret_ambient);

/**
 * ctf_caps_to_string - "cap_net_admin,cap_sys_ptrace" for a mask, "none"
 * for 0; unknown bits as "cap_N". Free with g_free().
 */
char *ctf_caps_to_string(uint64_t caps);

struct ctf_privdrop;
typedef struct ctf_privdrop ctf_privdrop;

/**
 * ctf_privdrop_new - plan the switch before anything is opened
 *
 * When the effective uid is 0 and @cfg->user is set, resolves the user
 * and its groups now (so a bad name is a configuration error at start,
 * exit 2: CTF_ERROR_USAGE, as is a user whose uid is 0) and takes the
 * capability set from ctf_privdrop_caps_needed(). Otherwise the plan does
 * nothing: not root (e.g. started by systemd as User= with
 * AmbientCapabilities=), or no user configured (root keeps everything).
 */
struct ctf_privdrop *ctf_privdrop_new(const struct ctf_run_config *cfg, GError **error);

/* Whether ctf_privdrop_apply() will switch users. */
bool ctf_privdrop_is_active(const struct ctf_privdrop *pd);

/**
 * ctf_privdrop_apply - switch to the planned user, keep only the planned
 * capabilities
 *
 * Call after every privileged socket is open and before any other thread
 * is started. In order: PR_SET_KEEPCAPS; every other capability out of
 * the bounding set; the user's supplementary groups, gid and uid (real,
 * effective and saved, each checked); permitted = effective = the plan;
 * ambient as planned; PR_SET_NO_NEW_PRIVS. Then reads everything back
 * (and checks that uid 0 cannot be regained) and logs "running as USER
 * (uid N), capabilities: ...". Returns FALSE with an error naming the step
 * that failed: the process must then exit, never run half-switched. A
 * plan that does nothing returns TRUE at once. NULL is such a plan.
 */
gboolean ctf_privdrop_apply(struct ctf_privdrop *pd, GError **error);

void ctf_privdrop_free(struct ctf_privdrop *pd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_privdrop, ctf_privdrop_free)
