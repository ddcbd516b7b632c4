/*
 * gen-pcap packet construction: link layers (Ethernet with 802.1Q/QinQ,
 * Linux SLL2, raw IP), IPv4 (options, fragments), IPv6 (hop-by-hop and
 * fragment headers), TCP, UDP, ICMP and ICMPv6, every checksum correct so
 * tshark and scapy accept the frames. Writes into caller buffers only;
 * knows nothing about flows or truth.
 */
#include <arpa/inet.h>
#include <string.h>

#include "gen-pcap.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static const uint8_t *src_of(const struct gp_conv *c, int dir)
{
	return dir ? c->rsp : c->ini;
}

static const uint8_t *dst_of(const struct gp_conv *c, int dir)
{
	return dir ? c->ini : c->rsp;
}

/* RFC 768/793/2460 pseudo header sum for an upper-layer length @len */
static uint32_t pseudo_sum(const struct gp_conv *c, int dir, uint8_t nh, uint32_t len)
{
	uint32_t acc = 0;
	int alen = c->family == 4 ? 4 : 16;

	acc = sum16(src_of(c, dir), alen, acc);
	acc = sum16(dst_of(c, dir), alen, acc);
	acc += nh;
	acc += len >> 16;
	acc += len & 0xffff;
	return acc;
}

static uint32_t build_tcp(struct gp_conv *c, int dir, const struct gp_l4 *l4, uint8_t *out)
{
	uint16_t f = l4->tcp_flags;
	uint32_t hlen = (f & GP_TCP_SYN) ? 24 : 20;

	put16(out, dir ? c->dport : c->sport);
	put16(out + 2, dir ? c->sport : c->dport);
	put32(out + 4, c->seq[dir]);
	put32(out + 8, (f & GP_TCP_ACK) ? c->seq[!dir] : 0);
	out[12] = (uint8_t)((hlen / 4) << 4);
	out[13] = (uint8_t)f;
	put16(out + 14, (f & GP_TCP_RST) ? 0 : 64240);
	put16(out + 16, 0);
	put16(out + 18, 0);
	if (hlen == 24) {
		/* MSS option, as every real SYN carries */
		out[20] = 2;
		out[21] = 4;
		put16(out + 22, c->family == 4 ? 1460 : 1440);
	}
	c->seq[dir] += l4->payload_len + ((f & GP_TCP_SYN) ? 1 : 0) + ((f & GP_TCP_FIN) ? 1 : 0);
	return hlen;
}

uint32_t gp_build_l4(struct gp_conv *c, int dir, const struct gp_l4 *l4,
		     gp_fill_fn fill, void *fill_data, uint8_t *out)
{
	uint32_t hlen, len;
	uint32_t acc;
	uint16_t ck;
	uint8_t nh = c->proto;

	switch (c->proto) {
	case 6:
		hlen = build_tcp(c, dir, l4, out);
		break;
	case 17:
		hlen = 8;
		put16(out, dir ? c->dport : c->sport);
		put16(out + 2, dir ? c->sport : c->dport);
		put16(out + 4, (uint16_t)(8 + l4->payload_len));
		put16(out + 6, 0);
		break;
	default: /* ICMP / ICMPv6 echo */
		hlen = 8;
		out[0] = l4->icmp_type;
		out[1] = l4->icmp_code;
		put16(out + 2, 0);
		put16(out + 4, c->icmp_id);
		if (dir == 0)
			c->icmp_seq++;
		put16(out + 6, c->icmp_seq);
		break;
	}
	len = hlen + l4->payload_len;
	if (fill)
		fill(out + hlen, l4->payload_len, fill_data);
	else
		memset(out + hlen, 0, l4->payload_len);

	acc = c->proto == 1 ? 0 : pseudo_sum(c, dir, nh, len);
	acc = sum16(out, len, acc);
	ck = fold(acc);
	if (c->proto == 17 && ck == 0)
		ck = 0xffff;	/* RFC 768: 0 means "no checksum" */
	switch (c->proto) {
	case 6:
		put16(out + 16, ck);
		break;
	case 17:
		put16(out + 6, ck);
		break;
	default:
		put16(out + 2, ck);
		break;
	}
	return len;
}

