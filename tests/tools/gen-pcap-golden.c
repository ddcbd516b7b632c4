/*
 * gen-pcap golden scenario: a fixed script of conversations, each written
 * to exercise one rule of `ctflow convert`, with the expected records
 * computed by gen-pcap-truth.c.
 *
 * Times are offsets from 2024-01-01T00:00:00Z in microseconds. The script
 * is laid out for the default timeouts (idle 30 s, active 120 s, linger
 * 2 s); other values give exact truth too, with other record splits.
 * Non-Ethernet link types drop the VLAN conversations and the ARP frames.
 *
 * Also here: golden-frag (fragment shapes beyond the basic ones: duplicates,
 * interleaving, options, extension headers, tiny fragments), golden-evict
 * (a small flow table, reason 5) and golden-big (counters beyond 32 bits),
 * which share the helpers but not the script.
 */
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

#define MS(x) ((uint64_t)(x) * 1000ull)
#define SEC(x) ((uint64_t)(x) * 1000000ull)

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
static void long_flows(struct gp_script *g)
{
	int u = gp_conv4(g, "udp4-long-active", 17, H_C9, H_U10, 9000, 9001);
	int t = gp_conv6(g, "tcp6-long-active-fin", 6, 1, 0x10, 2, 0x20, 45000, 5001);
	uint64_t k, at;

	/* every second from 0.5 s to 300.5 s; a reply every 10th. The packet
	 * at exactly first + 120 s opens the next record ("at or before"). */
	for (k = 0; k <= 300; k++) {
		gp_pkt(g, u, 0, MS(500) + SEC(k), 0, 60 + (uint32_t)(k * 37 % 1300));
		if (k % 10 == 0)
			gp_pkt(g, u, 1, MS(500) + SEC(k) + 250, 0, 20 + (uint32_t)k);
	}
	at = gp_handshake(g, t, SEC(3) + MS(200) + 137, 300);
	for (k = 0; SEC(3) + MS(900) + 137 + k * MS(700) < SEC(253); k++) {
		at = SEC(3) + MS(900) + 137 + k * MS(700);
		gp_pkt(g, t, 0, at, GP_TCP_ACK | GP_TCP_PSH, 1 + (uint32_t)(k * 53 % 1400));
		if (k % 2)
			gp_pkt(g, t, 1, at + 300, GP_TCP_ACK, 0);
	}
	gp_close_fin(g, t, 0, at + MS(200), 400);
}

