/*
 * export-driver: push N deterministic synthetic records (IPv4 and IPv6,
 * TCP/UDP/ICMP, some NATed) to the collector URLs on the command line at
 * a given rate, then print every output's final counters as JSON.
 *
 * The records pushed can be written as JSON lines (--json FILE, the
 * exporter's own JSON view) so that the test scripts compare what real
 * collectors decoded with what went in.
 *
 * --proc gives two records in three an owning process (strings of every
 * length class, UTF-8, empty ones); --interfaces N sets an interface name
 * table before the first record, --if-change-at K a changed one before
 * record K, and the same table again on every tick (which must send
 * nothing); --if-json FILE writes each table set as one JSON line.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "ctflow/export.h"

static void v4(struct ctf_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, sizeof(*a));
	a->b[0] = x, a->b[1] = y, a->b[2] = z, a->b[3] = w;
}

static void v6(struct ctf_addr *a, uint16_t net, uint32_t host)
{
	memset(a, 0, sizeof(*a));
	a->b[0] = 0x20, a->b[1] = 0x01, a->b[2] = 0x0d, a->b[3] = 0xb8;
	a->b[4] = net >> 8, a->b[5] = net & 0xff;
	a->b[12] = host >> 24, a->b[13] = host >> 16, a->b[14] = host >> 8, a->b[15] = host;
}

/* Record @i: every field a function of @i; flow_id unique. */
static void make_record(uint64_t i, bool live, struct ctf_record *r)
{
	static const uint8_t protos[] = { 6, 17, 1, 6, 17 };

	memset(r, 0, sizeof(*r));
	r->family = i % 3 == 2 ? 6 : 4;
	r->proto = protos[i % 5];
	if (r->proto == 1 && r->family == 6)
		r->proto = 58;
	if (r->family == 4) {
		v4(&r->src, 10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		v4(&r->dst, 192, 0, 2, 1 + i % 250);
	} else {
		v6(&r->src, 0, (uint32_t)i);
		v6(&r->dst, 1, (uint32_t)(i % 1000));
		r->flow_label = i & 0xfffff;
	}
	if (r->proto == 1 || r->proto == 58) {
		r->icmp_type_code = (uint16_t)(r->proto == 1 ? (8 << 8) | (i % 3) : (128 << 8));
	} else {
		r->sport = 1024 + i % 60000;
		r->dport = (uint16_t[]){ 80, 443, 53, 4739, 22 }[i % 5];
	}
	r->packets = 1 + i % 100;
	r->octets = r->packets * (40 + i % 1400);
	r->rev_packets = i % 4 == 1 ? 0 : 1 + i % 50;
	r->rev_octets = r->rev_packets * (60 + i % 900);
	r->start_ms = UINT64_C(1700000000000) + i * 10;
	r->end_ms = r->start_ms + i % 5000;
	r->flow_id = UINT64_C(0x100000000) + i;
	if (r->proto == 6) {
		r->tcp_flags = 0x1b;
		r->rev_tcp_flags = r->rev_packets ? 0x12 | (i & 1) : 0;
	}
	r->tos = i % 256;
	r->end_reason = 1 + i % 5;
	r->vlan = i % 2 ? 0 : i % 4095 + 1;
	r->inner_vlan = i % 11 == 0 ? 100 : 0;
	r->ingress_if = 1 + i % 8;
	r->egress_if = 2 + i % 8;
	if (live) {
		r->ct_zone = i % 3;
		r->ct_mark = (uint32_t)(i * 7);
		r->netns_ino = 4026531840u + i % 5;
	}
	if (i % 7 == 0) {
		r->nat = true;
		r->nat_event = i % 14 ? 0 : 5;	/* updates between create and delete: none */
		if (r->family == 4)
			v4(&r->post_src, 198, 51, 100, i % 250);
		else
			v6(&r->post_src, 0xffff, (uint32_t)i);
		r->post_dst = r->dst;
		r->post_sport = r->sport ? 30000 + i % 30000 : 0;
		r->post_dport = r->dport;
	}
}

static void fill(char *buf, size_t size, const char *s)
{
	memset(buf, 0, size);
	memcpy(buf, s, MIN(strlen(s), size - 1));
}

/* The process of record @i: lengths 0, 1, 254 and 255 among them. */
static void make_proc(uint64_t i, struct ctf_record *r)
{
	static const char *const comms[] = { "curl", "", "x", "bäckup-日本", "0123456789abcde",
					     "nginx: worker" };
	static const char *const users[] = { "root", "www-data", "", "josé",
					     "u2345678901234567890123456789012" };
	char exe[256];
	size_t exe_len[] = { 13, 0, 1, 254, 255, 40 };
	size_t len = exe_len[i % 6];

	r->has_proc = true;
	r->proc.pid = (uint32_t)(1000 + i);
	r->proc.uid = (uint32_t)(i % 5 * 1000);
	fill(r->proc.comm, sizeof(r->proc.comm), comms[i % 6]);
	fill(r->proc.user, sizeof(r->proc.user), users[i % 5]);
	/* "/usr/bin/é/I-aaaa...": a two-octet character near the start */
	int k = snprintf(exe, sizeof(exe), "/usr/bin/é/%" PRIu64 "-", i);

	memset(exe + k, 'a', sizeof(exe) - 1 - (size_t)k);
	exe[len] = 0;
	fill(r->proc.exe, sizeof(r->proc.exe), exe);
	if (i % 4 != 2)		/* with the longest paths too */
		snprintf(r->proc.container_id, sizeof(r->proc.container_id),
			 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
			 i, i * 3, i * 7, i * 11);
	r->proc.tcp_rtt_us = r->proto == 6 ? (uint32_t)(100 + i % 100000) : 0;
	r->proc.tcp_retrans = r->proto == 6 ? (uint32_t)(i % 7) : 0;
}

/* Interface table @version: ifindex 1..@n (the records use 1..9). */
static struct ctf_if_name *make_ifs(unsigned n, int version)
{
	struct ctf_if_name *v = g_new0(struct ctf_if_name, MAX(n, 1));

	for (unsigned k = 0; k < n; k++) {
		char d[256];

		v[k].ifindex = k + 1;
		snprintf(v[k].name, sizeof(v[k].name), k % 4 == 3 ? "veth%06uabcdef" : "eth%u", k);
		if (k % 5 == 4)
			d[0] = 0;
		else if (k % 5 == 3)
			snprintf(d, sizeof(d), "%0255u", k);	/* 255 octets */
		else
			snprintf(d, sizeof(d), "uplink %u to \"rack\" ünïcødé", k);
		fill(v[k].description, sizeof(v[k].description), d);
	}
	if (version && n >= 2) {
		fill(v[1].name, sizeof(v[1].name), "wan0");
		fill(v[1].description, sizeof(v[1].description), "changed");
	}
	return v;
}

static void write_ifs(FILE *fp, int64_t at, const struct ctf_if_name *v, unsigned n)
{
	if (!fp)
		return;
	fprintf(fp, "{\"at\":%" PRId64 ",\"ifs\":[", at);
	for (unsigned k = 0; k < n; k++) {
		fprintf(fp, "%s{\"ifindex\":%u,\"name\":\"%s\",\"description\":\"", k ? "," : "",
			v[k].ifindex, v[k].name);
		for (const char *c = v[k].description; *c; c++)
			fprintf(fp, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
		fprintf(fp, "\"}");
	}
	fprintf(fp, "]}\n");
}

/* A tick, and the unchanged table again: as a daemon does on every link
 * event that changes nothing the exporter sends. */
static void tick(ctf_exporter *ex, const struct ctf_if_name *ifs, gint n_ifs)
{
	if (n_ifs > 0)
		g_assert(ctf_exporter_set_interfaces(ex, ifs, (size_t)n_ifs, NULL));
	ctf_exporter_tick(ex);
}

static void print_stats(ctf_exporter *ex, bool ok, const char *error)
{
	printf("{\"ok\":%s,\"error\":\"%s\",\"outputs\":[", ok ? "true" : "false",
	       error ? error : "");
	for (size_t i = 0; i < ctf_exporter_n_outputs(ex); i++) {
		struct ctf_export_stats s;

		ctf_exporter_output_stats(ex, i, &s);
		printf("%s{\"name\":\"%s\",\"records_in\":%" PRIu64 ",\"records_sent\":%" PRIu64
		       ",\"records_dropped\":%" PRIu64 ",\"records_queued\":%" PRIu64
		       ",\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"reconnects\":%" PRIu64
		       ",\"send_errors\":%" PRIu64 "}", i ? "," : "",
		       ctf_exporter_output_name(ex, i), s.records_in, s.records_sent,
		       s.records_dropped, s.records_queued, s.messages, s.bytes,
		       s.reconnects, s.send_errors);
	}
	printf("]}\n");
}

int main(int argc, char **argv)
{
	struct ctf_export_config cfg;
	gint64 n = 1000, queue_max = -1;
	gdouble rate = 0;
	gint flush_ms = -1, refresh = -1, rmin = -1, rmax = -1, udp_rate = -1, shut = -1;
	gint udp_mtu = -1;
	gint pen = -1, odid = 0, n_ifs = 0;
	gint64 if_change_at = -1;
	gboolean uniflow = FALSE, live = FALSE, proc = FALSE;
	g_autofree char *json = NULL, *text = NULL, *if_json = NULL;
	g_autofree struct ctf_if_name *ifs = NULL;
	FILE *ijf = NULL;
	GOptionEntry entries[] = {
		{ "records", 'n', 0, G_OPTION_ARG_INT64, &n, "records to push", "N" },
		{ "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &rate, "records/s (0 = no limit)", "R" },
		{ "uniflow", 0, 0, G_OPTION_ARG_NONE, &uniflow, "uniflow records", NULL },
		{ "live", 0, 0, G_OPTION_ARG_NONE, &live, "live templates (zone/mark/netns)", NULL },
		{ "proc", 0, 0, G_OPTION_ARG_NONE, &proc, "owning processes (implies --live)", NULL },
		{ "interfaces", 0, 0, G_OPTION_ARG_INT, &n_ifs, "interface name table", "N" },
		{ "if-change-at", 0, 0, G_OPTION_ARG_INT64, &if_change_at, "change it before record K", "K" },
		{ "if-json", 0, 0, G_OPTION_ARG_FILENAME, &if_json, "write the tables as JSON", "FILE" },
		{ "queue-max", 0, 0, G_OPTION_ARG_INT64, &queue_max, "TCP queue bound", "N" },
		{ "flush-ms", 0, 0, G_OPTION_ARG_INT, &flush_ms, "flush partial messages", "MS" },
		{ "refresh", 0, 0, G_OPTION_ARG_INT, &refresh, "UDP template refresh", "S" },
		{ "reconnect-min", 0, 0, G_OPTION_ARG_INT, &rmin, "TCP backoff start", "S" },
		{ "reconnect-max", 0, 0, G_OPTION_ARG_INT, &rmax, "TCP backoff cap", "S" },
		{ "udp-rate", 0, 0, G_OPTION_ARG_INT, &udp_rate, "UDP messages/s", "R" },
		{ "udp-mtu", 0, 0, G_OPTION_ARG_INT, &udp_mtu, "UDP message size", "OCTETS" },
		{ "shutdown-timeout", 0, 0, G_OPTION_ARG_INT, &shut, "finish wait", "S" },
		{ "pen", 0, 0, G_OPTION_ARG_INT, &pen, "enterprise number", "PEN" },
		{ "odid", 0, 0, G_OPTION_ARG_INT, &odid, "observation domain", "ID" },
		{ "json", 0, 0, G_OPTION_ARG_FILENAME, &json, "write pushed records as JSON", "FILE" },
		{ "text", 0, 0, G_OPTION_ARG_FILENAME, &text, "write pushed records as text", "FILE" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("URL...");
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_exporter) ex = NULL;
	FILE *jf = NULL, *tf = NULL;
	gint64 t0, next_tick;
	bool ok;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "export-driver: %s\n", err->message);
		return 2;
	}
	ctf_export_config_init(&cfg);
	cfg.uniflow = uniflow;
	cfg.live = live || proc;
	cfg.odid = (uint32_t)odid;
	if (queue_max >= 0) cfg.queue_max = (size_t)queue_max;
	if (flush_ms >= 0) cfg.flush_ms = (unsigned)flush_ms;
	if (refresh >= 0) cfg.template_refresh_s = (unsigned)refresh;
	if (rmin >= 0) cfg.reconnect_min_s = (unsigned)rmin;
	if (rmax >= 0) cfg.reconnect_max_s = (unsigned)rmax;
	if (udp_rate >= 0) cfg.udp_rate = (unsigned)udp_rate;
	if (udp_mtu >= 0) cfg.udp_mtu = (unsigned)udp_mtu;
	if (shut >= 0) cfg.shutdown_timeout_s = (unsigned)shut;
	if (pen >= 0) cfg.pen = (uint32_t)pen;

	ex = ctf_exporter_new(&cfg, &err);
	if (!ex) {
		fprintf(stderr, "export-driver: %s\n", err->message);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!ctf_exporter_add_url(ex, argv[i], &err)) {
			fprintf(stderr, "export-driver: %s\n", err->message);
			return 2;
		}
	}
	if (json) {
		jf = fopen(json, "w");
		if (!jf) { perror(json); return 2; }
		ctf_exporter_add_view(ex, CTF_VIEW_JSON, jf);
	}
	if (text) {
		tf = fopen(text, "w");
		if (!tf) { perror(text); return 2; }
		ctf_exporter_add_view(ex, CTF_VIEW_TEXT, tf);
	}

	if (if_json) {
		ijf = fopen(if_json, "w");
		if (!ijf) { perror(if_json); return 2; }
	}
	if (n_ifs > 0) {
		ifs = make_ifs((unsigned)n_ifs, 0);
		if (!ctf_exporter_set_interfaces(ex, ifs, (size_t)n_ifs, &err)) {
			fprintf(stderr, "export-driver: %s\n", err->message);
			return 2;
		}
		write_ifs(ijf, 0, ifs, (unsigned)n_ifs);
	}

	t0 = g_get_monotonic_time();
	next_tick = t0;
	for (gint64 i = 0; i < n; i++) {
		struct ctf_record r;
		gint64 now;

		if (n_ifs > 0 && i == if_change_at) {
			g_free(ifs);
			ifs = make_ifs((unsigned)n_ifs, 1);
			g_assert(ctf_exporter_set_interfaces(ex, ifs, (size_t)n_ifs, NULL));
			write_ifs(ijf, i, ifs, (unsigned)n_ifs);
		}
		make_record((uint64_t)i, live || proc, &r);
		if (proc && i % 3 != 0)
			make_proc((uint64_t)i, &r);
		ctf_exporter_push(ex, &r);
		now = g_get_monotonic_time();
		if (rate > 0) {
			gint64 due = t0 + (gint64)((double)(i + 1) * G_USEC_PER_SEC / rate);

			while (now < due) {
				g_usleep((gulong)MIN(due - now, 50000));
				now = g_get_monotonic_time();
				if (now >= next_tick) {
					tick(ex, ifs, n_ifs);
					next_tick = now + 50000;
				}
			}
		}
		if (now >= next_tick) {
			tick(ex, ifs, n_ifs);
			next_tick = now + 50000;
		}
	}
	ok = ctf_exporter_finish(ex, &err);
	print_stats(ex, ok, ok ? NULL : err->message);
	if (!ok)
		fprintf(stderr, "export-driver: %s\n", err->message);
	g_clear_pointer(&ex, ctf_exporter_free);
	if (jf)
		fclose(jf);
	if (tf)
		fclose(tf);
	if (ijf)
		fclose(ijf);
	return 0;
}
