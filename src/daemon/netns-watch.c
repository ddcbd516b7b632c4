/*
 * The namespace watcher (see include/ctflow/netns-watch.h).
 *
 * One scan collects every reference to a network namespace: the files
 * under /run/netns and the processes' /proc/PID/ns/net, by inode; then
 * the followed set is reconciled with it. Between scans, inotify on
 * /run/netns (or, while it does not exist, on its parent) asks for a scan
 * soon. `ip netns add` creates the file before it bind-mounts the
 * namespace on it, so a file that is not on nsfs yet makes the scan come
 * back shortly (bounded), then waits for the timer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <glib-unix.h>

#include "ctflow/enrich-process.h"
#include "ctflow/error.h"
#include "ctflow/export.h"
#include "ctflow/netns-watch.h"

#define LOG_DOMAIN "ctflow-netns"
#define DEFAULT_RUN_DIR "/run/netns"
#define SOON_MS 50		/* after an inotify event: let the rest arrive */
#define RETRY_MS 100		/* a /run/netns file not mounted yet */
#define MAX_RETRIES 20
#define MAX_CGROUP_READS 64	/* per namespace and scan: container id consensus */
#define CGROUP_BUF 8192

/* A namespace followed, with the watcher's reference to it. */
struct followed {
	uint32_t ino;
	int fd;			/* -1: ctflow's own namespace */
	char *path;
	char *name;		/* under /run/netns, or NULL */
	char *container_id;	/* or NULL */
	char *label;		/* NULL for ctflow's own: the engine says "host" */
};

/* What one scan found of one namespace. */
struct seen {
	uint32_t ino;
	char *name;		/* the first in sort order under /run/netns */
	uint32_t pid;		/* the lowest process found in it, 0: none */
	char cid[CTF_EXPORT_CONTAINER_ID_SIZE];
	bool cid_conflict;	/* its processes belong to several containers */
	unsigned cgroup_reads;
};

struct ctf_netns_watch {
	struct ctf_netns_watch_config cfg;
	struct ctf_netns_watch_ops ops;
	void *userdata;
	dev_t nsfs_dev;
	uint32_t own_ino;
	uint32_t init_ino;		/* PID 1's namespace; 0 unknown */
	GHashTable *followed;		/* ino -> struct followed* */
	GMainContext *ctx;
	guint timer;			/* periodic scan */
	guint soon;			/* a scan shortly */
	unsigned retries;
	int inotify_fd;
	int wd_run;			/* on run_dir, -1 */
	int wd_parent;			/* on its parent while run_dir is missing, -1 */
	guint inotify_watch;
	uint64_t over_limit;		/* namespaces not followed: max_netns reached */
};

void ctf_netns_watch_config_init(struct ctf_netns_watch_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->scan_s = 5;
	cfg->run_dir = DEFAULT_RUN_DIR;
	cfg->max_netns = 4096;
}

static void followed_free(gpointer data)
{
	struct followed *f = data;

	if (f->fd >= 0)
		close(f->fd);
	g_free(f->path);
	g_free(f->name);
	g_free(f->container_id);
	g_free(f->label);
	g_free(f);
}

static void seen_free(gpointer data)
{
	struct seen *s = data;

	g_free(s->name);
	g_free(s);
}

static struct seen *seen_get(GHashTable *seen, uint32_t ino)
{
	struct seen *s = g_hash_table_lookup(seen, GUINT_TO_POINTER(ino));

	if (!s) {
		s = g_new0(struct seen, 1);
		s->ino = ino;
		g_hash_table_insert(seen, GUINT_TO_POINTER(ino), s);
	}
	return s;
}

/* ---- references -------------------------------------------------------- */

/* The files under run_dir; returns how many are not (yet) a namespace. */
static unsigned scan_run_dir(struct ctf_netns_watch *w, GHashTable *seen)
{
	DIR *d = opendir(w->cfg.run_dir);
	unsigned pending = 0;
	struct dirent *de;

	if (!d)
		return 0;	/* no namespace was ever named */
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		struct seen *s;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;	/* deleted meanwhile */
		if (st.st_dev != w->nsfs_dev) {
			pending++;	/* created, not mounted yet */
			continue;
		}
		s = seen_get(seen, (uint32_t)st.st_ino);
		if (!s->name || strcmp(de->d_name, s->name) < 0) {
			g_free(s->name);
			s->name = g_strdup(de->d_name);
		}
	}
	closedir(d);
	return pending;
}