uint32_t gp_ip_len(const struct gp_conv *c, int dir, uint32_t l4len)
{
	if (c->family == 4)
		return 20 + c->ip_opt_len[dir] + l4len;
	return 40 + (c->hbh ? 8 : 0) + (c->dstopts ? 8 : 0) + l4len;
}

static uint32_t build_ip4(struct gp_conv *c, int dir, const uint8_t *l4buf, uint32_t l4len,
			  const struct gp_frag *frag, uint8_t *out)
{
	/* Router Alert has the copied flag: every fragment carries it */
	uint32_t olen = c->ip_opt_len[dir];
	uint32_t hlen = 20 + olen;
	uint32_t total = hlen + l4len;
	uint16_t ff = 0;
	uint32_t i;

	out[0] = (uint8_t)(0x40 | (hlen / 4));
	out[1] = 0;
	put16(out + 2, (uint16_t)total);
	if (frag->on) {
		put16(out + 4, (uint16_t)frag->id);
		ff = (uint16_t)((frag->more ? 0x2000 : 0) | (frag->offset / 8));
	} else {
		put16(out + 4, c->ip_id[dir]++);
		ff = c->proto == 6 ? 0x4000 : 0;	/* DF on TCP, as Linux does */
	}
	put16(out + 6, ff);
	out[8] = dir ? 57 : 64;
	out[9] = c->proto;
	put16(out + 10, 0);
	memcpy(out + 12, src_of(c, dir), 4);
	memcpy(out + 16, dst_of(c, dir), 4);
	/* options: NOP padding, then Router Alert (RFC 2113, copied flag set) */
	for (i = 0; i + 4 < olen; i++)
		out[20 + i] = 1;
	if (olen) {
		out[20 + olen - 4] = 0x94;
		out[20 + olen - 3] = 4;
		out[20 + olen - 2] = 0;
		out[20 + olen - 1] = 0;
	}
	put16(out + 10, fold(sum16(out, hlen, 0)));
	memcpy(out + hlen, l4buf, l4len);
	return total;
}

static uint32_t build_ip6(struct gp_conv *c, int dir, const uint8_t *l4buf, uint32_t l4len,
			  const struct gp_frag *frag, uint8_t *out)
{
	uint32_t off = 40;
	uint8_t *nh = out + 6;
	uint32_t fl = (c->flow_label + (uint32_t)dir) & 0xfffff;

	put32(out, 0x60000000u | fl);
	out[7] = dir ? 57 : 64;
	memcpy(out + 8, src_of(c, dir), 16);
	memcpy(out + 24, dst_of(c, dir), 16);
	if (c->hbh) {
		/* hop-by-hop with one PadN option: 8 octets */
		*nh = 0;
		nh = out + off;
		memset(out + off, 0, 8);
		out[off + 2] = 1;	/* PadN */
		out[off + 3] = 4;
		off += 8;
	}
	if (c->dstopts) {
		/* destination options with one PadN option: 8 octets */
		*nh = 60;
		nh = out + off;
		memset(out + off, 0, 8);
		out[off + 2] = 1;
		out[off + 3] = 4;
		off += 8;
	}
	if (frag->on) {
		*nh = 44;
		nh = out + off;
		out[off + 1] = 0;
		put16(out + off + 2, (uint16_t)((frag->offset & ~7u) | (frag->more ? 1 : 0)));
		put32(out + off + 4, frag->id);
		off += 8;
	}
	*nh = c->proto;
	memcpy(out + off, l4buf, l4len);
	put16(out + 4, (uint16_t)(off - 40 + l4len));
	return off + l4len;
}

uint32_t gp_build_ip(struct gp_conv *c, int dir, const uint8_t *l4buf, uint32_t l4len,
		     const struct gp_frag *frag, uint8_t *out)
{
	static const struct gp_frag none;

	if (!frag)
		frag = &none;
	if (c->family == 4)
		return build_ip4(c, dir, l4buf, l4len, frag, out);
	return build_ip6(c, dir, l4buf, l4len, frag, out);
}

