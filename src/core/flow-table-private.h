/*
 * Internals of the offline flow table, shared by its files: the layout of
 * a flow and of the table, and the queues and age buckets that keep the
 * LRU and close orders (flow-table-age.c). Only src/core/flow-table*.c
 * include this; everything else uses include/ctflow/flow-table.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ctflow/flow-table.h"

#define NIL UINT32_MAX
#define HUGE_PAGE (2u << 20)
#define CHUNK_FLOWS (HUGE_PAGE / sizeof(struct flow))

/* Canonical, direction-free key: the (address, port) pair that sorts
 * lower is side "lo". For ICMP queries both ports hold the identifier and
 * icmp_class the request type; other ICMP messages use type << 8 | code.
 * 44 bytes, no padding, so memcmp() compares it. */
struct flow_key {
	struct ctf_addr lo_addr;
	struct ctf_addr hi_addr;
	uint16_t lo_port;
	uint16_t hi_port;
	uint16_t vlan_outer;
	uint16_t vlan_inner;
	uint16_t icmp_class;
	uint8_t family;
	uint8_t proto;
};
_Static_assert(sizeof(struct flow_key) == 44, "flow_key must have no padding");

enum flow_state_bits {
	F_INIT_IS_LO = 1 << 0,	/* the initiator is side lo */
	F_FIN_FWD = 1 << 1,	/* FIN seen from the initiator */
	F_FIN_REV = 1 << 2,	/* FIN seen from the responder */
	F_CLOSING = 1 << 3,	/* FIN both ways or RST: lingering */
	F_LIVE = 1 << 4,	/* in use (not on the free list) */
	F_FIRST_REV = 1 << 5,	/* the record's first packet was the responder's */
	F_LAST_REV = 1 << 6,	/* the record's last packet was the responder's */
};

/* Two cache lines: the first holds the key and the times every packet
 * reads. */
struct flow {
	struct flow_key key;
	uint16_t tcp_flags[2];	/* [0] initiator, [1] responder */
	uint64_t last_us;	/* last packet */
	uint64_t first_us;	/* first packet of the current record */
	uint64_t octets[2];	/* [0] initiator -> responder, [1] reply */
	uint32_t packets[2];	/* a record is split before these could wrap */
	uint64_t close_us;	/* when F_CLOSING was set */
	uint64_t flow_id : 48;	/* 2.8e14 flows before it would wrap */
	uint64_t icmp_type_code : 16;
	uint64_t last_seq;	/* packet number of the last packet: LRU order */
	uint32_t pos;		/* in its age bucket's queue, or the closing queue
				 * once closing; the free list's link when free */
	/* The record's times per direction (for uniflow records), in ms after
	 * its first packet's ms: the first packet of the direction that did
	 * not send the record's first packet (F_FIRST_REV tells which did),
	 * and the last packet of the direction that did not send the latest
	 * one (F_LAST_REV). A record is split before these could wrap. */
	uint32_t other_first_ms;
	uint32_t other_last_ms;
	uint8_t tos;
	uint8_t state;
	uint8_t age;		/* ring position of its age bucket */
	uint8_t pad[1];
};
_Static_assert(sizeof(struct flow) == 128, "a flow is two cache lines");

/* Flow indices in an order; a flow that leaves from the middle leaves a
 * hole (NIL) behind, so no other flow is touched. Holes are squeezed out
 * when the array would grow. */
struct queue {
	uint32_t *idx;
	uint32_t head;		/* first live entry (when count > 0) */
	uint32_t len;		/* entries in use, live or holes */
	uint32_t cap;
	uint32_t count;		/* live entries */
};

/* Open flows whose last packet, when they were filed here, fell in one
 * bucket-width of time (flow-table-age.c). */
struct age_bucket {
	struct queue q;
	bool sorted;		/* q is in exact LRU order */
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
	uint64_t due_us;	/* expire() has nothing to do before this */

	struct flow *flows;	/* the slab: reserved for max_flows */
	uint32_t n_chunks;	/* usable: n_chunks * CHUNK_FLOWS */
	uint32_t n_alloc;	/* flows ever handed out of the slab */
	uint32_t free_head;	/* free list through pos */

	struct slot *slots;
	uint32_t mask;		/* slots - 1 */
	uint32_t count;

	struct age_bucket *ages;	/* ring of age buckets */
	uint32_t age_mask;	/* ring size - 1 */
	unsigned int age_shift;	/* a bucket is 2^age_shift us wide */
	uint64_t age_head;	/* oldest bucket that may hold flows */
	uint32_t n_open;	/* flows in the age buckets */
	struct queue closing;	/* closed TCP flows, in order of close time */

	struct ctf_flow_table_stats stats;
};

static inline struct flow *flow_at(struct ctf_flow_table *t, uint32_t idx)
{
	return &t->flows[idx];
}

/* --- queues (flow-table-age.c) --------------------------------------- */

void ctf_flow_queue_push(struct ctf_flow_table *t, struct queue *q, uint32_t idx);

/* Take flow @idx out, leaving a hole. */
void ctf_flow_queue_remove(struct ctf_flow_table *t, struct queue *q, uint32_t idx);

void ctf_flow_queue_clear(struct queue *q);

/* The first flow, NIL when empty. */
static inline uint32_t queue_first(const struct queue *q)
{
	return q->count > 0 ? q->idx[q->head] : NIL;
}

/* --- age buckets (flow-table-age.c) ----------------------------------- */

static inline uint64_t age_of(const struct ctf_flow_table *t, uint64_t us)
{
	return us >> t->age_shift;
}

static inline struct age_bucket *age_bucket(struct ctf_flow_table *t, uint64_t age)
{
	return &t->ages[age & t->age_mask];
}

/* Sizes the ring for the idle timeout; ctf_flow_age_reset() empties it. */
void ctf_flow_age_init(struct ctf_flow_table *t);
void ctf_flow_age_reset(struct ctf_flow_table *t);
void ctf_flow_age_free(struct ctf_flow_table *t);

/* File a new open flow in bucket @age (that of its last packet). */
void ctf_flow_age_file(struct ctf_flow_table *t, uint32_t idx, uint64_t age);

/* Take an open flow out (it closes or leaves the table). */
void ctf_flow_age_unlink(struct ctf_flow_table *t, uint32_t idx);

/* Refile an open flow in the newer bucket @age (or at the tail of its own). */
void ctf_flow_age_move(struct ctf_flow_table *t, uint32_t idx, uint64_t age);

/* The least recently active open flow if it was filed at or before bucket
 * @limit (UINT64_MAX: any), else NIL. */
uint32_t ctf_flow_age_oldest(struct ctf_flow_table *t, uint64_t limit);

/* A packet to an open flow: only in the sorted bucket does its place move
 * (to the tail of the order, the bucket of @now). */
static inline void age_touch(struct ctf_flow_table *t, uint32_t idx, uint64_t now)
{
	if (t->ages[flow_at(t, idx)->age].sorted)
		ctf_flow_age_move(t, idx, age_of(t, now));
}
