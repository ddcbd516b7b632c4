/*
 * gen-pcap golden scenario: a fixed script of conversations, each written
 * to exercise one rule of `ctflow convert`, with the expected records
 * computed by gen-pcap-truth.c.
 *
 * Times are offsets from 2024-01-01T00:00:00Z in microseconds. The script
 * is laid out for the default timeouts (idle 30 s, active 120 s, linger
 * 2 s); other values still give exact truth as long as they do not create
 * a case the contract leaves open (the truth model refuses those).
 * Non-Ethernet link types drop the VLAN conversations and the ARP frames.
 *
 * Also here: golden-evict (a small flow table, reason 5) and golden-big
 * (counters beyond 32 bits), which share the helpers but not the script.
 */
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

#define T0_US 1704067200000000ull
#define MS(x) ((uint64_t)(x) * 1000ull)
#define SEC(x) ((uint64_t)(x) * 1000000ull)

#define MAX_CONV 64

struct frame {
	uint64_t ts_us;
	uint64_t seq;
	uint32_t len, caplen;
	uint8_t *data;
};

struct golden {
	const struct gp_options *o;
	struct gp_conv conv[MAX_CONV];
	bool skip[MAX_CONV];
	bool reply_first[MAX_CONV];	/* ICMP: the initiator sends echo replies */
	bool zero_payload;
	size_t nconv;
	struct frame *fr;
	size_t nfr, capfr;
	struct gp_event *ev;
	size_t nev, capev;
	uint64_t seq;
	struct gp_rng rng;
	uint8_t l4[70000], ip[70000], link[70100];
};

static void fill_rng(uint8_t *buf, uint32_t len, void *userdata)
{
	struct gp_rng *r = userdata;
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(gp_rng_next(r) >> 56);
}

static void add_frame(struct golden *g, uint64_t t, const uint8_t *data, uint32_t len,
		      uint32_t caplen)
{
	struct frame *f;

	if (g->nfr == g->capfr) {
		g->capfr = g->capfr ? 2 * g->capfr : 1024;
		g->fr = realloc(g->fr, g->capfr * sizeof(*g->fr));
		if (!g->fr)
			abort();
	}
	f = &g->fr[g->nfr++];
	f->ts_us = T0_US + t;
	f->seq = g->seq++;
	f->len = len;
	f->caplen = caplen ? caplen : len;
	if (f->caplen > g->o->snaplen)
		f->caplen = g->o->snaplen;
	/* keep only what the file will hold */
	f->data = malloc(f->caplen);
	if (!f->data)
		abort();
	memcpy(f->data, data, f->caplen);
}

static void add_event(struct golden *g, int ci, int dir, uint64_t t, uint32_t ip_len,
		      const struct gp_l4 *l4)
{
	struct gp_event *e;

	if (g->nev == g->capev) {
		g->capev = g->capev ? 2 * g->capev : 1024;
		g->ev = realloc(g->ev, g->capev * sizeof(*g->ev));
		if (!g->ev)
			abort();
	}
	e = &g->ev[g->nev++];
	memset(e, 0, sizeof(*e));
	e->ts_us = T0_US + t;
	e->seq = g->seq++;
	e->conv = ci;
	e->dir = dir;
	e->ip_len = ip_len;
	e->tcp_flags = g->conv[ci].proto == 6 ? l4->tcp_flags : 0;
	e->icmp_type = l4->icmp_type;
	e->icmp_code = l4->icmp_code;
}

static int conv_add(struct golden *g, const struct gp_conv *c)
{
	int i = (int)g->nconv++;

	if (g->nconv > MAX_CONV)
		abort();
	g->conv[i] = *c;
	g->conv[i].seq[0] = 0x1000000u * (uint32_t)(i + 1);
	g->conv[i].seq[1] = 0x7000000u + 0x10000u * (uint32_t)i;
	g->conv[i].ip_id[0] = (uint16_t)(0x100 * (i + 1));
	g->conv[i].ip_id[1] = (uint16_t)(0x8000 + 0x100 * i);
	/* VLANs only exist on the Ethernet capture */
	g->skip[i] = c->vlan && g->o->linktype != GP_LINK_ETHERNET;
	return i;
}

/* echo request from the initiator, reply from the responder (or the
 * other way round for reply_first conversations) */
static void icmp_types(const struct golden *g, int ci, int dir, struct gp_l4 *l4)
{
	bool request = (dir == 0) != g->reply_first[ci];

	if (g->conv[ci].proto == 1)
		l4->icmp_type = request ? 8 : 0;
	else if (g->conv[ci].proto == 58)
		l4->icmp_type = request ? 128 : 129;
}

/* One unfragmented packet; @caplen 0 = capture it whole. */
static void pkt_snap(struct golden *g, int ci, int dir, uint64_t t, uint16_t flags,
		     uint32_t payload, uint32_t caplen)
{
	struct gp_conv *c = &g->conv[ci];
	struct gp_l4 l4 = { .tcp_flags = flags, .payload_len = payload };
	uint32_t l4len, iplen, len;

	if (g->skip[ci])
		return;
	icmp_types(g, ci, dir, &l4);
	l4len = gp_build_l4(c, dir, &l4, g->zero_payload ? NULL : fill_rng, &g->rng, g->l4);
	iplen = gp_build_ip(c, dir, g->l4, l4len, NULL, g->ip);
	len = gp_build_link(g->o->linktype, c, dir, g->ip, iplen, g->link);
	add_frame(g, t, g->link, len, caplen ? len - iplen + caplen : 0);
	add_event(g, ci, dir, t, iplen, &l4);
}

