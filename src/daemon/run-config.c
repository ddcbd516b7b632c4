/*
 * `ctflow run` configuration (see include/ctflow/run-config.h).
 *
 * One table describes every option. The command line is parsed first
 * into (option, value) pairs; then defaults, the file, and the pairs are
 * applied in that order, each value through the same parser, so the CLI
 * overrides the file and both give the same errors.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ctflow/error.h"
#include "ctflow/run-config.h"

enum opt_type {
	T_STR,		/* char * */
	T_STRV,		/* char **, comma-separated in the file, repeatable on the CLI */
	T_BOOL,		/* bool */
	T_UINT,		/* unsigned, min..max */
	T_U32,		/* uint32_t, min..max */
	T_SIZE,		/* size_t, min..max, suffixes k/M/G */
	T_ENUM,		/* char *, one of choices */
};

struct opt {
	const char *group;
	const char *key;
	char short_name;
	enum opt_type type;
	size_t offset;
	uint64_t min, max;
	const char *choices;	/* T_ENUM: "text|json" */
	const char *cli_flag;	/* T_BOOL: CLI flag name; it sets cli_value */
	bool cli_value;
	const char *arg;
	const char *help;
};

#define OFF(f) offsetof(struct ctf_run_config, f)

static const struct opt opts[] = {
	{ "export", "collector", 'C', T_STRV, OFF(collectors), 0, 0, NULL, NULL, 0, "URL",
	  "IPFIX collector: udp://HOST:PORT, tcp://HOST:PORT, file:PATH (repeatable)" },
	{ "export", "format", 'f', T_ENUM, OFF(format), 0, 0, "text|json", NULL, 0, "FMT",
	  "With no collector, print records on stdout as text or json" },
	{ "export", "odid", 0, T_U32, OFF(export.odid), 0, UINT32_MAX, NULL, NULL, 0, "N",
	  "IPFIX observation domain id" },
	{ "export", "pen", 0, T_U32, OFF(export.pen), 1, UINT32_MAX, NULL, NULL, 0, "N",
	  "Private enterprise number of ctflow's own elements" },
	{ "export", "uniflow", 0, T_BOOL, OFF(export.uniflow), 0, 0, NULL, "uniflow", true, NULL,
	  "Two uniflow records per flow instead of one biflow" },
	{ "export", "template-refresh", 0, T_UINT, OFF(export.template_refresh_s), 1, 86400, NULL,
	  NULL, 0, "S", "UDP: re-send templates every S seconds" },
	{ "export", "udp-rate", 0, T_UINT, OFF(export.udp_rate), 0, 10000000, NULL, NULL, 0, "N",
	  "UDP: at most N messages per second per collector, 0 = unpaced" },
	{ "export", "reconnect", 0, T_UINT, OFF(export.reconnect_min_s), 1, 86400, NULL, NULL, 0,
	  "S", "TCP: first reconnect delay in seconds" },
	{ "export", "queue", 0, T_SIZE, OFF(export.queue_max), 0, 1000000000, NULL, NULL, 0, "N",
	  "TCP: records held per collector while it is down" },
	{ "conntrack", "netns", 0, T_STRV, OFF(netns), 0, 0, NULL, NULL, 0, "NAME",
	  "Network namespace to read (name under /run/netns, a path, or 'all'; repeatable)" },
	{ "conntrack", "netns-scan", 0, T_UINT, OFF(netns_scan_s), 1, 3600, NULL, NULL, 0, "S",
	  "With netns = all: look for new and vanished namespaces every S seconds" },
	{ "conntrack", "active-timeout", 0, T_UINT, OFF(active_timeout_s), 1, 86400, NULL, NULL, 0,
	  "S", "Interim record for long flows every S seconds (one table dump)" },
	{ "conntrack", "rcvbuf", 0, T_SIZE, OFF(rcvbuf), 65536, (uint64_t)1 << 31, NULL, NULL, 0,
	  "BYTES", "Netlink receive buffer per namespace (k/M/G suffixes)" },
	{ "conntrack", "reliable", 0, T_BOOL, OFF(reliable), 0, 0, NULL, "reliable", true, NULL,
	  "Kernel reliable event delivery: no loss, but conntrack may stall when ctflow lags" },
	{ "conntrack", "max-flows", 0, T_SIZE, OFF(max_flows), 1, 100000000, NULL, NULL, 0, "N",
	  "Flows tracked at most" },
	{ "conntrack", "set-sysctls", 0, T_BOOL, OFF(set_sysctls), 0, 0, NULL, "no-sysctl", false,
	  NULL, "Do not turn on nf_conntrack_acct/timestamp" },
	{ "conntrack", "activate", 0, T_BOOL, OFF(activate), 0, 0, NULL, "no-activate", false,
	  NULL, "Do not add an nftables table when conntrack is idle in a namespace" },
	{ "enrich", "process", 0, T_BOOL, OFF(enrich_process), 0, 0, NULL, "no-process", false,
	  NULL, "Do not look up the process owning each flow's local socket" },
	{ "enrich", "interfaces", 0, T_BOOL, OFF(enrich_interfaces), 0, 0, NULL, "no-interfaces",
	  false, NULL, "Do not fill ingress/egress interfaces" },
	{ "enrich", "sampling", 0, T_BOOL, OFF(sampling), 0, 0, NULL, "no-sampling", false, NULL,
	  "Interfaces from routing lookups only, no packet capture" },
	{ "enrich", "sample-every", 0, T_UINT, OFF(sample_every), 0, 65536, NULL, NULL, 0, "N",
	  "Capture 1 in N packets besides TCP SYN/SYN-ACK (0: SYNs only)" },
	{ "enrich", "snaplen", 0, T_UINT, OFF(snaplen), 64, 65535, NULL, NULL, 0, "BYTES",
	  "Bytes captured per sampled packet" },
	{ "enrich", "capture-interface", 0, T_STRV, OFF(capture_interfaces), 0, 0, NULL, NULL, 0,
	  "IFACE", "Sample packets on this interface only (repeatable; default: all)" },
	{ "daemon", "user", 'u', T_STR, OFF(user), 0, 0, NULL, NULL, 0, "USER",
	  "Started as root: switch to USER after opening sockets, keeping only needed capabilities" },
	{ "daemon", "log-level", 0, T_ENUM, OFF(log_level), 0, 0, "error|warning|message|info|debug",
	  NULL, 0, "LEVEL", "Log messages of LEVEL and more severe" },
	{ "daemon", "log-target", 0, T_ENUM, OFF(log_target), 0, 0, "auto|stderr|journal", NULL, 0,
	  "TARGET", "Where logs go; auto: the journal when stderr is connected to it" },
	{ "daemon", "metrics", 0, T_STR, OFF(metrics), 0, 0, NULL, NULL, 0, "ADDR:PORT",
	  "Serve Prometheus metrics on http://ADDR:PORT/metrics (off when empty)" },
	{ "filter", "proto", 0, T_STRV, OFF(protos), 0, 0, NULL, NULL, 0, "PROTO",
	  "Report only these protocols (tcp, udp, icmp, ... or numbers; repeatable)" },
	{ "filter", "cidr", 0, T_STRV, OFF(cidrs), 0, 0, NULL, NULL, 0, "CIDR",
	  "Report only flows from or to this network (repeatable)" },
	{ "filter", "zone", 0, T_STRV, OFF(zones), 0, 0, NULL, NULL, 0, "ZONE",
	  "Report only this conntrack zone (repeatable)" },
	{ "filter", "mark", 0, T_STRV, OFF(marks), 0, 0, NULL, NULL, 0, "VALUE[/MASK]",
	  "Report only flows with this conntrack mark (repeatable)" },
};

