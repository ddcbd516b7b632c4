/*
 * The probe's metrics in the Prometheus text exposition format 0.0.4
 * (see include/ctflow/metrics.h): the writer functions, and which
 * counter of the engine, the enrichment and the export threads becomes
 * which family. Reads counters through their owners' getters only; the
 * HTTP side is metrics-http.c. docs/operations.md lists the families.
 */
#define G_LOG_DOMAIN "ctflow-metrics"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctflow/metrics.h"

/* --- writer -------------------------------------------------------------- */

/* Label values escape \, " and newline; HELP text \ and newline. */
static void append_escaped(GString *out, const char *s, bool label)
{
	for (; *s; s++) {
		if (*s == '\\')
			g_string_append(out, "\\\\");
		else if (*s == '\n')
			g_string_append(out, "\\n");
		else if (*s == '"' && label)
			g_string_append(out, "\\\"");
		else
			g_string_append_c(out, *s);
	}
}

void ctf_metrics_family(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s ", name);
	append_escaped(out, help, false);
	g_string_append_printf(out, "\n# TYPE %s %s\n", name, type);
}

static void append_labels(GString *out, va_list ap)
{
	const char *key = va_arg(ap, const char *);

	if (!key)
		return;
	g_string_append_c(out, '{');
	for (bool first = true; key; key = va_arg(ap, const char *), first = false) {
		const char *value = va_arg(ap, const char *);

		g_string_append_printf(out, "%s%s=\"", first ? "" : ",", key);
		append_escaped(out, value ? value : "", true);
		g_string_append_c(out, '"');
	}
	g_string_append_c(out, '}');
}

void ctf_metrics_sample(GString *out, const char *name, uint64_t value, ...)
{
	va_list ap;

	g_string_append(out, name);
	va_start(ap, value);
	append_labels(out, ap);
	va_end(ap);
	g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n", value);
}

void ctf_metrics_sample_double(GString *out, const char *name, double value, ...)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	va_list ap;

	g_string_append(out, name);
	va_start(ap, value);
	append_labels(out, ap);
	va_end(ap);
	/* not printf: the locale could make the decimal point a comma; 15
	 * digits, so that 0.06 does not print as 0.059999999999999998 */
	g_string_append_printf(out, " %s\n", g_ascii_formatd(buf, sizeof(buf), "%.15g", value));
}

/* A family with one unlabelled sample. */
static void single(GString *out, const char *name, const char *type, const char *help,
		   uint64_t value)
{
	ctf_metrics_family(out, name, type, help);
	ctf_metrics_sample(out, name, value, NULL);
}

/* --- the process ----------------------------------------------------------- */

struct proc_self {
	double start_s;			/* since the epoch */
	double cpu_s;
	uint64_t rss_bytes;
	uint64_t open_fds;
};

/* /proc/self/stat fields 14, 15 (utime, stime), 22 (starttime, ticks
 * after boot) and 24 (rss, pages); /proc/stat btime (boot, epoch s). */
static bool read_proc_self(struct proc_self *ret)
{
	g_autofree char *stat = NULL, *sys = NULL;
	g_auto(GStrv) f = NULL;
	uint64_t utime, stime, start, rss, btime;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	const char *p, *bt;

	if (!g_file_get_contents("/proc/self/stat", &stat, NULL, NULL) ||
	    !g_file_get_contents("/proc/stat", &sys, NULL, NULL) || tick <= 0 || page <= 0)
		return false;
	p = strrchr(stat, ')');		/* the command name may hold anything */
	bt = strstr(sys, "\nbtime ");
	if (!p || !bt)
		return false;
	f = g_strsplit(p + 2, " ", 0);	/* f[0] is field 3 (state) */
	if (g_strv_length(f) < 22 ||
	    !g_ascii_string_to_unsigned(f[11], 10, 0, G_MAXUINT64, &utime, NULL) ||
	    !g_ascii_string_to_unsigned(f[12], 10, 0, G_MAXUINT64, &stime, NULL) ||
	    !g_ascii_string_to_unsigned(f[19], 10, 0, G_MAXUINT64, &start, NULL) ||
	    !g_ascii_string_to_unsigned(f[21], 10, 0, G_MAXUINT64, &rss, NULL) ||
	    sscanf(bt + 7, "%" G_GUINT64_FORMAT, &btime) != 1)
		return false;
	ret->start_s = (double)btime + (double)start / (double)tick;
	ret->cpu_s = (double)(utime + stime) / (double)tick;
	ret->rss_bytes = rss * (uint64_t)page;
	return true;
}

