/*
 * `ctflow run` configuration: every key from the file, CLI overrides,
 * and every kind of bad value with its message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "ctflow/error.h"
#include "ctflow/run-config.h"

static char *write_conf(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("ctflow-conf-XXXXXX", &path, NULL);

	assert_true(fd >= 0);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load with "-c FILE" (if @text) plus @extra arguments; returns the error
 * message or NULL on success. */
static char *load(struct ctf_run_config *cfg, const char *text, const char *const *extra)
{
	g_autofree char *path = text ? write_conf(text) : NULL;
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	char **argv;
	int argc;
	gboolean ok;

	g_ptr_array_add(args, "run");
	if (path) {
		g_ptr_array_add(args, "-c");
		g_ptr_array_add(args, path);
	}
	for (; extra && *extra; extra++)
		g_ptr_array_add(args, (char *)*extra);
	g_ptr_array_add(args, NULL);
	argc = (int)args->len - 1;
	argv = (char **)args->pdata;
	ok = ctf_run_config_load(cfg, &argc, &argv, NULL, &error);
	if (path)
		g_unlink(path);
	if (ok)
		return NULL;
	assert_true(g_error_matches(error, CTF_ERROR, CTF_ERROR_USAGE));
	return g_strdup(error->message);
}

static void test_defaults(void **state)
{
	struct ctf_run_config c;

	assert_null(load(&c, NULL, NULL));
	assert_null(c.collectors);
	assert_string_equal(c.format, "text");
	assert_int_equal(c.active_timeout_s, 60);
	assert_int_equal(c.rcvbuf, 64u << 20);
	assert_false(c.reliable);
	assert_int_equal(c.max_flows, 1000000);
	assert_true(c.set_sysctls);
	assert_true(c.activate);
	ctf_run_config_clear(&c);
}

static void test_every_key(void **state)
{
	struct ctf_run_config c;

	assert_null(load(&c,
		"# comment\n"
		"[export]\n"
		"collector = udp://127.0.0.1:4739, tcp://[::1]:4740\n"
		"format = json\n"
		"odid = 7\n"
		"pen = 12345\n"
		"uniflow = true\n"
		"template-refresh = 30\n"
		"udp-rate = 100\n"
		"reconnect = 5\n"
		"queue = 1k\n"
		"[conntrack]\n"
		"netns = a, /proc/1/ns/net\n"
		"active-timeout = 10\n"
		"rcvbuf = 8M\n"
		"reliable = yes\n"
		"max-flows = 5000\n"
		"set-sysctls = false\n"
		"activate = no\n"
		"netns-scan = 30\n"
		"[enrich]\n"
		"process = false\n"
		"interfaces = no\n"
		"sampling = 0\n"
		"sample-every = 0\n"
		"snaplen = 96\n"
		"capture-interface = eth0, eth1\n"
		"[daemon]\n"
		"user = nobody\n"
		"log-level = debug\n"
		"log-target = journal\n"
		"metrics = [::1]:9477\n"
		"[filter]\n"
		"proto = tcp, 17\n"
		"cidr = 10.0.0.0/8\n"
		"zone = 3\n"
		"mark = 0x10/0xf0\n", NULL));
	assert_int_equal(g_strv_length(c.collectors), 2);
	assert_string_equal(c.collectors[1], "tcp://[::1]:4740");
	assert_string_equal(c.format, "json");
	assert_int_equal(c.export.odid, 7);
	assert_int_equal(c.export.pen, 12345);
	assert_true(c.export.uniflow);
	assert_int_equal(c.export.template_refresh_s, 30);
	assert_int_equal(c.export.udp_rate, 100);
	assert_int_equal(c.export.reconnect_min_s, 5);
	assert_int_equal(c.export.queue_max, 1024);
	assert_string_equal(c.netns[1], "/proc/1/ns/net");
	assert_int_equal(c.active_timeout_s, 10);
	assert_int_equal(c.rcvbuf, 8u << 20);
	assert_true(c.reliable);
	assert_int_equal(c.max_flows, 5000);
	assert_false(c.set_sysctls);
	assert_false(c.activate);
	assert_int_equal(c.netns_scan_s, 30);
	assert_false(c.enrich_process);
	assert_false(c.enrich_interfaces);
	assert_false(c.sampling);
	assert_int_equal(c.sample_every, 0);
	assert_int_equal(c.snaplen, 96);
	assert_string_equal(c.capture_interfaces[1], "eth1");
	assert_string_equal(c.user, "nobody");
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.log_target, "journal");
	assert_string_equal(c.metrics, "[::1]:9477");
	assert_string_equal(c.protos[1], "17");
	assert_string_equal(c.cidrs[0], "10.0.0.0/8");
	assert_string_equal(c.zones[0], "3");
	assert_string_equal(c.marks[0], "0x10/0xf0");
	ctf_run_config_clear(&c);
}

