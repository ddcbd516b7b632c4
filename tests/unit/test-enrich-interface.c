/*
 * Interface enrichment without a kernel: crafted DLT_LINUX_SLL2 frames
 * (what the `any` capture delivers) go into the sample table, conntrack
 * entries come out with their interfaces; and the capture filter compiles
 * and keeps what it promises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "ctflow/enrich-interface.h"
#include "ctflow/error.h"

#define T0 1700000000000000ull	/* µs */

/* ---- frames --------------------------------------------------------------- */

struct wire {
	const char *src, *dst;
	uint16_t sport, dport;	/* ICMP: sport is the identifier */
	uint8_t proto;		/* 6, 17, 1, 58 */
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint16_t ip_id;
	uint32_t seq, ack;
	const char *payload;	/* UDP payload, NULL: "x" */
	uint16_t frag_off;	/* IPv4 fragment offset in 8-byte units */
};

struct frame {
	uint8_t b[256];
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool is_v6(const char *a)
{
	return strchr(a, ':') != NULL;
}

/* Transport header and payload at @p; returns its length. */
static uint32_t put_l4(uint8_t *p, const struct wire *w)
{
	const char *pl = w->payload ? w->payload : "x";
	uint32_t n;

	switch (w->proto) {
	case 6:
		put16(p, w->sport);
		put16(p + 2, w->dport);
		put32(p + 4, w->seq);
		put32(p + 8, w->ack);
		p[12] = 5 << 4;
		p[13] = w->tcp_flags;
		put16(p + 14, 64240);
		return 20;
	case 17:
		n = (uint32_t)strlen(pl);
		put16(p, w->sport);
		put16(p + 2, w->dport);
		put16(p + 4, (uint16_t)(8 + n));
		memcpy(p + 8, pl, n);
		return 8 + n;
	default:	/* ICMP / ICMPv6 echo */
		p[0] = w->icmp_type;
		put16(p + 4, w->sport);
		put16(p + 6, 1);
		return 8;
	}
}

static struct frame sll2(uint8_t pkttype, uint32_t ifindex, const struct wire *w)
{
	struct frame f = { 0 };
	uint8_t *ip = f.b + 20;
	uint32_t l3, l4;

	put16(f.b, is_v6(w->src) ? 0x86dd : 0x0800);
	put32(f.b + 4, ifindex);
	put16(f.b + 8, 1);		/* ARPHRD_ETHER */
	f.b[10] = pkttype;
	f.b[11] = 6;
	if (is_v6(w->src)) {
		l3 = 40;
		l4 = put_l4(ip + l3, w);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4);
		ip[6] = w->proto;
		ip[7] = 64;
		assert_int_equal(inet_pton(AF_INET6, w->src, ip + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, w->dst, ip + 24), 1);
	} else {
		l3 = 20;
		l4 = w->frag_off ? 8 : put_l4(ip + l3, w);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(l3 + l4));
		put16(ip + 4, w->ip_id);
		put16(ip + 6, w->frag_off ? w->frag_off : 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = w->proto;
		assert_int_equal(inet_pton(AF_INET, w->src, ip + 12), 1);
		assert_int_equal(inet_pton(AF_INET, w->dst, ip + 16), 1);
	}
	f.len = 20 + l3 + l4;
	return f;
}

/* ---- scenario helpers --------------------------------------------------------- */

static void given(ctf_if_samples *s, uint8_t pkttype, uint32_t ifindex, uint64_t ts,
		  struct wire w)
{
	struct frame f = sll2(pkttype, ifindex, &w);

	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, f.len, ts), 0);
}

#define given_received(s, ifindex, ts, ...) \
	given(s, PACKET_HOST, ifindex, ts, (struct wire){ __VA_ARGS__ })
#define given_sent(s, ifindex, ts, ...) \
	given(s, PACKET_OUTGOING, ifindex, ts, (struct wire){ __VA_ARGS__ })

static void set_addr(struct ctf_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(is_v6(s) ? AF_INET6 : AF_INET, s, a->b), 1);
}

