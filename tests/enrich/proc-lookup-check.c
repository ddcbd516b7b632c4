/*
 * proc-lookup-check: the process enricher against real processes.
 *
 *   proc-lookup-check --netns NS --out FILE [--timeout S] [--retry-ms MS] -- CMD...
 *
 * Subscribes to conntrack events in NS, then runs CMD (which makes the
 * traffic) and, for every NEW TCP/UDP entry, looks the process up at once
 * with the enricher and writes one line to FILE (tab-separated):
 *
 *   NEW id proto family osrc osport odst odport rsrc rsport rdst rdport
 *       rc pid comm exe user container_id lookup_us
 *
 * A lookup that returned -EAGAIN is tried once more --retry-ms later
 * (default 150) and written as a RETRY line of the same shape. On the
 * first UPDATE of a TCP entry in state ESTABLISHED, tcp_info is refreshed:
 *
 *   RTT id rc rtt_us retrans
 *
 * Timing: each NEW is also looked up a second time (warm caches) and, with
 * its addresses replaced by documentation addresses, as a forwarded flow;
 * stderr gets the cost summary and the enricher's counters.
 *
 * Exit 0 when CMD exited 0 and no event was lost; 1 otherwise; 77 when
 * not root.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include <glib.h>

#include "ctflow/ct-source.h"
#include "ctflow/enrich-process.h"

struct retry {
	struct ctf_ct_entry e;
	int64_t due_us;
};

struct state {
	struct ctf_proc_enricher *pe;
	const char *netns;
	FILE *out;
	int retry_ms;
	GArray *retries;		/* struct retry */
	GHashTable *rtt_done;		/* ids refreshed */
	GArray *us_first_hit, *us_first_miss, *us_warm_hit, *us_forwarded;
	unsigned n_new, n_rc[5];	/* 0, ENOENT, ESRCH, EAGAIN, other */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void addr_str(uint8_t family, const struct ctf_addr *a, char *buf, size_t size)
{
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)size);
}

/* Tabs or newlines in a field would break the line format. */
static const char *field(const char *s)
{
	static char buf[4][512];
	static unsigned next;
	char *b = buf[next++ % 4];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf[0]) - 1; i++)
		b[i] = s[i] == '\t' || s[i] == '\n' ? ' ' : s[i];
	b[i] = '\0';
	return i ? b : "-";
}

static void print_tuple(FILE *f, const struct ctf_ct_entry *e, const struct ctf_ct_tuple *t)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	addr_str(e->family, &t->src, s, sizeof(s));
	addr_str(e->family, &t->dst, d, sizeof(d));
	fprintf(f, "\t%s\t%u\t%s\t%u", s, t->sport, d, t->dport);
}

static void print_result(struct state *st, const char *kind, const struct ctf_ct_entry *e,
			 int rc, const struct ctf_proc_info *pi, int64_t us)
{
	fprintf(st->out, "%s\t%u\t%s\t%u", kind, e->id,
		e->orig.proto == IPPROTO_TCP ? "tcp" : "udp", e->family);
	print_tuple(st->out, e, &e->orig);
	print_tuple(st->out, e, &e->reply);
	fprintf(st->out, "\t%d\t%u\t%s\t%s\t%s\t%s\t%" PRId64 "\n", rc, pi->pid, field(pi->comm),
		field(pi->exe), field(pi->user), field(pi->container_id), us);
}

static int64_t timed_lookup(struct state *st, const struct ctf_ct_entry *e,
			    struct ctf_proc_info *pi, int *ret_rc)
{
	int64_t t0 = now_us();

	*ret_rc = ctf_proc_enricher_lookup(st->pe, st->netns, e, pi);
	return now_us() - t0;
}

static void measure_more(struct state *st, const struct ctf_ct_entry *e, int first_rc)
{
	struct ctf_ct_entry fwd = *e;
	struct ctf_proc_info pi;
	int64_t us;
	int rc;

	if (first_rc == 0) {
		us = timed_lookup(st, e, &pi, &rc);
		if (rc == 0)
			g_array_append_val(st->us_warm_hit, us);
	}
	/* the same flow between two addresses of nobody here: forwarded */
	memset(&fwd.orig.src, 0, sizeof(fwd.orig.src));
	memset(&fwd.orig.dst, 0, sizeof(fwd.orig.dst));
	if (e->family == 4) {
		memcpy(fwd.orig.src.b, "\xc0\x00\x02\x01", 4);	/* 192.0.2.1 */
		memcpy(fwd.orig.dst.b, "\xc6\x33\x64\x01", 4);	/* 198.51.100.1 */
	} else {
		memcpy(fwd.orig.src.b, "\x20\x01\x0d\xb8", 4);	/* 2001:db8::1 */
		fwd.orig.src.b[15] = 1;
		memcpy(fwd.orig.dst.b, "\x20\x01\x0d\xb8", 4);	/* 2001:db8::2 */
		fwd.orig.dst.b[15] = 2;
	}
	fwd.reply.src = fwd.orig.dst;
	fwd.reply.dst = fwd.orig.src;
	us = timed_lookup(st, &fwd, &pi, &rc);
	if (rc == -ENOENT)
		g_array_append_val(st->us_forwarded, us);
}

