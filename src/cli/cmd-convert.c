/*
 * `ctflow convert`: pcap/pcapng files -> flow records -> IPFIX and views.
 *
 * Wires the offline pipeline: pcap file source -> decode -> fragment
 * accounting -> flow table -> exporter. Owns option parsing, the progress
 * bar and the summary; the modules own the logic.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <pcap/pcap.h>

#include "ctflow/decode.h"
#include "ctflow/error.h"
#include "ctflow/export.h"
#include "ctflow/flow-table.h"
#include "ctflow/frag.h"
#include "ctflow/pcap-file.h"

#include "cli.h"

#define FRAG_TIMEOUT_US (30 * G_USEC_PER_SEC)	/* Linux ipfrag_time */
#define FRAG_MAX_DATAGRAMS 65536
#define TICK_EVERY_FRAMES 4096
#define UNSET G_MININT		/* an integer option not given */
#define BATCH_PACKETS 256	/* datagrams handed to the flow table at once */

struct convert_opts {
	char **outputs;
	char **collectors;
	char *format;
	double idle_timeout;
	double active_timeout;
	gint64 max_flows;
	gboolean uniflow;
	gboolean quiet;
	gboolean no_progress;
	gint64 odid;
	gint64 pen;
	gint template_refresh;
	gint udp_rate;
	gint reconnect;
	gint64 queue;
	char **files;
};

struct convert {
	struct ctf_flow_table *flows;
	struct ctf_frag_table *frags;
	struct ctf_exporter *ex;
	struct ctf_progress *progress;
	struct ctf_pcap_file *cur;
	int dlt;			/* cur's link type */
	uint64_t bytes_total;		/* sum of file sizes, 0 if unknown */
	uint64_t bytes_done;		/* of files already finished */
	uint64_t frames;
	uint64_t status[CTF_DECODE_STATUS_COUNT];
	uint64_t files_unreadable;
	uint64_t files_damaged;
	int64_t next_tick_us;
	struct ctf_packet batch[BATCH_PACKETS];
	size_t n_batch;
};

static void on_record(const struct ctf_record *rec, void *userdata)
{
	struct convert *c = userdata;

	ctf_exporter_push(c->ex, rec);
}

G_NO_INLINE static void flush_batch(struct convert *c)
{
	ctf_flow_table_add_packets(c->flows, c->batch, c->n_batch);
	c->n_batch = 0;
}

/* The packet in the next free batch slot joins the batch. */
static void batch_commit(struct convert *c)
{
	if (++c->n_batch == BATCH_PACKETS)
		flush_batch(c);
}

static void on_datagram(const struct ctf_packet *pkt, void *userdata)
{
	struct convert *c = userdata;

	c->batch[c->n_batch] = *pkt;
	batch_commit(c);
}

G_NO_INLINE static void convert_tick(struct convert *c)
{
	int64_t now = g_get_monotonic_time();
	struct ctf_flow_table_stats fs;
	double frac = -1;

	if (now < c->next_tick_us)
		return;
	c->next_tick_us = now + 100000;
	ctf_exporter_tick(c->ex);
	if (c->bytes_total)
		frac = (double)(c->bytes_done + ctf_pcap_file_offset(c->cur)) / c->bytes_total;
	ctf_flow_table_get_stats(c->flows, &fs);
	ctf_progress_update(c->progress, frac > 1 ? 1 : frac, c->frames, fs.flows_active);
}

/* Fragments, and every packet while datagrams are pending (their
 * timeouts come first), go through the fragment table. */
G_NO_INLINE static void via_frags(struct convert *c, const struct ctf_packet *slot)
{
	struct ctf_packet pkt = *slot;	/* the slot is on_datagram()'s next */

	ctf_frag_table_advance(c->frags, pkt.ts_us);
	ctf_frag_table_add(c->frags, &pkt);
}

/* libpcap's callback, once per frame: packets are decoded straight into
 * the next batch slot, and a whole packet with no datagram pending is not
 * copied again. The rare paths (flush_batch(), via_frags(),
 * convert_tick()) are kept out of line, so that this function saves three
 * registers instead of six. */
static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct convert *c = (struct convert *)user;
	struct ctf_packet *pkt = &c->batch[c->n_batch];
	enum ctf_decode_status st;

	st = ctf_decode_packet(c->dlt, data, h->caplen, ctf_pcap_ts_us(h), pkt);
	c->status[st]++;
	if (st == CTF_DECODE_OK) {
		if (pkt->frag == CTF_FRAG_NONE && ctf_frag_table_is_empty(c->frags))
			batch_commit(c);
		else
			via_frags(c, pkt);
	}
	if ((++c->frames % TICK_EVERY_FRAMES) == 0)
		convert_tick(c);
}

