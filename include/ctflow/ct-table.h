/*
 * The live flow table: conntrack entries in, flow records out.
 *
 * Holds one flow per conntrack entry (keyed by namespace, zone, id and
 * original tuple) with the counters last reported, so that every record
 * carries deltas: interim records (flowEndReason 2) at each periodic dump,
 * and the final record at DESTROY with the kernel's start/stop times.
 * Dumps also adopt entries ctflow never saw an event for (they predate
 * ctflow, or their NEW was lost to ENOBUFS) and end flows that vanished
 * without a DESTROY. Single-threaded, never blocks; time is passed in.
 *
 * Rules (docs/live.md):
 *  - first record of a flow starts at the kernel's start timestamp;
 *  - DESTROY: reason 3 for TCP whose last state was FIN_WAIT..CLOSE
 *    (a FIN or RST was seen), else 1 (the entry timed out);
 *  - a DESTROY for an unknown entry is exported in full (its counters are
 *    cumulative), so an entry that was not tracked is never lost;
 *  - at max_flows new entries are not tracked (counted); they are still
 *    exported at DESTROY;
 *  - a dump that completed (not interrupted) ends tracked flows of its
 *    namespace that it did not contain: reason 5 after an ENOBUFS resync,
 *    otherwise as a DESTROY would (3 for TCP seen closing, else 1), with
 *    the counters last seen in a dump;
 *  - flowIds are the table's own (the kernel reuses conntrack ids for a
 *    new entry with the same tuple): unique, also across restarts. The caller drains the
 *    event socket between the dump and ctf_ct_table_dump_end() so that a
 *    DESTROY queued meanwhile wins.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/ct-entry.h"
#include "ctflow/record.h"

struct ctf_ct_table_config {
	size_t max_flows;	/* default 1,000,000 */
};

struct ctf_ct_table_stats {
	uint64_t flows_active;
	uint64_t flows_new;		/* from NEW events */
	uint64_t flows_adopted;		/* from dumps or UPDATEs without a NEW */
	uint64_t flows_untracked;	/* not tracked: max_flows reached */
	uint64_t destroys_unknown;	/* DESTROY for an entry not tracked */
	uint64_t flows_vanished;	/* ended by a dump without DESTROY */
	uint64_t records;
	uint64_t by_reason[6];
};

typedef void (*ctf_ct_emit_fn)(const struct ctf_record *rec, void *userdata);

struct ctf_ct_table;
typedef struct ctf_ct_table ctf_ct_table;

void ctf_ct_table_config_init(struct ctf_ct_table_config *cfg);

struct ctf_ct_table *ctf_ct_table_new(const struct ctf_ct_table_config *cfg,
				      ctf_ct_emit_fn emit, void *userdata);

/* An event (NEW, UPDATE, DESTROY) from namespace @netns at @now_ms. */
void ctf_ct_table_event(struct ctf_ct_table *t, uint32_t netns,
			const struct ctf_ct_entry *e, uint64_t now_ms);

/* What a dump entry does to its flow besides adopting it. */
enum ctf_ct_dump_mode {
	CTF_CT_DUMP_ADOPT,	/* start-up or resync: track, export nothing */
	CTF_CT_DUMP_INTERIM,	/* active timeout: export deltas, reason 2 */
	CTF_CT_DUMP_FINAL,	/* shutdown: take the counters (exported by
				 * ctf_ct_table_flush() with reason 4 once the
				 * DESTROYs the dump caused are applied); an
				 * entry a full table cannot adopt is exported
				 * at once */
};

/* A dump of namespace @netns: begin, every entry, end. @resync: the dump
 * answers an ENOBUFS; @complete: the kernel did not flag the dump as
 * interrupted (only then are missing flows ended). */
void ctf_ct_table_dump_begin(struct ctf_ct_table *t, uint32_t netns);
void ctf_ct_table_dump_entry(struct ctf_ct_table *t, uint32_t netns,
			     const struct ctf_ct_entry *e, enum ctf_ct_dump_mode mode,
			     uint64_t now_ms);
void ctf_ct_table_dump_end(struct ctf_ct_table *t, uint32_t netns, bool resync,
			   bool complete, uint64_t now_ms);

/* Export every tracked flow with @reason (shutdown: CTF_END_FORCED) and
 * forget them; @netns 0 = all namespaces. */
void ctf_ct_table_flush(struct ctf_ct_table *t, uint32_t netns, enum ctf_end_reason reason,
			uint64_t now_ms);

void ctf_ct_table_get_stats(const struct ctf_ct_table *t, struct ctf_ct_table_stats *ret);

void ctf_ct_table_free(struct ctf_ct_table *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_ct_table, ctf_ct_table_free)
