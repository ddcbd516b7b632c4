/*
 * if-check: the interface enricher against a real router namespace.
 *
 * Opens four enrichers in the namespace (--netns) side by side, so one
 * run of traffic measures each way of knowing:
 *   full   - samples on `any`, routes for the rest (the default config)
 *   samp   - samples only
 *   route  - routes only
 *   cfg    - samples only, on the interfaces named by --interfaces
 * and a conntrack listener there. Runs the command after `--` (the
 * traffic), keeps reading while it runs, waits until every flow that
 * began has ended (DESTROY), lets the last samples arrive, then looks
 * every flow up in each enricher and prints, one line per flow:
 *
 *   FLOW id=ID fam=4 proto=6 osrc=A odst=A rsrc=A rdst=A \
 *        full=IN/OUT/SS samp=... route=... cfg=...
 *
 * where the two letters say where ingress and egress came from (S
 * sampled, R route, U unknown). Then the link table of `full` (LINK
 * ifindex name<TAB>alias), its generation before and after (LINKGEN),
 * statistics (STATS name key=value...) and what it cost (COST ...).
 *
 * With --probe SRC,DST and --probe-step CMD (repeatable), it then checks
 * that route answers follow routing changes: a UDP flow SRC -> DST is
 * looked up (PROBE step=0 ...), each CMD is run (sh -c) and, once its
 * events were read, the flow is looked up again (PROBE step=N ...).
 *
 * The test script judges the lines against the router's own view.
 *
 * Exit 0 when the run was complete (command succeeded, every flow ended,
 * no event lost), 1 otherwise, 77 when not root.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include <glib.h>

#include "ctflow/ct-source.h"
#include "ctflow/enrich-interface.h"

enum { E_FULL, E_SAMP, E_ROUTE, E_CFG, E_N };
static const char *const e_names[E_N] = { "full", "samp", "route", "cfg" };

struct flow {
	struct ctf_ct_entry e;
	bool ended;
};

struct state {
	ctf_if_enricher *ie[E_N];
	uint64_t cpu_ns[E_N];		/* thread CPU inside _process() */
	GHashTable *flows;		/* id -> struct flow* */
	unsigned n_new, n_destroy;
	bool lost;
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_entry(const struct ctf_ct_entry *e, void *userdata)
{
	struct state *st = userdata;
	struct flow *f = g_hash_table_lookup(st->flows, GUINT_TO_POINTER(e->id));

	if (e->msg == CTF_CT_NEW && !f) {
		f = g_new0(struct flow, 1);
		f->e = *e;
		g_hash_table_insert(st->flows, GUINT_TO_POINTER(e->id), f);
		st->n_new++;
	} else if (e->msg == CTF_CT_DESTROY && f && !f->ended) {
		f->e = *e;
		f->ended = true;
		st->n_destroy++;
	}
}

static void process_all(struct state *st)
{
	for (int i = 0; i < E_N; i++) {
		uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);

		while (ctf_if_enricher_process(st->ie[i]) > 0)
			;
		st->cpu_ns[i] += now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	}
}

/* One round: wait up to @ms for anything, then drain everything. */
static void pump(struct state *st, ctf_ct_source *src, int ms)
{
	struct pollfd pfd[E_N + 1];

	for (int i = 0; i < E_N; i++)
		pfd[i] = (struct pollfd){ .fd = ctf_if_enricher_fd(st->ie[i]), .events = POLLIN };
	pfd[E_N] = (struct pollfd){ .fd = ctf_ct_source_fd(src), .events = POLLIN };
	poll(pfd, E_N + 1, ms);
	/* samples first: a DESTROY must never overtake its flow's samples */
	process_all(st);
	for (;;) {
		int r = ctf_ct_source_read(src, on_entry, st);

		if (r == -ENOBUFS) {
			st->lost = true;
			continue;
		}
		if (r <= 0)
			break;
	}
}

static bool run_command(struct state *st, ctf_ct_source *src, char **argv, int timeout_s)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_s * 1000000000u;
	pid_t pid = fork();
	int status = 0;

	if (pid < 0)
		return false;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (now_ns(CLOCK_MONOTONIC) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "if-check: command timed out\n");
			return false;
		}
		pump(st, src, 20);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "if-check: command failed (status %d)\n", status);
		return false;
	}
	return true;
}

/* Every flow that began must end; then the capture rings' last blocks
 * (ring_timeout_ms) are read and one link refresh (1 s) passes. */
static bool settle(struct state *st, ctf_ct_source *src, int timeout_s)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_s * 1000000000u;

	while (st->n_destroy < st->n_new && now_ns(CLOCK_MONOTONIC) < deadline)
		pump(st, src, 50);
	for (uint64_t end = now_ns(CLOCK_MONOTONIC) + 1500000000u; now_ns(CLOCK_MONOTONIC) < end;)
		pump(st, src, 50);
	return st->n_destroy == st->n_new;
}

