/*
 * ct-source-check: the conntrack source against a real kernel.
 *
 * Opens a source in a namespace, runs a command that makes traffic there
 * (the test-ct-*.sh scripts, through lib.sh), and reads events while it runs.
 *
 * flows mode (--truth FILE): the command appends snapshots of `conntrack -L
 * -o extended,id` to FILE (plus "# nft-new N" lines). Every entry
 * there must arrive as exactly one NEW and, once it expires, one DESTROY,
 * with the same id and tuples, and the DESTROY's counters must equal the
 * ground truth. The number of NEW events must equal the nft counter.
 *
 * burst mode (--burst): the command is a load generator; prints what was
 * received, asserts an overrun was (--expect-enobufs) or was not
 * (--expect-no-enobufs) reported, optionally waits for exactly N DESTROY
 * events (--expect-destroy), and asserts that a dump still works
 * afterwards (holding at least --min-dump entries).
 *
 * Exit 0 pass, 1 fail, 77 skip (not root).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <glib.h>

#include "ctflow/ct-source.h"

struct flow {
	uint32_t id;
	struct ctf_ct_entry first;	/* the NEW event */
	struct ctf_ct_entry last;	/* the DESTROY event */
	unsigned n_new, n_update, n_destroy, n_mismatch;
};

struct state {
	GHashTable *flows;		/* id -> struct flow* */
	uint64_t dumped;
	uint64_t new_with_counters, new_with_timestamp;
	uint64_t update_with_counters, update_with_timestamp;
};

struct truth {
	uint32_t id;
	uint8_t family;
	struct ctf_ct_tuple orig, reply;
	uint64_t orig_packets, orig_bytes, reply_packets, reply_bytes;
	bool has_counters;
};

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			failures++;                                                      \
			printf("not ok: ");                                              \
			printf(__VA_ARGS__);                                             \
			printf("\n");                                                    \
		}                                                                        \
	} while (0)

static bool tuple_eq(const struct ctf_ct_tuple *a, const struct ctf_ct_tuple *b)
{
	return memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 && a->proto == b->proto &&
	       a->sport == b->sport && a->dport == b->dport && a->icmp_id == b->icmp_id &&
	       a->icmp_type == b->icmp_type && a->icmp_code == b->icmp_code;
}

static char *tuple_str(const struct ctf_ct_tuple *t, uint8_t family)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, t->src.b, s, sizeof(s));
	inet_ntop(af, t->dst.b, d, sizeof(d));
	if (t->proto == 1 || t->proto == 58)
		return g_strdup_printf("proto %u %s -> %s type %u code %u id %u", t->proto, s, d,
				       t->icmp_type, t->icmp_code, t->icmp_id);
	return g_strdup_printf("proto %u %s:%u -> %s:%u", t->proto, s, t->sport, d, t->dport);
}

static void on_entry(const struct ctf_ct_entry *e, void *userdata)
{
	struct state *st = userdata;
	struct flow *f;

	if (e->msg == CTF_CT_DUMP) {
		st->dumped++;
		return;
	}
	f = g_hash_table_lookup(st->flows, GUINT_TO_POINTER(e->id));
	if (!f) {
		f = g_new0(struct flow, 1);
		f->id = e->id;
		f->first = *e;
		g_hash_table_insert(st->flows, GUINT_TO_POINTER(e->id), f);
	} else if (!tuple_eq(&f->first.orig, &e->orig) || !tuple_eq(&f->first.reply, &e->reply)) {
		f->n_mismatch++;
	}
	switch (e->msg) {
	case CTF_CT_NEW:
		if (f->n_new++ == 0)
			f->first = *e;
		st->new_with_counters += e->has_counters;
		st->new_with_timestamp += e->has_timestamp;
		break;
	case CTF_CT_UPDATE:
		f->n_update++;
		st->update_with_counters += e->has_counters;
		st->update_with_timestamp += e->has_timestamp;
		break;
	case CTF_CT_DESTROY:
		f->n_destroy++;
		f->last = *e;
		break;
	}
}

/* ---- ground truth: conntrack -L -o extended,id ------------------------ */

static bool parse_u64(const char *v, uint64_t *ret)
{
	char *end;

	*ret = g_ascii_strtoull(v, &end, 10);
	return end != v && *end == '\0';
}