/* A conntrack entry without NAT: the reply is the original reversed. */
static struct ctf_ct_entry ct_flow(uint8_t proto, const char *src, uint16_t sport,
				   const char *dst, uint16_t dport)
{
	struct ctf_ct_entry e = { 0 };

	e.family = is_v6(src) ? 6 : 4;
	e.orig.proto = e.reply.proto = proto;
	set_addr(&e.orig.src, src);
	set_addr(&e.orig.dst, dst);
	e.reply.src = e.orig.dst;
	e.reply.dst = e.orig.src;
	if (proto == 1 || proto == 58) {
		e.orig.icmp_id = e.reply.icmp_id = sport;
		e.orig.icmp_type = proto == 1 ? 8 : 128;
		e.reply.icmp_type = proto == 1 ? 0 : 129;
	} else {
		e.orig.sport = e.reply.dport = sport;
		e.orig.dport = e.reply.sport = dport;
	}
	return e;
}

/* Source NAT: replies go to @addr:@port (ICMP: identifier @port). */
static struct ctf_ct_entry masqueraded(struct ctf_ct_entry e, const char *addr, uint16_t port)
{
	set_addr(&e.reply.dst, addr);
	if (e.orig.proto == 1 || e.orig.proto == 58)
		e.reply.icmp_id = port;
	else
		e.reply.dport = port;
	return e;
}

/* Destination NAT: the flow really goes to @addr:@port. */
static struct ctf_ct_entry dnatted(struct ctf_ct_entry e, const char *addr, uint16_t port)
{
	set_addr(&e.reply.src, addr);
	e.reply.sport = port;
	return e;
}

