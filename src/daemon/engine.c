/*
 * The live engine (see include/ctflow/engine.h).
 *
 * Everything here runs on one thread: reading, parsing, the flow table and
 * the dumps. Only the export thread runs elsewhere. Reconciliation after a
 * dump always drains the event socket first, so a DESTROY queued while
 * the dump ran is applied before the table decides what vanished.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <glib-unix.h>

#include "ctflow/ct-source.h"
#include "ctflow/ct-table.h"
#include "ctflow/engine.h"
#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"

#define LOG_DOMAIN "ctflow-engine"
#define ENOBUFS_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

struct source {
	struct ctf_engine *engine;
	struct ctf_ct_source *ct;
	uint32_t netns;
	char *name;
	guint watch;
	guint retry;				/* pending resync round, on the default context */
	enum ctf_ct_dump_mode dump_mode;	/* for the dump in progress */
	int read_error;			/* of the last read, 0 once one succeeds */
};

struct ctf_engine {
	struct ctf_engine_config cfg;
	struct ctf_record_sink out;
	struct ctf_ct_table *table;
	GPtrArray *sources;		/* struct source* */
	GMainContext *ctx;
	bool attached;			/* reading (sources added later are watched) */
	guint timer;
	int64_t last_enobufs_log_us;
	uint64_t enobufs_since_log;
	struct ctf_engine_stats stats;
};

void ctf_engine_config_init(struct ctf_engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rcvbuf = 64u << 20;
	cfg->active_timeout_s = 60;
	cfg->max_flows = 1000000;
}

static void commit(struct ctf_engine *e)
{
	e->out.commit(e->out.self);
}

static uint64_t now_ms(void)
{
	return (uint64_t)g_get_real_time() / 1000;
}

static void on_record(const struct ctf_record *rec, void *userdata)
{
	struct ctf_engine *e = userdata;

	e->stats.records++;
	e->out.push(e->out.self, rec);
}

static bool keep(struct ctf_engine *e, const struct ctf_ct_entry *ent)
{
	if (e->cfg.filter && !e->cfg.filter(ent, e->cfg.filter_data)) {
		e->stats.filtered++;
		return false;
	}
	return true;
}

static void on_event(const struct ctf_ct_entry *ent, void *userdata)
{
	struct source *s = userdata;
	struct ctf_engine *e = s->engine;

	if (ent->msg < G_N_ELEMENTS(e->stats.events))
		e->stats.events[ent->msg]++;
	if (!keep(e, ent))
		return;
	if (ent->msg == CTF_CT_NEW && e->out.flow_new)
		e->out.flow_new(e->out.self, s->netns, ent);
	ctf_ct_table_event(e->table, s->netns, ent, now_ms());
}

static void on_dump_entry(const struct ctf_ct_entry *ent, void *userdata)
{
	struct source *s = userdata;
	struct ctf_engine *e = s->engine;

	e->stats.dump_entries++;
	if (!keep(e, ent))
		return;
	/* Adopted at start or after an overrun: still worth an owner. */
	if (s->dump_mode == CTF_CT_DUMP_ADOPT && e->out.flow_new)
		e->out.flow_new(e->out.self, s->netns, ent);
	ctf_ct_table_dump_entry(e->table, s->netns, ent, s->dump_mode, now_ms());
}

static void log_enobufs(struct ctf_engine *e, struct source *s)
{
	int64_t now = g_get_monotonic_time();

	e->enobufs_since_log++;
	if (now - e->last_enobufs_log_us < ENOBUFS_LOG_INTERVAL_US)
		return;
	g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING,
	      "conntrack events lost in %s (%" G_GUINT64_FORMAT " overruns since the last "
	      "report, %" G_GUINT64_FORMAT " in all): resynchronising with a table dump; "
	      "consider a larger --rcvbuf or --reliable", s->name, e->enobufs_since_log,
	      e->stats.enobufs);
	e->last_enobufs_log_us = now;
	e->enobufs_since_log = 0;
}

/* Drain the event socket; returns -ENOBUFS if an overrun was reported. */
static int drain(struct ctf_engine *e, struct source *s)
{
	int overrun = 0, r;

	for (int rounds = 0; rounds < 1024; rounds++) {
		r = ctf_ct_source_read(s->ct, on_event, s);
		if (r == -ENOBUFS) {
			e->stats.enobufs++;
			overrun = -ENOBUFS;
			continue;
		}
		s->read_error = r < 0 && r != -EAGAIN && r != -EINTR ? -r : 0;
		if (r < 0 && r != -EAGAIN && r != -EINTR) {
			e->stats.read_errors++;
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "reading conntrack events in %s: %s",
			      s->name, g_strerror(-r));
		}
		if (r <= 0)
			break;
	}
	return overrun;
}