static void pkt(struct golden *g, int ci, int dir, uint64_t t, uint16_t flags, uint32_t payload)
{
	pkt_snap(g, ci, dir, t, flags, payload, 0);
}

/*
 * One datagram of @payload octets cut into fragments of @fsize octets of
 * L4 data (a multiple of 8), written in the order @order (indexes, -1
 * terminated, repeats allowed for duplicates; NULL = in order), @gap_us
 * apart. Accounted once, at the last frame's time (every scenario
 * completes the datagram with its last frame), with the reassembled
 * length.
 */
static void frag_dgram(struct golden *g, int ci, int dir, uint64_t t, uint32_t payload,
		       uint32_t fsize, const int *order, uint64_t gap_us)
{
	struct gp_conv *c = &g->conv[ci];
	struct gp_l4 l4 = { .payload_len = payload };
	uint32_t l4len, nfrag, k, iplen, len;
	struct gp_frag fr = { .on = true };
	uint8_t *whole;

	if (g->skip[ci])
		return;
	icmp_types(g, ci, dir, &l4);
	l4len = gp_build_l4(c, dir, &l4, fill_rng, &g->rng, g->l4);
	whole = malloc(l4len);
	memcpy(whole, g->l4, l4len);
	fr.id = c->family == 4 ? c->ip_id[dir]++ : 0x5eed0000u + c->ip_id[dir]++;
	nfrag = (l4len + fsize - 1) / fsize;
	for (k = 0; order ? order[k] >= 0 : k < nfrag; k++) {
		uint32_t idx = order ? (uint32_t)order[k] : k;
		uint32_t off = idx * fsize;
		uint32_t n = l4len - off < fsize ? l4len - off : fsize;

		fr.offset = off;
		fr.more = idx + 1 < nfrag;
		iplen = gp_build_ip(c, dir, whole + off, n, &fr, g->ip);
		len = gp_build_link(g->o->linktype, c, dir, g->ip, iplen, g->link);
		add_frame(g, t + k * gap_us, g->link, len, 0);
	}
	add_event(g, ci, dir, t + (k - 1) * gap_us, gp_ip_len(c, dir, l4len), &l4);
	free(whole);
}

static void arp(struct golden *g, uint64_t t, bool reply, const uint8_t *spa, const uint8_t *tpa)
{
	uint32_t len;

	if (g->o->linktype != GP_LINK_ETHERNET)
		return;
	len = gp_build_arp(reply, spa, tpa, g->link);
	add_frame(g, t, g->link, len, 0);
}

/* ---- conversation helpers ---- */

static int conv4(struct golden *g, const char *name, uint8_t proto, const uint8_t ini[4],
		 const uint8_t rsp[4], uint16_t sport, uint16_t dport)
{
	struct gp_conv c = { .family = 4, .proto = proto, .sport = sport, .dport = dport };

	snprintf(c.name, sizeof(c.name), "%s", name);
	gp_addr4(c.ini, ini[0], ini[1], ini[2], ini[3]);
	gp_addr4(c.rsp, rsp[0], rsp[1], rsp[2], rsp[3]);
	return conv_add(g, &c);
}

static int conv6(struct golden *g, const char *name, uint8_t proto, uint16_t inet, uint16_t ihost,
		 uint16_t rnet, uint16_t rhost, uint16_t sport, uint16_t dport)
{
	struct gp_conv c = { .family = 6, .proto = proto, .sport = sport, .dport = dport,
			     .flow_label = 0x12340u + (uint32_t)g->nconv };

	snprintf(c.name, sizeof(c.name), "%s", name);
	gp_addr6(c.ini, inet, ihost);
	gp_addr6(c.rsp, rnet, rhost);
	return conv_add(g, &c);
}

/* SYN, SYN-ACK, ACK starting at @t, @rtt apart; returns the time after */
static uint64_t handshake(struct golden *g, int ci, uint64_t t, uint64_t rtt)
{
	pkt(g, ci, 0, t, GP_TCP_SYN, 0);
	pkt(g, ci, 1, t + rtt, GP_TCP_SYN | GP_TCP_ACK, 0);
	pkt(g, ci, 0, t + 2 * rtt, GP_TCP_ACK, 0);
	return t + 2 * rtt;
}

/* FIN from @first, FIN+ACK from the other side, last ACK */
static uint64_t close_fin(struct golden *g, int ci, int first, uint64_t t, uint64_t rtt)
{
	pkt(g, ci, first, t, GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, ci, !first, t + rtt, GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, ci, first, t + 2 * rtt, GP_TCP_ACK, 0);
	return t + 2 * rtt;
}

static void ping(struct golden *g, int ci, uint64_t t, uint32_t payload, uint64_t rtt)
{
	pkt(g, ci, 0, t, 0, payload);
	pkt(g, ci, 1, t + rtt, 0, payload);
}

static const uint8_t H_C1[4] = { 10, 1, 0, 1 }, H_C2[4] = { 10, 1, 0, 2 },
	H_C3[4] = { 10, 1, 0, 3 }, H_C4[4] = { 10, 1, 0, 4 }, H_C5[4] = { 10, 1, 0, 5 },
	H_C6[4] = { 10, 1, 0, 6 }, H_C7[4] = { 10, 1, 0, 7 }, H_C8[4] = { 10, 1, 0, 8 },
	H_C9[4] = { 10, 1, 0, 9 }, H_C10[4] = { 10, 1, 0, 10 }, H_C11[4] = { 10, 1, 0, 11 },
	H_C12[4] = { 10, 1, 0, 12 },
	H_S1[4] = { 10, 2, 0, 1 }, H_S2[4] = { 10, 2, 0, 2 }, H_S5[4] = { 10, 2, 0, 5 },
	H_S99[4] = { 10, 2, 0, 99 },
	H_U7[4] = { 10, 3, 0, 7 }, H_U8[4] = { 10, 3, 0, 8 }, H_U9[4] = { 10, 3, 0, 9 },
	H_U10[4] = { 10, 3, 0, 10 }, H_U11[4] = { 10, 3, 0, 11 }, H_U53[4] = { 10, 3, 0, 53 },
	H_V1[4] = { 192, 168, 100, 10 }, H_V2[4] = { 192, 168, 100, 1 },
	H_W1[4] = { 192, 168, 1, 10 }, H_W2[4] = { 192, 168, 1, 20 },
	H_Q1[4] = { 172, 16, 0, 1 }, H_Q2[4] = { 172, 16, 0, 2 };