static const char *addr_str(const struct ctf_addr *a, uint8_t family, char *buf)
{
	return inet_ntop(family == 6 ? AF_INET6 : AF_INET, a->b, buf, INET6_ADDRSTRLEN);
}

static char src_letter(uint8_t src)
{
	return src == CTF_IF_SAMPLED ? 'S' : src == CTF_IF_ROUTE ? 'R' : 'U';
}

static gint by_id(gconstpointer a, gconstpointer b)
{
	const struct flow *x = *(struct flow *const *)a, *y = *(struct flow *const *)b;

	return x->e.id < y->e.id ? -1 : x->e.id > y->e.id;
}

static void print_flows(struct state *st, GPtrArray *flows)
{
	for (guint i = 0; i < flows->len; i++) {
		const struct flow *f = flows->pdata[i];
		char a[4][INET6_ADDRSTRLEN];

		printf("FLOW id=%u fam=%u proto=%u osrc=%s odst=%s rsrc=%s rdst=%s", f->e.id,
		       f->e.family, f->e.orig.proto, addr_str(&f->e.orig.src, f->e.family, a[0]),
		       addr_str(&f->e.orig.dst, f->e.family, a[1]),
		       addr_str(&f->e.reply.src, f->e.family, a[2]),
		       addr_str(&f->e.reply.dst, f->e.family, a[3]));
		for (int k = 0; k < E_N; k++) {
			struct ctf_if_info info;

			ctf_if_enricher_lookup(st->ie[k], &f->e, &info);
			printf(" %s=%u/%u/%c%c", e_names[k], info.ingress_if, info.egress_if,
			       src_letter(info.ingress_src), src_letter(info.egress_src));
		}
		printf("\n");
	}
}

static void print_links(ctf_if_enricher *ie)
{
	size_t n;
	const struct ctf_if_link *l = ctf_if_enricher_links(ie, &n);

	for (size_t i = 0; i < n; i++)
		printf("LINK %u %s\t%s\n", l[i].ifindex, l[i].name, l[i].alias);
}

static void print_stats(struct state *st)
{
	for (int i = 0; i < E_N; i++) {
		struct ctf_if_stats s;

		ctf_if_enricher_get_stats(st->ie[i], &s);
		printf("STATS %s frames=%" PRIu64 " unusable=%" PRIu64 " drops=%" PRIu64
		       " lookups=%" PRIu64 " in_sampled=%" PRIu64 " in_routed=%" PRIu64
		       " in_unknown=%" PRIu64 " out_sampled=%" PRIu64 " out_routed=%" PRIu64
		       " out_unknown=%" PRIu64 " route_queries=%" PRIu64 " route_hits=%" PRIu64
		       " route_errors=%" PRIu64 " route_flushes=%" PRIu64 " events=%" PRIu64
		       " overruns=%" PRIu64 " link_dumps=%" PRIu64 " cpu_us=%" PRIu64 "\n",
		       e_names[i], s.frames, s.frames_unusable, s.pcap_drops, s.lookups,
		       s.ingress_sampled, s.ingress_routed, s.ingress_unknown, s.egress_sampled,
		       s.egress_routed, s.egress_unknown, s.route_queries, s.route_cache_hits,
		       s.route_errors, s.route_flushes, s.netlink_events, s.netlink_overruns,
		       s.link_dumps, st->cpu_ns[i] / 1000);
	}
}

