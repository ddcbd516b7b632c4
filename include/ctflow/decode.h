/*
 * Packet decoding: link layer, IPv4/IPv6 (options, extension headers,
 * fragments), TCP, UDP, ICMP/ICMPv6, SCTP.
 *
 * Pure functions over caller-owned bytes; no allocation, no state.
 * Every input, however malformed, yields a status: never a crash and never
 * a read past @caplen.
 */
#pragma once

#include <stdint.h>

#include "ctflow/packet.h"

/* Outcome of decoding one packet. CTF_DECODE_OK means @ret_pkt is filled;
 * CTF_DECODE_NOT_IP is a valid frame that carries no IP (ARP, STP, ...);
 * every other value is a reason the packet was skipped. Keep
 * ctf_decode_status_name() in step. */
enum ctf_decode_status {
	CTF_DECODE_OK = 0,
	CTF_DECODE_NOT_IP,		/* valid, not IP: ignored */
	CTF_DECODE_LINK_TRUNCATED,	/* shorter than its link header */
	CTF_DECODE_LINK_UNSUPPORTED,	/* link type ctflow does not decode */
	CTF_DECODE_VLAN_DEPTH,		/* more than two VLAN tags */
	CTF_DECODE_IP_TRUNCATED,	/* captured bytes end inside the IP header */
	CTF_DECODE_IP_VERSION,		/* IP version not 4/6, or not what the link says */
	CTF_DECODE_IP_HEADER,		/* bad IHL, total length below header, ... */
	CTF_DECODE_IP_EXT_HEADER,	/* IPv6 extension header chain malformed or too long */
	CTF_DECODE_L4_TRUNCATED,	/* transport header not in the captured bytes */
	CTF_DECODE_L4_HEADER,		/* transport header malformed (TCP offset < 5, ...) */
	CTF_DECODE_STATUS_COUNT
};

/* Linux cooked-capture and other DLT values are libpcap's DLT_*. */
bool ctf_decode_linktype_supported(int dlt);

/**
 * ctf_decode_packet - decode one captured frame
 * @dlt: libpcap link type (pcap_datalink())
 * @data, @caplen: captured bytes
 * @ts_us: capture time, copied to ret_pkt->ts_us
 * @ret_pkt: filled on CTF_DECODE_OK; unspecified otherwise
 *
 * Returns a ctf_decode_status. Tunnels are not opened: the outer IP header
 * defines the flow.
 */
enum ctf_decode_status ctf_decode_packet(int dlt, const uint8_t *data,
					 uint32_t caplen, uint64_t ts_us,
					 struct ctf_packet *ret_pkt);

/* Short stable name ("ip-truncated") for counters and summaries. */
const char *ctf_decode_status_name(enum ctf_decode_status st);
