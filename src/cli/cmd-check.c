/*
 * `ctflow check`: validate the configuration and tell, per namespace,
 * whether the kernel will give ctflow what it needs: every setting, the
 * capabilities held, and what to do about each problem.
 */
#include <stdio.h>
#include <unistd.h>

#include <linux/capability.h>

#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"
#include "ctflow/metrics.h"
#include "ctflow/run-config.h"

#include "cli.h"

static const char *status_word(enum ctf_check_status st)
{
	switch (st) {
	case CTF_CHECK_OK: return "ok";
	case CTF_CHECK_WARN: return "WARN";
	default: return "FAIL";
	}
}

static gboolean can_probe(void)
{
	uint64_t eff;

	return ctf_caps_effective(&eff, NULL) && ctf_caps_has(eff, CAP_NET_ADMIN);
}

static enum ctf_check_status check_netns(const char *netns, gboolean probe)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) items = ctf_kernel_check(netns, probe, &error);
	enum ctf_check_status worst;

	printf("namespace %s\n", netns ? netns : "(current)");
	if (!items) {
		printf("  FAIL  %s\n", error->message);
		return CTF_CHECK_FAIL;
	}
	for (guint i = 0; i < items->len; i++) {
		const struct ctf_check_item *it = g_ptr_array_index(items, i);

		printf("  %-4s  %-40s %s\n", status_word(it->status), it->what, it->value);
		if (it->advice)
			printf("        -> %s\n", it->advice);
	}
	worst = ctf_kernel_check_worst(items);
	return worst;
}

/* netns = all: the current namespace is checked like any; the others
 * come and go, so what can be said in advance is whether ctflow may
 * enter them. */
static enum ctf_check_status check_netns_all(void)
{
	uint64_t eff = 0;
	bool held = ctf_caps_effective(&eff, NULL) && ctf_caps_has(eff, CAP_SYS_ADMIN);

	printf("netns = all: every network namespace (under /run/netns, and of every process)\n");
	printf("  %-4s  %-40s %s\n", held ? "ok" : "FAIL", "CAP_SYS_ADMIN", held ? "held" : "missing");
	if (!held)
		printf("        -> entering other namespaces (setns) needs it: run as root or grant "
		       "CAP_SYS_ADMIN\n");
	return held ? CTF_CHECK_OK : CTF_CHECK_FAIL;
}

int ctf_cmd_check(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	struct ctf_run_config cfg;
	enum ctf_check_status worst = CTF_CHECK_OK;
	size_t n;
	bool named;

	g_set_prgname("ctflow check");
	if (!ctf_run_config_load(&cfg, &argc, &argv, NULL, &error)) {
		g_printerr("ctflow check: %s\n", error->message);
		return CTF_EXIT_USAGE;
	}
	if (cfg.metrics && *cfg.metrics) {
		g_autoptr(GInetSocketAddress) addr = NULL;

		if (!ctf_metrics_parse_address(cfg.metrics, true, &addr, &error)) {
			g_printerr("ctflow check: %s\n", error->message);
			ctf_run_config_clear(&cfg);
			return CTF_EXIT_USAGE;
		}
	}
	printf("configuration: ok\n");
	named = cfg.netns && cfg.netns[0] && !ctf_run_config_netns_all(&cfg);
	if (ctf_run_config_netns_all(&cfg))
		worst = check_netns_all();
	n = named ? g_strv_length(cfg.netns) : 1;
	for (size_t i = 0; i < n; i++) {
		/* The activity probe creates and deletes one entry per family:
		 * only with CAP_NET_ADMIN, where it can work (root, or a user
		 * granted it, e.g. by systemd's AmbientCapabilities=). */
		enum ctf_check_status st = check_netns(named ? cfg.netns[i] : NULL, can_probe());

		worst = MAX(worst, st);
	}
	ctf_run_config_clear(&cfg);
	printf("result: %s\n", worst == CTF_CHECK_OK ? "ready" :
	       worst == CTF_CHECK_WARN ? "works, with warnings above" : "not ready: fix the FAIL lines");
	return worst == CTF_CHECK_FAIL ? CTF_EXIT_FAILURE : CTF_EXIT_OK;
}
