/*
 * Which conntrack entries ctflow reports.
 *
 * User rules: protocols, CIDRs (matching the original source or
 * destination), zones and marks (value/mask). Within a kind any rule may
 * match; every kind that has rules must match. Separately, endpoints that
 * are never reported: ctflow's own collectors, so its export traffic does
 * not feed back into itself. Pure matching, no I/O after setup.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/ct-entry.h"

struct ctf_ct_filter;
typedef struct ctf_ct_filter ctf_ct_filter;

struct ctf_ct_filter *ctf_ct_filter_new(void);

/* "tcp", "udp", "icmp", "icmpv6", "sctp", ... or a number 0-255 */
gboolean ctf_ct_filter_add_proto(struct ctf_ct_filter *f, const char *proto, GError **error);
/* "10.0.0.0/8", "2001:db8::/32", or a plain address */
gboolean ctf_ct_filter_add_cidr(struct ctf_ct_filter *f, const char *cidr, GError **error);
gboolean ctf_ct_filter_add_zone(struct ctf_ct_filter *f, const char *zone, GError **error);
/* "VALUE" or "VALUE/MASK", decimal or 0x hex */
gboolean ctf_ct_filter_add_mark(struct ctf_ct_filter *f, const char *mark, GError **error);

/**
 * ctf_ct_filter_exclude_collector - never report flows to @host:@port
 * @proto: 6 or 17
 *
 * Resolves @host now (every address it has). Returns FALSE if it cannot
 * be resolved.
 */
gboolean ctf_ct_filter_exclude_collector(struct ctf_ct_filter *f, uint8_t proto,
					 const char *host, uint16_t port, GError **error);

/**
 * ctf_ct_filter_attach_kernel - filter conntrack events in the kernel
 * @fd: a conntrack event socket
 *
 * Attaches a BPF filter (libnetfilter_conntrack) for the rules the kernel
 * can evaluate with the same meaning: protocols and marks. CIDRs (which
 * match source OR destination), zones and the collector exclusion stay in
 * user space, where ctf_ct_filter_match() applies every rule anyway. With
 * no protocol or mark rule any previous filter is detached. Returns FALSE
 * with an error when the kernel refuses.
 */
gboolean ctf_ct_filter_attach_kernel(const struct ctf_ct_filter *f, int fd, GError **error);

/* True when @e is to be reported. */
bool ctf_ct_filter_match(const struct ctf_ct_entry *e, void *filter);

/* Human-readable summary for logs ("proto tcp,udp; cidr 10.0.0.0/8"). */
char *ctf_ct_filter_describe(const struct ctf_ct_filter *f);

void ctf_ct_filter_free(struct ctf_ct_filter *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_ct_filter, ctf_ct_filter_free)
