/*
 * Packet decoder: turns one captured frame into the struct ctf_packet the
 * flow table needs. It owns the link layers (Ethernet with VLAN/QinQ and
 * LLC/SNAP, Linux cooked v1/v2, BSD loopback, raw IP), IPv4 and IPv6 with
 * their options and extension headers, and the first bytes of TCP, UDP,
 * UDP-Lite, SCTP, DCCP, ICMP and ICMPv6.
 *
 * It deliberately does not reassemble fragments (ctf_frag does), open
 * tunnels, look inside ICMP error payloads, or validate checksums. It keeps
 * no state and never allocates; every read is bounded by the captured
 * length, and no length field is trusted before it is checked.
 */
#include <string.h>

#include <pcap/dlt.h>

#include "ctflow/decode.h"
#include "ctflow/icmp.h"

/*
 * Link types as libpcap reports them on Linux. Numbered here rather than
 * taken from <pcap/dlt.h> because DLT_RAW and DLT_LOOP differ on OpenBSD
 * (14 and 12) and a file may carry LINKTYPE_RAW (101) through unmapped.
 */
enum {
	LT_NULL = 0,
	LT_EN10MB = 1,
	LT_RAW = 12,
	LT_RAW_OPENBSD = 14,
	LT_RAW_LINKTYPE = 101,
	LT_LOOP = 108,
	LT_LINUX_SLL = 113,
	LT_IPV4 = 228,
	LT_IPV6 = 229,
	LT_LINUX_SLL2 = 276,
};

_Static_assert(DLT_NULL == LT_NULL, "DLT_NULL");
_Static_assert(DLT_EN10MB == LT_EN10MB, "DLT_EN10MB");
_Static_assert(DLT_LINUX_SLL == LT_LINUX_SLL, "DLT_LINUX_SLL");
_Static_assert(DLT_IPV4 == LT_IPV4, "DLT_IPV4");
_Static_assert(DLT_IPV6 == LT_IPV6, "DLT_IPV6");
#ifdef DLT_LINUX_SLL2
_Static_assert(DLT_LINUX_SLL2 == LT_LINUX_SLL2, "DLT_LINUX_SLL2");
#endif

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8
#define ETH_P_QINQ_OLD	0x9100
#define ETH_P_802_3_MAX	1500	/* type/length field: <= 1500 is a length */
#define SLL_P_802_2	0x0004	/* Linux cooked: frame starts with 802.2 LLC */

#define ETH_HDR_LEN	14
#define SLL_HDR_LEN	16
#define SLL2_HDR_LEN	20
#define VLAN_TAG_LEN	4
#define LLC_SNAP_LEN	8
#define IPV4_HDR_MIN	20
#define IPV6_HDR_LEN	40
#define IPV6_FRAG_LEN	8
#define IPV6_MAX_EXT	16	/* longer chains are treated as an attack */

/* IP protocol numbers */
enum {
	P_HOPOPTS = 0,
	P_ICMP = 1,
	P_TCP = 6,
	P_UDP = 17,
	P_DCCP = 33,
	P_ROUTING = 43,
	P_FRAGMENT = 44,
	P_ESP = 50,
	P_AH = 51,
	P_ICMPV6 = 58,
	P_NONE = 59,
	P_DSTOPTS = 60,
	P_SCTP = 132,
	P_MOBILITY = 135,
	P_UDPLITE = 136,
	P_HIP = 139,
	P_SHIM6 = 140,
};

/* What the link layer says the payload is. */
enum l3_kind {
	L3_ANY,		/* raw IP: the version nibble decides */
	L3_IPV4,
	L3_IPV6,
};

/* Result of the link layer. */
struct link {
	uint32_t off;		/* first byte of the IP header */
	enum l3_kind kind;
};

/* Steps of every packet's path that the compiler would otherwise call
 * (each has more than one caller): inlined, they save a call per packet. */
#define HOT_INLINE static inline __attribute__((always_inline))

/* Big-endian reads byte by byte: no alignment assumptions, and compilers
 * turn them into a single load plus bswap. */
