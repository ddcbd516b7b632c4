/*
 * Conntrack netlink source: one event socket (and one dump socket) per
 * network namespace, opened with libmnl.
 *
 * Owns the sockets and the receive buffers; parses with ctf_ct_parse() and
 * hands entries to a callback. Knows nothing about flows or export. Reading
 * never blocks; the caller polls ctf_ct_source_fd().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/ct-entry.h"

struct ctf_ct_source_config {
	const char *netns;	/* NULL: the current namespace; a name under
				 * /run/netns or a path such as /proc/PID/ns/net */
	const char *label;	/* the namespace in messages and
				 * ctf_ct_source_name(); NULL: @netns */
	size_t rcvbuf;		/* requested receive buffer, default 64 MiB */
	bool reliable;		/* NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS:
				 * the kernel drops no event but may slow
				 * conntrack (and packets) when ctflow lags */
	bool no_update;		/* do not subscribe to UPDATE events */
};

struct ctf_ct_source_stats {
	uint64_t msgs[5];	/* by enum ctf_ct_msg */
	uint64_t enobufs;	/* overruns reported by the kernel */
	uint64_t parse_errors;
	uint64_t dumps;
	size_t rcvbuf;		/* what the kernel granted (as getsockopt reports) */
};

/* Called for each parsed entry; @e is valid during the call only. */
typedef void (*ctf_ct_entry_fn)(const struct ctf_ct_entry *e, void *userdata);

struct ctf_ct_source;
typedef struct ctf_ct_source ctf_ct_source;

void ctf_ct_source_config_init(struct ctf_ct_source_config *cfg);

/**
 * ctf_ct_source_open - subscribe to NEW/UPDATE/DESTROY in a namespace
 *
 * Tries SO_RCVBUFFORCE, falls back to SO_RCVBUF with a warning that states
 * the size obtained. Returns NULL with an error naming the namespace and
 * the missing capability (CAP_NET_ADMIN) on failure.
 */
struct ctf_ct_source *ctf_ct_source_open(const struct ctf_ct_source_config *cfg,
					 GError **error);

int ctf_ct_source_fd(const struct ctf_ct_source *s);

/* Inode of the namespace the sockets live in (records carry it). */
uint32_t ctf_ct_source_netns_ino(const struct ctf_ct_source *s);

const char *ctf_ct_source_name(const struct ctf_ct_source *s);	/* label, netns or "host" */

/**
 * ctf_ct_source_read - drain what the kernel has queued, without blocking
 *
 * Returns the number of messages handled (0 when nothing was queued),
 * -ENOBUFS when the kernel dropped events since the last read (counted;
 * the socket stays usable and the caller must resynchronise with a dump),
 * or another negative errno on a real error.
 */
int ctf_ct_source_read(struct ctf_ct_source *s, ctf_ct_entry_fn fn, void *userdata);

/**
 * ctf_ct_source_dump - dump the namespace's whole conntrack table
 * @ret_complete: set to false when any dump message carried
 *                NLM_F_DUMP_INTR (the table changed shape mid-dump, so
 *                entries may be missing); may be NULL
 *
 * Blocking, on a socket of its own; entries arrive with msg CTF_CT_DUMP.
 * Events keep queueing on the event socket meanwhile.
 */
gboolean ctf_ct_source_dump(struct ctf_ct_source *s, ctf_ct_entry_fn fn, void *userdata,
			    bool *ret_complete, GError **error);

void ctf_ct_source_get_stats(const struct ctf_ct_source *s, struct ctf_ct_source_stats *ret);

void ctf_ct_source_close(struct ctf_ct_source *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_ct_source, ctf_ct_source_close)
