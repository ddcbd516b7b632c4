/*
 * rtnetlink pieces of the interface enricher (internal): the route cache
 * (route.c) and the link table (links.c). Both talk to the kernel through
 * one request socket the enricher opened inside its namespace; neither
 * owns a socket nor subscribes to events (interface.c reads those and
 * calls ctf_links_apply() / ctf_routes_flush()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <libmnl/libmnl.h>

#include "ctflow/enrich-interface.h"
#include "ctflow/packet.h"

/* The request socket: blocking with a receive timeout, so a kernel that
 * never answers cannot hang the caller. Requests carry increasing
 * sequence numbers; a late answer to an earlier one is skipped. */
struct ctf_rtnl_req {
	struct mnl_socket *nl;		/* not owned by the users below */
	uint32_t portid;
	uint32_t seq;
	uint8_t *buf;			/* CTF_RTNL_BUF_SIZE */
};

#define CTF_RTNL_BUF_SIZE (32u << 10)

/* ---- route cache (route.c) ------------------------------------------ */

struct ctf_route_answer {
	uint32_t oif;			/* RTA_OIF, 0 if none */
	uint8_t type;			/* RTN_UNICAST, RTN_LOCAL, ...; RTN_UNREACHABLE
					 * for a negative answer */
};

struct ctf_routes;

struct ctf_routes *ctf_routes_new(struct ctf_rtnl_req *req, size_t max_entries);
void ctf_routes_free(struct ctf_routes *r);

/**
 * ctf_routes_get - the route to @dst, from the cache or the kernel
 * @family: 4 or 6
 *
 * Returns 0 with @ret filled (negative kernel answers such as
 * ENETUNREACH are answers: type RTN_UNREACHABLE, cached too), or a
 * negative errno when the kernel did not answer (not cached).
 */
int ctf_routes_get(struct ctf_routes *r, uint8_t family, const struct ctf_addr *dst,
		   struct ctf_route_answer *ret);

/* Forget every cached answer (a route, address, rule or link changed). */
void ctf_routes_flush(struct ctf_routes *r);

struct ctf_routes_stats {
	uint64_t queries, hits, errors, flushes;
};

void ctf_routes_get_stats(const struct ctf_routes *r, struct ctf_routes_stats *ret);

/* ---- link table (links.c) ------------------------------------------- */

struct ctf_links;

struct ctf_links *ctf_links_new(void);
void ctf_links_free(struct ctf_links *l);

/**
 * ctf_links_dump - replace the table with a fresh RTM_GETLINK dump
 *
 * Blocking (bounded by the socket's receive timeout). Bumps the
 * generation when the result differs from the table before.
 */
gboolean ctf_links_dump(struct ctf_links *l, struct ctf_rtnl_req *req, GError **error);

/* Apply one RTM_NEWLINK/RTM_DELLINK message; returns true when an
 * interface appeared, disappeared or changed name or alias. */
bool ctf_links_apply(struct ctf_links *l, const struct nlmsghdr *nlh);

const struct ctf_if_link *ctf_links_all(const struct ctf_links *l, size_t *ret_n);
const struct ctf_if_link *ctf_links_get(const struct ctf_links *l, uint32_t ifindex);
uint32_t ctf_links_find_name(const struct ctf_links *l, const char *name);	/* 0: none */
uint64_t ctf_links_generation(const struct ctf_links *l);