static void test_cli_overrides_file(void **state)
{
	const char *extra[] = { "--active-timeout", "5", "-C", "udp://[::1]:9", "--no-sysctl",
				"--reliable", NULL };
	struct ctf_run_config c;

	assert_null(load(&c, "[conntrack]\nactive-timeout = 10\nreliable = false\n"
			 "[export]\ncollector = file:/tmp/x\n", extra));
	assert_int_equal(c.active_timeout_s, 5);
	assert_true(c.reliable);
	assert_false(c.set_sysctls);
	/* a list option on the command line adds to the file's list */
	assert_int_equal(g_strv_length(c.collectors), 2);
	ctf_run_config_clear(&c);
}

struct bad {
	const char *text;
	const char *expect;	/* substring of the message */
};

static void test_bad_values_name_file_line_key(void **state)
{
	static const struct bad cases[] = {
		{ "[conntrack]\nrcvbuf = 12x\n", ":2: [conntrack] rcvbuf = '12x': expected a number from 65536" },
		{ "[conntrack]\nrcvbuf = 1k\n", "rcvbuf = '1k': expected a number from 65536" },
		{ "[conntrack]\nactive-timeout = -1\n", "active-timeout = '-1': expected a whole number from 1 to 86400" },
		{ "[conntrack]\nactive-timeout = 99999\n", "expected a whole number from 1 to 86400" },
		{ "[conntrack]\nreliable = maybe\n", "reliable = 'maybe': expected true or false" },
		{ "[export]\nformat = xml\n", "format = 'xml': expected one of text|json" },
		{ "[export]\npen = 0\n", "pen = '0': expected a whole number from 1" },
		{ "[export]\nodid = 4294967296\n", "odid = '4294967296'" },
		{ "\n\n[conntrack]\nrcvbuff = 1M\n", ":4: unknown key 'rcvbuff' in [conntrack]" },
		{ "[nosuch]\nx = 1\n", "unknown key 'x' in [nosuch]" },
		{ "[conntrack]\nnetns-scan = 0\n", "netns-scan = '0': expected a whole number from 1 to 3600" },
		{ "[enrich]\nsnaplen = 63\n", "[enrich] snaplen = '63': expected a whole number from 64 to 65535" },
		{ "[enrich]\nsample-every = 65537\n", "sample-every = '65537'" },
		{ "[enrich]\nprocess = on\n", "process = 'on': expected true or false" },
		{ "[daemon]\nlog-level = verbose\n", "log-level = 'verbose': expected one of error|warning|message|info|debug" },
		{ "[daemon]\nlog-target = syslog\n", "log-target = 'syslog': expected one of auto|stderr|journal" },
		{ "[daemon]\nusr = x\n", "unknown key 'usr' in [daemon]" },
		{ "[conntrack\n", "" },
		{ "no group\n", "" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct ctf_run_config c;
		g_autofree char *msg = load(&c, cases[i].text, NULL);

		assert_non_null(msg);
		if (!strstr(msg, cases[i].expect))
			fail_msg("case %zu: message '%s' lacks '%s'", i, msg, cases[i].expect);
		assert_non_null(strstr(msg, "ctflow-conf-"));	/* names the file */
	}
}

static void test_bad_cli_values(void **state)
{
	const char *a[] = { "--rcvbuf", "lots", NULL };
	const char *b[] = { "--format", "yaml", NULL };
	const char *c[] = { "stray", NULL };
	const char *d[] = { "--no-such-option", NULL };
	struct ctf_run_config cfg;
	g_autofree char *ma = load(&cfg, NULL, a);
	g_autofree char *mb = load(&cfg, NULL, b);
	g_autofree char *mc = load(&cfg, NULL, c);
	g_autofree char *md = NULL;
	g_autoptr(GError) error = NULL;
	char *argv0[] = { "run", "--no-such-option", NULL };
	char **argv = argv0;
	int argc = 2;

	assert_non_null(strstr(ma, "--rcvbuf 'lots': expected a number"));
	assert_non_null(strstr(mb, "--format 'yaml': expected one of text|json"));
	assert_non_null(strstr(mc, "unexpected argument 'stray'"));
	(void)d;
	assert_false(ctf_run_config_load(&cfg, &argc, &argv, NULL, &error));
	assert_non_null(strstr(error->message, "no-such-option"));
}

/* netns = all follows every namespace: alone, from the file or the CLI;
 * combined with names it is a usage error (exit 2) naming the values. */
static void test_netns_all_alone(void **state)
{
	const char *all[] = { "--netns", "all", NULL };
	const char *mixed[] = { "--netns", "all", "--netns", "blue", NULL };
	struct ctf_run_config cfg;
	g_autofree char *m = NULL;

	assert_null(load(&cfg, NULL, all));
	assert_true(ctf_run_config_netns_all(&cfg));
	ctf_run_config_clear(&cfg);
	assert_null(load(&cfg, "[conntrack]\nnetns = all\nnetns-scan = 2\n", NULL));
	assert_true(ctf_run_config_netns_all(&cfg));
	assert_int_equal(cfg.netns_scan_s, 2);
	ctf_run_config_clear(&cfg);
	assert_null(load(&cfg, "[conntrack]\nnetns = blue\n", NULL));
	assert_false(ctf_run_config_netns_all(&cfg));
	ctf_run_config_clear(&cfg);
	m = load(&cfg, NULL, mixed);
	assert_non_null(m);
	assert_non_null(strstr(m, "netns = all, blue: 'all' already follows every namespace"));
	g_free(m);
	m = load(&cfg, "[conntrack]\nnetns = blue, all\n", NULL);
	assert_non_null(strstr(m, "cannot be combined"));
}

static void test_missing_file(void **state)
{
	char *argv0[] = { "run", "-c", "/nonexistent/ctflow.conf", NULL };
	char **argv = argv0;
	int argc = 3;
	g_autoptr(GError) error = NULL;
	struct ctf_run_config c;

	assert_false(ctf_run_config_load(&c, &argc, &argv, NULL, &error));
	assert_non_null(strstr(error->message, "/nonexistent/ctflow.conf"));
}

static void test_reload_reads_file_again(void **state)
{
	g_autofree char *path = write_conf("[conntrack]\nactive-timeout = 10\n");
	char *argv[] = { "run", "-c", path, "--reliable", NULL };
	g_autoptr(GError) error = NULL;
	struct ctf_run_config c;

	assert_true(g_file_set_contents(path, "[conntrack]\nactive-timeout = 20\n", -1, NULL));
	assert_true(ctf_run_config_reload(&c, argv, &error));
	assert_int_equal(c.active_timeout_s, 20);
	assert_true(c.reliable);
	ctf_run_config_clear(&c);
	assert_true(g_file_set_contents(path, "[conntrack]\nactive-timeout = x\n", -1, NULL));
	assert_false(ctf_run_config_reload(&c, argv, &error));
	/* argv is untouched, so a later reload still works */
	assert_string_equal(argv[3], "--reliable");
	g_unlink(path);
}

/* Every option from CTFLOW_<GROUP>_<KEY>; the CLI still wins. */
static void test_environment(void **state)
{
	const char *extra[] = { "--active-timeout", "7", NULL };
	struct ctf_run_config c;
	g_autofree char *msg = NULL;

	g_setenv("CTFLOW_CONNTRACK_ACTIVE_TIMEOUT", "9", TRUE);
	g_setenv("CTFLOW_CONNTRACK_MAX_FLOWS", "2k", TRUE);
	g_setenv("CTFLOW_EXPORT_COLLECTOR", " udp://127.0.0.1:9, file:/tmp/x ", TRUE);
	g_setenv("CTFLOW_DAEMON_LOG_LEVEL", "info", TRUE);
	g_setenv("CTFLOW_ENRICH_PROCESS", "false", TRUE);
	assert_null(load(&c, "[conntrack]\nmax-flows = 5\nactive-timeout = 3\n", extra));
	assert_int_equal(c.active_timeout_s, 7);	/* CLI > environment */
	assert_int_equal(c.max_flows, 2048);		/* environment > file */
	assert_int_equal(g_strv_length(c.collectors), 2);
	assert_string_equal(c.collectors[1], "file:/tmp/x");
	assert_string_equal(c.log_level, "info");
	assert_false(c.enrich_process);
	ctf_run_config_clear(&c);

	g_setenv("CTFLOW_CONNTRACK_MAX_FLOWS", "many", TRUE);
	msg = load(&c, NULL, NULL);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "environment CTFLOW_CONNTRACK_MAX_FLOWS='many': expected a number"));
	g_unsetenv("CTFLOW_CONNTRACK_ACTIVE_TIMEOUT");
	g_unsetenv("CTFLOW_CONNTRACK_MAX_FLOWS");
	g_unsetenv("CTFLOW_EXPORT_COLLECTOR");
	g_unsetenv("CTFLOW_DAEMON_LOG_LEVEL");
	g_unsetenv("CTFLOW_ENRICH_PROCESS");
}