static void mac_of(const uint8_t *addr, int family, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = family == 4 ? 0x04 : 0x06;
	memcpy(mac + 2, addr + (family == 4 ? 0 : 12), 4);
}

uint32_t gp_build_link(int linktype, const struct gp_conv *c, int dir,
		       const uint8_t *ip, uint32_t iplen, uint8_t *out)
{
	uint16_t etype = c->family == 4 ? 0x0800 : 0x86dd;
	uint32_t off = 0;
	uint8_t mac[6];

	switch (linktype) {
	case GP_LINK_RAW:
		memcpy(out, ip, iplen);
		return iplen;
	case GP_LINK_SLL:
		/* Linux cooked v1: packet type, ARPHRD, address length, address, protocol */
		put16(out, dir ? 0 : 4);
		put16(out + 2, 1);
		put16(out + 4, 6);
		memset(out + 6, 0, 8);
		mac_of(src_of(c, dir), c->family, out + 6);
		put16(out + 14, etype);
		memcpy(out + 16, ip, iplen);
		return 16 + iplen;
	case GP_LINK_SLL2:
		put16(out, etype);
		put16(out + 2, 0);
		put32(out + 4, 2);		/* ifindex */
		put16(out + 8, 1);		/* ARPHRD_ETHER */
		out[10] = dir ? 0 : 4;		/* PACKET_HOST / PACKET_OUTGOING */
		out[11] = 6;
		memset(out + 12, 0, 8);
		mac_of(src_of(c, dir), c->family, out + 12);
		memcpy(out + 20, ip, iplen);
		return 20 + iplen;
	default:
		break;
	}
	mac_of(dst_of(c, dir), c->family, mac);
	memcpy(out, mac, 6);
	mac_of(src_of(c, dir), c->family, mac);
	memcpy(out + 6, mac, 6);
	off = 12;
	if (c->vlan) {
		put16(out + off, c->vlan_tpid ? c->vlan_tpid : c->inner_vlan ? 0x88a8 : 0x8100);
		put16(out + off + 2, (uint16_t)(c->vlan_pcp << 13 | c->vlan));
		off += 4;
		if (c->inner_vlan) {
			put16(out + off, 0x8100);
			put16(out + off + 2, c->inner_vlan);
			off += 4;
		}
	}
	put16(out + off, etype);
	off += 2;
	memcpy(out + off, ip, iplen);
	off += iplen;
	if (off < 60) {
		/* Ethernet minimum frame: the capture is longer than the IP packet */
		memset(out + off, 0, 60 - off);
		off = 60;
	}
	return off;
}

uint32_t gp_build_arp(bool reply, const uint8_t spa[4], const uint8_t tpa[4], uint8_t *out)
{
	uint8_t smac[6], tmac[6];

	mac_of(spa, 4, smac);
	mac_of(tpa, 4, tmac);
	memset(out, 0, 60);
	if (reply)
		memcpy(out, tmac, 6);
	else
		memset(out, 0xff, 6);
	memcpy(out + 6, smac, 6);
	put16(out + 12, 0x0806);
	put16(out + 14, 1);
	put16(out + 16, 0x0800);
	out[18] = 6;
	out[19] = 4;
	put16(out + 20, reply ? 2 : 1);
	memcpy(out + 22, smac, 6);
	memcpy(out + 28, spa, 4);
	if (reply)
		memcpy(out + 32, tmac, 6);
	memcpy(out + 38, tpa, 4);
	return 60;
}

void gp_addr4(uint8_t a[16], uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, 16);
	a[0] = b0;
	a[1] = b1;
	a[2] = b2;
	a[3] = b3;
}

void gp_addr6(uint8_t a[16], uint16_t net, uint16_t host)
{
	memset(a, 0, 16);
	put16(a, 0x2001);
	put16(a + 2, 0x0db8);
	put16(a + 4, net);
	put16(a + 14, host);
}

const char *gp_addr_str(int family, const uint8_t a[16], char *buf, size_t len)
{
	return inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len);
}
