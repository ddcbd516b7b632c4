/*
 * The export thread: owns a ctf_exporter and feeds it from a queue, so
 * that the conntrack reader never waits on a collector (a slow or dead TCP
 * collector, UDP pacing, a full disk).
 *
 * The producer side (ctf_export_thread_push/commit) is single-threaded:
 * records are batched locally and handed over per batch.
 */
#pragma once

#include <glib.h>

#include "ctflow/export.h"
#include "ctflow/record.h"
#include "ctflow/record-sink.h"

struct ctf_export_thread;
typedef struct ctf_export_thread ctf_export_thread;

/* Starts the thread; takes ownership of @ex. */
struct ctf_export_thread *ctf_export_thread_new(struct ctf_exporter *ex);

/* The same without starting the thread: records pushed meanwhile wait in
 * the queue. For a switch of user between opening the outputs and running
 * threads (a thread keeps the credentials it was created with; see
 * privdrop.h). */
struct ctf_export_thread *ctf_export_thread_new_paused(struct ctf_exporter *ex);

/* Start a paused thread (no-op when running or finished). Finishing a
 * thread that was never started starts it first. */
void ctf_export_thread_start(struct ctf_export_thread *th);

/* Copy @rec into the current batch (handed over when full). */
void ctf_export_thread_push(struct ctf_export_thread *th, const struct ctf_record *rec);

/* Hand over a partial batch now (call after each burst of events). */
void ctf_export_thread_commit(struct ctf_export_thread *th);

/* Hand a new interface-name table (GArray of struct ctf_if_name, a
 * reference is taken) to the exporter, after the records pushed so far.
 * Producer side, like push. */
void ctf_export_thread_set_interfaces(struct ctf_export_thread *th, GArray *names);

/* Hand a new namespace-name table (GArray of struct ctf_netns_name, a
 * reference is taken) to the exporter. Safe from any thread, unlike the
 * rest of the producer side: it does not touch the batch being filled, so
 * records pushed but not yet committed reach the exporter after it. */
void ctf_export_thread_set_netns(struct ctf_export_thread *th, GArray *names);

/* The thread as a record sink (records only). */
struct ctf_record_sink ctf_export_thread_sink(struct ctf_export_thread *th);

/**
 * ctf_export_thread_finish - drain, ctf_exporter_finish(), join
 *
 * Returns the exporter's verdict.
 */
gboolean ctf_export_thread_finish(struct ctf_export_thread *th, GError **error);

/* Outputs of the exporter and their counters, from any thread: a copy
 * the export thread refreshes after every batch and every 100 ms tick
 * (exact after finish). Output names are those of
 * ctf_exporter_output_name(). */
size_t ctf_export_thread_n_outputs(const struct ctf_export_thread *th);
const char *ctf_export_thread_output_name(const struct ctf_export_thread *th, size_t i);
void ctf_export_thread_output_stats(struct ctf_export_thread *th, size_t i,
				    struct ctf_export_stats *ret);

/* Records handed over and not yet given to the exporter; any thread. */
uint64_t ctf_export_thread_pending(const struct ctf_export_thread *th);

/* Frees (after finish, or stops the thread without flushing). NULL ok. */
void ctf_export_thread_free(struct ctf_export_thread *th);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_export_thread, ctf_export_thread_free)
