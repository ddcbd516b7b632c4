/*
 * gen-pcap scripts: the layer scenarios write in. A script declares
 * conversations and sends packets on them at chosen times; every frame is
 * kept (cut at the snaplen) together with the datagram it accounts for,
 * and gp_script_finish() sorts the frames into a capture and hands the
 * datagrams to the truth model. Owns frames, events and conversations;
 * knows nothing about any particular scenario.
 */
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

void gp_fill_rng(uint8_t *buf, uint32_t len, void *userdata)
{
	struct gp_rng *r = userdata;
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(gp_rng_next(r) >> 56);
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 256;
	p = realloc(p, *cap * size);
	if (!p)
		abort();
	return p;
}

struct gp_script *gp_script_new(const struct gp_options *o)
{
	struct gp_script *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->o = o;
	gp_rng_init(&s->rng, o->seed);
	return s;
}

void gp_script_free(struct gp_script *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nfr; i++)
		free(s->fr[i].data);
	free(s->fr);
	free(s->ev);
	free(s->conv);
	free(s->cx);
	free(s);
}

void gp_add_frame(struct gp_script *s, int ci, uint64_t t, const uint8_t *data, uint32_t len,
		  uint32_t caplen)
{
	struct gp_frame *f;

	s->fr = grow(s->fr, &s->capfr, s->nfr, sizeof(*s->fr));
	f = &s->fr[s->nfr++];
	f->ts_us = GP_T0_US + t;
	f->seq = s->seq++;
	f->conv = ci;
	f->len = len;
	f->caplen = caplen ? caplen : len;
	if (f->caplen > s->o->snaplen)
		f->caplen = s->o->snaplen;
	/* keep only what the file will hold */
	f->data = malloc(f->caplen);
	if (!f->data)
		abort();
	memcpy(f->data, data, f->caplen);
}

void gp_add_event(struct gp_script *s, int ci, int dir, uint64_t t, uint32_t ip_len,
		  const struct gp_l4 *l4)
{
	struct gp_event *e;

	s->ev = grow(s->ev, &s->capev, s->nev, sizeof(*s->ev));
	e = &s->ev[s->nev++];
	memset(e, 0, sizeof(*e));
	e->ts_us = GP_T0_US + t;
	e->seq = s->seq++;
	e->conv = ci;
	e->dir = dir;
	e->ip_len = ip_len;
	e->tcp_flags = s->conv[ci].proto == 6 ? l4->tcp_flags : 0;
	e->icmp_type = l4->icmp_type;
	e->icmp_code = l4->icmp_code;
}

static int conv_add(struct gp_script *s, const struct gp_conv *c)
{
	int i = (int)s->nconv;

	s->conv = grow(s->conv, &s->capconv, s->nconv, sizeof(*s->conv));
	s->cx = realloc(s->cx, s->capconv * sizeof(*s->cx));
	if (!s->cx)
		abort();
	s->nconv++;
	s->conv[i] = *c;
	s->conv[i].seq[0] = 0x1000000u * (uint32_t)(i + 1);
	s->conv[i].seq[1] = 0x7000000u + 0x10000u * (uint32_t)i;
	s->conv[i].ip_id[0] = (uint16_t)(0x100 * (i + 1));
	s->conv[i].ip_id[1] = (uint16_t)(0x8000 + 0x100 * i);
	memset(&s->cx[i], 0, sizeof(s->cx[i]));
	return i;
}

int gp_conv4(struct gp_script *s, const char *name, uint8_t proto, const uint8_t ini[4],
	     const uint8_t rsp[4], uint16_t sport, uint16_t dport)
{
	struct gp_conv c = { .family = 4, .proto = proto, .sport = sport, .dport = dport };

	snprintf(c.name, sizeof(c.name), "%s", name);
	gp_addr4(c.ini, ini[0], ini[1], ini[2], ini[3]);
	gp_addr4(c.rsp, rsp[0], rsp[1], rsp[2], rsp[3]);
	return conv_add(s, &c);
}

int gp_conv6(struct gp_script *s, const char *name, uint8_t proto, uint16_t inet,
	     uint16_t ihost, uint16_t rnet, uint16_t rhost, uint16_t sport, uint16_t dport)
{
	struct gp_conv c = { .family = 6, .proto = proto, .sport = sport, .dport = dport,
			     .flow_label = 0x12340u + (uint32_t)s->nconv };

	snprintf(c.name, sizeof(c.name), "%s", name);
	gp_addr6(c.ini, inet, ihost);
	gp_addr6(c.rsp, rnet, rhost);
	return conv_add(s, &c);
}

void gp_set_vlan(struct gp_script *s, int ci, uint16_t vlan, uint16_t inner, uint16_t tpid)
{
	s->conv[ci].vlan = vlan;
	s->conv[ci].inner_vlan = inner;
	s->conv[ci].vlan_tpid = tpid;
	/* VLANs only exist on the Ethernet capture */
	s->cx[ci].skip = vlan && s->o->linktype != GP_LINK_ETHERNET;
}

/* echo request from the initiator, reply from the responder (or the
 * other way round for reply_first conversations) */
static void icmp_types(const struct gp_script *s, int ci, int dir, struct gp_l4 *l4)
{
	bool request = (dir == 0) != s->cx[ci].reply_first;

	if (s->conv[ci].proto == 1)
		l4->icmp_type = request ? 8 : 0;
	else if (s->conv[ci].proto == 58)
		l4->icmp_type = request ? 128 : 129;
}