static void convert_file(struct convert *c, const char *path)
{
	g_autoptr(GError) error = NULL;
	int64_t n;

	c->cur = ctf_pcap_file_open(path, &error);
	if (!c->cur) {
		g_printerr("ctflow convert: %s\n", error->message);
		c->files_unreadable++;
		return;
	}
	c->dlt = ctf_pcap_file_dlt(c->cur);
	if (!ctf_decode_linktype_supported(c->dlt))
		g_printerr("ctflow convert: %s: link type %d (%s) is not supported; its packets are skipped\n",
			   path, c->dlt, pcap_datalink_val_to_name(c->dlt) ?: "unknown");
	n = ctf_pcap_file_read(c->cur, 0, on_frame, (u_char *)c, &error);
	if (n < 0) {
		g_printerr("ctflow convert: warning: %s; the packets before it are converted\n",
			   error->message);
		c->files_damaged++;
	}
	c->bytes_done += ctf_pcap_file_size(c->cur);
	g_clear_pointer(&c->cur, ctf_pcap_file_close);
}

static gboolean parse_format(const char *s, enum ctf_view_format *ret, GError **error)
{
	if (g_strcmp0(s, "text") == 0)
		*ret = CTF_VIEW_TEXT;
	else if (g_strcmp0(s, "json") == 0)
		*ret = CTF_VIEW_JSON;
	else
		return g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				   "--format: '%s' is not one of text, json", s), FALSE;
	return TRUE;
}

static gboolean check_seconds(const char *name, double v, GError **error)
{
	if (!(v >= 0.001) || !isfinite(v) || v > 365.0 * 86400) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "%s: %g is not a number of seconds from 0.001 to 31536000", name, v);
		return FALSE;
	}
	return TRUE;
}

static gboolean check_range(const char *name, gint64 v, gint64 lo, gint64 hi, GError **error)
{
	if (v < lo || v > hi) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "%s: %" G_GINT64_FORMAT " is outside [%" G_GINT64_FORMAT ", %"
			    G_GINT64_FORMAT "]", name, v, lo, hi);
		return FALSE;
	}
	return TRUE;
}

static gboolean build_exporter(struct convert *c, const struct convert_opts *o, GError **error)
{
	struct ctf_export_config ecfg;
	gboolean stdout_ipfix = FALSE;

	ctf_export_config_init(&ecfg);
	ecfg.uniflow = o->uniflow;
	const struct {
		const char *name;
		gint64 value, lo, hi;
		void *target;
		size_t size;		/* of *target */
	} nums[] = {
		{ "--odid", o->odid, 0, UINT32_MAX, &ecfg.odid, sizeof(ecfg.odid) },
		{ "--pen", o->pen, 1, UINT32_MAX, &ecfg.pen, sizeof(ecfg.pen) },
		{ "--template-refresh", o->template_refresh, 1, 86400, &ecfg.template_refresh_s,
		  sizeof(ecfg.template_refresh_s) },
		{ "--udp-rate", o->udp_rate, 0, 10000000, &ecfg.udp_rate, sizeof(ecfg.udp_rate) },
		{ "--reconnect", o->reconnect, 1, 86400, &ecfg.reconnect_min_s,
		  sizeof(ecfg.reconnect_min_s) },
		{ "--queue", o->queue, 0, 1000000000, &ecfg.queue_max, sizeof(ecfg.queue_max) },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(nums); i++) {
		if (nums[i].value == UNSET)
			continue;
		if (!check_range(nums[i].name, nums[i].value, nums[i].lo, nums[i].hi, error))
			return FALSE;
		if (nums[i].size == sizeof(uint32_t))
			*(uint32_t *)nums[i].target = (uint32_t)nums[i].value;
		else
			*(uint64_t *)nums[i].target = (uint64_t)nums[i].value;
	}
	c->ex = ctf_exporter_new(&ecfg, error);
	if (!c->ex)
		return FALSE;
	for (char **p = o->outputs; p && *p; p++) {
		g_autofree char *url = strcmp(*p, "-") == 0 ? g_strdup("-") : g_strconcat("file:", *p, NULL);

		stdout_ipfix |= strcmp(*p, "-") == 0;
		if (!ctf_exporter_add_url(c->ex, url, error))
			return FALSE;
	}
	for (char **p = o->collectors; p && *p; p++)
		if (!ctf_exporter_add_url(c->ex, *p, error))
			return FALSE;
	if (o->format || (!o->outputs && !o->collectors)) {
		enum ctf_view_format fmt = CTF_VIEW_TEXT;

		if (o->format && !parse_format(o->format, &fmt, error))
			return FALSE;
		if (stdout_ipfix) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				    "-o - and --format both want stdout; write IPFIX to a file instead");
			return FALSE;
		}
		ctf_exporter_add_view(c->ex, fmt, stdout);
	}
	return TRUE;
}

