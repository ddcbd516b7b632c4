/*
 * Flow table scenarios with an injected clock: the packets' own times.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ctflow/flow-table.h"
#include "ctflow/record.h"

#define SEC 1000000ull

struct world {
	struct ctf_flow_table *t;
	struct ctf_record recs[64];
	int n;
};

static void collect(const struct ctf_record *r, void *ud)
{
	struct world *w = ud;

	assert_true(w->n < 64);
	w->recs[w->n++] = *r;
}

static struct world *given_table(uint64_t idle_s, uint64_t active_s, size_t max_flows)
{
	struct world *w = calloc(1, sizeof(*w));
	struct ctf_flow_table_config cfg;

	ctf_flow_table_config_init(&cfg);
	cfg.idle_timeout_us = idle_s * SEC;
	cfg.active_timeout_us = active_s * SEC;
	if (max_flows)
		cfg.max_flows = max_flows;
	w->t = ctf_flow_table_new(&cfg, collect, w);
	assert_non_null(w->t);
	return w;
}

static void world_free(struct world *w)
{
	ctf_flow_table_free(w->t);
	free(w);
}

static struct ctf_packet v4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			    uint8_t proto, uint32_t len, uint64_t ts_us)
{
	struct ctf_packet p = { 0 };

	p.family = 4;
	p.proto = proto;
	inet_pton(AF_INET, src, p.src.b);
	inet_pton(AF_INET, dst, p.dst.b);
	p.sport = sport;
	p.dport = dport;
	p.has_ports = true;
	p.ip_len = len;
	p.ts_us = ts_us;
	return p;
}

static void send_udp(struct world *w, const char *src, uint16_t sp, const char *dst,
		     uint16_t dp, uint32_t len, uint64_t ts_us)
{
	struct ctf_packet p = v4(src, sp, dst, dp, 17, len, ts_us);

	ctf_flow_table_add_packet(w->t, &p);
}

static void send_tcp(struct world *w, const char *src, uint16_t sp, const char *dst,
		     uint16_t dp, uint16_t flags, uint64_t ts_us)
{
	struct ctf_packet p = v4(src, sp, dst, dp, 6, 52, ts_us);

	p.tcp_flags = flags;
	ctf_flow_table_add_packet(w->t, &p);
}

static void send_icmp(struct world *w, const char *src, const char *dst, uint8_t type,
		      uint16_t id, uint64_t ts_us)
{
	struct ctf_packet p = v4(src, 0, dst, 0, 1, 84, ts_us);

	p.icmp_type = type;
	p.icmp_id = id;
	ctf_flow_table_add_packet(w->t, &p);
}

static void expect_record(const struct ctf_record *r, const char *src, uint16_t sport,
			  uint64_t pkts, uint64_t rev_pkts, uint8_t reason)
{
	struct ctf_addr a = { 0 };

	inet_pton(AF_INET, src, a.b);
	assert_memory_equal(&r->src, &a, sizeof(a));
	assert_int_equal(r->sport, sport);
	assert_int_equal(r->packets, pkts);
	assert_int_equal(r->rev_packets, rev_pkts);
	assert_int_equal(r->end_reason, reason);
}

/* Each direction's first and last packet (ms; 0 without packets). */
static void expect_dir_times(const struct ctf_record *r, uint64_t fwd_start, uint64_t fwd_end,
			     uint64_t rev_start, uint64_t rev_end)
{
	assert_true(r->has_dir_times);
	assert_int_equal(r->fwd_start_ms, fwd_start);
	assert_int_equal(r->fwd_end_ms, fwd_end);
	assert_int_equal(r->rev_start_ms, rev_start);
	assert_int_equal(r->rev_end_ms, rev_end);
}