/* ---- the script ---- */

/* Long flows: active-timeout splits, on both address families. */
static void long_flows(struct golden *g)
{
	int u = conv4(g, "udp4-long-active", 17, H_C9, H_U10, 9000, 9001);
	int t = conv6(g, "tcp6-long-active-fin", 6, 1, 0x10, 2, 0x20, 45000, 5001);
	uint64_t k, at;

	/* every second from 0.5 s to 300.5 s; a reply every 10th. The packet
	 * at exactly first + 120 s opens the next record ("at or before"). */
	for (k = 0; k <= 300; k++) {
		pkt(g, u, 0, MS(500) + SEC(k), 0, 60 + (uint32_t)(k * 37 % 1300));
		if (k % 10 == 0)
			pkt(g, u, 1, MS(500) + SEC(k) + 250, 0, 20 + (uint32_t)k);
	}
	at = handshake(g, t, SEC(3) + MS(200) + 137, 300);
	for (k = 0; SEC(3) + MS(900) + 137 + k * MS(700) < SEC(253); k++) {
		at = SEC(3) + MS(900) + 137 + k * MS(700);
		pkt(g, t, 0, at, GP_TCP_ACK | GP_TCP_PSH, 1 + (uint32_t)(k * 53 % 1400));
		if (k % 2)
			pkt(g, t, 1, at + 300, GP_TCP_ACK, 0);
	}
	close_fin(g, t, 0, at + MS(200), 400);
}

static void tcp_flows(struct golden *g)
{
	int fin = conv4(g, "tcp4-fin", 6, H_C1, H_S1, 40001, 80);
	int rst = conv4(g, "tcp4-rst", 6, H_C2, H_S1, 40002, 443);
	int refused = conv4(g, "tcp4-refused", 6, H_C2, H_S1, 40010, 25);
	int reuse = conv4(g, "tcp4-port-reuse", 6, H_C3, H_S1, 40003, 8080);
	int syn = conv4(g, "tcp4-syn-unanswered", 6, H_C4, H_S99, 40004, 23);
	int half = conv4(g, "tcp4-half-close", 6, H_C11, H_S1, 40011, 80);
	/* first packet from the server port: the initiator is whoever sends first */
	int mid = conv4(g, "tcp4-midstream", 6, H_S5, H_C12, 443, 50000);
	int tail = conv4(g, "tcp4-fin-at-eof", 6, H_C1, H_S2, 40020, 80);
	uint64_t t;

	/* starts at .000999 s: flowStartMilliseconds must truncate, not round */
	t = handshake(g, fin, SEC(1) + 999, 400);
	pkt(g, fin, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 300);
	/* full-size segments captured with a 96-octet snaplen */
	pkt_snap(g, fin, 1, t + 900, GP_TCP_ACK, 1460, 96);
	pkt_snap(g, fin, 1, t + 950, GP_TCP_ACK, 1460, 96);
	pkt(g, fin, 1, t + 1000, GP_TCP_ACK | GP_TCP_PSH, 200);
	pkt(g, fin, 0, t + 1300, GP_TCP_ACK, 0);
	pkt(g, fin, 0, t + 2000, GP_TCP_ACK | GP_TCP_PSH, 1);
	pkt(g, fin, 1, t + 2400, GP_TCP_ACK | GP_TCP_PSH, 999);
	close_fin(g, fin, 0, MS(1500) + 777, 300);

	t = handshake(g, rst, SEC(2) + MS(300) + 11, 500);
	pkt(g, rst, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 517);
	pkt(g, rst, 1, t + 900, GP_TCP_ACK | GP_TCP_PSH, 1200);
	pkt(g, rst, 1, t + 1900, GP_TCP_RST | GP_TCP_ACK, 0);

	pkt(g, refused, 0, SEC(4) + MS(100) + 5, GP_TCP_SYN, 0);
	pkt(g, refused, 1, SEC(4) + MS(100) + 205, GP_TCP_RST | GP_TCP_ACK, 0);

	/* same 5-tuple twice, 10 s apart: two flows, two flowIds */
	for (int round = 0; round < 2; round++) {
		t = handshake(g, reuse, SEC(5 + 10 * round) + 333, 250);
		pkt(g, reuse, 0, t + 50, GP_TCP_ACK | GP_TCP_PSH, 120 + 10 * round);
		pkt(g, reuse, 1, t + 650, GP_TCP_ACK | GP_TCP_PSH, 640);
		close_fin(g, reuse, 1, t + MS(300), 250);
	}

	pkt(g, syn, 0, SEC(6) + 10, GP_TCP_SYN, 0);
	pkt(g, syn, 0, SEC(7) + 10, GP_TCP_SYN, 0);
	pkt(g, syn, 0, SEC(9) + 10, GP_TCP_SYN, 0);

	/* FIN from one side only: not an end, the flow idles out */
	t = handshake(g, half, SEC(8) + 41, 300);
	pkt(g, half, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 100);
	pkt(g, half, 1, t + 400, GP_TCP_ACK, 0);
	pkt(g, half, 0, SEC(8) + MS(500), GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, half, 1, SEC(8) + MS(500) + 300, GP_TCP_ACK, 0);

	pkt(g, mid, 0, SEC(26) + 7, GP_TCP_ACK | GP_TCP_PSH, 1400);
	pkt(g, mid, 1, SEC(26) + 307, GP_TCP_ACK, 0);
	pkt(g, mid, 0, SEC(26) + 609, GP_TCP_ACK | GP_TCP_PSH, 700);

	/* closes 0.3 s before the end of input: still lingering -> reason 3 */
	t = handshake(g, tail, SEC(299) + MS(900), 200);
	pkt(g, tail, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 42);
	close_fin(g, tail, 0, SEC(300) + MS(200) + 3, 200);
}

