/*
 * Packet decoder tests: frames are built byte by byte with small builders
 * (given_ether(), given_ipv4(), given_tcp(), ...) so each test reads as
 * the packet it describes. Every decode runs on an exact-size heap copy,
 * so under ASan a read past caplen is a failure, not luck.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "ctflow/decode.h"

#define TS 1700000000123456ull

enum {
	LT_NULL = 0,
	LT_EN10MB = 1,
	LT_RAW = 12,
	LT_RAW_OPENBSD = 14,
	LT_RAW_LINKTYPE = 101,
	LT_IEEE802_11 = 105,
	LT_LOOP = 108,
	LT_LINUX_SLL = 113,
	LT_IPV4 = 228,
	LT_IPV6 = 229,
	LT_LINUX_SLL2 = 276,
};

/* ------------------------------------------------------------------ */
/* Frame builder                                                      */

struct frame {
	uint8_t b[2048];
	uint32_t len;
	uint32_t ip;		/* offset of the IP header */
	int family;		/* 0 until an IP header is added */
	bool sealed;		/* IP length fields written */
};

static void put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += (uint32_t)n;
}

static void put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(f, b, 2);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void put_fill(struct frame *f, uint8_t v, size_t n)
{
	while (n--)
		put8(f, v);
}

static void set16(struct frame *f, uint32_t off, uint16_t v)
{
	f->b[off] = v >> 8;
	f->b[off + 1] = v & 0xff;
}

/* -- link layers -- */

static void given_macs(struct frame *f)
{
	static const uint8_t macs[12] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,	/* dst */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02,	/* src */
	};

	put(f, macs, sizeof(macs));
}

static void given_ether(struct frame *f, uint16_t type)
{
	given_macs(f);
	put16(f, type);
}

/* after given_macs(): TPID and TCI (priority 5, DEI 1 to check masking) */
static void given_vlan_tag(struct frame *f, uint16_t tpid, uint16_t vid)
{
	put16(f, tpid);
	put16(f, (uint16_t)(5 << 13 | 1 << 12 | vid));
}

static void given_llc_snap(struct frame *f, uint32_t oui, uint16_t type)
{
	put8(f, 0xaa);
	put8(f, 0xaa);
	put8(f, 0x03);
	put8(f, oui >> 16);
	put16(f, oui & 0xffff);
	put16(f, type);
}

static void given_sll(struct frame *f, uint16_t proto)
{
	put16(f, 0);		/* packet type: to us */
	put16(f, 1);		/* ARPHRD_ETHER */
	put16(f, 6);
	put_fill(f, 0x02, 8);
	put16(f, proto);
}

static void given_sll2(struct frame *f, uint16_t proto)
{
	put16(f, proto);
	put16(f, 0);		/* reserved */
	put32(f, 3);		/* ifindex */
	put16(f, 1);		/* ARPHRD_ETHER */
	put8(f, 0);
	put8(f, 6);
	put_fill(f, 0x02, 8);
}

static void given_af_le(struct frame *f, uint32_t af)
{
	uint8_t b[4] = { af & 0xff, (af >> 8) & 0xff, (af >> 16) & 0xff, af >> 24 };

	put(f, b, 4);
}

/* -- IP -- */

struct v4 {
	const char *src, *dst;
	uint8_t proto, tos;
	uint8_t opt_words;	/* 32-bit words of options (IHL - 5) */
	uint16_t id;
	uint16_t frag;		/* flags and offset word */
};

static void given_ipv4(struct frame *f, struct v4 h)
{
	struct in_addr a;

	f->ip = f->len;
	f->family = 4;
	put8(f, (uint8_t)(0x45 + h.opt_words));
	put8(f, h.tos);
	put16(f, 0);		/* total length: sealed later */
	put16(f, h.id ? h.id : 0x1234);
	put16(f, h.frag);
	put8(f, 64);
	put8(f, h.proto);
	put16(f, 0);
	assert_int_equal(inet_pton(AF_INET, h.src ? h.src : "192.0.2.1", &a), 1);
	put(f, &a, 4);
	assert_int_equal(inet_pton(AF_INET, h.dst ? h.dst : "198.51.100.2", &a), 1);
	put(f, &a, 4);
	/* options: NOPs ending with EOL */
	for (int i = 0; i < h.opt_words * 4; i++)
		put8(f, i == h.opt_words * 4 - 1 ? 0 : 1);
}

struct v6 {
	const char *src, *dst;
	uint8_t nh, tclass;
	uint32_t flow;
};

static void given_ipv6(struct frame *f, struct v6 h)
{
	struct in6_addr a;

	f->ip = f->len;
	f->family = 6;
	put32(f, 6u << 28 | (uint32_t)h.tclass << 20 | h.flow);
	put16(f, 0);		/* payload length: sealed later */
	put8(f, h.nh);
	put8(f, 64);
	assert_int_equal(inet_pton(AF_INET6, h.src ? h.src : "2001:db8::1", &a), 1);
	put(f, &a, 16);
	assert_int_equal(inet_pton(AF_INET6, h.dst ? h.dst : "2001:db8:ffff::2", &a), 1);
	put(f, &a, 16);
}

/* hop-by-hop, routing, destination options: (units + 1) * 8 bytes */
static void given_ext(struct frame *f, uint8_t next, uint8_t units)
{
	put8(f, next);
	put8(f, units);
	put_fill(f, 0, 6 + units * 8u);
}

static void given_ah(struct frame *f, uint8_t next, uint8_t len)
{
	put8(f, next);
	put8(f, len);
	put_fill(f, 0xa5, ((size_t)len + 2) * 4 - 2);
}

static void given_frag6(struct frame *f, uint8_t next, uint16_t offset, bool more, uint32_t id)
{
	put8(f, next);
	put8(f, 0);
	put16(f, (uint16_t)(offset | (more ? 1 : 0)));
	put32(f, id);
}

/* -- transport -- */

static void given_tcp_off(struct frame *f, uint16_t sport, uint16_t dport, uint16_t flags,
			  uint8_t doff)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000);		/* seq */
	put32(f, 0);		/* ack */
	put8(f, (uint8_t)(doff << 4 | (flags >> 8 & 1)));
	put8(f, flags & 0xff);
	put16(f, 65535);
	put32(f, 0);		/* checksum, urgent */
	put_fill(f, 1, doff > 5 ? (doff - 5) * 4u : 0);
}

static void given_tcp(struct frame *f, uint16_t sport, uint16_t dport, uint16_t flags)
{
	given_tcp_off(f, sport, dport, flags, 5);
}

/* UDP/UDP-Lite (8), SCTP/DCCP (12): ports, then zeros */
static void given_ports(struct frame *f, uint16_t sport, uint16_t dport, size_t hdr_len)
{
	put16(f, sport);
	put16(f, dport);
	put_fill(f, 0, hdr_len - 4);
}

static void given_udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	given_ports(f, sport, dport, 8);
}

static void given_icmp(struct frame *f, uint8_t type, uint8_t code, uint16_t id)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put16(f, id);
	put16(f, 7);		/* sequence */
}

