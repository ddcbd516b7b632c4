/*
 * The live flow table (rules in include/ctflow/ct-table.h).
 *
 * A GHashTable of conntrack entries, each with the counters already
 * reported. The table is bounded by the conntrack table itself (and by
 * max_flows), so one allocation per entry is acceptable here, unlike the
 * offline table. Every record leaves through the emit callback.
 */
#include <string.h>

#include "ctflow/ct-table.h"

/* TCP_CONNTRACK_* from linux/netfilter/nf_conntrack_tcp.h */
#define TCP_CT_FIN_WAIT 4
#define TCP_CT_CLOSE 8

struct ct_key {
	struct ctf_ct_tuple orig;
	uint32_t netns;
	uint32_t id;
	uint16_t zone;
	uint8_t family;
	uint8_t pad;
};
_Static_assert(sizeof(struct ct_key) == 56, "ct_key must have no padding");

struct ct_flow {
	struct ct_key key;
	struct ctf_ct_tuple reply;
	uint64_t rec_start_ms;		/* start of the record being built */
	uint64_t rep_packets[2];	/* counters already exported: [0] orig, [1] reply */
	uint64_t rep_bytes[2];
	uint64_t seen_packets[2];	/* counters last seen in a dump */
	uint64_t seen_bytes[2];
	uint64_t flow_id;		/* unique: the kernel reuses conntrack ids */
	uint32_t mark;
	uint32_t dump_gen;		/* last dump that saw it (or that it was born in) */
	uint8_t tcp_state;
	bool reported;			/* a record of this flow has left */
	bool start_known;		/* rec_start_ms is the kernel's start time */
	bool has_seen;			/* seen_* are valid */
};

struct ctf_ct_table {
	struct ctf_ct_table_config cfg;
	ctf_ct_emit_fn emit;
	void *userdata;
	GHashTable *flows;		/* struct ct_key* -> struct ct_flow* (key inside) */
	GHashTable *dump_gen;		/* netns -> generation of its running/last dump */
	uint32_t next_gen;
	uint64_t next_flow_id;
	struct ctf_ct_table_stats stats;
};

static guint ct_key_hash(gconstpointer p)
{
	const struct ct_key *k = p;
	guint h = k->id * 2654435761u ^ k->netns ^ ((guint)k->zone << 16);

	for (size_t i = 0; i < 16; i += 4) {
		uint32_t a;

		memcpy(&a, k->orig.src.b + i, 4);
		h = (h ^ a) * 16777619u;
	}
	return h ^ k->orig.sport ^ ((guint)k->orig.dport << 16);
}

static gboolean ct_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct ct_key)) == 0;
}

void ctf_ct_table_config_init(struct ctf_ct_table_config *cfg)
{
	cfg->max_flows = 1000000;
}

struct ctf_ct_table *ctf_ct_table_new(const struct ctf_ct_table_config *cfg,
				      ctf_ct_emit_fn emit, void *userdata)
{
	struct ctf_ct_table *t;

	if (!cfg || !emit || cfg->max_flows == 0)
		return NULL;
	t = g_new0(struct ctf_ct_table, 1);
	t->cfg = *cfg;
	t->emit = emit;
	t->userdata = userdata;
	t->flows = g_hash_table_new_full(ct_key_hash, ct_key_equal, NULL, g_free);
	t->dump_gen = g_hash_table_new(g_direct_hash, g_direct_equal);
	t->next_gen = 1;
	/* Seconds since the epoch in the high half: flowIds stay unique
	 * across restarts (unless ~4 billion flows start within a second). */
	t->next_flow_id = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC) << 32;
	return t;
}

static void key_from_entry(uint32_t netns, const struct ctf_ct_entry *e, struct ct_key *k)
{
	memset(k, 0, sizeof(*k));
	k->orig = e->orig;
	memset(k->orig.pad, 0, sizeof(k->orig.pad));
	k->netns = netns;
	k->id = e->id;
	k->zone = e->zone;
	k->family = e->family;
}

static bool is_icmp(uint8_t family, uint8_t proto)
{
	return proto == (family == 4 ? 1 : 58);
}

static uint32_t current_gen(struct ctf_ct_table *t, uint32_t netns)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(t->dump_gen, GUINT_TO_POINTER(netns)));
}

/* The record skeleton: identity, tuple, NAT; counters and times by caller. */
static void record_init(const struct ct_flow *f, struct ctf_record *r)
{
	const struct ctf_ct_tuple *o = &f->key.orig;

	memset(r, 0, sizeof(*r));
	r->flow_id = f->flow_id;
	r->ct_id = f->key.id;
	r->family = f->key.family;
	r->proto = o->proto;
	r->src = o->src;
	r->dst = o->dst;
	if (is_icmp(r->family, r->proto)) {
		r->icmp_type_code = (uint16_t)(o->icmp_type << 8 | o->icmp_code);
	} else {
		r->sport = o->sport;
		r->dport = o->dport;
	}
	r->ct_zone = f->key.zone;
	r->ct_mark = f->mark;
	r->netns_ino = f->key.netns;
	if (ctf_ct_tuples_are_nat(o, &f->reply)) {
		r->nat = true;
		r->post_src = f->reply.dst;
		r->post_dst = f->reply.src;
		r->post_sport = f->reply.dport;
		r->post_dport = f->reply.sport;
	}
}

