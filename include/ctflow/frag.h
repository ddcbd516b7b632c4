/*
 * Fragment accounting: turns IP fragments into whole datagrams for the
 * flow table, without copying payload.
 *
 * Rule (docs/convert.md): the fragments of one datagram (same family,
 * addresses, protocol and identification) count as ONE packet whose octets
 * are the reassembled IP length, the way conntrack counts after
 * defragmentation, so offline and live records agree. The datagram is
 * accounted when all its bytes have arrived, at the time of the last
 * fragment. A datagram still incomplete after the fragment timeout (or at
 * end of input) is accounted anyway, with the octets seen, to its 5-tuple
 * if the first fragment arrived and to a port-less flow of the address
 * pair otherwise, and counted as incomplete.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/packet.h"

struct ctf_frag_stats {
	uint64_t fragments;	/* fragments seen */
	uint64_t datagrams;	/* complete datagrams accounted */
	uint64_t incomplete;	/* accounted with missing bytes */
	uint64_t evicted;	/* table full: oldest accounted early */
};

/* Called with each whole (or given-up) datagram. */
typedef void (*ctf_frag_out_fn)(const struct ctf_packet *pkt, void *userdata);

struct ctf_frag_table;
typedef struct ctf_frag_table ctf_frag_table;

struct ctf_frag_table *ctf_frag_table_new(uint64_t timeout_us, size_t max_datagrams,
					  ctf_frag_out_fn out, void *userdata);

/* Feed one packet: non-fragments pass straight to @out. */
void ctf_frag_table_add(struct ctf_frag_table *t, const struct ctf_packet *pkt);

/* True when no datagram is pending: then a packet that is not a fragment
 * may bypass the table (add and advance would only pass it on). */
bool ctf_frag_table_is_empty(const struct ctf_frag_table *t);

/* Give up on datagrams older than the timeout at @now_us. */
void ctf_frag_table_advance(struct ctf_frag_table *t, uint64_t now_us);

/* Account every pending datagram (end of input). */
void ctf_frag_table_flush(struct ctf_frag_table *t);

void ctf_frag_table_get_stats(const struct ctf_frag_table *t, struct ctf_frag_stats *ret);

void ctf_frag_table_free(struct ctf_frag_table *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_frag_table, ctf_frag_table_free)