static inline uint16_t rd_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline uint16_t clamp_u16(uint32_t v)
{
	return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

/* ------------------------------------------------------------------ */
/* Link layer: each decoder sets link->off to the first IP byte.       */

static enum ctf_decode_status ethertype_to_l3(uint16_t type, struct link *link)
{
	if (type == ETH_P_IP) {
		link->kind = L3_IPV4;
		return CTF_DECODE_OK;
	}
	if (type == ETH_P_IPV6) {
		link->kind = L3_IPV6;
		return CTF_DECODE_OK;
	}
	/* ARP, LLDP, MPLS, PPPoE, ...: valid frames without an IP header
	 * ctflow accounts. */
	return CTF_DECODE_NOT_IP;
}

static inline bool is_vlan_tpid(uint16_t type)
{
	return type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD;
}

/*
 * Walks up to two 802.1Q/802.1ad tags. @type is the ethertype already read
 * and link->off the first byte after it; each tag there is a TCI and the
 * next ethertype. libpcap re-inserts tags the kernel stripped (Ethernet
 * and Linux cooked alike), so this runs for every link type with an
 * ethertype.
 */
static enum ctf_decode_status walk_vlan(const uint8_t *p, uint32_t len, uint16_t *type,
					struct ctf_packet *pkt, struct link *link)
{
	unsigned int tags = 0;

	while (is_vlan_tpid(*type)) {
		uint16_t vid;

		if (tags == 2)
			return CTF_DECODE_VLAN_DEPTH;
		if (len - link->off < VLAN_TAG_LEN)
			return CTF_DECODE_LINK_TRUNCATED;
		vid = rd_be16(p + link->off) & 0x0fff;
		if (tags == 0)
			pkt->vlan_outer = vid;
		else
			pkt->vlan_inner = vid;
		*type = rd_be16(p + link->off + 2);
		link->off += VLAN_TAG_LEN;
		tags++;
	}
	return CTF_DECODE_OK;
}

/*
 * 802.2 LLC at link->off. Only SNAP with an encapsulated-Ethernet OUI
 * (RFC 1042 00-00-00, 802.1H 00-00-F8) carries an ethertype; STP, CDP,
 * NetBIOS and the rest are NOT_IP.
 */
static enum ctf_decode_status decode_llc(const uint8_t *p, uint32_t len, struct link *link)
{
	const uint8_t *llc = p + link->off;
	uint32_t avail = len - link->off;

	if (avail < 3)
		return CTF_DECODE_LINK_TRUNCATED;
	if (llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03)
		return CTF_DECODE_NOT_IP;
	if (avail < LLC_SNAP_LEN)
		return CTF_DECODE_LINK_TRUNCATED;
	if (llc[3] != 0 || llc[4] != 0 || (llc[5] != 0 && llc[5] != 0xf8))
		return CTF_DECODE_NOT_IP;
	link->off += LLC_SNAP_LEN;
	return ethertype_to_l3(rd_be16(llc + 6), link);
}

/*
 * Common tail of Ethernet and Linux cooked captures: @type was read just
 * before link->off. Values up to 1500 are not ethertypes: on Ethernet an
 * IEEE 802.3 length with LLC after it, in a cooked header a Linux
 * pseudo-protocol of which only ETH_P_802_2 carries LLC.
 */
HOT_INLINE enum ctf_decode_status decode_ethertype(const uint8_t *p, uint32_t len,
						   uint16_t type, bool ether,
						   struct ctf_packet *pkt, struct link *link)
{
	enum ctf_decode_status st;

	/* common case first: untagged IPv4/IPv6 */
	if (type == ETH_P_IP || type == ETH_P_IPV6)
		return ethertype_to_l3(type, link);
	st = walk_vlan(p, len, &type, pkt, link);
	if (st != CTF_DECODE_OK)
		return st;
	if (type <= ETH_P_802_3_MAX) {
		if (ether || type == SLL_P_802_2)
			return decode_llc(p, len, link);
		return CTF_DECODE_NOT_IP;
	}
	return ethertype_to_l3(type, link);
}

/* Ethernet II / IEEE 802.3: two MAC addresses, type/length at 12. */
static enum ctf_decode_status decode_ether(const uint8_t *p, uint32_t len,
					   struct ctf_packet *pkt, struct link *link)
{
	if (len < ETH_HDR_LEN)
		return CTF_DECODE_LINK_TRUNCATED;
	link->off = ETH_HDR_LEN;
	return decode_ethertype(p, len, rd_be16(p + 12), true, pkt, link);
}

/* Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes,
 * protocol at 14. */
static enum ctf_decode_status decode_sll(const uint8_t *p, uint32_t len,
					 struct ctf_packet *pkt, struct link *link)
{
	if (len < SLL_HDR_LEN)
		return CTF_DECODE_LINK_TRUNCATED;
	link->off = SLL_HDR_LEN;
	return decode_ethertype(p, len, rd_be16(p + 14), false, pkt, link);
}

/* Linux cooked v2: protocol at 0, then reserved, ifindex, ARPHRD, packet
 * type, address length and 8 address bytes. */
static enum ctf_decode_status decode_sll2(const uint8_t *p, uint32_t len,
					  struct ctf_packet *pkt, struct link *link)
{
	if (len < SLL2_HDR_LEN)
		return CTF_DECODE_LINK_TRUNCATED;
	link->off = SLL2_HDR_LEN;
	return decode_ethertype(p, len, rd_be16(p), false, pkt, link);
}

/* BSD address families as the loopback header carries them: AF_INET is 2
 * everywhere, AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS)
 * or 10 (Linux). */
static enum ctf_decode_status af_to_l3(uint32_t af, struct link *link)
{
	switch (af) {
	case 2:
		link->kind = L3_IPV4;
		return CTF_DECODE_OK;
	case 10:
	case 24:
	case 28:
	case 30:
		link->kind = L3_IPV6;
		return CTF_DECODE_OK;
	default:
		return CTF_DECODE_NOT_IP;
	}
}

/* DLT_NULL's family is in the capturing host's byte order, DLT_LOOP's in
 * network order. Every family fits in 16 bits, so a larger value read
 * big-endian is a little-endian one. */
static enum ctf_decode_status decode_loopback(const uint8_t *p, uint32_t len, bool host_order,
					      struct link *link)
{
	uint32_t af;

	if (len < 4)
		return CTF_DECODE_LINK_TRUNCATED;
	af = rd_be32(p);
	if (host_order && af > 0xffff)
		af = __builtin_bswap32(af);
	link->off = 4;
	return af_to_l3(af, link);
}

static enum ctf_decode_status decode_link(int dlt, const uint8_t *p, uint32_t len,
					  struct ctf_packet *pkt, struct link *link)
{
	/* the common case before the jump table */
	if (dlt == LT_EN10MB)
		return decode_ether(p, len, pkt, link);
	switch (dlt) {
	case LT_LINUX_SLL:
		return decode_sll(p, len, pkt, link);
	case LT_LINUX_SLL2:
		return decode_sll2(p, len, pkt, link);
	case LT_RAW:
	case LT_RAW_OPENBSD:
	case LT_RAW_LINKTYPE:
		link->kind = L3_ANY;
		return CTF_DECODE_OK;
	case LT_IPV4:
		link->kind = L3_IPV4;
		return CTF_DECODE_OK;
	case LT_IPV6:
		link->kind = L3_IPV6;
		return CTF_DECODE_OK;
	case LT_NULL:
		return decode_loopback(p, len, true, link);
	case LT_LOOP:
		return decode_loopback(p, len, false, link);
	default:
		return CTF_DECODE_LINK_UNSUPPORTED;
	}
}

/* ------------------------------------------------------------------ */
/* Transport: @len is what the IP layer holds, bounded by the captured  */
/* bytes and by the IP length (Ethernet padding is not a header).       */

static enum ctf_decode_status decode_tcp(const uint8_t *p, uint32_t len, struct ctf_packet *pkt)
{
	if (len < 20)
		return CTF_DECODE_L4_TRUNCATED;
	if ((p[12] >> 4) < 5)
		return CTF_DECODE_L4_HEADER;
	pkt->sport = rd_be16(p);
	pkt->dport = rd_be16(p + 2);
	/* byte 13 holds CWR..FIN; the NS bit (RFC 3540) is bit 0 of byte 12 */
	pkt->tcp_flags = (uint16_t)(p[13] | (p[12] & 0x01) << 8);
	pkt->has_ports = true;
	return CTF_DECODE_OK;
}

/* UDP, UDP-Lite (8 bytes), SCTP (12-byte common header), DCCP (12-byte
 * generic header): only the ports are needed. */
static enum ctf_decode_status decode_ports(const uint8_t *p, uint32_t len, uint32_t hdr_len,
					   struct ctf_packet *pkt)
{
	if (len < hdr_len)
		return CTF_DECODE_L4_TRUNCATED;
	pkt->sport = rd_be16(p);
	pkt->dport = rd_be16(p + 2);
	pkt->has_ports = true;
	return CTF_DECODE_OK;
}

static enum ctf_decode_status decode_icmp(const uint8_t *p, uint32_t len, struct ctf_packet *pkt)
{
	if (len < 4)
		return CTF_DECODE_L4_TRUNCATED;
	pkt->icmp_type = p[0];
	pkt->icmp_code = p[1];
	if (ctf_icmp_query(pkt->proto, p[0], NULL, NULL)) {
		/* identifier and sequence number complete a query header */
		if (len < 8)
			return CTF_DECODE_L4_TRUNCATED;
		pkt->icmp_id = rd_be16(p + 4);
	}
	pkt->has_ports = true;
	return CTF_DECODE_OK;
}

HOT_INLINE enum ctf_decode_status decode_l4(const uint8_t *p, uint32_t len,
					    struct ctf_packet *pkt)
{
	switch (pkt->proto) {
	case P_TCP:
		return decode_tcp(p, len, pkt);
	case P_UDP:
	case P_UDPLITE:
		return decode_ports(p, len, 8, pkt);
	case P_SCTP:
	case P_DCCP:
		return decode_ports(p, len, 12, pkt);
	case P_ICMP:
		/* ICMPv4 inside IPv6 (or v6 in v4) is not ICMP to conntrack */
		return pkt->family == 4 ? decode_icmp(p, len, pkt) : CTF_DECODE_OK;
	case P_ICMPV6:
		return pkt->family == 6 ? decode_icmp(p, len, pkt) : CTF_DECODE_OK;
	default:
		/* GRE, ESP, OSPF, ...: a port-less flow */
		return CTF_DECODE_OK;
	}
}

/* ------------------------------------------------------------------ */
/* IPv4                                                               */

static void ipv4_fragment(const uint8_t *p, struct ctf_packet *pkt)
{
	uint16_t fo = rd_be16(p + 6);

	pkt->frag_id = rd_be16(p + 4);
	pkt->more_frags = (fo & 0x2000) != 0;
	pkt->frag_offset = (uint32_t)(fo & 0x1fff) * 8;
	if (pkt->frag_offset > 0)
		pkt->frag = CTF_FRAG_LATER;
	else if (pkt->more_frags)
		pkt->frag = CTF_FRAG_FIRST;
}

static enum ctf_decode_status decode_ipv4(const uint8_t *p, uint32_t len, struct ctf_packet *pkt)
{
	uint32_t hl, total;

	if (len < IPV4_HDR_MIN)
		return CTF_DECODE_IP_TRUNCATED;
	hl = (uint32_t)(p[0] & 0x0f) * 4;
	if (hl < IPV4_HDR_MIN)
		return CTF_DECODE_IP_HEADER;
	if (hl > len)
		return CTF_DECODE_IP_TRUNCATED;
	total = rd_be16(p + 2);
	/* Captures taken before TCP segmentation offload show a total
	 * length of 0; the captured bytes are the best length we have. */
	if (total == 0)
		total = len;
	else if (total < hl)
		return CTF_DECODE_IP_HEADER;

	pkt->family = 4;
	pkt->tos = p[1];
	pkt->proto = p[9];
	memcpy(pkt->src.b, p + 12, 4);
	memcpy(pkt->dst.b, p + 16, 4);
	pkt->ip_len = total;
	pkt->l3_hdr_len = (uint16_t)hl;
	pkt->frag_len = clamp_u16(total - hl);
	ipv4_fragment(p, pkt);
	if (pkt->frag == CTF_FRAG_LATER)
		return CTF_DECODE_OK;
	return decode_l4(p + hl, min_u32(len, total) - hl, pkt);
}

/* ------------------------------------------------------------------ */
/* IPv6                                                               */

static void ipv6_fragment(const uint8_t *fh, struct ctf_packet *pkt)
{
	uint16_t fo = rd_be16(fh + 2);

	pkt->frag_offset = fo & 0xfff8;
	pkt->more_frags = (fo & 0x0001) != 0;
	pkt->frag_id = rd_be32(fh + 4);
	if (pkt->frag_offset > 0)
		pkt->frag = CTF_FRAG_LATER;
	else
		/* RFC 6946: an atomic fragment (offset 0, M 0) is its own
		 * whole datagram */
		pkt->frag = pkt->more_frags ? CTF_FRAG_FIRST : CTF_FRAG_NONE;
}

/* Extension headers RFC 8200 and later RFCs define (IANA "IPv6
 * Extension Header Types"); ESP and no-next-header end the chain. */
static bool ipv6_is_ext(uint8_t nh)
{
	switch (nh) {
	case P_HOPOPTS:
	case P_ROUTING:
	case P_FRAGMENT:
	case P_AH:
	case P_DSTOPTS:
	case P_MOBILITY:
	case P_HIP:
	case P_SHIM6:
		return true;
	default:
		return false;
	}
}

/* Length of extension header @nh at @eh; 2 bytes must be readable. */
static uint32_t ipv6_ext_len(uint8_t nh, const uint8_t *eh)
{
	if (nh == P_FRAGMENT)
		return IPV6_FRAG_LEN;
	if (nh == P_AH)
		/* RFC 4302: length in 32-bit words, minus 2 */
		return ((uint32_t)eh[1] + 2) * 4;
	/* RFC 8200: length in 8-octet units, not counting the first 8 */
	return ((uint32_t)eh[1] + 1) * 8;
}

/*
 * Walks the extension headers, bounded by @ip_len (a header past it is
 * malformed) and @len (a header past it is truncated). On return
 * pkt->proto is the header that ended the chain and *@ret_off where it
 * starts. The walk stops after a fragment header: its next header is the
 * protocol, because only that one is visible in every fragment of the
 * datagram and ctf_frag matches fragments by protocol.
 */
static enum ctf_decode_status ipv6_walk_ext(const uint8_t *p, uint32_t len, uint32_t ip_len,
					    struct ctf_packet *pkt, uint32_t *ret_off)
{
	uint32_t off = IPV6_HDR_LEN, elen;
	uint8_t nh = p[6];

	for (unsigned int n = 0; ipv6_is_ext(nh); n++) {
		if (n == IPV6_MAX_EXT || off + 2 > ip_len)
			return CTF_DECODE_IP_EXT_HEADER;
		if (off + 2 > len)
			return CTF_DECODE_IP_TRUNCATED;
		elen = ipv6_ext_len(nh, p + off);
		if (off + elen > ip_len)
			return CTF_DECODE_IP_EXT_HEADER;
		if (off + elen > len)
			return CTF_DECODE_IP_TRUNCATED;
		if (nh == P_FRAGMENT) {
			ipv6_fragment(p + off, pkt);
			nh = p[off];
			off += elen;
			break;
		}
		nh = p[off];
		off += elen;
	}
	pkt->proto = nh;
	*ret_off = off;
	return CTF_DECODE_OK;
}

static enum ctf_decode_status decode_ipv6(const uint8_t *p, uint32_t len, struct ctf_packet *pkt)
{
	enum ctf_decode_status st;
	uint32_t vtcfl, ip_len, off = 0;

	if (len < IPV6_HDR_LEN)
		return CTF_DECODE_IP_TRUNCATED;
	ip_len = IPV6_HDR_LEN + rd_be16(p + 4);
	/* Payload length 0 with something after the header is a jumbogram
	 * (RFC 2675) or a capture taken before segmentation offload (Linux
	 * BIG TCP): the captured bytes are the best length we have. */
	if (ip_len == IPV6_HDR_LEN && p[6] != P_NONE)
		ip_len = len;

	vtcfl = rd_be32(p);
	pkt->family = 6;
	pkt->tos = (uint8_t)(vtcfl >> 20);
	pkt->flow_label = vtcfl & 0xfffff;
	memcpy(pkt->src.b, p + 8, 16);
	memcpy(pkt->dst.b, p + 24, 16);
	pkt->ip_len = ip_len;

	st = ipv6_walk_ext(p, len, ip_len, pkt, &off);
	if (st != CTF_DECODE_OK)
		return st;
	pkt->l3_hdr_len = (uint16_t)off;
	pkt->frag_len = clamp_u16(ip_len - off);
	if (pkt->frag == CTF_FRAG_LATER)
		return CTF_DECODE_OK;
	return decode_l4(p + off, min_u32(len, ip_len) - off, pkt);
}

/* ------------------------------------------------------------------ */

static enum ctf_decode_status decode_ip(enum l3_kind kind, const uint8_t *p, uint32_t len,
					struct ctf_packet *pkt)
{
	unsigned int version;

	if (len == 0)
		return CTF_DECODE_IP_TRUNCATED;
	version = p[0] >> 4;
	if (version == 4 && kind != L3_IPV6)
		return decode_ipv4(p, len, pkt);
	if (version == 6 && kind != L3_IPV4)
		return decode_ipv6(p, len, pkt);
	return CTF_DECODE_IP_VERSION;
}

bool ctf_decode_linktype_supported(int dlt)
{
	switch (dlt) {
	case LT_NULL:
	case LT_EN10MB:
	case LT_RAW:
	case LT_RAW_OPENBSD:
	case LT_RAW_LINKTYPE:
	case LT_LOOP:
	case LT_LINUX_SLL:
	case LT_LINUX_SLL2:
	case LT_IPV4:
	case LT_IPV6:
		return true;
	default:
		return false;
	}
}

enum ctf_decode_status ctf_decode_packet(int dlt, const uint8_t *data, uint32_t caplen,
					 uint64_t ts_us, struct ctf_packet *ret_pkt)
{
	static const uint8_t no_bytes[1];
	struct link link = { 0, L3_ANY };
	enum ctf_decode_status st;

	/* keep pointer arithmetic away from NULL */
	if (!data) {
		data = no_bytes;
		caplen = 0;
	}
	*ret_pkt = (struct ctf_packet){ .ts_us = ts_us };
	st = decode_link(dlt, data, caplen, ret_pkt, &link);
	if (st != CTF_DECODE_OK)
		return st;
	return decode_ip(link.kind, data + link.off, caplen - link.off, ret_pkt);
}

const char *ctf_decode_status_name(enum ctf_decode_status st)
{
	static const char *const names[CTF_DECODE_STATUS_COUNT] = {
		[CTF_DECODE_OK] = "ok",
		[CTF_DECODE_NOT_IP] = "not-ip",
		[CTF_DECODE_LINK_TRUNCATED] = "link-truncated",
		[CTF_DECODE_LINK_UNSUPPORTED] = "link-unsupported",
		[CTF_DECODE_VLAN_DEPTH] = "vlan-depth",
		[CTF_DECODE_IP_TRUNCATED] = "ip-truncated",
		[CTF_DECODE_IP_VERSION] = "ip-version",
		[CTF_DECODE_IP_HEADER] = "ip-header",
		[CTF_DECODE_IP_EXT_HEADER] = "ip-ext-header",
		[CTF_DECODE_L4_TRUNCATED] = "l4-truncated",
		[CTF_DECODE_L4_HEADER] = "l4-header",
	};

	if ((unsigned int)st >= CTF_DECODE_STATUS_COUNT)
		return "invalid";
	return names[st];
}