/* NAT44 events per RFC 8158; IPv6 NAT (NAT66) has no natEvent code. */
static uint8_t nat_event(const struct ctf_record *r, bool create)
{
	if (!r->nat || r->family != 4)
		return CTF_NAT_NONE;
	return create ? CTF_NAT44_CREATE : CTF_NAT44_DELETE;
}

static void emit(struct ctf_ct_table *t, struct ctf_record *r)
{
	t->stats.records++;
	t->stats.by_reason[r->end_reason < 6 ? r->end_reason : 0]++;
	t->emit(r, t->userdata);
}

/* Export the deltas since the last record, ending at @end_ms. */
static void report(struct ctf_ct_table *t, struct ct_flow *f, const struct ctf_ct_entry *e,
		   uint8_t reason, uint64_t end_ms, bool last)
{
	struct ctf_record r;

	struct ctf_ct_entry seen;

	/* No entry at hand (vanished, shutdown): the counters last seen. */
	if (!e && f->has_seen) {
		memset(&seen, 0, sizeof(seen));
		seen.has_counters = true;
		seen.orig_packets = f->seen_packets[0];
		seen.orig_bytes = f->seen_bytes[0];
		seen.reply_packets = f->seen_packets[1];
		seen.reply_bytes = f->seen_bytes[1];
		e = &seen;
	}
	record_init(f, &r);
	r.start_ms = f->rec_start_ms;
	r.end_ms = end_ms > f->rec_start_ms ? end_ms : f->rec_start_ms;
	if (e && e->has_counters) {
		r.packets = e->orig_packets - MIN(e->orig_packets, f->rep_packets[0]);
		r.octets = e->orig_bytes - MIN(e->orig_bytes, f->rep_bytes[0]);
		r.rev_packets = e->reply_packets - MIN(e->reply_packets, f->rep_packets[1]);
		r.rev_octets = e->reply_bytes - MIN(e->reply_bytes, f->rep_bytes[1]);
		f->rep_packets[0] = e->orig_packets;
		f->rep_bytes[0] = e->orig_bytes;
		f->rep_packets[1] = e->reply_packets;
		f->rep_bytes[1] = e->reply_bytes;
	}
	r.end_reason = reason;
	if (last)
		r.nat_event = nat_event(&r, false);
	else if (!f->reported)
		r.nat_event = nat_event(&r, true);
	f->reported = true;
	f->rec_start_ms = r.end_ms;
	emit(t, &r);
}

static void flow_update(struct ct_flow *f, const struct ctf_ct_entry *e)
{
	if (e->has_counters) {
		f->seen_packets[0] = e->orig_packets;
		f->seen_bytes[0] = e->orig_bytes;
		f->seen_packets[1] = e->reply_packets;
		f->seen_bytes[1] = e->reply_bytes;
		f->has_seen = true;
	}
	f->reply = e->reply;
	f->mark = e->mark;
	if (e->has_tcp_state)
		f->tcp_state = e->tcp_state;
	if (!f->reported && !f->start_known && e->has_timestamp && e->start_ns) {
		f->rec_start_ms = e->start_ns / 1000000;
		f->start_known = true;
	}
}

static struct ct_flow *flow_adopt(struct ctf_ct_table *t, const struct ct_key *k,
				  const struct ctf_ct_entry *e, uint64_t now_ms)
{
	struct ct_flow *f;

	if (g_hash_table_size(t->flows) >= t->cfg.max_flows) {
		t->stats.flows_untracked++;
		return NULL;
	}
	f = g_new0(struct ct_flow, 1);
	f->key = *k;
	f->flow_id = ++t->next_flow_id;
	f->rec_start_ms = now_ms;
	f->dump_gen = current_gen(t, k->netns);
	flow_update(f, e);
	g_hash_table_insert(t->flows, &f->key, f);
	t->stats.flows_active = g_hash_table_size(t->flows);
	return f;
}

static uint8_t destroy_reason(const struct ct_flow *f)
{
	if (f->key.orig.proto == 6 && f->tcp_state >= TCP_CT_FIN_WAIT && f->tcp_state <= TCP_CT_CLOSE)
		return CTF_END_EOF;
	return CTF_END_IDLE;
}

/* An entry not tracked (a DESTROY never preceded by anything, or met at
 * shutdown while the table is full): its counters are cumulative, so one
 * record carries all of it. */
static void export_untracked(struct ctf_ct_table *t, const struct ct_key *k,
			     const struct ctf_ct_entry *e, uint8_t (*reason)(const struct ct_flow *),
			     uint64_t end_ms, uint64_t now_ms)
{
	struct ct_flow tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.key = *k;
	tmp.flow_id = ++t->next_flow_id;
	tmp.rec_start_ms = now_ms;
	flow_update(&tmp, e);
	report(t, &tmp, e, reason(&tmp), end_ms, true);
}