size_t ctf_run_config_n_keys(void)
{
	return G_N_ELEMENTS(opts);
}

void ctf_run_config_key(size_t i, const char **ret_group, const char **ret_key)
{
	g_return_if_fail(i < G_N_ELEMENTS(opts));
	*ret_group = opts[i].group;
	*ret_key = opts[i].key;
}

void ctf_run_config_init(struct ctf_run_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ctf_export_config_init(&cfg->export);
	cfg->format = g_strdup("text");
	cfg->active_timeout_s = 60;
	cfg->rcvbuf = 64u << 20;
	cfg->max_flows = 1000000;
	cfg->set_sysctls = true;
	cfg->activate = true;
	cfg->enrich_process = true;
	cfg->enrich_interfaces = true;
	cfg->sampling = true;
	cfg->sample_every = 64;
	cfg->snaplen = 128;
	cfg->netns_scan_s = 5;
	cfg->log_level = g_strdup("message");
	cfg->log_target = g_strdup("auto");
}

void ctf_run_config_clear(struct ctf_run_config *cfg)
{
	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
		void *p = (char *)cfg + opts[i].offset;

		if (opts[i].type == T_STR || opts[i].type == T_ENUM)
			g_clear_pointer((char **)p, g_free);
		else if (opts[i].type == T_STRV)
			g_clear_pointer((char ***)p, g_strfreev);
	}
}

