/*
 * Queues of flows, and the age buckets made of them: the exact LRU order
 * of the flow table's open flows (and the close order of its closing
 * ones), kept lazily. The table is in flow-table.c, its layout in
 * flow-table-private.h.
 *
 * Exact LRU order is the order of the flows' last packets (last_seq; by
 * time, last_us follows it). A list moved on every packet would cost each
 * packet two more cache misses (its neighbours), so instead:
 *  - an open flow is filed in the bucket of its last_us (buckets are
 *    2^age_shift us wide, at most idle/16, in a ring) and stays there when
 *    more packets come: a packet only stamps last_us and last_seq;
 *  - only the oldest bucket is ever needed in order (for idle expiry and
 *    eviction). It is then sorted once: flows stamped since they were
 *    filed move on to their newer bucket, the rest are put in exact
 *    order. While it stays sorted, a packet to one of its flows moves that
 *    flow to the bucket of its new time (the tail of the order).
 * Each flow is sorted about once per idle period instead of moved per
 * packet, and the records and their order are those of an eager LRU list.
 *
 * A queue is an array of flow indices, and a flow knows its position: it
 * leaves by leaving a hole, without touching another flow, and a sort
 * scans the array with the flows prefetched ahead instead of chasing
 * links from one cold flow to the next.
 */
#include <stdlib.h>

#include "flow-table-private.h"

#define QUEUE_MIN 64		/* entries of a first array */
#define QUEUE_KEEP 4096		/* larger arrays are given back once empty */
#define SCAN_AHEAD 8		/* flows prefetched ahead of a scan */

/* --- queues ---------------------------------------------------------- */

static void prefetch_flow(struct ctf_flow_table *t, uint32_t idx)
{
	if (idx != NIL) {
		__builtin_prefetch(flow_at(t, idx), 1);
		__builtin_prefetch((char *)flow_at(t, idx) + 64, 1);
	}
}

/* Close the holes: live entries move to the front, in order. */
static void queue_squeeze(struct ctf_flow_table *t, struct queue *q)
{
	uint32_t n = 0;

	for (uint32_t k = q->head; k < q->len; k++) {
		uint32_t i = q->idx[k];

		if (k + SCAN_AHEAD < q->len)
			prefetch_flow(t, q->idx[k + SCAN_AHEAD]);
		if (i == NIL)
			continue;
		q->idx[n] = i;
		flow_at(t, i)->pos = n++;
	}
	q->head = 0;
	q->len = n;
}

/* Nothing live is left: start over, and give a large array back. */
static void queue_empty(struct queue *q)
{
	q->head = q->len = 0;
	if (q->cap > QUEUE_KEEP) {
		g_clear_pointer(&q->idx, g_free);
		q->cap = 0;
	}
}

void ctf_flow_queue_push(struct ctf_flow_table *t, struct queue *q, uint32_t idx)
{
	if (q->len == q->cap) {
		/* holes are at least half of it: squeezing is as cheap as
		 * growing, and keeps the array within twice the live flows */
		if (q->cap > 0 && q->count <= q->len / 2) {
			queue_squeeze(t, q);
		} else {
			q->cap = MAX(QUEUE_MIN, q->cap * 2);
			q->idx = g_renew(uint32_t, q->idx, q->cap);
		}
	}
	flow_at(t, idx)->pos = q->len;
	q->idx[q->len++] = idx;
	q->count++;
}

void ctf_flow_queue_remove(struct ctf_flow_table *t, struct queue *q, uint32_t idx)
{
	uint32_t pos = flow_at(t, idx)->pos;

	q->idx[pos] = NIL;
	if (--q->count == 0) {
		queue_empty(q);
		return;
	}
	if (pos == q->head)
		while (q->idx[q->head] == NIL)
			q->head++;
}

void ctf_flow_queue_clear(struct queue *q)
{
	g_free(q->idx);
	*q = (struct queue){ 0 };
}

/* --- age buckets ----------------------------------------------------- */

/* Buckets at most idle/16 wide: a ring of 64 covers every open flow. */
void ctf_flow_age_init(struct ctf_flow_table *t)
{
	uint64_t width = t->cfg.idle_timeout_us / 16;
	uint32_t ring = 1;

	t->age_shift = 0;
	while ((2ull << t->age_shift) <= width)
		t->age_shift++;
	/* open flows span the buckets from now - idle to now */
	while (ring < (t->cfg.idle_timeout_us >> t->age_shift) + 3)
		ring *= 2;
	g_assert(ring <= 256);	/* struct flow keeps the position in a byte */
	t->ages = g_new0(struct age_bucket, ring);
	t->age_mask = ring - 1;
	ctf_flow_age_reset(t);
}

