/*
 * `ctflow run`: the live flow probe.
 *
 * Wires configuration -> kernel settings -> export thread -> engine, runs
 * the main loop, and owns the process lifecycle: SIGTERM/SIGINT export
 * every tracked flow and flush the collectors; SIGHUP reloads the
 * configuration and keeps the old one if the new one is bad.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>

#include "ctflow/ct-filter.h"
#include "ctflow/engine.h"
#include "ctflow/enrich-thread.h"
#include "ctflow/error.h"
#include "ctflow/export-thread.h"
#include "ctflow/export-url.h"
#include "ctflow/kernel-prep.h"
#include "ctflow/netns-watch.h"
#include "ctflow/log.h"
#include "ctflow/metrics.h"
#include "ctflow/privdrop.h"
#include "ctflow/run-config.h"
#include "ctflow/sd-notify.h"

#include "cli.h"

struct run {
	struct ctf_run_config cfg;
	char **argv;			/* as given, for SIGHUP */
	struct ctf_ct_filter *filter;
	struct ctf_export_thread *out;
	struct ctf_enrich_thread *enrich;	/* NULL when both enrichers are off */
	struct ctf_engine *engine;
	struct ctf_kernel_prep *prep;
	struct ctf_netns_watch *watch;		/* netns = all, else NULL */
	struct ctf_metrics_server *metrics;	/* NULL: [daemon] metrics off */
	struct ctf_privdrop *drop;		/* [daemon] user, planned at start */
	GMainLoop *loop;
	int exit_code;
};

static struct ctf_ct_filter *build_filter(const struct ctf_run_config *cfg, GError **error)
{
	g_autoptr(ctf_ct_filter) f = ctf_ct_filter_new();

	for (char **p = cfg->protos; p && *p; p++)
		if (!ctf_ct_filter_add_proto(f, *p, error))
			return NULL;
	for (char **p = cfg->cidrs; p && *p; p++)
		if (!ctf_ct_filter_add_cidr(f, *p, error))
			return NULL;
	for (char **p = cfg->zones; p && *p; p++)
		if (!ctf_ct_filter_add_zone(f, *p, error))
			return NULL;
	for (char **p = cfg->marks; p && *p; p++)
		if (!ctf_ct_filter_add_mark(f, *p, error))
			return NULL;
	/* ctflow's own export traffic is never reported */
	for (char **p = cfg->collectors; p && *p; p++) {
		struct ctf_export_url u;
		gboolean ok;

		if (!ctf_export_url_parse(*p, &u, error))
			return NULL;
		ok = u.scheme != CTF_EXPORT_UDP && u.scheme != CTF_EXPORT_TCP ? TRUE :
		     ctf_ct_filter_exclude_collector(f, u.scheme == CTF_EXPORT_TCP ? 6 : 17,
						     u.host, u.port, error);
		ctf_export_url_clear(&u);
		if (!ok)
			return NULL;
	}
	return g_steal_pointer(&f);
}

static gboolean kernel_filter(void *filter, int fd, GError **error)
{
	return ctf_ct_filter_attach_kernel(filter, fd, error);
}

static struct ctf_export_thread *build_output(const struct ctf_run_config *cfg, GError **error)
{
	struct ctf_export_config ec = cfg->export;
	g_autoptr(ctf_exporter) ex = NULL;

	ec.live = true;
	ex = ctf_exporter_new(&ec, error);
	if (!ex)
		return NULL;
	for (char **p = cfg->collectors; p && *p; p++)
		if (!ctf_exporter_add_url(ex, *p, error))
			return NULL;
	if (!cfg->collectors || !cfg->collectors[0]) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		ctf_exporter_add_view(ex, strcmp(cfg->format, "json") == 0 ? CTF_VIEW_JSON
									  : CTF_VIEW_TEXT, stdout);
	}
	/* started by the caller: at start-up only after the switch of user */
	return ctf_export_thread_new_paused(g_steal_pointer(&ex));
}

static struct ctf_enrich_thread *build_enrich(const struct ctf_run_config *cfg,
					       struct ctf_export_thread *out, GError **error)
{
	struct ctf_enrich_config ec;