/* @pid's container id into @s (see struct seen). */
static void read_container_id(int proc_fd, unsigned long pid, struct seen *s)
{
	char path[32], buf[CGROUP_BUF], cid[CTF_EXPORT_CONTAINER_ID_SIZE];
	ssize_t n;
	int fd;

	if (s->cid_conflict || s->cgroup_reads >= MAX_CGROUP_READS)
		return;
	s->cgroup_reads++;
	snprintf(path, sizeof(path), "%lu/cgroup", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	/* no id (`ip netns exec`, a shell nsenter'ed in): no vote */
	if (n <= 0 || !ctf_proc_container_id(buf, (size_t)n, cid))
		return;
	if (!s->cid[0])
		memcpy(s->cid, cid, sizeof(cid));
	else if (strcmp(s->cid, cid) != 0)
		s->cid_conflict = true;
}

/* Every process's namespace. Only thread group leaders are listed in
 * /proc: a thread that entered another namespace for a moment (ctflow's
 * own, while it opens sockets) is not a reference. */
static void scan_proc(struct ctf_netns_watch *w, GHashTable *seen)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "cannot list /proc: %s; namespaces of "
		      "processes are not followed", g_strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[32];
		struct stat st;
		struct seen *s;
		unsigned long pid;
		char *end;

		pid = strtoul(de->d_name, &end, 10);
		if (*end || pid == 0 || pid > UINT32_MAX)
			continue;
		snprintf(path, sizeof(path), "%lu/ns/net", pid);
		if (fstatat(dirfd(d), path, &st, 0) < 0 || st.st_dev != w->nsfs_dev)
			continue;	/* exited, or a kernel that hides it */
		s = seen_get(seen, (uint32_t)st.st_ino);
		if (!s->pid || pid < s->pid)
			s->pid = (uint32_t)pid;
		/* containers sharing the host's network say nothing of it */
		if (s->ino != w->own_ino && s->ino != w->init_ino)
			read_container_id(dirfd(d), pid, s);
	}
	closedir(d);
}

/* ---- the followed set -------------------------------------------------- */

static void info_of(const struct followed *f, struct ctf_netns_info *ret)
{
	*ret = (struct ctf_netns_info){
		.ino = f->ino, .path = f->path, .name = f->name,
		.container_id = f->container_id, .label = f->label,
	};
}

static char *label_of(const struct seen *s)
{
	if (s->name)
		return g_strdup(s->name);
	if (s->cid[0] && !s->cid_conflict)
		return g_strdup_printf("container %.12s", s->cid);
	return g_strdup_printf("pid %u", s->pid);
}

/* A reference of our own, checked to be the namespace the scan saw. */
static int open_reference(const struct ctf_netns_watch *w, const struct seen *s)
{
	g_autofree char *path = s->name ? g_build_filename(w->cfg.run_dir, s->name, NULL)
					: g_strdup_printf("/proc/%u/ns/net", s->pid);
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;	/* gone since the scan: the next one decides */
	if (fstat(fd, &st) < 0 || st.st_dev != w->nsfs_dev || (uint32_t)st.st_ino != s->ino) {
		close(fd);	/* the pid was reused, the name moved */
		return -1;
	}
	return fd;
}

/* Name and container id as the scan found them; whether they changed. */
static bool update(struct followed *f, const struct seen *s)
{
	const char *cid = s->cid[0] && !s->cid_conflict ? s->cid : NULL;
	bool changed = g_strcmp0(f->name, s->name) != 0 || g_strcmp0(f->container_id, cid) != 0;

	if (changed) {
		g_free(f->name);
		f->name = g_strdup(s->name);
		g_free(f->container_id);
		f->container_id = g_strdup(cid);
	}
	return changed;
}

static struct followed *follow(struct ctf_netns_watch *w, const struct seen *s)
{
	struct followed *f;
	int fd = -1;

	if (s->ino != w->own_ino) {
		if (g_hash_table_size(w->followed) >= w->cfg.max_netns) {
			if (w->over_limit++ == 0)
				g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "more than %u network namespaces: "
				      "not following netns %u and any further one", w->cfg.max_netns,
				      s->ino);
			return NULL;
		}
		fd = open_reference(w, s);
		if (fd < 0)
			return NULL;
	}
	f = g_new0(struct followed, 1);
	f->ino = s->ino;
	f->fd = fd;
	if (fd >= 0) {
		f->path = g_strdup_printf("/proc/%d/fd/%d", (int)getpid(), fd);
		f->label = label_of(s);
	}
	update(f, s);
	g_hash_table_insert(w->followed, GUINT_TO_POINTER(f->ino), f);
	return f;
}