/* Lookup cost once the caches are warm: every flow, many times. */
static void print_cost(struct state *st, GPtrArray *flows)
{
	const int rounds = 200;
	uint64_t t0;

	if (!flows->len)
		return;
	for (int k = 0; k < E_N; k++) {
		struct ctf_if_info info;

		t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		for (int r = 0; r < rounds; r++)
			for (guint i = 0; i < flows->len; i++)
				ctf_if_enricher_lookup(st->ie[k], &((struct flow *)flows->pdata[i])->e,
						       &info);
		printf("COST %s lookup_ns=%" PRIu64 "\n", e_names[k],
		       (now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / ((uint64_t)rounds * flows->len));
	}
}

static void probe_print(struct state *st, const struct ctf_ct_entry *e, int step)
{
	printf("PROBE step=%d", step);
	for (int k = 0; k < E_N; k++) {
		struct ctf_if_info info;

		ctf_if_enricher_lookup(st->ie[k], e, &info);
		printf(" %s=%u/%u/%c%c", e_names[k], info.ingress_if, info.egress_if,
		       src_letter(info.ingress_src), src_letter(info.egress_src));
	}
	printf("\n");
}

/* A flow nobody sampled, looked up before and after each routing change. */
static bool probe_routes(struct state *st, ctf_ct_source *src, const char *probe, char **steps)
{
	g_auto(GStrv) ends = g_strsplit(probe, ",", 2);
	struct ctf_ct_entry e = { .family = 4 };

	if (!ends[0] || !ends[1] || inet_pton(AF_INET, ends[0], e.orig.src.b) != 1 ||
	    inet_pton(AF_INET, ends[1], e.orig.dst.b) != 1)
		return false;
	e.orig.proto = e.reply.proto = 17;
	e.orig.sport = e.reply.dport = 33333;
	e.orig.dport = e.reply.sport = 9;
	e.reply.src = e.orig.dst;
	e.reply.dst = e.orig.src;
	probe_print(st, &e, 0);
	for (int i = 0; steps && steps[i]; i++) {
		if (system(steps[i]) != 0) {
			fprintf(stderr, "if-check: probe step failed: %s\n", steps[i]);
			return false;
		}
		for (int k = 0; k < 4; k++)
			pump(st, src, 50);
		probe_print(st, &e, i + 1);
	}
	return true;
}

static gboolean open_all(struct state *st, const char *netns, char **ifaces, unsigned every,
			 GError **error)
{
	for (int i = 0; i < E_N; i++) {
		struct ctf_if_config cfg;

		ctf_if_config_init(&cfg);
		cfg.netns = netns;
		cfg.sample_every = every;
		/* an alias set on a down interface is only seen by a refresh */
		cfg.links_refresh_s = 1;
		cfg.sampling = i != E_ROUTE;
		cfg.routing = i == E_FULL || i == E_ROUTE;
		if (i == E_CFG)
			cfg.interfaces = (const char *const *)ifaces;
		st->ie[i] = ctf_if_enricher_new(&cfg, error);
		if (!st->ie[i])
			return FALSE;
	}
	printf("FILTER %s\n", ctf_if_enricher_filter(st->ie[E_FULL]));
	return TRUE;
}

int main(int argc, char **argv)
{
	g_autofree char *netns = NULL, *ifaces = NULL, *probe = NULL;
	g_auto(GStrv) probe_steps = NULL;
	int timeout = 120, every = 64;
	GOptionEntry opts[] = {
		{ "netns", 0, 0, G_OPTION_ARG_STRING, &netns, "router namespace", "NS" },
		{ "interfaces", 0, 0, G_OPTION_ARG_STRING, &ifaces, "for cfg: a,b", "LIST" },
		{ "every", 0, 0, G_OPTION_ARG_INT, &every, "sample 1 in N", "N" },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "seconds", "S" },
		{ "probe", 0, 0, G_OPTION_ARG_STRING, &probe, "route probe flow", "SRC,DST" },
		{ "probe-step", 0, 0, G_OPTION_ARG_STRING_ARRAY, &probe_steps, "routing change",
		  "CMD" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("-- COMMAND...");
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ct_source) src = NULL;
	g_autoptr(GPtrArray) flows = NULL;
	g_auto(GStrv) iflist = NULL;
	struct ctf_ct_source_config scfg;
	struct state st = { 0 };
	GHashTableIter it;
	gpointer v;
	char **cmd;
	uint64_t gen0;
	bool ok;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: if-check needs root\n");
		return 77;
	}
	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || !netns || argc < 2) {
		fprintf(stderr, "usage: if-check --netns NS [--interfaces a,b] -- COMMAND...\n");
		return 2;
	}
	iflist = g_strsplit(ifaces ? ifaces : "lo", ",", -1);
	st.flows = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	ctf_ct_source_config_init(&scfg);
	scfg.netns = netns;
	scfg.no_update = true;
	src = ctf_ct_source_open(&scfg, &err);
	if (!src || !open_all(&st, netns, iflist, (unsigned)every, &err)) {
		fprintf(stderr, "if-check: %s\n", err->message);
		return 1;
	}
	gen0 = ctf_if_enricher_links_generation(st.ie[E_FULL]);
	cmd = argv + 1;
	if (!strcmp(cmd[0], "--"))
		cmd++;
	ok = cmd[0] && run_command(&st, src, cmd, timeout);
	ok = settle(&st, src, 15) && ok;
	flows = g_ptr_array_new();
	g_hash_table_iter_init(&it, st.flows);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(flows, v);
	g_ptr_array_sort(flows, by_id);
	print_flows(&st, flows);
	print_links(st.ie[E_FULL]);
	printf("FILTER-END cfg %s\n", ctf_if_enricher_filter(st.ie[E_CFG]));
	printf("LINKGEN start=%" PRIu64 " end=%" PRIu64 "\n", gen0,
	       ctf_if_enricher_links_generation(st.ie[E_FULL]));
	print_cost(&st, flows);
	if (probe && !probe_routes(&st, src, probe, probe_steps))
		ok = false;
	print_stats(&st);
	printf("EVENTS new=%u destroy=%u lost=%d\n", st.n_new, st.n_destroy, st.lost);
	if (st.lost)
		fprintf(stderr, "if-check: conntrack events were lost\n");
	if (st.n_destroy != st.n_new)
		fprintf(stderr, "if-check: %u flows did not end\n", st.n_new - st.n_destroy);
	for (int i = 0; i < E_N; i++)
		ctf_if_enricher_free(st.ie[i]);
	g_hash_table_destroy(st.flows);
	return ok && !st.lost ? 0 : 1;
}
