/*
 * Socket inode -> pid for the process enricher: the /proc/PID/fd/N ->
 * "socket:[INODE]" links, cached, and the search for the holder of a
 * socket the cache does not know. Knows nothing about netlink, and of
 * network namespaces only which one a process is in; what a pid is, is
 * process-info.c's business.
 *
 * Cost model: a readlink of /proc/PID/fd/N is 1-3 µs and listing a
 * directory a few µs, so a full scan costs some µs per open fd on the
 * host. Searches are therefore tiered (see ctf_proc_owners_find()) and
 * the full scan is rate-limited. No ptrace, no BPF: only /proc.
 */
#define G_LOG_DOMAIN "ctflow-enrich"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ctflow/error.h"
#include "process-private.h"

#define MAX_INODES (1u << 20)	/* socket inodes remembered */
#define MAX_CANDIDATES 128	/* pids rescanned on a miss ... */
#define CANDIDATE_TTL_US (5 * G_USEC_PER_SEC)	/* ... if born or owning this recently */
#define CANDIDATE_SCANS 32	/* pids one miss may rescan */
#define CANDIDATE_FD_BUDGET 4096	/* fds one miss may read in their rescans */
#define CANDIDATE_YOUNG_US (G_USEC_PER_SEC)	/* may still change namespace */
#define CANDIDATE_QUICK_US (100 * 1000)	/* first looked at ... */
#define CANDIDATE_QUICK_SCANS 4
#define PROBE_PIDS 16		/* newest pids probed before listing /proc */
#define DENTS_BUF 16384

struct owner {
	uint32_t pid;
	uint32_t fd;
	uint32_t epoch;		/* o->epoch when the link was last read */
};

struct candidate {
	uint32_t pid;
	uint32_t nfds;		/* fds at its last scan: the cost of a rescan */
	uint32_t netns_ino;	/* its network namespace (0: unknown) */
	int sched_fd;		/* /proc/PID/schedstat, -1 if unreadable */
	uint64_t ran_ns;	/* its CPU time (main thread) at its last scan */
	int64_t used_us;	/* first seen, or last found owning a socket */
	int64_t added_us;	/* when it became a candidate */
};

struct ctf_proc_owners {
	int proc_fd;			/* /proc, O_DIRECTORY */
	int loadavg_fd;			/* /proc/loadavg: the last pid created */
	uint32_t last_pid;		/* ... when /proc was last listed */
	uint32_t last_probed;		/* ... when the newest pids were last probed */
	GHashTable *inodes;		/* inode -> index + 1 into owners */
	GArray *owners;			/* struct owner */
	GHashTable *known;		/* pids the last scans saw */
	struct candidate cand[MAX_CANDIDATES];	/* most recent first */
	unsigned n_cand;
	int64_t last_full_us;
	int64_t last_new_us;
	uint32_t epoch;			/* ctf_proc_owners_new_epoch(); 0: never */
	struct ctf_proc_enricher_stats *stats;
	_Alignas(8) uint8_t proc_dents[DENTS_BUF];	/* /proc itself */
	_Alignas(8) uint8_t fd_dents[DENTS_BUF];	/* a /proc/PID/fd, read while walking /proc */
};

/* ---- directory walking ----------------------------------------------- */

/* A decimal name ("1234") as a number; 0 for anything else. */
static uint32_t parse_uint_name(const char *s)
{
	uint64_t v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > UINT32_MAX / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

typedef void (*dirent_fn)(struct ctf_proc_owners *o, int dfd, uint32_t num, void *data);

/* Calls @fn for each numeric entry of directory @dfd (from its start);
 * returns how many there were. getdents64 on a buffer of our own: no
 * allocation per directory, unlike opendir(). */
static unsigned for_each_number(struct ctf_proc_owners *o, int dfd, uint8_t buf[DENTS_BUF],
				dirent_fn fn, void *data)
{
	unsigned count = 0;

	if (lseek(dfd, 0, SEEK_SET) < 0)
		return 0;
	for (;;) {
		ssize_t n = getdents64(dfd, buf, DENTS_BUF);

		if (n <= 0)
			return count;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			uint32_t num = parse_uint_name(de->d_name);

			off += de->d_reclen;
			if (num || (de->d_name[0] == '0' && !de->d_name[1])) {
				count++;
				fn(o, dfd, num, data);
			}
		}
	}
}

/* ---- inode -> pid ------------------------------------------------------ */

