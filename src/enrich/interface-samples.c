/*
 * Sample table of the interface enricher: what captured packets said
 * about the interfaces of a wire tuple, and how a conntrack entry's four
 * wire tuples (each direction before and after NAT) are read back from
 * it. Also the capture filter expression. Pure: no sockets, no capture,
 * no clock (time comes with the packets).
 *
 * Where the kernel taps packets decides which tuple a sample carries: the
 * receive tap (AF_PACKET, before netfilter's PREROUTING) sees a packet
 * before DNAT, the transmit tap (dev_queue_xmit_nit, after POSTROUTING)
 * after SNAT. So the original direction arrives as the ORIGINAL tuple and
 * leaves as the REPLY tuple reversed; the reply direction arrives as the
 * REPLY tuple and leaves as the ORIGINAL reversed.
 *
 * The table is a cache of fixed size (open addressing, a probe window of
 * PROBE slots, 64-byte slots): a full window reuses its least recently
 * seen slot. No allocation after creation.
 */
#include <errno.h>
#include <string.h>

#include <linux/if_packet.h>
#include <pcap/dlt.h>

#include "ctflow/decode.h"
#include "ctflow/enrich-interface.h"
#include "ctflow/icmp.h"

#define PROBE 8
#define MIN_SLOTS 64
#define MAX_SLOTS (1u << 26)
/* Two outgoing copies of one packet on different interfaces (a bridge and
 * its port, a VLAN device and its parent) are microseconds apart; two
 * packets of a flow rarely are. */
#define SAME_TX_US 1000
#define SLL2_HDR_LEN 20

struct sample_key {
	struct ctf_addr src;
	struct ctf_addr dst;
	uint16_t sport;			/* ICMP: identifier */
	uint16_t dport;			/* ICMP: type << 8 | code */
	uint8_t family;
	uint8_t proto;
	uint8_t pad[2];
};

struct slot {
	struct sample_key key;
	uint32_t in_if;			/* both 0: the slot is free */
	uint32_t out_if;
	uint64_t out_us;		/* when out_if was last confirmed */
	uint64_t seen_us;		/* last packet of the tuple */
};

_Static_assert(sizeof(struct sample_key) == 40, "no implicit padding in the key");
_Static_assert(sizeof(struct slot) == 64, "a slot is a cache line");

struct ctf_if_samples {
	struct slot *slots;
	size_t mask;
	uint64_t evictions;
};

ctf_if_samples *ctf_if_samples_new(size_t max_slots)
{
	ctf_if_samples *s = g_new0(ctf_if_samples, 1);
	size_t n = MIN_SLOTS;

	while (n < max_slots && n < MAX_SLOTS)
		n <<= 1;
	s->slots = g_new0(struct slot, n);
	s->mask = n - 1;
	return s;
}

void ctf_if_samples_free(ctf_if_samples *s)
{
	if (!s)
		return;
	g_free(s->slots);
	g_free(s);
}

uint64_t ctf_if_samples_evictions(const ctf_if_samples *s)
{
	return s->evictions;
}