	ctf_enrich_config_init(&ec);
	ec.process = cfg->enrich_process;
	ec.interfaces = cfg->enrich_interfaces;
	ec.sampling = cfg->sampling;
	/* netns = all: enrichment covers ctflow's own namespace */
	ec.netns = ctf_run_config_netns_all(cfg) ? NULL : cfg->netns;
	ec.capture_interfaces = cfg->capture_interfaces;
	ec.sample_every = cfg->sample_every;
	ec.snaplen = cfg->snaplen;
	return ctf_enrich_thread_new_paused(&ec, out, error);
}

/* Where the engine's records go: through enrichment when it is on. */
static struct ctf_record_sink run_sink(struct run *r)
{
	return r->enrich ? ctf_enrich_thread_sink(r->enrich) : ctf_export_thread_sink(r->out);
}

static struct ctf_engine *build_engine(struct run *r, GError **error)
{
	struct ctf_engine_config ec;
	struct ctf_record_sink sink = run_sink(r);

	ctf_engine_config_init(&ec);
	/* netns = all: the current one now, the others from the watcher */
	ec.netns = ctf_run_config_netns_all(&r->cfg) ? NULL : r->cfg.netns;
	ec.rcvbuf = r->cfg.rcvbuf;
	ec.reliable = r->cfg.reliable;
	ec.active_timeout_s = r->cfg.active_timeout_s;
	ec.max_flows = r->cfg.max_flows;
	ec.filter = ctf_ct_filter_match;
	ec.kernel_filter = kernel_filter;
	ec.filter_data = r->filter;
	return ctf_engine_new(&ec, &sink, error);
}

static gboolean finish_output(struct ctf_export_thread *th)
{
	g_autoptr(GError) error = NULL;

	if (ctf_export_thread_finish(th, &error))
		return TRUE;
	g_printerr("ctflow run: %s\n", error ? error->message : "export failed");
	return FALSE;
}

/* ---- netns = all: namespaces as the watcher finds them ---------------- */

static void send_netns_names(struct run *r)
{
	g_autoptr(GArray) names = NULL;

	if (!r->watch || !r->out)
		return;
	names = ctf_netns_watch_names(r->watch);
	ctf_export_thread_set_netns(r->out, names);
}

static void on_netns_added(void *userdata, const struct ctf_netns_info *ns)
{
	struct run *r = userdata;
	g_autoptr(GError) error = NULL;

	if (ns->path)	/* ctflow's own was prepared at start */
		ctf_kernel_prep_add_netns(r->prep, ns->path, ns->label, ns->ino);
	if (!ctf_engine_add_netns(r->engine, ns->path, ns->label, &error))
		g_warning("network namespace %s (netns %u): not read: %s",
			  ns->label ? ns->label : "host", ns->ino, error->message);
}

static void on_netns_removed(void *userdata, const struct ctf_netns_info *ns)
{
	struct run *r = userdata;

	g_message("network namespace %s (netns %u) vanished: no name under /run/netns and no "
		  "process in it any more", ns->label ? ns->label : "host", ns->ino);
	ctf_engine_remove_netns(r->engine, ns->ino);
	ctf_kernel_prep_remove_netns(r->prep, ns->ino, true);
}

static void on_netns_changed(void *userdata)
{
	send_netns_names(userdata);
}

static gboolean build_watch(struct run *r, GError **error)
{
	static const struct ctf_netns_watch_ops ops = {
		.added = on_netns_added, .removed = on_netns_removed, .changed = on_netns_changed,
	};
	struct ctf_netns_watch_config wc;

	ctf_netns_watch_config_init(&wc);
	wc.scan_s = r->cfg.netns_scan_s;
	r->watch = ctf_netns_watch_new(&wc, &ops, r, error);
	return r->watch != NULL;
}

static gboolean on_stop(gpointer userdata)
{
	struct run *r = userdata;

	g_main_loop_quit(r->loop);
	return G_SOURCE_REMOVE;
}