static void test_invalid_config(void **state)
{
	struct ctf_flow_table_config cfg;

	ctf_flow_table_config_init(&cfg);
	assert_null(ctf_flow_table_new(NULL, collect, NULL));
	assert_null(ctf_flow_table_new(&cfg, NULL, NULL));
	cfg.idle_timeout_us = 0;
	assert_null(ctf_flow_table_new(&cfg, collect, NULL));
	ctf_flow_table_config_init(&cfg);
	cfg.max_flows = 0;
	assert_null(ctf_flow_table_new(&cfg, collect, NULL));
	ctf_flow_table_free(NULL);
}

static void test_biflow_direction_and_counters(void **state)
{
	struct world *w = given_table(60, 300, 0);

	/* initiator is the higher address: the canonical key must not leak */
	send_udp(w, "10.0.0.9", 5000, "10.0.0.1", 53, 60, 1 * SEC);
	send_udp(w, "10.0.0.1", 53, "10.0.0.9", 5000, 200, 1 * SEC + 500);
	send_udp(w, "10.0.0.9", 5000, "10.0.0.1", 53, 70, 2 * SEC);
	ctf_flow_table_flush(w->t, CTF_END_FORCED);

	assert_int_equal(w->n, 1);
	expect_record(&w->recs[0], "10.0.0.9", 5000, 2, 1, CTF_END_FORCED);
	assert_int_equal(w->recs[0].dport, 53);
	assert_int_equal(w->recs[0].octets, 130);
	assert_int_equal(w->recs[0].rev_octets, 200);
	assert_int_equal(w->recs[0].start_ms, 1000);
	assert_int_equal(w->recs[0].end_ms, 2000);
	world_free(w);
}

/* Uniflow times: each direction's own first and last packet, also when
 * a record after an active split starts with the responder's packet. */
static void test_direction_times(void **state)
{
	struct world *w = given_table(60, 10, 0);
	struct ctf_record fwd, rev;

	send_udp(w, "10.0.0.9", 5000, "10.0.0.1", 53, 60, 1 * SEC);
	send_udp(w, "10.0.0.9", 5000, "10.0.0.1", 53, 60, 2 * SEC + 1500);	/* 2001.5 ms */
	send_udp(w, "10.0.0.1", 53, "10.0.0.9", 5000, 90, 3 * SEC);
	send_udp(w, "10.0.0.9", 5000, "10.0.0.1", 53, 60, 4 * SEC);
	send_udp(w, "10.0.0.1", 53, "10.0.0.9", 5000, 90, 5 * SEC + 999);
	send_udp(w, "10.0.0.1", 53, "10.0.0.9", 5000, 90, 12 * SEC);	/* active split first */
	send_udp(w, "10.0.0.1", 53, "10.0.0.9", 5000, 90, 13 * SEC);
	ctf_flow_table_flush(w->t, CTF_END_FORCED);

	assert_int_equal(w->n, 2);
	expect_record(&w->recs[0], "10.0.0.9", 5000, 3, 2, CTF_END_ACTIVE);
	assert_int_equal(w->recs[0].start_ms, 1000);
	assert_int_equal(w->recs[0].end_ms, 5000);
	expect_dir_times(&w->recs[0], 1000, 4000, 3000, 5000);
	assert_int_equal(ctf_record_split_uniflow(&w->recs[0], &fwd, &rev),
			 CTF_UNIFLOW_FWD | CTF_UNIFLOW_REV);
	assert_int_equal(fwd.start_ms, 1000);
	assert_int_equal(fwd.end_ms, 4000);
	assert_int_equal(rev.start_ms, 3000);
	assert_int_equal(rev.end_ms, 5000);

	/* the second record has only the responder's packets */
	expect_record(&w->recs[1], "10.0.0.9", 5000, 0, 2, CTF_END_FORCED);
	expect_dir_times(&w->recs[1], 0, 0, 12000, 13000);
	assert_int_equal(ctf_record_split_uniflow(&w->recs[1], &fwd, &rev), CTF_UNIFLOW_REV);
	assert_int_equal(rev.packets, 2);
	assert_int_equal(rev.start_ms, 12000);
	world_free(w);
}