static void expect_ifs(const ctf_if_samples *s, const struct ctf_ct_entry *e, uint32_t in,
		       uint32_t out)
{
	struct ctf_if_info info = { 0 };

	ctf_if_samples_lookup(s, e, &info);
	assert_int_equal(info.ingress_if, in);
	assert_int_equal(info.egress_if, out);
	assert_int_equal(info.ingress_src, in ? CTF_IF_SAMPLED : CTF_IF_UNKNOWN);
	assert_int_equal(info.egress_src, out ? CTF_IF_SAMPLED : CTF_IF_UNKNOWN);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_invalid_arguments(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(0);
	struct wire syn = { "10.1.0.2", "10.2.0.2", 40000, 80, 6, .tcp_flags = 2 };
	struct frame f = sll2(PACKET_HOST, 2, &syn);
	struct ctf_if_config cfg;
	GError *err = NULL;

	ctf_if_samples_free(NULL);
	ctf_if_enricher_free(NULL);
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_EN10MB, f.b, f.len, T0),
			 -EPROTONOSUPPORT);
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, NULL, 0, T0), -EINVAL);
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, 19, T0), -EINVAL);
	/* truncated inside the TCP header */
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, 50, T0), -EINVAL);
	f.b[10] = PACKET_LOOPBACK;	/* no direction */
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, f.len, T0), -EINVAL);
	f = sll2(PACKET_HOST, 0, &syn);	/* no interface */
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, f.len, T0), -EINVAL);
	f = sll2(PACKET_HOST, 2, &(struct wire){ "10.1.0.2", "10.2.0.2", 0, 0, 17,
						 .frag_off = 0x20 });
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, f.len, T0), -EINVAL);
	f = sll2(PACKET_HOST, 2, &(struct wire){ "10.1.0.2", "10.2.0.2", 0, 0, 1,
						 .icmp_type = 3 });	/* an error */
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, f.len, T0), -EINVAL);
	f = sll2(PACKET_HOST, 2, &syn);
	put16(f.b, 0x0806);		/* ARP */
	assert_int_equal(ctf_if_samples_add_frame(s, DLT_LINUX_SLL2, f.b, f.len, T0), -EINVAL);

	assert_null(ctf_if_enricher_new(NULL, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	ctf_if_config_init(&cfg);
	cfg.sampling = cfg.routing = false;
	assert_null(ctf_if_enricher_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	ctf_if_config_init(&cfg);
	cfg.sample_every = CTF_IF_SAMPLE_EVERY_MAX + 1;
	assert_null(ctf_if_enricher_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	ctf_if_config_init(&cfg);
	cfg.snaplen = 20;
	assert_null(ctf_if_enricher_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	ctf_if_config_init(&cfg);
	cfg.interfaces = (const char *const[]){ "a-name-much-too-long", NULL };
	assert_null(ctf_if_enricher_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	ctf_if_config_init(&cfg);
	cfg.netns = "ctflow-unit-no-such-namespace";
	assert_null(ctf_if_enricher_new(&cfg, &err));
	assert_non_null(err);
	assert_non_null(strstr(err->message, "ctflow-unit-no-such-namespace"));
	g_clear_error(&err);
	(void)state;
}

/* client 10.1.0.2 on if 2, router, server 198.51.100.7 on if 3 */
static void test_forwarded_without_nat(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = ct_flow(6, "10.1.0.2", 40000, "198.51.100.7", 443);

	given_received(s, 2, T0, "10.1.0.2", "198.51.100.7", 40000, 443, 6, .tcp_flags = 2);
	given_sent(s, 3, T0 + 5, "10.1.0.2", "198.51.100.7", 40000, 443, 6, .tcp_flags = 2);
	expect_ifs(s, &e, 2, 3);
	(void)state;
}

/* Masquerade: outside, the packet carries the reply tuple's addresses. */
static void test_masquerade_pre_and_post_nat(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	g_autoptr(ctf_if_samples) outside = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = masqueraded(ct_flow(6, "10.1.0.2", 40000, "198.51.100.7", 443),
					    "203.0.113.1", 61000);

	given_received(s, 2, T0, "10.1.0.2", "198.51.100.7", 40000, 443, 6, .tcp_flags = 2);
	given_sent(s, 3, T0 + 5, "203.0.113.1", "198.51.100.7", 61000, 443, 6, .tcp_flags = 2);
	expect_ifs(s, &e, 2, 3);

	/* only the post-NAT copy sampled: egress known, ingress not */
	given_sent(outside, 3, T0, "203.0.113.1", "198.51.100.7", 61000, 443, 6, .ip_id = 7);
	expect_ifs(outside, &e, 0, 3);
	(void)state;
}

/* Port forward: arrives on the outside for the router, leaves inside. */
static void test_dnat_port_forward(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = dnatted(ct_flow(6, "198.51.100.7", 5555, "203.0.113.1", 80),
					"10.1.0.10", 8080);

	given_received(s, 3, T0, "198.51.100.7", "203.0.113.1", 5555, 80, 6, .tcp_flags = 2);
	given_sent(s, 2, T0 + 4, "198.51.100.7", "10.1.0.10", 5555, 8080, 6, .tcp_flags = 2);
	expect_ifs(s, &e, 3, 2);
	(void)state;
}

/* Only the SYN-ACK was sampled: the reply arrives where the original left
 * and leaves where it arrived. */
static void test_reply_direction_only(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = masqueraded(ct_flow(6, "10.1.0.2", 40000, "198.51.100.7", 443),
					    "203.0.113.1", 61000);

	given_received(s, 3, T0, "198.51.100.7", "203.0.113.1", 443, 61000, 6, .tcp_flags = 0x12);
	given_sent(s, 2, T0 + 3, "198.51.100.7", "10.1.0.2", 443, 40000, 6, .tcp_flags = 0x12);
	expect_ifs(s, &e, 2, 3);
	(void)state;
}

/* A flow this host starts has no ingress interface. */
static void test_local_origin(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = ct_flow(17, "203.0.113.1", 50000, "198.51.100.7", 53);

	given_sent(s, 3, T0, "203.0.113.1", "198.51.100.7", 50000, 53, 17);
	given_received(s, 3, T0 + 900, "198.51.100.7", "203.0.113.1", 53, 50000, 17);
	expect_ifs(s, &e, 0, 3);
	(void)state;
}

static void test_icmp_echo_with_nat(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	g_autoptr(ctf_if_samples) replies = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = masqueraded(ct_flow(1, "10.1.0.2", 77, "198.51.100.7", 0),
					    "203.0.113.1", 1234);

	given_received(s, 2, T0, "10.1.0.2", "198.51.100.7", 77, 0, 1, .icmp_type = 8);
	given_sent(s, 3, T0 + 2, "203.0.113.1", "198.51.100.7", 1234, 0, 1, .icmp_type = 8);
	expect_ifs(s, &e, 2, 3);

	/* echo replies keyed by type 0 and the NATed identifier */
	given_received(replies, 3, T0, "198.51.100.7", "203.0.113.1", 1234, 0, 1, .icmp_type = 0);
	given_sent(replies, 2, T0 + 2, "198.51.100.7", "10.1.0.2", 77, 0, 1, .icmp_type = 0);
	expect_ifs(replies, &e, 2, 3);
	(void)state;
}

static void test_ipv6(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry udp = ct_flow(17, "fd00:1::2", 5000, "fd00:2::2", 53);
	struct ctf_ct_entry ping = ct_flow(58, "fd00:1::2", 9, "fd00:2::2", 0);

	given_received(s, 4, T0, "fd00:1::2", "fd00:2::2", 5000, 53, 17);
	given_sent(s, 5, T0 + 1, "fd00:1::2", "fd00:2::2", 5000, 53, 17);
	given_received(s, 4, T0, "fd00:1::2", "fd00:2::2", 9, 0, 58, .icmp_type = 128);
	expect_ifs(s, &udp, 4, 5);
	expect_ifs(s, &ping, 4, 0);
	(void)state;
}

/* Samples of other tuples say nothing; what the caller knew stays. */
static void test_unrelated_tuples_say_nothing(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = ct_flow(6, "10.1.0.2", 40000, "198.51.100.7", 443);
	struct ctf_if_info info = { .ingress_if = 9, .ingress_src = CTF_IF_ROUTE };

	given_received(s, 2, T0, "10.1.0.2", "198.51.100.7", 40001, 443, 6, .tcp_flags = 2);
	given_received(s, 2, T0, "10.1.0.2", "198.51.100.7", 40000, 443, 17);
	given_received(s, 2, T0, "10.1.0.3", "198.51.100.7", 40000, 443, 6);
	expect_ifs(s, &e, 0, 0);
	ctf_if_samples_lookup(s, &e, &info);
	assert_int_equal(info.ingress_if, 9);
	assert_int_equal(info.ingress_src, CTF_IF_ROUTE);
	assert_int_equal(info.egress_if, 0);
	(void)state;
}

/* Bridge br0 (5) over ports 6 and 7: the IP layer's interfaces are the
 * last receiver and the first transmitter of a packet. */
static void test_bridge_chain(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(1024);
	struct ctf_ct_entry e = ct_flow(17, "10.1.0.2", 4000, "10.2.0.2", 53);

	given_received(s, 6, T0, "10.1.0.2", "10.2.0.2", 4000, 53, 17);
	given_received(s, 5, T0 + 3, "10.1.0.2", "10.2.0.2", 4000, 53, 17);
	given_sent(s, 5, T0 + 10, "10.1.0.2", "10.2.0.2", 4000, 53, 17);
	given_sent(s, 7, T0 + 14, "10.1.0.2", "10.2.0.2", 4000, 53, 17);
	expect_ifs(s, &e, 5, 5);
	/* routing changed: 20 ms later the flow leaves through 8 */
	given_sent(s, 8, T0 + 20000, "10.1.0.2", "10.2.0.2", 4000, 53, 17);
	expect_ifs(s, &e, 5, 8);
	(void)state;
}

static void test_table_is_bounded(void **state)
{
	g_autoptr(ctf_if_samples) s = ctf_if_samples_new(10);	/* 64 slots */
	char src[32];

	for (unsigned i = 0; i < 10000; i++) {
		snprintf(src, sizeof(src), "10.%u.%u.%u", i >> 16 & 255, i >> 8 & 255, i & 255);
		given_received(s, 2 + i % 3, T0 + i, src, "10.200.0.1", 1000, 53, 17);
	}
	assert_true(ctf_if_samples_evictions(s) >= 10000 - 64);
	/* the newest tuple is always kept */
	{
		struct ctf_ct_entry e = ct_flow(17, src, 1000, "10.200.0.1", 53);

		expect_ifs(s, &e, 2 + 9999 % 3, 0);
	}
	(void)state;
}

/* ---- the capture filter -------------------------------------------------- */

static bool filter_keeps(const char *expr, const struct frame *f)
{
	pcap_t *p = pcap_open_dead(DLT_LINUX_SLL2, 128);
	struct bpf_program prog;
	struct pcap_pkthdr h = { .caplen = f->len, .len = f->len };
	bool kept;

	assert_int_equal(pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0);
	kept = pcap_offline_filter(&prog, &h, f->b) != 0;
	pcap_freecode(&prog);
	pcap_close(p);
	return kept;
}

static void test_filter_compiles(void **state)
{
	static const unsigned rates[] = { 0, 1, 2, 3, 64, 100, CTF_IF_SAMPLE_EVERY_MAX };
	static const uint32_t ifs[] = { 2, 7, 4096 };

	for (size_t i = 0; i < G_N_ELEMENTS(rates); i++) {
		for (size_t n = 0; n <= G_N_ELEMENTS(ifs); n += 3) {
			g_autofree char *expr = ctf_if_sample_filter(rates[i], ifs, n);
			pcap_t *p = pcap_open_dead(DLT_LINUX_SLL2, 128);
			struct bpf_program prog;

			if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
				fail_msg("%s: %s", expr, pcap_geterr(p));
			pcap_freecode(&prog);
			pcap_close(p);
		}
	}
	/* not a power of two: rounded up (mask 127) */
	{
		g_autofree char *expr = ctf_if_sample_filter(100, NULL, 0);

		assert_non_null(strstr(expr, "& 127 == 0"));
	}
	(void)state;
}

#define F(pkttype, ifindex, ...) ({ \
	struct frame f_ = sll2(pkttype, ifindex, &(struct wire){ __VA_ARGS__ }); f_; })

static void test_filter_keeps_syns_and_one_in_n(void **state)
{
	g_autofree char *every4 = ctf_if_sample_filter(4, NULL, 0);
	g_autofree char *syn_only = ctf_if_sample_filter(0, NULL, 0);
	g_autofree char *every2 = ctf_if_sample_filter(2, NULL, 0);
	g_autofree char *on2 = ctf_if_sample_filter(4, (const uint32_t[]){ 2 }, 1);
	struct frame f;

	/* SYN and SYN-ACK always, both families */
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x02, .ip_id = 1);
	assert_true(filter_keeps(every4, &f));
	assert_true(filter_keeps(syn_only, &f));
	f = F(PACKET_HOST, 2, "fd00::1", "fd00::2", 1, 2, 6, .tcp_flags = 0x12, .seq = 1, .ack = 1);
	assert_true(filter_keeps(every4, &f));
	assert_true(filter_keeps(syn_only, &f));
	/* IPv4: (ID + 1) mod 4 == 0 */
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x10, .ip_id = 3);
	assert_true(filter_keeps(every4, &f));
	assert_false(filter_keeps(syn_only, &f));
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x10, .ip_id = 4);
	assert_false(filter_keeps(every4, &f));
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x10, .ip_id = 0);
	assert_false(filter_keeps(every4, &f));
	/* IPv4 UDP with ID 0 (unconnected, DF): the payload decides */
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 17, .payload = "\x01\x03");
	assert_true(filter_keeps(every4, &f));	/* 0x0103 + 0 + 1 = 0x104 */
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 17, .payload = "\x01\x04");
	assert_false(filter_keeps(every4, &f));
	/* IPv6 TCP: seq + ack + 1 */
	f = F(PACKET_HOST, 2, "fd00::1", "fd00::2", 1, 2, 6, .tcp_flags = 0x10, .seq = 0x10001,
	      .ack = 2);
	assert_true(filter_keeps(every4, &f));
	f = F(PACKET_HOST, 2, "fd00::1", "fd00::2", 1, 2, 6, .tcp_flags = 0x10, .seq = 5, .ack = 5);
	assert_false(filter_keeps(every4, &f));
	/* IPv6 UDP: payload; ICMPv6 echo: sequence (1 here: 1 + 1 = 2) */
	f = F(PACKET_HOST, 2, "fd00::1", "fd00::2", 1, 2, 17, .payload = "\x01\x07");
	assert_true(filter_keeps(every4, &f));
	f = F(PACKET_HOST, 2, "fd00::1", "fd00::2", 1, 0, 58, .icmp_type = 128);
	assert_false(filter_keeps(every4, &f));
	assert_true(filter_keeps(every2, &f));
	/* only the configured interface */
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x02);
	assert_true(filter_keeps(on2, &f));
	f = F(PACKET_OUTGOING, 3, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x02);
	assert_false(filter_keeps(on2, &f));
	/* later fragments and non-IP never */
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 0, 0, 17, .ip_id = 3, .frag_off = 0x20);
	assert_false(filter_keeps(every4, &f));
	f = F(PACKET_HOST, 2, "10.1.0.2", "10.2.0.2", 1, 2, 6, .tcp_flags = 0x02);
	put16(f.b, 0x0806);
	assert_false(filter_keeps(every4, &f));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_forwarded_without_nat),
		cmocka_unit_test(test_masquerade_pre_and_post_nat),
		cmocka_unit_test(test_dnat_port_forward),
		cmocka_unit_test(test_reply_direction_only),
		cmocka_unit_test(test_local_origin),
		cmocka_unit_test(test_icmp_echo_with_nat),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unrelated_tuples_say_nothing),
		cmocka_unit_test(test_bridge_chain),
		cmocka_unit_test(test_table_is_bounded),
		cmocka_unit_test(test_filter_compiles),
		cmocka_unit_test(test_filter_keeps_syns_and_one_in_n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