static gboolean parse_number(const char *s, bool suffixes, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !g_ascii_isdigit(*s))
		return FALSE;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return FALSE;
	if (suffixes && *end) {
		switch (g_ascii_tolower(*end)) {
		case 'k': mult = 1ull << 10; break;
		case 'm': mult = 1ull << 20; break;
		case 'g': mult = 1ull << 30; break;
		default: return FALSE;
		}
		end++;
	}
	if (*end || (v && mult > UINT64_MAX / v))
		return FALSE;
	*ret = v * mult;
	return TRUE;
}

static gboolean parse_bool(const char *s, bool *ret)
{
	if (!g_ascii_strcasecmp(s, "true") || !g_ascii_strcasecmp(s, "yes") || !strcmp(s, "1"))
		*ret = true;
	else if (!g_ascii_strcasecmp(s, "false") || !g_ascii_strcasecmp(s, "no") || !strcmp(s, "0"))
		*ret = false;
	else
		return FALSE;
	return TRUE;
}

static char *accepted(const struct opt *o)
{
	switch (o->type) {
	case T_BOOL: return g_strdup("true or false");
	case T_ENUM: return g_strdup_printf("one of %s", o->choices);
	case T_SIZE: return g_strdup_printf("a number from %" G_GUINT64_FORMAT " to %"
					    G_GUINT64_FORMAT " (k, M, G suffixes)", o->min, o->max);
	case T_UINT:
	case T_U32: return g_strdup_printf("a whole number from %" G_GUINT64_FORMAT " to %"
					   G_GUINT64_FORMAT, o->min, o->max);
	default: return g_strdup("a string");
	}
}

static char **split_list(const char *s)
{
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);
	GPtrArray *out = g_ptr_array_new();

	for (char **p = parts; *p; p++) {
		char *v = g_strstrip(*p);

		if (*v)
			g_ptr_array_add(out, g_strdup(v));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* Set option @o of @cfg from @value; @append: CLI repetition adds to a list. */
static gboolean apply(struct ctf_run_config *cfg, const struct opt *o, const char *value,
		      bool append)
{
	void *p = (char *)cfg + o->offset;
	uint64_t n = 0;
	bool b;

	switch (o->type) {
	case T_STR:
		g_free(*(char **)p);
		*(char **)p = g_strdup(value);
		return TRUE;
	case T_ENUM: {
		g_auto(GStrv) ch = g_strsplit(o->choices, "|", -1);

		if (!g_strv_contains((const char *const *)ch, value))
			return FALSE;
		g_free(*(char **)p);
		*(char **)p = g_strdup(value);
		return TRUE;
	}
	case T_STRV: {
		g_auto(GStrv) items = split_list(value);
		char ***list = p;
		g_autoptr(GStrvBuilder) sb = g_strv_builder_new();

		if (append && *list)
			g_strv_builder_addv(sb, (const char **)*list);
		g_strv_builder_addv(sb, (const char **)items);
		g_strfreev(*list);
		*list = g_strv_builder_end(sb);
		return TRUE;
	}
	case T_BOOL:
		if (!parse_bool(value, &b))
			return FALSE;
		*(bool *)p = b;
		return TRUE;
	case T_UINT:
	case T_U32:
	case T_SIZE:
		if (!parse_number(value, o->type == T_SIZE, &n) || n < o->min || n > o->max)
			return FALSE;
		if (o->type == T_SIZE)
			*(size_t *)p = (size_t)n;
		else if (o->type == T_U32)
			*(uint32_t *)p = (uint32_t)n;
		else
			*(unsigned *)p = (unsigned)n;
		return TRUE;
	}
	return FALSE;
}

/* Line of "key =" inside "[group]" in @text, or 0. GKeyFile does not
 * keep line numbers, so find it the way a reader would. */
static int find_line(const char *text, const char *group, const char *key)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autofree char *hdr = g_strdup_printf("[%s]", group);
	bool in = false;

	for (int i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);

		if (*l == '[') {
			in = strcmp(l, hdr) == 0;
			continue;
		}
		if (in && g_str_has_prefix(l, key)) {
			const char *rest = l + strlen(key);

			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (*rest == '=')
				return i + 1;
		}
	}
	return 0;
}

