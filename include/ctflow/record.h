/*
 * The flow record: one schema for live (conntrack) and offline (pcap) flows.
 *
 * A record is a biflow in the RFC 5103 sense: src/dst/ports are the
 * initiator's view (conntrack ORIGINAL), octets/packets count that
 * direction and rev_* count the reply direction. ctf_record_split_uniflow()
 * turns one biflow into the two uniflow records that --uniflow exports.
 * Plain value type: copy freely, owns no memory.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ctflow/enrich.h"
#include "ctflow/packet.h"

/* flowEndReason (IANA IE 136) */
enum ctf_end_reason {
	CTF_END_IDLE = 1,	/* idle timeout */
	CTF_END_ACTIVE = 2,	/* active timeout: the flow continues */
	CTF_END_EOF = 3,	/* end of flow detected (FIN both ways, RST, DESTROY) */
	CTF_END_FORCED = 4,	/* forced end: end of input, shutdown */
	CTF_END_RESOURCES = 5,	/* lack of resources: flow table full */
};

/* natEvent (IANA IE 230, RFC 8158) */
enum ctf_nat_event {
	CTF_NAT_NONE = 0,	/* never exported: nfdump prints 0 as INVALID */
	CTF_NAT44_CREATE = 4,
	CTF_NAT44_DELETE = 5,
	CTF_NAT64_CREATE = 6,
	CTF_NAT64_DELETE = 7,
};

struct ctf_record {
	uint64_t start_ms;	/* flowStartMilliseconds */
	uint64_t end_ms;	/* flowEndMilliseconds */
	uint64_t octets;	/* octetDeltaCount, initiator -> responder */
	uint64_t packets;	/* packetDeltaCount */
	uint64_t rev_octets;	/* reverseOctetDeltaCount (RFC 5103) */
	uint64_t rev_packets;	/* reversePacketDeltaCount */
	uint64_t flow_id;	/* flowId: same for every record of one flow, unique */
	/* Each direction's first and last packet (ms), for uniflow records;
	 * valid when has_dir_times (offline: conntrack keeps one start and
	 * one stop per connection, so live uniflow records carry the
	 * connection's times in both directions). */
	uint64_t fwd_start_ms;
	uint64_t fwd_end_ms;
	uint64_t rev_start_ms;	/* 0 when the responder sent nothing */
	uint64_t rev_end_ms;
	struct ctf_addr src;
	struct ctf_addr dst;
	struct ctf_addr post_src;	/* postNAT*; valid when nat is true */
	struct ctf_addr post_dst;
	uint32_t ingress_if;	/* ingressInterface, 0 = unknown */
	uint32_t egress_if;	/* egressInterface, 0 = unknown */
	uint32_t flow_label;	/* flowLabelIPv6 */
	uint32_t ct_zone;	/* enterprise: conntrack zone (live only) */
	uint32_t ct_mark;	/* enterprise: conntrack mark (live only) */
	uint32_t netns_ino;	/* enterprise: network namespace inode (live only) */
	uint32_t ct_id;		/* conntrack id (live only; reused by the kernel) */
	uint16_t sport;		/* 0 for ICMP */
	uint16_t dport;		/* 0 for ICMP */
	uint16_t post_sport;
	uint16_t post_dport;
	uint16_t icmp_type_code;	/* icmpTypeCodeIPv4/IPv6: type << 8 | code */
	uint16_t tcp_flags;	/* tcpControlBits, initiator */
	uint16_t rev_tcp_flags;	/* reverseTcpControlBits */
	uint16_t vlan;		/* vlanId (outer tag), 0 = none */
	uint16_t inner_vlan;	/* dot1qCustomerVlanId for QinQ, 0 = none */
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* protocolIdentifier */
	uint8_t tos;		/* ipClassOfService of the first initiator packet */
	uint8_t end_reason;	/* enum ctf_end_reason */
	uint8_t nat_event;	/* enum ctf_nat_event; CTF_NAT_NONE when not NATed */
	bool nat;		/* post_* fields are meaningful */
	bool has_dir_times;	/* fwd_* and rev_* are set */
	bool has_proc;		/* proc is filled (live, a local socket was found) */
	struct ctf_proc_info proc;	/* owning process (live only); see enrich.h */
};

/**
 * ctf_record_split_uniflow - split a biflow into uniflow records
 * @bi: the biflow record
 * @ret_fwd: the initiator's direction
 * @ret_rev: the responder's direction: addresses, ports and counters
 *           swapped, reverse counters zero; an ICMP query's type becomes
 *           its reply's (echo request 8 -> echo reply 0, ...)
 *
 * Each record gets its direction's own first and last packet times when
 * @bi has them (has_dir_times), else the biflow's.
 *
 * Returns which of the two are records to export: CTF_UNIFLOW_FWD and/or
 * CTF_UNIFLOW_REV, each when its direction has packets, and
 * CTF_UNIFLOW_FWD alone when neither has (the record still ends a flow).
 */
enum {
	CTF_UNIFLOW_FWD = 1 << 0,
	CTF_UNIFLOW_REV = 1 << 1,
};

unsigned ctf_record_split_uniflow(const struct ctf_record *bi,
				  struct ctf_record *ret_fwd,
				  struct ctf_record *ret_rev);

/* "tcp", "udp", "icmp", ... or the number; @buf needs 8 bytes */
const char *ctf_proto_name(uint8_t proto, char buf[8]);
