/*
 * The offline flow table (rules in include/ctflow/flow-table.h; layout in
 * flow-table-private.h; the LRU order in flow-table-age.c).
 *
 * Memory and speed are the product here (bench/: <= 200 bytes per open
 * flow, >= 50 % of a bare libpcap read loop), which is why this table does
 * not use GHashTable (one allocation per flow, ~40 bytes of bucket arrays,
 * hash and equal called through pointers) and why a packet touches no
 * memory but its index slot and its own flow:
 *  - flows are 128 bytes (two cache lines) in one range of address space
 *    reserved for max_flows and made usable 2 MiB at a time, backed by
 *    huge pages where the kernel allows (the table is far larger than the
 *    caches, so TLB misses would otherwise dominate), addressed by 32-bit
 *    index and recycled through a free list;
 *  - an open-addressing index of (hash, index) pairs, linear probing,
 *    backward-shift deletion, grown at half load; packets look up their
 *    slots and flows a group of packets at a time, prefetched in passes;
 *  - the exact LRU order (idle expiry, eviction) is kept lazily: open
 *    flows sit in age buckets by the time of their last packet as it was
 *    when they were filed, a packet only stamps its flow, and only the
 *    oldest bucket is ever put in exact order (flow-table-age.c). Closed
 *    TCP flows sit on a "closing" list in order of close time;
 *  - the active timeout is settled lazily: before a packet is counted,
 *    settle() decides from the flow's own times whether an active split
 *    (or an idle end, or a linger end) fell due in between and emits
 *    exactly the records the eager rules would have. A flow that gets no
 *    more packets has its split settled when it leaves the table;
 *  - expire() runs only when something can be due: due_us is a lower
 *    bound of the next idle, linger or bucket deadline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ctflow/icmp.h"

#include "flow-table-private.h"

void ctf_flow_table_config_init(struct ctf_flow_table_config *cfg)
{
	cfg->idle_timeout_us = 60 * G_USEC_PER_SEC;
	cfg->active_timeout_us = 300 * G_USEC_PER_SEC;
	cfg->close_linger_us = 2 * G_USEC_PER_SEC;
	cfg->max_flows = 1000000;
}

/* --- memory: 2 MiB-aligned blocks, huge pages where allowed ------------- */