static void udp_flows(struct golden *g)
{
	int dns = conv4(g, "udp4-dns", 17, H_C4, H_U53, 53001, 53);
	int one = conv4(g, "udp4-one-way", 17, H_C5, H_U9, 5000, 514);
	int dns6 = conv6(g, "udp6-dns", 17, 1, 1, 2, 0x53, 53002, 53);
	int hbh = conv6(g, "udp6-hop-by-hop", 17, 1, 3, 2, 3, 6200, 6201);
	int opt = conv4(g, "udp4-ip-options", 17, H_C10, H_U11, 6100, 6101);
	int gap = conv4(g, "udp4-idle-gap", 17, H_C7, H_U8, 8000, 8001);
	int exact = conv4(g, "udp4-idle-exact", 17, H_C8, H_U8, 8002, 8003);
	int under = conv4(g, "udp4-idle-just-under", 17, H_C8, H_U8, 8004, 8005);
	int tail = conv4(g, "udp4-at-eof", 17, H_C6, H_U9, 5100, 5101);
	int idle_last = conv4(g, "udp4-idle-due-at-last-packet", 17, H_C6, H_U9, 5200, 5201);
	int active_last = conv4(g, "udp4-active-due-at-last-packet", 17, H_C6, H_U9, 5300, 5301);
	static const uint32_t oneway[5] = { 17, 1472, 400, 0, 999 };
	int k;

	pkt(g, dns, 0, SEC(10) + 500, 0, 45);
	pkt(g, dns, 1, SEC(10) + 2500, 0, 120);
	pkt(g, dns, 0, SEC(10) + MS(200), 0, 45);
	pkt(g, dns, 1, SEC(10) + MS(201), 0, 310);

	for (k = 0; k < 5; k++)
		pkt(g, one, 0, SEC(11) + MS(100) * (uint64_t)k + 3, 0, oneway[k]);

	g->conv[hbh].hbh = true;
	pkt(g, dns6, 0, SEC(12) + 17, 0, 40);
	pkt(g, dns6, 1, SEC(12) + 1017, 0, 200);
	pkt(g, hbh, 0, SEC(24) + 900, 0, 64);
	pkt(g, hbh, 0, SEC(25) + 900, 0, 1000);

	/* options on both sides, different lengths: octets include them */
	g->conv[opt].ip_opt_len[0] = 4;
	g->conv[opt].ip_opt_len[1] = 8;
	pkt(g, opt, 0, SEC(19) + 400, 0, 100);
	pkt(g, opt, 1, SEC(19) + 900, 0, 30);
	pkt(g, opt, 0, SEC(19) + MS(600), 0, 11);

	/* silent 45 s (> idle): two flows */
	for (k = 0; k < 3; k++) {
		pkt(g, gap, 0, SEC(23 + k) + 100, 0, 80 + 10 * (uint32_t)k);
		pkt(g, gap, 1, SEC(23 + k) + 600, 0, 90);
	}
	for (k = 0; k < 2; k++) {
		pkt(g, gap, 0, SEC(70 + k) + 100, 0, 500);
		pkt(g, gap, 1, SEC(70 + k) + 600, 0, 501);
	}
	/* silent exactly 30 s: "at or before t - idle" -> exported, two flows */
	pkt(g, exact, 0, SEC(30) + MS(250), 0, 10);
	pkt(g, exact, 0, SEC(60) + MS(250), 0, 20);
	/* silent 1 us less than idle: one flow */
	pkt(g, under, 0, SEC(31) + 1, 0, 30);
	pkt(g, under, 0, SEC(61), 0, 40);

	pkt(g, tail, 0, SEC(299) + MS(10), 0, 33);
	pkt(g, tail, 1, SEC(299) + MS(11), 0, 66);

	/* Timeouts that fall due exactly at the capture's last packets
	 * (300.5 s): they must be found by the sweep before those packets, not
	 * by a coarser timer, and not turned into end-of-input records. */
	pkt(g, idle_last, 0, SEC(260), 0, 5);
	pkt(g, idle_last, 0, SEC(270) + MS(499) + 999, 0, 6);	/* due 300.499999 */
	for (k = 0; k <= 10; k++)	/* record due at 300.5: split, nothing after */
		pkt(g, active_last, 0, SEC(180 + 10 * k) + MS(500), 0, 7 + (uint32_t)k);
}