static uint64_t count_fds(void)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
	uint64_t n = 0;

	if (!d)
		return 0;
	while (g_dir_read_name(d))
		n++;
	return n > 0 ? n - 1 : 0;	/* the directory's own descriptor */
}

static void render_process(GString *out)
{
	struct proc_self ps;

	ctf_metrics_family(out, "ctflow_build_info", "gauge",
			   "Always 1; the version of ctflow in its label");
	ctf_metrics_sample(out, "ctflow_build_info", 1, "version", CTFLOW_VERSION, NULL);
	if (!read_proc_self(&ps))
		return;
	ctf_metrics_family(out, "process_start_time_seconds", "gauge",
			   "Start time of the process since the Unix epoch in seconds");
	ctf_metrics_sample_double(out, "process_start_time_seconds", ps.start_s, NULL);
	ctf_metrics_family(out, "process_cpu_seconds_total", "counter",
			   "User and system CPU time spent in seconds");
	ctf_metrics_sample_double(out, "process_cpu_seconds_total", ps.cpu_s, NULL);
	single(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes",
	       ps.rss_bytes);
	single(out, "process_open_fds", "gauge", "Number of open file descriptors", count_fds());
}

/* --- conntrack and the flow table --------------------------------------- */

static const char *const event_types[] = {
	[CTF_CT_NEW] = "new", [CTF_CT_UPDATE] = "update", [CTF_CT_DESTROY] = "destroy",
};

/* Families labelled by namespace: one sample per source. */
static void render_sources(GString *out, const struct ctf_engine *e)
{
	size_t n = ctf_engine_n_sources(e);
	g_autofree struct ctf_ct_source_stats *st = g_new0(struct ctf_ct_source_stats, MAX(n, 1));
	const char *name = "ctflow_conntrack_events_total";

	for (size_t i = 0; i < n; i++)
		ctf_engine_source_stats(e, i, &st[i]);
	single(out, "ctflow_conntrack_namespaces", "gauge",
	       "Network namespaces whose conntrack events are read", n);
	ctf_metrics_family(out, name, "counter",
			   "Conntrack events received, by namespace and type");
	for (size_t i = 0; i < n; i++)
		for (int t = CTF_CT_NEW; t <= CTF_CT_DESTROY; t++)
			ctf_metrics_sample(out, name, st[i].msgs[t], "netns",
					   ctf_engine_source_netns(e, i), "type", event_types[t], NULL);

#define PER_SOURCE(metric, type, help, field)						\
	do {										\
		ctf_metrics_family(out, metric, type, help);				\
		for (size_t i = 0; i < n; i++)						\
			ctf_metrics_sample(out, metric, (uint64_t)st[i].field, "netns",	\
					   ctf_engine_source_netns(e, i), NULL);	\
	} while (0)
	PER_SOURCE("ctflow_conntrack_enobufs_total", "counter",
		   "Event socket overruns (ENOBUFS): events the kernel dropped", enobufs);
	PER_SOURCE("ctflow_conntrack_dumps_total", "counter",
		   "Conntrack table dumps (start, active timeout, resync, shutdown)", dumps);
	PER_SOURCE("ctflow_conntrack_dump_entries_total", "counter",
		   "Entries read in table dumps", msgs[CTF_CT_DUMP]);
	PER_SOURCE("ctflow_conntrack_parse_errors_total", "counter",
		   "Conntrack messages that could not be parsed or were truncated", parse_errors);
	PER_SOURCE("ctflow_conntrack_receive_buffer_bytes", "gauge",
		   "Receive buffer of the event socket as granted by the kernel", rcvbuf);
#undef PER_SOURCE
}