static gint cmp_uint(gconstpointer a, gconstpointer b)
{
	guint x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);

	return x < y ? -1 : x > y;
}

/* Those no longer referred to go first, then the new ones arrive. */
static bool reconcile(struct ctf_netns_watch *w, GHashTable *seen)
{
	g_autoptr(GList) inos = NULL;
	GHashTableIter it;
	gpointer key, value;
	bool changed = false;

	g_hash_table_iter_init(&it, w->followed);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct followed *f = value;
		struct ctf_netns_info info;

		if (f->ino == w->own_ino || g_hash_table_contains(seen, key))
			continue;
		info_of(f, &info);
		w->ops.removed(w->userdata, &info);
		g_hash_table_iter_remove(&it);
		changed = true;
	}
	/* in inode order: logs read the same way every time */
	inos = g_list_sort(g_hash_table_get_keys(seen), cmp_uint);
	for (GList *l = inos; l; l = l->next) {
		const struct seen *s = g_hash_table_lookup(seen, l->data);
		struct followed *f = g_hash_table_lookup(w->followed, l->data);
		struct ctf_netns_info info;

		if (f) {
			changed |= update(f, s);
			continue;
		}
		f = follow(w, s);
		if (!f)
			continue;
		info_of(f, &info);
		w->ops.added(w->userdata, &info);
		changed = true;
	}
	return changed;
}

static gboolean on_soon(gpointer userdata);

static void scan_soon(struct ctf_netns_watch *w, unsigned ms)
{
	GSource *src;

	if (w->soon)
		return;
	src = g_timeout_source_new(ms);
	g_source_set_callback(src, on_soon, w, NULL);
	w->soon = g_source_attach(src, w->ctx);
	g_source_unref(src);
}

void ctf_netns_watch_scan(struct ctf_netns_watch *w)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
							    seen_free);
	unsigned pending;

	seen_get(seen, w->own_ino);	/* always, whatever /proc shows */
	pending = scan_run_dir(w, seen);
	scan_proc(w, seen);
	if (reconcile(w, seen) && w->ops.changed)
		w->ops.changed(w->userdata);
	if (!pending)
		w->retries = 0;
	else if (w->retries < MAX_RETRIES && w->timer) {
		w->retries++;
		scan_soon(w, RETRY_MS);
	}
}

static gboolean on_soon(gpointer userdata)
{
	struct ctf_netns_watch *w = userdata;

	w->soon = 0;
	ctf_netns_watch_scan(w);
	return G_SOURCE_REMOVE;
}

static gboolean on_timer(gpointer userdata)
{
	ctf_netns_watch_scan(userdata);
	return G_SOURCE_CONTINUE;
}

/* ---- inotify on /run/netns -------------------------------------------- */

/* Watch run_dir, or its parent until run_dir exists. */
static void watch_run_dir(struct ctf_netns_watch *w)
{
	g_autofree char *parent = NULL;

	w->wd_run = inotify_add_watch(w->inotify_fd, w->cfg.run_dir, IN_CREATE | IN_DELETE |
				      IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
				      IN_MOVE_SELF | IN_ONLYDIR);
	if (w->wd_run >= 0 || errno != ENOENT) {
		if (w->wd_run < 0)
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "cannot watch %s: %s; new names are "
			      "found by the scan every %u s", w->cfg.run_dir, g_strerror(errno),
			      w->cfg.scan_s);
		return;
	}
	if (w->wd_parent >= 0)
		return;
	parent = g_path_get_dirname(w->cfg.run_dir);
	w->wd_parent = inotify_add_watch(w->inotify_fd, parent, IN_CREATE | IN_MOVED_TO |
					 IN_ONLYDIR);
	if (w->wd_parent < 0)
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "cannot watch %s for %s to appear: %s; new "
		      "names are found by the scan every %u s", parent, w->cfg.run_dir,
		      g_strerror(errno), w->cfg.scan_s);
}

static void on_inotify_event(struct ctf_netns_watch *w, const struct inotify_event *ev)
{
	g_autofree char *base = g_path_get_basename(w->cfg.run_dir);

	if (ev->wd == w->wd_parent && ev->len && !strcmp(ev->name, base)) {
		inotify_rm_watch(w->inotify_fd, w->wd_parent);
		w->wd_parent = -1;
		watch_run_dir(w);
	} else if (ev->wd == w->wd_run && (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))) {
		if (!(ev->mask & IN_IGNORED))
			inotify_rm_watch(w->inotify_fd, w->wd_run);
		w->wd_run = -1;
		watch_run_dir(w);
	}
}