static const struct opt *find_opt(const char *group, const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++)
		if (!strcmp(opts[i].group, group) && !strcmp(opts[i].key, key))
			return &opts[i];
	return NULL;
}

static gboolean load_file(struct ctf_run_config *cfg, const char *path, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *text = NULL;
	g_auto(GStrv) groups = NULL;
	g_autoptr(GError) e = NULL;

	if (!g_file_get_contents(path, &text, NULL, &e) ||
	    !g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_NONE, &e)) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "%s: %s", path, e->message);
		return FALSE;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g; g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(kf, *g, NULL, NULL);

		for (char **k = keys; k && *k; k++) {
			const struct opt *o = find_opt(*g, *k);
			g_autofree char *v = g_key_file_get_value(kf, *g, *k, NULL);
			g_autofree char *acc = NULL;
			int line = find_line(text, *g, *k);

			if (!o) {
				g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
					    "%s:%d: unknown key '%s' in [%s] (see conf/ctflow.conf)",
					    path, line, *k, *g);
				return FALSE;
			}
			g_strstrip(v);
			if (apply(cfg, o, v, false))
				continue;
			acc = accepted(o);
			g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				    "%s:%d: [%s] %s = '%s': expected %s", path, line, *g, *k, v, acc);
			return FALSE;
		}
	}
	return TRUE;
}

/* --- environment ------------------------------------------------------ */

/* CTFLOW_<GROUP>_<KEY>, upper case, '-' as '_': CTFLOW_EXPORT_COLLECTOR. */
static char *env_name(const struct opt *o)
{
	g_autofree char *n = g_strdup_printf("CTFLOW_%s_%s", o->group, o->key);

	g_strdelimit(n, "-", '_');
	return g_ascii_strup(n, -1);
}

/* Between the file and the command line: container images are configured
 * this way. Lists are comma-separated as in the file. */
static gboolean load_env(struct ctf_run_config *cfg, char **envp, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
		const struct opt *o = &opts[i];
		g_autofree char *name = env_name(o);
		g_autofree char *acc = NULL;
		const char *v = g_environ_getenv(envp, name);
		g_autofree char *val = NULL;

		if (!v)
			continue;
		val = g_strstrip(g_strdup(v));
		if (apply(cfg, o, val, false))
			continue;
		acc = accepted(o);
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "environment %s='%s': expected %s",
			    name, val, acc);
		return FALSE;
	}
	return TRUE;
}

/* --- command line ----------------------------------------------------- */

struct cli_state {
	GPtrArray *pairs;	/* alternating const struct opt *, char * */
	char *config_path;
};

static const struct opt *find_cli(const char *name)
{
	while (*name == '-')
		name++;
	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
		const struct opt *o = &opts[i];

		if (!strcmp(name, o->cli_flag ? o->cli_flag : o->key) ||
		    (o->short_name && name[0] == o->short_name && !name[1]))
			return o;
	}
	return NULL;
}

static gboolean on_cli_option(const char *name, const char *value, gpointer data, GError **error)
{
	struct cli_state *st = data;
	const struct opt *o = find_cli(name);

	g_ptr_array_add(st->pairs, (gpointer)o);
	g_ptr_array_add(st->pairs, g_strdup(o->type == T_BOOL ? (o->cli_value ? "true" : "false")
						     : value));
	return TRUE;
}

