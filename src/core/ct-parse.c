/*
 * Conntrack netlink message parser (see include/ctflow/ct-entry.h).
 *
 * The only module that reads CTA_* attributes. It turns one ctnetlink
 * message (event or dump entry) into a flat struct ctf_ct_entry, with no
 * allocation and no state, so it runs on the hot path and in unit tests
 * alike. It does not open sockets, decide what a message means for a flow,
 * or look at expectations.
 *
 * Attributes are walked with a bounded loop of libmnl's mnl_attr_ok /
 * mnl_attr_next semantics and checked with mnl_attr_validate(), rather than
 * with mnl_attr_parse(): the callback form stops silently at a truncated
 * attribute, and a counter or tuple cut short must make the whole message
 * -EINVAL rather than vanish.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ctflow/ct-entry.h"

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

/* Expected type (and length for binary blobs) of the attributes we read;
 * others are skipped unvalidated because they are never dereferenced. */
struct attr_policy {
	uint8_t type;		/* enum mnl_attr_data_type, MNL_TYPE_UNSPEC: ignore */
	uint8_t len;		/* exact payload length for MNL_TYPE_BINARY */
};

/* Attributes above CTA_TIMESTAMP (labels, filters...) are never read. */
#define CTA_READ_MAX CTA_TIMESTAMP

static const struct attr_policy cta_policy[CTA_READ_MAX + 1] = {
	[CTA_TUPLE_ORIG] = { MNL_TYPE_NESTED, 0 },
	[CTA_TUPLE_REPLY] = { MNL_TYPE_NESTED, 0 },
	[CTA_STATUS] = { MNL_TYPE_U32, 0 },
	[CTA_PROTOINFO] = { MNL_TYPE_NESTED, 0 },
	[CTA_TIMEOUT] = { MNL_TYPE_U32, 0 },
	[CTA_MARK] = { MNL_TYPE_U32, 0 },
	[CTA_COUNTERS_ORIG] = { MNL_TYPE_NESTED, 0 },
	[CTA_COUNTERS_REPLY] = { MNL_TYPE_NESTED, 0 },
	[CTA_ID] = { MNL_TYPE_U32, 0 },
	[CTA_ZONE] = { MNL_TYPE_U16, 0 },
	[CTA_TIMESTAMP] = { MNL_TYPE_NESTED, 0 },
};

static const struct attr_policy tuple_policy[CTA_TUPLE_MAX + 1] = {
	[CTA_TUPLE_IP] = { MNL_TYPE_NESTED, 0 },
	[CTA_TUPLE_PROTO] = { MNL_TYPE_NESTED, 0 },
};

static const struct attr_policy ip_policy[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = { MNL_TYPE_U32, 0 },
	[CTA_IP_V4_DST] = { MNL_TYPE_U32, 0 },
	[CTA_IP_V6_SRC] = { MNL_TYPE_BINARY, 16 },
	[CTA_IP_V6_DST] = { MNL_TYPE_BINARY, 16 },
};

static const struct attr_policy proto_policy[CTA_PROTO_MAX + 1] = {
	[CTA_PROTO_NUM] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_SRC_PORT] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_DST_PORT] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_ICMP_ID] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_ICMP_TYPE] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_ICMP_CODE] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_ICMPV6_ID] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_ICMPV6_TYPE] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_ICMPV6_CODE] = { MNL_TYPE_U8, 0 },
};

static const struct attr_policy counters_policy[CTA_COUNTERS_MAX + 1] = {
	[CTA_COUNTERS_PACKETS] = { MNL_TYPE_U64, 0 },
	[CTA_COUNTERS_BYTES] = { MNL_TYPE_U64, 0 },
	[CTA_COUNTERS32_PACKETS] = { MNL_TYPE_U32, 0 },
	[CTA_COUNTERS32_BYTES] = { MNL_TYPE_U32, 0 },
};

static const struct attr_policy timestamp_policy[CTA_TIMESTAMP_MAX + 1] = {
	[CTA_TIMESTAMP_START] = { MNL_TYPE_U64, 0 },
	[CTA_TIMESTAMP_STOP] = { MNL_TYPE_U64, 0 },
};

static const struct attr_policy protoinfo_policy[CTA_PROTOINFO_MAX + 1] = {
	[CTA_PROTOINFO_TCP] = { MNL_TYPE_NESTED, 0 },
};