/* Dump @s's table; returns true when events were lost meanwhile (the
 * overrun still needs answering). */
static bool dump(struct ctf_engine *e, struct source *s, enum ctf_ct_dump_mode mode,
		 bool resync)
{
	g_autoptr(GError) error = NULL;
	bool complete = true, overrun;

	e->stats.dumps++;
	s->dump_mode = mode;
	ctf_ct_table_dump_begin(e->table, s->netns);
	if (!ctf_ct_source_dump(s->ct, on_dump_entry, s, &complete, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "dumping conntrack table of %s: %s",
		      s->name, error->message);
		complete = false;
	}
	/* Apply what queued meanwhile (among it the DESTROYs of entries the
	 * dump itself reaped) before deciding what vanished; an overrun
	 * here leaves the dump unable to say what vanished. */
	overrun = drain(e, s) == -ENOBUFS;
	ctf_ct_table_dump_end(e->table, s->netns, resync, complete && !overrun, now_ms());
	commit(e);
	return overrun;
}

static gboolean on_resync_retry(gpointer userdata);

static void resync(struct ctf_engine *e, struct source *s)
{
	/* Each round answers the overruns seen so far. Bounded, so a kernel
	 * that overruns faster than we dump cannot starve the main loop:
	 * past the bound, another round is scheduled shortly. */
	for (int round = 0; round < 3; round++) {
		log_enobufs(e, s);
		e->stats.resyncs++;
		if (!dump(e, s, CTF_CT_DUMP_ADOPT, true))
			return;
	}
	if (!s->retry)
		s->retry = g_timeout_add_full(G_PRIORITY_DEFAULT, 200, on_resync_retry, s, NULL);
}

static gboolean on_resync_retry(gpointer userdata)
{
	struct source *s = userdata;

	s->retry = 0;
	resync(s->engine, s);
	return G_SOURCE_REMOVE;
}

static gboolean on_readable(int fd, GIOCondition cond, gpointer userdata)
{
	struct source *s = userdata;
	struct ctf_engine *e = s->engine;

	if (drain(e, s) == -ENOBUFS)
		resync(e, s);
	commit(e);
	return G_SOURCE_CONTINUE;
}

static gboolean on_interval(gpointer userdata)
{
	struct ctf_engine *e = userdata;

	for (guint i = 0; i < e->sources->len; i++) {
		struct source *s = g_ptr_array_index(e->sources, i);

		if (dump(e, s, CTF_CT_DUMP_INTERIM, false))
			resync(e, s);
	}
	return G_SOURCE_CONTINUE;
}

static void source_free(gpointer p)
{
	struct source *s = p;

	if (s->retry)
		g_source_remove(s->retry);
	ctf_ct_source_close(s->ct);
	g_free(s->name);
	g_free(s);
}

/* A kernel filter is an optimisation: user space filters everything too,
 * so a refusal is only worth a warning. */
static void attach_kernel_filter(struct ctf_engine *e, struct source *s)
{
	g_autoptr(GError) error = NULL;

	if (e->cfg.kernel_filter &&
	    !e->cfg.kernel_filter(e->cfg.filter_data, ctf_ct_source_fd(s->ct), &error))
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: %s; filtering in user space only",
		      s->name, error->message);
}

static struct source *source_open(struct ctf_engine *e, const char *netns, const char *label,
				  GError **error)
{
	struct ctf_ct_source_config sc;
	struct source *s;

	ctf_ct_source_config_init(&sc);
	sc.netns = netns;
	sc.label = label;
	sc.rcvbuf = e->cfg.rcvbuf;
	sc.reliable = e->cfg.reliable;
	s = g_new0(struct source, 1);
	s->engine = e;
	s->ct = ctf_ct_source_open(&sc, error);
	if (!s->ct) {
		g_free(s);
		return NULL;
	}
	s->netns = ctf_ct_source_netns_ino(s->ct);
	s->name = g_strdup_printf("%s (netns %u)", ctf_ct_source_name(s->ct), s->netns);
	attach_kernel_filter(e, s);
	return s;
}