/* Entries for every option plus -c; the caller frees the array. */
static GOptionEntry *build_entries(char **config_path)
{
	GOptionEntry *e = g_new0(GOptionEntry, G_N_ELEMENTS(opts) + 2);

	e[0] = (GOptionEntry){ "config", 'c', 0, G_OPTION_ARG_FILENAME, config_path,
			       "Configuration file (GKeyFile; see conf/ctflow.conf)", "FILE" };
	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
		const struct opt *o = &opts[i];
		GOptionEntry *x = &e[i + 1];

		x->long_name = o->cli_flag ? o->cli_flag : o->key;
		x->short_name = o->short_name;
		x->flags = o->type == T_BOOL ? G_OPTION_FLAG_NO_ARG : 0;
		x->arg = G_OPTION_ARG_CALLBACK;
		x->arg_data = (gpointer)on_cli_option;
		x->description = o->help;
		x->arg_description = o->arg;
	}
	return e;
}

static gboolean apply_cli(struct ctf_run_config *cfg, GPtrArray *pairs, GError **error)
{
	for (guint i = 0; i + 1 < pairs->len; i += 2) {
		const struct opt *o = g_ptr_array_index(pairs, i);
		const char *v = g_ptr_array_index(pairs, i + 1);
		g_autofree char *acc = NULL;

		if (apply(cfg, o, v, true))
			continue;
		acc = accepted(o);
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "--%s '%s': expected %s",
			    o->cli_flag ? o->cli_flag : o->key, v, acc);
		return FALSE;
	}
	return TRUE;
}

bool ctf_run_config_netns_all(const struct ctf_run_config *cfg)
{
	return cfg->netns && g_strv_contains((const char *const *)cfg->netns, "all");
}

/* Rules between keys, once every source has been applied. */
static gboolean validate(const struct ctf_run_config *cfg, GError **error)
{
	if (ctf_run_config_netns_all(cfg) && g_strv_length(cfg->netns) > 1) {
		g_autofree char *list = g_strjoinv(", ", cfg->netns);

		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "[conntrack] netns = %s: 'all' "
			    "already follows every namespace and cannot be combined with others",
			    list);
		return FALSE;
	}
	return TRUE;
}

gboolean ctf_run_config_load(struct ctf_run_config *cfg, int *argc, char ***argv,
			     char **ret_config_path, GError **error)
{
	struct cli_state st = { .pairs = g_ptr_array_new() };
	g_autofree GOptionEntry *entries = build_entries(&st.config_path);
	g_autoptr(GOptionContext) ctx = g_option_context_new("- export conntrack flows as IPFIX");
	GOptionGroup *grp = g_option_group_new("run", "ctflow run options", "Options", &st, NULL);
	g_auto(GStrv) envp = g_get_environ();
	gboolean ok = FALSE;

	ctf_run_config_init(cfg);
	g_option_group_add_entries(grp, entries);
	g_option_context_set_main_group(ctx, grp);
	g_option_context_set_description(ctx,
		"Values on the command line override the environment (CTFLOW_<GROUP>_<KEY>,\n"
		"e.g. CTFLOW_EXPORT_COLLECTOR), which overrides the configuration file\n"
		"(-c FILE, or CTFLOW_CONFIG).\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
	if (!g_option_context_parse(ctx, argc, argv, error))
		goto out;
	if (*argc > 1) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "unexpected argument '%s'", (*argv)[1]);
		goto out;
	}
	if (!st.config_path && g_getenv("CTFLOW_CONFIG") && *g_getenv("CTFLOW_CONFIG"))
		st.config_path = g_strdup(g_getenv("CTFLOW_CONFIG"));
	if (st.config_path && !load_file(cfg, st.config_path, error))
		goto out;
	if (!load_env(cfg, envp, error))
		goto out;
	ok = apply_cli(cfg, st.pairs, error) && validate(cfg, error);
	if (ok && ret_config_path)
		*ret_config_path = g_steal_pointer(&st.config_path);
out:
	if (!ok)
		ctf_run_config_clear(cfg);
	for (guint i = 1; i < st.pairs->len; i += 2)
		g_free(g_ptr_array_index(st.pairs, i));
	g_ptr_array_unref(st.pairs);
	g_free(st.config_path);
	return ok;
}

gboolean ctf_run_config_reload(struct ctf_run_config *ret_fresh, char **argv, GError **error)
{
	/* GOptionContext rearranges the array it parses: work on a copy. */
	g_auto(GStrv) copy = g_strdupv(argv);
	g_autofree char **args = g_memdup2(copy, (g_strv_length(copy) + 1) * sizeof(char *));
	int argc = (int)g_strv_length(copy);
	return ctf_run_config_load(ret_fresh, &argc, &args, NULL, error);
}