static uint8_t forced_reason(const struct ct_flow *f)
{
	return CTF_END_FORCED;
}

static void on_destroy(struct ctf_ct_table *t, const struct ct_key *k,
		       const struct ctf_ct_entry *e, uint64_t now_ms)
{
	struct ct_flow *f = g_hash_table_lookup(t->flows, k);
	uint64_t end_ms = e->has_timestamp && e->stop_ns ? e->stop_ns / 1000000 : now_ms;

	if (!f) {
		/* Never tracked: the counters are cumulative, export them all. */
		t->stats.destroys_unknown++;
		export_untracked(t, k, e, destroy_reason, end_ms, now_ms);
		return;
	}
	flow_update(f, e);
	report(t, f, e, destroy_reason(f), end_ms, true);
	g_hash_table_remove(t->flows, k);
	t->stats.flows_active = g_hash_table_size(t->flows);
}

void ctf_ct_table_event(struct ctf_ct_table *t, uint32_t netns,
			const struct ctf_ct_entry *e, uint64_t now_ms)
{
	struct ct_flow *f;
	struct ct_key k;

	key_from_entry(netns, e, &k);
	if (e->msg == CTF_CT_DESTROY) {
		on_destroy(t, &k, e, now_ms);
		return;
	}
	f = g_hash_table_lookup(t->flows, &k);
	if (f) {
		flow_update(f, e);
		return;
	}
	if (flow_adopt(t, &k, e, now_ms)) {
		if (e->msg == CTF_CT_NEW)
			t->stats.flows_new++;
		else
			t->stats.flows_adopted++;
	}
}

void ctf_ct_table_dump_begin(struct ctf_ct_table *t, uint32_t netns)
{
	uint32_t gen = t->next_gen++;

	if (t->next_gen == 0)
		t->next_gen = 1;
	g_hash_table_insert(t->dump_gen, GUINT_TO_POINTER(netns), GUINT_TO_POINTER(gen));
}

void ctf_ct_table_dump_entry(struct ctf_ct_table *t, uint32_t netns,
			     const struct ctf_ct_entry *e, enum ctf_ct_dump_mode mode,
			     uint64_t now_ms)
{
	struct ct_flow *f;
	struct ct_key k;

	key_from_entry(netns, e, &k);
	f = g_hash_table_lookup(t->flows, &k);
	if (!f) {
		f = flow_adopt(t, &k, e, now_ms);
		if (!f) {
			/* At shutdown a full table must not lose the entry. */
			if (mode == CTF_CT_DUMP_FINAL)
				export_untracked(t, &k, e, forced_reason, now_ms, now_ms);
			return;
		}
		t->stats.flows_adopted++;
	}
	flow_update(f, e);
	f->dump_gen = current_gen(t, netns);
	if (mode == CTF_CT_DUMP_FINAL) {
		/* Counters are kept (flow_update); the flow is exported by
		 * ctf_ct_table_flush() after the events this dump caused
		 * (the DESTROYs of entries it reaped) have been applied. */
	} else if (mode == CTF_CT_DUMP_INTERIM && e->has_counters &&
		   (e->orig_packets != f->rep_packets[0] || e->reply_packets != f->rep_packets[1])) {
		report(t, f, e, CTF_END_ACTIVE, now_ms, false);
	}
}

void ctf_ct_table_dump_end(struct ctf_ct_table *t, uint32_t netns, bool resync,
			   bool complete, uint64_t now_ms)
{
	uint32_t gen = current_gen(t, netns);
	GHashTableIter it;
	struct ct_flow *f;

	if (!complete)
		return;
	g_hash_table_iter_init(&it, t->flows);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&f)) {
		if (f->key.netns != netns || f->dump_gen == gen)
			continue;
		/* Gone without a DESTROY: end it with what we last knew. */
		t->stats.flows_vanished++;
		report(t, f, NULL, resync ? CTF_END_RESOURCES : destroy_reason(f), now_ms, true);
		g_hash_table_iter_remove(&it);
	}
	t->stats.flows_active = g_hash_table_size(t->flows);
}

void ctf_ct_table_flush(struct ctf_ct_table *t, uint32_t netns, enum ctf_end_reason reason,
			uint64_t now_ms)
{
	GHashTableIter it;
	struct ct_flow *f;

	g_hash_table_iter_init(&it, t->flows);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&f)) {
		if (netns && f->key.netns != netns)
			continue;
		report(t, f, NULL, (uint8_t)reason, now_ms, true);
		g_hash_table_iter_remove(&it);
	}
	t->stats.flows_active = g_hash_table_size(t->flows);
}

void ctf_ct_table_get_stats(const struct ctf_ct_table *t, struct ctf_ct_table_stats *ret)
{
	*ret = t->stats;
}

void ctf_ct_table_free(struct ctf_ct_table *t)
{
	if (!t)
		return;
	g_hash_table_destroy(t->flows);
	g_hash_table_destroy(t->dump_gen);
	g_free(t);
}