static void icmp_flows(struct golden *g)
{
	int a = conv4(g, "icmp4-echo", 1, H_C1, H_S1, 0, 0);
	int b = conv4(g, "icmp4-echo-other-id", 1, H_C1, H_S1, 0, 0);
	int big = conv4(g, "icmp4-echo-fragmented", 1, H_C1, H_S2, 0, 0);
	int v6 = conv6(g, "icmp6-echo", 58, 1, 1, 2, 2, 0, 0);
	uint64_t k;

	g->conv[a].icmp_id = 0x1234;
	g->conv[b].icmp_id = 0x1235;
	g->conv[big].icmp_id = 0x2222;
	g->conv[v6].icmp_id = 7;
	for (k = 0; k < 4; k++)
		ping(g, a, SEC(13 + k) + 77, 56, 400);
	/* same hosts, another identifier, later: its own flow */
	for (k = 0; k < 3; k++)
		ping(g, b, SEC(100 + k) + 88, 56, 500);
	for (k = 0; k < 3; k++)
		ping(g, v6, SEC(14 + k) + 99, 56, 600);
	frag_dgram(g, big, 0, SEC(22) + 123, 3000, 1480, NULL, 40);
	frag_dgram(g, big, 1, SEC(22) + 723, 3000, 1480, NULL, 40);
}

static void frag_flows(struct golden *g)
{
	int f4 = conv4(g, "udp4-fragments", 17, H_C6, H_U7, 7000, 7001);
	int f6 = conv6(g, "udp6-fragments", 17, 1, 1, 2, 7, 7002, 7003);
	static const int reversed[] = { 1, 2, 0, -1 };

	frag_dgram(g, f4, 0, SEC(20) + 10, 3972, 1480, NULL, 50);
	pkt(g, f4, 1, SEC(20) + MS(10), 0, 200);
	/* out of order: middle, last, first */
	frag_dgram(g, f4, 0, SEC(20) + MS(500) + 100, 1972, 800, reversed, 100);
	pkt(g, f4, 1, SEC(20) + MS(510), 0, 16);

	frag_dgram(g, f6, 0, SEC(21) + 20, 2500, 1448, NULL, 60);
	pkt(g, f6, 1, SEC(21) + MS(5), 0, 8);
}

static void vlan_flows(struct golden *g)
{
	int t = conv4(g, "vlan100-tcp4", 6, H_V1, H_V2, 41000, 8080);
	int u1 = conv4(g, "vlan100-udp4", 17, H_W1, H_W2, 5353, 5353);
	/* same 5-tuple on another VLAN (with priority bits set): its own flow */
	int u2 = conv4(g, "vlan200-udp4-same-5tuple", 17, H_W1, H_W2, 5353, 5353);
	int q = conv4(g, "qinq300-30-udp4", 17, H_Q1, H_Q2, 6000, 6001);
	uint64_t at;

	g->conv[t].vlan = 100;
	g->conv[u1].vlan = 100;
	g->conv[u2].vlan = 200;
	g->conv[u2].vlan_pcp = 5;
	g->conv[q].vlan = 300;
	g->conv[q].inner_vlan = 30;
	/* conv_add decided skipping before the tags were set */
	g->skip[t] = g->skip[u1] = g->skip[u2] = g->skip[q] =
		g->o->linktype != GP_LINK_ETHERNET;

	at = handshake(g, t, SEC(16) + 5, 150);
	pkt(g, t, 0, at + 20, GP_TCP_ACK | GP_TCP_PSH, 77);
	pkt(g, t, 1, at + 320, GP_TCP_ACK | GP_TCP_PSH, 1234);
	close_fin(g, t, 0, at + MS(1), 150);

	pkt(g, u1, 0, SEC(17) + 1, 0, 50);
	pkt(g, u1, 0, SEC(17) + MS(20), 0, 51);
	pkt(g, u1, 1, SEC(17) + MS(21), 0, 52);
	pkt(g, u2, 0, SEC(17) + MS(50), 0, 60);
	pkt(g, u2, 1, SEC(17) + MS(51), 0, 61);

	pkt(g, q, 0, SEC(18) + 1, 0, 300);
	pkt(g, q, 1, SEC(18) + 801, 0, 301);
}

/*
 * golden-evict: seven UDP/TCP/ICMP flows against a table of --max-flows 4
 * (the truth model refuses other bounds only if they create ties). The
 * least recently active open flow makes room, with reason 5; a key that
 * returns after its eviction is a new flow with a new flowId.
 */
static void evict_flows(struct golden *g)
{
	int a = conv4(g, "evict-a-busy", 17, H_C1, H_U7, 1001, 2001);
	int b = conv4(g, "evict-b", 6, H_C2, H_S1, 1002, 80);
	int c = conv4(g, "evict-c", 17, H_C3, H_U7, 1003, 2003);
	int d = conv4(g, "evict-d-icmp", 1, H_C4, H_S1, 0, 0);
	int e = conv6(g, "evict-e", 17, 1, 5, 2, 5, 1005, 2005);
	int f = conv4(g, "evict-f", 17, H_C6, H_U7, 1006, 2006);

	g->conv[d].icmp_id = 99;
	pkt(g, a, 0, SEC(1), 0, 100);
	pkt(g, b, 0, SEC(1) + MS(100), GP_TCP_SYN, 0);
	pkt(g, b, 1, SEC(1) + MS(101), GP_TCP_SYN | GP_TCP_ACK, 0);
	pkt(g, c, 0, SEC(1) + MS(200), 0, 300);
	pkt(g, d, 0, SEC(1) + MS(300), 0, 56);
	pkt(g, d, 1, SEC(1) + MS(301), 0, 56);
	pkt(g, a, 1, SEC(1) + MS(500), 0, 101);
	pkt(g, b, 0, SEC(2), GP_TCP_ACK | GP_TCP_PSH, 10);	/* b last 2.0 */
	pkt(g, c, 1, SEC(3), 0, 30);				/* c last 3.0 */
	pkt(g, d, 0, SEC(4), 0, 56);				/* d last 4.0 */
	pkt(g, a, 0, SEC(5), 0, 102);				/* a last 5.0 */
	pkt(g, e, 0, SEC(6), 0, 400);		/* table full: b goes (last 2.0) */
	pkt(g, f, 0, SEC(7), 0, 500);		/* c goes (3.0) */
	pkt(g, b, 0, SEC(8), GP_TCP_ACK, 0);	/* b returns: new flow; d goes (4.0) */
	pkt(g, a, 0, SEC(9), 0, 103);
	pkt(g, e, 1, SEC(9) + MS(1), 0, 401);
	pkt(g, c, 0, SEC(10), 0, 301);		/* c returns; f goes (7.0) */
}

