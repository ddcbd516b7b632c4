/*
 * The offline flow table: packets in, biflow records out.
 *
 * Owns every open flow. Time comes only from the packets (or from
 * ctf_flow_table_advance()), so tests drive it with an injected clock and
 * a replay gives the same records every time. Records leave through the
 * emit callback; the table never blocks and never allocates per packet
 * once a flow exists.
 *
 * Flow rules (docs/convert.md):
 *  - key: family, protocol, addresses, ports (ICMP queries: identifier and
 *    the request type, so echo request and reply form one flow as in
 *    conntrack), VLAN tags. The first packet's sender is the initiator.
 *  - TCP: FIN seen from both sides, or RST, ends the flow with reason 3
 *    after a short linger that lets the closing ACKs count; a SYN on a
 *    closed flow starts a new one.
 *  - idle: no packet for idle_timeout -> reason 1.
 *  - active: a record older than active_timeout is exported with reason 2
 *    and the flow continues in a new record (same flowId).
 *  - max_flows: at the bound the least recently active flow is exported
 *    with reason 5 and counted.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/packet.h"
#include "ctflow/record.h"

struct ctf_flow_table_config {
	uint64_t idle_timeout_us;	/* default 60 s */
	uint64_t active_timeout_us;	/* default 300 s */
	uint64_t close_linger_us;	/* TCP after FIN/FIN or RST, default 2 s */
	size_t max_flows;		/* default 1,000,000 */
};

struct ctf_flow_table_stats {
	uint64_t packets;		/* packets accounted */
	uint64_t flows_created;
	uint64_t flows_active;		/* open now */
	uint64_t flows_peak;		/* most open at once */
	uint64_t records;		/* records emitted */
	uint64_t evicted;		/* exported early with reason 5 */
	uint64_t by_reason[6];		/* records per flowEndReason */
};

/* Called once per record; @rec is valid only during the call. */
typedef void (*ctf_flow_emit_fn)(const struct ctf_record *rec, void *userdata);

struct ctf_flow_table;
typedef struct ctf_flow_table ctf_flow_table;

void ctf_flow_table_config_init(struct ctf_flow_table_config *cfg);

/* Returns NULL only when @cfg is invalid (zero timeouts or max_flows). */
struct ctf_flow_table *ctf_flow_table_new(const struct ctf_flow_table_config *cfg,
					  ctf_flow_emit_fn emit, void *userdata);

/* Account one decoded packet (fragments already resolved by ctf_frag). */
void ctf_flow_table_add_packet(struct ctf_flow_table *t, const struct ctf_packet *pkt);

/* The same for @n packets in order, faster: their memory accesses overlap.
 * The result is exactly that of calling ctf_flow_table_add_packet() on
 * each. */
void ctf_flow_table_add_packets(struct ctf_flow_table *t, const struct ctf_packet *pkts,
				size_t n);

/* Move time forward to @now_us, expiring what is due. Time never moves
 * backwards: an earlier @now_us is ignored. */
void ctf_flow_table_advance(struct ctf_flow_table *t, uint64_t now_us);

/* Export every open flow with @reason (end of input: CTF_END_FORCED). */
void ctf_flow_table_flush(struct ctf_flow_table *t, enum ctf_end_reason reason);

void ctf_flow_table_get_stats(const struct ctf_flow_table *t,
			      struct ctf_flow_table_stats *ret_stats);

/* Frees without emitting. NULL ok. */
void ctf_flow_table_free(struct ctf_flow_table *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_flow_table, ctf_flow_table_free)
