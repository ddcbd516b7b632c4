/*
 * The enrichment thread: between the live engine and the export thread.
 *
 * Receives the entries of new flows (looked up at once: which process
 * owns the local socket, before a short-lived program exits; during a
 * burst of more than 5,000 new flows a second, within 2 ms) and the
 * records; fills each record's interfaces (sampled packets, then routes)
 * and owner (pid, name, executable, user, container, TCP RTT) and passes
 * it on. Owns the process enricher and one interface enricher per
 * namespace. A lookup that misses leaves the fields empty and is counted;
 * nothing here can stall the netlink reader, which only queues.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/export-thread.h"
#include "ctflow/record-sink.h"

struct ctf_enrich_config {
	bool process;			/* owner lookup (default on) */
	bool interfaces;		/* interface lookup (default on) */
	bool sampling;			/* packet sampling for interfaces (default on) */
	char **netns;			/* as the engine's; NULL/empty = current */
	char **capture_interfaces;	/* sample on these only; NULL = all */
	unsigned sample_every;		/* 1-in-N (default 64) */
	unsigned snaplen;		/* default 128 */
};

struct ctf_enrich_stats {
	uint64_t flows_new;		/* entries looked up */
	uint64_t proc_hits;		/* owner found */
	uint64_t proc_not_local;	/* no local socket: forwarded, or not TCP/UDP */
	uint64_t proc_misses;		/* local, owner not found */
	uint64_t records;		/* records passed on */
	uint64_t records_with_proc;
	uint64_t records_with_ifs;	/* ingress or egress known */
};

struct ctf_enrich_thread;
typedef struct ctf_enrich_thread ctf_enrich_thread;

void ctf_enrich_config_init(struct ctf_enrich_config *cfg);

/* Opens the enrichers and starts the thread; @out is not owned. NULL
 * with an error naming what could not be opened. */
struct ctf_enrich_thread *ctf_enrich_thread_new(const struct ctf_enrich_config *cfg,
						struct ctf_export_thread *out, GError **error);

/* The same without starting the thread (items handed over wait in the
 * queue): for a switch of user after the enrichers are open and before
 * threads run (privdrop.h). Also opens the process enricher's sockets in
 * every named namespace now instead of at the first lookup. */
struct ctf_enrich_thread *ctf_enrich_thread_new_paused(const struct ctf_enrich_config *cfg,
						       struct ctf_export_thread *out,
						       GError **error);

/* Start a paused thread (no-op when running or finished). What was
 * handed to a thread that never started is dropped by _free(). */
void ctf_enrich_thread_start(struct ctf_enrich_thread *th);

struct ctf_record_sink ctf_enrich_thread_sink(struct ctf_enrich_thread *th);

/* Wait until everything handed over so far has been passed on. */
void ctf_enrich_thread_sync(struct ctf_enrich_thread *th);

/* SIGHUP: pass on to @out from now on. When this returns the thread no
 * longer uses the previous output, which may then be finished. */
void ctf_enrich_thread_set_output(struct ctf_enrich_thread *th, struct ctf_export_thread *out);

/* Pass on everything queued and stop the thread (before finishing the
 * export thread). */
void ctf_enrich_thread_finish(struct ctf_enrich_thread *th);

/* Snapshot; safe from any thread after finish, approximate before. */
void ctf_enrich_thread_get_stats(struct ctf_enrich_thread *th, struct ctf_enrich_stats *ret);

/* Which enrichers the thread was started with. */
void ctf_enrich_thread_enrichers(const struct ctf_enrich_thread *th, bool *ret_process,
				 bool *ret_interfaces);

/* Items (new flows and records) handed over and not yet passed on; on
 * the engine's thread, like the sink. */
uint64_t ctf_enrich_thread_pending(struct ctf_enrich_thread *th);

void ctf_enrich_thread_free(struct ctf_enrich_thread *th);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_enrich_thread, ctf_enrich_thread_free)
