/*
 * The enrichment thread (see include/ctflow/enrich-thread.h).
 *
 * Items (new-flow entries and records, in the engine's order) travel in
 * batches through a GAsyncQueue, like the export thread's; recycled
 * batches go back to the engine through a second queue. The thread takes
 * whatever is queued as one round: first the owners of its new flows
 * (one epoch of the process enricher, so a socket's owner is read from
 * /proc once per round), then, at most every 5 ms and at least every
 * 20 ms, the interface enrichers' samples and link/route events, then the
 * records in order. During a burst of new flows rounds are 2 ms apart
 * (see BURST_ITEMS). Owners found for new flows wait in a table keyed by
 * namespace and conntrack id until the flow's last record leaves; flows
 * of one process share its strings.
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
#define ROUND_BATCHES 256		/* batches enriched together (one epoch) */
#define IF_POLL_US (5 * 1000)		/* samples and link events at most this
					 * often while batches keep coming (they
					 * reach the ring up to 50 ms late anyway) */
/* A burst of new flows (more than BURST_ITEMS items in a RATE_WINDOW_US)
 * is enriched in rounds LINGER_US apart instead of at every hand-over:
 * a wake-up per engine commit costs more than the lookups it serves, and
 * keeps the CPU from idling, which makes the engine itself read its events
 * one by one. Outside bursts every batch is looked at at once. */
#define RATE_WINDOW_US (10 * 1000)
#define BURST_ITEMS 50			/* per window: 5,000 items a second */
#define LINGER_US (2 * 1000)

enum item_kind { ITEM_NEW, ITEM_RECORD };

struct item {
	uint8_t kind;
	uint32_t netns;
	struct flow_owner *owner;	/* ITEM_NEW: found by look_up_owners() */
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

/*
 * The owner of a flow: its process, shared by all the flows the process
 * owns (a burst of flows from one program costs one small allocation per
 * flow, not a copy of the process's strings), and the TCP figures of the
 * flow's own socket. Only the enrichment thread touches them.
 */
struct proc_ref {
	unsigned refs;
	struct ctf_proc_info info;	/* tcp fields 0 */
};

struct flow_owner {
	gint64 key;			/* netns << 32 | conntrack id: the table's key */
	struct proc_ref *proc;
	uint32_t tcp_rtt_us;
	uint32_t tcp_retrans;
};

#define PROC_SLOTS 64			/* recently interned processes, by pid */

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
	bool if_resend;			/* out is new: send it the interface names */
	struct ctf_proc_enricher *procs;
	GPtrArray *ns;			/* struct ns* */
	GHashTable *owners;		/* &flow_owner.key -> struct flow_owner* */
	struct proc_ref *procs_seen[PROC_SLOTS];	/* one reference each */
	int64_t polled_us;		/* interfaces last polled */
	int64_t window_us;		/* the current rate window began */
	guint window_items;		/* items handed over in it so far */
	bool burst;			/* the last full window was a burst */
	struct ctf_enrich_stats batch_stats;	/* enrichment side, published
						 * after each round */
	GAsyncQueue *queue;
	GAsyncQueue *spare;		/* empty batches for the engine to reuse */
	GThread *thread;
	struct batch *cur;		/* engine side */
	GMutex stats_lock;
	GCond done_cond;		/* signalled after each batch (with stats_lock) */
	uint64_t batches_in;		/* engine side */
	uint64_t batches_done;		/* enrichment side, under stats_lock */
	uint64_t items_in;		/* engine side */
	uint64_t items_done;		/* enrichment side, under stats_lock */
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

static void proc_unref(struct proc_ref *p)
{
	if (p && --p->refs == 0)
		g_free(p);
}

static void flow_owner_free(gpointer p)
{
	struct flow_owner *fo = p;

	proc_unref(fo->proc);
	g_free(fo);
}

static bool proc_same(const struct ctf_proc_info *a, const struct ctf_proc_info *b)
{
	return a->pid == b->pid && a->uid == b->uid && !strcmp(a->comm, b->comm) &&
	       !strcmp(a->exe, b->exe) && !strcmp(a->user, b->user) &&
	       !strcmp(a->container_id, b->container_id);
}

/* A reference to @info's process, shared with earlier flows of the same
 * process while nothing about it changed. */
static struct proc_ref *proc_intern(struct ctf_enrich_thread *th, const struct ctf_proc_info *info)
{
	struct proc_ref **slot = &th->procs_seen[info->pid % PROC_SLOTS];

