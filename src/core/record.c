/*
 * Record helpers shared by every output: the uniflow split and protocol
 * names.
 */
#include <stdio.h>
#include <string.h>

#include "ctflow/icmp.h"
#include "ctflow/record.h"

/* The reply direction of an ICMP query carries the other half of the pair
 * (the answer's type, or the query's when the answer came first), code 0:
 * ICMPv6 node information answers carry a result code the request cannot
 * tell, and 0 (success) is used. Other messages keep theirs. */
static uint16_t reverse_icmp_type_code(const struct ctf_record *bi)
{
	bool icmp = (bi->family == 4 && bi->proto == 1) || (bi->family == 6 && bi->proto == 58);
	uint8_t type = (uint8_t)(bi->icmp_type_code >> 8), request, answer;

	if (!icmp || !ctf_icmp_query(bi->proto, type, &request, &answer))
		return bi->icmp_type_code;
	return (uint16_t)((type == request ? answer : request) << 8);
}

unsigned ctf_record_split_uniflow(const struct ctf_record *bi,
				  struct ctf_record *ret_fwd,
				  struct ctf_record *ret_rev)
{
	*ret_fwd = *bi;
	ret_fwd->rev_octets = 0;
	ret_fwd->rev_packets = 0;
	ret_fwd->rev_tcp_flags = 0;
	if (bi->has_dir_times && bi->packets > 0) {
		ret_fwd->start_ms = bi->fwd_start_ms;
		ret_fwd->end_ms = bi->fwd_end_ms;
	}

	*ret_rev = *bi;
	ret_rev->src = bi->dst;
	ret_rev->dst = bi->src;
	ret_rev->sport = bi->dport;
	ret_rev->dport = bi->sport;
	ret_rev->octets = bi->rev_octets;
	ret_rev->packets = bi->rev_packets;
	ret_rev->tcp_flags = bi->rev_tcp_flags;
	ret_rev->rev_octets = 0;
	ret_rev->rev_packets = 0;
	ret_rev->rev_tcp_flags = 0;
	ret_rev->ingress_if = bi->egress_if;
	ret_rev->egress_if = bi->ingress_if;
	ret_rev->icmp_type_code = reverse_icmp_type_code(bi);
	if (bi->has_dir_times && bi->rev_packets > 0) {
		ret_rev->start_ms = bi->rev_start_ms;
		ret_rev->end_ms = bi->rev_end_ms;
	}
	/* The reply direction of a NATed flow is seen from the translated side:
	 * its post-NAT tuple is the original one reversed. */
	if (bi->nat) {
		ret_rev->src = bi->post_dst;
		ret_rev->dst = bi->post_src;
		ret_rev->sport = bi->post_dport;
		ret_rev->dport = bi->post_sport;
		ret_rev->post_src = bi->dst;
		ret_rev->post_dst = bi->src;
		ret_rev->post_sport = bi->dport;
		ret_rev->post_dport = bi->sport;
	}
	if (bi->rev_packets == 0)
		return CTF_UNIFLOW_FWD;
	/* after an active timeout split only the responder may have spoken */
	return bi->packets > 0 ? CTF_UNIFLOW_FWD | CTF_UNIFLOW_REV : CTF_UNIFLOW_REV;
}

const char *ctf_proto_name(uint8_t proto, char buf[8])
{
	switch (proto) {
	case 1: return "icmp";
	case 2: return "igmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 33: return "dccp";
	case 47: return "gre";
	case 50: return "esp";
	case 51: return "ah";
	case 58: return "icmp6";
	case 132: return "sctp";
	case 136: return "udplite";
	default:
		snprintf(buf, 8, "%u", proto);
		return buf;
	}
}
