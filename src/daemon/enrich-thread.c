/*
 * The enrichment thread (see include/ctflow/enrich-thread.h).
 *
 * Items (new-flow entries and records, in the engine's order) travel in
 * batches through a GAsyncQueue, like the export thread's. Between
 * batches, and at least every 20 ms, the interface enrichers read their
 * samples and link/route events. Owners found for new flows wait in a
 * table keyed by flowId until the flow's last record leaves.
 */
#include <errno.h>
#include <string.h>

#include "ctflow/enrich-interface.h"
#include "ctflow/enrich-process.h"
#include "ctflow/enrich-thread.h"
#include "ctflow/error.h"
#include "ctflow/export.h"
#include "ctflow/kernel-settings.h"

#define LOG_DOMAIN "ctflow-enrich"
#define BATCH_ITEMS 256
#define POLL_US (20 * 1000)

enum item_kind { ITEM_NEW, ITEM_RECORD };

struct item {
	uint8_t kind;
	uint32_t netns;
	union {
		struct ctf_ct_entry entry;
		struct ctf_record record;
	};
};

struct batch {
	guint n;
	gboolean stop;
	struct item items[BATCH_ITEMS];
};

/* One namespace: its name (for entering it) and its interface enricher. */
struct ns {
	char *name;			/* NULL: the current namespace */
	uint32_t ino;
	struct ctf_if_enricher *ifs;
	uint64_t links_gen;		/* link table generation last exported */
};

struct ctf_enrich_thread {
	struct ctf_enrich_config cfg;
	GMutex out_lock;		/* held while a batch is passed on */
	struct ctf_export_thread *out;
	struct ctf_proc_enricher *procs;
	GPtrArray *ns;			/* struct ns* */
	GHashTable *owners;		/* netns << 32 | conntrack id (gint64*) ->
					 * struct ctf_proc_info* */
	GAsyncQueue *queue;
	GThread *thread;
	struct batch *cur;		/* engine side */
	GMutex stats_lock;
	GCond done_cond;		/* signalled after each batch (with stats_lock) */
	uint64_t batches_in;		/* engine side */
	uint64_t batches_done;		/* enrichment side, under stats_lock */
	struct ctf_enrich_stats stats;
	gboolean finished;
};

void ctf_enrich_config_init(struct ctf_enrich_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->process = true;
	cfg->interfaces = true;
	cfg->sampling = true;
	cfg->sample_every = 64;
	cfg->snaplen = 128;
}

static struct ns *ns_find(struct ctf_enrich_thread *th, uint32_t ino)
{
	for (guint i = 0; i < th->ns->len; i++) {
		struct ns *n = g_ptr_array_index(th->ns, i);

		if (n->ino == ino)
			return n;
	}
	return NULL;
}

/* The conntrack tuples a record came from (see ct-table.c record_init). */
static void entry_from_record(const struct ctf_record *r, struct ctf_ct_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->family = r->family;
	e->orig.proto = e->reply.proto = r->proto;
	e->orig.src = r->src;
	e->orig.dst = r->dst;
	e->orig.sport = r->sport;
	e->orig.dport = r->dport;
	e->orig.icmp_type = e->reply.icmp_type = (uint8_t)(r->icmp_type_code >> 8);
	e->orig.icmp_code = e->reply.icmp_code = (uint8_t)r->icmp_type_code;
	e->reply.src = r->nat ? r->post_dst : r->dst;
	e->reply.dst = r->nat ? r->post_src : r->src;
	e->reply.sport = r->nat ? r->post_dport : r->dport;
	e->reply.dport = r->nat ? r->post_sport : r->sport;
	e->zone = (uint16_t)r->ct_zone;
	e->id = r->ct_id;
}

static void on_new(struct ctf_enrich_thread *th, uint32_t netns, const struct ctf_ct_entry *e)
{
	struct ns *n = ns_find(th, netns);
	struct ctf_proc_info info;
	gint64 *key;
	int r;

	if (!th->procs || !n)
		return;
	r = ctf_proc_enricher_lookup(th->procs, n->name, e, &info);
	g_mutex_lock(&th->stats_lock);
	th->stats.flows_new++;
	if (r == 0)
		th->stats.proc_hits++;
	else if (r == -ENOENT || r == -EPROTONOSUPPORT)
		th->stats.proc_not_local++;	/* forwarded, or no sockets (ICMP) */
	else
		th->stats.proc_misses++;
	g_mutex_unlock(&th->stats_lock);
	if (r != 0)
		return;
	key = g_new(gint64, 1);
	*key = (gint64)((uint64_t)netns << 32 | e->id);
	g_hash_table_replace(th->owners, key, g_memdup2(&info, sizeof(info)));
}

