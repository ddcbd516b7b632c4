/*
 * Conntrack message parsing: messages built with libnetfilter_conntrack
 * (as a peer implementation of the wire format) plus hand-made attributes
 * for what it does not build (id, counters, timestamps) and for malformed
 * input. Truncated copies live in exact-size heap buffers so the sanitizer
 * catches any read past nlmsg_len.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <glib.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "ctflow/ct-entry.h"

#define MSG_SIZE 2048

/* A message under construction: header + nfgenmsg, attributes appended. */
struct msg {
	union {
		char buf[MSG_SIZE];
		struct nlmsghdr align;
	};
	struct nlmsghdr *nlh;
};

static struct nlmsghdr *given_msg(struct msg *m, uint16_t subsys_type, uint16_t flags,
				  uint8_t family)
{
	struct nfgenmsg *nfg;

	memset(m->buf, 0, sizeof(m->buf));
	m->nlh = mnl_nlmsg_put_header(m->buf);
	m->nlh->nlmsg_type = subsys_type;
	m->nlh->nlmsg_flags = flags;
	nfg = mnl_nlmsg_put_extra_header(m->nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	return m->nlh;
}

static struct nlmsghdr *given_ct_msg(struct msg *m, uint8_t type, uint16_t flags,
				     uint8_t family)
{
	return given_msg(m, (NFNL_SUBSYS_CTNETLINK << 8) | type, flags, family);
}

static void given_counters(struct nlmsghdr *nlh, uint16_t which, uint64_t packets,
			   uint64_t bytes)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, which);

	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(packets));
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(bytes));
	mnl_attr_nest_end(nlh, nest);
}

static void given_timestamp(struct nlmsghdr *nlh, uint64_t start, uint64_t stop)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);

	mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(start));
	if (stop)
		mnl_attr_put_u64(nlh, CTA_TIMESTAMP_STOP, htobe64(stop));
	mnl_attr_nest_end(nlh, nest);
}

static struct nf_conntrack *given_ct4(uint8_t proto, const char *src, const char *dst,
				      uint16_t sport, uint16_t dport)
{
	struct nf_conntrack *ct = nfct_new();

	assert_non_null(ct);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, inet_addr(src));
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, inet_addr(dst));
	nfct_set_attr_u8(ct, ATTR_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(sport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(dport));
	return ct;
}

/* The reply tuple written out explicitly (NAT cases) */
static void given_reply4(struct nf_conntrack *ct, const char *src, const char *dst,
			 uint16_t sport, uint16_t dport)
{
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, inet_addr(src));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, inet_addr(dst));
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, nfct_get_attr_u8(ct, ATTR_L4PROTO));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(sport));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(dport));
}

static void build(struct nlmsghdr *nlh, struct nf_conntrack *ct)
{
	assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
	nfct_destroy(ct);
}

static void assert_addr(const struct ctf_addr *a, int af, const char *text)
{
	struct ctf_addr want = { 0 };

	assert_int_equal(inet_pton(af, text, want.b), 1);
	assert_memory_equal(a->b, want.b, sizeof(want.b));
}

/* A full TCP/IPv4 DESTROY as the kernel sends it with acct+timestamp on. */
static struct nlmsghdr *given_tcp4_destroy(struct msg *m)
{
	struct nlmsghdr *nlh = given_ct_msg(m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	struct nf_conntrack *ct = given_ct4(IPPROTO_TCP, "10.1.2.3", "10.9.8.7", 40000, 443);

	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED);
	nfct_set_attr_u32(ct, ATTR_MARK, 0xdeadbeef);
	nfct_set_attr_u16(ct, ATTR_ZONE, 7);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 119);
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_TIME_WAIT);
	build(nlh, ct);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(0x12345678));
	given_counters(nlh, CTA_COUNTERS_ORIG, 10, 1234);
	given_counters(nlh, CTA_COUNTERS_REPLY, 8, 5000000000ull);
	given_timestamp(nlh, 1700000000123456789ull, 1700000005987654321ull);
	return nlh;
}