static void given_payload(struct frame *f, size_t n)
{
	put_fill(f, 0x5a, n);
}

/* Writes the IP length field from the bytes added so far. */
static void seal(struct frame *f)
{
	if (f->sealed)
		return;
	f->sealed = true;
	if (f->family == 4)
		set16(f, f->ip + 2, (uint16_t)(f->len - f->ip));
	else if (f->family == 6)
		set16(f, f->ip + 4, (uint16_t)(f->len - f->ip - 40));
}

/* Overrides the IPv4 total length / IPv6 payload length. */
static void set_ip_length_field(struct frame *f, uint16_t v)
{
	seal(f);
	set16(f, f->ip + (f->family == 4 ? 2 : 4), v);
}

/* Decodes @caplen bytes of @f from an exact-size heap copy. */
static enum ctf_decode_status decode_n(struct frame *f, int dlt, uint32_t caplen,
				       struct ctf_packet *ret)
{
	enum ctf_decode_status st;
	uint8_t *copy;

	seal(f);
	assert_true(caplen <= f->len);
	copy = malloc(caplen ? caplen : 1);
	assert_non_null(copy);
	memcpy(copy, f->b, caplen);
	st = ctf_decode_packet(dlt, copy, caplen, TS, ret);
	free(copy);
	return st;
}

static enum ctf_decode_status decode(struct frame *f, int dlt, struct ctf_packet *ret)
{
	return decode_n(f, dlt, f->len, ret);
}

static void assert_addr(const struct ctf_addr *a, const char *text)
{
	struct ctf_addr want = { { 0 } };

	if (strchr(text, ':'))
		assert_int_equal(inet_pton(AF_INET6, text, want.b), 1);
	else
		assert_int_equal(inet_pton(AF_INET, text, want.b), 1);
	assert_memory_equal(a->b, want.b, sizeof(want.b));
}

/* ------------------------------------------------------------------ */
/* Scenarios: each builds a valid frame and returns its link type. The */
/* tests check them field by field; the robustness tests mutate them.  */

static int scn_ether_v4_tcp(struct frame *f)
{
	given_ether(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 6, .tos = 0xb8, .id = 0xbeef });
	given_tcp(f, 40000, 443, CTF_TCP_SYN | CTF_TCP_ECE | CTF_TCP_CWR);
	given_payload(f, 10);
	return LT_EN10MB;
}

static int scn_ether_vlan_v4_udp(struct frame *f)
{
	given_macs(f);
	given_vlan_tag(f, 0x8100, 100);
	put16(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 17 });
	given_udp(f, 5353, 53);
	given_payload(f, 20);
	return LT_EN10MB;
}

static int scn_ether_qinq_v6_udp(struct frame *f)
{
	given_macs(f);
	given_vlan_tag(f, 0x88a8, 4000);
	given_vlan_tag(f, 0x8100, 17);
	put16(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 17 });
	given_udp(f, 123, 123);
	given_payload(f, 48);
	return LT_EN10MB;
}

static int scn_ether_snap_v4_udp(struct frame *f)
{
	given_macs(f);
	put16(f, 0);		/* 802.3 length: patched below */
	given_llc_snap(f, 0x000000, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 17 });
	given_udp(f, 520, 520);
	given_payload(f, 4);
	set16(f, 12, (uint16_t)(f->len - 14));
	return LT_EN10MB;
}

static int scn_ether_v4_options_tcp(struct frame *f)
{
	given_ether(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 6, .opt_words = 3 });
	given_tcp_off(f, 1025, 22, CTF_TCP_ACK | CTF_TCP_PSH, 8);
	given_payload(f, 32);
	return LT_EN10MB;
}

static int scn_ether_v4_first_frag(struct frame *f)
{
	given_ether(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 17, .id = 0x4242, .frag = 0x2000 });
	given_udp(f, 4000, 4001);
	given_payload(f, 1472);
	return LT_EN10MB;
}

static int scn_ether_v4_later_frag(struct frame *f)
{
	given_ether(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 17, .id = 0x4242, .frag = 0x2000 | 185 });
	given_payload(f, 1480);
	return LT_EN10MB;
}

static int scn_ether_v6_exthdrs_tcp(struct frame *f)
{
	given_ether(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 0, .tclass = 0x2e, .flow = 0xabcde });
	given_ext(f, 60, 0);		/* hop-by-hop, 8 bytes */
	given_ext(f, 43, 1);		/* destination options, 16 bytes */
	given_ext(f, 6, 2);		/* routing, 24 bytes */
	given_tcp(f, 33000, 80, CTF_TCP_ACK | CTF_TCP_FIN);
	return LT_EN10MB;
}

static int scn_ether_v6_first_frag(struct frame *f)
{
	given_ether(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 0 });
	given_ext(f, 60, 0);
	given_ext(f, 44, 0);
	given_frag6(f, 17, 0, true, 0xdeadbeef);
	given_udp(f, 9000, 9001);
	given_payload(f, 1000);
	return LT_EN10MB;
}

static int scn_ether_v6_later_frag(struct frame *f)
{
	given_ether(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 0 });
	given_ext(f, 60, 0);
	given_ext(f, 44, 0);
	given_frag6(f, 17, 1008, false, 0xdeadbeef);
	given_payload(f, 300);
	return LT_EN10MB;
}

static int scn_ether_v6_ah_tcp(struct frame *f)
{
	given_ether(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 51 });
	given_ah(f, 6, 4);		/* 24 bytes */
	given_tcp(f, 179, 50000, CTF_TCP_ACK);
	return LT_EN10MB;
}

static int scn_ether_v4_icmp_echo(struct frame *f)
{
	given_ether(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 1 });
	given_icmp(f, 8, 0, 0x1d2e);
	given_payload(f, 56);
	return LT_EN10MB;
}

static int scn_ether_v6_icmp6_echo(struct frame *f)
{
	given_ether(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 58 });
	given_icmp(f, 129, 0, 0x0777);
	given_payload(f, 56);
	return LT_EN10MB;
}

static int scn_ether_v4_sctp(struct frame *f)
{
	given_ether(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 132 });
	given_ports(f, 36412, 38412, 12);
	given_payload(f, 16);
	return LT_EN10MB;
}

static int scn_sll_v4_udp(struct frame *f)
{
	given_sll(f, 0x0800);
	given_ipv4(f, (struct v4){ .proto = 17 });
	given_udp(f, 1194, 1194);
	given_payload(f, 30);
	return LT_LINUX_SLL;
}

static int scn_sll_vlan_v6_tcp(struct frame *f)
{
	/* libpcap re-inserts a stripped tag where the protocol was */
	given_sll(f, 0x8100);
	put16(f, 42);
	put16(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 6 });
	given_tcp(f, 8080, 51000, CTF_TCP_RST);
	return LT_LINUX_SLL;
}

static int scn_sll2_v6_udp(struct frame *f)
{
	given_sll2(f, 0x86dd);
	given_ipv6(f, (struct v6){ .nh = 17 });
	given_udp(f, 547, 546);
	given_payload(f, 12);
	return LT_LINUX_SLL2;
}