static void truth_kv(struct truth *t, int tuple, bool after_use, const char *k, const char *v)
{
	struct ctf_ct_tuple *tp = tuple == 0 ? &t->orig : &t->reply;
	int af = t->family == 6 ? AF_INET6 : AF_INET;
	uint64_t n = 0;

	if (!strcmp(k, "src") || !strcmp(k, "dst")) {
		inet_pton(af, v, !strcmp(k, "src") ? tp->src.b : tp->dst.b);
		return;
	}
	if (!parse_u64(v, &n))
		return;
	if (!strcmp(k, "id") && after_use)
		t->id = (uint32_t)n;
	else if (!strcmp(k, "id"))
		tp->icmp_id = (uint16_t)n;
	else if (!strcmp(k, "sport"))
		tp->sport = (uint16_t)n;
	else if (!strcmp(k, "dport"))
		tp->dport = (uint16_t)n;
	else if (!strcmp(k, "type"))
		tp->icmp_type = (uint8_t)n;
	else if (!strcmp(k, "code"))
		tp->icmp_code = (uint8_t)n;
	else if (!strcmp(k, "packets")) {
		*(tuple == 0 ? &t->orig_packets : &t->reply_packets) = n;
		t->has_counters = true;
	} else if (!strcmp(k, "bytes"))
		*(tuple == 0 ? &t->orig_bytes : &t->reply_bytes) = n;
}

/* "ipv4 2 udp 17 29 src=... dst=... sport=... dport=... packets=... bytes=...
 *  src=... ... [ASSURED] mark=0 use=1 id=123" */
static bool truth_parse_line(const char *line, struct truth *t)
{
	g_auto(GStrv) tok = g_strsplit_set(line, " \t", -1);
	int tuple = -1, field = 0;
	bool after_use = false;

	memset(t, 0, sizeof(*t));
	for (int i = 0; tok[i]; i++) {
		char *eq = strchr(tok[i], '=');

		if (!*tok[i])
			continue;
		if (!eq) {
			if (field == 0)
				t->family = !strcmp(tok[i], "ipv6") ? 6 : 4;
			else if (field == 3)
				t->orig.proto = t->reply.proto = (uint8_t)atoi(tok[i]);
			field++;
			continue;
		}
		*eq = '\0';
		if (!strcmp(tok[i], "src"))
			tuple++;
		if (!strcmp(tok[i], "use"))
			after_use = true;
		if (tuple >= 0 && tuple <= 1)
			truth_kv(t, tuple, after_use, tok[i], eq + 1);
	}
	return tuple == 1 && t->id != 0;
}

static GArray *truth_read(const char *path, int64_t *ret_nft_new)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GHashTable) index = g_hash_table_new(NULL, NULL);	/* id -> index + 1 */
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct truth));

	*ret_nft_new = -1;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return a;
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		struct truth t;
		guint at;

		if (g_str_has_prefix(lines[i], "# nft-new ")) {
			*ret_nft_new = g_ascii_strtoll(lines[i] + 10, NULL, 10);
			continue;
		}
		if (!truth_parse_line(lines[i], &t))
			continue;
		/* snapshots are appended: the last line of an entry is newest */
		at = GPOINTER_TO_UINT(g_hash_table_lookup(index, GUINT_TO_POINTER(t.id)));
		if (at) {
			g_array_index(a, struct truth, at - 1) = t;
		} else {
			g_array_append_val(a, t);
			g_hash_table_insert(index, GUINT_TO_POINTER(t.id), GUINT_TO_POINTER(a->len));
		}
	}
	return a;
}

/* ---- driving ------------------------------------------------------------ */

struct opts {
	char *netns;
	char *truth;
	int64_t rcvbuf;
	gboolean reliable, no_update, expect_nat, burst, expect_enobufs, expect_no_enobufs;
	gboolean no_read_during;
	int timeout;
	int64_t min_dump;
	int64_t expect_destroy;
	char **cmd;
};

static int read_events(ctf_ct_source *src, struct state *st, bool *ret_enobufs)
{
	int r = ctf_ct_source_read(src, on_entry, st);

	if (r == -ENOBUFS) {
		*ret_enobufs = true;
		return 0;
	}
	return r;
}

