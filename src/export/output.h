/*
 * One export output behind a table of functions: the UDP, TCP and file
 * transports and the text/JSON views. exporter.c owns the list and fans
 * records out; each output owns its sockets/files, encoder and counters.
 * Private to src/export.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <netdb.h>
#include <glib.h>

#include "ctflow/export-url.h"
#include "ctflow/export.h"
#include "ctflow/ipfix-schema.h"

struct ctf_output;

struct ctf_output_ops {
	/* One record (hot path). @irec is NULL for views' sake only when
	 * the exporter has no IPFIX output. */
	void (*push)(struct ctf_output *o, const struct ctf_record *rec,
		     const struct ctf_ipfix_rec *irec);
	/* The interface table (env) changed: send it now if a session is
	 * up; the next session sends it anyway. NULL: nothing to do. */
	void (*interfaces)(struct ctf_output *o);
	/* The same for the namespace name table. */
	void (*netns)(struct ctf_output *o);
	/* Timers; @now_us is g_get_monotonic_time(). */
	void (*tick)(struct ctf_output *o, int64_t now_us);
	/* Flush, final statistics, wait until @deadline_us (monotonic) for a
	 * collector that is down; what is still undelivered is then counted
	 * as dropped. FALSE only for errors other than drops. */
	gboolean (*finish)(struct ctf_output *o, int64_t deadline_us, GError **error);
	void (*free)(struct ctf_output *o);
};

struct ctf_output {
	const struct ctf_output_ops *ops;
	char *name;
	bool ipfix;				/* needs struct ctf_ipfix_rec */
	struct ctf_export_stats stats;
	struct ctf_ipfix_reliability rel;	/* running drop totals */
};

/* What IPFIX outputs share, owned by the exporter (outlives outputs). */
struct ctf_output_env {
	const struct ctf_export_config *cfg;
	const struct ctf_ipfix_schema *schema;
	unsigned tmpl_flags;			/* CTF_TMPL_BIFLOW | CTF_TMPL_LIVE */
	const struct ctf_if_name *ifs;		/* interface names, sorted by ifindex,
						 * unique; replaced (not changed in
						 * place) by set_interfaces */
	size_t n_ifs;
	const struct ctf_netns_name *netns;	/* namespace names, sorted by netns,
						 * unique; replaced by set_netns */
	size_t n_netns;
};

/* The name of @ifindex in @env's table, or NULL. */
const char *ctf_output_if_name(const struct ctf_output_env *env, uint32_t ifindex);

/* The entry of namespace @netns in @env's table, or NULL. */
const struct ctf_netns_name *ctf_output_netns(const struct ctf_output_env *env, uint32_t netns);

/* Rate limit for a repeating message: one per interval, counts the rest. */
struct ctf_ratelimit {
	int64_t last_us;
	uint64_t suppressed;
};
#define CTF_RATELIMIT_INTERVAL_US (10 * G_USEC_PER_SEC)

/* TRUE when a message may be logged now; *ret_suppressed gets how many
 * were swallowed since the last one. */
bool ctf_ratelimit_ok(struct ctf_ratelimit *rl, uint64_t *ret_suppressed);

void ctf_output_init(struct ctf_output *o, const struct ctf_output_ops *ops,
		     const char *name, bool ipfix);
/* Base cleanup (name); called by each output's free. */
void ctf_output_clear(struct ctf_output *o);

/* Count @records (with their @packets/@octets) as not sent: stats and
 * the reliability statistics record. */
/* A flow whose final counts the metering process lost (live: events lost
 * to a netlink overrun): in the reliability statistics, not in
 * records_dropped (the record itself is sent). */
void ctf_output_count_lost(struct ctf_output *o, uint64_t flows, uint64_t when_ms);

void ctf_output_count_drop(struct ctf_output *o, uint64_t records,
			   uint64_t packets, uint64_t octets);

/* getaddrinfo() for @url (host, port); @name prefixes the error message. */
struct addrinfo *ctf_output_resolve(const char *name, const struct ctf_export_url *url,
				    int socktype, GError **error);

/* Packets and octets of one record, both directions. */
static inline uint64_t ctf_ipfix_rec_packets(const struct ctf_ipfix_rec *r)
{
	return r->packets + r->rev_packets;
}
static inline uint64_t ctf_ipfix_rec_octets(const struct ctf_ipfix_rec *r)
{
	return r->octets + r->rev_octets;
}

/* The process to encode with @irec (built from @rec), or NULL. */
static inline const struct ctf_proc_info *ctf_ipfix_rec_proc(const struct ctf_ipfix_rec *irec,
							     const struct ctf_record *rec)
{
	return (irec->tmpl & CTF_TMPL_PROC) ? &rec->proc : NULL;
}

struct ctf_output *ctf_output_udp_new(const struct ctf_output_env *env,
				      const char *name,
				      const struct ctf_export_url *url,
				      GError **error);
struct ctf_output *ctf_output_tcp_new(const struct ctf_output_env *env,
				      const char *name,
				      const struct ctf_export_url *url,
				      GError **error);
struct ctf_output *ctf_output_file_new(const struct ctf_output_env *env,
				       const char *name,
				       const struct ctf_export_url *url,
				       GError **error);
struct ctf_output *ctf_output_view_new(const struct ctf_output_env *env,
				       enum ctf_view_format fmt, FILE *fp);

/* Formatting used by the views, exposed for tests. @buf gets one line
 * without the newline; returns its length. @env (NULL ok) names the
 * interfaces. CTF_VIEW_LINE_MAX holds any record. */
#define CTF_VIEW_LINE_MAX 4096
size_t ctf_view_format_text(const struct ctf_record *rec, const struct ctf_output_env *env,
			    char *buf, size_t size);
size_t ctf_view_format_json(const struct ctf_record *rec, const struct ctf_output_env *env,
			    char *buf, size_t size);