static int scn_raw_v4_udplite(struct frame *f)
{
	given_ipv4(f, (struct v4){ .proto = 136 });
	given_ports(f, 5004, 5005, 8);
	given_payload(f, 8);
	return LT_RAW;
}

static int scn_raw_v6_dccp(struct frame *f)
{
	given_ipv6(f, (struct v6){ .nh = 33 });
	given_ports(f, 5001, 6001, 12);
	given_payload(f, 8);
	return LT_RAW;
}

static int scn_null_le_v4_tcp(struct frame *f)
{
	given_af_le(f, 2);
	given_ipv4(f, (struct v4){ .proto = 6 });
	given_tcp(f, 631, 50001, CTF_TCP_ACK);
	return LT_NULL;
}

static int scn_loop_v6_icmp6(struct frame *f)
{
	put32(f, 24);		/* AF_INET6 on OpenBSD, network order */
	given_ipv6(f, (struct v6){ .nh = 58 });
	given_icmp(f, 128, 0, 99);
	return LT_LOOP;
}

static int scn_ipv4_link_gre(struct frame *f)
{
	given_ipv4(f, (struct v4){ .proto = 47 });
	given_payload(f, 40);
	return LT_IPV4;
}

typedef int (*scenario_fn)(struct frame *f);

static const scenario_fn scenarios[] = {
	scn_ether_v4_tcp, scn_ether_vlan_v4_udp, scn_ether_qinq_v6_udp,
	scn_ether_snap_v4_udp, scn_ether_v4_options_tcp, scn_ether_v4_first_frag,
	scn_ether_v4_later_frag, scn_ether_v6_exthdrs_tcp, scn_ether_v6_first_frag,
	scn_ether_v6_later_frag, scn_ether_v6_ah_tcp, scn_ether_v4_icmp_echo,
	scn_ether_v6_icmp6_echo, scn_ether_v4_sctp, scn_sll_v4_udp,
	scn_sll_vlan_v6_tcp, scn_sll2_v6_udp, scn_raw_v4_udplite, scn_raw_v6_dccp,
	scn_null_le_v4_tcp, scn_loop_v6_icmp6, scn_ipv4_link_gre,
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* ------------------------------------------------------------------ */
/* Arguments and names                                                */

static void test_degenerate_args(void **state)
{
	static const int dlts[] = { LT_EN10MB, LT_LINUX_SLL, LT_LINUX_SLL2, LT_NULL, LT_LOOP };
	static const int raw_dlts[] = { LT_RAW, LT_RAW_OPENBSD, LT_RAW_LINKTYPE, LT_IPV4, LT_IPV6 };
	static const uint8_t byte = 0x45;
	struct ctf_packet pkt;

	for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
		assert_int_equal(ctf_decode_packet(dlts[i], NULL, 0, TS, &pkt),
				 CTF_DECODE_LINK_TRUNCATED);
		assert_int_equal(ctf_decode_packet(dlts[i], &byte, 0, TS, &pkt),
				 CTF_DECODE_LINK_TRUNCATED);
		/* NULL data is no data, whatever the length says */
		assert_int_equal(ctf_decode_packet(dlts[i], NULL, 1500, TS, &pkt),
				 CTF_DECODE_LINK_TRUNCATED);
	}
	for (size_t i = 0; i < sizeof(raw_dlts) / sizeof(raw_dlts[0]); i++) {
		assert_int_equal(ctf_decode_packet(raw_dlts[i], NULL, 0, TS, &pkt),
				 CTF_DECODE_IP_TRUNCATED);
		assert_int_equal(ctf_decode_packet(raw_dlts[i], &byte, 1, TS, &pkt),
				 raw_dlts[i] == LT_IPV6 ? CTF_DECODE_IP_VERSION
							: CTF_DECODE_IP_TRUNCATED);
	}
	assert_int_equal(ctf_decode_packet(LT_IEEE802_11, NULL, 0, TS, &pkt),
			 CTF_DECODE_LINK_UNSUPPORTED);
	assert_int_equal(ctf_decode_packet(-1, &byte, 1, TS, &pkt), CTF_DECODE_LINK_UNSUPPORTED);
}

static void test_status_names(void **state)
{
	assert_string_equal(ctf_decode_status_name(CTF_DECODE_OK), "ok");
	assert_string_equal(ctf_decode_status_name(CTF_DECODE_NOT_IP), "not-ip");
	assert_string_equal(ctf_decode_status_name(CTF_DECODE_IP_TRUNCATED), "ip-truncated");
	assert_string_equal(ctf_decode_status_name(CTF_DECODE_L4_HEADER), "l4-header");
	for (int a = 0; a < CTF_DECODE_STATUS_COUNT; a++) {
		const char *na = ctf_decode_status_name(a);

		assert_non_null(na);
		assert_string_not_equal(na, "invalid");
		assert_null(strpbrk(na, " _ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
		for (int b = 0; b < a; b++)
			assert_string_not_equal(na, ctf_decode_status_name(b));
	}
	assert_string_equal(ctf_decode_status_name(CTF_DECODE_STATUS_COUNT), "invalid");
	assert_string_equal(ctf_decode_status_name((enum ctf_decode_status)-1), "invalid");
}

static void test_linktype_supported(void **state)
{
	static const int yes[] = { LT_NULL, LT_EN10MB, LT_RAW, LT_RAW_OPENBSD, LT_RAW_LINKTYPE,
				   LT_LOOP, LT_LINUX_SLL, LT_LINUX_SLL2, LT_IPV4, LT_IPV6 };
	static const int no[] = { -1, 9 /* PPP */, 104 /* C_HDLC */, LT_IEEE802_11,
				  127 /* radiotap */, 65535 };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(ctf_decode_linktype_supported(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(ctf_decode_linktype_supported(no[i]));
	/* the names libpcap gives them on this platform */
	assert_true(ctf_decode_linktype_supported(DLT_EN10MB));
	assert_true(ctf_decode_linktype_supported(DLT_RAW));
	assert_true(ctf_decode_linktype_supported(DLT_LOOP));
	assert_true(ctf_decode_linktype_supported(DLT_LINUX_SLL));
}

/* ------------------------------------------------------------------ */
/* Link layers                                                        */

static void test_ether_ipv4_tcp(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_tcp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_true(pkt.ts_us == TS);
	assert_int_equal(pkt.family, 4);
	assert_addr(&pkt.src, "192.0.2.1");
	assert_addr(&pkt.dst, "198.51.100.2");
	assert_int_equal(pkt.proto, 6);
	assert_int_equal(pkt.ip_len, 20 + 20 + 10);
	assert_int_equal(pkt.l3_hdr_len, 20);
	assert_int_equal(pkt.frag_len, 30);
	assert_int_equal(pkt.tos, 0xb8);
	assert_int_equal(pkt.frag, CTF_FRAG_NONE);
	assert_false(pkt.more_frags);
	assert_int_equal(pkt.frag_offset, 0);
	assert_int_equal(pkt.frag_id, 0xbeef);
	assert_true(pkt.has_ports);
	assert_int_equal(pkt.sport, 40000);
	assert_int_equal(pkt.dport, 443);
	assert_int_equal(pkt.tcp_flags, CTF_TCP_SYN | CTF_TCP_ECE | CTF_TCP_CWR);
	assert_int_equal(pkt.vlan_outer, 0);
	assert_int_equal(pkt.vlan_inner, 0);
	assert_int_equal(pkt.flow_label, 0);
	assert_int_equal(pkt.icmp_type, 0);
	assert_int_equal(pkt.icmp_id, 0);
}

static void test_ether_vlan(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_vlan_v4_udp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.vlan_outer, 100);
	assert_int_equal(pkt.vlan_inner, 0);
	assert_int_equal(pkt.proto, 17);
	assert_int_equal(pkt.sport, 5353);
	assert_int_equal(pkt.dport, 53);
	assert_int_equal(pkt.ip_len, 20 + 8 + 20);
}

static void test_ether_qinq(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_qinq_v6_udp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.vlan_outer, 4000);
	assert_int_equal(pkt.vlan_inner, 17);
	assert_int_equal(pkt.family, 6);
	assert_int_equal(pkt.sport, 123);

	/* the pre-standard 0x9100 outer tag */
	f = (struct frame){ 0 };
	given_macs(&f);
	given_vlan_tag(&f, 0x9100, 7);
	given_vlan_tag(&f, 0x8100, 8);
	put16(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.vlan_outer, 7);
	assert_int_equal(pkt.vlan_inner, 8);
}

static void test_ether_vlan_depth(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	given_macs(&f);
	given_vlan_tag(&f, 0x88a8, 1);
	given_vlan_tag(&f, 0x8100, 2);
	given_vlan_tag(&f, 0x8100, 3);
	put16(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_VLAN_DEPTH);
}

static void test_ether_llc(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_snap_v4_udp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 4);
	assert_int_equal(pkt.sport, 520);

	/* spanning tree: LLC 42/42, not SNAP */
	f = (struct frame){ 0 };
	given_ether(&f, 38);
	put8(&f, 0x42);
	put8(&f, 0x42);
	put8(&f, 0x03);
	put_fill(&f, 0, 35);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_NOT_IP);

	/* SNAP with Cisco's OUI (CDP) */
	f = (struct frame){ 0 };
	given_ether(&f, 100);
	given_llc_snap(&f, 0x00000c, 0x2000);
	put_fill(&f, 0, 92);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_NOT_IP);

	/* SNAP with the 802.1H OUI carries IPv6 too */
	f = (struct frame){ 0 };
	given_ether(&f, 0);
	given_llc_snap(&f, 0x0000f8, 0x86dd);
	given_ipv6(&f, (struct v6){ .nh = 59 });
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 6);
	assert_int_equal(pkt.proto, 59);
	assert_false(pkt.has_ports);
}