static void test_null_and_short(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh = given_tcp4_destroy(&m);

	assert_int_equal(ctf_ct_parse(NULL, &e), -EINVAL);
	assert_int_equal(ctf_ct_parse(nlh, NULL), -EINVAL);

	/* shorter than a netlink header, then than header + nfgenmsg */
	nlh->nlmsg_len = 8;
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* header + nfgenmsg but no attributes: no tuples */
	nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);
}

static void test_not_conntrack_entries(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh;

	nlh = given_msg(&m, NLMSG_ERROR, 0, AF_INET);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EPROTONOSUPPORT);
	nlh = given_msg(&m, NLMSG_DONE, NLM_F_MULTI, AF_INET);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EPROTONOSUPPORT);
	nlh = given_msg(&m, (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW,
			NLM_F_CREATE, AF_INET);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EPROTONOSUPPORT);
	nlh = given_ct_msg(&m, IPCTNL_MSG_CT_GET_STATS_CPU, 0, AF_INET);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EPROTONOSUPPORT);

	/* an otherwise valid entry of a family other than IPv4/IPv6 */
	nlh = given_tcp4_destroy(&m);
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family = AF_BRIDGE;
	assert_int_equal(ctf_ct_parse(nlh, &e), -EPROTONOSUPPORT);
}

static void test_tcp4_destroy_every_field(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;

	memset(&e, 0xa5, sizeof(e));	/* the parser must clear what is absent */
	assert_int_equal(ctf_ct_parse(given_tcp4_destroy(&m), &e), 0);
	assert_int_equal(e.msg, CTF_CT_DESTROY);
	assert_int_equal(e.family, 4);
	assert_int_equal(e.orig.proto, IPPROTO_TCP);
	assert_addr(&e.orig.src, AF_INET, "10.1.2.3");
	assert_addr(&e.orig.dst, AF_INET, "10.9.8.7");
	assert_int_equal(e.orig.sport, 40000);
	assert_int_equal(e.orig.dport, 443);
	assert_int_equal(e.orig.icmp_id, 0);
	assert_int_equal(e.reply.proto, IPPROTO_TCP);
	assert_addr(&e.reply.src, AF_INET, "10.9.8.7");
	assert_addr(&e.reply.dst, AF_INET, "10.1.2.3");
	assert_int_equal(e.reply.sport, 443);
	assert_int_equal(e.reply.dport, 40000);
	assert_int_equal(e.orig_packets, 10);
	assert_int_equal(e.orig_bytes, 1234);
	assert_int_equal(e.reply_packets, 8);
	assert_true(e.reply_bytes == 5000000000ull);	/* > 32 bits */
	assert_true(e.has_counters);
	assert_true(e.has_timestamp);
	assert_true(e.start_ns == 1700000000123456789ull);
	assert_true(e.stop_ns == 1700000005987654321ull);
	assert_int_equal(e.id, 0x12345678);
	assert_int_equal(e.status, IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED);
	assert_int_equal(e.mark, 0xdeadbeef);
	assert_int_equal(e.timeout, 119);
	assert_int_equal(e.zone, 7);
	assert_true(e.has_tcp_state);
	assert_int_equal(e.tcp_state, TCP_CONNTRACK_TIME_WAIT);
	assert_false(ctf_ct_entry_is_nat(&e));
}

