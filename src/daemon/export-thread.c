/*
 * The export thread (see include/ctflow/export-thread.h). Batches of
 * records travel through a GAsyncQueue; an empty batch with `stop` set
 * ends the thread after everything before it was exported.
 *
 * The exporter's counters belong to this thread; after every batch and
 * tick it copies them under stats_lock for readers elsewhere (metrics).
 * `pending` counts records handed over and not yet pushed (atomic).
 */
#include <string.h>

#include "ctflow/export-thread.h"

#define BATCH_RECORDS 512
#define TICK_US (100 * 1000)

struct batch {
	guint n;
	gboolean stop;
	GArray *interfaces;		/* struct ctf_if_name: a new table, or NULL */
	GArray *netns;			/* struct ctf_netns_name: a new table, or NULL */
	struct ctf_record recs[BATCH_RECORDS];
};

struct ctf_export_thread {
	struct ctf_exporter *ex;
	GAsyncQueue *queue;
	GThread *thread;
	struct batch *cur;		/* producer's batch being filled */
	gboolean finished;
	gboolean finish_ok;
	GError *finish_error;
	GMutex stats_lock;
	struct ctf_export_stats *stats;	/* per output, copied by the thread */
	size_t n_outputs;		/* fixed: outputs are added before the thread */
	uint64_t pending;		/* __atomic */
};

static void copy_stats(struct ctf_export_thread *th)
{
	g_mutex_lock(&th->stats_lock);
	for (size_t i = 0; i < th->n_outputs; i++)
		ctf_exporter_output_stats(th->ex, i, &th->stats[i]);
	g_mutex_unlock(&th->stats_lock);
}

static gpointer export_main(gpointer data)
{
	struct ctf_export_thread *th = data;

	for (;;) {
		struct batch *b = g_async_queue_timeout_pop(th->queue, TICK_US);

		if (b && b->interfaces) {
			g_autoptr(GError) error = NULL;

			if (!ctf_exporter_set_interfaces(th->ex, (struct ctf_if_name *)b->interfaces->data,
							 b->interfaces->len, &error))
				g_warning("interface names not exported: %s", error->message);
			g_array_unref(b->interfaces);
			g_free(b);
			continue;
		}
		if (b && b->netns) {
			g_autoptr(GError) error = NULL;

			if (!ctf_exporter_set_netns(th->ex, (struct ctf_netns_name *)b->netns->data,
						    b->netns->len, &error))
				g_warning("namespace names not exported: %s", error->message);
			g_array_unref(b->netns);
			g_free(b);
			continue;
		}
		if (b) {
			for (guint i = 0; i < b->n; i++)
				ctf_exporter_push(th->ex, &b->recs[i]);
			__atomic_sub_fetch(&th->pending, b->n, __ATOMIC_RELAXED);
			if (b->stop) {
				g_free(b);
				break;
			}
			g_free(b);
		}
		ctf_exporter_tick(th->ex);
		copy_stats(th);
	}
	th->finish_ok = ctf_exporter_finish(th->ex, &th->finish_error);
	copy_stats(th);
	return NULL;
}

struct ctf_export_thread *ctf_export_thread_new_paused(struct ctf_exporter *ex)
{
	struct ctf_export_thread *th = g_new0(struct ctf_export_thread, 1);

	th->ex = ex;
	g_mutex_init(&th->stats_lock);
	th->n_outputs = ctf_exporter_n_outputs(ex);
	th->stats = g_new0(struct ctf_export_stats, MAX(th->n_outputs, 1));
	th->queue = g_async_queue_new();
	return th;
}

void ctf_export_thread_start(struct ctf_export_thread *th)
{
	if (!th->thread && !th->finished)
		th->thread = g_thread_new("ctflow-export", export_main, th);
}

struct ctf_export_thread *ctf_export_thread_new(struct ctf_exporter *ex)
{
	struct ctf_export_thread *th = ctf_export_thread_new_paused(ex);

	ctf_export_thread_start(th);
	return th;
}