static void test_ether_not_ip(void **state)
{
	static const uint16_t types[] = { 0x0806 /* ARP */, 0x88cc /* LLDP */,
					  0x8847 /* MPLS */, 0x8864 /* PPPoE */, 0x8035 };
	struct ctf_packet pkt;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct frame f = { 0 };

		given_ether(&f, types[i]);
		put_fill(&f, 0x45, 46);
		assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_NOT_IP);
	}

	/* a tagged ARP is still ARP */
	struct frame f = { 0 };

	given_macs(&f);
	given_vlan_tag(&f, 0x8100, 5);
	put16(&f, 0x0806);
	put_fill(&f, 0, 28);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_NOT_IP);
}

static void test_ether_ip_version_mismatch(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* ethertype IPv4, IPv6 header */
	given_ether(&f, 0x0800);
	given_ipv6(&f, (struct v6){ .nh = 17 });
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_IP_VERSION);

	f = (struct frame){ 0 };
	given_ether(&f, 0x86dd);
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	given_payload(&f, 20);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_IP_VERSION);
}

static void test_linux_sll(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_sll_v4_udp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 4);
	assert_int_equal(pkt.sport, 1194);
	assert_int_equal(pkt.ip_len, 20 + 8 + 30);

	f = (struct frame){ 0 };
	dlt = scn_sll_vlan_v6_tcp(&f);
	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.vlan_outer, 42);
	assert_int_equal(pkt.family, 6);
	assert_int_equal(pkt.tcp_flags, CTF_TCP_RST);

	/* ETH_P_802_2: the payload is an LLC frame */
	f = (struct frame){ 0 };
	given_sll(&f, 0x0004);
	given_llc_snap(&f, 0, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 7, 9);
	assert_int_equal(decode(&f, LT_LINUX_SLL, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.dport, 9);

	/* ETH_P_802_3 (raw IPX): a Linux pseudo-protocol, not a length */
	f = (struct frame){ 0 };
	given_sll(&f, 0x0001);
	put_fill(&f, 0xff, 30);
	assert_int_equal(decode(&f, LT_LINUX_SLL, &pkt), CTF_DECODE_NOT_IP);

	f = (struct frame){ 0 };
	given_sll(&f, 0x0806);
	put_fill(&f, 0, 28);
	assert_int_equal(decode(&f, LT_LINUX_SLL, &pkt), CTF_DECODE_NOT_IP);
}

static void test_linux_sll2(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_sll2_v6_udp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 6);
	assert_addr(&pkt.src, "2001:db8::1");
	assert_addr(&pkt.dst, "2001:db8:ffff::2");
	assert_int_equal(pkt.sport, 547);
	assert_int_equal(pkt.ip_len, 40 + 8 + 12);

	f = (struct frame){ 0 };
	given_sll2(&f, 0x0806);
	put_fill(&f, 0, 28);
	assert_int_equal(decode(&f, LT_LINUX_SLL2, &pkt), CTF_DECODE_NOT_IP);
}

static void test_raw_links(void **state)
{
	static const int dlts[] = { LT_RAW, LT_RAW_OPENBSD, LT_RAW_LINKTYPE };
	struct ctf_packet pkt;

	for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
		struct frame f4 = { 0 }, f6 = { 0 };

		scn_raw_v4_udplite(&f4);
		assert_int_equal(decode(&f4, dlts[i], &pkt), CTF_DECODE_OK);
		assert_int_equal(pkt.family, 4);
		assert_int_equal(pkt.proto, 136);
		assert_int_equal(pkt.sport, 5004);
		assert_int_equal(pkt.dport, 5005);

		scn_raw_v6_dccp(&f6);
		assert_int_equal(decode(&f6, dlts[i], &pkt), CTF_DECODE_OK);
		assert_int_equal(pkt.family, 6);
		assert_int_equal(pkt.proto, 33);
		assert_int_equal(pkt.sport, 5001);
		assert_int_equal(pkt.dport, 6001);

		/* version 5 is neither */
		f4.b[0] = 0x55;
		assert_int_equal(decode(&f4, dlts[i], &pkt), CTF_DECODE_IP_VERSION);
	}
}