static const struct attr_policy tcp_policy[CTA_PROTOINFO_TCP_MAX + 1] = {
	[CTA_PROTOINFO_TCP_STATE] = { MNL_TYPE_U8, 0 },
};

/*
 * Index the attributes in [payload, payload + len) by type into tb[0..max]
 * and validate the ones @policy knows. Returns 0, or -EINVAL when an
 * attribute is truncated, overruns its container or has the wrong size.
 * A repeated attribute keeps its last instance, as the kernel's nla_parse.
 * The caller zeroes @tb: a fixed-size initialiser compiles to a few vector
 * stores, where a memset of a variable size became `rep stos`, a third
 * of the parse time.
 */
static int attr_index(const void *payload, size_t len, const struct nlattr **tb,
		      unsigned int max, const struct attr_policy *policy)
{
	const char *p = payload;
	const char *end = p + len;

	/* mnl_attr_ok() and mnl_attr_next() inlined: libmnl exports them
	 * out of line, and their PLT calls were over half the parse time. */
	while (end - p >= (ptrdiff_t)sizeof(struct nlattr)) {
		const struct nlattr *attr = (const struct nlattr *)p;
		uint16_t type = attr->nla_type & NLA_TYPE_MASK;

		if (attr->nla_len < sizeof(struct nlattr) || attr->nla_len > end - p)
			return -EINVAL;
		p += MNL_ALIGN(attr->nla_len);
		if (type > max || policy[type].type == MNL_TYPE_UNSPEC)
			continue;
		if (policy[type].type == MNL_TYPE_BINARY) {
			if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, policy[type].len) < 0)
				return -EINVAL;
		} else if (mnl_attr_validate(attr, policy[type].type) < 0) {
			return -EINVAL;
		}
		tb[type] = attr;
	}
	/* 1 to 3 bytes left: a torn attribute header. A final attribute may
	 * end without its alignment pad (p then lies past end). */
	if (p < end)
		return -EINVAL;
	return 0;
}

static int attr_index_nested(const struct nlattr *nest, const struct nlattr **tb,
			     unsigned int max, const struct attr_policy *policy)
{
	return attr_index(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest),
			  tb, max, policy);
}

static uint16_t attr_be16(const struct nlattr *a)
{
	return ntohs(mnl_attr_get_u16(a));
}

static uint32_t attr_be32(const struct nlattr *a)
{
	return ntohl(mnl_attr_get_u32(a));
}

static uint64_t attr_be64(const struct nlattr *a)
{
	return be64toh(mnl_attr_get_u64(a));
}

static int parse_ip(const struct nlattr *nest, struct ctf_ct_tuple *t)
{
	const struct nlattr *tb[CTA_IP_MAX + 1] = { 0 };
	int r = attr_index_nested(nest, tb, CTA_IP_MAX, ip_policy);

	if (r < 0)
		return r;
	if (tb[CTA_IP_V4_SRC] && tb[CTA_IP_V4_DST]) {
		memcpy(t->src.b, mnl_attr_get_payload(tb[CTA_IP_V4_SRC]), 4);
		memcpy(t->dst.b, mnl_attr_get_payload(tb[CTA_IP_V4_DST]), 4);
	} else if (tb[CTA_IP_V6_SRC] && tb[CTA_IP_V6_DST]) {
		memcpy(t->src.b, mnl_attr_get_payload(tb[CTA_IP_V6_SRC]), 16);
		memcpy(t->dst.b, mnl_attr_get_payload(tb[CTA_IP_V6_DST]), 16);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* ICMP and ICMPv6 carry id/type/code in attributes of their own. */
static void parse_icmp(const struct nlattr **tb, int id, int type, int code,
		       struct ctf_ct_tuple *t)
{
	if (tb[id])
		t->icmp_id = attr_be16(tb[id]);
	if (tb[type])
		t->icmp_type = mnl_attr_get_u8(tb[type]);
	if (tb[code])
		t->icmp_code = mnl_attr_get_u8(tb[code]);
}

static int parse_proto(const struct nlattr *nest, struct ctf_ct_tuple *t)
{
	const struct nlattr *tb[CTA_PROTO_MAX + 1] = { 0 };
	int r = attr_index_nested(nest, tb, CTA_PROTO_MAX, proto_policy);

	if (r < 0)
		return r;
	if (!tb[CTA_PROTO_NUM])
		return -EINVAL;
	t->proto = mnl_attr_get_u8(tb[CTA_PROTO_NUM]);
	if (t->proto == IPPROTO_ICMP) {
		parse_icmp(tb, CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE, t);
	} else if (t->proto == IPPROTO_ICMPV6) {
		parse_icmp(tb, CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE,
			   CTA_PROTO_ICMPV6_CODE, t);
	} else {
		/* TCP, UDP, UDP-Lite, SCTP, DCCP; GRE reports its keys here */
		if (tb[CTA_PROTO_SRC_PORT])
			t->sport = attr_be16(tb[CTA_PROTO_SRC_PORT]);
		if (tb[CTA_PROTO_DST_PORT])
			t->dport = attr_be16(tb[CTA_PROTO_DST_PORT]);
	}
	return 0;
}

static int parse_tuple(const struct nlattr *nest, struct ctf_ct_tuple *t)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1] = { 0 };
	int r = attr_index_nested(nest, tb, CTA_TUPLE_MAX, tuple_policy);

	if (r < 0)
		return r;
	if (!tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO])
		return -EINVAL;
	r = parse_ip(tb[CTA_TUPLE_IP], t);
	if (r < 0)
		return r;
	return parse_proto(tb[CTA_TUPLE_PROTO], t);
}

