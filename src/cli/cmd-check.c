/*
 * `ctflow check`: validate the configuration and tell, per namespace,
 * whether the kernel will give ctflow what it needs: every setting, the
 * capabilities held, and what to do about each problem.
 */
#include <stdio.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"
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
	printf("configuration: ok\n");
	named = cfg.netns && cfg.netns[0];
	n = named ? g_strv_length(cfg.netns) : 1;
	for (size_t i = 0; i < n; i++) {
		/* The activity probe creates and deletes one entry per family:
		 * only as root, where it can work. */
		enum ctf_check_status st = check_netns(named ? cfg.netns[i] : NULL, geteuid() == 0);

		worst = MAX(worst, st);
	}
	ctf_run_config_clear(&cfg);
	printf("result: %s\n", worst == CTF_CHECK_OK ? "ready" :
	       worst == CTF_CHECK_WARN ? "works, with warnings above" : "not ready: fix the FAIL lines");
	return worst == CTF_CHECK_FAIL ? CTF_EXIT_FAILURE : CTF_EXIT_OK;
}