void gp_pkt_snap(struct gp_script *s, int ci, int dir, uint64_t t, uint16_t flags,
		 uint32_t payload, uint32_t caplen)
{
	struct gp_conv *c = &s->conv[ci];
	struct gp_l4 l4 = { .tcp_flags = flags, .payload_len = payload };
	uint32_t l4len, iplen, len;

	if (s->cx[ci].skip)
		return;
	icmp_types(s, ci, dir, &l4);
	l4len = gp_build_l4(c, dir, &l4, s->zero_payload ? NULL : gp_fill_rng, &s->rng, s->l4);
	iplen = gp_build_ip(c, dir, s->l4, l4len, NULL, s->ip);
	len = gp_build_link(s->o->linktype, c, dir, s->ip, iplen, s->link);
	gp_add_frame(s, ci, t, s->link, len, caplen ? len - iplen + caplen : 0);
	gp_add_event(s, ci, dir, t, iplen, &l4);
}

void gp_pkt(struct gp_script *s, int ci, int dir, uint64_t t, uint16_t flags, uint32_t payload)
{
	gp_pkt_snap(s, ci, dir, t, flags, payload, 0);
}

void gp_frag(struct gp_script *s, int ci, int dir, uint64_t t, uint32_t payload,
	     uint32_t fsize, const int *order, uint64_t gap_us)
{
	struct gp_conv *c = &s->conv[ci];
	struct gp_l4 l4 = { .payload_len = payload };
	uint32_t l4len, nfrag, k, iplen, len;
	struct gp_frag fr = { .on = true };
	uint8_t *whole;

	if (s->cx[ci].skip)
		return;
	icmp_types(s, ci, dir, &l4);
	l4len = gp_build_l4(c, dir, &l4, gp_fill_rng, &s->rng, s->l4);
	whole = malloc(l4len);
	if (!whole)
		abort();
	memcpy(whole, s->l4, l4len);
	fr.id = c->family == 4 ? c->ip_id[dir]++ : 0x5eed0000u + c->ip_id[dir]++;
	nfrag = (l4len + fsize - 1) / fsize;
	for (k = 0; order ? order[k] >= 0 : k < nfrag; k++) {
		uint32_t idx = order ? (uint32_t)order[k] : k;
		uint32_t off = idx * fsize;
		uint32_t n = l4len - off < fsize ? l4len - off : fsize;

		fr.offset = off;
		fr.more = idx + 1 < nfrag;
		iplen = gp_build_ip(c, dir, whole + off, n, &fr, s->ip);
		len = gp_build_link(s->o->linktype, c, dir, s->ip, iplen, s->link);
		gp_add_frame(s, ci, t + k * gap_us, s->link, len, 0);
	}
	gp_add_event(s, ci, dir, t + (k - 1) * gap_us, gp_ip_len(c, dir, l4len), &l4);
	free(whole);
}

void gp_arp(struct gp_script *s, uint64_t t, bool reply, const uint8_t *spa, const uint8_t *tpa)
{
	uint32_t len;

	if (s->o->linktype != GP_LINK_ETHERNET)
		return;
	len = gp_build_arp(reply, spa, tpa, s->link);
	gp_add_frame(s, -1, t, s->link, len, 0);
}

uint64_t gp_handshake(struct gp_script *s, int ci, uint64_t t, uint64_t rtt)
{
	gp_pkt(s, ci, 0, t, GP_TCP_SYN, 0);
	gp_pkt(s, ci, 1, t + rtt, GP_TCP_SYN | GP_TCP_ACK, 0);
	gp_pkt(s, ci, 0, t + 2 * rtt, GP_TCP_ACK, 0);
	return t + 2 * rtt;
}

uint64_t gp_close_fin(struct gp_script *s, int ci, int first, uint64_t t, uint64_t rtt)
{
	gp_pkt(s, ci, first, t, GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(s, ci, !first, t + rtt, GP_TCP_FIN | GP_TCP_ACK, 0);
	gp_pkt(s, ci, first, t + 2 * rtt, GP_TCP_ACK, 0);
	return t + 2 * rtt;
}

void gp_ping(struct gp_script *s, int ci, uint64_t t, uint32_t payload, uint64_t rtt)
{
	gp_pkt(s, ci, 0, t, 0, payload);
	gp_pkt(s, ci, 1, t + rtt, 0, payload);
}

static int cmp_frame(const void *a, const void *b)
{
	const struct gp_frame *x = a, *y = b;

	if (x->ts_us != y->ts_us)
		return x->ts_us < y->ts_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool write_pcap(struct gp_script *s, size_t *ret_frames)
{
	struct gp_pcap p;
	size_t i;

	qsort(s->fr, s->nfr, sizeof(*s->fr), cmp_frame);
	if (!gp_pcap_open(&p, s->o->out, s->o->linktype, s->o->snaplen))
		return false;
	for (i = 0; i < s->nfr; i++)
		gp_pcap_write(&p, s->fr[i].ts_us, s->fr[i].data, s->fr[i].len, s->fr[i].caplen);
	*ret_frames = p.frames;
	return gp_pcap_close(&p);
}

/* The capture first: the truth gives its frame count. */
bool gp_script_finish(struct gp_script *s, const struct gp_truth_cfg *cfg)
{
	char extra[512];
	size_t frames = 0;
	FILE *fp;

	if (!write_pcap(s, &frames))
		return false;
	snprintf(extra, sizeof(extra),
		 "  \"scenario\": \"%s\", \"seed\": %llu, \"linktype\": %d, \"snaplen\": %u,\n"
		 "  \"frames\": %zu,\n",
		 s->o->scenario, (unsigned long long)s->o->seed, s->o->linktype, s->o->snaplen,
		 frames);
	fp = fopen(s->o->truth, "w");
	if (!fp) {
		perror(s->o->truth);
		return false;
	}
	gp_truth_write(fp, cfg, s->conv, s->nconv, s->ev, s->nev, extra);
	if (fclose(fp) != 0) {
		perror(s->o->truth);
		return false;
	}
	return true;
}