static void test_message_kinds_from_type_and_flags(void **state)
{
	static const struct {
		uint8_t type;
		uint16_t flags;
		uint8_t want;
	} cases[] = {
		{ IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, CTF_CT_NEW },
		{ IPCTNL_MSG_CT_NEW, NLM_F_CREATE, CTF_CT_NEW },
		{ IPCTNL_MSG_CT_NEW, NLM_F_EXCL, CTF_CT_NEW },
		{ IPCTNL_MSG_CT_NEW, 0, CTF_CT_UPDATE },
		{ IPCTNL_MSG_CT_NEW, NLM_F_MULTI, CTF_CT_DUMP },
		{ IPCTNL_MSG_CT_DELETE, 0, CTF_CT_DESTROY },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct msg m;
		struct ctf_ct_entry e;
		struct nlmsghdr *nlh = given_ct_msg(&m, cases[i].type, cases[i].flags, AF_INET);
		struct nf_conntrack *ct = given_ct4(IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 5353, 53);

		nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
		build(nlh, ct);
		assert_int_equal(ctf_ct_parse(nlh, &e), 0);
		assert_int_equal(e.msg, cases[i].want);
		/* events without acct/timestamp/protoinfo: flags stay off */
		assert_false(e.has_counters);
		assert_false(e.has_timestamp);
		assert_false(e.has_tcp_state);
		assert_int_equal(e.orig.proto, IPPROTO_UDP);
		assert_int_equal(e.reply.sport, 53);
	}
}

static void test_udp6_new(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW,
					    NLM_F_CREATE | NLM_F_EXCL, AF_INET6);
	struct nf_conntrack *ct = nfct_new();
	struct ctf_addr a, b;

	inet_pton(AF_INET6, "fd00::1", a.b);
	inet_pton(AF_INET6, "fd00:0:0:1::abcd", b.b);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET6);
	nfct_set_attr(ct, ATTR_IPV6_SRC, a.b);
	nfct_set_attr(ct, ATTR_IPV6_DST, b.b);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(65535));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(1));
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 30);
	build(nlh, ct);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(99));

	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_int_equal(e.msg, CTF_CT_NEW);
	assert_int_equal(e.family, 6);
	assert_addr(&e.orig.src, AF_INET6, "fd00::1");
	assert_addr(&e.orig.dst, AF_INET6, "fd00:0:0:1::abcd");
	assert_addr(&e.reply.src, AF_INET6, "fd00:0:0:1::abcd");
	assert_addr(&e.reply.dst, AF_INET6, "fd00::1");
	assert_int_equal(e.orig.sport, 65535);
	assert_int_equal(e.orig.dport, 1);
	assert_int_equal(e.timeout, 30);
	assert_int_equal(e.id, 99);
	assert_int_equal(e.mark, 0);
	assert_int_equal(e.zone, 0);
	assert_false(ctf_ct_entry_is_nat(&e));
}

static void test_icmp4_echo(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	struct nf_conntrack *ct = nfct_new();

	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, inet_addr("10.0.0.1"));
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, inet_addr("10.0.0.2"));
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_ICMP);
	nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, 8);
	nfct_set_attr_u8(ct, ATTR_ICMP_CODE, 0);
	nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(4242));
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	build(nlh, ct);

	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_int_equal(e.orig.proto, IPPROTO_ICMP);
	assert_int_equal(e.orig.icmp_type, 8);
	assert_int_equal(e.orig.icmp_code, 0);
	assert_int_equal(e.orig.icmp_id, 4242);
	assert_int_equal(e.orig.sport, 0);
	assert_int_equal(e.orig.dport, 0);
	assert_int_equal(e.reply.icmp_type, 0);	/* echo reply */
	assert_int_equal(e.reply.icmp_id, 4242);
	assert_false(ctf_ct_entry_is_nat(&e));
}

static void test_icmp6_echo(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh = given_ct_msg(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET6);
	struct nf_conntrack *ct = nfct_new();
	struct ctf_addr a, b;

	inet_pton(AF_INET6, "fd00::1", a.b);
	inet_pton(AF_INET6, "fd00::2", b.b);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET6);
	nfct_set_attr(ct, ATTR_IPV6_SRC, a.b);
	nfct_set_attr(ct, ATTR_IPV6_DST, b.b);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_ICMPV6);
	nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, 128);
	nfct_set_attr_u8(ct, ATTR_ICMP_CODE, 0);
	nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(7));
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	build(nlh, ct);

	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_int_equal(e.msg, CTF_CT_DESTROY);
	assert_int_equal(e.family, 6);
	assert_int_equal(e.orig.proto, IPPROTO_ICMPV6);
	assert_int_equal(e.orig.icmp_type, 128);
	assert_int_equal(e.orig.icmp_id, 7);
	assert_int_equal(e.reply.icmp_type, 129);
	assert_int_equal(e.reply.icmp_id, 7);
}