struct ctf_engine *ctf_engine_new(const struct ctf_engine_config *cfg,
				  const struct ctf_record_sink *out, GError **error)
{
	g_autoptr(ctf_engine) e = g_new0(struct ctf_engine, 1);
	struct ctf_ct_table_config tc;
	bool named = cfg->netns && cfg->netns[0];
	size_t n = named ? g_strv_length(cfg->netns) : 1;

	e->cfg = *cfg;
	e->out = *out;
	e->sources = g_ptr_array_new_with_free_func(source_free);
	ctf_ct_table_config_init(&tc);
	tc.max_flows = cfg->max_flows;
	e->table = ctf_ct_table_new(&tc, on_record, e);
	if (!e->table) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "max-flows must be > 0");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		/* no namespace named: the current one (NULL) */
		struct source *s = source_open(e, named ? cfg->netns[i] : NULL, NULL, error);

		if (!s)
			return NULL;
		g_ptr_array_add(e->sources, s);
	}
	/* Sockets are subscribed before the dump, so nothing falls between. */
	for (guint i = 0; i < e->sources->len; i++) {
		struct source *s = g_ptr_array_index(e->sources, i);

		if (dump(e, s, CTF_CT_DUMP_ADOPT, false))
			resync(e, s);
	}
	return g_steal_pointer(&e);
}

static void start_timer(struct ctf_engine *e)
{
	GSource *src;

	if (!e->cfg.active_timeout_s)
		return;
	src = g_timeout_source_new_seconds(e->cfg.active_timeout_s);
	g_source_set_callback(src, on_interval, e, NULL);
	e->timer = g_source_attach(src, e->ctx);
	g_source_unref(src);
}

static void watch_source(struct ctf_engine *e, struct source *s)
{
	GSource *src = g_unix_fd_source_new(ctf_ct_source_fd(s->ct), G_IO_IN | G_IO_ERR);

	g_source_set_callback(src, G_SOURCE_FUNC(on_readable), s, NULL);
	s->watch = g_source_attach(src, e->ctx);
	g_source_unref(src);
}

static void unwatch_source(struct ctf_engine *e, struct source *s)
{
	GSource *src;

	if (s->watch && (src = g_main_context_find_source_by_id(e->ctx, s->watch)))
		g_source_destroy(src);
	s->watch = 0;
}

void ctf_engine_attach(struct ctf_engine *e, GMainContext *ctx)
{
	e->ctx = ctx;
	e->attached = true;
	for (guint i = 0; i < e->sources->len; i++)
		watch_source(e, g_ptr_array_index(e->sources, i));
	start_timer(e);
}

static void detach(struct ctf_engine *e)
{
	GSource *src;

	for (guint i = 0; i < e->sources->len; i++)
		unwatch_source(e, g_ptr_array_index(e->sources, i));
	e->attached = false;
	if (e->timer && (src = g_main_context_find_source_by_id(e->ctx, e->timer)))
		g_source_destroy(src);
	e->timer = 0;
}

void ctf_engine_shutdown(struct ctf_engine *e)
{
	detach(e);
	for (guint i = 0; i < e->sources->len; i++) {
		struct source *s = g_ptr_array_index(e->sources, i);

		/* Events first (a DESTROY carries exact final counters), then
		 * the final dump takes the counters of what is still alive;
		 * the DESTROYs it causes are applied before the flush. */
		if (s->retry) {
			g_source_remove(s->retry);
			s->retry = 0;
		}
		drain(e, s);
		dump(e, s, CTF_CT_DUMP_FINAL, false);
	}
	ctf_ct_table_flush(e->table, 0, CTF_END_FORCED, now_ms());
	commit(e);
}

void ctf_engine_reconfigure(struct ctf_engine *e, const struct ctf_record_sink *out,
			    ctf_engine_filter_fn filter, ctf_engine_kernel_filter_fn kernel_filter,
			    void *filter_data, unsigned active_timeout_s)
{
	GSource *src;

	commit(e);
	e->out = *out;
	e->cfg.filter = filter;
	e->cfg.kernel_filter = kernel_filter;
	e->cfg.filter_data = filter_data;
	for (guint i = 0; i < e->sources->len; i++)
		attach_kernel_filter(e, g_ptr_array_index(e->sources, i));
	if (active_timeout_s == e->cfg.active_timeout_s || !e->attached)
		return;
	e->cfg.active_timeout_s = active_timeout_s;
	if (e->timer && (src = g_main_context_find_source_by_id(e->ctx, e->timer)))
		g_source_destroy(src);
	start_timer(e);
}