static bool strv_same(char **a, char **b)
{
	char *none[] = { NULL };

	return g_strv_equal((const char *const *)(a ?: none), (const char *const *)(b ?: none));
}

/* Whether SIGHUP changed anything about the outputs. Both configurations
 * were zeroed by ctf_run_config_init(), so memcmp sees no stray padding. */
static bool same_outputs(const struct ctf_run_config *a, const struct ctf_run_config *b)
{
	return strv_same(a->collectors, b->collectors) && g_strcmp0(a->format, b->format) == 0 &&
	       memcmp(&a->export, &b->export, sizeof(a->export)) == 0;
}

/* New outputs replace the old ones only after those finished: a file:
 * collector opened again while the old one still writes would lose what
 * the old one wrote. The engine is idle meanwhile (this runs on its
 * thread); events wait in the netlink buffer. */
static struct ctf_export_thread *replace_outputs(struct run *r, const struct ctf_run_config *fresh,
						 GError **error)
{
	struct ctf_export_thread *out;

	if (r->enrich)
		ctf_enrich_thread_sync(r->enrich);
	finish_output(r->out);
	ctf_export_thread_free(g_steal_pointer(&r->out));
	out = build_output(fresh, error);
	if (!out)	/* the running configuration's outputs worked a moment ago */
		out = build_output(&r->cfg, NULL);
	if (!out) {	/* and if even they fail now, records still go somewhere */
		struct ctf_run_config view;

		ctf_run_config_init(&view);
		out = build_output(&view, NULL);
		ctf_run_config_clear(&view);
	}
	if (out)
		ctf_export_thread_start(out);
	return out;
}

static void warn_restart_only(const struct ctf_run_config *a, const struct ctf_run_config *b)
{
	if (!strv_same(a->netns, b->netns) || a->rcvbuf != b->rcvbuf || a->reliable != b->reliable)
		g_printerr("ctflow run: SIGHUP: netns, rcvbuf and reliable take effect on restart\n");
	if (g_strcmp0(a->metrics, b->metrics) != 0)
		g_printerr("ctflow run: SIGHUP: metrics takes effect on restart\n");
	if (g_strcmp0(a->user, b->user) != 0)
		g_printerr("ctflow run: SIGHUP: [daemon] user takes effect on restart\n");
	if (a->enrich_process != b->enrich_process || a->enrich_interfaces != b->enrich_interfaces ||
	    a->sampling != b->sampling || a->sample_every != b->sample_every ||
	    a->snaplen != b->snaplen || !strv_same(a->capture_interfaces, b->capture_interfaces))
		g_printerr("ctflow run: SIGHUP: [enrich] settings take effect on restart\n");
}

static gboolean on_reload(gpointer userdata)
{
	struct run *r = userdata;
	g_autoptr(GError) error = NULL;
	struct ctf_run_config fresh;
	struct ctf_ct_filter *filter;
	struct ctf_record_sink sink;
	bool keep_outputs;

	if (!ctf_run_config_reload(&fresh, r->argv, &error)) {
		g_printerr("ctflow run: SIGHUP: %s; keeping the running configuration\n",
			   error->message);
		return G_SOURCE_CONTINUE;
	}
	filter = build_filter(&fresh, &error);
	if (!filter) {
		g_printerr("ctflow run: SIGHUP: %s; keeping the running configuration\n",
			   error->message);
		ctf_run_config_clear(&fresh);
		return G_SOURCE_CONTINUE;
	}
	warn_restart_only(&fresh, &r->cfg);
	if (!ctf_log_setup(fresh.log_level, fresh.log_target, &error))	/* validated by the load */
		g_clear_error(&error);
	keep_outputs = same_outputs(&fresh, &r->cfg);
	if (!keep_outputs) {
		r->out = replace_outputs(r, &fresh, &error);
		if (error)
			g_printerr("ctflow run: SIGHUP: %s; keeping the previous outputs\n",
				   error->message);
		if (r->enrich)
			ctf_enrich_thread_set_output(r->enrich, r->out);
		send_netns_names(r);	/* a new exporter knows none */
	}
	sink = r->enrich ? ctf_enrich_thread_sink(r->enrich) : ctf_export_thread_sink(r->out);
	ctf_engine_reconfigure(r->engine, &sink, ctf_ct_filter_match, kernel_filter, filter,
			       fresh.active_timeout_s);
	ctf_ct_filter_free(r->filter);
	r->filter = filter;
	if (error) {
		/* outputs as before: keep their configuration with them */
		g_strfreev(fresh.collectors);
		fresh.collectors = g_strdupv(r->cfg.collectors);
		g_free(fresh.format);
		fresh.format = g_strdup(r->cfg.format);
		fresh.export = r->cfg.export;
	}
	ctf_run_config_clear(&r->cfg);
	r->cfg = fresh;
	g_printerr("ctflow run: configuration reloaded%s\n", keep_outputs ? " (outputs unchanged)" : "");
	return G_SOURCE_CONTINUE;
}