static void test_ipv4_ipv6_links(void **state)
{
	struct frame f4 = { 0 }, f6 = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ipv4_link_gre(&f4);

	assert_int_equal(decode(&f4, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 47);
	assert_false(pkt.has_ports);
	assert_int_equal(pkt.ip_len, 60);

	scn_raw_v6_dccp(&f6);
	assert_int_equal(decode(&f6, LT_IPV6, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 6);

	/* the link type's word is binding */
	assert_int_equal(decode(&f4, LT_IPV6, &pkt), CTF_DECODE_IP_VERSION);
	assert_int_equal(decode(&f6, LT_IPV4, &pkt), CTF_DECODE_IP_VERSION);
}

static void test_null_and_loop(void **state)
{
	static const uint32_t v6_afs[] = { 10, 24, 28, 30 };
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_null_le_v4_tcp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 4);
	assert_int_equal(pkt.sport, 631);

	/* the same capture from a big-endian host */
	f = (struct frame){ 0 };
	put32(&f, 2);
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_NULL, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 4);

	for (size_t i = 0; i < sizeof(v6_afs) / sizeof(v6_afs[0]); i++) {
		for (int be = 0; be < 2; be++) {
			f = (struct frame){ 0 };
			if (be)
				put32(&f, v6_afs[i]);
			else
				given_af_le(&f, v6_afs[i]);
			given_ipv6(&f, (struct v6){ .nh = 17 });
			given_udp(&f, 1, 2);
			assert_int_equal(decode(&f, LT_NULL, &pkt), CTF_DECODE_OK);
			assert_int_equal(pkt.family, 6);
		}
	}

	/* AF_APPLETALK */
	f = (struct frame){ 0 };
	given_af_le(&f, 16);
	put_fill(&f, 0, 20);
	assert_int_equal(decode(&f, LT_NULL, &pkt), CTF_DECODE_NOT_IP);

	f = (struct frame){ 0 };
	dlt = scn_loop_v6_icmp6(&f);
	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 6);
	assert_int_equal(pkt.icmp_type, 128);
	assert_int_equal(pkt.icmp_id, 99);

	/* DLT_LOOP is network order only */
	f = (struct frame){ 0 };
	given_af_le(&f, 2);
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_LOOP, &pkt), CTF_DECODE_NOT_IP);
}

/* ------------------------------------------------------------------ */
/* IPv4                                                               */

static void test_ipv4_options(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_options_tcp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.l3_hdr_len, 32);
	assert_int_equal(pkt.ip_len, 32 + 32 + 32);
	assert_int_equal(pkt.frag_len, 64);
	assert_int_equal(pkt.sport, 1025);
	assert_int_equal(pkt.dport, 22);
	assert_int_equal(pkt.tcp_flags, CTF_TCP_ACK | CTF_TCP_PSH);
}

static void test_ipv4_length_is_not_caplen(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_tcp(&f);

	/* snaplen 54: headers only, the IP length still counts */
	set_ip_length_field(&f, 1500);
	assert_int_equal(decode_n(&f, dlt, 54, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.ip_len, 1500);
	assert_int_equal(pkt.frag_len, 1480);
	assert_int_equal(pkt.sport, 40000);

	/* Ethernet padding after a bare ACK is not part of the datagram */
	f = (struct frame){ 0 };
	given_ether(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 6 });
	given_tcp(&f, 1, 2, CTF_TCP_ACK);
	seal(&f);
	put_fill(&f, 0, 6);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.ip_len, 40);

	/* ... nor is it a transport header */
	f = (struct frame){ 0 };
	given_ether(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 6 });
	seal(&f);
	put_fill(&f, 0, 26);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_L4_TRUNCATED);
}

static void test_ipv4_zero_total_length(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* captured before TCP segmentation offload: the length is what we saw */
	given_ether(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 6 });
	given_tcp(&f, 5000, 80, CTF_TCP_ACK);
	given_payload(&f, 200);
	set_ip_length_field(&f, 0);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.ip_len, 20 + 20 + 200);
	assert_int_equal(pkt.frag_len, 220);
}

static void test_ipv4_fragments(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_first_frag(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_FIRST);
	assert_true(pkt.more_frags);
	assert_int_equal(pkt.frag_offset, 0);
	assert_int_equal(pkt.frag_id, 0x4242);
	assert_int_equal(pkt.frag_len, 1480);
	assert_int_equal(pkt.ip_len, 1500);
	assert_true(pkt.has_ports);
	assert_int_equal(pkt.sport, 4000);

	f = (struct frame){ 0 };
	dlt = scn_ether_v4_later_frag(&f);
	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_LATER);
	assert_true(pkt.more_frags);
	assert_int_equal(pkt.frag_offset, 1480);
	assert_int_equal(pkt.frag_id, 0x4242);
	assert_int_equal(pkt.frag_len, 1480);
	assert_int_equal(pkt.proto, 17);
	assert_false(pkt.has_ports);
	assert_int_equal(pkt.sport, 0);

	/* the last fragment: offset, no MF */
	f = (struct frame){ 0 };
	given_ether(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 17, .id = 0x4242, .frag = 370 });
	given_payload(&f, 100);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_LATER);
	assert_false(pkt.more_frags);
	assert_int_equal(pkt.frag_offset, 2960);

	/* DF alone is not a fragment */
	f = (struct frame){ 0 };
	given_ether(&f, 0x0800);
	given_ipv4(&f, (struct v4){ .proto = 17, .frag = 0x4000 });
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_NONE);
	assert_false(pkt.more_frags);

	/* a later fragment needs no transport header, even a tiny one */
	f = (struct frame){ 0 };
	given_ipv4(&f, (struct v4){ .proto = 6, .frag = 1 });
	given_payload(&f, 2);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag_offset, 8);
	assert_int_equal(pkt.tcp_flags, 0);
}

/* ------------------------------------------------------------------ */
/* IPv6                                                               */

static void test_ipv6_basic(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	given_ether(&f, 0x86dd);
	given_ipv6(&f, (struct v6){ .src = "fe80::1", .dst = "ff02::fb", .nh = 17,
				    .tclass = 0xff, .flow = 0xfffff });
	given_udp(&f, 5353, 5353);
	given_payload(&f, 100);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.family, 6);
	assert_addr(&pkt.src, "fe80::1");
	assert_addr(&pkt.dst, "ff02::fb");
	assert_int_equal(pkt.tos, 0xff);
	assert_int_equal(pkt.flow_label, 0xfffff);
	assert_int_equal(pkt.ip_len, 40 + 108);
	assert_int_equal(pkt.l3_hdr_len, 40);
	assert_int_equal(pkt.frag_len, 108);
	assert_int_equal(pkt.frag, CTF_FRAG_NONE);
	assert_int_equal(pkt.frag_id, 0);
	assert_int_equal(pkt.sport, 5353);
}