static void test_idle_timeout_splits(void **state)
{
	struct world *w = given_table(30, 300, 0);

	send_udp(w, "10.0.0.1", 1000, "10.0.0.2", 2000, 100, 0);
	send_udp(w, "10.0.0.1", 1000, "10.0.0.2", 2000, 100, 29 * SEC);
	/* idle for exactly 30 s: expired before this packet is counted */
	send_udp(w, "10.0.0.2", 2000, "10.0.0.1", 1000, 100, 59 * SEC);
	ctf_flow_table_flush(w->t, CTF_END_FORCED);

	assert_int_equal(w->n, 2);
	expect_record(&w->recs[0], "10.0.0.1", 1000, 2, 0, CTF_END_IDLE);
	/* the resumed flow is new: its initiator is whoever spoke first */
	expect_record(&w->recs[1], "10.0.0.2", 2000, 1, 0, CTF_END_FORCED);
	assert_int_not_equal(w->recs[0].flow_id, w->recs[1].flow_id);
	world_free(w);
}

static void test_active_timeout_continues_flow(void **state)
{
	struct world *w = given_table(60, 10, 0);

	for (uint64_t s = 0; s < 25; s++)
		send_udp(w, "10.0.0.1", 1000, "10.0.0.2", 2000, 100, s * SEC);
	ctf_flow_table_flush(w->t, CTF_END_FORCED);

	assert_int_equal(w->n, 3);
	expect_record(&w->recs[0], "10.0.0.1", 1000, 10, 0, CTF_END_ACTIVE);
	expect_record(&w->recs[1], "10.0.0.1", 1000, 10, 0, CTF_END_ACTIVE);
	expect_record(&w->recs[2], "10.0.0.1", 1000, 5, 0, CTF_END_FORCED);
	assert_int_equal(w->recs[1].start_ms, 10000);
	assert_int_equal(w->recs[2].end_ms, 24000);
	assert_int_equal(w->recs[0].flow_id, w->recs[2].flow_id);
	world_free(w);
}

static void test_advance_expires_without_packets(void **state)
{
	struct world *w = given_table(5, 300, 0);

	send_udp(w, "10.0.0.1", 1, "10.0.0.2", 2, 100, 0);
	ctf_flow_table_advance(w->t, 4 * SEC);
	assert_int_equal(w->n, 0);
	ctf_flow_table_advance(w->t, 5 * SEC);
	assert_int_equal(w->n, 1);
	expect_record(&w->recs[0], "10.0.0.1", 1, 1, 0, CTF_END_IDLE);
	/* time never moves backwards */
	ctf_flow_table_advance(w->t, 1 * SEC);
	assert_int_equal(w->n, 1);
	world_free(w);
}

static void test_tcp_fin_linger_counts_last_ack(void **state)
{
	struct world *w = given_table(60, 300, 0);
	const char *c = "192.168.1.10", *s = "192.168.1.20";

	send_tcp(w, c, 40000, s, 80, CTF_TCP_SYN, 0);
	send_tcp(w, s, 80, c, 40000, CTF_TCP_SYN | CTF_TCP_ACK, 100);
	send_tcp(w, c, 40000, s, 80, CTF_TCP_ACK, 200);
	send_tcp(w, c, 40000, s, 80, CTF_TCP_FIN | CTF_TCP_ACK, 1000);
	send_tcp(w, s, 80, c, 40000, CTF_TCP_FIN | CTF_TCP_ACK, 1100);
	send_tcp(w, c, 40000, s, 80, CTF_TCP_ACK, 1200);	/* last ACK: same flow */
	assert_int_equal(w->n, 0);
	ctf_flow_table_advance(w->t, 3 * SEC);
	assert_int_equal(w->n, 1);
	expect_record(&w->recs[0], c, 40000, 4, 2, CTF_END_EOF);
	assert_int_equal(w->recs[0].tcp_flags, CTF_TCP_SYN | CTF_TCP_ACK | CTF_TCP_FIN);
	assert_int_equal(w->recs[0].rev_tcp_flags, CTF_TCP_SYN | CTF_TCP_ACK | CTF_TCP_FIN);
	world_free(w);
}