static void print_summary(struct run *r)
{
	struct ctf_engine_stats s;

	ctf_engine_get_stats(r->engine, &s);
	g_printerr("ctflow run: %" G_GUINT64_FORMAT " new, %" G_GUINT64_FORMAT " update, %"
		   G_GUINT64_FORMAT " destroy events, %" G_GUINT64_FORMAT " dumps, %"
		   G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " overruns (%" G_GUINT64_FORMAT
		   " resyncs), %" G_GUINT64_FORMAT " filtered\n",
		   s.events[CTF_CT_NEW], s.events[CTF_CT_UPDATE], s.events[CTF_CT_DESTROY],
		   s.dumps, s.records, s.enobufs, s.resyncs, s.filtered);
	if (r->enrich) {
		struct ctf_enrich_stats es;

		ctf_enrich_thread_get_stats(r->enrich, &es);
		g_printerr("ctflow run: enrichment: %" G_GUINT64_FORMAT " new flows looked up, owner "
			   "found for %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " without a local socket, %"
			   G_GUINT64_FORMAT " missed; %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			   " records with an owner, %" G_GUINT64_FORMAT " with interfaces\n",
			   es.flows_new, es.proc_hits, es.proc_not_local, es.proc_misses,
			   es.records_with_proc, es.records, es.records_with_ifs);
	}
}

/* Metrics: a scrape runs on the main context, between engine events, and
 * only copies counters. */
static void collect_metrics(GString *out, void *userdata)
{
	struct run *r = userdata;
	struct ctf_metrics_probe p = { .engine = r->engine, .out = r->out, .enrich = r->enrich };

	ctf_metrics_render_probe(out, &p);
}

static gboolean check_health(GString *reason, void *userdata)
{
	struct run *r = userdata;

	return ctf_engine_is_reading(r->engine, reason);
}

static int setup(struct run *r, GError **error)
{
	r->filter = build_filter(&r->cfg, error);
	if (!r->filter)
		return CTF_EXIT_USAGE;
	/* listening before privileges are dropped: any port can be bound */
	if (r->cfg.metrics && *r->cfg.metrics) {
		r->metrics = ctf_metrics_server_new(r->cfg.metrics, collect_metrics, check_health,
						    r, error);
		if (!r->metrics)
			return g_error_matches(*error, CTF_ERROR, CTF_ERROR_USAGE) ? CTF_EXIT_USAGE
										    : CTF_EXIT_FAILURE;
	}
	r->prep = ctf_kernel_prep_new(&r->cfg, error);
	if (!r->prep)
		return CTF_EXIT_FAILURE;
	r->out = build_output(&r->cfg, error);
	if (!r->out)
		return CTF_EXIT_USAGE;
	if (r->cfg.enrich_process || r->cfg.enrich_interfaces) {
		r->enrich = build_enrich(&r->cfg, r->out, error);
		if (!r->enrich)
			return CTF_EXIT_FAILURE;
	}
	r->engine = build_engine(r, error);
	if (!r->engine)
		return CTF_EXIT_FAILURE;
	if (ctf_run_config_netns_all(&r->cfg) && !build_watch(r, error))
		return CTF_EXIT_FAILURE;
	/* every privileged socket is open and no thread runs yet: the one
	 * moment to switch users (privdrop.h); the threads inherit the result */
	if (!ctf_privdrop_apply(r->drop, error))
		return CTF_EXIT_FAILURE;
	ctf_export_thread_start(r->out);
	if (r->enrich)
		ctf_enrich_thread_start(r->enrich);
	return CTF_EXIT_OK;
}

