/*
 * A decoded packet: the fields the flow table needs, nothing more.
 *
 * Filled by ctf_decode_packet() from captured bytes. Owns no memory.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* An IPv4 or IPv6 address in network byte order. IPv4 uses b[0..3] and
 * leaves b[4..15] zero, so two addresses compare with memcmp(). */
struct ctf_addr {
	uint8_t b[16];
};

/* ctf_packet.frag values */
enum ctf_frag {
	CTF_FRAG_NONE = 0,	/* not a fragment */
	CTF_FRAG_FIRST,		/* offset 0, more fragments follow: L4 header present */
	CTF_FRAG_LATER,		/* offset > 0: no L4 header */
};

/* TCP flag bits as in tcpControlBits (IANA IE 6) */
#define CTF_TCP_FIN 0x001
#define CTF_TCP_SYN 0x002
#define CTF_TCP_RST 0x004
#define CTF_TCP_PSH 0x008
#define CTF_TCP_ACK 0x010
#define CTF_TCP_URG 0x020
#define CTF_TCP_ECE 0x040
#define CTF_TCP_CWR 0x080
#define CTF_TCP_NS  0x100

struct ctf_packet {
	uint64_t ts_us;		/* capture time, µs since the UNIX epoch */
	struct ctf_addr src;
	struct ctf_addr dst;
	uint32_t ip_len;	/* octets at layer 3: the IP header's total length
				 * (IPv6: 40 + payload length), as conntrack counts;
				 * never the captured length */
	uint32_t flow_label;	/* IPv6 flow label, 0 for IPv4 */
	uint32_t frag_id;	/* IPv4 identification or IPv6 fragment id */
	uint32_t frag_offset;	/* fragment offset in bytes */
	uint16_t frag_len;	/* fragment payload octets (after all IP headers) */
	uint16_t l3_hdr_len;	/* IP header plus extension headers before the payload */
	uint16_t sport;		/* TCP/UDP/SCTP/UDP-Lite/DCCP source port */
	uint16_t dport;		/* ... destination port */
	uint16_t vlan_outer;	/* outer 802.1Q/802.1ad VLAN id, 0 when untagged */
	uint16_t vlan_inner;	/* inner VLAN id for QinQ, 0 otherwise */
	uint16_t tcp_flags;	/* CTF_TCP_* bits, TCP only */
	uint16_t icmp_id;	/* ICMP/ICMPv6 query identifier (echo, timestamp, ...) */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* IP protocol / final IPv6 next header */
	uint8_t tos;		/* IPv4 TOS or IPv6 traffic class */
	uint8_t frag;		/* enum ctf_frag */
	bool more_frags;	/* MF bit / M flag */
	bool has_ports;		/* sport/dport (or ICMP type/code/id) are valid */
};