static void tcp_flows(struct gp_script *g)
{
	int fin = gp_conv4(g, "tcp4-fin", 6, H_C1, H_S1, 40001, 80);
	int rst = gp_conv4(g, "tcp4-rst", 6, H_C2, H_S1, 40002, 443);
	int refused = gp_conv4(g, "tcp4-refused", 6, H_C2, H_S1, 40010, 25);
	int reuse = gp_conv4(g, "tcp4-port-reuse", 6, H_C3, H_S1, 40003, 8080);
	int syn = gp_conv4(g, "tcp4-syn-unanswered", 6, H_C4, H_S99, 40004, 23);
	int half = gp_conv4(g, "tcp4-half-close", 6, H_C11, H_S1, 40011, 80);
	/* first packet from the server port: the initiator is whoever sends first */
	int mid = gp_conv4(g, "tcp4-midstream", 6, H_S5, H_C12, 443, 50000);
	int tail = gp_conv4(g, "tcp4-fin-at-eof", 6, H_C1, H_S2, 40020, 80);
	uint64_t t;

	/* starts at .000999 s: flowStartMilliseconds must truncate, not round */
	t = gp_handshake(g, fin, SEC(1) + 999, 400);
	gp_pkt(g, fin, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 300);
	/* full-size segments captured with a 96-octet snaplen */
	gp_pkt_snap(g, fin, 1, t + 900, GP_TCP_ACK, 1460, 96);
	gp_pkt_snap(g, fin, 1, t + 950, GP_TCP_ACK, 1460, 96);
	gp_pkt(g, fin, 1, t + 1000, GP_TCP_ACK | GP_TCP_PSH, 200);
	gp_pkt(g, fin, 0, t + 1300, GP_TCP_ACK, 0);
	gp_pkt(g, fin, 0, t + 2000, GP_TCP_ACK | GP_TCP_PSH, 1);
	gp_pkt(g, fin, 1, t + 2400, GP_TCP_ACK | GP_TCP_PSH, 999);
	gp_close_fin(g, fin, 0, MS(1500) + 777, 300);

	t = gp_handshake(g, rst, SEC(2) + MS(300) + 11, 500);
	gp_pkt(g, rst, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 517);
	gp_pkt(g, rst, 1, t + 900, GP_TCP_ACK | GP_TCP_PSH, 1200);
	gp_pkt(g, rst, 1, t + 1900, GP_TCP_RST | GP_TCP_ACK, 0);

	gp_pkt(g, refused, 0, SEC(4) + MS(100) + 5, GP_TCP_SYN, 0);
	gp_pkt(g, refused, 1, SEC(4) + MS(100) + 205, GP_TCP_RST | GP_TCP_ACK, 0);

	/* same 5-tuple twice, 10 s apart: two flows, two flowIds */
	for (int round = 0; round < 2; round++) {
		t = gp_handshake(g, reuse, SEC(5 + 10 * round) + 333, 250);
		gp_pkt(g, reuse, 0, t + 50, GP_TCP_ACK | GP_TCP_PSH, 120 + 10 * round);
		gp_pkt(g, reuse, 1, t + 650, GP_TCP_ACK | GP_TCP_PSH, 640);
		gp_close_fin(g, reuse, 1, t + MS(300), 250);
	}

	gp_pkt(g, syn, 0, SEC(6) + 10, GP_TCP_SYN, 0);
	gp_pkt(g, syn, 0, SEC(7) + 10, GP_TCP_SYN, 0);
	gp_pkt(g, syn, 0, SEC(9) + 10, GP_TCP_SYN, 0);

	/* FIN from one side only: not an end, the flow idles out */
	t = gp_handshake(g, half, SEC(8) + 41, 300);
	gp_pkt(g, half, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 100);
	gp_pkt(g, half, 1, t + 400, GP_TCP_ACK, 0);
	gp_pkt(g, half, 0, SEC(8) + MS(500), GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(g, half, 1, SEC(8) + MS(500) + 300, GP_TCP_ACK, 0);

	gp_pkt(g, mid, 0, SEC(26) + 7, GP_TCP_ACK | GP_TCP_PSH, 1400);
	gp_pkt(g, mid, 1, SEC(26) + 307, GP_TCP_ACK, 0);
	gp_pkt(g, mid, 0, SEC(26) + 609, GP_TCP_ACK | GP_TCP_PSH, 700);

	/* closes 0.3 s before the end of input: still lingering -> reason 3 */
	t = gp_handshake(g, tail, SEC(299) + MS(900), 200);
	gp_pkt(g, tail, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 42);
	gp_close_fin(g, tail, 0, SEC(300) + MS(200) + 3, 200);
}

static void udp_flows(struct gp_script *g)
{
	int dns = gp_conv4(g, "udp4-dns", 17, H_C4, H_U53, 53001, 53);
	int one = gp_conv4(g, "udp4-one-way", 17, H_C5, H_U9, 5000, 514);
	int dns6 = gp_conv6(g, "udp6-dns", 17, 1, 1, 2, 0x53, 53002, 53);
	int hbh = gp_conv6(g, "udp6-hop-by-hop", 17, 1, 3, 2, 3, 6200, 6201);
	int opt = gp_conv4(g, "udp4-ip-options", 17, H_C10, H_U11, 6100, 6101);
	int gap = gp_conv4(g, "udp4-idle-gap", 17, H_C7, H_U8, 8000, 8001);
	int exact = gp_conv4(g, "udp4-idle-exact", 17, H_C8, H_U8, 8002, 8003);
	int under = gp_conv4(g, "udp4-idle-just-under", 17, H_C8, H_U8, 8004, 8005);
	int tail = gp_conv4(g, "udp4-at-eof", 17, H_C6, H_U9, 5100, 5101);
	int idle_last = gp_conv4(g, "udp4-idle-due-at-last-packet", 17, H_C6, H_U9, 5200, 5201);
	int active_last = gp_conv4(g, "udp4-active-due-at-last-packet", 17, H_C6, H_U9, 5300, 5301);
	static const uint32_t oneway[5] = { 17, 1472, 400, 0, 999 };
	int k;

	gp_pkt(g, dns, 0, SEC(10) + 500, 0, 45);
	gp_pkt(g, dns, 1, SEC(10) + 2500, 0, 120);
	gp_pkt(g, dns, 0, SEC(10) + MS(200), 0, 45);
	gp_pkt(g, dns, 1, SEC(10) + MS(201), 0, 310);

	for (k = 0; k < 5; k++)
		gp_pkt(g, one, 0, SEC(11) + MS(100) * (uint64_t)k + 3, 0, oneway[k]);

	g->conv[hbh].hbh = true;
	gp_pkt(g, dns6, 0, SEC(12) + 17, 0, 40);
	gp_pkt(g, dns6, 1, SEC(12) + 1017, 0, 200);
	gp_pkt(g, hbh, 0, SEC(24) + 900, 0, 64);
	gp_pkt(g, hbh, 0, SEC(25) + 900, 0, 1000);

	/* options on both sides, different lengths: octets include them */
	g->conv[opt].ip_opt_len[0] = 4;
	g->conv[opt].ip_opt_len[1] = 8;
	gp_pkt(g, opt, 0, SEC(19) + 400, 0, 100);
	gp_pkt(g, opt, 1, SEC(19) + 900, 0, 30);
	gp_pkt(g, opt, 0, SEC(19) + MS(600), 0, 11);

	/* silent 45 s (> idle): two flows */
	for (k = 0; k < 3; k++) {
		gp_pkt(g, gap, 0, SEC(23 + k) + 100, 0, 80 + 10 * (uint32_t)k);
		gp_pkt(g, gap, 1, SEC(23 + k) + 600, 0, 90);
	}
	for (k = 0; k < 2; k++) {
		gp_pkt(g, gap, 0, SEC(70 + k) + 100, 0, 500);
		gp_pkt(g, gap, 1, SEC(70 + k) + 600, 0, 501);
	}
	/* silent exactly 30 s: "at or before t - idle" -> exported, two flows */
	gp_pkt(g, exact, 0, SEC(30) + MS(250), 0, 10);
	gp_pkt(g, exact, 0, SEC(60) + MS(250), 0, 20);
	/* silent 1 us less than idle: one flow */
	gp_pkt(g, under, 0, SEC(31) + 1, 0, 30);
	gp_pkt(g, under, 0, SEC(61), 0, 40);

	gp_pkt(g, tail, 0, SEC(299) + MS(10), 0, 33);
	gp_pkt(g, tail, 1, SEC(299) + MS(11), 0, 66);

	/* Timeouts that fall due exactly at the capture's last packets
	 * (300.5 s): they must be found by the sweep before those packets, not
	 * by a coarser timer, and not turned into end-of-input records. */
	gp_pkt(g, idle_last, 0, SEC(260), 0, 5);
	gp_pkt(g, idle_last, 0, SEC(270) + MS(499) + 999, 0, 6);	/* due 300.499999 */
	for (k = 0; k <= 10; k++)	/* record due at 300.5: split, nothing after */
		gp_pkt(g, active_last, 0, SEC(180 + 10 * k) + MS(500), 0, 7 + (uint32_t)k);
}

static void icmp_flows(struct gp_script *g)
{
	int a = gp_conv4(g, "icmp4-echo", 1, H_C1, H_S1, 0, 0);
	int b = gp_conv4(g, "icmp4-echo-other-id", 1, H_C1, H_S1, 0, 0);
	int big = gp_conv4(g, "icmp4-echo-fragmented", 1, H_C1, H_S2, 0, 0);
	int v6 = gp_conv6(g, "icmp6-echo", 58, 1, 1, 2, 2, 0, 0);
	uint64_t k;

	g->conv[a].icmp_id = 0x1234;
	g->conv[b].icmp_id = 0x1235;
	g->conv[big].icmp_id = 0x2222;
	g->conv[v6].icmp_id = 7;
	for (k = 0; k < 4; k++)
		gp_ping(g, a, SEC(13 + k) + 77, 56, 400);
	/* same hosts, another identifier, later: its own flow */
	for (k = 0; k < 3; k++)
		gp_ping(g, b, SEC(100 + k) + 88, 56, 500);
	for (k = 0; k < 3; k++)
		gp_ping(g, v6, SEC(14 + k) + 99, 56, 600);
	gp_frag(g, big, 0, SEC(22) + 123, 3000, 1480, NULL, 40);
	gp_frag(g, big, 1, SEC(22) + 723, 3000, 1480, NULL, 40);
}

static void frag_flows(struct gp_script *g)
{
	int f4 = gp_conv4(g, "udp4-fragments", 17, H_C6, H_U7, 7000, 7001);
	int f6 = gp_conv6(g, "udp6-fragments", 17, 1, 1, 2, 7, 7002, 7003);
	static const int reversed[] = { 1, 2, 0, -1 };

	gp_frag(g, f4, 0, SEC(20) + 10, 3972, 1480, NULL, 50);
	gp_pkt(g, f4, 1, SEC(20) + MS(10), 0, 200);
	/* out of order: middle, last, first */
	gp_frag(g, f4, 0, SEC(20) + MS(500) + 100, 1972, 800, reversed, 100);
	gp_pkt(g, f4, 1, SEC(20) + MS(510), 0, 16);

	gp_frag(g, f6, 0, SEC(21) + 20, 2500, 1448, NULL, 60);
	gp_pkt(g, f6, 1, SEC(21) + MS(5), 0, 8);
}

static void vlan_flows(struct gp_script *g)
{
	int t = gp_conv4(g, "vlan100-tcp4", 6, H_V1, H_V2, 41000, 8080);
	int u1 = gp_conv4(g, "vlan100-udp4", 17, H_W1, H_W2, 5353, 5353);
	/* same 5-tuple on another VLAN (with priority bits set): its own flow */
	int u2 = gp_conv4(g, "vlan200-udp4-same-5tuple", 17, H_W1, H_W2, 5353, 5353);
	int q = gp_conv4(g, "qinq300-30-udp4", 17, H_Q1, H_Q2, 6000, 6001);
	uint64_t at;

	gp_set_vlan(g, t, 100, 0, 0);
	gp_set_vlan(g, u1, 100, 0, 0);
	gp_set_vlan(g, u2, 200, 0, 0);
	g->conv[u2].vlan_pcp = 5;
	gp_set_vlan(g, q, 300, 30, 0);

	at = gp_handshake(g, t, SEC(16) + 5, 150);
	gp_pkt(g, t, 0, at + 20, GP_TCP_ACK | GP_TCP_PSH, 77);
	gp_pkt(g, t, 1, at + 320, GP_TCP_ACK | GP_TCP_PSH, 1234);
	gp_close_fin(g, t, 0, at + MS(1), 150);

	gp_pkt(g, u1, 0, SEC(17) + 1, 0, 50);
	gp_pkt(g, u1, 0, SEC(17) + MS(20), 0, 51);
	gp_pkt(g, u1, 1, SEC(17) + MS(21), 0, 52);
	gp_pkt(g, u2, 0, SEC(17) + MS(50), 0, 60);
	gp_pkt(g, u2, 1, SEC(17) + MS(51), 0, 61);

	gp_pkt(g, q, 0, SEC(18) + 1, 0, 300);
	gp_pkt(g, q, 1, SEC(18) + 801, 0, 301);
}

/*
 * golden-evict: seven UDP/TCP/ICMP flows against a table of --max-flows 4
 * (the truth model refuses other bounds only if they create ties). The
 * least recently active open flow makes room, with reason 5; a key that
 * returns after its eviction is a new flow with a new flowId.
 */
static void evict_flows(struct gp_script *g)
{
	int a = gp_conv4(g, "evict-a-busy", 17, H_C1, H_U7, 1001, 2001);
	int b = gp_conv4(g, "evict-b", 6, H_C2, H_S1, 1002, 80);
	int c = gp_conv4(g, "evict-c", 17, H_C3, H_U7, 1003, 2003);
	int d = gp_conv4(g, "evict-d-icmp", 1, H_C4, H_S1, 0, 0);
	int e = gp_conv6(g, "evict-e", 17, 1, 5, 2, 5, 1005, 2005);
	int f = gp_conv4(g, "evict-f", 17, H_C6, H_U7, 1006, 2006);

	g->conv[d].icmp_id = 99;
	gp_pkt(g, a, 0, SEC(1), 0, 100);
	gp_pkt(g, b, 0, SEC(1) + MS(100), GP_TCP_SYN, 0);
	gp_pkt(g, b, 1, SEC(1) + MS(101), GP_TCP_SYN | GP_TCP_ACK, 0);
	gp_pkt(g, c, 0, SEC(1) + MS(200), 0, 300);
	gp_pkt(g, d, 0, SEC(1) + MS(300), 0, 56);
	gp_pkt(g, d, 1, SEC(1) + MS(301), 0, 56);
	gp_pkt(g, a, 1, SEC(1) + MS(500), 0, 101);
	gp_pkt(g, b, 0, SEC(2), GP_TCP_ACK | GP_TCP_PSH, 10);	/* b last 2.0 */
	gp_pkt(g, c, 1, SEC(3), 0, 30);				/* c last 3.0 */
	gp_pkt(g, d, 0, SEC(4), 0, 56);				/* d last 4.0 */
	gp_pkt(g, a, 0, SEC(5), 0, 102);				/* a last 5.0 */
	gp_pkt(g, e, 0, SEC(6), 0, 400);		/* table full: b goes (last 2.0) */
	gp_pkt(g, f, 0, SEC(7), 0, 500);		/* c goes (3.0) */
	gp_pkt(g, b, 0, SEC(8), GP_TCP_ACK, 0);	/* b returns: new flow; d goes (4.0) */
	gp_pkt(g, a, 0, SEC(9), 0, 103);
	gp_pkt(g, e, 1, SEC(9) + MS(1), 0, 401);
	gp_pkt(g, c, 0, SEC(10), 0, 301);		/* c returns; f goes (7.0) */
}

/* TCP endings the contract pins down, one conversation each. */
static void tcp_edges(struct gp_script *g)
{
	int relink = gp_conv4(g, "tcp4-syn-while-lingering", 6, H_C3, H_S1, 40030, 8080);
	int crst = gp_conv4(g, "tcp4-client-rst-late-packet", 6, H_C2, H_S1, 40031, 443);
	int refin = gp_conv4(g, "tcp4-fin-retransmitted", 6, H_C11, H_S2, 40032, 80);
	int fin2 = gp_conv4(g, "tcp4-fin-twice-same-side", 6, H_C12, H_S2, 40040, 80);
	int slow = gp_conv4(g, "tcp4-slow-close", 6, H_C12, H_S2, 40041, 80);
	uint64_t t;

	/* FIN/FIN/ACK, then the client reuses the port 0.5 s later, while the
	 * first connection still lingers: two flows */
	t = gp_handshake(g, relink, SEC(40) + 3, 200);
	gp_pkt(g, relink, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 80);
	t = gp_close_fin(g, relink, 0, t + MS(100), 200);
	t = gp_handshake(g, relink, t + MS(500), 200);
	gp_pkt(g, relink, 0, t + 100, GP_TCP_ACK | GP_TCP_PSH, 81);
	gp_pkt(g, relink, 1, t + 300, GP_TCP_ACK | GP_TCP_PSH, 700);
	gp_close_fin(g, relink, 1, t + MS(200), 200);

	/* RST from the initiator; a late segment from the server still counts */
	t = gp_handshake(g, crst, SEC(42) + 5, 300);
	gp_pkt(g, crst, 1, t + 400, GP_TCP_ACK | GP_TCP_PSH, 1000);
	gp_pkt(g, crst, 0, t + 700, GP_TCP_RST, 0);
	gp_pkt(g, crst, 1, t + MS(500), GP_TCP_ACK | GP_TCP_PSH, 333);

	/* both FINs, then the server's FIN again (the last ACK got lost) */
	t = gp_handshake(g, refin, SEC(43) + 9, 100);
	t = gp_close_fin(g, refin, 0, t + MS(10), 100);
	g->conv[refin].seq[1]--;	/* a retransmission reuses the sequence number */
	gp_pkt(g, refin, 1, t + MS(300), GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(g, refin, 0, t + MS(300) + 100, GP_TCP_ACK, 0);

	/* the client's FIN twice (retransmitted), the server never closes: not
	 * "FIN from both sides", the flow idles out */
	t = gp_handshake(g, fin2, SEC(57) + 1, 100);
	gp_pkt(g, fin2, 0, t + MS(1), GP_TCP_FIN | GP_TCP_ACK, 0);
	g->conv[fin2].seq[0]--;
	gp_pkt(g, fin2, 0, t + MS(201), GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(g, fin2, 1, t + MS(202), GP_TCP_ACK, 0);

	/* the server closes 5 s after the client: the linger starts at the
	 * second FIN, so the half-closed time and the last ACK all count */
	t = gp_handshake(g, slow, SEC(58) + 1, 100);
	gp_pkt(g, slow, 0, t + MS(1), GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(g, slow, 1, t + MS(2), GP_TCP_ACK, 0);
	gp_pkt(g, slow, 1, t + SEC(3), GP_TCP_ACK | GP_TCP_PSH, 900);
	gp_pkt(g, slow, 0, t + SEC(3) + 100, GP_TCP_ACK, 0);
	gp_pkt(g, slow, 1, t + SEC(5), GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(g, slow, 0, t + SEC(5) + 100, GP_TCP_ACK, 0);
}

/* Two datagrams of one flow, fragments interleaved: A1 B1 A2 B2 A3. B
 * completes at the 4th frame, A at the 5th. */
static void interleaved_fragments(struct gp_script *g, int ci, uint64_t t)
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

	if (g->cx[ci].skip)
		return;
	ida = c->ip_id[0]++;
	idb = c->ip_id[0]++;
	la = gp_build_l4(c, 0, &l4, gp_fill_rng, &g->rng, a);	/* 2960 */
	l4.payload_len = 1592;
	lb = gp_build_l4(c, 0, &l4, gp_fill_rng, &g->rng, b);	/* 1600 */
	for (k = 0; k < 5; k++) {
		const uint8_t *src = order[k].dg ? b : a;
		uint32_t total = order[k].dg ? lb : la;
		uint32_t n = total - order[k].off < 1000 ? total - order[k].off : 1000;

		fr.id = order[k].dg ? idb : ida;
		fr.offset = order[k].off;
		fr.more = order[k].off + n < total;
		iplen = gp_build_ip(c, 0, src + order[k].off, n, &fr, g->ip);
		len = gp_build_link(g->o->linktype, c, 0, g->ip, iplen, g->link);
		gp_add_frame(g, ci, t + 100 * k, g->link, len, 0);
	}
	gp_add_event(g, ci, 0, t + 300, gp_ip_len(c, 0, lb), &l4);
	gp_add_event(g, ci, 0, t + 400, gp_ip_len(c, 0, la), &l4);
}

/* Fragment shapes: each must still be ONE packet of the reassembled length. */
static void frag_edges(struct gp_script *g)
{
	int f6r = gp_conv6(g, "udp6-fragments-reversed", 17, 1, 4, 2, 4, 7010, 7011);
	int inter = gp_conv4(g, "udp4-fragments-interleaved", 17, H_C6, H_U7, 7020, 7021);
	int fdup = gp_conv4(g, "udp4-fragment-duplicated", 17, H_C5, H_U8, 7040, 7041);
	int fopt = gp_conv4(g, "udp4-fragments-ip-options", 17, H_C5, H_U8, 7050, 7051);
	int fhbh = gp_conv6(g, "udp6-hbh-fragments", 17, 1, 7, 2, 7, 7060, 7061);
	int sameid_udp = gp_conv4(g, "udp4-frag-same-ipid-as-icmp", 17, H_C9, H_U11, 7070, 7071);
	int sameid_icmp = gp_conv4(g, "icmp4-frag-same-ipid-as-udp", 1, H_C9, H_U11, 0, 0);
	int tiny4 = gp_conv4(g, "udp4-tiny-fragments", 17, H_C11, H_U11, 7080, 7081);
	int tiny6 = gp_conv6(g, "udp6-tiny-fragments", 17, 1, 8, 2, 8, 7090, 7091);
	static const int last_first[] = { 1, 0, -1 };
	static const int dup_first[] = { 0, 0, 2, 1, -1 };

	/* the flow's first datagram arrives last fragment first */
	gp_frag(g, f6r, 0, SEC(45) + 1, 2000, 1232, last_first, 30);
	gp_pkt(g, f6r, 1, SEC(45) + MS(2), 0, 10);

	interleaved_fragments(g, inter, SEC(46) + 1);

	/* fragment A twice, then C (the last), then B: the octets seen reach
	 * the datagram's length before B is there; still one packet, 4000
	 * octets, complete at B */
	gp_frag(g, fdup, 0, SEC(52) + 1, 3972, 1480, dup_first, 100);
	gp_pkt(g, fdup, 1, SEC(52) + MS(1), 0, 4);

	/* options in every fragment (Router Alert is copied) */
	g->conv[fopt].ip_opt_len[0] = 4;
	gp_frag(g, fopt, 0, SEC(53) + 1, 2000, 1472, NULL, 100);

	/* hop-by-hop before the fragment header: reassembled = 40 + 8 + L4 */
	g->conv[fhbh].hbh = true;
	gp_frag(g, fhbh, 0, SEC(54) + 1, 1800, 1232, NULL, 100);

	/* two datagrams between the same hosts with the same IP id, UDP and
	 * ICMP, fragments interleaved: the protocol keeps them apart */
	g->conv[sameid_icmp].icmp_id = 0x5555;
	g->conv[sameid_udp].ip_id[0] = 0x7777;
	g->conv[sameid_icmp].ip_id[0] = 0x7777;
	gp_frag(g, sameid_udp, 0, SEC(55) + 1, 2500, 1480, NULL, 100);
	gp_frag(g, sameid_icmp, 0, SEC(55) + 51, 2500, 1480, NULL, 100);

	/* 8-octet fragments: the first carries the UDP header and nothing else */
	gp_frag(g, tiny4, 0, SEC(59) + 1, 16, 8, NULL, 10);
	gp_frag(g, tiny6, 0, SEC(59) + 101, 16, 8, NULL, 10);
}

/* Keys and headers: who initiates, tags, extension headers, sizes, ties. */
static void key_edges(struct gp_script *g)
{
	int rep4 = gp_conv4(g, "icmp4-reply-first", 1, H_S1, H_C1, 0, 0);
	int rep6 = gp_conv6(g, "icmp6-reply-first", 58, 2, 2, 1, 1, 0, 0);
	int rev = gp_conv4(g, "udp4-idle-then-reverse", 17, H_C12, H_U9, 9100, 9101);
	int jumbo = gp_conv4(g, "udp4-jumbo-9000", 17, H_C5, H_U9, 7030, 7031);
	int dq = gp_conv4(g, "dot1q-dot1q-udp4", 17, H_Q1, H_Q2, 6010, 6011);
	int ad = gp_conv4(g, "dot1ad-single-udp4", 17, H_Q1, H_Q2, 6020, 6021);
	int dst6 = gp_conv6(g, "udp6-hbh-dstopts", 17, 1, 6, 2, 6, 6210, 6211);
	int same1 = gp_conv4(g, "udp4-same-time-1", 17, H_C7, H_U9, 7100, 7101);
	int same2 = gp_conv4(g, "udp4-same-time-2", 17, H_C8, H_U9, 7100, 7101);

	/* an echo reply nobody asked for starts its own flow: type 0 / 129 */
	g->cx[rep4].reply_first = true;
	g->cx[rep6].reply_first = true;
	g->conv[rep4].icmp_id = 0x4444;
	g->conv[rep6].icmp_id = 0x4445;
	gp_pkt(g, rep4, 0, SEC(44) + 11, 0, 32);
	gp_pkt(g, rep6, 0, SEC(44) + 12, 0, 32);

	/* one way, silence beyond idle, then the other side speaks first: the
	 * second flow's initiator is the former responder */
	gp_pkt(g, rev, 0, SEC(56) + 1, 0, 20);
	gp_pkt(g, rev, 1, SEC(95) + 1, 0, 21);
	gp_pkt(g, rev, 0, SEC(95) + 1001, 0, 22);

	gp_pkt(g, jumbo, 0, SEC(47) + 1, 0, 8972);
	gp_pkt(g, jumbo, 1, SEC(47) + 901, 0, 8);

	/* two 802.1Q tags (TPID 0x8100 twice), and one 802.1ad tag alone */
	gp_set_vlan(g, dq, 400, 40, 0x8100);
	gp_set_vlan(g, ad, 500, 0, 0x88a8);
	gp_pkt(g, dq, 0, SEC(48) + 1, 0, 10);
	gp_pkt(g, dq, 1, SEC(48) + 2, 0, 11);
	gp_pkt(g, ad, 0, SEC(48) + 3, 0, 12);

	g->conv[dst6].hbh = true;
	g->conv[dst6].dstopts = true;
	gp_pkt(g, dst6, 0, SEC(49) + 1, 0, 100);
	gp_pkt(g, dst6, 1, SEC(49) + 2, 0, 200);

	/* the same microsecond in two flows: file order decides, nothing else */
	gp_pkt(g, same1, 0, SEC(50) + MS(999) + 999, 0, 1);
	gp_pkt(g, same2, 0, SEC(50) + MS(999) + 999, 0, 2);
	gp_pkt(g, same1, 1, SEC(51), 0, 3);
}

/*
 * golden-big: counters beyond 32 bits. 480,000 datagrams of 9,000 octets
 * (4,320,000,000 > 2^32) in one record, and a TCP flow of 100,000 packets,
 * 75,000 one way (> 2^16). Written with a 128-octet snaplen by default,
 * payloads all zero (random bytes would only cost time here).
 */
static void big_flows(struct gp_script *g)
{
	int u = gp_conv4(g, "udp4-over-4GiB", 17, H_C1, H_U7, 9900, 9901);
	int t = gp_conv6(g, "tcp6-over-65536-packets", 6, 1, 9, 2, 9, 49900, 443);
	uint64_t k, at;

	for (k = 0; k < 480000; k++) {
		gp_pkt(g, u, 0, SEC(1) + 100 * k, 0, 8972);
		if (k % 1000 == 999)
			gp_pkt(g, u, 1, SEC(1) + 100 * k + 50, 0, 100);
	}
	at = gp_handshake(g, t, SEC(2) + 7, 100);
	for (k = 0; k < 100000; k++)	/* 75,000 from the client */
		gp_pkt(g, t, k % 4 == 3, at + 500 + 450 * k, GP_TCP_ACK, k % 3 ? 0 : 1200);
	gp_close_fin(g, t, 0, SEC(50), 100);
}

int gp_scenario_golden(const struct gp_options *o)
{
	struct gp_truth_cfg cfg = {
		.idle_us = (uint64_t)(o->idle_s * 1e6 + 0.5),
		.active_us = (uint64_t)(o->active_s * 1e6 + 0.5),
		.linger_us = (uint64_t)(o->linger_s * 1e6 + 0.5),
		.max_flows = o->max_flows,
	};
	struct gp_options big;
	struct gp_script *g;
	bool ok;

	if (!strcmp(o->scenario, "golden-big") && o->snaplen == 65535) {
		big = *o;
		big.snaplen = 128;
		o = &big;
	}
	g = gp_script_new(o);
	if (!strcmp(o->scenario, "golden-frag")) {
		frag_edges(g);
	} else if (!strcmp(o->scenario, "golden-big")) {
		g->zero_payload = true;
		big_flows(g);
	} else if (!strcmp(o->scenario, "golden-evict")) {
		if (!cfg.max_flows)
			cfg.max_flows = 4;
		evict_flows(g);
	} else {
		gp_arp(g, MS(200), false, H_C1, H_S1);
		gp_arp(g, MS(200) + 300, true, H_S1, H_C1);
		long_flows(g);
		tcp_flows(g);
		udp_flows(g);
		icmp_flows(g);
		frag_flows(g);
		vlan_flows(g);
		tcp_edges(g);
		key_edges(g);
		gp_arp(g, SEC(150) + 3, false, H_C2, H_S1);
	}
	ok = gp_script_finish(g, &cfg);
	gp_script_free(g);
	return ok ? 0 : 1;
}