/* "socket:[12345]" -> 12345; 0 for any other link. */
static uint32_t socket_inode(const char *link, ssize_t n)
{
	uint64_t v = 0;
	ssize_t i;

	if (n < 10 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']')
		return 0;
	for (i = 8; i < n - 1; i++) {
		if (link[i] < '0' || link[i] > '9' || v > UINT32_MAX)
			return 0;
		v = v * 10 + (uint64_t)(link[i] - '0');
	}
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

static void owner_add(struct ctf_proc_owners *o, uint32_t inode, uint32_t pid, uint32_t fd)
{
	struct owner ow = { .pid = pid, .fd = fd, .epoch = o->epoch };
	gpointer idx;

	/* A socket shared by several processes keeps its first owner (the
	 * lowest pid of a full scan: usually the parent). */
	if (g_hash_table_lookup_extended(o->inodes, GUINT_TO_POINTER(inode), NULL, &idx)) {
		struct owner *cur = &g_array_index(o->owners, struct owner,
						   GPOINTER_TO_UINT(idx) - 1);

		if (cur->pid != pid && cur->pid != 0)
			return;
		*cur = ow;
		return;
	}
	if (g_hash_table_size(o->inodes) >= MAX_INODES)
		return;
	g_array_append_val(o->owners, ow);
	g_hash_table_insert(o->inodes, GUINT_TO_POINTER(inode), GUINT_TO_POINTER(o->owners->len));
}

static void fd_entry(struct ctf_proc_owners *o, int dfd, uint32_t fd, void *data)
{
	const uint32_t *pid = data;
	char name[16], link[64];
	ssize_t n;
	uint32_t inode;

	snprintf(name, sizeof(name), "%u", fd);
	n = readlinkat(dfd, name, link, sizeof(link));
	if (n <= 0 || n >= (ssize_t)sizeof(link))
		return;
	inode = socket_inode(link, n);
	if (inode)
		owner_add(o, inode, *pid, fd);
}

/* Record every socket @pid holds; returns the number of its fds, or -1
 * when the process is gone. */
static int scan_pid(struct ctf_proc_owners *o, uint32_t pid)
{
	char path[24];
	unsigned nfds;
	int dfd;

	snprintf(path, sizeof(path), "%u/fd", pid);
	dfd = openat(o->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			o->stats->proc_fd_denied++;
		return errno == ENOENT ? -1 : 0;
	}
	nfds = for_each_number(o, dfd, o->fd_dents, fd_entry, &pid);
	close(dfd);
	return (int)MIN(nfds, (unsigned)INT_MAX);
}

/* Whether /proc/PID/fd/FD still is socket:[INODE]: the cache is only a
 * hint (fds get closed, sockets passed on, pids reused). */
static bool owner_verify(struct ctf_proc_owners *o, uint32_t inode, const struct owner *ow)
{
	char path[40], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%u/fd/%u", ow->pid, ow->fd);
	n = readlinkat(o->proc_fd, path, link, sizeof(link));
	return n > 0 && n < (ssize_t)sizeof(link) && socket_inode(link, n) == inode;
}

static bool lookup_verified(struct ctf_proc_owners *o, uint32_t inode, uint32_t *ret_pid)
{
	gpointer idx;
	struct owner *ow;

	if (!g_hash_table_lookup_extended(o->inodes, GUINT_TO_POINTER(inode), NULL, &idx))
		return false;
	ow = &g_array_index(o->owners, struct owner, GPOINTER_TO_UINT(idx) - 1);
	/* read once per epoch: a link read after every event of the epoch
	 * was known says what a read per lookup would (see _new_epoch()) */
	if (ow->pid && o->epoch && ow->epoch == o->epoch) {
		o->stats->owner_reuses++;
		*ret_pid = ow->pid;
		return true;
	}
	if (ow->pid && owner_verify(o, inode, ow)) {
		ow->epoch = o->epoch;
		*ret_pid = ow->pid;
		return true;
	}
	/* stale: forget it (the slot stays until the next full scan) */
	ow->pid = 0;
	return false;
}

/* Candidates, most recent first: pids born recently and pids that
 * recently owned a socket looked up are the likeliest holders of a new
 * socket (a program starting, a client connecting again, a server that
 * accepted). Rescanning them is far cheaper than all of /proc. */

/* CPU time of the candidate's main thread, the first field of
 * /proc/PID/schedstat (ns); 0 if unknown, UINT64_MAX if it is gone. A
 * process that has not run since its last scan has opened no socket
 * (unless another of its threads did). */
static uint64_t candidate_ran_ns(const struct candidate *c)
{
	char buf[96];
	ssize_t n;

	if (c->sched_fd < 0)
		return 0;
	n = pread(c->sched_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno == ESRCH)
		return UINT64_MAX;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

static void candidate_clear(struct candidate *c)
{
	if (c->sched_fd >= 0)
		close(c->sched_fd);
	c->sched_fd = -1;
}

static void candidate_init(struct ctf_proc_owners *o, struct candidate *c, uint32_t pid)
{
	char path[32];
	struct stat st;

	*c = (struct candidate){ .pid = pid, .sched_fd = -1, .added_us = g_get_monotonic_time() };
	snprintf(path, sizeof(path), "%u/ns/net", pid);
	if (fstatat(o->proc_fd, path, &st, 0) == 0)
		c->netns_ino = (uint32_t)st.st_ino;
	snprintf(path, sizeof(path), "%u/schedstat", pid);
	c->sched_fd = openat(o->proc_fd, path, O_RDONLY | O_CLOEXEC);
	c->ran_ns = candidate_ran_ns(c);
}

static void candidate_touch(struct ctf_proc_owners *o, uint32_t pid, int64_t now)
{
	struct candidate c;
	unsigned i = 0;

	while (i < o->n_cand && o->cand[i].pid != pid)
		i++;
	if (i == o->n_cand) {
		/* not there: a free slot, or the least recent, makes room */
		if (o->n_cand < MAX_CANDIDATES)
			o->n_cand++;
		else
			candidate_clear(&o->cand[o->n_cand - 1]);
		i = o->n_cand - 1;
		candidate_init(o, &o->cand[i], pid);
	}
	c = o->cand[i];
	c.used_us = now;
	memmove(&o->cand[1], &o->cand[0], i * sizeof(o->cand[0]));
	o->cand[0] = c;
}

/* The last pid the kernel handed out (threads included), from the 5th
 * field of /proc/loadavg ("0.00 0.01 0.05 1/123 4567"); 0 if unknown. */
static uint32_t last_pid_created(struct ctf_proc_owners *o)
{
	char buf[128];
	ssize_t n = o->loadavg_fd < 0 ? -1 : pread(o->loadavg_fd, buf, sizeof(buf) - 1, 0);
	char *p;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ' ');
	return p ? (uint32_t)strtoul(p + 1, NULL, 10) : 0;
}

/* The newest pids, probed directly (at most PROBE_PIDS of those created
 * since the last probe), newest first: a program that has just connected
 * is usually the last process created, and a listing of /proc takes too
 * long to catch one that lives a millisecond. A pid may be a thread's
 * (process-info.c maps it to its process); one not visible yet is found
 * by the listing that follows. */
static bool probe_newest(struct ctf_proc_owners *o, uint32_t inode, int64_t now,
			 uint32_t *ret_pid)
{
	uint32_t last = last_pid_created(o), from = o->last_probed;

	if (!last || last == from)
		return false;
	o->last_probed = last;
	if (last < from || last - from > PROBE_PIDS)
		from = last > PROBE_PIDS ? last - PROBE_PIDS : 0;
	for (uint32_t pid = last; pid > from; pid--) {
		if (g_hash_table_contains(o->known, GUINT_TO_POINTER(pid)))
			continue;
		if (scan_pid(o, pid) < 0)
			continue;
		g_hash_table_add(o->known, GUINT_TO_POINTER(pid));
		candidate_touch(o, pid, now);
		if (lookup_verified(o, inode, ret_pid))
			return true;
	}
	return false;
}

/* Listing /proc: every pid goes into a new set of known pids (so the set
 * never outgrows the process table); the ones the old set lacks were born
 * since the last listing and become candidates. A full scan reads every
 * pid's fds, a scan for new pids only theirs. */
struct listing {
	GHashTable *seen;
	bool full;
};

static void proc_entry(struct ctf_proc_owners *o, int dfd, uint32_t pid, void *data)
{
	struct listing *l = data;
	bool is_new = !g_hash_table_contains(o->known, GUINT_TO_POINTER(pid));

	g_hash_table_add(l->seen, GUINT_TO_POINTER(pid));
	/* (at the first scan, every pid is "new") */
	if (is_new && o->last_full_us)
		candidate_touch(o, pid, g_get_monotonic_time());
	if (is_new || l->full)
		scan_pid(o, pid);
}

static void list_proc(struct ctf_proc_owners *o, bool full)
{
	struct listing l = { .seen = g_hash_table_new(g_direct_hash, g_direct_equal), .full = full };

	for_each_number(o, o->proc_fd, o->proc_dents, proc_entry, &l);
	g_hash_table_destroy(o->known);
	o->known = l.seen;
}

static void scan_full(struct ctf_proc_owners *o)
{
	int64_t t0 = g_get_monotonic_time();

	o->last_pid = last_pid_created(o);
	g_hash_table_remove_all(o->inodes);
	g_array_set_size(o->owners, 0);
	o->stats->proc_scans++;
	list_proc(o, true);
	o->last_full_us = o->last_new_us = g_get_monotonic_time();
	o->stats->proc_scan_us += (uint64_t)(o->last_full_us - t0);
}

static void scan_new(struct ctf_proc_owners *o)
{
	int64_t t0 = g_get_monotonic_time();
	uint32_t last = last_pid_created(o);

	/* No pid handed out since the last listing: nothing new to find,
	 * and one small read instead of listing /proc. */
	if (last && last == o->last_pid) {
		o->last_new_us = t0;
		return;
	}
	o->last_pid = last;
	o->stats->proc_scans_new++;
	list_proc(o, false);
	o->last_new_us = g_get_monotonic_time();
	o->stats->proc_scan_us += (uint64_t)(o->last_new_us - t0);
}

/* A process may enter its namespace right after we first saw it (as
 * `ip netns exec` does before exec): read it again while it is young. */
static void candidate_refresh_netns(struct ctf_proc_owners *o, struct candidate *c)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "%u/ns/net", c->pid);
	if (fstatat(o->proc_fd, path, &st, 0) == 0)
		c->netns_ino = (uint32_t)st.st_ino;
}

