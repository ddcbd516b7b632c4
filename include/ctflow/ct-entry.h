/*
 * A conntrack entry as ctflow uses it: parsed from one nfnetlink
 * conntrack message (event or dump), flat, no allocation.
 *
 * ctf_ct_parse() is the only place that reads CTA_* attributes; the live
 * flow table (ct-table.h) works on this struct alone, so it is testable
 * without a kernel.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "ctflow/packet.h"

enum ctf_ct_msg {
	CTF_CT_NEW = 1,		/* IPCTNL_MSG_CT_NEW with NLM_F_CREATE */
	CTF_CT_UPDATE,		/* IPCTNL_MSG_CT_NEW without NLM_F_CREATE */
	CTF_CT_DESTROY,		/* IPCTNL_MSG_CT_DELETE */
	CTF_CT_DUMP,		/* an entry of a table dump */
};

struct ctf_ct_tuple {
	struct ctf_addr src;
	struct ctf_addr dst;
	uint16_t sport;		/* host order; ICMP: 0 */
	uint16_t dport;
	uint16_t icmp_id;	/* ICMP/ICMPv6 */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t proto;
	uint8_t pad[3];
};

struct ctf_ct_entry {
	struct ctf_ct_tuple orig;	/* CTA_TUPLE_ORIG */
	struct ctf_ct_tuple reply;	/* CTA_TUPLE_REPLY */
	uint64_t orig_packets;		/* CTA_COUNTERS_ORIG (cumulative) */
	uint64_t orig_bytes;
	uint64_t reply_packets;		/* CTA_COUNTERS_REPLY */
	uint64_t reply_bytes;
	uint64_t start_ns;		/* CTA_TIMESTAMP_START, CLOCK_REALTIME ns */
	uint64_t stop_ns;		/* CTA_TIMESTAMP_STOP (DESTROY only) */
	uint32_t id;			/* CTA_ID */
	uint32_t status;		/* CTA_STATUS, IPS_* bits */
	uint32_t mark;			/* CTA_MARK */
	uint32_t timeout;		/* CTA_TIMEOUT seconds left, 0 if absent */
	uint16_t zone;			/* CTA_ZONE */
	uint8_t family;			/* 4 or 6 (nfgen_family) */
	uint8_t msg;			/* enum ctf_ct_msg */
	uint8_t tcp_state;		/* CTA_PROTOINFO_TCP_STATE (TCP_CONNTRACK_*), 0 if absent */
	bool has_counters;		/* nf_conntrack_acct was on for this entry */
	bool has_timestamp;		/* nf_conntrack_timestamp was on */
	bool has_tcp_state;
};

/**
 * ctf_ct_parse - parse one conntrack netlink message
 * @nlh: a message of subsystem NFNL_SUBSYS_CTNETLINK
 * @ret: filled on success
 *
 * Returns 0, -EINVAL for a malformed message (missing tuples, bad
 * attribute lengths) or -EPROTONOSUPPORT for messages that are not
 * conntrack entries (expectations, errors). Never reads past nlmsg_len.
 */
int ctf_ct_parse(const struct nlmsghdr *nlh, struct ctf_ct_entry *ret);

/* Whether the entry is NATed: the reply tuple is not the original reversed. */
bool ctf_ct_entry_is_nat(const struct ctf_ct_entry *e);

/* The same for a pair of tuples kept apart from their entry. */
bool ctf_ct_tuples_are_nat(const struct ctf_ct_tuple *orig, const struct ctf_ct_tuple *reply);