static void test_ipv6_ext_headers(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v6_exthdrs_tcp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 6);
	assert_int_equal(pkt.l3_hdr_len, 40 + 8 + 16 + 24);
	assert_int_equal(pkt.ip_len, 40 + 48 + 20);
	assert_int_equal(pkt.frag_len, 20);
	assert_int_equal(pkt.tos, 0x2e);
	assert_int_equal(pkt.flow_label, 0xabcde);
	assert_int_equal(pkt.sport, 33000);
	assert_int_equal(pkt.tcp_flags, CTF_TCP_ACK | CTF_TCP_FIN);
	assert_int_equal(pkt.frag, CTF_FRAG_NONE);

	f = (struct frame){ 0 };
	dlt = scn_ether_v6_ah_tcp(&f);
	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 6);
	assert_int_equal(pkt.l3_hdr_len, 40 + 24);
	assert_int_equal(pkt.sport, 179);

	/* mobility, HIP and shim6 are walked like destination options */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 135 });
	given_ext(&f, 139, 1);
	given_ext(&f, 140, 0);
	given_ext(&f, 17, 0);
	given_udp(&f, 10, 20);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 17);
	assert_int_equal(pkt.l3_hdr_len, 40 + 16 + 8 + 8);
	assert_int_equal(pkt.dport, 20);
}

static void test_ipv6_chain_ends(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* ESP: opaque from here on */
	given_ipv6(&f, (struct v6){ .nh = 0 });
	given_ext(&f, 50, 0);
	given_payload(&f, 64);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 50);
	assert_false(pkt.has_ports);
	assert_int_equal(pkt.l3_hdr_len, 48);

	/* no next header, payload length 0: a 40-byte datagram */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 59 });
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 59);
	assert_int_equal(pkt.ip_len, 40);
	assert_int_equal(pkt.frag_len, 0);
}

static void test_ipv6_fragments(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v6_first_frag(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_FIRST);
	assert_true(pkt.more_frags);
	assert_int_equal(pkt.frag_offset, 0);
	assert_int_equal(pkt.frag_id, 0xdeadbeef);
	assert_int_equal(pkt.proto, 17);
	assert_int_equal(pkt.l3_hdr_len, 40 + 8 + 8 + 8);
	assert_int_equal(pkt.ip_len, 64 + 8 + 1000);
	assert_int_equal(pkt.frag_len, 1008);
	assert_true(pkt.has_ports);
	assert_int_equal(pkt.sport, 9000);
	assert_int_equal(pkt.dport, 9001);

	f = (struct frame){ 0 };
	dlt = scn_ether_v6_later_frag(&f);
	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_LATER);
	assert_false(pkt.more_frags);
	assert_int_equal(pkt.frag_offset, 1008);
	assert_int_equal(pkt.frag_id, 0xdeadbeef);
	assert_int_equal(pkt.proto, 17);
	assert_int_equal(pkt.l3_hdr_len, 64);
	assert_int_equal(pkt.frag_len, 300);
	assert_false(pkt.has_ports);

	/* atomic fragment (RFC 6946): offset 0 and no M flag is whole */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 44 });
	given_frag6(&f, 6, 0, false, 77);
	given_tcp(&f, 1, 2, CTF_TCP_SYN);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.frag, CTF_FRAG_NONE);
	assert_int_equal(pkt.frag_id, 77);
	assert_int_equal(pkt.l3_hdr_len, 48);
	assert_int_equal(pkt.sport, 1);

	/* headers after the fragment header belong to the fragmentable
	 * part: the protocol is the fragment header's next header in every
	 * fragment, so ctf_frag can match them */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 44 });
	given_frag6(&f, 60, 0, true, 78);
	given_ext(&f, 17, 0);
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 60);
	assert_int_equal(pkt.frag, CTF_FRAG_FIRST);
	assert_false(pkt.has_ports);
}

static void test_ipv6_zero_payload_length(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* jumbogram / BIG TCP: payload length 0, the captured bytes count */
	given_ether(&f, 0x86dd);
	given_ipv6(&f, (struct v6){ .nh = 6 });
	given_tcp(&f, 80, 60000, CTF_TCP_ACK);
	given_payload(&f, 300);
	set_ip_length_field(&f, 0);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.ip_len, 40 + 20 + 300);
	assert_int_equal(pkt.sport, 80);

	/* with a hop-by-hop header carrying the jumbo option */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 0 });
	put8(&f, 17);
	put8(&f, 0);
	put8(&f, 0xc2);
	put8(&f, 4);
	put32(&f, 70000);
	given_udp(&f, 1, 2);
	given_payload(&f, 100);
	set_ip_length_field(&f, 0);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.ip_len, 40 + 8 + 8 + 100);
	assert_int_equal(pkt.proto, 17);
}

/* ------------------------------------------------------------------ */
/* Transport                                                          */

static void test_tcp_flags(void **state)
{
	static const uint16_t cases[] = {
		0, CTF_TCP_FIN, CTF_TCP_SYN | CTF_TCP_ACK, CTF_TCP_URG | CTF_TCP_PSH,
		CTF_TCP_NS, CTF_TCP_NS | CTF_TCP_ECE | CTF_TCP_CWR, 0x1ff,
	};
	struct ctf_packet pkt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame f = { 0 };

		given_ipv4(&f, (struct v4){ .proto = 6 });
		given_tcp(&f, 1, 2, cases[i]);
		assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
		assert_int_equal(pkt.tcp_flags, cases[i]);
	}

	/* the three reserved bits next to NS are not flags */
	struct frame f = { 0 };

	given_ipv4(&f, (struct v4){ .proto = 6 });
	given_tcp(&f, 1, 2, CTF_TCP_SYN);
	f.b[20 + 12] |= 0x0e;
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.tcp_flags, CTF_TCP_SYN);
}

static void test_udp_sctp_dccp(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_sctp(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 132);
	assert_true(pkt.has_ports);
	assert_int_equal(pkt.sport, 36412);
	assert_int_equal(pkt.dport, 38412);
	assert_int_equal(pkt.tcp_flags, 0);

	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 17 });
	given_udp(&f, 443, 50123);
	given_payload(&f, 1200);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.sport, 443);
	assert_int_equal(pkt.dport, 50123);
	assert_int_equal(pkt.ip_len, 1248);
}

static void test_icmp(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_icmp_echo(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 1);
	assert_true(pkt.has_ports);
	assert_int_equal(pkt.icmp_type, 8);
	assert_int_equal(pkt.icmp_code, 0);
	assert_int_equal(pkt.icmp_id, 0x1d2e);
	assert_int_equal(pkt.sport, 0);
	assert_int_equal(pkt.dport, 0);

	/* every query type conntrack pairs carries an identifier */
	static const uint8_t queries[] = { 0, 8, 13, 14, 15, 16, 17, 18 };

	for (size_t i = 0; i < sizeof(queries); i++) {
		f = (struct frame){ 0 };
		given_ipv4(&f, (struct v4){ .proto = 1 });
		given_icmp(&f, queries[i], 0, 0x4321);
		assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
		assert_int_equal(pkt.icmp_id, 0x4321);
	}

	/* an error: type and code, and its quoted packet stays closed */
	f = (struct frame){ 0 };
	given_ipv4(&f, (struct v4){ .proto = 1 });
	given_icmp(&f, 3, 3, 0x4321);
	given_ipv4(&f, (struct v4){ .proto = 17, .src = "198.51.100.2" });
	given_udp(&f, 53, 1234);
	f.sealed = true;	/* the builder would seal the quoted header */
	set16(&f, 2, (uint16_t)f.len);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.icmp_type, 3);
	assert_int_equal(pkt.icmp_code, 3);
	assert_int_equal(pkt.icmp_id, 0);
	assert_int_equal(pkt.sport, 0);
	assert_addr(&pkt.src, "192.0.2.1");

	/* ICMP's number inside IPv6 is not ICMP */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 1 });
	given_icmp(&f, 8, 0, 1);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_false(pkt.has_ports);
}