/* Which pass of a miss rescans candidate @c: 0 = in the socket's
 * namespace and has run since its last scan, 1 = in that namespace (one
 * of its other threads may have run), 2 = elsewhere (it may hold a socket
 * of another namespace); -1 = expired or gone. */
static int candidate_pass(struct ctf_proc_owners *o, struct candidate *c, uint32_t netns_ino,
			  int64_t now, uint64_t *ret_ran)
{
	if (now - c->used_us > CANDIDATE_TTL_US)
		return -1;
	if (c->netns_ino != netns_ino && now - c->added_us < CANDIDATE_YOUNG_US)
		candidate_refresh_netns(o, c);
	if (c->netns_ino != netns_ino)
		return 2;
	/* only here: reading every candidate's CPU time would cost more */
	*ret_ran = candidate_ran_ns(c);
	if (*ret_ran == UINT64_MAX)
		return -1;
	return *ret_ran == 0 || *ret_ran != c->ran_ns ? 0 : 1;
}

/* Rescan candidates until @inode turns up, pass by pass (see
 * candidate_pass()), most recent first within a pass, within a budget of
 * pids and fds per miss (a process with thousands of fds waits for the
 * full scan). @quick: only the first pass, only candidates of the last
 * CANDIDATE_QUICK_US, only CANDIDATE_QUICK_SCANS of them: the program
 * that just started, before it is gone. Drops the expired and the dead. */