/* TCP endings the contract pins down, one conversation each. */
static void tcp_edges(struct golden *g)
{
	int relink = conv4(g, "tcp4-syn-while-lingering", 6, H_C3, H_S1, 40030, 8080);
	int crst = conv4(g, "tcp4-client-rst-late-packet", 6, H_C2, H_S1, 40031, 443);
	int refin = conv4(g, "tcp4-fin-retransmitted", 6, H_C11, H_S2, 40032, 80);
	int fin2 = conv4(g, "tcp4-fin-twice-same-side", 6, H_C12, H_S2, 40040, 80);
	int slow = conv4(g, "tcp4-slow-close", 6, H_C12, H_S2, 40041, 80);
	uint64_t t;

	/* FIN/FIN/ACK, then the client reuses the port 0.5 s later, while the
	 * first connection still lingers: two flows */
	t = handshake(g, relink, SEC(40) + 3, 200);
	pkt(g, relink, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 80);
	t = close_fin(g, relink, 0, t + MS(100), 200);
	t = handshake(g, relink, t + MS(500), 200);
	pkt(g, relink, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 81);
	pkt(g, relink, 1, t + 300, GP_TCP_ACK | GP_TCP_PSH, 700);
	close_fin(g, relink, 1, t + MS(200), 200);

	/* RST from the initiator; a late segment from the server still counts */
	t = handshake(g, crst, SEC(42) + 5, 300);
	pkt(g, crst, 1, t + 400, GP_TCP_ACK | GP_TCP_PSH, 1000);
	pkt(g, crst, 0, t + 700, GP_TCP_RST, 0);
	pkt(g, crst, 1, t + MS(500), GP_TCP_ACK | GP_TCP_PSH, 333);

	/* both FINs, then the server's FIN again (the last ACK got lost) */
	t = handshake(g, refin, SEC(43) + 9, 100);
	t = close_fin(g, refin, 0, t + MS(10), 100);
	g->conv[refin].seq[1]--;	/* a retransmission reuses the sequence number */
	pkt(g, refin, 1, t + MS(300), GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, refin, 0, t + MS(300) + 100, GP_TCP_ACK, 0);

	/* the client's FIN twice (retransmitted), the server never closes: not
	 * "FIN from both sides", the flow idles out */
	t = handshake(g, fin2, SEC(57) + 1, 100);
	pkt(g, fin2, 0, t + MS(1), GP_TCP_FIN | GP_TCP_ACK, 0);
	g->conv[fin2].seq[0]--;
	pkt(g, fin2, 0, t + MS(201), GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, fin2, 1, t + MS(202), GP_TCP_ACK, 0);

	/* the server closes 5 s after the client: the linger starts at the
	 * second FIN, so the half-closed time and the last ACK all count */
	t = handshake(g, slow, SEC(58) + 1, 100);
	pkt(g, slow, 0, t + MS(1), GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, slow, 1, t + MS(2), GP_TCP_ACK, 0);
	pkt(g, slow, 1, t + SEC(3), GP_TCP_ACK | GP_TCP_PSH, 900);
	pkt(g, slow, 0, t + SEC(3) + 100, GP_TCP_ACK, 0);
	pkt(g, slow, 1, t + SEC(5), GP_TCP_FIN | GP_TCP_ACK, 0);
	pkt(g, slow, 0, t + SEC(5) + 100, GP_TCP_ACK, 0);
}

/* Two datagrams of one flow, fragments interleaved: A1 B1 A2 B2 A3. B
 * completes at the 4th frame, A at the 5th. */
static void interleaved_fragments(struct golden *g, int ci, uint64_t t)
{
	static const struct { int dg; uint32_t off; } order[] = {
		{ 0, 0 }, { 1, 0 }, { 0, 1000 }, { 1, 1000 }, { 0, 2000 },
	};
	struct gp_conv *c = &g->conv[ci];
	struct gp_l4 l4 = { .payload_len = 2952 };
	struct gp_frag fr = { .on = true };
	uint8_t a[3000], b[3000];
	uint32_t la, lb, k, len, iplen;
	uint16_t ida, idb;

	if (g->skip[ci])
		return;
	ida = c->ip_id[0]++;
	idb = c->ip_id[0]++;
	la = gp_build_l4(c, 0, &l4, fill_rng, &g->rng, a);	/* 2960 */
	l4.payload_len = 1592;
	lb = gp_build_l4(c, 0, &l4, fill_rng, &g->rng, b);	/* 1600 */
	for (k = 0; k < 5; k++) {
		const uint8_t *src = order[k].dg ? b : a;
		uint32_t total = order[k].dg ? lb : la;
		uint32_t n = total - order[k].off < 1000 ? total - order[k].off : 1000;

		fr.id = order[k].dg ? idb : ida;
		fr.offset = order[k].off;
		fr.more = order[k].off + n < total;
		iplen = gp_build_ip(c, 0, src + order[k].off, n, &fr, g->ip);
		len = gp_build_link(g->o->linktype, c, 0, g->ip, iplen, g->link);
		add_frame(g, t + 100 * k, g->link, len, 0);
	}
	add_event(g, ci, 0, t + 300, gp_ip_len(c, 0, lb), &l4);
	add_event(g, ci, 0, t + 400, gp_ip_len(c, 0, la), &l4);
}

