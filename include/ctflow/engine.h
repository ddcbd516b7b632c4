/*
 * The live engine: conntrack sources (one per network namespace) -> live
 * flow table -> export thread.
 *
 * Runs on a GMainContext: one fd watch per source drains the event socket
 * without ever waiting on export; a timer dumps every namespace once per
 * active-timeout interval for interim records; an ENOBUFS is answered at
 * once by a dump that reconciles the table. Owns the sources and the
 * table; does not own the export thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/ct-entry.h"
#include "ctflow/ct-source.h"
#include "ctflow/record-sink.h"

/* Decides whether an entry is reported at all (user filters, ctflow's own
 * export traffic). Return true to keep. */
typedef bool (*ctf_engine_filter_fn)(const struct ctf_ct_entry *e, void *userdata);

/* Installs what of that filter the kernel can apply on an event socket. */
typedef gboolean (*ctf_engine_kernel_filter_fn)(void *userdata, int fd, GError **error);

struct ctf_engine_config {
	char **netns;			/* names or paths; NULL/empty = current namespace */
	size_t rcvbuf;			/* per event socket, default 64 MiB */
	bool reliable;			/* NETLINK_BROADCAST_ERROR + NO_ENOBUFS */
	unsigned active_timeout_s;	/* interim dump interval, default 60 */
	size_t max_flows;		/* default 1,000,000 */
	ctf_engine_filter_fn filter;	/* may be NULL */
	ctf_engine_kernel_filter_fn kernel_filter;	/* may be NULL */
	void *filter_data;
};

struct ctf_engine_stats {
	uint64_t events[5];		/* by enum ctf_ct_msg (summed over sources) */
	uint64_t filtered;		/* entries the filter dropped */
	uint64_t enobufs;		/* overruns */
	uint64_t resyncs;		/* dumps answering an overrun */
	uint64_t dumps;			/* all dumps */
	uint64_t dump_entries;
	uint64_t read_errors;
	uint64_t records;
	uint64_t flows_active;
	uint64_t flows_vanished;
	uint64_t flows_untracked;
};

struct ctf_engine;
typedef struct ctf_engine ctf_engine;

void ctf_engine_config_init(struct ctf_engine_config *cfg);

/**
 * ctf_engine_new - open every namespace's sockets and dump their tables
 * @out: where records go (copied; its object must outlive the engine)
 *
 * Flows that predate ctflow are adopted by the start-up dump. Returns NULL
 * with an error naming the namespace on failure.
 */
struct ctf_engine *ctf_engine_new(const struct ctf_engine_config *cfg,
				  const struct ctf_record_sink *out, GError **error);

/* Start reading and the interim timer on @ctx (NULL = default context). */
void ctf_engine_attach(struct ctf_engine *e, GMainContext *ctx);

/* Final dump: every tracked flow is exported with its last counters and
 * flowEndReason 4; then stop reading. */
void ctf_engine_shutdown(struct ctf_engine *e);

/* SIGHUP: new output (not owned), filter and interval take effect for the
 * next event; records already handed to the old output stay there. */
void ctf_engine_reconfigure(struct ctf_engine *e, const struct ctf_record_sink *out,
			    ctf_engine_filter_fn filter, ctf_engine_kernel_filter_fn kernel_filter,
			    void *filter_data, unsigned active_timeout_s);

void ctf_engine_get_stats(const struct ctf_engine *e, struct ctf_engine_stats *ret);

/* Namespaces read, as "name (inode)" strings, for logs. */
size_t ctf_engine_n_sources(const struct ctf_engine *e);
const char *ctf_engine_source_name(const struct ctf_engine *e, size_t i);

/* Namespace @i as configured ("host" for the current one), for metric
 * labels, and the counters of its sockets. */
const char *ctf_engine_source_netns(const struct ctf_engine *e, size_t i);
void ctf_engine_source_stats(const struct ctf_engine *e, size_t i,
			     struct ctf_ct_source_stats *ret);

/**
 * ctf_engine_is_reading - whether every source is being read
 *
 * FALSE before ctf_engine_attach(), after ctf_engine_shutdown(), and
 * while a source's last read failed with an error other than an overrun;
 * @reason (may be NULL) then gets why, naming the namespace.
 */
gboolean ctf_engine_is_reading(const struct ctf_engine *e, GString *reason);

/**
 * ctf_engine_add_netns - read one more namespace while running
 * @path: enters it (ctf_netns_enter(): a name under /run/netns or a path
 *        such as /proc/PID/fd/N); used during the call only. NULL: the
 *        current namespace
 * @label: names it in logs ("NAME (netns INODE)"); NULL: @path
 *
 * As at start: opens its sockets (kernel filter included), reads them
 * when the engine is attached, and adopts its flows with a dump. A
 * namespace already read (same inode) is left alone. Returns FALSE with
 * an error naming the namespace when it cannot be entered or read.
 */
gboolean ctf_engine_add_netns(struct ctf_engine *e, const char *path, const char *label,
			      GError **error);

/**
 * ctf_engine_remove_netns - stop reading the namespace of inode @netns
 *
 * As at shutdown for that namespace alone: drains its events, dumps its
 * table once more and exports every flow still tracked in it with its
 * last counters and flowEndReason 4; then closes its sockets, so that
 * the kernel can free the namespace. Returns the records this exported,
 * or -ENOENT when the namespace was not read.
 */
int ctf_engine_remove_netns(struct ctf_engine *e, uint32_t netns);

void ctf_engine_free(struct ctf_engine *e);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_engine, ctf_engine_free)