static gboolean build_tables(struct convert *c, const struct convert_opts *o, GError **error)
{
	struct ctf_flow_table_config fcfg;

	ctf_flow_table_config_init(&fcfg);
	if (!isnan(o->idle_timeout)) {
		if (!check_seconds("--idle-timeout", o->idle_timeout, error))
			return FALSE;
		fcfg.idle_timeout_us = (uint64_t)(o->idle_timeout * G_USEC_PER_SEC);
	}
	if (!isnan(o->active_timeout)) {
		if (!check_seconds("--active-timeout", o->active_timeout, error))
			return FALSE;
		fcfg.active_timeout_us = (uint64_t)(o->active_timeout * G_USEC_PER_SEC);
	}
	if (o->max_flows != UNSET) {
		if (!check_range("--max-flows", o->max_flows, 1, 1000000000, error))
			return FALSE;
		fcfg.max_flows = (size_t)o->max_flows;
	}
	c->flows = ctf_flow_table_new(&fcfg, on_record, c);
	c->frags = ctf_frag_table_new(FRAG_TIMEOUT_US, FRAG_MAX_DATAGRAMS, on_datagram, c);
	return TRUE;
}

static void print_summary(struct convert *c, double secs)
{
	struct ctf_flow_table_stats fs;
	struct ctf_frag_stats gs;
	g_autoptr(GString) s = g_string_new(NULL);
	uint64_t skipped = 0;

	ctf_flow_table_get_stats(c->flows, &fs);
	ctf_frag_table_get_stats(c->frags, &gs);
	for (int i = CTF_DECODE_NOT_IP + 1; i < CTF_DECODE_STATUS_COUNT; i++)
		skipped += c->status[i];
	g_string_append_printf(s, "ctflow convert: %" G_GUINT64_FORMAT " packets, %"
			       G_GUINT64_FORMAT " flows, %" G_GUINT64_FORMAT " records, %"
			       G_GUINT64_FORMAT " not IP, %" G_GUINT64_FORMAT " skipped",
			       c->frames, fs.flows_created, fs.records, c->status[CTF_DECODE_NOT_IP],
			       skipped);
	if (skipped) {
		const char *sep = " (";

		for (int i = CTF_DECODE_NOT_IP + 1; i < CTF_DECODE_STATUS_COUNT; i++) {
			if (!c->status[i])
				continue;
			g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, sep,
					       ctf_decode_status_name(i), c->status[i]);
			sep = ", ";
		}
		g_string_append_c(s, ')');
	}
	if (gs.fragments)
		g_string_append_printf(s, ", %" G_GUINT64_FORMAT " fragments in %" G_GUINT64_FORMAT
				       " datagrams (%" G_GUINT64_FORMAT " incomplete)", gs.fragments,
				       gs.datagrams + gs.incomplete, gs.incomplete);
	if (fs.evicted)
		g_string_append_printf(s, ", %" G_GUINT64_FORMAT " flows ended early: table full",
				       fs.evicted);
	if (c->files_damaged || c->files_unreadable)
		g_string_append_printf(s, ", files: %" G_GUINT64_FORMAT " damaged (read up to the"
				       " damage), %" G_GUINT64_FORMAT " unreadable",
				       c->files_damaged, c->files_unreadable);
	g_string_append_printf(s, ", %.2f s", secs);
	g_printerr("%s\n", s->str);
	for (size_t i = 0; i < ctf_exporter_n_outputs(c->ex); i++) {
		struct ctf_export_stats es;

		ctf_exporter_output_stats(c->ex, i, &es);
		if (es.records_dropped || es.send_errors)
			g_printerr("ctflow convert: %s: %" G_GUINT64_FORMAT " records sent, %"
				   G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT " send errors\n",
				   ctf_exporter_output_name(c->ex, i), es.records_sent,
				   es.records_dropped, es.send_errors);
	}
}