static void on_new(struct state *st, const struct ctf_ct_entry *e)
{
	struct ctf_proc_info pi;
	int rc;
	int64_t us = timed_lookup(st, e, &pi, &rc);

	st->n_new++;
	st->n_rc[rc == 0 ? 0 : rc == -ENOENT ? 1 : rc == -ESRCH ? 2 : rc == -EAGAIN ? 3 : 4]++;
	print_result(st, "NEW", e, rc, &pi, us);
	g_array_append_val(rc == 0 ? st->us_first_hit : st->us_first_miss, us);
	if (rc == -EAGAIN) {
		struct retry r = { .e = *e, .due_us = now_us() + (int64_t)st->retry_ms * 1000 };

		g_array_append_val(st->retries, r);
	}
	measure_more(st, e, rc);
}

static void on_update(struct state *st, const struct ctf_ct_entry *e)
{
	struct ctf_proc_info pi = { 0 };
	int rc;

	if (e->orig.proto != IPPROTO_TCP || !e->has_tcp_state ||
	    e->tcp_state != TCP_CONNTRACK_ESTABLISHED ||
	    g_hash_table_contains(st->rtt_done, GUINT_TO_POINTER(e->id)))
		return;
	g_hash_table_add(st->rtt_done, GUINT_TO_POINTER(e->id));
	rc = ctf_proc_enricher_refresh_tcp(st->pe, st->netns, e, &pi);
	fprintf(st->out, "RTT\t%u\t%d\t%u\t%u\n", e->id, rc, pi.tcp_rtt_us, pi.tcp_retrans);
}

static void on_entry(const struct ctf_ct_entry *e, void *userdata)
{
	struct state *st = userdata;

	if (e->orig.proto != IPPROTO_TCP && e->orig.proto != IPPROTO_UDP)
		return;
	if (e->msg == CTF_CT_NEW)
		on_new(st, e);
	else if (e->msg == CTF_CT_UPDATE)
		on_update(st, e);
}