/* Read events until @pid exits; returns its wait status. */
static int run_command(ctf_ct_source *src, struct state *st, GPid pid, bool read_during,
		       bool *ret_enobufs)
{
	struct pollfd pfd = { .fd = ctf_ct_source_fd(src), .events = POLLIN };
	int status = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		if (!read_during) {
			g_usleep(20000);
			continue;
		}
		if (poll(&pfd, 1, 20) > 0 && read_events(src, st, ret_enobufs) < 0)
			g_printerr("read error: %s\n", g_strerror(errno));
	}
}

static void drain_until(ctf_ct_source *src, struct state *st, int64_t deadline_us,
			bool *ret_enobufs)
{
	struct pollfd pfd = { .fd = ctf_ct_source_fd(src), .events = POLLIN };

	while (g_get_monotonic_time() < deadline_us) {
		if (poll(&pfd, 1, 100) <= 0)
			return;
		read_events(src, st, ret_enobufs);
	}
}

static bool all_destroyed(struct state *st, GArray *truth)
{
	for (guint i = 0; i < truth->len; i++) {
		struct truth *t = &g_array_index(truth, struct truth, i);
		struct flow *f = g_hash_table_lookup(st->flows, GUINT_TO_POINTER(t->id));

		if (!f || f->n_destroy == 0)
			return false;
	}
	return true;
}

static void check_flow(const struct opts *o, struct state *st, const struct truth *t)
{
	struct flow *f = g_hash_table_lookup(st->flows, GUINT_TO_POINTER(t->id));
	g_autofree char *desc = tuple_str(&t->orig, t->family);

	if (!f) {
		CHECK(false, "%s (id %u): no event at all", desc, t->id);
		return;
	}
	CHECK(f->n_new == 1, "%s: %u NEW events", desc, f->n_new);
	CHECK(f->n_destroy == 1, "%s: %u DESTROY events", desc, f->n_destroy);
	CHECK(f->n_mismatch == 0, "%s: %u events with other tuples", desc, f->n_mismatch);
	CHECK(f->first.family == t->family, "%s: family %u", desc, f->first.family);
	CHECK(tuple_eq(&f->first.orig, &t->orig) && tuple_eq(&f->first.reply, &t->reply),
	      "%s: NEW tuples differ from conntrack -L", desc);
	CHECK(ctf_ct_entry_is_nat(&f->first) == (bool)o->expect_nat, "%s: NAT %d, expected %d",
	      desc, ctf_ct_entry_is_nat(&f->first), o->expect_nat);
	if (f->n_destroy == 0)
		return;
	CHECK(tuple_eq(&f->last.orig, &t->orig) && tuple_eq(&f->last.reply, &t->reply),
	      "%s: DESTROY tuples differ from conntrack -L", desc);
	CHECK(f->last.has_counters && t->has_counters, "%s: no counters", desc);
	CHECK(f->last.orig_packets == t->orig_packets && f->last.orig_bytes == t->orig_bytes &&
	      f->last.reply_packets == t->reply_packets && f->last.reply_bytes == t->reply_bytes,
	      "%s: counters %" PRIu64 "/%" PRIu64 " %" PRIu64 "/%" PRIu64 ", conntrack -L says "
	      "%" PRIu64 "/%" PRIu64 " %" PRIu64 "/%" PRIu64, desc, f->last.orig_packets,
	      f->last.orig_bytes, f->last.reply_packets, f->last.reply_bytes, t->orig_packets,
	      t->orig_bytes, t->reply_packets, t->reply_bytes);
	CHECK(f->last.has_timestamp && f->last.start_ns > 0 &&
	      f->last.stop_ns >= f->last.start_ns, "%s: timestamps %" PRIu64 " .. %" PRIu64,
	      desc, f->last.start_ns, f->last.stop_ns);
	printf("ok: %s id %u: NEW, %u UPDATE, DESTROY %" PRIu64 "/%" PRIu64 " pkts %" PRIu64
	       "/%" PRIu64 " bytes, %.3f s%s\n", desc, t->id, f->n_update, f->last.orig_packets,
	       f->last.reply_packets, f->last.orig_bytes, f->last.reply_bytes,
	       (f->last.stop_ns - f->last.start_ns) / 1e9,
	       ctf_ct_entry_is_nat(&f->first) ? ", NAT" : "");
}