static size_t table_block_size(size_t size)
{
	return size < HUGE_PAGE ? size : (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

/* A 2 MiB-aligned anonymous mapping of @len bytes (a multiple of 2 MiB). */
static uint8_t *map_aligned(size_t len, int prot, int flags)
{
	uint8_t *p, *aligned;

	p = mmap(NULL, len + HUGE_PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	if (p == MAP_FAILED)
		g_error("flow table: cannot map %zu bytes: %s", len, g_strerror(errno));
	aligned = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	munmap(aligned + len, (size_t)(p + HUGE_PAGE - aligned));
	return aligned;
}

/* Only a hint: without THP the table works the same, slower. */
static void hint_huge(void *p, size_t len)
{
	(void)madvise(p, len, MADV_HUGEPAGE);
}

/*
 * Blocks of 2 MiB or more are mapped directly: zero without a memset (so
 * pages are only faulted in when used) and 2 MiB-aligned with a huge-page
 * hint. Smaller blocks come from malloc.
 */
static void *table_alloc0(size_t size)
{
	uint8_t *p;

	if (size < HUGE_PAGE)
		return g_malloc0(size);
	p = map_aligned(table_block_size(size), PROT_READ | PROT_WRITE, 0);
	hint_huge(p, table_block_size(size));
	return p;
}

static void table_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size < HUGE_PAGE)
		g_free(p);
	else
		munmap(p, table_block_size(size));
}

/*
 * The flows: address space for max_flows of them is reserved at once
 * (inaccessible, so it costs no memory) and made usable one 2 MiB chunk
 * at a time as the table fills, so a flow is found from its index with
 * one shift and add, and never moves.
 */
static size_t slab_size(const struct ctf_flow_table *t)
{
	size_t chunks = (t->cfg.max_flows + CHUNK_FLOWS - 1) / CHUNK_FLOWS;

	return chunks * HUGE_PAGE;
}

static void slab_grow(struct ctf_flow_table *t)
{
	struct flow *chunk;

	if (!t->flows)
		t->flows = (struct flow *)map_aligned(slab_size(t), PROT_NONE, MAP_NORESERVE);
	chunk = t->flows + (size_t)t->n_chunks * CHUNK_FLOWS;
	if (mprotect(chunk, HUGE_PAGE, PROT_READ | PROT_WRITE) != 0)
		g_error("flow table: cannot map %u bytes: %s", HUGE_PAGE, g_strerror(errno));
	hint_huge(chunk, HUGE_PAGE);
	t->n_chunks++;
}

static void slab_free(struct ctf_flow_table *t)
{
	if (t->flows)
		munmap(t->flows, slab_size(t));
	t->flows = NULL;
	t->n_chunks = t->n_alloc = 0;
	t->free_head = NIL;
}

static inline void prefetch_flow_write(struct ctf_flow_table *t, uint32_t idx)
{
	__builtin_prefetch(flow_at(t, idx), 1);
	__builtin_prefetch((char *)flow_at(t, idx) + 64, 1);
}

/* New flows are written whole: the flows handed out next are fetched
 * now, so that the flow's write does not wait for memory. */
#define ALLOC_AHEAD 4

static uint32_t slab_alloc(struct ctf_flow_table *t)
{
	uint32_t idx;

	if (t->free_head != NIL) {
		idx = t->free_head;
		t->free_head = flow_at(t, idx)->pos;
		if (t->free_head != NIL)
			prefetch_flow_write(t, t->free_head);
		return idx;
	}
	if (t->n_alloc / CHUNK_FLOWS == t->n_chunks)
		slab_grow(t);
	if ((t->n_alloc + ALLOC_AHEAD) / CHUNK_FLOWS < t->n_chunks)
		prefetch_flow_write(t, t->n_alloc + ALLOC_AHEAD);
	return t->n_alloc++;
}

static void slab_release(struct ctf_flow_table *t, uint32_t idx)
{
	flow_at(t, idx)->pos = t->free_head;
	t->free_head = idx;
}

/* --- key and hash ---------------------------------------------------- */

static inline uint64_t load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The key's hash, from its values: the packet path computes it from
 * registers while it builds the key (reading the key back right after its
 * narrow stores would stall on store forwarding). Each word is multiplied
 * by its own odd constant (independent multiplies, no dependency chain
 * between the words) and the sum is mixed with MurmurHash3's finaliser,
 * so every key bit reaches the low bits the index uses. */
static inline uint32_t hash_key_words(uint64_t lo0, uint64_t lo1, uint64_t hi0, uint64_t hi1,
				      uint64_t ports, uint32_t tail)
{
	uint64_t h = lo0 * 0x9e3779b97f4a7c15ull + lo1 * 0xc2b2ae3d27d4eb4full +
		     hi0 * 0x165667b19e3779f9ull + hi1 * 0xd6e8feb86659fd93ull +
		     ports * 0xff51afd7ed558ccdull + tail * 0xc4ceb9fe1a85ec53ull;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static inline uint64_t key_ports(uint16_t lo_port, uint16_t hi_port, uint16_t vlan_outer,
				 uint16_t vlan_inner)
{
	return lo_port | (uint64_t)hi_port << 16 | (uint64_t)vlan_outer << 32 |
	       (uint64_t)vlan_inner << 48;
}

static inline uint32_t key_tail(uint16_t icmp_class, uint8_t family, uint8_t proto)
{
	return icmp_class | (uint32_t)family << 16 | (uint32_t)proto << 24;
}

static inline uint32_t key_hash(const struct flow_key *k)
{
	return hash_key_words(load64(k->lo_addr.b), load64(k->lo_addr.b + 8),
			      load64(k->hi_addr.b), load64(k->hi_addr.b + 8),
			      key_ports(k->lo_port, k->hi_port, k->vlan_outer, k->vlan_inner),
			      key_tail(k->icmp_class, k->family, k->proto));
}

/* One test of family and protocol together: a test of the family alone
 * would be a coin toss for the branch predictor on mixed traffic. */
static inline bool is_icmp(uint8_t family, uint8_t proto)
{
	uint32_t fp = (uint32_t)family << 8 | proto;

	return (fp == (4u << 8 | 1)) | (fp == (6u << 8 | 58));
}

/* Whether (address a, port pa) sorts before or equal to (b, pb), each
 * address given as its two 64-bit words in network order (memcmp()
 * order). Computed without branches: which side is lo is random for the
 * branch predictor, and a mispredicted branch costs more than this. */
static inline bool side_le(uint64_t a0, uint64_t a1, uint16_t pa, uint64_t b0, uint64_t b1,
			   uint16_t pb)
{
	a0 = GUINT64_FROM_BE(a0);
	b0 = GUINT64_FROM_BE(b0);
	a1 = GUINT64_FROM_BE(a1);
	b1 = GUINT64_FROM_BE(b1);
	return (a0 < b0) | ((a0 == b0) & ((a1 < b1) | ((a1 == b1) & (pa <= pb))));
}

/* @a and @b swapped where @mask is all ones, kept where it is zero */
#define SWAP_IF(a, b, mask) do {		\
	__typeof__(a) x_ = ((a) ^ (b)) & (mask);	\
	(a) ^= x_;				\
	(b) ^= x_;				\
} while (0)

/* The first 8 octets of an IPv4 address in a struct ctf_addr (4 octets
 * of address, then zeros), without reading the zeros. */
static inline uint64_t load_v4_word(const uint8_t *p)
{
	const uint8_t b[8] = { p[0], p[1], p[2], p[3], 0, 0, 0, 0 };

	return load64(b);
}

/* Build the canonical key from the addresses given as words (s0, s1:
 * source; d0, d1: destination) and its hash; returns true when the
 * packet's source is lo. Inlined twice: for IPv4, whose second words are
 * constant zeros, the compiler drops their compares, swaps and
 * multiplies. */
G_ALWAYS_INLINE static inline bool key_build(const struct ctf_packet *pkt, uint64_t s0,
					     uint64_t s1, uint64_t d0, uint64_t d1,
					     struct flow_key *k, uint32_t *ret_hash)
{
	uint16_t sport = 0, dport = 0, icmp_class = 0;
	bool src_is_lo;
	uint64_t swap;

	if (is_icmp(pkt->family, pkt->proto)) {
		if (pkt->has_ports) {
			uint8_t request;

			/* queries and answers share a key: the request type */
			if (ctf_icmp_query(pkt->proto, pkt->icmp_type, &request, NULL)) {
				icmp_class = (uint16_t)(request << 8);
				sport = dport = pkt->icmp_id;
			} else {
				icmp_class = (uint16_t)(pkt->icmp_type << 8 | pkt->icmp_code);
			}
		}
	} else if (pkt->has_ports) {
		sport = pkt->sport;
		dport = pkt->dport;
	}
	src_is_lo = side_le(s0, s1, sport, d0, d1, dport);
	swap = (uint64_t)src_is_lo - 1;
	SWAP_IF(s0, d0, swap);
	SWAP_IF(s1, d1, swap);
	SWAP_IF(sport, dport, (uint16_t)swap);
	memcpy(k->lo_addr.b, &s0, 8);
	memcpy(k->lo_addr.b + 8, &s1, 8);
	memcpy(k->hi_addr.b, &d0, 8);
	memcpy(k->hi_addr.b + 8, &d1, 8);
	k->lo_port = sport;
	k->hi_port = dport;
	k->vlan_outer = pkt->vlan_outer;
	k->vlan_inner = pkt->vlan_inner;
	k->icmp_class = icmp_class;
	k->family = pkt->family;
	k->proto = pkt->proto;
	*ret_hash = hash_key_words(s0, s1, d0, d1,
				   key_ports(sport, dport, pkt->vlan_outer, pkt->vlan_inner),
				   key_tail(icmp_class, pkt->family, pkt->proto));
	return src_is_lo;
}

/* The canonical key of @pkt and its hash; returns true when the packet's
 * source is lo. An IPv4 address leaves the rest of its struct ctf_addr
 * zero (packet.h), so both paths give the same key and hash. */
static inline bool key_from_packet(const struct ctf_packet *pkt, struct flow_key *k,
				   uint32_t *ret_hash)
{
	if (pkt->family == 4)
		return key_build(pkt, load_v4_word(pkt->src.b), 0, load_v4_word(pkt->dst.b), 0,
				 k, ret_hash);
	return key_build(pkt, load64(pkt->src.b), load64(pkt->src.b + 8), load64(pkt->dst.b),
			 load64(pkt->dst.b + 8), k, ret_hash);
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
	struct slot *n = table_alloc0((size_t)old_n * 2 * sizeof(struct slot));

	for (uint32_t i = 0; i < old_n; i++)
		if (t->slots[i].idx1)
			index_insert_slot(n, new_mask, t->slots[i].hash, t->slots[i].idx1);
	table_free(t->slots, (size_t)old_n * sizeof(struct slot));
	t->slots = n;
	t->mask = new_mask;
}

/* memcmp() of two keys, inlined: it runs for every packet. */
static inline bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	const uint8_t *p = (const uint8_t *)a, *q = (const uint8_t *)b;
	uint64_t d = 0;
	uint32_t x, y;

	for (int i = 0; i < 40; i += 8)
		d |= load64(p + i) ^ load64(q + i);
	memcpy(&x, p + 40, 4);
	memcpy(&y, q + 40, 4);
	return (d | (x ^ y)) == 0;
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
		if (s->hash == hash && key_equal(&flow_at(t, s->idx1 - 1)->key, k))
			return i;
		i = (i + 1) & t->mask;
	}
}