static void on_record(struct ctf_enrich_thread *th, struct ctf_record *r)
{
	gint64 key = (gint64)((uint64_t)r->netns_ino << 32 | r->ct_id);
	struct ctf_proc_info *owner = g_hash_table_lookup(th->owners, &key);
	struct ns *n = ns_find(th, r->netns_ino);
	struct ctf_ct_entry e;

	entry_from_record(r, &e);
	if (owner) {
		/* RTT and retransmissions as of now, while the socket lives */
		if (r->proto == 6)
			(void)ctf_proc_enricher_refresh_tcp(th->procs, n ? n->name : NULL, &e, owner);
		r->proc = *owner;
		r->has_proc = true;
	}
	if (n && n->ifs) {
		struct ctf_if_info ifs;

		ctf_if_enricher_lookup(n->ifs, &e, &ifs);
		r->ingress_if = ifs.ingress_if;
		r->egress_if = ifs.egress_if;
	}
	g_mutex_lock(&th->stats_lock);
	th->stats.records++;
	th->stats.records_with_proc += r->has_proc;
	th->stats.records_with_ifs += r->ingress_if || r->egress_if;
	g_mutex_unlock(&th->stats_lock);
	if (r->end_reason != 2 && owner)
		g_hash_table_remove(th->owners, &key);	/* the flow's last record */
}

/* Interface names of every namespace read, for the options records.
 * ifindexes are per namespace: with several, a clash keeps the last. */
static GArray *interface_names(struct ctf_enrich_thread *th)
{
	GArray *names = g_array_new(FALSE, TRUE, sizeof(struct ctf_if_name));

	for (guint i = 0; i < th->ns->len; i++) {
		struct ns *n = g_ptr_array_index(th->ns, i);
		const struct ctf_if_link *links;
		size_t count = 0;

		if (!n->ifs)
			continue;
		links = ctf_if_enricher_links(n->ifs, &count);
		for (size_t k = 0; k < count; k++) {
			struct ctf_if_name nm = { .ifindex = links[k].ifindex };

			g_strlcpy(nm.name, links[k].name, sizeof(nm.name));
			g_strlcpy(nm.description, links[k].alias, sizeof(nm.description));
			g_array_append_val(names, nm);
		}
	}
	return names;
}

/* Read samples and link/route events; pass a changed link table on. */
static void poll_interfaces(struct ctf_enrich_thread *th)
{
	bool changed = false;

	for (guint i = 0; i < th->ns->len; i++) {
		struct ns *n = g_ptr_array_index(th->ns, i);
		uint64_t gen;

		if (!n->ifs)
			continue;
		(void)ctf_if_enricher_process(n->ifs);
		gen = ctf_if_enricher_links_generation(n->ifs);
		if (gen != n->links_gen) {
			n->links_gen = gen;
			changed = true;
		}
	}
	if (changed) {
		g_autoptr(GArray) names = interface_names(th);

		g_mutex_lock(&th->out_lock);
		ctf_export_thread_set_interfaces(th->out, names);
		g_mutex_unlock(&th->out_lock);
	}
}

static gpointer enrich_main(gpointer data)
{
	struct ctf_enrich_thread *th = data;
	gboolean stop = FALSE;

	while (!stop) {
		struct batch *b = g_async_queue_timeout_pop(th->queue, POLL_US);

		poll_interfaces(th);
		if (!b)
			continue;
		g_mutex_lock(&th->out_lock);
		for (guint i = 0; i < b->n; i++) {
			struct item *it = &b->items[i];

			if (it->kind == ITEM_NEW) {
				on_new(th, it->netns, &it->entry);
			} else {
				on_record(th, &it->record);
				ctf_export_thread_push(th->out, &it->record);
			}
		}
		ctf_export_thread_commit(th->out);
		g_mutex_unlock(&th->out_lock);
		stop = b->stop;
		g_free(b);
		g_mutex_lock(&th->stats_lock);
		th->batches_done++;
		g_cond_broadcast(&th->done_cond);
		g_mutex_unlock(&th->stats_lock);
	}
	return NULL;
}

static struct item *next_item(struct ctf_enrich_thread *th)
{
	if (!th->cur) {
		th->cur = g_malloc(sizeof(struct batch));
		th->cur->n = 0;
		th->cur->stop = FALSE;
	}
	return &th->cur->items[th->cur->n++];
}

static void hand_over(struct ctf_enrich_thread *th, gboolean stop)
{
	struct batch *b = th->cur;

	if (!b && !stop)
		return;
	if (!b)
		b = g_new0(struct batch, 1);
	b->stop = stop;
	th->cur = NULL;
	th->batches_in++;
	g_async_queue_push(th->queue, b);
}

static void sink_push(void *self, const struct ctf_record *rec)
{
	struct ctf_enrich_thread *th = self;
	struct item *it = next_item(th);

	it->kind = ITEM_RECORD;
	it->record = *rec;
	if (th->cur->n == BATCH_ITEMS)
		hand_over(th, FALSE);
}

