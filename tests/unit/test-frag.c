/*
 * Fragment accounting scenarios: datagrams out, one packet each.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ctflow/frag.h"

#define SEC 1000000ull

struct out {
	struct ctf_packet pkts[16];
	int n;
};

static void collect(const struct ctf_packet *p, void *ud)
{
	struct out *o = ud;

	assert_true(o->n < 16);
	o->pkts[o->n++] = *p;
}

/* A fragment of a 3000-octet UDP payload datagram, IPv4, 20-byte header. */
static struct ctf_packet frag4(uint32_t offset, uint16_t len, bool more, uint64_t ts)
{
	struct ctf_packet p = { 0 };

	p.family = 4;
	p.proto = 17;
	inet_pton(AF_INET, "10.0.0.1", p.src.b);
	inet_pton(AF_INET, "10.0.0.2", p.dst.b);
	p.frag_id = 4242;
	p.frag_offset = offset;
	p.frag_len = len;
	p.more_frags = more;
	p.l3_hdr_len = 20;
	p.ip_len = 20 + len;
	p.ts_us = ts;
	p.frag = offset == 0 ? CTF_FRAG_FIRST : CTF_FRAG_LATER;
	if (offset == 0) {
		p.has_ports = true;
		p.sport = 5353;
		p.dport = 53;
	}
	return p;
}

static void test_invalid_args(void **state)
{
	assert_null(ctf_frag_table_new(0, 10, collect, NULL));
	assert_null(ctf_frag_table_new(SEC, 0, collect, NULL));
	assert_null(ctf_frag_table_new(SEC, 10, NULL, NULL));
	ctf_frag_table_free(NULL);
}

static void test_whole_packets_pass_through(void **state)
{
	struct out o = { 0 };
	g_autoptr(ctf_frag_table) t = ctf_frag_table_new(30 * SEC, 8, collect, &o);
	struct ctf_packet p = frag4(0, 100, false, 5);

	p.frag = CTF_FRAG_NONE;
	ctf_frag_table_add(t, &p);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.pkts[0].ip_len, 120);
}

static void test_out_of_order_datagram_is_one_packet(void **state)
{
	struct out o = { 0 };
	g_autoptr(ctf_frag_table) t = ctf_frag_table_new(30 * SEC, 8, collect, &o);
	struct ctf_packet a = frag4(2960, 40, false, 10);	/* last first */
	struct ctf_packet b = frag4(0, 1480, true, 11);
	struct ctf_packet c = frag4(1480, 1480, true, 12);
	struct ctf_frag_stats st;

	ctf_frag_table_add(t, &a);
	ctf_frag_table_add(t, &b);
	assert_int_equal(o.n, 0);
	ctf_frag_table_add(t, &c);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.pkts[0].ip_len, 20 + 3000);	/* reassembled length */
	assert_int_equal(o.pkts[0].sport, 5353);	/* ports from the first fragment */
	assert_int_equal(o.pkts[0].ts_us, 12);		/* time of completion */
	assert_int_equal(o.pkts[0].frag, CTF_FRAG_NONE);
	ctf_frag_table_get_stats(t, &st);
	assert_int_equal(st.fragments, 3);
	assert_int_equal(st.datagrams, 1);
	assert_int_equal(st.incomplete, 0);
}

static void test_ipv6_drops_fragment_header(void **state)
{
	struct out o = { 0 };
	g_autoptr(ctf_frag_table) t = ctf_frag_table_new(30 * SEC, 8, collect, &o);
	struct ctf_packet a = frag4(0, 1232, true, 1), b = frag4(1232, 100, false, 2);

	a.family = b.family = 6;
	a.l3_hdr_len = b.l3_hdr_len = 48;	/* 40 + fragment header */
	ctf_frag_table_add(t, &a);
	ctf_frag_table_add(t, &b);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.pkts[0].ip_len, 40 + 1332);
}

static void test_incomplete_given_up_after_timeout(void **state)
{
	struct out o = { 0 };
	g_autoptr(ctf_frag_table) t = ctf_frag_table_new(30 * SEC, 8, collect, &o);
	struct ctf_packet later = frag4(1480, 1480, true, 1 * SEC);
	struct ctf_frag_stats st;

	ctf_frag_table_add(t, &later);
	ctf_frag_table_advance(t, 30 * SEC);
	assert_int_equal(o.n, 0);
	ctf_frag_table_advance(t, 31 * SEC);
	assert_int_equal(o.n, 1);
	/* no first fragment: accounted to the address pair, no ports */
	assert_false(o.pkts[0].has_ports);
	assert_int_equal(o.pkts[0].sport, 0);
	assert_int_equal(o.pkts[0].ip_len, 20 + 1480);
	ctf_frag_table_get_stats(t, &st);
	assert_int_equal(st.incomplete, 1);
}

static void test_flush_and_eviction(void **state)
{
	struct out o = { 0 };
	g_autoptr(ctf_frag_table) t = ctf_frag_table_new(30 * SEC, 2, collect, &o);
	struct ctf_frag_stats st;

	for (uint32_t id = 1; id <= 3; id++) {
		struct ctf_packet p = frag4(0, 1480, true, id);

		p.frag_id = id;
		ctf_frag_table_add(t, &p);
	}
	assert_int_equal(o.n, 1);		/* the oldest made room */
	assert_int_equal(o.pkts[0].ts_us, 1);
	assert_true(o.pkts[0].has_ports);
	ctf_frag_table_flush(t);
	assert_int_equal(o.n, 3);
	ctf_frag_table_get_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.incomplete, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_whole_packets_pass_through),
		cmocka_unit_test(test_out_of_order_datagram_is_one_packet),
		cmocka_unit_test(test_ipv6_drops_fragment_header),
		cmocka_unit_test(test_incomplete_given_up_after_timeout),
		cmocka_unit_test(test_flush_and_eviction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
