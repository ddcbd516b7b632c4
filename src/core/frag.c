/*
 * Fragment accounting (see include/ctflow/frag.h for the rule).
 *
 * Fragments are rare next to whole packets, so the pending datagrams live
 * in a GHashTable keyed by (family, addresses, protocol, identification)
 * with a GQueue in arrival order for the timeout. No payload is copied:
 * only which byte ranges arrived is kept. This module does not know about
 * flows; whole datagrams leave through the out callback.
 */
#include <string.h>

#include "ctflow/frag.h"

struct frag_key {
	struct ctf_addr src;
	struct ctf_addr dst;
	uint32_t id;
	uint8_t family;
	uint8_t proto;
	uint8_t pad[2];
};

struct pending {
	struct frag_key key;
	struct ctf_packet pkt;	/* first fragment if seen, else the earliest one */
	GList *link;		/* in t->order */
	uint64_t created_us;
	uint64_t last_us;
	GArray *ranges;		/* struct range: payload octets received, sorted, merged */
	uint32_t total;		/* payload octets of the datagram, once the last is seen */
	uint16_t unfrag_len;	/* header octets the reassembled datagram keeps */
	bool have_first;
	bool have_last;
};

struct range {
	uint32_t start, end;	/* [start, end) of the payload */
};

struct ctf_frag_table {
	GHashTable *pending;	/* struct frag_key* -> struct pending* (key inside) */
	GQueue order;		/* struct pending*, oldest first */
	uint64_t timeout_us;
	size_t max;
	ctf_frag_out_fn out;
	void *userdata;
	struct ctf_frag_stats stats;
};

static guint frag_key_hash(gconstpointer p)
{
	const struct frag_key *k = p;
	guint h = k->id ^ ((guint)k->proto << 24) ^ k->family;

	for (size_t i = 0; i < 16; i += 4) {
		uint32_t a, b;

		memcpy(&a, k->src.b + i, 4);
		memcpy(&b, k->dst.b + i, 4);
		h = h * 31 + a;
		h = h * 31 + b;
	}
	return h;
}

static gboolean frag_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct frag_key)) == 0;
}

static void pending_free(gpointer p)
{
	struct pending *pd = p;

	g_array_unref(pd->ranges);
	g_free(pd);
}

/* Record [start, end) as received, merging overlaps and neighbours, so
 * duplicated or overlapping fragments count once. */
static void ranges_add(GArray *ranges, uint32_t start, uint32_t end)
{
	guint i = 0;

	if (end <= start)
		return;
	while (i < ranges->len && g_array_index(ranges, struct range, i).end < start)
		i++;
	/* absorb every range that touches [start, end) */
	while (i < ranges->len && g_array_index(ranges, struct range, i).start <= end) {
		struct range *r = &g_array_index(ranges, struct range, i);

		start = MIN(start, r->start);
		end = MAX(end, r->end);
		g_array_remove_index(ranges, i);
	}
	g_array_insert_val(ranges, i, ((struct range){ start, end }));
}

static uint32_t ranges_octets(const GArray *ranges)
{
	uint32_t n = 0;

	for (guint i = 0; i < ranges->len; i++)
		n += g_array_index(ranges, struct range, i).end -
		     g_array_index(ranges, struct range, i).start;
	return n;
}

static bool ranges_cover(const GArray *ranges, uint32_t total)
{
	const struct range *r = &g_array_index(ranges, struct range, 0);

	return ranges->len == 1 && r->start == 0 && r->end >= total;
}

struct ctf_frag_table *ctf_frag_table_new(uint64_t timeout_us, size_t max_datagrams,
					  ctf_frag_out_fn out, void *userdata)
{
	struct ctf_frag_table *t;

	if (timeout_us == 0 || max_datagrams == 0 || out == NULL)
		return NULL;
	t = g_new0(struct ctf_frag_table, 1);
	t->pending = g_hash_table_new_full(frag_key_hash, frag_key_equal, NULL, pending_free);
	g_queue_init(&t->order);
	t->timeout_us = timeout_us;
	t->max = max_datagrams;
	t->out = out;
	t->userdata = userdata;
	return t;
}

/* Headers the reassembled datagram keeps: IPv4 keeps the first fragment's
 * header; IPv6 drops the 8-octet fragment header itself. */