/* Fragment shapes: each must still be ONE packet of the reassembled length. */
static void frag_edges(struct golden *g)
{
	int f6r = conv6(g, "udp6-fragments-reversed", 17, 1, 4, 2, 4, 7010, 7011);
	int inter = conv4(g, "udp4-fragments-interleaved", 17, H_C6, H_U7, 7020, 7021);
	int fdup = conv4(g, "udp4-fragment-duplicated", 17, H_C5, H_U8, 7040, 7041);
	int fopt = conv4(g, "udp4-fragments-ip-options", 17, H_C5, H_U8, 7050, 7051);
	int fhbh = conv6(g, "udp6-hbh-fragments", 17, 1, 7, 2, 7, 7060, 7061);
	int sameid_udp = conv4(g, "udp4-frag-same-ipid-as-icmp", 17, H_C9, H_U11, 7070, 7071);
	int sameid_icmp = conv4(g, "icmp4-frag-same-ipid-as-udp", 1, H_C9, H_U11, 0, 0);
	int tiny4 = conv4(g, "udp4-tiny-fragments", 17, H_C11, H_U11, 7080, 7081);
	int tiny6 = conv6(g, "udp6-tiny-fragments", 17, 1, 8, 2, 8, 7090, 7091);
	static const int last_first[] = { 1, 0, -1 };
	static const int dup_first[] = { 0, 0, 2, 1, -1 };

	/* the flow's first datagram arrives last fragment first */
	frag_dgram(g, f6r, 0, SEC(45) + 1, 2000, 1232, last_first, 30);
	pkt(g, f6r, 1, SEC(45) + MS(2), 0, 10);

	interleaved_fragments(g, inter, SEC(46) + 1);

	/* fragment A twice, then C (the last), then B: the octets seen reach
	 * the datagram's length before B is there; still one packet, 4000
	 * octets, complete at B */
	frag_dgram(g, fdup, 0, SEC(52) + 1, 3972, 1480, dup_first, 100);
	pkt(g, fdup, 1, SEC(52) + MS(1), 0, 4);

	/* options in every fragment (Router Alert is copied) */
	g->conv[fopt].ip_opt_len[0] = 4;
	frag_dgram(g, fopt, 0, SEC(53) + 1, 2000, 1472, NULL, 100);

	/* hop-by-hop before the fragment header: reassembled = 40 + 8 + L4 */
	g->conv[fhbh].hbh = true;
	frag_dgram(g, fhbh, 0, SEC(54) + 1, 1800, 1232, NULL, 100);

	/* two datagrams between the same hosts with the same IP id, UDP and
	 * ICMP, fragments interleaved: the protocol keeps them apart */
	g->conv[sameid_icmp].icmp_id = 0x5555;
	g->conv[sameid_udp].ip_id[0] = 0x7777;
	g->conv[sameid_icmp].ip_id[0] = 0x7777;
	frag_dgram(g, sameid_udp, 0, SEC(55) + 1, 2500, 1480, NULL, 100);
	frag_dgram(g, sameid_icmp, 0, SEC(55) + 51, 2500, 1480, NULL, 100);

	/* 8-octet fragments: the first carries the UDP header and nothing else */
	frag_dgram(g, tiny4, 0, SEC(59) + 1, 16, 8, NULL, 10);
	frag_dgram(g, tiny6, 0, SEC(59) + 101, 16, 8, NULL, 10);
}

/* Keys and headers: who initiates, tags, extension headers, sizes, ties. */
static void key_edges(struct golden *g)
{
	int rep4 = conv4(g, "icmp4-reply-first", 1, H_S1, H_C1, 0, 0);
	int rep6 = conv6(g, "icmp6-reply-first", 58, 2, 2, 1, 1, 0, 0);
	int rev = conv4(g, "udp4-idle-then-reverse", 17, H_C12, H_U9, 9100, 9101);
	int jumbo = conv4(g, "udp4-jumbo-9000", 17, H_C5, H_U9, 7030, 7031);
	int dq = conv4(g, "dot1q-dot1q-udp4", 17, H_Q1, H_Q2, 6010, 6011);
	int ad = conv4(g, "dot1ad-single-udp4", 17, H_Q1, H_Q2, 6020, 6021);
	int dst6 = conv6(g, "udp6-hbh-dstopts", 17, 1, 6, 2, 6, 6210, 6211);
	int same1 = conv4(g, "udp4-same-time-1", 17, H_C7, H_U9, 7100, 7101);
	int same2 = conv4(g, "udp4-same-time-2", 17, H_C8, H_U9, 7100, 7101);

	/* an echo reply nobody asked for starts its own flow: type 0 / 129 */
	g->reply_first[rep4] = true;
	g->reply_first[rep6] = true;
	g->conv[rep4].icmp_id = 0x4444;
	g->conv[rep6].icmp_id = 0x4445;
	pkt(g, rep4, 0, SEC(44) + 11, 0, 32);
	pkt(g, rep6, 0, SEC(44) + 12, 0, 32);

	/* one way, silence beyond idle, then the other side speaks first: the
	 * second flow's initiator is the former responder */
	pkt(g, rev, 0, SEC(56) + 1, 0, 20);
	pkt(g, rev, 1, SEC(95) + 1, 0, 21);
	pkt(g, rev, 0, SEC(95) + 1001, 0, 22);

	pkt(g, jumbo, 0, SEC(47) + 1, 0, 8972);
	pkt(g, jumbo, 1, SEC(47) + 901, 0, 8);

	/* two 802.1Q tags (TPID 0x8100 twice), and one 802.1ad tag alone */
	g->conv[dq].vlan = 400;
	g->conv[dq].inner_vlan = 40;
	g->conv[dq].vlan_tpid = 0x8100;
	g->conv[ad].vlan = 500;
	g->conv[ad].vlan_tpid = 0x88a8;
	g->skip[dq] = g->skip[ad] = g->o->linktype != GP_LINK_ETHERNET;
	pkt(g, dq, 0, SEC(48) + 1, 0, 10);
	pkt(g, dq, 1, SEC(48) + 2, 0, 11);
	pkt(g, ad, 0, SEC(48) + 3, 0, 12);

	g->conv[dst6].hbh = true;
	g->conv[dst6].dstopts = true;
	pkt(g, dst6, 0, SEC(49) + 1, 0, 100);
	pkt(g, dst6, 1, SEC(49) + 2, 0, 200);

	/* the same microsecond in two flows: file order decides, nothing else */
	pkt(g, same1, 0, SEC(50) + MS(999) + 999, 0, 1);
	pkt(g, same2, 0, SEC(50) + MS(999) + 999, 0, 2);
	pkt(g, same1, 1, SEC(51), 0, 3);
}

