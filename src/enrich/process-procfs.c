/*
 * The /proc side of the process enricher: which pid holds a socket inode
 * (the /proc/PID/fd/N -> "socket:[INODE]" links, cached), what a pid is
 * (comm, exe, uid, container id), and the string helpers behind them:
 * UTF-8 sanitising, cgroup path patterns, user names. Knows nothing about
 * netlink or namespaces other than the pid namespace /proc shows.
 *
 * Cost model: a readlink is ~1 µs, so a full scan costs about one µs per
 * open fd on the host. Scans are therefore tiered (see
 * ctf_proc_owners_find()) and a full scan is rate-limited.
 */
#define G_LOG_DOMAIN "ctflow-enrich"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "process-private.h"

#define MAX_INODES (1u << 20)	/* socket inodes remembered */
#define HOT_PIDS 8		/* recent owners, rescanned first on a miss */
#define HOT_FD_BUDGET 4096	/* fds the hot rescan of one miss may read */
#define DENTS_BUF 16384

struct owner {
	uint32_t pid;
	uint32_t fd;
};

struct hot_pid {
	uint32_t pid;
	uint32_t nfds;		/* fds at its last scan: the cost of a rescan */
};

struct ctf_proc_owners {
	int proc_fd;			/* /proc, O_DIRECTORY */
	GHashTable *inodes;		/* inode -> index + 1 into owners */
	GArray *owners;			/* struct owner */
	GHashTable *known;		/* pids the last scans saw */
	struct hot_pid hot[HOT_PIDS];
	unsigned hot_next;
	int64_t last_full_us;
	int64_t last_new_us;
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
	struct owner ow = { .pid = pid, .fd = fd };
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

/* Record every socket @pid holds; returns the number of its fds. */
static unsigned scan_pid(struct ctf_proc_owners *o, uint32_t pid)
{
	char path[24];
	unsigned nfds;
	int dfd;

	snprintf(path, sizeof(path), "%u/fd", pid);
	dfd = openat(o->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			o->stats->proc_fd_denied++;
		return 0;
	}
	nfds = for_each_number(o, dfd, o->fd_dents, fd_entry, &pid);
	close(dfd);
	return nfds;
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
	if (ow->pid && owner_verify(o, inode, ow)) {
		*ret_pid = ow->pid;
		return true;
	}
	/* stale: forget it (the slot stays until the next full scan) */
	ow->pid = 0;
	return false;
}

static void proc_entry_full(struct ctf_proc_owners *o, int dfd, uint32_t pid, void *data)
{
	g_hash_table_add(o->known, GUINT_TO_POINTER(pid));
	scan_pid(o, pid);
}

static void proc_entry_new(struct ctf_proc_owners *o, int dfd, uint32_t pid, void *data)
{
	if (g_hash_table_contains(o->known, GUINT_TO_POINTER(pid)))
		return;
	g_hash_table_add(o->known, GUINT_TO_POINTER(pid));
	scan_pid(o, pid);
}

static void scan_full(struct ctf_proc_owners *o)
{
	g_hash_table_remove_all(o->inodes);
	g_array_set_size(o->owners, 0);
	g_hash_table_remove_all(o->known);
	o->stats->proc_scans++;
	for_each_number(o, o->proc_fd, o->proc_dents, proc_entry_full, NULL);
	o->last_full_us = o->last_new_us = g_get_monotonic_time();
}

static void scan_new(struct ctf_proc_owners *o)
{
	o->stats->proc_scans_new++;
	for_each_number(o, o->proc_fd, o->proc_dents, proc_entry_new, NULL);
	o->last_new_us = g_get_monotonic_time();
}

/* Rescan the recent owners, the likeliest holders of a new socket (a
 * client that connects again), within a budget of fds. */
static void scan_hot(struct ctf_proc_owners *o)
{
	unsigned budget = HOT_FD_BUDGET;

	for (unsigned i = 0; i < HOT_PIDS; i++) {
		struct hot_pid *h = &o->hot[i];

		if (!h->pid || h->nfds > budget)
			continue;
		h->nfds = scan_pid(o, h->pid);
		budget -= MIN(budget, h->nfds);
		if (!h->nfds)
			h->pid = 0;	/* gone (or no fds at all) */
	}
}

static void hot_add(struct ctf_proc_owners *o, uint32_t pid)
{
	for (unsigned i = 0; i < HOT_PIDS; i++)
		if (o->hot[i].pid == pid)
			return;
	o->hot[o->hot_next] = (struct hot_pid){ .pid = pid };
	o->hot_next = (o->hot_next + 1) % HOT_PIDS;
}

int ctf_proc_owners_find(struct ctf_proc_owners *o, uint32_t inode,
			 const struct ctf_proc_enricher_config *cfg, uint32_t *ret_pid)
{
	int64_t now;

	if (lookup_verified(o, inode, ret_pid))
		goto found;
	scan_hot(o);
	if (lookup_verified(o, inode, ret_pid))
		goto found;
	now = g_get_monotonic_time();
	if (now - o->last_new_us >= (int64_t)cfg->new_pid_scan_interval_ms * 1000) {
		scan_new(o);
		if (lookup_verified(o, inode, ret_pid))
			goto found;
	}
	if (now - o->last_full_us < (int64_t)cfg->full_scan_interval_ms * 1000)
		return -EAGAIN;
	scan_full(o);
	if (!lookup_verified(o, inode, ret_pid))
		return -ESRCH;
found:
	hot_add(o, *ret_pid);
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
	o->stats = stats;
	o->inodes = g_hash_table_new(g_direct_hash, g_direct_equal);
	o->owners = g_array_new(FALSE, FALSE, sizeof(struct owner));
	o->known = g_hash_table_new(g_direct_hash, g_direct_equal);
	scan_full(o);
	return o;
}

void ctf_proc_owners_free(struct ctf_proc_owners *o)
{
	if (!o)
		return;
	close(o->proc_fd);
	g_hash_table_destroy(o->inodes);
	g_array_free(o->owners, TRUE);
	g_hash_table_destroy(o->known);
	g_free(o);
}

int ctf_proc_owners_proc_fd(const struct ctf_proc_owners *o)
{
	return o->proc_fd;
}

uint32_t ctf_proc_owners_count(const struct ctf_proc_owners *o)
{
	return g_hash_table_size(o->inodes);
}

/* ---- pid -> process ---------------------------------------------------- */

/* Read up to @size - 1 bytes of /proc/PID/@what; NUL-terminated. */
static ssize_t read_proc_file(int proc_fd, uint32_t pid, const char *what, char *buf,
			      size_t size)
{
	char path[40];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "%u/%s", pid, what);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

/* The effective uid: the second number of the "Uid:" line of status. */
static bool status_euid(const char *status, uint32_t *ret)
{
	const char *p = strstr(status, "\nUid:");
	char *end;
	unsigned long v;

	if (!p)
		return false;
	v = strtoul(p + 5, &end, 10);		/* real */
	if (end == p + 5)
		return false;
	p = end;
	v = strtoul(p, &end, 10);		/* effective */
	if (end == p || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static void read_exe(int proc_fd, uint32_t pid, struct ctf_proc_info *ret)
{
	char path[32], link[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%u/exe", pid);
	n = readlinkat(proc_fd, path, link, sizeof(link));
	/* Kernel threads have none; other users' need CAP_SYS_PTRACE. A path
	 * that does not fit stays unknown: a truncated one names another
	 * file. */
	if (n <= 0 || n >= (ssize_t)sizeof(link) ||
	    ctf_proc_utf8_copy(ret->exe, sizeof(ret->exe), link, (size_t)n) >= sizeof(ret->exe))
		ret->exe[0] = '\0';
}

int ctf_proc_read_info(int proc_fd, uint32_t pid, struct ctf_proc_info *ret)
{
	char buf[8192];
	ssize_t n;

	n = read_proc_file(proc_fd, pid, "comm", buf, sizeof(buf));
	if (n <= 0)
		return -ESRCH;
	if (buf[n - 1] == '\n')
		n--;
	/* comm is the kernel's own truncation to 15 bytes; invalid bytes may
	 * widen it, and a cut at a character boundary is then fine. */
	ctf_proc_utf8_copy(ret->comm, sizeof(ret->comm), buf, (size_t)n);
	read_exe(proc_fd, pid, ret);
	n = read_proc_file(proc_fd, pid, "status", buf, sizeof(buf));
	if (n > 0)
		status_euid(buf, &ret->uid);
	n = read_proc_file(proc_fd, pid, "cgroup", buf, sizeof(buf));
	if (n > 0)
		ctf_proc_container_id(buf, (size_t)n, ret->container_id);
	ret->pid = pid;
	return 0;
}

/* ---- strings ------------------------------------------------------------ */

struct sink {
	char *dst;
	size_t size;
	size_t out;		/* bytes written */
	size_t need;		/* bytes the whole string needs */
	bool full;
};

/* Append @n bytes of valid UTF-8, whole characters only. */
static void sink_put(struct sink *s, const char *p, size_t n)
{
	size_t room;

	s->need += n;
	if (s->full)
		return;
	room = s->size ? s->size - 1 - s->out : 0;
	if (n <= room) {
		memcpy(s->dst + s->out, p, n);
		s->out += n;
		return;
	}
	/* back up to the start of the character that does not fit */
	while (room > 0 && ((unsigned char)p[room] & 0xc0) == 0x80)
		room--;
	memcpy(s->dst + s->out, p, room);
	s->out += room;
	s->full = true;
}

size_t ctf_proc_utf8_copy(char *dst, size_t size, const char *src, size_t len)
{
	static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */
	struct sink s = { .dst = dst, .size = size, .full = size == 0 };
	const char *p = src, *end = src + len;

	while (p < end) {
		const char *valid_end = p;

		g_utf8_validate_len(p, (gsize)(end - p), &valid_end);
		sink_put(&s, p, (size_t)(valid_end - p));
		p = valid_end;
		if (p < end) {		/* an invalid byte or a NUL */
			sink_put(&s, replacement, 3);
			p++;
		}
	}
	if (size)
		dst[s.out] = '\0';
	return s.need;
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && memcmp(s, prefix, pl) == 0;
}

/* The container id path segment @seg names, given the segment before it
 * (@prev, may be empty) and whether the path is under kubepods. */
static const char *segment_id(const char *seg, size_t n, const char *prev, size_t prev_n,
			      bool kubepods)
{
	static const char *const prefixes[] = {
		"docker-", "cri-containerd-", "crio-", "libpod-",
	};

	if (n > 6 && memcmp(seg + n - 6, ".scope", 6) == 0)
		n -= 6;
	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		size_t pl = strlen(prefixes[i]);

		if (has_prefix(seg, n, prefixes[i]) && is_hex64(seg + pl, n - pl))
			return seg + pl;
	}
	if (!is_hex64(seg, n))
		return NULL;
	if (prev_n == 6 && memcmp(prev, "docker", 6) == 0)
		return seg;				/* /docker/<id> */
	if (kubepods && has_prefix(prev, prev_n, "pod"))
		return seg;				/* kubepods/.../pod<uid>/<id> */
	return NULL;
}

/* The deepest id on one line "hierarchy:controllers:path". */
static const char *line_id(const char *line, size_t n)
{
	const char *path = memchr(line, ':', n), *end = line + n, *found = NULL;
	const char *prev = "";
	size_t prev_n = 0;
	bool kubepods;

	if (path)
		path = memchr(path + 1, ':', (size_t)(end - path - 1));
	if (!path)
		return NULL;
	path++;
	kubepods = g_strstr_len(path, end - path, "kubepods") != NULL;
	while (path < end) {
		const char *slash = memchr(path, '/', (size_t)(end - path));
		const char *seg_end = slash ? slash : end;
		const char *id = segment_id(path, (size_t)(seg_end - path), prev, prev_n, kubepods);

		if (id)
			found = id;
		prev = path;
		prev_n = (size_t)(seg_end - path);
		path = seg_end + 1;
	}
	return found;
}

bool ctf_proc_container_id(const char *cgroup, size_t len, char ret[65])
{
	const char *p = cgroup, *end = cgroup + len;

	ret[0] = '\0';
	if (!cgroup)
		return false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *id = line_id(p, (size_t)(line_end - p));

		if (id) {
			memcpy(ret, id, 64);
			ret[64] = '\0';
			return true;
		}
		p = line_end + 1;
	}
	return false;
}

void ctf_proc_user_name(uint32_t uid, char ret[33])
{
	char stackbuf[4096];
	g_autofree char *heap = NULL;
	char *buf = stackbuf;
	size_t size = sizeof(stackbuf);
	struct passwd pw, *found = NULL;
	int r;

	while ((r = getpwuid_r((uid_t)uid, &pw, buf, size, &found)) == ERANGE &&
	       size < (1u << 20)) {
		size *= 4;
		g_free(heap);
		buf = heap = g_malloc(size);
	}
	if (r == 0 && found && found->pw_name && found->pw_name[0] &&
	    ctf_proc_utf8_copy(ret, 33, found->pw_name, strlen(found->pw_name)) < 33)
		return;
	snprintf(ret, 33, "%u", uid);
}