/* The packets that arrive while a flow lingers count in its record's TCP
 * flags too: after an active split, a record can hold nothing else from
 * one side (found by a 3,000-flow golden-random capture). */
static void test_tcp_linger_flags_after_active_split(void **state)
{
	struct world *w = given_table(60, 10, 0);
	const char *c = "192.168.1.10", *s = "192.168.1.20";

	send_tcp(w, c, 40000, s, 80, CTF_TCP_SYN, 0);
	send_tcp(w, s, 80, c, 40000, CTF_TCP_SYN | CTF_TCP_ACK, 100);
	send_tcp(w, c, 40000, s, 80, CTF_TCP_FIN | CTF_TCP_ACK, 9 * SEC);
	/* the server's FIN after the split: FIN both ways, the flow lingers */
	send_tcp(w, s, 80, c, 40000, CTF_TCP_FIN | CTF_TCP_ACK, 11 * SEC);
	send_tcp(w, c, 40000, s, 80, CTF_TCP_ACK | CTF_TCP_PSH, 11 * SEC + 100);
	ctf_flow_table_advance(w->t, 14 * SEC);

	assert_int_equal(w->n, 2);
	expect_record(&w->recs[0], c, 40000, 2, 1, CTF_END_ACTIVE);
	expect_record(&w->recs[1], c, 40000, 1, 1, CTF_END_EOF);
	assert_int_equal(w->recs[1].tcp_flags, CTF_TCP_ACK | CTF_TCP_PSH);
	assert_int_equal(w->recs[1].rev_tcp_flags, CTF_TCP_FIN | CTF_TCP_ACK);
	world_free(w);
}

static void test_tcp_rst_and_port_reuse(void **state)
{
	struct world *w = given_table(60, 300, 0);
	const char *c = "10.1.1.1", *s = "10.1.1.2";

	send_tcp(w, c, 1234, s, 22, CTF_TCP_SYN, 0);
	send_tcp(w, s, 22, c, 1234, CTF_TCP_RST | CTF_TCP_ACK, 10);
	/* a new SYN on the closed key starts a new flow at once */
	send_tcp(w, c, 1234, s, 22, CTF_TCP_SYN, 500);
	assert_int_equal(w->n, 1);
	expect_record(&w->recs[0], c, 1234, 1, 1, CTF_END_EOF);
	ctf_flow_table_flush(w->t, CTF_END_FORCED);
	assert_int_equal(w->n, 2);
	expect_record(&w->recs[1], c, 1234, 1, 0, CTF_END_FORCED);
	world_free(w);
}

static void test_icmp_echo_pairs_by_id(void **state)
{
	struct world *w = given_table(60, 300, 0);

	send_icmp(w, "10.0.0.1", "10.0.0.2", 8, 77, 0);
	send_icmp(w, "10.0.0.2", "10.0.0.1", 0, 77, 10);
	send_icmp(w, "10.0.0.1", "10.0.0.2", 8, 78, 20);	/* other id: other flow */
	ctf_flow_table_flush(w->t, CTF_END_FORCED);

	assert_int_equal(w->n, 2);
	expect_record(&w->recs[0], "10.0.0.1", 0, 1, 1, CTF_END_FORCED);
	assert_int_equal(w->recs[0].icmp_type_code, 8 << 8);
	assert_int_equal(w->recs[0].dport, 0);
	expect_record(&w->recs[1], "10.0.0.1", 0, 1, 0, CTF_END_FORCED);
	world_free(w);
}

/* Uniflow records of ICMP: the reply direction carries the answer's type;
 * messages that are not queries keep theirs, in both address families. */