	if (!*slot || !proc_same(&(*slot)->info, info)) {
		proc_unref(*slot);
		*slot = g_new(struct proc_ref, 1);
		(*slot)->refs = 1;
		(*slot)->info = *info;
		(*slot)->info.tcp_rtt_us = (*slot)->info.tcp_retrans = 0;
	}
	(*slot)->refs++;
	return *slot;
}

/* The owner of a new flow, or NULL; counted. */
static struct flow_owner *look_up_owner(struct ctf_enrich_thread *th, uint32_t netns,
					const struct ctf_ct_entry *e)
{
	struct ns *n = ns_find(th, netns);
	struct ctf_proc_info info;
	struct flow_owner *fo;
	int r;

	if (!th->procs || !n)
		return NULL;
	r = ctf_proc_enricher_lookup(th->procs, n->name, e, &info);
	th->batch_stats.flows_new++;
	if (r == 0)
		th->batch_stats.proc_hits++;
	else if (r == -ENOENT || r == -EPROTONOSUPPORT)
		th->batch_stats.proc_not_local++;	/* forwarded, or no sockets (ICMP) */
	else
		th->batch_stats.proc_misses++;
	if (r != 0)
		return NULL;
	fo = g_new(struct flow_owner, 1);
	fo->key = (gint64)((uint64_t)netns << 32 | e->id);
	fo->proc = proc_intern(th, &info);
	fo->tcp_rtt_us = info.tcp_rtt_us;
	fo->tcp_retrans = info.tcp_retrans;
	return fo;
}

static void on_record(struct ctf_enrich_thread *th, struct ctf_record *r)
{
	gint64 key = (gint64)((uint64_t)r->netns_ino << 32 | r->ct_id);
	struct flow_owner *owner = g_hash_table_lookup(th->owners, &key);
	struct ns *n = ns_find(th, r->netns_ino);
	struct ctf_ct_entry e;

	entry_from_record(r, &e);
	if (owner) {
		r->proc = owner->proc->info;
		r->proc.tcp_rtt_us = owner->tcp_rtt_us;
		r->proc.tcp_retrans = owner->tcp_retrans;
		/* RTT and retransmissions as of now, while the socket lives */
		if (r->proto == 6)
			(void)ctf_proc_enricher_refresh_tcp(th->procs, n ? n->name : NULL, &e,
							    &r->proc);
		r->has_proc = true;
	}
	if (n && n->ifs) {
		struct ctf_if_info ifs;

		ctf_if_enricher_lookup(n->ifs, &e, &ifs);
		r->ingress_if = ifs.ingress_if;
		r->egress_if = ifs.egress_if;
	}
	th->batch_stats.records++;
	th->batch_stats.records_with_proc += r->has_proc;
	th->batch_stats.records_with_ifs += r->ingress_if || r->egress_if;
	if (owner && r->end_reason != 2) {
		g_hash_table_remove(th->owners, &key);	/* the flow's last record */
	} else if (owner && r->proto == 6) {
		owner->tcp_rtt_us = r->proc.tcp_rtt_us;
		owner->tcp_retrans = r->proc.tcp_retrans;
	}
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
	bool changed;

	g_mutex_lock(&th->out_lock);
	changed = th->if_resend;
	th->if_resend = false;
	g_mutex_unlock(&th->out_lock);
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

/* The owners of a round's new flows first: a program that connects,
 * sends and closes is gone within a millisecond, and reading samples or
 * building records can wait for that. Every event of the round was read
 * before this: one epoch for the process enricher. */
static void look_up_owners(struct ctf_enrich_thread *th, struct batch **round, guint n)
{
	if (th->procs)
		ctf_proc_enricher_begin_batch(th->procs);
	for (guint k = 0; k < n; k++) {
		for (guint i = 0; i < round[k]->n; i++) {
			struct item *it = &round[k]->items[i];

			if (it->kind == ITEM_NEW)
				it->owner = look_up_owner(th, it->netns, &it->entry);
		}
	}
}

/* Then everything in the engine's order (a conntrack id may end one flow
 * and start the next in one round). */
static void pass_on(struct ctf_enrich_thread *th, struct batch **round, guint n)
{
	g_mutex_lock(&th->out_lock);
	for (guint k = 0; k < n; k++) {
		for (guint i = 0; i < round[k]->n; i++) {
			struct item *it = &round[k]->items[i];

			if (it->kind == ITEM_NEW) {
				if (it->owner)
					g_hash_table_replace(th->owners, &it->owner->key, it->owner);
			} else {
				on_record(th, &it->record);
				ctf_export_thread_push(th->out, &it->record);
			}
		}
	}
	ctf_export_thread_commit(th->out);
	g_mutex_unlock(&th->out_lock);
}

static void add_stats(struct ctf_enrich_stats *to, struct ctf_enrich_stats *from)
{
	to->flows_new += from->flows_new;
	to->proc_hits += from->proc_hits;
	to->proc_not_local += from->proc_not_local;
	to->proc_misses += from->proc_misses;
	to->records += from->records;
	to->records_with_proc += from->records_with_proc;
	to->records_with_ifs += from->records_with_ifs;
	memset(from, 0, sizeof(*from));
}

#define SPARE_BATCHES 4

/* Publish the round's counters, wake ctf_enrich_thread_sync(), recycle
 * the batches (the engine refills them: no allocation per batch). */
static guint finish_round(struct ctf_enrich_thread *th, struct batch **round, guint n)
{
	guint items = 0;

	for (guint k = 0; k < n; k++)
		items += round[k]->n;
	g_mutex_lock(&th->stats_lock);
	add_stats(&th->stats, &th->batch_stats);
	th->batches_done += n;
	th->items_done += items;
	g_cond_broadcast(&th->done_cond);
	g_mutex_unlock(&th->stats_lock);
	for (guint k = 0; k < n; k++) {
		if (!round[k]->stop && g_async_queue_length(th->spare) < SPARE_BATCHES)
			g_async_queue_push(th->spare, round[k]);
		else
			g_free(round[k]);
	}
	return items;
}

/* Whether new items come in a burst (see BURST_ITEMS); @items arrived
 * by @now. */
static bool in_burst(struct ctf_enrich_thread *th, int64_t now, guint items)
{
	int64_t span = now - th->window_us;

	if (span >= RATE_WINDOW_US) {
		th->burst = (int64_t)th->window_items * RATE_WINDOW_US >= (int64_t)BURST_ITEMS * span;
		th->window_us = now;
		th->window_items = 0;
	}
	th->window_items += items;
	return th->burst;
}

/* The next round: a batch (waiting up to POLL_US for one) and every
 * batch queued behind it; 0 on timeout. */
static guint next_round(struct ctf_enrich_thread *th, struct batch **round)
{
	guint n = 0;

	round[0] = g_async_queue_timeout_pop(th->queue, POLL_US);
	if (!round[0])
		return 0;
	for (n = 1; n < ROUND_BATCHES && !round[n - 1]->stop; n++) {
		round[n] = g_async_queue_try_pop(th->queue);
		if (!round[n])
			break;
	}
	return n;
}

static gpointer enrich_main(gpointer data)
{
	struct ctf_enrich_thread *th = data;
	struct batch *round[ROUND_BATCHES];
	gboolean stop = FALSE;

	while (!stop) {
		guint n = next_round(th, round);
		int64_t now = g_get_monotonic_time();

		if (n)
			look_up_owners(th, round, n);
		if (!n || now - th->polled_us >= IF_POLL_US) {
			th->polled_us = now;
			poll_interfaces(th);
		}
		if (!n)
			continue;
		pass_on(th, round, n);
		stop = round[n - 1]->stop;
		/* in a burst, let the next batches gather (see BURST_ITEMS),
		 * unless some are waiting already */
		if (in_burst(th, now, finish_round(th, round, n)) && n < ROUND_BATCHES && !stop)
			g_usleep(LINGER_US);
	}
	return NULL;
}

static struct item *next_item(struct ctf_enrich_thread *th)
{
	if (!th->cur) {
		th->cur = g_async_queue_try_pop(th->spare);
		if (!th->cur)
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
	th->items_in += b->n;
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

/* The process enricher opens a namespace's sockets at its first lookup,
 * entering it: do it now, while ctflow still may (privdrop.h). */
static void open_process_netns(struct ctf_enrich_thread *th)
{
	for (guint i = 0; th->procs && i < th->ns->len; i++) {
		struct ns *n = g_ptr_array_index(th->ns, i);
		int r = n->name ? ctf_proc_enricher_open_netns(th->procs, n->name) : 0;

		if (r < 0)
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "process lookups in network namespace "
			      "%s: %s; trying again at its first flow", n->name, g_strerror(-r));
	}
}

struct ctf_enrich_thread *ctf_enrich_thread_new_paused(const struct ctf_enrich_config *cfg,
						       struct ctf_export_thread *out,
						       GError **error)
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
	th->owners = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, flow_owner_free);
	th->queue = g_async_queue_new();
	th->spare = g_async_queue_new_full(g_free);
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
	open_process_netns(th);
	return g_steal_pointer(&th);
}

void ctf_enrich_thread_start(struct ctf_enrich_thread *th)
{
	if (!th->thread && !th->finished)
		th->thread = g_thread_new("ctflow-enrich", enrich_main, th);
}

struct ctf_enrich_thread *ctf_enrich_thread_new(const struct ctf_enrich_config *cfg,
						struct ctf_export_thread *out, GError **error)
{
	struct ctf_enrich_thread *th = ctf_enrich_thread_new_paused(cfg, out, error);