static gboolean on_inotify(int fd, GIOCondition cond, gpointer userdata)
{
	struct ctf_netns_watch *w = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			on_inotify_event(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	scan_soon(w, SOON_MS);
	return G_SOURCE_CONTINUE;
}

static void start_inotify(struct ctf_netns_watch *w)
{
	GSource *src;

	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd < 0) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "inotify: %s; new names under %s are found by "
		      "the scan every %u s", g_strerror(errno), w->cfg.run_dir, w->cfg.scan_s);
		return;
	}
	watch_run_dir(w);
	src = g_unix_fd_source_new(w->inotify_fd, G_IO_IN);
	g_source_set_callback(src, G_SOURCE_FUNC(on_inotify), w, NULL);
	w->inotify_watch = g_source_attach(src, w->ctx);
	g_source_unref(src);
}

/* ---- life cycle -------------------------------------------------------- */

struct ctf_netns_watch *ctf_netns_watch_new(const struct ctf_netns_watch_config *cfg,
					    const struct ctf_netns_watch_ops *ops,
					    void *userdata, GError **error)
{
	g_autoptr(ctf_netns_watch) w = g_new0(struct ctf_netns_watch, 1);
	struct stat st;

	g_return_val_if_fail(ops && ops->added && ops->removed, NULL);
	w->cfg = *cfg;
	if (!w->cfg.run_dir)
		w->cfg.run_dir = DEFAULT_RUN_DIR;
	w->cfg.run_dir = g_strdup(w->cfg.run_dir);
	if (!w->cfg.scan_s)
		w->cfg.scan_s = 5;
	if (!w->cfg.max_netns)
		w->cfg.max_netns = 4096;
	w->ops = *ops;
	w->userdata = userdata;
	w->inotify_fd = w->wd_run = w->wd_parent = -1;
	w->followed = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, followed_free);
	if (stat("/proc/thread-self/ns/net", &st) < 0) {
		ctf_set_error_errno(error, errno, "identifying ctflow's network namespace "
				    "(/proc/thread-self/ns/net)");
		return NULL;
	}
	w->nsfs_dev = st.st_dev;
	w->own_ino = (uint32_t)st.st_ino;
	if (stat("/proc/1/ns/net", &st) == 0 && st.st_dev == w->nsfs_dev)
		w->init_ino = (uint32_t)st.st_ino;
	return g_steal_pointer(&w);
}

void ctf_netns_watch_attach(struct ctf_netns_watch *w, GMainContext *ctx)
{
	GSource *src;

	w->ctx = ctx;
	src = g_timeout_source_new_seconds(w->cfg.scan_s);
	g_source_set_callback(src, on_timer, w, NULL);
	w->timer = g_source_attach(src, ctx);
	g_source_unref(src);
	start_inotify(w);
	ctf_netns_watch_scan(w);
}

guint ctf_netns_watch_n(const struct ctf_netns_watch *w)
{
	return g_hash_table_size(w->followed);
}

GArray *ctf_netns_watch_names(const struct ctf_netns_watch *w)
{
	GArray *names = g_array_new(FALSE, TRUE, sizeof(struct ctf_netns_name));
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, w->followed);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct followed *f = value;
		struct ctf_netns_name nm = { .netns = f->ino };

		if (!f->name && !f->container_id)
			continue;
		g_strlcpy(nm.name, f->name ? f->name : "", sizeof(nm.name));
		g_strlcpy(nm.container_id, f->container_id ? f->container_id : "",
			  sizeof(nm.container_id));
		g_array_append_val(names, nm);
	}
	return names;
}

static void destroy_source(GMainContext *ctx, guint *id)
{
	GSource *src;

	if (*id && (src = g_main_context_find_source_by_id(ctx, *id)))
		g_source_destroy(src);
	*id = 0;
}

void ctf_netns_watch_free(struct ctf_netns_watch *w)
{
	if (!w)
		return;
	destroy_source(w->ctx, &w->timer);
	destroy_source(w->ctx, &w->soon);
	destroy_source(w->ctx, &w->inotify_watch);
	if (w->inotify_fd >= 0)
		close(w->inotify_fd);
	if (w->followed)
		g_hash_table_destroy(w->followed);
	g_free((char *)w->cfg.run_dir);
	g_free(w);
}