static void test_uniflow_icmp_reply_type(void **state)
{
	static const struct {
		uint8_t family, proto;
		uint16_t itc, rev_itc;
	} cases[] = {
		{ 4, 1, 8 << 8, 0 },		/* echo request -> reply */
		{ 4, 1, 0, 8 << 8 },		/* first seen: the reply */
		{ 4, 1, 13 << 8, 14 << 8 },	/* timestamp */
		{ 4, 1, 17 << 8, 18 << 8 },	/* address mask */
		{ 4, 1, 3 << 8 | 1, 3 << 8 | 1 },	/* unreachable: not a query */
		{ 6, 58, 128 << 8, 129 << 8 },	/* echo */
		{ 6, 58, 140 << 8 | 2, 139 << 8 },	/* node information */
		{ 6, 58, 1 << 8 | 4, 1 << 8 | 4 },	/* unreachable */
		{ 4, 17, 8 << 8, 8 << 8 },	/* not ICMP: untouched */
	};
	struct ctf_record bi = { 0 }, fwd, rev;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bi.family = cases[i].family;
		bi.proto = cases[i].proto;
		bi.icmp_type_code = cases[i].itc;
		bi.packets = bi.rev_packets = 1;
		bi.start_ms = 5;
		bi.end_ms = 9;
		assert_int_equal(ctf_record_split_uniflow(&bi, &fwd, &rev),
				 CTF_UNIFLOW_FWD | CTF_UNIFLOW_REV);
		assert_int_equal(fwd.icmp_type_code, cases[i].itc);
		assert_int_equal(rev.icmp_type_code, cases[i].rev_itc);
		/* without direction times (live) both carry the biflow's */
		assert_int_equal(rev.start_ms, 5);
		assert_int_equal(rev.end_ms, 9);
	}
	/* a record without packets still ends its flow: the forward one */
	bi.packets = bi.rev_packets = 0;
	assert_int_equal(ctf_record_split_uniflow(&bi, &fwd, &rev), CTF_UNIFLOW_FWD);
}

static void test_vlan_is_part_of_key(void **state)
{
	struct world *w = given_table(60, 300, 0);
	struct ctf_packet p = v4("10.0.0.1", 1, "10.0.0.2", 2, 17, 100, 0);

	ctf_flow_table_add_packet(w->t, &p);
	p.vlan_outer = 10;
	ctf_flow_table_add_packet(w->t, &p);
	ctf_flow_table_flush(w->t, CTF_END_FORCED);
	assert_int_equal(w->n, 2);
	assert_int_equal(w->recs[0].vlan + w->recs[1].vlan, 10);
	world_free(w);
}

static void test_table_full_evicts_least_recent(void **state)
{
	struct world *w = given_table(60, 300, 2);
	struct ctf_flow_table_stats st;

	send_udp(w, "10.0.0.1", 1, "10.0.0.9", 9, 100, 0);
	send_udp(w, "10.0.0.2", 2, "10.0.0.9", 9, 100, 1);
	send_udp(w, "10.0.0.1", 1, "10.0.0.9", 9, 100, 2);	/* 10.0.0.2 is now the oldest */
	send_udp(w, "10.0.0.3", 3, "10.0.0.9", 9, 100, 3);
	assert_int_equal(w->n, 1);
	expect_record(&w->recs[0], "10.0.0.2", 2, 1, 0, CTF_END_RESOURCES);
	ctf_flow_table_get_stats(w->t, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.flows_active, 2);
	world_free(w);
}

/* Idle flows leave in the order of their last packets (least recent
 * first, equal times in packet order), however far apart in time their
 * packets came and whatever order the flows were created in. */