	if (th)
		ctf_enrich_thread_start(th);
	return th;
}

void ctf_enrich_thread_set_output(struct ctf_enrich_thread *th, struct ctf_export_thread *out)
{
	g_mutex_lock(&th->out_lock);
	th->out = out;
	th->if_resend = th->cfg.interfaces;	/* a new exporter knows no interface names */
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
	if (th->finished || !th->thread)	/* never started: nothing to pass on */
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

void ctf_enrich_thread_enrichers(const struct ctf_enrich_thread *th, bool *ret_process,
				 bool *ret_interfaces)
{
	*ret_process = th->cfg.process;
	*ret_interfaces = th->cfg.interfaces;
}

uint64_t ctf_enrich_thread_pending(struct ctf_enrich_thread *th)
{
	uint64_t done;

	g_mutex_lock(&th->stats_lock);
	done = th->items_done;
	g_mutex_unlock(&th->stats_lock);
	return th->items_in - done;
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
	if (th->spare)
		g_async_queue_unref(th->spare);
	g_free(th->cur);
	g_ptr_array_unref(th->ns);
	g_hash_table_destroy(th->owners);
	for (guint i = 0; i < PROC_SLOTS; i++)
		proc_unref(th->procs_seen[i]);
	ctf_proc_enricher_free(th->procs);
	g_mutex_clear(&th->stats_lock);
	g_mutex_clear(&th->out_lock);
	g_cond_clear(&th->done_cond);
	g_free(th);
}
