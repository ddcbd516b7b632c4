/*
 * pid -> process for the process enricher: comm, exe, uid and container id
 * from /proc/PID, and the string helpers behind them: UTF-8 sanitising,
 * cgroup path patterns, user names. Caches nothing (process.c does).
 */
#define G_LOG_DOMAIN "ctflow-enrich"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process-private.h"

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

/* The number after @key ("\nUid:") in status text; for Uid, @skip 1
 * skips the real uid to give the effective one. */
static bool status_field(const char *status, const char *key, int skip, uint32_t *ret)
{
	const char *p = strstr(status, key);
	char *end;
	unsigned long v = 0;

	if (!p)
		return false;
	p += strlen(key);
	for (int i = 0; i <= skip; i++) {
		v = strtoul(p, &end, 10);
		if (end == p)
			return false;
		p = end;
	}
	if (v > UINT32_MAX)
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
	uint32_t tgid;
	ssize_t n;

	n = read_proc_file(proc_fd, pid, "status", buf, sizeof(buf));
	if (n <= 0)
		return -ESRCH;
	/* a thread's id (a search may have found the fd table through one):
	 * the process is its thread group */
	if (status_field(buf, "\nTgid:", 0, &tgid) && tgid != pid && tgid != 0)
		return ctf_proc_read_info(proc_fd, tgid, ret);
	status_field(buf, "\nUid:", 1, &ret->uid);
	n = read_proc_file(proc_fd, pid, "comm", buf, sizeof(buf));
	if (n <= 0)
		return -ESRCH;
	if (buf[n - 1] == '\n')
		n--;
	/* comm is the kernel's own truncation to 15 bytes; invalid bytes may
	 * widen it, and a cut at a character boundary is then fine. */
	ctf_proc_utf8_copy(ret->comm, sizeof(ret->comm), buf, (size_t)n);
	read_exe(proc_fd, pid, ret);
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