/* CTFLOW_CONFIG names the file when -c is not given. */
static void test_config_from_environment(void **state)
{
	g_autofree char *path = write_conf("[conntrack]\nactive-timeout = 11\n");
	struct ctf_run_config c;

	g_setenv("CTFLOW_CONFIG", path, TRUE);
	assert_null(load(&c, NULL, NULL));
	assert_int_equal(c.active_timeout_s, 11);
	ctf_run_config_clear(&c);
	assert_true(g_file_set_contents(path, "[conntrack]\nactive-timeout = x\n", -1, NULL));
	g_autofree char *msg = load(&c, NULL, NULL);
	g_unsetenv("CTFLOW_CONFIG");
	g_unlink(path);
	assert_non_null(msg);
	assert_non_null(strstr(msg, path));
}

/* How a file shows the keys: a section starts at a line starting with
 * @section, and is group G's when the line is hdr_open G hdr_close; key K
 * is a line starting with key_open K key_close, optionally after
 * @comment. */
struct key_listing {
	const char *rel;	/* below the source root */
	const char *section, *hdr_open, *hdr_close;
	const char *key_open, *key_close, *comment;
};

/* Every key of every group must be shown in its group's section. */
static void expect_every_key(const struct key_listing *f)
{
	g_autofree char *path = g_build_filename(CTF_SOURCE_ROOT, f->rel, NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; i < ctf_run_config_n_keys(); i++) {
		const char *group, *key;
		g_autofree char *hdr = NULL, *row = NULL;
		bool in = false, found = false;

		ctf_run_config_key(i, &group, &key);
		hdr = g_strconcat(f->hdr_open, group, f->hdr_close, NULL);
		row = g_strconcat(f->key_open, key, f->key_close, NULL);
		for (char **l = lines; *l && !found; l++) {
			const char *t = *l;

			if (g_str_has_prefix(t, f->section)) {
				in = strcmp(t, hdr) == 0;
				continue;
			}
			if (f->comment && g_str_has_prefix(t, f->comment))
				t += strlen(f->comment);
			found = in && g_str_has_prefix(t, row);
		}
		if (!found)
			fail_msg("%s does not show [%s] %s", f->rel, group, key);
	}
}