static void test_idle_expiry_in_lru_order(void **state)
{
	struct world *w = given_table(16, 300, 0);

	send_udp(w, "10.0.0.1", 1, "10.0.0.9", 9, 100, 0);		/* A */
	send_udp(w, "10.0.0.2", 2, "10.0.0.9", 9, 100, 10);		/* B */
	send_udp(w, "10.0.0.3", 3, "10.0.0.9", 9, 100, 20);		/* C */
	send_udp(w, "10.0.0.2", 2, "10.0.0.9", 9, 100, SEC / 2);	/* B */
	send_udp(w, "10.0.0.4", 4, "10.0.0.9", 9, 100, SEC + SEC / 5);	/* D */
	send_udp(w, "10.0.0.1", 1, "10.0.0.9", 9, 100, 5 * SEC / 2);	/* A */
	send_udp(w, "10.0.0.3", 3, "10.0.0.9", 9, 100, 5 * SEC / 2);	/* C, same time */
	ctf_flow_table_advance(w->t, 16 * SEC + SEC / 2);
	assert_int_equal(w->n, 1);	/* B only: idle for exactly 16 s */
	ctf_flow_table_advance(w->t, 100 * SEC);
	assert_int_equal(w->n, 4);
	expect_record(&w->recs[0], "10.0.0.2", 2, 2, 0, CTF_END_IDLE);
	expect_record(&w->recs[1], "10.0.0.4", 4, 1, 0, CTF_END_IDLE);
	expect_record(&w->recs[2], "10.0.0.1", 1, 2, 0, CTF_END_IDLE);
	expect_record(&w->recs[3], "10.0.0.3", 3, 2, 0, CTF_END_IDLE);
	world_free(w);
}

/* The table full: the victim is the least recently active flow, also
 * when packets come to flows that were about to be evicted. */
static void test_eviction_follows_later_packets(void **state)
{
	struct world *w = given_table(60, 300, 3);

	send_udp(w, "10.0.0.1", 1, "10.0.0.9", 9, 100, 0);	/* A */
	send_udp(w, "10.0.0.2", 2, "10.0.0.9", 9, 100, 1);	/* B */
	send_udp(w, "10.0.0.3", 3, "10.0.0.9", 9, 100, 2);	/* C */
	send_udp(w, "10.0.0.4", 4, "10.0.0.9", 9, 100, 3);	/* D evicts A */
	send_udp(w, "10.0.0.2", 2, "10.0.0.9", 9, 100, 4);	/* B is recent again */
	send_udp(w, "10.0.0.5", 5, "10.0.0.9", 9, 100, 5);	/* E evicts C */
	send_udp(w, "10.0.0.6", 6, "10.0.0.9", 9, 100, 5);	/* F evicts D */
	assert_int_equal(w->n, 3);
	expect_record(&w->recs[0], "10.0.0.1", 1, 1, 0, CTF_END_RESOURCES);
	expect_record(&w->recs[1], "10.0.0.3", 3, 1, 0, CTF_END_RESOURCES);
	expect_record(&w->recs[2], "10.0.0.4", 4, 1, 0, CTF_END_RESOURCES);
	world_free(w);
}

/* Many flows with churn: every packet must be accounted exactly once. */
static void count_packets(const struct ctf_record *r, void *ud)
{
	uint64_t *sum = ud;

	*sum += r->packets + r->rev_packets;
}

static void test_churn_conserves_packets(void **state)
{
	struct ctf_flow_table_config cfg;
	struct ctf_flow_table_stats st;
	struct ctf_flow_table *t;
	uint64_t sum = 0, sent = 0;
	uint32_t x = 12345;

	ctf_flow_table_config_init(&cfg);
	cfg.idle_timeout_us = 2 * SEC;
	cfg.active_timeout_us = 5 * SEC;
	cfg.max_flows = 5000;
	t = ctf_flow_table_new(&cfg, count_packets, &sum);
	for (uint64_t i = 0; i < 200000; i++) {
		struct ctf_packet p;
		char src[32];

		x = x * 1103515245 + 12345;
		snprintf(src, sizeof(src), "10.%u.%u.1", (x >> 8) & 31, (x >> 16) & 255);
		p = v4(src, (uint16_t)(x >> 20), "10.255.0.1", 80, (x & 1) ? 6 : 17, 64, i * 50);
		p.tcp_flags = (x >> 3) & 0x17;
		ctf_flow_table_add_packet(t, &p);
		sent++;
	}
	ctf_flow_table_flush(t, CTF_END_FORCED);
	ctf_flow_table_get_stats(t, &st);
	assert_int_equal(sum, sent);
	assert_int_equal(st.packets, sent);
	assert_int_equal(st.flows_active, 0);
	assert_true(st.flows_peak <= 5000);
	ctf_flow_table_free(t);
}