static void hand_over(struct ctf_export_thread *th, gboolean stop)
{
	struct batch *b = th->cur;

	if (!b) {
		if (!stop)
			return;
		b = g_new0(struct batch, 1);
	}
	b->stop = stop;
	th->cur = NULL;
	__atomic_add_fetch(&th->pending, b->n, __ATOMIC_RELAXED);
	g_async_queue_push(th->queue, b);
}

void ctf_export_thread_push(struct ctf_export_thread *th, const struct ctf_record *rec)
{
	if (!th->cur) {
		/* not g_new0: 512 records need no clearing */
		th->cur = g_malloc(sizeof(struct batch));
		th->cur->n = 0;
		th->cur->stop = FALSE;
		th->cur->interfaces = NULL;
		th->cur->netns = NULL;
	}
	th->cur->recs[th->cur->n++] = *rec;
	if (th->cur->n == BATCH_RECORDS)
		hand_over(th, FALSE);
}

void ctf_export_thread_commit(struct ctf_export_thread *th)
{
	if (th->cur && th->cur->n)
		hand_over(th, FALSE);
}

static void sink_push(void *self, const struct ctf_record *rec)
{
	ctf_export_thread_push(self, rec);
}

static void sink_commit(void *self)
{
	ctf_export_thread_commit(self);
}

struct ctf_record_sink ctf_export_thread_sink(struct ctf_export_thread *th)
{
	return (struct ctf_record_sink){ .self = th, .push = sink_push, .commit = sink_commit };
}

void ctf_export_thread_set_interfaces(struct ctf_export_thread *th, GArray *names)
{
	struct batch *b = g_new0(struct batch, 1);

	ctf_export_thread_commit(th);	/* records before it go first */
	b->interfaces = g_array_ref(names);
	g_async_queue_push(th->queue, b);
}

void ctf_export_thread_set_netns(struct ctf_export_thread *th, GArray *names)
{
	struct batch *b = g_new0(struct batch, 1);

	/* straight onto the queue: the producer's batch is not touched */
	b->netns = g_array_ref(names);
	g_async_queue_push(th->queue, b);
}

gboolean ctf_export_thread_finish(struct ctf_export_thread *th, GError **error)
{
	if (!th->finished) {
		ctf_export_thread_start(th);	/* never started: finish all the same */
		ctf_export_thread_commit(th);
		hand_over(th, TRUE);
		g_thread_join(th->thread);
		th->thread = NULL;
		th->finished = TRUE;
	}
	if (!th->finish_ok && th->finish_error) {
		g_propagate_error(error, g_error_copy(th->finish_error));
		return FALSE;
	}
	return th->finish_ok;
}

size_t ctf_export_thread_n_outputs(const struct ctf_export_thread *th)
{
	return th->n_outputs;
}

const char *ctf_export_thread_output_name(const struct ctf_export_thread *th, size_t i)
{
	/* names never change once the exporter exists */
	return ctf_exporter_output_name(th->ex, i);
}

void ctf_export_thread_output_stats(struct ctf_export_thread *th, size_t i,
				    struct ctf_export_stats *ret)
{
	g_return_if_fail(i < th->n_outputs);
	g_mutex_lock(&th->stats_lock);
	*ret = th->stats[i];
	g_mutex_unlock(&th->stats_lock);
}

uint64_t ctf_export_thread_pending(const struct ctf_export_thread *th)
{
	return __atomic_load_n(&th->pending, __ATOMIC_RELAXED);
}

void ctf_export_thread_free(struct ctf_export_thread *th)
{
	struct batch *b;

	if (!th)
		return;
	if (!th->finished) {
		GError *e = NULL;

		ctf_export_thread_finish(th, &e);
		g_clear_error(&e);
	}
	while ((b = g_async_queue_try_pop(th->queue)) != NULL) {
		if (b->interfaces)
			g_array_unref(b->interfaces);
		if (b->netns)
			g_array_unref(b->netns);
		g_free(b);
	}
	g_async_queue_unref(th->queue);
	g_free(th->cur);
	ctf_exporter_free(th->ex);
	g_clear_error(&th->finish_error);
	g_free(th->stats);
	g_mutex_clear(&th->stats_lock);
	g_free(th);
}