static uint64_t key_hash(const struct sample_key *k)
{
	uint64_t w[5], h = 0x243f6a8885a308d3ull;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

static bool slot_used(const struct slot *sl)
{
	return sl->in_if || sl->out_if;
}

static bool proto_has_ports(uint8_t proto)
{
	switch (proto) {
	case 1:		/* ICMP */
	case 6:		/* TCP */
	case 17:	/* UDP */
	case 33:	/* DCCP */
	case 58:	/* ICMPv6 */
	case 132:	/* SCTP */
	case 136:	/* UDP-Lite */
		return true;
	default:
		return false;
	}
}

static bool proto_is_icmp(uint8_t proto)
{
	return proto == 1 || proto == 58;
}

/* ICMP queries are keyed like conntrack keys them: identifier, type and
 * code; everything else by ports (0 for protocols without). */
static void key_init(struct sample_key *k, uint8_t family, uint8_t proto,
		     const struct ctf_addr *src, const struct ctf_addr *dst, uint16_t sport,
		     uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	k->src = *src;
	k->dst = *dst;
	k->sport = sport;
	k->dport = dport;
}

static const struct slot *find(const ctf_if_samples *s, const struct sample_key *k)
{
	uint64_t h = key_hash(k);

	for (unsigned i = 0; i < PROBE; i++) {
		const struct slot *sl = &s->slots[(h + i) & s->mask];

		if (slot_used(sl) && !memcmp(&sl->key, k, sizeof(*k)))
			return sl;
	}
	return NULL;
}

/* The slot of @k: its own, else a free one, else the stalest of the
 * window (an eviction). */
static struct slot *claim(ctf_if_samples *s, const struct sample_key *k)
{
	uint64_t h = key_hash(k);
	struct slot *victim = NULL;

	for (unsigned i = 0; i < PROBE; i++) {
		struct slot *sl = &s->slots[(h + i) & s->mask];

		if (!slot_used(sl)) {
			if (!victim || slot_used(victim))
				victim = sl;
			continue;
		}
		if (!memcmp(&sl->key, k, sizeof(*k)))
			return sl;
		if (!victim || (slot_used(victim) && sl->seen_us < victim->seen_us))
			victim = sl;
	}
	if (slot_used(victim))
		s->evictions++;
	memset(victim, 0, sizeof(*victim));
	victim->key = *k;
	return victim;
}

int ctf_if_samples_add(ctf_if_samples *s, const struct ctf_packet *pkt, uint32_t ifindex,
		       enum ctf_if_dir dir)
{
	struct sample_key k;
	struct slot *sl;
	uint16_t sport = pkt->sport, dport = pkt->dport;

	if (ifindex == 0 || (dir != CTF_IF_DIR_IN && dir != CTF_IF_DIR_OUT))
		return -EINVAL;
	if (pkt->family != 4 && pkt->family != 6)
		return -EINVAL;
	if (proto_has_ports(pkt->proto) && (!pkt->has_ports || pkt->frag == CTF_FRAG_LATER))
		return -EINVAL;
	if (proto_is_icmp(pkt->proto)) {
		/* conntrack makes entries of queries only; errors belong
		 * to another entry and never match a tuple */
		if (!ctf_icmp_query(pkt->proto, pkt->icmp_type, NULL, NULL))
			return -EINVAL;
		sport = pkt->icmp_id;
		dport = (uint16_t)(pkt->icmp_type << 8 | pkt->icmp_code);
	} else if (!proto_has_ports(pkt->proto)) {
		sport = dport = 0;
	}
	key_init(&k, pkt->family, pkt->proto, &pkt->src, &pkt->dst, sport, dport);
	sl = claim(s, &k);
	sl->seen_us = pkt->ts_us;
	if (dir == CTF_IF_DIR_IN) {
		sl->in_if = ifindex;
		return 0;
	}
	if (sl->out_if && sl->out_if != ifindex) {
		uint64_t d = pkt->ts_us > sl->out_us ? pkt->ts_us - sl->out_us
						      : sl->out_us - pkt->ts_us;

		if (d < SAME_TX_US)
			return 0;	/* the device below the one routing chose */
	}
	sl->out_if = ifindex;
	sl->out_us = pkt->ts_us;
	return 0;
}

static enum ctf_if_dir pkttype_dir(uint8_t pkttype)
{
	switch (pkttype) {
	case PACKET_HOST:
	case PACKET_BROADCAST:
	case PACKET_MULTICAST:
	case PACKET_OTHERHOST:
		return CTF_IF_DIR_IN;
	case PACKET_OUTGOING:
		return CTF_IF_DIR_OUT;
	default:
		return CTF_IF_DIR_NONE;	/* PACKET_LOOPBACK: a multicast copy */
	}
}

int ctf_if_samples_add_frame(ctf_if_samples *s, int dlt, const uint8_t *data, uint32_t caplen,
			     uint64_t ts_us)
{
	struct ctf_packet pkt;
	uint32_t ifindex;

	if (dlt != DLT_LINUX_SLL2)
		return -EPROTONOSUPPORT;
	if (!data || caplen < SLL2_HDR_LEN)
		return -EINVAL;
	/* SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) ... */
	ifindex = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 |
		  data[7];
	if (ctf_decode_packet(dlt, data, caplen, ts_us, &pkt) != CTF_DECODE_OK)
		return -EINVAL;
	return ctf_if_samples_add(s, &pkt, ifindex, pkttype_dir(data[10]));
}

/* ---- reading a conntrack entry back ------------------------------------ */

/* The wire key of tuple @t travelling forwards (src -> dst) or, with
 * @reversed, backwards; ICMP type and code come from @icmp_of, the tuple
 * of the direction the packet belongs to. */
static void tuple_key(struct sample_key *k, uint8_t family, const struct ctf_ct_tuple *t,
		      bool reversed, const struct ctf_ct_tuple *icmp_of)
{
	if (proto_is_icmp(t->proto)) {
		uint16_t tc = (uint16_t)(icmp_of->icmp_type << 8 | icmp_of->icmp_code);

		key_init(k, family, t->proto, reversed ? &t->dst : &t->src,
			 reversed ? &t->src : &t->dst, t->icmp_id, tc);
	} else if (reversed) {
		key_init(k, family, t->proto, &t->dst, &t->src, t->dport, t->sport);
	} else {
		key_init(k, family, t->proto, &t->src, &t->dst, t->sport, t->dport);
	}
}

void ctf_if_samples_lookup(const ctf_if_samples *s, const struct ctf_ct_entry *e,
			   struct ctf_if_info *ret)
{
	struct sample_key pre, post;
	const struct slot *o_pre, *o_post, *r_pre, *r_post;

	/* without NAT a direction's two keys are one: probe it once */
	tuple_key(&pre, e->family, &e->orig, false, &e->orig);
	tuple_key(&post, e->family, &e->reply, true, &e->orig);
	o_pre = find(s, &pre);		/* original direction, as it arrived */
	o_post = memcmp(&pre, &post, sizeof(pre)) ? find(s, &post) : o_pre;	/* as it left */
	tuple_key(&pre, e->family, &e->reply, false, &e->reply);
	tuple_key(&post, e->family, &e->orig, true, &e->reply);
	r_pre = find(s, &pre);		/* reply direction, as it arrived */
	r_post = memcmp(&pre, &post, sizeof(pre)) ? find(s, &post) : r_pre;	/* as it left */

	if (!ret->ingress_if) {
		uint32_t v = o_pre && o_pre->in_if ? o_pre->in_if
			     : r_post ? r_post->out_if : 0;

		if (v) {
			ret->ingress_if = v;
			ret->ingress_src = CTF_IF_SAMPLED;
		}
	}
	if (!ret->egress_if) {
		uint32_t v = o_post && o_post->out_if ? o_post->out_if
			     : r_pre ? r_pre->in_if : 0;

		if (v) {
			ret->egress_if = v;
			ret->egress_src = CTF_IF_SAMPLED;
		}
	}
}

/* ---- capture filter ---------------------------------------------------- */

static unsigned round_pow2(unsigned n)
{
	unsigned p = 1;

	if (n > CTF_IF_SAMPLE_EVERY_MAX)
		n = CTF_IF_SAMPLE_EVERY_MAX;
	while (p < n)
		p <<= 1;
	return p;
}

char *ctf_if_sample_filter(unsigned sample_every, const uint32_t *ifindexes, size_t n)
{
	GString *f = g_string_new(NULL);

	if (n) {
		g_string_append(f, "(");
		for (size_t i = 0; i < n; i++)
			g_string_append_printf(f, "%sifindex %u", i ? " or " : "", ifindexes[i]);
		g_string_append(f, ") and ");
	}
	if (sample_every == 0) {
		g_string_append(f, "((ip and tcp[13] & 2 != 0) or "
				   "(ip6 and ip6[6] == 6 and ip6[53] & 2 != 0))");
		return g_string_free(f, FALSE);
	}
	/* sums of 16-bit fields stay far below 2^32: no overflow in BPF */
	g_string_append_printf(f,
		"((ip and ip[6:2] & 0x1fff == 0 and ("
		"(ip[9] == 6 and tcp[13] & 2 != 0) or "
		"(ip[9] == 17 and (udp[8:2] + ip[4:2] + 1) & %1$u == 0) or "
		"(ip[9] != 17 and (ip[4:2] + 1) & %1$u == 0))) or "
		"(ip6 and ("
		"(ip6[6] == 6 and (ip6[53] & 2 != 0 or (ip6[46:2] + ip6[50:2] + 1) & %1$u == 0)) or "
		"(ip6[6] == 17 and (ip6[48:2] + 1) & %1$u == 0) or "
		"(ip6[6] == 58 and (ip6[40] == 128 or ip6[40] == 129) and "
		"(ip6[46:2] + 1) & %1$u == 0))))",
		round_pow2(sample_every) - 1);
	return g_string_free(f, FALSE);
}