static void test_icmpv6(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v6_icmp6_echo(&f);

	assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.proto, 58);
	assert_true(pkt.has_ports);
	assert_int_equal(pkt.icmp_type, 129);
	assert_int_equal(pkt.icmp_id, 0x0777);

	/* node information query: conntrack pairs on bytes 4-5 */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 58 });
	given_icmp(&f, 139, 0, 3);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.icmp_id, 3);

	/* neighbour solicitation: not a query */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 58 });
	given_icmp(&f, 135, 0, 0xffff);
	given_payload(&f, 16);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.icmp_type, 135);
	assert_int_equal(pkt.icmp_id, 0);
	assert_true(pkt.has_ports);
}

static void test_other_protocols(void **state)
{
	static const uint8_t protos[] = { 2 /* IGMP */, 4 /* IPIP */, 41 /* IPv6 */,
					  47 /* GRE */, 50 /* ESP */, 89 /* OSPF */, 255 };
	struct ctf_packet pkt;

	for (size_t i = 0; i < sizeof(protos); i++) {
		struct frame f = { 0 };

		given_ipv4(&f, (struct v4){ .proto = protos[i] });
		given_payload(&f, 1);
		assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
		assert_int_equal(pkt.proto, protos[i]);
		assert_false(pkt.has_ports);
	}
}

/* ------------------------------------------------------------------ */
/* Every error status from a crafted packet                           */

static void test_err_link_truncated(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	scn_ether_v4_tcp(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 13, &pkt), CTF_DECODE_LINK_TRUNCATED);

	f = (struct frame){ 0 };
	scn_ether_qinq_v6_udp(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 17, &pkt), CTF_DECODE_LINK_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_EN10MB, 21, &pkt), CTF_DECODE_LINK_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_EN10MB, 22, &pkt), CTF_DECODE_IP_TRUNCATED);

	f = (struct frame){ 0 };
	scn_ether_snap_v4_udp(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 16, &pkt), CTF_DECODE_LINK_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_EN10MB, 21, &pkt), CTF_DECODE_LINK_TRUNCATED);

	f = (struct frame){ 0 };
	scn_sll_v4_udp(&f);
	assert_int_equal(decode_n(&f, LT_LINUX_SLL, 15, &pkt), CTF_DECODE_LINK_TRUNCATED);
	f = (struct frame){ 0 };
	scn_sll2_v6_udp(&f);
	assert_int_equal(decode_n(&f, LT_LINUX_SLL2, 19, &pkt), CTF_DECODE_LINK_TRUNCATED);
	f = (struct frame){ 0 };
	scn_null_le_v4_tcp(&f);
	assert_int_equal(decode_n(&f, LT_NULL, 3, &pkt), CTF_DECODE_LINK_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_LOOP, 3, &pkt), CTF_DECODE_LINK_TRUNCATED);
}

static void test_err_link_unsupported(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	scn_ether_v4_tcp(&f);
	assert_int_equal(decode(&f, LT_IEEE802_11, &pkt), CTF_DECODE_LINK_UNSUPPORTED);
	assert_int_equal(decode(&f, 9 /* PPP */, &pkt), CTF_DECODE_LINK_UNSUPPORTED);
}

static void test_err_ip_truncated(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* inside the fixed IPv4 header */
	scn_ether_v4_tcp(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14, &pkt), CTF_DECODE_IP_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14 + 19, &pkt), CTF_DECODE_IP_TRUNCATED);

	/* inside IPv4 options */
	f = (struct frame){ 0 };
	scn_ether_v4_options_tcp(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14 + 31, &pkt), CTF_DECODE_IP_TRUNCATED);

	/* inside the IPv6 header, and inside an extension header */
	f = (struct frame){ 0 };
	scn_ether_v6_exthdrs_tcp(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14 + 39, &pkt), CTF_DECODE_IP_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14 + 41, &pkt), CTF_DECODE_IP_TRUNCATED);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14 + 40 + 8 + 15, &pkt),
			 CTF_DECODE_IP_TRUNCATED);

	/* inside the fragment header */
	f = (struct frame){ 0 };
	scn_ether_v6_later_frag(&f);
	assert_int_equal(decode_n(&f, LT_EN10MB, 14 + 40 + 8 + 8 + 7, &pkt),
			 CTF_DECODE_IP_TRUNCATED);
}

static void test_err_ip_version(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	given_ether(&f, 0x0800);
	put8(&f, 0x05);		/* version 0 */
	put_fill(&f, 0, 39);
	assert_int_equal(decode(&f, LT_EN10MB, &pkt), CTF_DECODE_IP_VERSION);

	f = (struct frame){ 0 };
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	f.b[0] = 0x75;		/* version 7 */
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_VERSION);
}

static void test_err_ip_header(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* IHL below 5 */
	given_ipv4(&f, (struct v4){ .proto = 17 });
	given_udp(&f, 1, 2);
	seal(&f);
	f.b[0] = 0x44;
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_HEADER);
	f.b[0] = 0x40;
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_HEADER);

	/* total length shorter than the header it sits in */
	f = (struct frame){ 0 };
	given_ipv4(&f, (struct v4){ .proto = 17, .opt_words = 1 });
	given_udp(&f, 1, 2);
	set_ip_length_field(&f, 23);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_HEADER);
}

static void test_err_ip_ext_header(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;

	/* 17 destination options headers: over the chain bound */
	given_ipv6(&f, (struct v6){ .nh = 60 });
	for (int i = 0; i < 17; i++)
		given_ext(&f, i == 16 ? 17 : 60, 0);
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_EXT_HEADER);

	/* 16 are fine */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 60 });
	for (int i = 0; i < 16; i++)
		given_ext(&f, i == 15 ? 17 : 60, 0);
	given_udp(&f, 1, 2);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_OK);
	assert_int_equal(pkt.l3_hdr_len, 40 + 16 * 8);

	/* a header claiming more than the payload length, all captured */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 0 });
	given_ext(&f, 17, 4);
	given_udp(&f, 1, 2);
	set_ip_length_field(&f, 16);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_EXT_HEADER);

	/* payload length ends between two headers */
	f = (struct frame){ 0 };
	given_ipv6(&f, (struct v6){ .nh = 0 });
	given_ext(&f, 60, 0);
	given_ext(&f, 17, 0);
	given_udp(&f, 1, 2);
	set_ip_length_field(&f, 8);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_IP_EXT_HEADER);
}