/* Linux before 2.6.27 sent 32-bit counters; the parser takes either. */
static void test_counters32(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh = given_ct_msg(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	struct nf_conntrack *ct = given_ct4(IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 1, 2);
	struct nlattr *nest;

	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	build(nlh, ct);
	nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);
	mnl_attr_put_u32(nlh, CTA_COUNTERS32_PACKETS, htonl(3));
	mnl_attr_put_u32(nlh, CTA_COUNTERS32_BYTES, htonl(300));
	mnl_attr_nest_end(nlh, nest);
	given_counters(nlh, CTA_COUNTERS_REPLY, 2, 200);

	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_true(e.has_counters);
	assert_int_equal(e.orig_packets, 3);
	assert_int_equal(e.orig_bytes, 300);
	assert_int_equal(e.reply_packets, 2);
	assert_int_equal(e.reply_bytes, 200);
}

static void test_nat_detection(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	struct nf_conntrack *ct = given_ct4(IPPROTO_TCP, "10.0.1.2", "10.0.2.2", 40000, 80);

	/* masquerade: the server answers the router's address and port */
	given_reply4(ct, "10.0.2.2", "10.0.2.1", 80, 61000);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_SRC_NAT | IPS_SRC_NAT_DONE);
	build(nlh, ct);
	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_true(ctf_ct_entry_is_nat(&e));
	assert_addr(&e.reply.dst, AF_INET, "10.0.2.1");
	assert_int_equal(e.reply.dport, 61000);

	/* only the port changed */
	nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	ct = given_ct4(IPPROTO_UDP, "10.0.1.2", "10.0.2.2", 40000, 53);
	given_reply4(ct, "10.0.2.2", "10.0.1.2", 53, 40001);
	build(nlh, ct);
	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_true(ctf_ct_entry_is_nat(&e));

	/* an explicit but exactly reversed reply tuple */
	nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	ct = given_ct4(IPPROTO_UDP, "10.0.1.2", "10.0.2.2", 40000, 53);
	given_reply4(ct, "10.0.2.2", "10.0.1.2", 53, 40000);
	build(nlh, ct);
	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_false(ctf_ct_entry_is_nat(&e));
}

/* Every prefix of a valid message, in a buffer of exactly that size. */
static void test_every_truncation(void **state)
{
	struct msg m;
	struct nlmsghdr *full = given_tcp4_destroy(&m);
	const uint32_t len = full->nlmsg_len;
	const uint32_t hdr = NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	int ok = 0;

	for (uint32_t n = 0; n < len; n++) {
		g_autofree struct nlmsghdr *cut = g_malloc(MAX(n, sizeof(*cut)));
		struct ctf_ct_entry e;
		int r;

		memcpy(cut, full, MAX(n, sizeof(*cut)));
		cut->nlmsg_len = n;
		r = ctf_ct_parse(cut, &e);
		if (r == 0) {
			/* only at attribute boundaries after both tuples */
			assert_true(n > hdr + 100);
			assert_int_equal(e.orig.dport, 443);
			ok++;
		} else {
			assert_int_equal(r, -EINVAL);
		}
	}
	/* The ends of reply, status, timeout, mark, protoinfo, zone, id and
	 * both counters; zone (a 6-byte attribute) also ends inside its
	 * 2-byte alignment pad, which the parser does not require */
	assert_int_equal(ok, 11);
}

/* Append raw bytes as one attribute, whatever its header claims. */
static void put_raw_attr(struct nlmsghdr *nlh, uint16_t type, uint16_t nla_len,
			 const void *data, size_t data_len)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

	a->nla_type = type;
	a->nla_len = nla_len;
	memcpy(a + 1, data, data_len);
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*a) + data_len);
}