void ctf_flow_age_reset(struct ctf_flow_table *t)
{
	for (uint32_t i = 0; i <= t->age_mask; i++) {
		ctf_flow_queue_clear(&t->ages[i].q);
		t->ages[i].sorted = false;
	}
	t->n_open = 0;
	t->age_head = 0;
}

void ctf_flow_age_free(struct ctf_flow_table *t)
{
	if (!t->ages)
		return;
	ctf_flow_age_reset(t);
	g_clear_pointer(&t->ages, g_free);
}

void ctf_flow_age_file(struct ctf_flow_table *t, uint32_t idx, uint64_t age)
{
	if (t->n_open == 0 || age < t->age_head) {
		t->age_head = age;
		/* its flows can be idle from then on */
		t->due_us = MIN(t->due_us, (age << t->age_shift) + t->cfg.idle_timeout_us);
	}
	ctf_flow_queue_push(t, &age_bucket(t, age)->q, idx);
	flow_at(t, idx)->age = (uint8_t)(age & t->age_mask);
	t->n_open++;
}

static void age_leave(struct ctf_flow_table *t, struct age_bucket *b, uint32_t idx)
{
	ctf_flow_queue_remove(t, &b->q, idx);
	if (b->q.count == 0)
		b->sorted = false;
}

void ctf_flow_age_unlink(struct ctf_flow_table *t, uint32_t idx)
{
	age_leave(t, &t->ages[flow_at(t, idx)->age], idx);
	t->n_open--;
}

void ctf_flow_age_move(struct ctf_flow_table *t, uint32_t idx, uint64_t age)
{
	struct flow *f = flow_at(t, idx);

	age_leave(t, &t->ages[f->age], idx);
	ctf_flow_queue_push(t, &age_bucket(t, age)->q, idx);
	f->age = (uint8_t)(age & t->age_mask);
}

struct age_rank {
	uint64_t last_us;
	uint64_t last_seq;
	uint32_t idx;
};

static int age_rank_cmp(const void *a, const void *b)
{
	const struct age_rank *x = a, *y = b;

	if (x->last_us != y->last_us)
		return x->last_us < y->last_us ? -1 : 1;
	return x->last_seq < y->last_seq ? -1 : x->last_seq > y->last_seq;
}

/* Put bucket @age in exact LRU order; flows stamped since they were filed
 * move on to the bucket of their last packet. */
static void age_sort(struct ctf_flow_table *t, uint64_t age)
{
	struct queue *q = &age_bucket(t, age)->q;
	struct age_rank *r = g_new(struct age_rank, q->count);
	uint32_t n = 0;

	for (uint32_t k = q->head; k < q->len; k++) {
		uint32_t i = q->idx[k];
		struct flow *f;

		if (k + SCAN_AHEAD < q->len)
			prefetch_flow(t, q->idx[k + SCAN_AHEAD]);
		if (i == NIL)
			continue;
		f = flow_at(t, i);
		if (age_of(t, f->last_us) != age) {
			/* this array is rebuilt below: only the new one changes */
			ctf_flow_queue_push(t, &age_bucket(t, age_of(t, f->last_us))->q, i);
			f->age = (uint8_t)(age_of(t, f->last_us) & t->age_mask);
		} else {
			r[n++] = (struct age_rank){ f->last_us, f->last_seq, i };
		}
	}
	qsort(r, n, sizeof(*r), age_rank_cmp);
	for (uint32_t k = 0; k < n; k++) {
		if (k + SCAN_AHEAD < n)
			__builtin_prefetch((char *)flow_at(t, r[k + SCAN_AHEAD].idx) + 64, 1);
		q->idx[k] = r[k].idx;
		flow_at(t, r[k].idx)->pos = k;
	}
	q->head = 0;
	q->len = q->count = n;
	if (n == 0)
		queue_empty(q);
	age_bucket(t, age)->sorted = n > 0;
	g_free(r);
}

uint32_t ctf_flow_age_oldest(struct ctf_flow_table *t, uint64_t limit)
{
	while (t->n_open > 0 && t->age_head <= limit) {
		struct age_bucket *b = age_bucket(t, t->age_head);

		if (b->q.count > 0 && !b->sorted)
			age_sort(t, t->age_head);
		if (b->q.count > 0)
			return queue_first(&b->q);
		t->age_head++;
	}
	return NIL;
}