static bool scan_candidates(struct ctf_proc_owners *o, uint32_t inode, uint32_t netns_ino,
			    int64_t now, bool quick, uint32_t *ret_pid)
{
	unsigned fds = CANDIDATE_FD_BUDGET, kept = 0, i;
	unsigned pids = quick ? CANDIDATE_QUICK_SCANS : CANDIDATE_SCANS;
	uint64_t ran[MAX_CANDIDATES];
	int8_t pass_of[MAX_CANDIDATES];
	bool found = false;

	for (i = 0; i < o->n_cand; i++) {
		ran[i] = 0;
		if (quick && now - o->cand[i].added_us > CANDIDATE_QUICK_US)
			pass_of[i] = 3;		/* not in this round */
		else
			pass_of[i] = (int8_t)candidate_pass(o, &o->cand[i], netns_ino, now, &ran[i]);
	}
	for (int pass = 0; pass < (quick ? 1 : 3) && !found; pass++) {
		for (i = 0; i < o->n_cand && !found && pids > 0; i++) {
			struct candidate *c = &o->cand[i];
			int n;

			if (pass_of[i] != pass || c->nfds > fds)
				continue;
			pids--;
			if (ran[i])
				c->ran_ns = ran[i];
			n = scan_pid(o, c->pid);
			if (n < 0) {
				pass_of[i] = -1;
				continue;
			}
			c->nfds = (uint32_t)n;
			fds -= MIN(fds, c->nfds);
			found = lookup_verified(o, inode, ret_pid);
		}
	}
	for (i = 0; i < o->n_cand; i++) {
		if (pass_of[i] < 0)
			candidate_clear(&o->cand[i]);
		else
			o->cand[kept++] = o->cand[i];
	}
	o->n_cand = kept;
	return found;
}

