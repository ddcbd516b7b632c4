/*
 * The offline flow table (rules in include/ctflow/flow-table.h).
 *
 * Memory and speed are the product here (bench/: <= 200 bytes per open
 * flow, >= 50 % of a bare libpcap read loop), which is why this table does
 * not use GHashTable: a GHashTable costs one allocation per flow plus
 * ~40 bytes of bucket arrays, and calls hash/equal through pointers.
 * Instead:
 *  - flows live in a slab of fixed-size chunks, addressed by 32-bit index,
 *    recycled through a free list (no malloc per flow);
 *  - an open-addressing index of (hash, index) pairs, linear probing,
 *    backward-shift deletion, grown at half load;
 *  - two intrusive lists by index: "idle" in order of last activity (its
 *    head is the next idle expiry and the eviction victim) and "timer" in
 *    order of record start (head = next active-timeout split); TCP flows
 *    that have closed move (same links) to "closing", in order of close
 *    time (head = next linger expiry; a closing flow needs no split).
 * Every packet costs one hash, usually one probe, and O(1) list updates.
 */
#include <string.h>

#include "ctflow/flow-table.h"

#define NIL UINT32_MAX
#define CHUNK_SHIFT 12
#define CHUNK_SIZE (1u << CHUNK_SHIFT)

/* Canonical, direction-free key: the (address, port) pair that sorts
 * lower is side "lo". 44 bytes, no padding, so memcmp() compares it. */
struct flow_key {
	struct ctf_addr lo_addr;
	struct ctf_addr hi_addr;
	uint16_t lo_port;
	uint16_t hi_port;
	uint16_t vlan_outer;
	uint16_t vlan_inner;
	uint16_t icmp_class;	/* ICMP: query type << 8, or type << 8 | code */
	uint8_t family;
	uint8_t proto;
};
_Static_assert(sizeof(struct flow_key) == 44, "flow_key must have no padding");

enum flow_state_bits {
	F_INIT_IS_LO = 1 << 0,	/* the initiator is side lo */
	F_FIN_FWD = 1 << 1,	/* FIN seen from the initiator */
	F_FIN_REV = 1 << 2,	/* FIN seen from the responder */
	F_CLOSING = 1 << 3,	/* FIN both ways or RST: lingering */
	F_ON_TIMER = 1 << 4,	/* linked in the timer list */
};

struct flow {
	struct flow_key key;
	uint32_t hash;
	uint64_t first_us;	/* first packet of the current record */
	uint64_t last_us;	/* last packet */
	uint64_t close_us;	/* when F_CLOSING was set */
	uint64_t flow_id;
	uint64_t octets[2];	/* [0] initiator -> responder, [1] reply */
	uint64_t packets[2];
	uint32_t idle_prev, idle_next;
	uint32_t timer_prev, timer_next;
	uint16_t tcp_flags[2];
	uint16_t icmp_type_code;
	uint8_t tos;
	uint8_t state;
};

struct list {
	uint32_t head, tail;
};

struct slot {
	uint32_t hash;
	uint32_t idx1;		/* flow index + 1; 0 = empty */
};

struct ctf_flow_table {
	struct ctf_flow_table_config cfg;
	ctf_flow_emit_fn emit;
	void *userdata;
	uint64_t now_us;

	struct flow **chunks;
	uint32_t n_chunks;
	uint32_t n_alloc;	/* flows ever handed out of the slab */
	uint32_t free_head;	/* free list through idle_next */

	struct slot *slots;
	uint32_t mask;		/* slots - 1 */
	uint32_t count;

	struct list idle;
	struct list timer;	/* open records, in order of record start */
	struct list closing;	/* closed TCP flows, in order of close time */

	struct ctf_flow_table_stats stats;
};

void ctf_flow_table_config_init(struct ctf_flow_table_config *cfg)
{
	cfg->idle_timeout_us = 60 * G_USEC_PER_SEC;
	cfg->active_timeout_us = 300 * G_USEC_PER_SEC;
	cfg->close_linger_us = 2 * G_USEC_PER_SEC;
	cfg->max_flows = 1000000;
}