void ctf_engine_get_stats(const struct ctf_engine *e, struct ctf_engine_stats *ret)
{
	struct ctf_ct_table_stats ts;

	*ret = e->stats;
	ctf_ct_table_get_stats(e->table, &ts);
	ret->flows_active = ts.flows_active;
	ret->flows_vanished = ts.flows_vanished;
	ret->flows_untracked = ts.flows_untracked;
}

size_t ctf_engine_n_sources(const struct ctf_engine *e)
{
	return e->sources->len;
}

const char *ctf_engine_source_name(const struct ctf_engine *e, size_t i)
{
	return ((struct source *)g_ptr_array_index(e->sources, i))->name;
}

const char *ctf_engine_source_netns(const struct ctf_engine *e, size_t i)
{
	return ctf_ct_source_name(((struct source *)g_ptr_array_index(e->sources, i))->ct);
}

void ctf_engine_source_stats(const struct ctf_engine *e, size_t i,
			     struct ctf_ct_source_stats *ret)
{
	ctf_ct_source_get_stats(((struct source *)g_ptr_array_index(e->sources, i))->ct, ret);
}

gboolean ctf_engine_is_reading(const struct ctf_engine *e, GString *reason)
{
	for (guint i = 0; i < e->sources->len; i++) {
		const struct source *s = g_ptr_array_index(e->sources, i);

		if (!s->watch) {
			if (reason)
				g_string_append_printf(reason, "not reading conntrack events in %s",
						       s->name);
			return FALSE;
		}
		if (s->read_error) {
			if (reason)
				g_string_append_printf(reason, "reading conntrack events in %s: %s",
						       s->name, g_strerror(s->read_error));
			return FALSE;
		}
	}
	return TRUE;
}

static struct source *find_source(struct ctf_engine *e, uint32_t netns, guint *ret_index)
{
	for (guint i = 0; i < e->sources->len; i++) {
		struct source *s = g_ptr_array_index(e->sources, i);

		if (s->netns == netns) {
			if (ret_index)
				*ret_index = i;
			return s;
		}
	}
	return NULL;
}

gboolean ctf_engine_add_netns(struct ctf_engine *e, const char *path, const char *label,
			      GError **error)
{
	uint64_t adopted = e->stats.dump_entries;
	struct source *s;
	uint32_t ino;

	if (!ctf_netns_inode(path, &ino, error))
		return FALSE;
	if (find_source(e, ino, NULL))
		return TRUE;
	s = source_open(e, path, label, error);
	if (!s)
		return FALSE;
	if (find_source(e, s->netns, NULL)) {	/* @path moved meanwhile */
		source_free(s);
		return TRUE;
	}
	g_ptr_array_add(e->sources, s);
	if (e->attached)
		watch_source(e, s);
	/* subscribed first, then dumped, exactly as at start */
	if (dump(e, s, CTF_CT_DUMP_ADOPT, false))
		resync(e, s);
	g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "network namespace %s: reading conntrack events "
	      "(%" G_GUINT64_FORMAT " entries adopted)", s->name, e->stats.dump_entries - adopted);
	return TRUE;
}

int ctf_engine_remove_netns(struct ctf_engine *e, uint32_t netns)
{
	uint64_t records = e->stats.records;
	g_autofree char *name = NULL;
	struct source *s;
	guint i;

	s = find_source(e, netns, &i);
	if (!s)
		return -ENOENT;
	unwatch_source(e, s);
	if (s->retry) {
		g_source_remove(s->retry);
		s->retry = 0;
	}
	/* as at shutdown: events first, then the last counters of the living */
	drain(e, s);
	dump(e, s, CTF_CT_DUMP_FINAL, false);
	ctf_ct_table_flush(e->table, netns, CTF_END_FORCED, now_ms());
	commit(e);
	name = g_strdup(s->name);
	g_ptr_array_remove_index(e->sources, i);	/* closes its sockets */
	records = e->stats.records - records;
	g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "network namespace %s: let go, sockets closed "
	      "(%" G_GUINT64_FORMAT " final records)", name, records);
	return (int)MIN(records, (uint64_t)INT_MAX);
}

void ctf_engine_free(struct ctf_engine *e)
{
	if (!e)
		return;
	if (e->ctx)
		detach(e);
	g_ptr_array_unref(e->sources);
	ctf_ct_table_free(e->table);
	g_free(e);
}