static void test_malformed_attributes(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh;
	struct nlattr *nest, *ip;
	struct ctf_addr a = { 0 };

	/* 32-bit value where a 64-bit counter belongs */
	nlh = given_tcp4_destroy(&m);
	nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);
	mnl_attr_put_u32(nlh, CTA_COUNTERS_PACKETS, htonl(1));
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* an attribute whose length claims more than the message holds */
	nlh = given_tcp4_destroy(&m);
	put_raw_attr(nlh, CTA_MARK, 64, "\0\0\0\1", 4);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* an attribute length below the header size */
	nlh = given_tcp4_destroy(&m);
	put_raw_attr(nlh, CTA_MARK, 2, "\0\0\0\1", 4);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* a 3-byte mark */
	nlh = given_tcp4_destroy(&m);
	put_raw_attr(nlh, CTA_MARK, 7, "\0\0\1\0", 4);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* 15-byte IPv6 address inside a tuple */
	nlh = given_ct_msg(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET6);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, CTA_IP_V6_SRC, 15, a.b);
	mnl_attr_put(nlh, CTA_IP_V6_DST, 16, a.b);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* unknown attributes (types beyond CTA_MAX, labels) are skipped */
	nlh = given_tcp4_destroy(&m);
	mnl_attr_put(nlh, CTA_LABELS, 16, a.b);
	mnl_attr_put_u32(nlh, CTA_MAX + 5, 0);
	assert_int_equal(ctf_ct_parse(nlh, &e), 0);
	assert_int_equal(e.zone, 7);
}

static void test_missing_tuple_parts(void **state)
{
	struct msg m;
	struct ctf_ct_entry e;
	struct nlmsghdr *nlh;
	struct nlattr *t, *n;

	/* orig tuple only */
	nlh = given_ct_msg(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	build(nlh, given_ct4(IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 1, 2));
	assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);

	/* a tuple without CTA_PROTO_NUM, then one with a source address only */
	for (int variant = 0; variant < 2; variant++) {
		nlh = given_ct_msg(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
		for (uint16_t which = CTA_TUPLE_ORIG; which <= CTA_TUPLE_REPLY; which++) {
			t = mnl_attr_nest_start(nlh, which);
			n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
			mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, inet_addr("10.0.0.1"));
			if (variant == 0)
				mnl_attr_put_u32(nlh, CTA_IP_V4_DST, inet_addr("10.0.0.2"));
			mnl_attr_nest_end(nlh, n);
			n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
			if (variant == 1)
				mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
			mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(1));
			mnl_attr_nest_end(nlh, n);
			mnl_attr_nest_end(nlh, t);
		}
		assert_int_equal(ctf_ct_parse(nlh, &e), -EINVAL);
	}
}

/* Random corruption: any result is fine as long as nothing reads out of
 * bounds (the sanitizer run is the assertion) and errors are the two kinds. */
static void test_random_corruption(void **state)
{
	struct msg m;
	struct nlmsghdr *full = given_tcp4_destroy(&m);
	const uint32_t len = full->nlmsg_len;
	GRand *rng = g_rand_new_with_seed(3);

	for (int i = 0; i < 20000; i++) {
		g_autofree uint8_t *b = g_memdup2(full, len);
		struct ctf_ct_entry e;
		int flips = g_rand_int_range(rng, 1, 4);
		int r;

		for (int f = 0; f < flips; f++)
			b[g_rand_int_range(rng, 4, len)] = g_rand_int_range(rng, 0, 256);
		r = ctf_ct_parse((struct nlmsghdr *)b, &e);
		assert_true(r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT);
	}
	g_rand_free(rng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_and_short),
		cmocka_unit_test(test_not_conntrack_entries),
		cmocka_unit_test(test_tcp4_destroy_every_field),
		cmocka_unit_test(test_message_kinds_from_type_and_flags),
		cmocka_unit_test(test_udp6_new),
		cmocka_unit_test(test_icmp4_echo),
		cmocka_unit_test(test_icmp6_echo),
		cmocka_unit_test(test_counters32),
		cmocka_unit_test(test_nat_detection),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_malformed_attributes),
		cmocka_unit_test(test_missing_tuple_parts),
		cmocka_unit_test(test_random_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