/*
 * golden-big: counters beyond 32 bits. 480,000 datagrams of 9,000 octets
 * (4,320,000,000 > 2^32) in one record, and a TCP flow of 100,000 packets,
 * 75,000 one way (> 2^16). Written with a 128-octet snaplen by default,
 * payloads all zero (random bytes would only cost time here).
 */
static void big_flows(struct golden *g)
{
	int u = conv4(g, "udp4-over-4GiB", 17, H_C1, H_U7, 9900, 9901);
	int t = conv6(g, "tcp6-over-65536-packets", 6, 1, 9, 2, 9, 49900, 443);
	uint64_t k, at;

	for (k = 0; k < 480000; k++) {
		pkt(g, u, 0, SEC(1) + 100 * k, 0, 8972);
		if (k % 1000 == 999)
			pkt(g, u, 1, SEC(1) + 100 * k + 50, 0, 100);
	}
	at = handshake(g, t, SEC(2) + 7, 100);
	for (k = 0; k < 100000; k++)	/* 75,000 from the client */
		pkt(g, t, k % 4 == 3, at + 500 + 450 * k, GP_TCP_ACK, k % 3 ? 0 : 1200);
	close_fin(g, t, 0, SEC(50), 100);
}

static int cmp_frame(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;

	if (x->ts_us != y->ts_us)
		return x->ts_us < y->ts_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool write_pcap(struct golden *g)
{
	struct gp_pcap p;
	size_t i;

	qsort(g->fr, g->nfr, sizeof(*g->fr), cmp_frame);
	if (!gp_pcap_open(&p, g->o->out, g->o->linktype, g->o->snaplen))
		return false;
	for (i = 0; i < g->nfr; i++)
		gp_pcap_write(&p, g->fr[i].ts_us, g->fr[i].data, g->fr[i].len, g->fr[i].caplen);
	return gp_pcap_close(&p);
}

int gp_scenario_golden(const struct gp_options *o)
{
	struct golden *g = calloc(1, sizeof(*g));
	struct gp_truth_cfg cfg = {
		.idle_us = (uint64_t)(o->idle_s * 1e6 + 0.5),
		.active_us = (uint64_t)(o->active_s * 1e6 + 0.5),
		.linger_us = (uint64_t)(o->linger_s * 1e6 + 0.5),
		.max_flows = o->max_flows,
	};
	char extra[512];
	FILE *fp;
	bool ok;
	size_t i;

	if (!g)
		abort();
	if (!strcmp(o->scenario, "golden-big") && o->snaplen == 65535) {
		static struct gp_options big;

		big = *o;
		big.snaplen = 128;
		o = &big;
	}
	g->o = o;
	gp_rng_init(&g->rng, o->seed);
	if (!strcmp(o->scenario, "golden-big")) {
		g->zero_payload = true;
		big_flows(g);
	} else if (!strcmp(o->scenario, "golden-evict")) {
		if (!cfg.max_flows)
			cfg.max_flows = 4;
		evict_flows(g);
	} else {
		arp(g, MS(200), false, H_C1, H_S1);
		arp(g, MS(200) + 300, true, H_S1, H_C1);
		long_flows(g);
		tcp_flows(g);
		udp_flows(g);
		icmp_flows(g);
		frag_flows(g);
		vlan_flows(g);
		tcp_edges(g);
		frag_edges(g);
		key_edges(g);
		arp(g, SEC(150) + 3, false, H_C2, H_S1);
	}

	ok = write_pcap(g);
	snprintf(extra, sizeof(extra),
		 "  \"scenario\": \"%s\", \"seed\": %llu, \"linktype\": %d, \"snaplen\": %u,\n"
		 "  \"frames\": %zu,\n",
		 o->scenario, (unsigned long long)o->seed, o->linktype, o->snaplen, g->nfr);
	fp = ok ? fopen(o->truth, "w") : NULL;
	if (ok && !fp) {
		perror(o->truth);
		ok = false;
	}
	if (ok) {
		ok = gp_truth_write(fp, &cfg, g->conv, g->nconv, g->ev, g->nev, extra);
		ok = fclose(fp) == 0 && ok;
	}
	for (i = 0; i < g->nfr; i++)
		free(g->fr[i].data);
	free(g->fr);
	free(g->ev);
	free(g);
	return ok ? 0 : 1;
}