int ctf_proc_owners_find(struct ctf_proc_owners *o, uint32_t inode, uint32_t netns_ino,
			 const struct ctf_proc_enricher_config *cfg,
			 bool (*still_held)(void *data), void *data, uint32_t *ret_pid)
{
	int64_t now = g_get_monotonic_time(), t0;
	bool hit;

	if (lookup_verified(o, inode, ret_pid))
		goto found;
	/* The likeliest first, fastest first: a program that started just now
	 * (seen already, but before it had the socket), the newest pids, the
	 * pids not seen before (one listing of /proc, then the fds of the new
	 * pids only). A short-lived program is gone within a millisecond. */
	hit = scan_candidates(o, inode, netns_ino, now, true, ret_pid) ||
	      probe_newest(o, inode, now, ret_pid);
	o->stats->proc_scan_us += (uint64_t)(g_get_monotonic_time() - now);
	if (hit)
		goto found;
	if (now - o->last_new_us >= (int64_t)cfg->new_pid_scan_interval_ms * 1000) {
		scan_new(o);
		if (lookup_verified(o, inode, ret_pid))
			goto found;
	}
	/* Searching further for a socket nobody holds any more would be
	 * wasted (a full scan costs milliseconds). */
	if (still_held && !still_held(data))
		return -ESRCH;
	t0 = g_get_monotonic_time();
	hit = scan_candidates(o, inode, netns_ino, now, false, ret_pid);
	o->stats->proc_scan_us += (uint64_t)(g_get_monotonic_time() - t0);
	if (hit)
		goto found;
	if (now - o->last_full_us < (int64_t)cfg->full_scan_interval_ms * 1000)
		return -EAGAIN;
	scan_full(o);
	if (!lookup_verified(o, inode, ret_pid))
		return -ESRCH;
found:
	candidate_touch(o, *ret_pid, now);
	return 0;
}

struct ctf_proc_owners *ctf_proc_owners_new(struct ctf_proc_enricher_stats *stats,
					    GError **error)
{
	struct ctf_proc_owners *o;
	int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		ctf_set_error_errno(error, errno, "opening /proc");
		return NULL;
	}
	o = g_new0(struct ctf_proc_owners, 1);
	o->proc_fd = fd;
	o->loadavg_fd = openat(fd, "loadavg", O_RDONLY | O_CLOEXEC);
	o->stats = stats;
	o->inodes = g_hash_table_new(g_direct_hash, g_direct_equal);
	o->owners = g_array_new(FALSE, FALSE, sizeof(struct owner));
	o->known = g_hash_table_new(g_direct_hash, g_direct_equal);
	scan_full(o);
	o->last_probed = o->last_pid;
	return o;
}

void ctf_proc_owners_free(struct ctf_proc_owners *o)
{
	if (!o)
		return;
	close(o->proc_fd);
	if (o->loadavg_fd >= 0)
		close(o->loadavg_fd);
	for (unsigned i = 0; i < o->n_cand; i++)
		candidate_clear(&o->cand[i]);
	g_hash_table_destroy(o->inodes);
	g_array_free(o->owners, TRUE);
	g_hash_table_destroy(o->known);
	g_free(o);
}

void ctf_proc_owners_new_epoch(struct ctf_proc_owners *o)
{
	if (++o->epoch == 0)
		o->epoch = 1;	/* 0 means "never verified" */
}

int ctf_proc_owners_proc_fd(const struct ctf_proc_owners *o)
{
	return o->proc_fd;
}

uint32_t ctf_proc_owners_count(const struct ctf_proc_owners *o)
{
	return g_hash_table_size(o->inodes);
}