static unsigned count_new(struct state *st)
{
	GHashTableIter it;
	gpointer v;
	unsigned n = 0;

	g_hash_table_iter_init(&it, st->flows);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += ((struct flow *)v)->n_new;
	return n;
}

static int flows_mode(const struct opts *o, ctf_ct_source *src, struct state *st)
{
	int64_t nft_new, deadline;
	g_autoptr(GArray) truth = truth_read(o->truth, &nft_new);
	bool enobufs = false;

	CHECK(truth->len > 0, "no ground truth in %s", o->truth);
	deadline = g_get_monotonic_time() + (int64_t)o->timeout * G_USEC_PER_SEC;
	/* Expired entries wait for the gc worker, which may idle for seconds;
	 * a table dump reaps the expired entries it walks past, so dump once
	 * a second while waiting. */
	while (!all_destroyed(st, truth) && g_get_monotonic_time() < deadline) {
		g_autoptr(GError) error = NULL;

		drain_until(src, st, g_get_monotonic_time() + G_USEC_PER_SEC, &enobufs);
		if (!all_destroyed(st, truth) &&
		    !ctf_ct_source_dump(src, on_entry, st, NULL, &error))
			CHECK(false, "dump: %s", error->message);
	}
	drain_until(src, st, g_get_monotonic_time() + 200000, &enobufs);
	CHECK(!enobufs, "ENOBUFS with a default buffer");
	for (guint i = 0; i < truth->len; i++)
		check_flow(o, st, &g_array_index(truth, struct truth, i));
	CHECK(count_new(st) == truth->len, "%u NEW events for %u entries", count_new(st),
	      truth->len);
	CHECK(nft_new == (int64_t)truth->len, "nft counted %" PRId64 " new entries, conntrack "
	      "-L showed %u", nft_new, truth->len);
	/* what the kernel puts in events, for the record */
	printf("# %u flows; events with counters / timestamps: NEW %" PRIu64 " / %" PRIu64
	       ", UPDATE %" PRIu64 " / %" PRIu64 "\n", truth->len, st->new_with_counters,
	       st->new_with_timestamp, st->update_with_counters, st->update_with_timestamp);
	return failures ? 1 : 0;
}