/* Where a lookup of @hash will most likely end, without reading any flow
 * (only the hashes): the first slot of its run with that hash, or the
 * empty slot that ends the run. */
static inline uint32_t index_probe(const struct ctf_flow_table *t, uint32_t hash)
{
	uint32_t i = hash & t->mask;

	while (t->slots[i].idx1 && t->slots[i].hash != hash)
		i = (i + 1) & t->mask;
	return i;
}

/* index_find(), trying first the slot an earlier index_probe() returned:
 * it is only taken if it holds @k now (flows that came and went since,
 * or a grown index, may have moved the slots; keys are unique, so a slot
 * holding @k is @k's slot). */
static inline uint32_t index_find_hinted(struct ctf_flow_table *t, const struct flow_key *k,
					 uint32_t hash, uint32_t hint)
{
	const struct slot *s = &t->slots[hint & t->mask];

	if (s->idx1 && s->hash == hash && key_equal(&flow_at(t, s->idx1 - 1)->key, k))
		return hint & t->mask;
	return index_find(t, k, hash);
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

static bool record_empty(const struct flow *f)
{
	return f->packets[0] == 0 && f->packets[1] == 0;
}

/* Each direction's first and last packet time (ms; 0 without packets):
 * the record's first and latest packets give one direction each, the
 * flow keeps the other's as offsets (struct flow). */
static void dir_times(const struct flow *f, struct ctf_record *r)
{
	uint64_t first[2], last[2];
	int d0 = !!(f->state & F_FIRST_REV), dl = !!(f->state & F_LAST_REV);

	first[d0] = r->start_ms;
	first[!d0] = f->packets[!d0] ? r->start_ms + f->other_first_ms : 0;
	last[dl] = r->end_ms;
	last[!dl] = f->packets[!dl] ? r->start_ms + f->other_last_ms : 0;
	r->fwd_start_ms = first[0];
	r->fwd_end_ms = last[0];
	r->rev_start_ms = first[1];
	r->rev_end_ms = last[1];
	r->has_dir_times = true;
}

static void flow_to_record(const struct flow *f, enum ctf_end_reason reason,
			   struct ctf_record *r)
{
	bool lo = f->state & F_INIT_IS_LO;

	memset(r, 0, sizeof(*r));
	r->start_ms = f->first_us / 1000;
	r->end_ms = f->last_us / 1000;
	dir_times(f, r);
	r->octets = f->octets[0];
	r->packets = f->packets[0];
	r->rev_octets = f->octets[1];
	r->rev_packets = f->packets[1];
	r->flow_id = f->flow_id;
	r->src = lo ? f->key.lo_addr : f->key.hi_addr;
	r->dst = lo ? f->key.hi_addr : f->key.lo_addr;
	if (!is_icmp(f->key.family, f->key.proto)) {
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

/* Emit the current record (if any) and start an empty one. */
static void emit_record(struct ctf_flow_table *t, struct flow *f, enum ctf_end_reason reason)
{
	struct ctf_record r;

	if (record_empty(f))
		return;		/* nothing since the last active split */
	flow_to_record(f, reason, &r);
	t->stats.records++;
	t->stats.by_reason[reason]++;
	t->emit(&r, t->userdata);
	f->octets[0] = f->octets[1] = 0;
	f->packets[0] = f->packets[1] = 0;
	f->tcp_flags[0] = f->tcp_flags[1] = 0;
}

/* When the closing head ends (expire() ends the closing flows in order). */
static uint64_t closing_due(struct ctf_flow_table *t)
{
	uint32_t head = queue_first(&t->closing);
	const struct flow *f;

	if (head == NIL)
		return UINT64_MAX;
	f = flow_at(t, head);
	return MIN(f->close_us + t->cfg.close_linger_us, f->last_us + t->cfg.idle_timeout_us);
}

/* Forget a flow whose records have all left. */
static void flow_release(struct ctf_flow_table *t, uint32_t idx)
{
	struct flow *f = flow_at(t, idx);

	index_remove(t, index_find(t, &f->key, key_hash(&f->key)));
	if (f->state & F_CLOSING) {
		bool was_head = queue_first(&t->closing) == idx;

		ctf_flow_queue_remove(t, &t->closing, idx);
		/* the next one may end before the one it followed */
		if (was_head)
			t->due_us = MIN(t->due_us, closing_due(t));
	} else {
		ctf_flow_age_unlink(t, idx);
	}
	f->state = 0;
	slab_release(t, idx);
	t->count--;
	t->stats.flows_active = t->count;
}

/*
 * Emit what the timeout rules made due by @now, in the order the eager
 * rules would have (linger, then active, then idle at equal times).
 * Returns true when the flow has ended.
 */
static bool settle(struct ctf_flow_table *t, struct flow *f, uint64_t now)
{
	const struct ctf_flow_table_config *c = &t->cfg;
	uint64_t t_idle = f->last_us + c->idle_timeout_us;

	if (f->state & F_CLOSING) {
		if (MIN(f->close_us + c->close_linger_us, t_idle) > now)
			return false;
		emit_record(t, f, CTF_END_EOF);
		return true;
	}
	if (!record_empty(f)) {
		uint64_t t_active = f->first_us + c->active_timeout_us;

		if (t_active <= now && t_active <= t_idle)
			emit_record(t, f, CTF_END_ACTIVE);	/* the flow goes on */
		else if (t_idle <= now)
			emit_record(t, f, CTF_END_IDLE);
	}
	return t_idle <= now;
}

/* The earliest time expire() can have work: the closing head's end, and
 * the idle end of the oldest open flow (a lower bound of it while the
 * oldest bucket is not sorted). */
static uint64_t next_due(struct ctf_flow_table *t)
{
	const struct ctf_flow_table_config *c = &t->cfg;
	uint64_t due = closing_due(t);

	if (t->n_open > 0) {
		const struct age_bucket *b = age_bucket(t, t->age_head);
		uint64_t oldest = b->sorted ? flow_at(t, queue_first(&b->q))->last_us :
				  t->age_head << t->age_shift;

		due = MIN(due, oldest + c->idle_timeout_us);
	}
	return due;
}

/* False when settle() would find nothing due: a closing flow ends no
 * later than its idle end, an open one changes at its idle or active end.
 * Most packets stop here. */
static inline bool settle_may_act(const struct ctf_flow_table *t, const struct flow *f,
				  uint64_t now)
{
	return (f->state & F_CLOSING) || now >= f->last_us + t->cfg.idle_timeout_us ||
	       now >= f->first_us + t->cfg.active_timeout_us;
}

/* End what is due at the heads: lingering TCP flows, then idle flows in
 * LRU order. A flow's active split, if due, is settled on the way out. */
static void expire(struct ctf_flow_table *t, uint64_t now)
{
	const struct ctf_flow_table_config *c = &t->cfg;
	uint32_t i;

	while ((i = queue_first(&t->closing)) != NIL &&
	       flow_at(t, i)->close_us + MIN(c->close_linger_us, c->idle_timeout_us) <= now) {
		if (!settle(t, flow_at(t, i), now))
			break;	/* idle < linger and packets since the close: later */
		flow_release(t, i);
	}
	if (now >= c->idle_timeout_us) {
		uint64_t deadline = now - c->idle_timeout_us;

		while ((i = ctf_flow_age_oldest(t, age_of(t, deadline))) != NIL &&
		       flow_at(t, i)->last_us <= deadline) {
			settle(t, flow_at(t, i), now);
			flow_release(t, i);
		}
	}
	t->due_us = next_due(t);
}

/* Make room: the least recently active open flow ends with reason 5
 * (counted), unless the lingering flow that closed first had its last
 * packet at the same time or earlier: that one ends, with reason 3 as its
 * linger would have ended it (its end was seen). */
static void evict(struct ctf_flow_table *t)
{
	uint32_t lru = ctf_flow_age_oldest(t, UINT64_MAX);
	uint32_t closing = queue_first(&t->closing);
	uint32_t i = closing != NIL ? closing : lru;
	struct flow *f = flow_at(t, i);

	if (closing != NIL && lru != NIL && flow_at(t, lru)->last_us < f->last_us)
		f = flow_at(t, i = lru);
	if (f->state & F_CLOSING) {
		emit_record(t, f, CTF_END_EOF);
	} else {
		t->stats.evicted++;
		settle(t, f, t->now_us);	/* a due active split first */
		emit_record(t, f, CTF_END_RESOURCES);
	}
	flow_release(t, i);
}

/* --- packets ---------------------------------------------------------- */

static uint32_t flow_create(struct ctf_flow_table *t, const struct flow_key *k,
			    uint32_t hash, bool src_is_lo)
{
	uint32_t idx, pos;
	struct flow *f;

	if (t->count >= t->cfg.max_flows)
		evict(t);
	if ((t->count + 1) * 2 > t->mask + 1)
		index_grow(t);
	idx = slab_alloc(t);
	f = flow_at(t, idx);
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->state = F_LIVE | (src_is_lo ? F_INIT_IS_LO : 0);
	f->flow_id = ++t->stats.flows_created;
	f->last_us = t->now_us;
	f->last_seq = t->stats.packets;
	pos = index_find(t, k, hash);
	t->slots[pos].hash = hash;
	t->slots[pos].idx1 = idx + 1;
	ctf_flow_age_file(t, idx, age_of(t, t->now_us));
	t->count++;
	t->stats.flows_active = t->count;
	if (t->count > t->stats.flows_peak)
		t->stats.flows_peak = t->count;
	return idx;
}

/* A FIN or RST: FIN both ways, or RST, close the connection. */
static void tcp_track(struct ctf_flow_table *t, uint32_t idx, int dir, uint16_t flags,
		      uint64_t now)
{
	struct flow *f = flow_at(t, idx);

	if (flags & CTF_TCP_FIN)
		f->state |= dir ? F_FIN_REV : F_FIN_FWD;
	if ((flags & CTF_TCP_RST) || (f->state & (F_FIN_FWD | F_FIN_REV)) == (F_FIN_FWD | F_FIN_REV)) {
		ctf_flow_age_unlink(t, idx);
		f->state |= F_CLOSING;
		f->close_us = now;
		ctf_flow_queue_push(t, &t->closing, idx);
		t->due_us = MIN(t->due_us, now + MIN(t->cfg.close_linger_us,
						     t->cfg.idle_timeout_us));
	}
}

/* The direction offsets (struct flow) are 32-bit ms: a record lasting
 * 49.7 days (possible only with such an active timeout) is split first. */
#define MAX_RECORD_SPAN_US (((uint64_t)UINT32_MAX - 1) * 1000)

/* Count @pkt in flow @idx: inlined, every packet comes through here. */
G_ALWAYS_INLINE static inline void account(struct ctf_flow_table *t, uint32_t idx,
					   const struct ctf_packet *pkt, bool src_is_lo,
					   uint64_t now)
{
	struct flow *f = flow_at(t, idx);
	int dir = src_is_lo == !!(f->state & F_INIT_IS_LO) ? 0 : 1;
	uint16_t tcp_flags;

	/* A record is exported before a 32-bit packet counter or a direction's
	 * time offset could wrap. */
	if (!record_empty(f) &&
	    (f->packets[dir] == UINT32_MAX || now - f->first_us >= MAX_RECORD_SPAN_US))
		emit_record(t, f, CTF_END_ACTIVE);
	if (record_empty(f)) {
		f->first_us = now;
		f->state = (f->state & ~(F_FIRST_REV | F_LAST_REV)) |
			   (dir ? F_FIRST_REV | F_LAST_REV : 0);
		if (is_icmp(pkt->family, pkt->proto) && pkt->has_ports && f->icmp_type_code == 0)
			f->icmp_type_code = (uint16_t)(pkt->icmp_type << 8 | pkt->icmp_code);
	} else {
		/* All ones when the other side sent the last packet, whose
		 * time is then kept: a select, not a branch, as which side
		 * sends next is a coin toss for the branch predictor. */
		uint32_t turn = -(uint32_t)(dir ^ !!(f->state & F_LAST_REV));
		uint32_t other_last = (uint32_t)(f->last_us / 1000 - f->first_us / 1000);

		if (f->packets[dir] == 0)
			f->other_first_ms = (uint32_t)(now / 1000 - f->first_us / 1000);
		f->other_last_ms = (other_last & turn) | (f->other_last_ms & ~turn);
		f->state ^= (uint8_t)(F_LAST_REV & turn);
	}
	/* the initiator's first packet: one rare test, where "dir == 0 &&"
	 * would be a coin toss for the branch predictor */
	if ((dir | f->packets[0]) == 0)
		f->tos = pkt->tos;
	f->last_us = now;
	f->last_seq = t->stats.packets;
	f->packets[dir]++;
	f->octets[dir] += pkt->ip_len;
	/* a TCP header's flags, else none: without a branch on the protocol.
	 * A lingering flow's closing ACKs count in its flags as well. */
	tcp_flags = pkt->tcp_flags & -(uint16_t)((pkt->proto == 6) & pkt->has_ports);
	f->tcp_flags[dir] |= tcp_flags;
	if (f->state & F_CLOSING)
		return;		/* lingering: stays in close-time order */
	age_touch(t, idx, now);
	if (G_UNLIKELY(tcp_flags & (CTF_TCP_FIN | CTF_TCP_RST)))
		tcp_track(t, idx, dir, tcp_flags, now);
}

static bool is_new_syn(const struct ctf_packet *pkt)
{
	return pkt->proto == 6 && (pkt->tcp_flags & (CTF_TCP_SYN | CTF_TCP_ACK)) == CTF_TCP_SYN;
}

/* Inlined into the batch loop: it runs for every packet. */
G_ALWAYS_INLINE static inline void add_keyed(struct ctf_flow_table *t,
					     const struct ctf_packet *pkt,
					     const struct flow_key *k, uint32_t hash,
					     uint32_t hint, bool src_is_lo)
{
	uint32_t pos, idx;

	if (pkt->ts_us > t->now_us)
		t->now_us = pkt->ts_us;
	if (t->now_us >= t->due_us)
		expire(t, t->now_us);
	t->stats.packets++;
	pos = index_find_hinted(t, k, hash, hint);
	if (t->slots[pos].idx1) {
		struct flow *f;
		bool ended;

		idx = t->slots[pos].idx1 - 1;
		f = flow_at(t, idx);
		/* Timeouts that fell due since its last packet, or a new SYN
		 * on a connection that has closed: either starts a new flow. */
		ended = settle_may_act(t, f, t->now_us) && settle(t, f, t->now_us);
		if (!ended && (f->state & F_CLOSING) && is_new_syn(pkt)) {
			emit_record(t, f, CTF_END_EOF);
			ended = true;
		}
		if (ended) {
			flow_release(t, idx);
			idx = flow_create(t, k, hash, src_is_lo);
		}
	} else {
		idx = flow_create(t, k, hash, src_is_lo);
	}
	account(t, idx, pkt, src_is_lo, t->now_us);
}

void ctf_flow_table_add_packet(struct ctf_flow_table *t, const struct ctf_packet *pkt)
{
	struct flow_key k;
	uint32_t hash;
	bool src_is_lo = key_from_packet(pkt, &k, &hash);

	add_keyed(t, pkt, &k, hash, hash, src_is_lo);	/* hint: the home slot */
}

/*
 * The table is far larger than the caches, so each packet costs two
 * memory round trips (its index slot, then its flow). They are issued
 * for a group of packets at a time, in three passes: every packet of the
 * group has its key hashed and its slot prefetched, then its slot run
 * probed (only the hashes) and the flow found there prefetched, then it
 * is counted, trying first the slot found for it then. While one packet's
 * memory is on its way the others' work goes on. Prefetches and that slot
 * are only hints: a packet whose flow is not there (a flow created or
 * moved by an earlier packet of the group) does the full lookup.
 */
#define GROUP 32

struct lookahead {
	struct flow_key key;
	uint32_t hash;
	uint32_t slot;		/* where index_probe() ended */
	bool src_is_lo;
};

G_ALWAYS_INLINE static inline void stage_key(struct ctf_flow_table *t,
					     const struct ctf_packet *pkt, struct lookahead *a)
{
	a->src_is_lo = key_from_packet(pkt, &a->key, &a->hash);
	__builtin_prefetch(&t->slots[a->hash & t->mask]);
}

G_ALWAYS_INLINE static inline void stage_flow(struct ctf_flow_table *t, struct lookahead *a)
{
	uint32_t idx1;

	a->slot = index_probe(t, a->hash);
	idx1 = t->slots[a->slot].idx1;
	if (idx1)
		prefetch_flow_write(t, idx1 - 1);
}

void ctf_flow_table_add_packets(struct ctf_flow_table *t, const struct ctf_packet *pkts,
				size_t n)
{
	struct lookahead la[GROUP];

	for (size_t base = 0; base < n; base += GROUP) {
		const struct ctf_packet *p = pkts + base;
		size_t m = MIN((size_t)GROUP, n - base);

		for (size_t i = 0; i < m; i++)
			stage_key(t, &p[i], &la[i]);
		for (size_t i = 0; i < m; i++)
			stage_flow(t, &la[i]);
		for (size_t i = 0; i < m; i++)
			add_keyed(t, &p[i], &la[i].key, la[i].hash, la[i].slot, la[i].src_is_lo);
	}
}

void ctf_flow_table_advance(struct ctf_flow_table *t, uint64_t now_us)
{
	if (now_us > t->now_us)
		t->now_us = now_us;
	expire(t, t->now_us);
}

static void lists_reset(struct ctf_flow_table *t)
{
	ctf_flow_age_reset(t);
	ctf_flow_queue_clear(&t->closing);
	t->due_us = UINT64_MAX;
}

static void table_reset(struct ctf_flow_table *t)
{
	slab_free(t);
	table_free(t->slots, ((size_t)t->mask + 1) * sizeof(struct slot));
	t->mask = 1023;
	t->slots = table_alloc0((t->mask + 1) * sizeof(struct slot));
	t->count = 0;
	t->stats.flows_active = 0;
	lists_reset(t);
}

/* Every flow leaves, so nothing needs unlinking: walk the slab in memory
 * order (fast on a table larger than the caches) and start afresh. */
void ctf_flow_table_flush(struct ctf_flow_table *t, enum ctf_end_reason reason)
{
	for (uint32_t i = 0; i < t->n_alloc; i++) {
		struct flow *f = flow_at(t, i);

		if (!(f->state & F_LIVE))
			continue;
		if (!settle(t, f, t->now_us))
			emit_record(t, f, (f->state & F_CLOSING) ? CTF_END_EOF : reason);
	}
	table_reset(t);
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
	t->slots = table_alloc0((t->mask + 1) * sizeof(struct slot));
	ctf_flow_age_init(t);
	lists_reset(t);
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
	slab_free(t);
	table_free(t->slots, ((size_t)t->mask + 1) * sizeof(struct slot));
	ctf_flow_age_free(t);
	ctf_flow_queue_clear(&t->closing);
	g_free(t);
}
