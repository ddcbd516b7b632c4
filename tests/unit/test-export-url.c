/*
 * Collector URL parsing and exporter configuration checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctflow/error.h"
#include "ctflow/export-url.h"
#include "ctflow/export.h"

static void expect_ok(const char *url, enum ctf_export_scheme scheme,
		      const char *host, uint16_t port, const char *path)
{
	struct ctf_export_url u;
	g_autoptr(GError) err = NULL;

	assert_true(ctf_export_url_parse(url, &u, &err));
	assert_null(err);
	assert_int_equal(u.scheme, scheme);
	if (host)
		assert_string_equal(u.host, host);
	else
		assert_null(u.host);
	assert_int_equal(u.port, port);
	if (path)
		assert_string_equal(u.path, path);
	else
		assert_null(u.path);
	ctf_export_url_clear(&u);
}

static void expect_bad(const char *url, const char *why)
{
	struct ctf_export_url u;
	g_autoptr(GError) err = NULL;

	assert_false(ctf_export_url_parse(url, &u, &err));
	assert_non_null(err);
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	if (!strstr(err->message, why))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", url ? url : "(null)",
			 err->message, why);
	assert_null(u.host);
	assert_null(u.path);
	ctf_export_url_clear(&u);
}

static void test_null_and_empty(void **state)
{
	expect_bad(NULL, "empty");
	expect_bad("", "empty");
	ctf_export_url_clear(NULL);
}

static void test_good(void **state)
{
	expect_ok("udp://127.0.0.1:4739", CTF_EXPORT_UDP, "127.0.0.1", 4739, NULL);
	expect_ok("tcp://collector.example.net:9995", CTF_EXPORT_TCP,
		  "collector.example.net", 9995, NULL);
	expect_ok("udp://[::1]:4739", CTF_EXPORT_UDP, "::1", 4739, NULL);
	expect_ok("tcp://[2001:db8::5]:65535", CTF_EXPORT_TCP, "2001:db8::5", 65535, NULL);
	expect_ok("udp://h:1", CTF_EXPORT_UDP, "h", 1, NULL);
	expect_ok("file:/var/lib/ctflow/out.ipfix", CTF_EXPORT_FILE, NULL, 0,
		  "/var/lib/ctflow/out.ipfix");
	expect_ok("file:relative.ipfix", CTF_EXPORT_FILE, NULL, 0, "relative.ipfix");
	expect_ok("file:///abs/x.ipfix", CTF_EXPORT_FILE, NULL, 0, "/abs/x.ipfix");
	expect_ok("-", CTF_EXPORT_STDOUT, NULL, 0, NULL);
}

static void test_bad(void **state)
{
	expect_bad("udp://127.0.0.1", "missing :PORT");
	expect_bad("udp://:4739", "missing host");
	expect_bad("udp://127.0.0.1:0", "port");
	expect_bad("udp://127.0.0.1:65536", "port");
	expect_bad("udp://127.0.0.1:47x", "port");
	expect_bad("udp://127.0.0.1:-1", "port");
	expect_bad("udp://127.0.0.1:", "port");
	expect_bad("tcp://::1:4739", "brackets");
	expect_bad("tcp://[::1:4739", "unterminated");
	expect_bad("tcp://[]:4739", "empty [IPv6]");
	expect_bad("tcp://[::1]4739", "missing :PORT");
	expect_bad("tcp://a/b:4739", "invalid character");
	expect_bad("file:", "empty path");
	expect_bad("file://host/x", "no host");
	expect_bad("sctp://127.0.0.1:4739", "SCTP");
	expect_bad("tls://127.0.0.1:4739", "TLS");
	expect_bad("dtls://127.0.0.1:4739", "TLS");
	expect_bad("http://127.0.0.1:4739", "unknown scheme");
	expect_bad("127.0.0.1:4739", "unknown scheme");
	expect_bad("--", "unknown scheme");
}

static void test_scheme_names(void **state)
{
	assert_string_equal(ctf_export_scheme_name(CTF_EXPORT_UDP), "udp");
	assert_string_equal(ctf_export_scheme_name(CTF_EXPORT_TCP), "tcp");
	assert_string_equal(ctf_export_scheme_name(CTF_EXPORT_FILE), "file");
	assert_string_equal(ctf_export_scheme_name(CTF_EXPORT_STDOUT), "stdout");
}

static void test_config(void **state)
{
	struct ctf_export_config cfg;
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_exporter) ex = NULL;

	ctf_export_config_init(&cfg);
	assert_int_equal(cfg.odid, 0);
	assert_int_equal(cfg.pen, CTF_DEFAULT_PEN);
	assert_int_equal(cfg.template_refresh_s, 60);
	assert_int_equal(cfg.reconnect_min_s, 60);
	assert_int_equal(cfg.reconnect_max_s, 600);
	assert_int_equal(cfg.queue_max, 1000000);
	assert_int_equal(cfg.udp_rate, 4000);
	assert_int_equal(cfg.udp_mtu, 1420);
	assert_int_equal(cfg.flush_ms, 1000);
	assert_int_equal(cfg.shutdown_timeout_s, 10);

	cfg.template_refresh_s = 0;
	assert_null(ctf_exporter_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);

	ctf_export_config_init(&cfg);
	cfg.reconnect_max_s = 10;
	assert_null(ctf_exporter_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);

	ctf_export_config_init(&cfg);
	cfg.udp_mtu = 100;
	assert_null(ctf_exporter_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);

	ctf_export_config_init(&cfg);
	cfg.pen = 0;
	assert_null(ctf_exporter_new(&cfg, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);

	ctf_export_config_init(&cfg);
	ex = ctf_exporter_new(&cfg, &err);
	assert_non_null(ex);
	assert_false(ctf_exporter_add_url(ex, "sctp://127.0.0.1:4739", &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	assert_false(ctf_exporter_add_url(ex, "file:/nonexistent-dir/x.ipfix", &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_IO));
	assert_non_null(strstr(err->message, "/nonexistent-dir/x.ipfix"));
	g_clear_error(&err);
	assert_false(ctf_exporter_add_url(ex, "udp://no-such-host.invalid:4739", &err));
	assert_non_null(err);
	g_clear_error(&err);
	assert_int_equal(ctf_exporter_n_outputs(ex), 0);

	/* outputs are connected lazily: a UDP URL to a closed port is fine */
	assert_true(ctf_exporter_add_url(ex, "udp://127.0.0.1:9", &err));
	assert_true(ctf_exporter_add_url(ex, "udp://[::1]:9", &err));
	assert_int_equal(ctf_exporter_n_outputs(ex), 2);
	assert_string_equal(ctf_exporter_output_name(ex, 1), "udp://[::1]:9");
	ctf_exporter_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_and_empty),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