static void test_err_l4_truncated(void **state)
{
	struct frame f = { 0 };
	struct ctf_packet pkt;
	int dlt = scn_ether_v4_tcp(&f);

	assert_int_equal(decode_n(&f, dlt, 14 + 20 + 19, &pkt), CTF_DECODE_L4_TRUNCATED);
	assert_int_equal(decode_n(&f, dlt, 14 + 20 + 20, &pkt), CTF_DECODE_OK);

	f = (struct frame){ 0 };
	dlt = scn_ether_vlan_v4_udp(&f);
	assert_int_equal(decode_n(&f, dlt, 18 + 20 + 7, &pkt), CTF_DECODE_L4_TRUNCATED);
	assert_int_equal(decode_n(&f, dlt, 18 + 20 + 8, &pkt), CTF_DECODE_OK);

	f = (struct frame){ 0 };
	dlt = scn_ether_v4_sctp(&f);
	assert_int_equal(decode_n(&f, dlt, 14 + 20 + 11, &pkt), CTF_DECODE_L4_TRUNCATED);

	f = (struct frame){ 0 };
	dlt = scn_ether_v4_icmp_echo(&f);
	assert_int_equal(decode_n(&f, dlt, 14 + 20 + 3, &pkt), CTF_DECODE_L4_TRUNCATED);
	/* an echo without its identifier */
	assert_int_equal(decode_n(&f, dlt, 14 + 20 + 6, &pkt), CTF_DECODE_L4_TRUNCATED);

	f = (struct frame){ 0 };
	dlt = scn_ether_v6_first_frag(&f);
	assert_int_equal(decode_n(&f, dlt, 14 + 64 + 4, &pkt), CTF_DECODE_L4_TRUNCATED);

	/* a first fragment too small for the TCP header */
	f = (struct frame){ 0 };
	given_ipv4(&f, (struct v4){ .proto = 6, .frag = 0x2000 });
	given_payload(&f, 8);
	assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_L4_TRUNCATED);
}

static void test_err_l4_header(void **state)
{
	struct ctf_packet pkt;

	for (uint8_t doff = 0; doff < 5; doff++) {
		struct frame f = { 0 };

		given_ipv4(&f, (struct v4){ .proto = 6 });
		given_tcp_off(&f, 1, 2, CTF_TCP_SYN, doff);
		assert_int_equal(decode(&f, LT_RAW, &pkt), CTF_DECODE_L4_HEADER);
	}
}

/* ------------------------------------------------------------------ */
/* Robustness: truncations and mutations of every scenario             */

static void assert_sane(enum ctf_decode_status st, const struct ctf_packet *p, uint32_t caplen)
{
	assert_in_range(st, 0, CTF_DECODE_STATUS_COUNT - 1);
	if (st != CTF_DECODE_OK)
		return;
	assert_true(p->ts_us == TS);
	assert_true(p->family == 4 || p->family == 6);
	assert_in_range(p->l3_hdr_len, 20, caplen);
	assert_true(p->ip_len >= p->l3_hdr_len);
	assert_in_range(p->frag, CTF_FRAG_NONE, CTF_FRAG_LATER);
	if (p->frag == CTF_FRAG_LATER)
		assert_false(p->has_ports);
	if (p->family == 4) {
		static const uint8_t zero[12];

		assert_memory_equal(p->src.b + 4, zero, 12);
		assert_memory_equal(p->dst.b + 4, zero, 12);
		assert_int_equal(p->flow_label, 0);
	}
}

static void test_robust_truncation(void **state)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		struct frame f = { 0 };
		struct ctf_packet pkt;
		int dlt = scenarios[i](&f);

		assert_int_equal(decode(&f, dlt, &pkt), CTF_DECODE_OK);
		for (uint32_t n = 0; n <= f.len; n++) {
			enum ctf_decode_status st = decode_n(&f, dlt, n, &pkt);

			assert_sane(st, &pkt, n);
		}
	}
}

/* xorshift32: deterministic, so a failure reproduces */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_robust_mutation(void **state)
{
	static const int dlts[] = { LT_NULL, LT_EN10MB, LT_RAW, LT_LOOP, LT_LINUX_SLL,
				    LT_LINUX_SLL2, LT_IPV4, LT_IPV6 };
	uint32_t seed = 0x5eed1234;
	unsigned int by_status[CTF_DECODE_STATUS_COUNT] = { 0 };

	for (int iter = 0; iter < 20000; iter++) {
		struct frame f = { 0 };
		struct ctf_packet pkt;
		int dlt = scenarios[next_rand(&seed) % N_SCENARIOS](&f);
		unsigned int flips = 1 + next_rand(&seed) % 4;
		enum ctf_decode_status st;
		uint32_t caplen;

		seal(&f);
		for (unsigned int k = 0; k < flips; k++) {
			/* aim most mutations at the headers, where the lengths live */
			uint32_t span = next_rand(&seed) % 4 ? 96 : f.len;
			uint32_t at = next_rand(&seed) % (span < f.len ? span : f.len);

			f.b[at] = (uint8_t)next_rand(&seed);
		}
		if (next_rand(&seed) % 8 == 0)
			dlt = dlts[next_rand(&seed) % (sizeof(dlts) / sizeof(dlts[0]))];
		caplen = next_rand(&seed) % 4 ? f.len : next_rand(&seed) % (f.len + 1);
		st = decode_n(&f, dlt, caplen, &pkt);
		assert_sane(st, &pkt, caplen);
		by_status[st]++;
	}
	/* the mutations reach more than the happy path */
	assert_true(by_status[CTF_DECODE_OK] > 1000);
	assert_true(by_status[CTF_DECODE_IP_VERSION] > 0);
	assert_true(by_status[CTF_DECODE_L4_TRUNCATED] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_degenerate_args),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_linktype_supported),
		cmocka_unit_test(test_ether_ipv4_tcp),
		cmocka_unit_test(test_ether_vlan),
		cmocka_unit_test(test_ether_qinq),
		cmocka_unit_test(test_ether_vlan_depth),
		cmocka_unit_test(test_ether_llc),
		cmocka_unit_test(test_ether_not_ip),
		cmocka_unit_test(test_ether_ip_version_mismatch),
		cmocka_unit_test(test_linux_sll),
		cmocka_unit_test(test_linux_sll2),
		cmocka_unit_test(test_raw_links),
		cmocka_unit_test(test_ipv4_ipv6_links),
		cmocka_unit_test(test_null_and_loop),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_length_is_not_caplen),
		cmocka_unit_test(test_ipv4_zero_total_length),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_basic),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_ipv6_chain_ends),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_ipv6_zero_payload_length),
		cmocka_unit_test(test_tcp_flags),
		cmocka_unit_test(test_udp_sctp_dccp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_icmpv6),
		cmocka_unit_test(test_other_protocols),
		cmocka_unit_test(test_err_link_truncated),
		cmocka_unit_test(test_err_link_unsupported),
		cmocka_unit_test(test_err_ip_truncated),
		cmocka_unit_test(test_err_ip_version),
		cmocka_unit_test(test_err_ip_header),
		cmocka_unit_test(test_err_ip_ext_header),
		cmocka_unit_test(test_err_l4_truncated),
		cmocka_unit_test(test_err_l4_header),
		cmocka_unit_test(test_robust_truncation),
		cmocka_unit_test(test_robust_mutation),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