static int burst_mode(const struct opts *o, ctf_ct_source *src, struct state *st,
		      bool enobufs)
{
	struct ctf_ct_source_stats ss;
	g_autoptr(GError) error = NULL;
	bool complete = false;
	int64_t t0;

	drain_until(src, st, g_get_monotonic_time() + 3 * G_USEC_PER_SEC, &enobufs);
	ctf_ct_source_get_stats(src, &ss);
	/* Waiting for DESTROY: dump once a second, which reaps expired
	 * entries the gc worker has not reached yet. */
	for (int64_t end = g_get_monotonic_time() + (int64_t)o->timeout * G_USEC_PER_SEC;
	     o->expect_destroy && (int64_t)ss.msgs[CTF_CT_DESTROY] < o->expect_destroy &&
	     g_get_monotonic_time() < end; ctf_ct_source_get_stats(src, &ss)) {
		drain_until(src, st, g_get_monotonic_time() + G_USEC_PER_SEC, &enobufs);
		ctf_ct_source_dump(src, on_entry, st, NULL, NULL);
	}
	st->dumped = 0;
	t0 = g_get_monotonic_time();
	CHECK(ctf_ct_source_dump(src, on_entry, st, &complete, &error),
	      "dump after the burst: %s", error ? error->message : "");
	printf("result: rcvbuf=%zu new=%" PRIu64 " update=%" PRIu64 " destroy=%" PRIu64
	       " enobufs=%" PRIu64 " parse_errors=%" PRIu64 " dumped=%" PRIu64
	       " dump_complete=%d dump_ms=%.1f\n", ss.rcvbuf, ss.msgs[CTF_CT_NEW],
	       ss.msgs[CTF_CT_UPDATE], ss.msgs[CTF_CT_DESTROY], ss.enobufs, ss.parse_errors,
	       st->dumped, complete, (g_get_monotonic_time() - t0) / 1000.0);
	if (o->expect_enobufs)
		CHECK(enobufs && ss.enobufs > 0, "no ENOBUFS reported");
	if (o->expect_no_enobufs)
		CHECK(!enobufs && ss.enobufs == 0, "ENOBUFS reported %" PRIu64 " times",
		      ss.enobufs);
	if (o->expect_destroy)
		CHECK((int64_t)ss.msgs[CTF_CT_DESTROY] == o->expect_destroy, "%" PRIu64 " DESTROY "
		      "events, expected %" PRId64, ss.msgs[CTF_CT_DESTROY], o->expect_destroy);
	CHECK((int64_t)st->dumped >= o->min_dump,
	      "the dump returned %" PRIu64 " entries, expected at least %" PRId64, st->dumped,
	      o->min_dump);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .timeout = 60 };
	GOptionEntry entries[] = {
		{ "netns", 0, 0, G_OPTION_ARG_STRING, &o.netns, "namespace", "NAME" },
		{ "truth", 0, 0, G_OPTION_ARG_FILENAME, &o.truth, "ground truth file", "FILE" },
		{ "rcvbuf", 0, 0, G_OPTION_ARG_INT64, &o.rcvbuf, "receive buffer", "BYTES" },
		{ "reliable", 0, 0, G_OPTION_ARG_NONE, &o.reliable, "reliable delivery", NULL },
		{ "no-update", 0, 0, G_OPTION_ARG_NONE, &o.no_update, "no UPDATE events", NULL },
		{ "expect-nat", 0, 0, G_OPTION_ARG_NONE, &o.expect_nat, "flows are NATed", NULL },
		{ "burst", 0, 0, G_OPTION_ARG_NONE, &o.burst, "load generator mode", NULL },
		{ "expect-enobufs", 0, 0, G_OPTION_ARG_NONE, &o.expect_enobufs, "", NULL },
		{ "expect-no-enobufs", 0, 0, G_OPTION_ARG_NONE, &o.expect_no_enobufs, "", NULL },
		{ "no-read-during", 0, 0, G_OPTION_ARG_NONE, &o.no_read_during,
		  "do not read while the command runs", NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &o.timeout, "seconds to wait", "S" },
		{ "min-dump", 0, 0, G_OPTION_ARG_INT64, &o.min_dump, "entries the dump must hold",
		  "N" },
		{ "expect-destroy", 0, 0, G_OPTION_ARG_INT64, &o.expect_destroy,
		  "wait for exactly N DESTROY events", "N" },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.cmd, "", "CMD..." },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("-- COMMAND...");
	g_autoptr(GError) error = NULL;
	g_autoptr(ctf_ct_source) src = NULL;
	struct ctf_ct_source_config cfg;
	struct state st = { 0 };
	bool enobufs = false;
	GPid pid;
	int status, rc;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || !o.cmd || !o.cmd[0] ||
	    (!o.burst && !o.truth)) {
		g_printerr("usage: ct-source-check [--netns NS] (--truth FILE | --burst) -- CMD\n");
		return 2;
	}
	ctf_ct_source_config_init(&cfg);
	cfg.netns = o.netns;
	if (o.rcvbuf > 0)
		cfg.rcvbuf = (size_t)o.rcvbuf;
	cfg.reliable = o.reliable;
	cfg.no_update = o.no_update;
	src = ctf_ct_source_open(&cfg, &error);
	if (!src) {
		printf("not ok: opening the source: %s\n", error->message);
		return 1;
	}
	st.flows = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	if (!g_spawn_async(NULL, o.cmd, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
			   NULL, NULL, &pid, &error)) {
		printf("not ok: running %s: %s\n", o.cmd[0], error->message);
		return 1;
	}
	status = run_command(src, &st, pid, !o.no_read_during, &enobufs);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("not ok: %s exited with status %d\n", o.cmd[0], status);
		return 1;
	}
	rc = o.burst ? burst_mode(&o, src, &st, enobufs) : flows_mode(&o, src, &st);
	g_hash_table_destroy(st.flows);
	g_free(o.netns);
	g_free(o.truth);
	g_strfreev(o.cmd);
	printf("%s\n", rc == 0 ? "PASS" : "FAIL");
	return rc;
}