static inline struct flow *flow_at(struct ctf_flow_table *t, uint32_t idx)
{
	return &t->chunks[idx >> CHUNK_SHIFT][idx & (CHUNK_SIZE - 1)];
}

/* --- intrusive lists ------------------------------------------------- */

#define LIST_FNS(name, prev, next)						\
static void name##_unlink(struct ctf_flow_table *t, struct list *l, uint32_t i)	\
{										\
	struct flow *f = flow_at(t, i);						\
	if (f->prev != NIL) flow_at(t, f->prev)->next = f->next;		\
	else l->head = f->next;							\
	if (f->next != NIL) flow_at(t, f->next)->prev = f->prev;		\
	else l->tail = f->prev;							\
	f->prev = f->next = NIL;						\
}										\
static void name##_append(struct ctf_flow_table *t, struct list *l, uint32_t i)	\
{										\
	struct flow *f = flow_at(t, i);						\
	f->prev = l->tail;							\
	f->next = NIL;								\
	if (l->tail != NIL) flow_at(t, l->tail)->next = i;			\
	else l->head = i;							\
	l->tail = i;								\
}

LIST_FNS(idle, idle_prev, idle_next)
LIST_FNS(timer, timer_prev, timer_next)

/* --- slab ---------------------------------------------------------------- */

static uint32_t slab_alloc(struct ctf_flow_table *t)
{
	uint32_t idx;

	if (t->free_head != NIL) {
		idx = t->free_head;
		t->free_head = flow_at(t, idx)->idle_next;
		return idx;
	}
	if ((t->n_alloc >> CHUNK_SHIFT) == t->n_chunks) {
		t->chunks = g_renew(struct flow *, t->chunks, t->n_chunks + 1);
		t->chunks[t->n_chunks++] = g_new(struct flow, CHUNK_SIZE);
	}
	return t->n_alloc++;
}

static void slab_release(struct ctf_flow_table *t, uint32_t idx)
{
	flow_at(t, idx)->idle_next = t->free_head;
	t->free_head = idx;
}

/* --- key and hash ---------------------------------------------------- */

static inline uint64_t load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t key_hash(const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	uint32_t tail;

	for (int i = 0; i < 40; i += 8) {
		h ^= load64(p + i);
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	memcpy(&tail, p + 40, 4);
	h ^= tail;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return (uint32_t)h;
}

/* ICMP queries that conntrack pairs by identifier: the request type. */
static int icmp_query_class(uint8_t family, uint8_t type)
{
	if (family == 4) {
		switch (type) {
		case 8: case 0: return 8;	/* echo */
		case 13: case 14: return 13;	/* timestamp */
		case 15: case 16: return 15;	/* information */
		case 17: case 18: return 17;	/* address mask */
		}
	} else {
		switch (type) {
		case 128: case 129: return 128;	/* echo */
		case 139: case 140: return 139;	/* node information */
		}
	}
	return -1;
}

static bool is_icmp(const struct ctf_packet *pkt)
{
	return (pkt->family == 4 && pkt->proto == 1) ||
	       (pkt->family == 6 && pkt->proto == 58);
}

/* Build the canonical key; returns true when the packet's source is lo. */
static bool key_from_packet(const struct ctf_packet *pkt, struct flow_key *k)
{
	uint16_t sport = 0, dport = 0;
	int c;

	memset(k, 0, sizeof(*k));
	k->family = pkt->family;
	k->proto = pkt->proto;
	k->vlan_outer = pkt->vlan_outer;
	k->vlan_inner = pkt->vlan_inner;
	if (is_icmp(pkt)) {
		if (pkt->has_ports) {
			int q = icmp_query_class(pkt->family, pkt->icmp_type);

			if (q >= 0) {
				k->icmp_class = (uint16_t)(q << 8);
				sport = dport = pkt->icmp_id;
			} else {
				k->icmp_class = (uint16_t)(pkt->icmp_type << 8 | pkt->icmp_code);
			}
		}
	} else if (pkt->has_ports) {
		sport = pkt->sport;
		dport = pkt->dport;
	}
	c = memcmp(&pkt->src, &pkt->dst, sizeof(pkt->src));
	if (c < 0 || (c == 0 && sport <= dport)) {
		k->lo_addr = pkt->src;
		k->hi_addr = pkt->dst;
		k->lo_port = sport;
		k->hi_port = dport;
		return true;
	}
	k->lo_addr = pkt->dst;
	k->hi_addr = pkt->src;
	k->lo_port = dport;
	k->hi_port = sport;
	return false;
}

/* --- index ------------------------------------------------------------ */

static void index_insert_slot(struct slot *slots, uint32_t mask, uint32_t hash, uint32_t idx1)
{
	uint32_t i = hash & mask;

	while (slots[i].idx1)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].idx1 = idx1;
}