/* 64-bit counters since Linux 2.6.27; the 32-bit variants are older. */
static int parse_counters(const struct nlattr *nest, uint64_t *ret_packets,
			  uint64_t *ret_bytes)
{
	const struct nlattr *tb[CTA_COUNTERS_MAX + 1] = { 0 };
	int r = attr_index_nested(nest, tb, CTA_COUNTERS_MAX, counters_policy);

	if (r < 0)
		return r;
	if (tb[CTA_COUNTERS_PACKETS])
		*ret_packets = attr_be64(tb[CTA_COUNTERS_PACKETS]);
	else if (tb[CTA_COUNTERS32_PACKETS])
		*ret_packets = attr_be32(tb[CTA_COUNTERS32_PACKETS]);
	if (tb[CTA_COUNTERS_BYTES])
		*ret_bytes = attr_be64(tb[CTA_COUNTERS_BYTES]);
	else if (tb[CTA_COUNTERS32_BYTES])
		*ret_bytes = attr_be32(tb[CTA_COUNTERS32_BYTES]);
	return 0;
}

static int parse_timestamp(const struct nlattr *nest, struct ctf_ct_entry *e)
{
	const struct nlattr *tb[CTA_TIMESTAMP_MAX + 1] = { 0 };
	int r = attr_index_nested(nest, tb, CTA_TIMESTAMP_MAX, timestamp_policy);

	if (r < 0)
		return r;
	if (tb[CTA_TIMESTAMP_START]) {
		e->start_ns = attr_be64(tb[CTA_TIMESTAMP_START]);
		e->has_timestamp = true;
	}
	if (tb[CTA_TIMESTAMP_STOP])
		e->stop_ns = attr_be64(tb[CTA_TIMESTAMP_STOP]);
	return 0;
}

static int parse_protoinfo(const struct nlattr *nest, struct ctf_ct_entry *e)
{
	const struct nlattr *tb[CTA_PROTOINFO_MAX + 1] = { 0 };
	const struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1] = { 0 };
	int r = attr_index_nested(nest, tb, CTA_PROTOINFO_MAX, protoinfo_policy);

	if (r < 0 || !tb[CTA_PROTOINFO_TCP])
		return r;
	r = attr_index_nested(tb[CTA_PROTOINFO_TCP], tcp, CTA_PROTOINFO_TCP_MAX, tcp_policy);
	if (r < 0)
		return r;
	if (tcp[CTA_PROTOINFO_TCP_STATE]) {
		e->tcp_state = mnl_attr_get_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
		e->has_tcp_state = true;
	}
	return 0;
}