static void sink_flow_new(void *self, uint32_t netns, const struct ctf_ct_entry *e)
{
	struct ctf_enrich_thread *th = self;
	struct item *it;

	if (!th->procs)
		return;
	it = next_item(th);
	it->kind = ITEM_NEW;
	it->netns = netns;
	it->entry = *e;
	if (th->cur->n == BATCH_ITEMS)
		hand_over(th, FALSE);
}

static void sink_commit(void *self)
{
	struct ctf_enrich_thread *th = self;

	if (th->cur && th->cur->n)
		hand_over(th, FALSE);
}

struct ctf_record_sink ctf_enrich_thread_sink(struct ctf_enrich_thread *th)
{
	return (struct ctf_record_sink){
		.self = th, .push = sink_push, .flow_new = sink_flow_new, .commit = sink_commit,
	};
}

static void ns_free(gpointer p)
{
	struct ns *n = p;

	ctf_if_enricher_free(n->ifs);
	g_free(n->name);
	g_free(n);
}

static struct ns *ns_open(const struct ctf_enrich_config *cfg, const char *name, GError **error)
{
	struct ns *n = g_new0(struct ns, 1);

	n->name = g_strdup(name);
	if (!ctf_netns_inode(name, &n->ino, error)) {
		ns_free(n);
		return NULL;
	}
	if (cfg->interfaces) {
		struct ctf_if_config ic;

		ctf_if_config_init(&ic);
		ic.netns = name;
		ic.sampling = cfg->sampling;
		ic.interfaces = (const char *const *)cfg->capture_interfaces;
		ic.sample_every = cfg->sample_every;
		ic.snaplen = cfg->snaplen;
		n->ifs = ctf_if_enricher_new(&ic, error);
		if (!n->ifs) {
			ns_free(n);
			return NULL;
		}
	}
	return n;
}

struct ctf_enrich_thread *ctf_enrich_thread_new(const struct ctf_enrich_config *cfg,
						struct ctf_export_thread *out, GError **error)
{
	g_autoptr(ctf_enrich_thread) th = g_new0(struct ctf_enrich_thread, 1);
	bool named = cfg->netns && cfg->netns[0];
	size_t n = named ? g_strv_length(cfg->netns) : 1;

	th->cfg = *cfg;
	th->out = out;
	g_mutex_init(&th->stats_lock);
	g_mutex_init(&th->out_lock);
	g_cond_init(&th->done_cond);
	th->ns = g_ptr_array_new_with_free_func(ns_free);
	th->owners = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	th->queue = g_async_queue_new();
	if (cfg->process) {
		struct ctf_proc_enricher_config pc;

		ctf_proc_enricher_config_init(&pc);
		th->procs = ctf_proc_enricher_new(&pc, error);
		if (!th->procs)
			return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct ns *ns = ns_open(cfg, named ? cfg->netns[i] : NULL, error);

		if (!ns)
			return NULL;
		g_ptr_array_add(th->ns, ns);
	}
	th->thread = g_thread_new("ctflow-enrich", enrich_main, th);
	return g_steal_pointer(&th);
}

void ctf_enrich_thread_set_output(struct ctf_enrich_thread *th, struct ctf_export_thread *out)
{
	g_mutex_lock(&th->out_lock);
	th->out = out;
	g_mutex_unlock(&th->out_lock);
}

void ctf_enrich_thread_sync(struct ctf_enrich_thread *th)
{
	hand_over(th, FALSE);
	g_mutex_lock(&th->stats_lock);
	while (th->thread && th->batches_done < th->batches_in)
		g_cond_wait(&th->done_cond, &th->stats_lock);
	g_mutex_unlock(&th->stats_lock);
}

void ctf_enrich_thread_finish(struct ctf_enrich_thread *th)
{
	if (th->finished || !th->thread)
		return;
	hand_over(th, TRUE);
	g_thread_join(th->thread);
	th->thread = NULL;
	th->finished = TRUE;
}

void ctf_enrich_thread_get_stats(struct ctf_enrich_thread *th, struct ctf_enrich_stats *ret)
{
	g_mutex_lock(&th->stats_lock);
	*ret = th->stats;
	g_mutex_unlock(&th->stats_lock);
}

void ctf_enrich_thread_free(struct ctf_enrich_thread *th)
{
	struct batch *b;

	if (!th)
		return;
	ctf_enrich_thread_finish(th);
	while (th->queue && (b = g_async_queue_try_pop(th->queue)) != NULL)
		g_free(b);
	if (th->queue)
		g_async_queue_unref(th->queue);
	g_free(th->cur);
	g_ptr_array_unref(th->ns);
	g_hash_table_destroy(th->owners);
	ctf_proc_enricher_free(th->procs);
	g_mutex_clear(&th->stats_lock);
	g_mutex_clear(&th->out_lock);
	g_cond_clear(&th->done_cond);
	g_free(th);
}