static void index_grow(struct ctf_flow_table *t)
{
	uint32_t old_n = t->mask + 1, new_mask = old_n * 2 - 1;
	struct slot *n = g_new0(struct slot, (size_t)old_n * 2);

	for (uint32_t i = 0; i < old_n; i++)
		if (t->slots[i].idx1)
			index_insert_slot(n, new_mask, t->slots[i].hash, t->slots[i].idx1);
	g_free(t->slots);
	t->slots = n;
	t->mask = new_mask;
}

/* Returns the slot position of @k, or the empty slot where it would go. */
static uint32_t index_find(struct ctf_flow_table *t, const struct flow_key *k,
			   uint32_t hash)
{
	uint32_t i = hash & t->mask;

	for (;;) {
		const struct slot *s = &t->slots[i];

		if (!s->idx1)
			return i;
		if (s->hash == hash &&
		    memcmp(&flow_at(t, s->idx1 - 1)->key, k, sizeof(*k)) == 0)
			return i;
		i = (i + 1) & t->mask;
	}
}

/* Backward-shift deletion keeps linear probing free of tombstones. */
static void index_remove(struct ctf_flow_table *t, uint32_t pos)
{
	uint32_t hole = pos, i = pos;

	for (;;) {
		uint32_t home;

		i = (i + 1) & t->mask;
		if (!t->slots[i].idx1)
			break;
		home = t->slots[i].hash & t->mask;
		/* move i into the hole unless its home lies cyclically in (hole, i] */
		if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	t->slots[hole].idx1 = 0;
}

/* --- records ---------------------------------------------------------- */

static void flow_to_record(const struct flow *f, enum ctf_end_reason reason,
			   struct ctf_record *r)
{
	bool lo = f->state & F_INIT_IS_LO;
	bool icmp = f->key.proto == (f->key.family == 4 ? 1 : 58);

	memset(r, 0, sizeof(*r));
	r->start_ms = f->first_us / 1000;
	r->end_ms = f->last_us / 1000;
	r->octets = f->octets[0];
	r->packets = f->packets[0];
	r->rev_octets = f->octets[1];
	r->rev_packets = f->packets[1];
	r->flow_id = f->flow_id;
	r->src = lo ? f->key.lo_addr : f->key.hi_addr;
	r->dst = lo ? f->key.hi_addr : f->key.lo_addr;
	if (!icmp) {
		r->sport = lo ? f->key.lo_port : f->key.hi_port;
		r->dport = lo ? f->key.hi_port : f->key.lo_port;
	}
	r->icmp_type_code = f->icmp_type_code;
	r->tcp_flags = f->tcp_flags[0];
	r->rev_tcp_flags = f->tcp_flags[1];
	r->vlan = f->key.vlan_outer;
	r->inner_vlan = f->key.vlan_inner;
	r->family = f->key.family;
	r->proto = f->key.proto;
	r->tos = f->tos;
	r->end_reason = (uint8_t)reason;
}

static void emit_record(struct ctf_flow_table *t, struct flow *f, enum ctf_end_reason reason)
{
	struct ctf_record r;

	if (f->packets[0] + f->packets[1] == 0)
		return;		/* nothing since the last active split */
	flow_to_record(f, reason, &r);
	t->stats.records++;
	t->stats.by_reason[reason]++;
	t->emit(&r, t->userdata);
}

/* Export the current record and forget the flow. */
static void flow_end(struct ctf_flow_table *t, uint32_t idx, enum ctf_end_reason reason)
{
	struct flow *f = flow_at(t, idx);
	uint32_t pos = index_find(t, &f->key, f->hash);

	emit_record(t, f, reason);
	index_remove(t, pos);
	idle_unlink(t, &t->idle, idx);
	if (f->state & F_ON_TIMER)
		timer_unlink(t, (f->state & F_CLOSING) ? &t->closing : &t->timer, idx);
	slab_release(t, idx);
	t->count--;
	t->stats.flows_active = t->count;
}

/* Active timeout: export and start a new record with the next packet. */
static void flow_split(struct ctf_flow_table *t, uint32_t idx)
{
	struct flow *f = flow_at(t, idx);

	emit_record(t, f, CTF_END_ACTIVE);
	f->octets[0] = f->octets[1] = 0;
	f->packets[0] = f->packets[1] = 0;
	f->tcp_flags[0] = f->tcp_flags[1] = 0;
	timer_unlink(t, &t->timer, idx);
	f->state &= ~F_ON_TIMER;
}

static void expire(struct ctf_flow_table *t, uint64_t now)
{
	const struct ctf_flow_table_config *c = &t->cfg;
	uint32_t i;

	while ((i = t->closing.head) != NIL && flow_at(t, i)->close_us + c->close_linger_us <= now)
		flow_end(t, i, CTF_END_EOF);
	while ((i = t->timer.head) != NIL && flow_at(t, i)->first_us + c->active_timeout_us <= now)
		flow_split(t, i);
	while ((i = t->idle.head) != NIL && flow_at(t, i)->last_us + c->idle_timeout_us <= now) {
		struct flow *f = flow_at(t, i);

		flow_end(t, i, (f->state & F_CLOSING) ? CTF_END_EOF : CTF_END_IDLE);
	}
}

/* --- packets ---------------------------------------------------------- */

static uint32_t flow_create(struct ctf_flow_table *t, const struct flow_key *k,
			    uint32_t hash, bool src_is_lo)
{
	uint32_t idx, pos;
	struct flow *f;

	if (t->count >= t->cfg.max_flows) {
		t->stats.evicted++;
		flow_end(t, t->idle.head, CTF_END_RESOURCES);
	}
	if ((t->count + 1) * 2 > t->mask + 1)
		index_grow(t);
	idx = slab_alloc(t);
	f = flow_at(t, idx);
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	f->state = src_is_lo ? F_INIT_IS_LO : 0;
	f->flow_id = ++t->stats.flows_created;
	f->idle_prev = f->idle_next = f->timer_prev = f->timer_next = NIL;
	pos = index_find(t, k, hash);
	t->slots[pos].hash = hash;
	t->slots[pos].idx1 = idx + 1;
	idle_append(t, &t->idle, idx);
	t->count++;
	t->stats.flows_active = t->count;
	if (t->count > t->stats.flows_peak)
		t->stats.flows_peak = t->count;
	return idx;
}

static void tcp_track(struct ctf_flow_table *t, uint32_t idx, int dir, uint16_t flags, uint64_t now)
{
	struct flow *f = flow_at(t, idx);

	if (f->state & F_CLOSING)
		return;
	if (flags & CTF_TCP_FIN)
		f->state |= dir ? F_FIN_REV : F_FIN_FWD;
	if ((flags & CTF_TCP_RST) || (f->state & (F_FIN_FWD | F_FIN_REV)) == (F_FIN_FWD | F_FIN_REV)) {
		if (f->state & F_ON_TIMER)
			timer_unlink(t, &t->timer, idx);
		f->state |= F_CLOSING | F_ON_TIMER;
		f->close_us = now;
		timer_append(t, &t->closing, idx);
	}
}

static void account(struct ctf_flow_table *t, uint32_t idx, const struct ctf_packet *pkt,
		    bool src_is_lo, uint64_t now)
{
	struct flow *f = flow_at(t, idx);
	int dir = src_is_lo == !!(f->state & F_INIT_IS_LO) ? 0 : 1;

	if (f->packets[0] + f->packets[1] == 0) {
		/* first packet of a record */
		f->first_us = now;
		if (is_icmp(pkt) && pkt->has_ports && f->icmp_type_code == 0)
			f->icmp_type_code = (uint16_t)(pkt->icmp_type << 8 | pkt->icmp_code);
		if (!(f->state & F_ON_TIMER)) {
			f->state |= F_ON_TIMER;
			timer_append(t, &t->timer, idx);
		}
	}
	if (dir == 0 && f->packets[0] == 0)
		f->tos = pkt->tos;
	f->last_us = now;
	f->packets[dir]++;
	f->octets[dir] += pkt->ip_len;
	if (pkt->proto == 6 && pkt->has_ports) {
		f->tcp_flags[dir] |= pkt->tcp_flags;
		tcp_track(t, idx, dir, pkt->tcp_flags, now);
	}
	idle_unlink(t, &t->idle, idx);
	idle_append(t, &t->idle, idx);
}

void ctf_flow_table_add_packet(struct ctf_flow_table *t, const struct ctf_packet *pkt)
{
	struct flow_key k;
	bool src_is_lo = key_from_packet(pkt, &k);
	uint32_t hash = key_hash(&k);
	uint32_t pos, idx;

	ctf_flow_table_advance(t, pkt->ts_us);
	t->stats.packets++;
	pos = index_find(t, &k, hash);
	if (t->slots[pos].idx1) {
		idx = t->slots[pos].idx1 - 1;
		/* A new SYN on a connection that has closed starts a new flow. */
		if ((flow_at(t, idx)->state & F_CLOSING) && pkt->proto == 6 &&
		    (pkt->tcp_flags & (CTF_TCP_SYN | CTF_TCP_ACK)) == CTF_TCP_SYN) {
			flow_end(t, idx, CTF_END_EOF);
			idx = flow_create(t, &k, hash, src_is_lo);
		}
	} else {
		idx = flow_create(t, &k, hash, src_is_lo);
	}
	account(t, idx, pkt, src_is_lo, t->now_us);
}

void ctf_flow_table_advance(struct ctf_flow_table *t, uint64_t now_us)
{
	if (now_us > t->now_us)
		t->now_us = now_us;
	expire(t, t->now_us);
}

void ctf_flow_table_flush(struct ctf_flow_table *t, enum ctf_end_reason reason)
{
	uint32_t i;

	while ((i = t->idle.head) != NIL) {
		struct flow *f = flow_at(t, i);

		flow_end(t, i, (f->state & F_CLOSING) ? CTF_END_EOF : reason);
	}
}

struct ctf_flow_table *ctf_flow_table_new(const struct ctf_flow_table_config *cfg,
					  ctf_flow_emit_fn emit, void *userdata)
{
	struct ctf_flow_table *t;

	if (!cfg || !emit || cfg->idle_timeout_us == 0 || cfg->active_timeout_us == 0 ||
	    cfg->max_flows == 0 || cfg->max_flows >= NIL / 2)
		return NULL;
	t = g_new0(struct ctf_flow_table, 1);
	t->cfg = *cfg;
	t->emit = emit;
	t->userdata = userdata;
	t->free_head = NIL;
	t->mask = 1023;
	t->slots = g_new0(struct slot, t->mask + 1);
	t->idle.head = t->idle.tail = NIL;
	t->timer.head = t->timer.tail = NIL;
	t->closing.head = t->closing.tail = NIL;
	return t;
}

void ctf_flow_table_get_stats(const struct ctf_flow_table *t,
			      struct ctf_flow_table_stats *ret_stats)
{
	*ret_stats = t->stats;
}

void ctf_flow_table_free(struct ctf_flow_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n_chunks; i++)
		g_free(t->chunks[i]);
	g_free(t->chunks);
	g_free(t->slots);
	g_free(t);
}