/* Message kind from the header alone; 0 for what is not a conntrack entry. */
static uint8_t msg_kind(const struct nlmsghdr *nlh)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return 0;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_NEW:
		/* Dump replies are IPCTNL_MSG_CT_NEW with NLM_F_MULTI; events
		 * never carry it. The kernel marks a new entry's event with
		 * NLM_F_CREATE|NLM_F_EXCL. */
		if (nlh->nlmsg_flags & NLM_F_MULTI)
			return CTF_CT_DUMP;
		if (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL))
			return CTF_CT_NEW;
		return CTF_CT_UPDATE;
	case IPCTNL_MSG_CT_DELETE:
		return CTF_CT_DESTROY;
	default:
		return 0;
	}
}

static int parse_family(uint8_t nfgen_family, struct ctf_ct_entry *e)
{
	switch (nfgen_family) {
	case AF_INET:
		e->family = 4;
		return 0;
	case AF_INET6:
		e->family = 6;
		return 0;
	default:
		return -EPROTONOSUPPORT;
	}
}

/* Everything outside the tuples; the tuples are already in @e. */
static int parse_rest(const struct nlattr **tb, struct ctf_ct_entry *e)
{
	int r = 0;

	if (tb[CTA_STATUS])
		e->status = attr_be32(tb[CTA_STATUS]);
	if (tb[CTA_ID])
		e->id = attr_be32(tb[CTA_ID]);
	if (tb[CTA_MARK])
		e->mark = attr_be32(tb[CTA_MARK]);
	if (tb[CTA_TIMEOUT])
		e->timeout = attr_be32(tb[CTA_TIMEOUT]);
	if (tb[CTA_ZONE])
		e->zone = attr_be16(tb[CTA_ZONE]);
	if (tb[CTA_COUNTERS_ORIG] && r == 0) {
		r = parse_counters(tb[CTA_COUNTERS_ORIG], &e->orig_packets, &e->orig_bytes);
		e->has_counters = true;
	}
	if (tb[CTA_COUNTERS_REPLY] && r == 0) {
		r = parse_counters(tb[CTA_COUNTERS_REPLY], &e->reply_packets, &e->reply_bytes);
		e->has_counters = true;
	}
	if (tb[CTA_TIMESTAMP] && r == 0)
		r = parse_timestamp(tb[CTA_TIMESTAMP], e);
	if (tb[CTA_PROTOINFO] && r == 0)
		r = parse_protoinfo(tb[CTA_PROTOINFO], e);
	return r;
}

int ctf_ct_parse(const struct nlmsghdr *nlh, struct ctf_ct_entry *ret)
{
	const size_t hdr = NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *tb[CTA_READ_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg;
	uint8_t kind;
	int r;

	if (!nlh || !ret || nlh->nlmsg_len < NLMSG_HDRLEN)
		return -EINVAL;
	kind = msg_kind(nlh);
	if (kind == 0)
		return -EPROTONOSUPPORT;
	if (nlh->nlmsg_len < hdr)
		return -EINVAL;

	memset(ret, 0, sizeof(*ret));
	ret->msg = kind;
	nfg = mnl_nlmsg_get_payload(nlh);
	r = parse_family(nfg->nfgen_family, ret);
	if (r < 0)
		return r;

	/* Bounded by nlmsg_len itself, not its aligned end: never read past. */
	r = attr_index((const char *)nlh + hdr, nlh->nlmsg_len - hdr, tb, CTA_READ_MAX, cta_policy);
	if (r < 0)
		return r;
	if (!tb[CTA_TUPLE_ORIG] || !tb[CTA_TUPLE_REPLY])
		return -EINVAL;
	r = parse_tuple(tb[CTA_TUPLE_ORIG], &ret->orig);
	if (r == 0)
		r = parse_tuple(tb[CTA_TUPLE_REPLY], &ret->reply);
	if (r == 0)
		r = parse_rest(tb, ret);
	return r;
}

bool ctf_ct_entry_is_nat(const struct ctf_ct_entry *e)
{
	return ctf_ct_tuples_are_nat(&e->orig, &e->reply);
}

bool ctf_ct_tuples_are_nat(const struct ctf_ct_tuple *o, const struct ctf_ct_tuple *r)
{
	if (memcmp(&o->src, &r->dst, sizeof(o->src)) != 0 ||
	    memcmp(&o->dst, &r->src, sizeof(o->dst)) != 0)
		return true;
	if (o->proto == IPPROTO_ICMP || o->proto == IPPROTO_ICMPV6)
		return o->icmp_id != r->icmp_id;
	return o->sport != r->dport || o->dport != r->sport;
}