static int run(struct convert *c, const struct convert_opts *o, gboolean show_progress)
{
	g_autoptr(GError) error = NULL;
	int64_t t0 = g_get_monotonic_time();
	int rc = CTF_EXIT_OK;

	for (char **p = o->files; *p; p++) {
		GStatBuf st;

		if (strcmp(*p, "-") != 0 && g_stat(*p, &st) == 0 && S_ISREG(st.st_mode))
			c->bytes_total += (uint64_t)st.st_size;
	}
	c->progress = ctf_progress_new(show_progress);
	for (char **p = o->files; *p; p++)
		convert_file(c, *p);
	ctf_frag_table_flush(c->frags);
	flush_batch(c);
	ctf_flow_table_flush(c->flows, CTF_END_FORCED);
	g_clear_pointer(&c->progress, ctf_progress_free);
	if (!ctf_exporter_finish(c->ex, &error)) {
		g_printerr("ctflow convert: %s\n", error->message);
		rc = CTF_EXIT_FAILURE;
	}
	if (!o->quiet)
		print_summary(c, (g_get_monotonic_time() - t0) / 1e6);
	if (c->files_unreadable)
		rc = CTF_EXIT_FAILURE;
	return rc;
}

int ctf_cmd_convert(int argc, char **argv)
{
	/* "not given" sentinels: the tables' own defaults apply */
	struct convert_opts o = {
		.idle_timeout = NAN, .active_timeout = NAN, .max_flows = UNSET,
		.odid = UNSET, .pen = UNSET, .template_refresh = UNSET, .udp_rate = UNSET,
		.reconnect = UNSET, .queue = UNSET,
	};
	const GOptionEntry entries[] = {
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.outputs,
		  "Write IPFIX (RFC 5655 file) to FILE; '-' is stdout", "FILE" },
		{ "collector", 'C', 0, G_OPTION_ARG_STRING_ARRAY, &o.collectors,
		  "Send IPFIX to URL: udp://HOST:PORT, tcp://HOST:PORT, file:PATH", "URL" },
		{ "format", 'f', 0, G_OPTION_ARG_STRING, &o.format,
		  "Print one record per line on stdout: text or json", "FMT" },
		{ "idle-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.idle_timeout,
		  "End a flow after S seconds without packets (default 60)", "S" },
		{ "active-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.active_timeout,
		  "Export a record every S seconds of a long flow (default 300)", "S" },
		{ "uniflow", 0, 0, G_OPTION_ARG_NONE, &o.uniflow,
		  "Two uniflow records per flow instead of one RFC 5103 biflow", NULL },
		{ "max-flows", 0, 0, G_OPTION_ARG_INT64, &o.max_flows,
		  "Open flows kept at most; beyond, the least recent ends (default 1000000)", "N" },
		{ "odid", 0, 0, G_OPTION_ARG_INT64, &o.odid,
		  "IPFIX observation domain id (default 0)", "N" },
		{ "pen", 0, 0, G_OPTION_ARG_INT64, &o.pen,
		  "Private enterprise number of ctflow's own elements (default 32473)", "N" },
		{ "template-refresh", 0, 0, G_OPTION_ARG_INT, &o.template_refresh,
		  "UDP: re-send templates every S seconds (default 60)", "S" },
		{ "udp-rate", 0, 0, G_OPTION_ARG_INT, &o.udp_rate,
		  "UDP: send at most N messages per second, 0 = unpaced", "N" },
		{ "reconnect", 0, 0, G_OPTION_ARG_INT, &o.reconnect,
		  "TCP: first reconnect delay in seconds (default 60)", "S" },
		{ "queue", 0, 0, G_OPTION_ARG_INT64, &o.queue,
		  "TCP: records held while a collector is down (default 1000000)", "N" },
		{ "no-progress", 0, 0, G_OPTION_ARG_NONE, &o.no_progress,
		  "Do not draw the progress bar", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
		  "Do not print the summary line", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.files, NULL, "FILE..." },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- convert pcap/pcapng captures to IPFIX flow records");
	g_autoptr(GError) error = NULL;
	struct convert c = { 0 };
	int rc = CTF_EXIT_USAGE;

	g_set_prgname("ctflow convert");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"With neither -o nor -C, records are printed as text on stdout.\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage error.\n");
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("ctflow convert: %s (try --help)\n", error->message);
		goto out;
	}
	if (!o.files || !o.files[0]) {
		g_printerr("ctflow convert: no input file given (try --help)\n");
		goto out;
	}
	if (!build_tables(&c, &o, &error) || !build_exporter(&c, &o, &error)) {
		g_printerr("ctflow convert: %s\n", error->message);
		goto out;
	}
	rc = run(&c, &o, !o.no_progress && isatty(STDERR_FILENO));
out:
	ctf_exporter_free(c.ex);
	ctf_flow_table_free(c.flows);
	ctf_frag_table_free(c.frags);
	g_strfreev(o.outputs);
	g_strfreev(o.collectors);
	g_strfreev(o.files);
	g_free(o.format);
	return rc;
}