/* The shipped example documents every key, inside its group. */
static void test_shipped_example_covers_every_key(void **state)
{
	expect_every_key(&(struct key_listing){ .rel = "conf/ctflow.conf", .section = "[",
						.hdr_open = "[", .hdr_close = "]", .key_open = "",
						.key_close = " =", .comment = "#" });
}

/* docs/configuration.md has a table row for every key in its group's
 * section. */
static void test_reference_covers_every_key(void **state)
{
	expect_every_key(&(struct key_listing){ .rel = "docs/configuration.md", .section = "## ",
						.hdr_open = "## `[", .hdr_close = "]`",
						.key_open = "| `", .key_close = "` |" });
}

static void test_shipped_example_is_valid(void **state)
{
	g_autofree char *path = g_build_filename(CTF_SOURCE_ROOT, "conf", "ctflow.conf", NULL);
	char *argv0[] = { "run", "-c", path, NULL };
	char **argv = argv0;
	int argc = 3;
	g_autoptr(GError) error = NULL;
	struct ctf_run_config c;

	if (!ctf_run_config_load(&c, &argc, &argv, NULL, &error))
		fail_msg("%s", error->message);
	ctf_run_config_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_cli_overrides_file),
		cmocka_unit_test(test_bad_values_name_file_line_key),
		cmocka_unit_test(test_bad_cli_values),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_netns_all_alone),
		cmocka_unit_test(test_reload_reads_file_again),
		cmocka_unit_test(test_shipped_example_is_valid),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_config_from_environment),
		cmocka_unit_test(test_shipped_example_covers_every_key),
		cmocka_unit_test(test_reference_covers_every_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