/* Type=notify: tell systemd, log (never fail) when that does not work. */
static void notify(const char *state)
{
	int r = ctf_sd_notify(state);

	if (r < 0)
		g_printerr("ctflow run: telling the service manager %s: %s\n", state, g_strerror(-r));
}

int ctf_cmd_run(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	struct run r = { .exit_code = CTF_EXIT_OK };
	sigset_t held, old_mask;
	int rc;

	g_set_prgname("ctflow run");
	r.argv = g_strdupv(argv);
	if (!ctf_run_config_load(&r.cfg, &argc, &argv, NULL, &error)) {
		g_printerr("ctflow run: %s\n", error->message);
		g_strfreev(r.argv);
		return CTF_EXIT_USAGE;
	}
	if (!ctf_log_setup(r.cfg.log_level, r.cfg.log_target, &error)) {
		g_printerr("ctflow run: %s\n", error->message);
		ctf_run_config_clear(&r.cfg);
		g_strfreev(r.argv);
		return CTF_EXIT_USAGE;
	}
	/* From here until the handlers below are in place, a stop or reload
	 * signal waits (pending) instead of killing the process halfway
	 * through setup with its nft tables installed. Threads started in
	 * between keep these signals blocked, so the main thread takes them. */
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &held, &old_mask);
	r.drop = ctf_privdrop_new(&r.cfg, &error);
	if (!r.drop) {
		g_printerr("ctflow run: %s\n", error->message);
		rc = g_error_matches(error, CTF_ERROR, CTF_ERROR_USAGE) ? CTF_EXIT_USAGE
									: CTF_EXIT_FAILURE;
		goto out;
	}
	rc = setup(&r, &error);
	if (rc != CTF_EXIT_OK) {
		g_printerr("ctflow run: %s\n", error->message);
		goto out;
	}
	r.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_stop, &r);
	g_unix_signal_add(SIGINT, on_stop, &r);
	g_unix_signal_add(SIGHUP, on_reload, &r);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);	/* pending ones run now */
	ctf_engine_attach(r.engine, NULL);
	for (size_t i = 0; i < ctf_engine_n_sources(r.engine); i++)
		g_printerr("ctflow run: reading conntrack events in %s\n",
			   ctf_engine_source_name(r.engine, i));
	if (r.metrics) {
		ctf_metrics_server_attach(r.metrics, NULL);
		g_printerr("ctflow run: metrics on http://%s/metrics\n",
			   ctf_metrics_server_address(r.metrics));
	}
	notify("READY=1");
	if (r.watch)
		ctf_netns_watch_attach(r.watch, NULL);
	g_main_loop_run(r.loop);
	/* namespaces stay as they are now: the shutdown ends their flows */
	g_clear_pointer(&r.watch, ctf_netns_watch_free);
	notify("STOPPING=1");
	/* not served while the final dump and the export finish: refused
	 * rather than left hanging */
	g_clear_pointer(&r.metrics, ctf_metrics_server_free);

	ctf_engine_shutdown(r.engine);
	if (r.enrich)
		ctf_enrich_thread_finish(r.enrich);
	if (!finish_output(r.out))
		rc = CTF_EXIT_FAILURE;
	print_summary(&r);
out:
	ctf_metrics_server_free(r.metrics);
	ctf_engine_free(r.engine);
	ctf_enrich_thread_free(r.enrich);
	ctf_export_thread_free(r.out);
	ctf_kernel_prep_free(r.prep);
	ctf_netns_watch_free(r.watch);
	ctf_ct_filter_free(r.filter);
	ctf_privdrop_free(r.drop);
	ctf_run_config_clear(&r.cfg);
	g_strfreev(r.argv);
	if (r.loop)
		g_main_loop_unref(r.loop);
	return rc;
}