/* Batched and one-by-one accounting must give the very same records. */
struct rec_log {
	GArray *recs;
};

static void log_record(const struct ctf_record *r, void *ud)
{
	g_array_append_val(((struct rec_log *)ud)->recs, *r);
}

static GArray *replay(const struct ctf_packet *pkts, size_t n, size_t batch)
{
	struct ctf_flow_table_config cfg;
	struct rec_log log = { g_array_new(FALSE, TRUE, sizeof(struct ctf_record)) };
	struct ctf_flow_table *t;

	ctf_flow_table_config_init(&cfg);
	cfg.idle_timeout_us = 1 * SEC;
	cfg.active_timeout_us = 3 * SEC;
	cfg.max_flows = 300;
	t = ctf_flow_table_new(&cfg, log_record, &log);
	for (size_t i = 0; i < n; i += batch) {
		if (batch == 1)
			ctf_flow_table_add_packet(t, &pkts[i]);
		else
			ctf_flow_table_add_packets(t, &pkts[i], MIN(batch, n - i));
	}
	ctf_flow_table_flush(t, CTF_END_FORCED);
	ctf_flow_table_free(t);
	return log.recs;
}

static void test_batch_equals_single(void **state)
{
	size_t n = 50000;
	struct ctf_packet *pkts = calloc(n, sizeof(*pkts));
	uint32_t x = 99;
	GArray *a, *b;

	for (size_t i = 0; i < n; i++) {
		char src[32];

		x = x * 1103515245 + 12345;
		snprintf(src, sizeof(src), "10.0.%u.%u", (x >> 8) & 3, (x >> 16) & 127);
		pkts[i] = v4(src, (uint16_t)(1000 + ((x >> 24) & 7)), "10.9.9.9", 443,
			     (x & 1) ? 6 : 17, 40 + (x & 1023), i * 200);
		pkts[i].tcp_flags = (x >> 4) & 0x17;
	}
	a = replay(pkts, n, 1);
	b = replay(pkts, n, 37);
	assert_true(a->len > 1000);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->data, b->data, a->len * sizeof(struct ctf_record));
	g_array_unref(a);
	g_array_unref(b);
	free(pkts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_config),
		cmocka_unit_test(test_biflow_direction_and_counters),
		cmocka_unit_test(test_direction_times),
		cmocka_unit_test(test_idle_timeout_splits),
		cmocka_unit_test(test_active_timeout_continues_flow),
		cmocka_unit_test(test_advance_expires_without_packets),
		cmocka_unit_test(test_tcp_fin_linger_counts_last_ack),
		cmocka_unit_test(test_tcp_linger_flags_after_active_split),
		cmocka_unit_test(test_tcp_rst_and_port_reuse),
		cmocka_unit_test(test_icmp_echo_pairs_by_id),
		cmocka_unit_test(test_uniflow_icmp_reply_type),
		cmocka_unit_test(test_vlan_is_part_of_key),
		cmocka_unit_test(test_table_full_evicts_least_recent),
		cmocka_unit_test(test_idle_expiry_in_lru_order),
		cmocka_unit_test(test_eviction_follows_later_packets),
		cmocka_unit_test(test_churn_conserves_packets),
		cmocka_unit_test(test_batch_equals_single),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