static void render_engine(GString *out, const struct ctf_engine *e)
{
	struct ctf_engine_stats s;

	ctf_engine_get_stats(e, &s);
	render_sources(out, e);
	single(out, "ctflow_conntrack_resyncs_total", "counter",
	       "Table dumps that answered an overrun", s.resyncs);
	single(out, "ctflow_conntrack_read_errors_total", "counter",
	       "Errors reading an event socket other than overruns", s.read_errors);
	single(out, "ctflow_conntrack_filtered_total", "counter",
	       "Conntrack entries left out by the filters (and ctflow's own export)", s.filtered);
	single(out, "ctflow_flows_tracked", "gauge", "Flows in the flow table now",
	       s.flows_active);
	single(out, "ctflow_flows_untracked_total", "counter",
	       "New flows not tracked because the table held max-flows (exported at DESTROY)",
	       s.flows_untracked);
	single(out, "ctflow_flows_vanished_total", "counter",
	       "Flows ended by a table dump without a DESTROY event", s.flows_vanished);
	single(out, "ctflow_records_total", "counter",
	       "Flow records produced (before enrichment and export)", s.records);
}

/* --- enrichment and export ---------------------------------------------- */

static void render_enrich(GString *out, struct ctf_enrich_thread *th)
{
	const char *name = "ctflow_enrich_lookups_total";
	struct ctf_enrich_stats s;
	bool process, interfaces;

	ctf_enrich_thread_get_stats(th, &s);
	ctf_enrich_thread_enrichers(th, &process, &interfaces);
	single(out, "ctflow_enrich_queue_items", "gauge",
	       "New flows and records waiting for the enrichment thread",
	       ctf_enrich_thread_pending(th));
	ctf_metrics_family(out, name, "counter",
			   "Enrichment lookups: process owner per new flow (not_local: no local "
			   "socket), interfaces per record");
	if (process) {
		ctf_metrics_sample(out, name, s.proc_hits, "enricher", "process", "result", "hit",
				   NULL);
		ctf_metrics_sample(out, name, s.proc_misses, "enricher", "process", "result",
				   "miss", NULL);
		ctf_metrics_sample(out, name, s.proc_not_local, "enricher", "process", "result",
				   "not_local", NULL);
	}
	if (interfaces) {
		ctf_metrics_sample(out, name, s.records_with_ifs, "enricher", "interface",
				   "result", "hit", NULL);
		ctf_metrics_sample(out, name, s.records - s.records_with_ifs, "enricher",
				   "interface", "result", "miss", NULL);
	}
}

static void render_export(GString *out, struct ctf_export_thread *th)
{
	size_t n = ctf_export_thread_n_outputs(th);
	g_autofree struct ctf_export_stats *st = g_new0(struct ctf_export_stats, MAX(n, 1));
	const char *name = "ctflow_export_records_total";

	for (size_t i = 0; i < n; i++)
		ctf_export_thread_output_stats(th, i, &st[i]);
	single(out, "ctflow_export_pending_records", "gauge",
	       "Records handed to the export thread, not yet to the outputs",
	       ctf_export_thread_pending(th));
	ctf_metrics_family(out, name, "counter",
			   "Records per collector: sent (in messages written; TCP after finish: "
			   "acknowledged) or dropped (queue bound, lost connection, shutdown)");
	for (size_t i = 0; i < n; i++) {
		const char *c = ctf_export_thread_output_name(th, i);

		ctf_metrics_sample(out, name, st[i].records_sent, "collector", c, "state", "sent",
				   NULL);
		ctf_metrics_sample(out, name, st[i].records_dropped, "collector", c, "state",
				   "dropped", NULL);
	}

#define PER_OUTPUT(metric, type, help, field)						\
	do {										\
		ctf_metrics_family(out, metric, type, help);				\
		for (size_t i = 0; i < n; i++)						\
			ctf_metrics_sample(out, metric, st[i].field, "collector",	\
					   ctf_export_thread_output_name(th, i), NULL);	\
	} while (0)
	PER_OUTPUT("ctflow_export_queue_records", "gauge",
		   "Records waiting for a collector that is down (TCP)", records_queued);
	PER_OUTPUT("ctflow_export_messages_total", "counter", "IPFIX messages written", messages);
	PER_OUTPUT("ctflow_export_bytes_total", "counter", "Octets written", bytes);
	PER_OUTPUT("ctflow_export_reconnects_total", "counter",
		   "TCP connections established after the first", reconnects);
	PER_OUTPUT("ctflow_export_send_errors_total", "counter", "Transport errors", send_errors);
#undef PER_OUTPUT
}

void ctf_metrics_render_probe(GString *out, const struct ctf_metrics_probe *p)
{
	render_process(out);
	if (p->engine)
		render_engine(out, p->engine);
	if (p->enrich)
		render_enrich(out, p->enrich);
	if (p->out)
		render_export(out, p->out);
}
