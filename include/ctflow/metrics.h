/*
 * Metrics of the live probe: its counters in the Prometheus text
 * exposition format 0.0.4, served over HTTP on a local address
 * ([daemon] metrics = ADDR:PORT), and the health check that a container
 * runtime or `ctflow health` polls.
 *
 * The server lives on a GMainContext, the engine's: accepting, reading a
 * request and writing the answer are non-blocking socket sources, so a
 * slow or stalled client never holds the context up, and a scrape only
 * copies counters. Every client is bounded: 8 KiB of request, 5 s from
 * accept to the last byte written, 16 clients at once (more are closed
 * at once). It knows no counter itself: the caller's callbacks render
 * them with the writer functions below, and ctf_metrics_render_probe()
 * names the probe's.
 *
 * GET /metrics: 200, the exposition. GET /healthz: 200 "ok" or 503 with
 * the reason. Other paths 404, other methods 405 (HEAD is served like
 * GET, without the body). docs/operations.md lists every metric.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <gio/gio.h>
#include <glib.h>

#include "ctflow/engine.h"
#include "ctflow/enrich-thread.h"
#include "ctflow/export-thread.h"

#define CTF_METRICS_REQUEST_MAX 8192	/* octets of request line and headers */
#define CTF_METRICS_TIMEOUT_S 5		/* per client, accept to close */
#define CTF_METRICS_MAX_CLIENTS 16

/**
 * ctf_metrics_parse_address - "ADDR:PORT", "[IPV6]:PORT" or "localhost:PORT"
 * @allow_port_0: accept port 0 (the kernel chooses; a server's choice,
 *                not a place to connect to)
 *
 * Numeric addresses only (no name lookup for a listening address);
 * localhost is 127.0.0.1. Returns FALSE with CTF_ERROR_USAGE and a message
 * naming @text and what is accepted.
 */
gboolean ctf_metrics_parse_address(const char *text, bool allow_port_0,
				   GInetSocketAddress **ret_addr, GError **error);

/* "ADDR:PORT" or "[ADDR]:PORT" of @addr; g_free() it. */
char *ctf_metrics_address_string(GInetSocketAddress *addr);

/* Append the whole exposition to @out (called on the server's context). */
typedef void (*ctf_metrics_collect_fn)(GString *out, void *userdata);

/* TRUE when healthy; otherwise append why to @reason (one line). */
typedef gboolean (*ctf_metrics_health_fn)(GString *reason, void *userdata);

struct ctf_metrics_server;
typedef struct ctf_metrics_server ctf_metrics_server;

/**
 * ctf_metrics_server_new - bind and listen on @address
 *
 * Listens at once (before privileges are dropped) but serves nothing
 * until ctf_metrics_server_attach(). @userdata is passed to both
 * callbacks and must outlive the server. Returns NULL with
 * CTF_ERROR_USAGE for a malformed address, CTF_ERROR_IO when it cannot
 * be bound (in use, not local).
 */
struct ctf_metrics_server *ctf_metrics_server_new(const char *address,
						  ctf_metrics_collect_fn collect,
						  ctf_metrics_health_fn health, void *userdata,
						  GError **error);

/* The address bound, as ADDR:PORT (port 0 resolved); valid until free. */
const char *ctf_metrics_server_address(const struct ctf_metrics_server *s);

/* Serve on @ctx (NULL: the global default context). Once. */
void ctf_metrics_server_attach(struct ctf_metrics_server *s, GMainContext *ctx);

/* Closes the listening socket and every client at once (no callback runs
 * afterwards). Call on the thread that runs @ctx. NULL ok. */
void ctf_metrics_server_free(struct ctf_metrics_server *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_metrics_server, ctf_metrics_server_free)

/* --- the exposition format -------------------------------------------- */

/* "# HELP" and "# TYPE" of a family; @type "counter" or "gauge". Every
 * sample of the family follows before the next family. */
void ctf_metrics_family(GString *out, const char *name, const char *type, const char *help);

/* One sample: @name, then label name/value pairs ending with NULL. Label
 * values are escaped here. */
void ctf_metrics_sample(GString *out, const char *name, uint64_t value, ...)
	G_GNUC_NULL_TERMINATED;
void ctf_metrics_sample_double(GString *out, const char *name, double value, ...)
	G_GNUC_NULL_TERMINATED;

/* What ctf_metrics_render_probe() reads. Call on the engine's thread. */
struct ctf_metrics_probe {
	const struct ctf_engine *engine;
	struct ctf_export_thread *out;
	struct ctf_enrich_thread *enrich;	/* NULL: enrichment off */
};

/* ctflow_* families of the probe, build info, and the process_* families
 * (start time, CPU, memory, descriptors). */
void ctf_metrics_render_probe(GString *out, const struct ctf_metrics_probe *p);