static void run_retries(struct state *st, bool all)
{
	int64_t now = now_us();

	for (guint i = 0; i < st->retries->len;) {
		struct retry *r = &g_array_index(st->retries, struct retry, i);
		struct ctf_proc_info pi;
		int rc;
		int64_t us;

		if (!all && r->due_us > now) {
			i++;
			continue;
		}
		if (r->due_us > now)
			g_usleep((gulong)(r->due_us - now));
		us = timed_lookup(st, &r->e, &pi, &rc);
		print_result(st, "RETRY", &r->e, rc, &pi, us);
		g_array_remove_index_fast(st->retries, i);
		now = now_us();
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *what, GArray *a)
{
	int64_t sum = 0;

	if (!a->len) {
		fprintf(stderr, "# %-26s n=0\n", what);
		return;
	}
	qsort(a->data, a->len, sizeof(int64_t), cmp_i64);
	for (guint i = 0; i < a->len; i++)
		sum += g_array_index(a, int64_t, i);
	fprintf(stderr, "# %-26s n=%-5u mean=%.1f us  p50=%" PRId64 "  p90=%" PRId64
		"  max=%" PRId64 "\n", what, a->len, (double)sum / a->len,
		g_array_index(a, int64_t, a->len / 2), g_array_index(a, int64_t, a->len * 9 / 10),
		g_array_index(a, int64_t, a->len - 1));
}

static void print_stats(struct state *st)
{
	struct ctf_proc_enricher_stats s;

	ctf_proc_enricher_get_stats(st->pe, &s);
	fprintf(stderr, "# NEW lookups %u: found %u, no socket %u, no owner %u, pending %u, "
		"other %u\n", st->n_new, st->n_rc[0], st->n_rc[1], st->n_rc[2], st->n_rc[3],
		st->n_rc[4]);
	summary("lookup at NEW, found", st->us_first_hit);
	summary("lookup at NEW, not found", st->us_first_miss);
	summary("repeat lookup, found", st->us_warm_hit);
	summary("forwarded flow (not local)", st->us_forwarded);
	fprintf(stderr, "# enricher: lookups %" PRIu64 " hits %" PRIu64 " not_local %" PRIu64
		" no_socket %" PRIu64 " no_owner %" PRIu64 " pending %" PRIu64 " errors %" PRIu64
		" refreshes %" PRIu64 "\n", s.lookups, s.hits, s.not_local, s.no_socket,
		s.no_owner, s.pending, s.errors, s.refreshes);
	fprintf(stderr, "# enricher: sock_diag requests %" PRIu64 " errors %" PRIu64
		", address dumps %" PRIu64 ", /proc scans full %" PRIu64 " new-pid %" PRIu64
		" (%" PRIu64 " us in /proc fd scans), fd dirs denied %" PRIu64
		", cached inodes %u pids %u netns %u\n",
		s.sock_diag_requests, s.sock_diag_errors, s.addr_dumps, s.proc_scans,
		s.proc_scans_new, s.proc_scan_us, s.proc_fd_denied, s.inodes_cached, s.pids_cached, s.netns_open);
}

static pid_t spawn(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Read events until the command has exited and a grace period passed. */
static int event_loop(struct state *st, struct ctf_ct_source *src, pid_t child, int timeout_s)
{
	int64_t deadline = now_us() + (int64_t)timeout_s * 1000000, grace_end = 0;
	int status = 0, lost = 0;

	while (now_us() < deadline) {
		struct pollfd pfd = { .fd = ctf_ct_source_fd(src), .events = POLLIN };
		int r;

		if (poll(&pfd, 1, 5) > 0) {
			r = ctf_ct_source_read(src, on_entry, st);
			if (r == -ENOBUFS)
				lost++;
			else if (r < 0)
				fprintf(stderr, "reading events: %s\n", strerror(-r));
		}
		run_retries(st, false);
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			child = 0;
			grace_end = now_us() + 500000;
		}
		if (!child && now_us() >= grace_end)
			break;
	}
	if (child > 0) {
		fprintf(stderr, "FAIL: the traffic command did not finish in %d s\n", timeout_s);
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
		return 1;
	}
	run_retries(st, true);
	if (lost)
		fprintf(stderr, "FAIL: the kernel dropped conntrack events %d times\n", lost);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "FAIL: the traffic command failed (status %d)\n", status);
	return lost || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retry-ms", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctf_ct_source_config cfg;
	g_autoptr(ctf_ct_source) src = NULL;
	g_autoptr(GError) err = NULL;
	struct state st = { .retry_ms = 150 };
	const char *out = NULL;
	int timeout_s = 120, c, rc;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root\n");
		return 77;
	}
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': st.netns = optarg; break;
		case 'o': out = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'r': st.retry_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!out || optind >= argc) {
		fprintf(stderr, "usage: proc-lookup-check --netns NS --out FILE -- CMD...\n");
		return 2;
	}
	st.out = fopen(out, "w");
	if (!st.out) {
		perror(out);
		return 1;
	}
	ctf_ct_source_config_init(&cfg);
	cfg.netns = st.netns;
	src = ctf_ct_source_open(&cfg, &err);
	st.pe = src ? ctf_proc_enricher_new(NULL, &err) : NULL;
	if (!st.pe) {
		fprintf(stderr, "FAIL: %s\n", err->message);
		return 1;
	}
	st.retries = g_array_new(FALSE, FALSE, sizeof(struct retry));
	st.rtt_done = g_hash_table_new(g_direct_hash, g_direct_equal);
	st.us_first_hit = g_array_new(FALSE, FALSE, sizeof(int64_t));
	st.us_first_miss = g_array_new(FALSE, FALSE, sizeof(int64_t));
	st.us_warm_hit = g_array_new(FALSE, FALSE, sizeof(int64_t));
	st.us_forwarded = g_array_new(FALSE, FALSE, sizeof(int64_t));

	rc = event_loop(&st, src, spawn(argv + optind), timeout_s);
	print_stats(&st);
	fclose(st.out);
	ctf_proc_enricher_free(st.pe);
	g_array_free(st.retries, TRUE);
	g_hash_table_destroy(st.rtt_done);
	g_array_free(st.us_first_hit, TRUE);
	g_array_free(st.us_first_miss, TRUE);
	g_array_free(st.us_warm_hit, TRUE);
	g_array_free(st.us_forwarded, TRUE);
	return rc;
}