static uint16_t unfragmentable_len(const struct ctf_packet *pkt)
{
	if (pkt->family == 6 && pkt->l3_hdr_len >= 48)
		return pkt->l3_hdr_len - 8;
	return pkt->l3_hdr_len;
}

/* Hand a datagram to the flow table and forget it. */
static void pending_finish(struct ctf_frag_table *t, struct pending *p, bool complete)
{
	struct ctf_packet pkt = p->pkt;
	uint32_t payload = complete ? p->total : ranges_octets(p->ranges);

	pkt.frag = CTF_FRAG_NONE;
	pkt.more_frags = false;
	pkt.ts_us = p->last_us;
	pkt.ip_len = p->unfrag_len + payload;
	if (!p->have_first) {
		/* No transport header arrived: account to the address pair. */
		pkt.has_ports = false;
		pkt.sport = pkt.dport = 0;
		pkt.tcp_flags = 0;
		pkt.icmp_type = pkt.icmp_code = 0;
		pkt.icmp_id = 0;
	}
	if (complete)
		t->stats.datagrams++;
	else
		t->stats.incomplete++;

	g_queue_delete_link(&t->order, p->link);
	g_hash_table_remove(t->pending, &p->key);	/* frees p */
	t->out(&pkt, t->userdata);
}

static struct pending *pending_get(struct ctf_frag_table *t, const struct ctf_packet *pkt)
{
	struct frag_key k = {
		.src = pkt->src, .dst = pkt->dst, .id = pkt->frag_id,
		.family = pkt->family, .proto = pkt->proto,
	};
	struct pending *p = g_hash_table_lookup(t->pending, &k);

	if (p)
		return p;
	if (g_hash_table_size(t->pending) >= t->max) {
		t->stats.evicted++;
		pending_finish(t, g_queue_peek_head(&t->order), false);
	}
	p = g_new0(struct pending, 1);
	p->ranges = g_array_new(FALSE, FALSE, sizeof(struct range));
	p->key = k;
	p->pkt = *pkt;
	p->created_us = pkt->ts_us;
	p->unfrag_len = unfragmentable_len(pkt);
	g_queue_push_tail(&t->order, p);
	p->link = g_queue_peek_tail_link(&t->order);
	g_hash_table_insert(t->pending, &p->key, p);
	return p;
}

void ctf_frag_table_add(struct ctf_frag_table *t, const struct ctf_packet *pkt)
{
	struct pending *p;

	if (pkt->frag == CTF_FRAG_NONE) {
		t->out(pkt, t->userdata);
		return;
	}
	t->stats.fragments++;
	p = pending_get(t, pkt);
	if (pkt->ts_us > p->last_us)
		p->last_us = pkt->ts_us;
	if (pkt->frag == CTF_FRAG_FIRST && !p->have_first) {
		uint64_t last = p->last_us;

		p->pkt = *pkt;
		p->last_us = last;
		p->unfrag_len = unfragmentable_len(pkt);
		p->have_first = true;
	}
	if (!pkt->more_frags && !p->have_last) {
		p->have_last = true;
		p->total = pkt->frag_offset + pkt->frag_len;
	}
	ranges_add(p->ranges, pkt->frag_offset, pkt->frag_offset + pkt->frag_len);
	/* Complete once every octet up to the last fragment's end arrived,
	 * whatever the order, duplicates and overlaps counting once. */
	if (p->have_first && p->have_last && ranges_cover(p->ranges, p->total))
		pending_finish(t, p, true);
}

bool ctf_frag_table_is_empty(const struct ctf_frag_table *t)
{
	return t->order.length == 0;
}

void ctf_frag_table_advance(struct ctf_frag_table *t, uint64_t now_us)
{
	struct pending *p;

	while ((p = g_queue_peek_head(&t->order)) != NULL &&
	       p->created_us + t->timeout_us <= now_us)
		pending_finish(t, p, false);
}

void ctf_frag_table_flush(struct ctf_frag_table *t)
{
	struct pending *p;

	while ((p = g_queue_peek_head(&t->order)) != NULL)
		pending_finish(t, p, false);
}

void ctf_frag_table_get_stats(const struct ctf_frag_table *t, struct ctf_frag_stats *ret)
{
	*ret = t->stats;
}

void ctf_frag_table_free(struct ctf_frag_table *t)
{
	if (!t)
		return;
	g_queue_clear(&t->order);
	g_hash_table_destroy(t->pending);
	g_free(t);
}
