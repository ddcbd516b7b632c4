/*
 * Metrics: address forms, the exposition writer, and the HTTP endpoint
 * against real loopback sockets: routes, status codes, bounds on request
 * size, clients and time, and a stalled client beside a scrape.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ctflow/metrics.h"

/* --- addresses ------------------------------------------------------------ */

static char *parse(const char *text, bool allow_0, char **ret_error)
{
	g_autoptr(GInetSocketAddress) a = NULL;
	g_autoptr(GError) error = NULL;

	*ret_error = NULL;
	if (ctf_metrics_parse_address(text, allow_0, &a, &error))
		return ctf_metrics_address_string(a);
	assert_true(g_error_matches(error, CTF_ERROR, CTF_ERROR_USAGE));
	*ret_error = g_strdup(error->message);
	return NULL;
}

static void expect_address(const char *text, const char *want)
{
	g_autofree char *err = NULL;
	g_autofree char *got = parse(text, false, &err);

	if (!got)
		fail_msg("%s: %s", text, err);
	assert_string_equal(got, want);
}

static void expect_bad(const char *text, bool allow_0, const char *why)
{
	g_autofree char *err = NULL;
	g_autofree char *got = parse(text, allow_0, &err);

	if (got)
		fail_msg("'%s' accepted as %s", text, got);
	if (!strstr(err, why) || !strstr(err, text) || !strstr(err, "expected ADDR:PORT"))
		fail_msg("'%s': message '%s' lacks '%s'", text, err, why);
}

static void test_addresses(void **state)
{
	g_autofree char *err = NULL;
	g_autofree char *zero = NULL;

	expect_address("127.0.0.1:9477", "127.0.0.1:9477");
	expect_address("0.0.0.0:1", "0.0.0.0:1");
	expect_address("localhost:65535", "127.0.0.1:65535");
	expect_address("[::1]:9477", "[::1]:9477");
	expect_address("[::]:80", "[::]:80");
	expect_address("[fd00::5]:9477", "[fd00::5]:9477");
	expect_bad("", false, "empty");
	expect_bad("9477", false, "missing :PORT");
	expect_bad(":9477", false, "missing address");
	expect_bad("::1:9477", false, "need brackets");
	expect_bad("[::1]9477", false, "missing :PORT after");
	expect_bad("[::1:9477", false, "unterminated");
	expect_bad("[]:9477", false, "empty [IPv6]");
	expect_bad("[127.0.0.1]:9477", false, "brackets hold an IPv6");
	expect_bad("metrics.example:9477", false, "not a numeric IP address");
	expect_bad("127.0.0.1:", false, "from 1 to 65535");
	expect_bad("127.0.0.1:65536", false, "from 1 to 65535");
	expect_bad("127.0.0.1:-1", false, "from 1 to 65535");
	expect_bad("127.0.0.1:12a", false, "from 1 to 65535");
	expect_bad("127.0.0.1:0", false, "from 1 to 65535");
	expect_bad("127.0.0.1:65536", true, "from 0 to 65535");
	zero = parse("127.0.0.1:0", true, &err);
	assert_non_null(zero);
	assert_string_equal(zero, "127.0.0.1:0");
}

/* --- exposition ----------------------------------------------------------- */

static void test_exposition(void **state)
{
	g_autoptr(GString) out = g_string_new(NULL);

	ctf_metrics_family(out, "ctflow_x_total", "counter", "Help with \\ and\nnewline \"q\"");
	ctf_metrics_sample(out, "ctflow_x_total", 18446744073709551615u, NULL);
	ctf_metrics_sample(out, "ctflow_x_total", 7, "collector", "a\"b\\c\nd", "state", "sent",
			   NULL);
	ctf_metrics_sample_double(out, "ctflow_x_total", 1.5, "k", "", NULL);
	assert_string_equal(out->str,
			    "# HELP ctflow_x_total Help with \\\\ and\\nnewline \"q\"\n"
			    "# TYPE ctflow_x_total counter\n"
			    "ctflow_x_total 18446744073709551615\n"
			    "ctflow_x_total{collector=\"a\\\"b\\\\c\\nd\",state=\"sent\"} 7\n"
			    "ctflow_x_total{k=\"\"} 1.5\n");
}

static void test_probe_without_parts(void **state)
{
	g_autoptr(GString) out = g_string_new(NULL);
	struct ctf_metrics_probe p = { 0 };

	ctf_metrics_render_probe(out, &p);
	assert_non_null(strstr(out->str, "ctflow_build_info{version=\"" CTFLOW_VERSION "\"} 1\n"));
	assert_non_null(strstr(out->str, "\n# TYPE process_start_time_seconds gauge\n"));
	assert_non_null(strstr(out->str, "\nprocess_open_fds "));
	assert_null(strstr(out->str, "ctflow_conntrack"));
}

/* --- the server ----------------------------------------------------------- */

struct fixture {
	GMainContext *ctx;
	GThread *thread;
	gint stop;
	struct ctf_metrics_server *srv;
	gint healthy;
	gint scrapes;
	int port;
};

static void collect(GString *out, void *userdata)
{
	struct fixture *f = userdata;

	g_atomic_int_inc(&f->scrapes);
	ctf_metrics_family(out, "ctflow_test_total", "counter", "A test counter");
	ctf_metrics_sample(out, "ctflow_test_total", 42, "type", "new", NULL);
}

static gboolean health(GString *reason, void *userdata)
{
	struct fixture *f = userdata;

	if (!g_atomic_int_get(&f->healthy)) {
		g_string_append(reason, "not reading conntrack events in host");
		return FALSE;
	}
	return TRUE;
}

static gpointer loop_main(gpointer data)
{
	struct fixture *f = data;

	g_main_context_push_thread_default(f->ctx);
	while (!g_atomic_int_get(&f->stop))
		g_main_context_iteration(f->ctx, TRUE);
	g_main_context_pop_thread_default(f->ctx);
	return NULL;
}

static gboolean wake(gpointer data)
{
	return G_SOURCE_REMOVE;
}

/* A server on @address (port 0) served by a thread of its own. */
static struct fixture *fixture_new(const char *address, GError **error)
{
	struct fixture *f = g_new0(struct fixture, 1);

	f->healthy = TRUE;
	f->srv = ctf_metrics_server_new(address, collect, health, f, error);
	if (!f->srv) {
		g_free(f);
		return NULL;
	}
	f->port = atoi(strrchr(ctf_metrics_server_address(f->srv), ':') + 1);
	assert_true(f->port > 0);
	f->ctx = g_main_context_new();
	ctf_metrics_server_attach(f->srv, f->ctx);
	f->thread = g_thread_new("metrics-test", loop_main, f);
	return f;
}

static int setup(void **state)
{
	g_autoptr(GError) error = NULL;
	struct fixture *f = fixture_new("127.0.0.1:0", &error);

	if (!f)
		fail_msg("%s", error->message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	GSource *s = g_idle_source_new();

	g_atomic_int_set(&f->stop, 1);
	g_source_set_callback(s, wake, NULL, NULL);
	g_source_attach(s, f->ctx);
	g_source_unref(s);
	g_thread_join(f->thread);
	ctf_metrics_server_free(f->srv);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static int connect_to(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Everything until the server closes (or 10 s pass). */
static char *read_all(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	return g_string_free(s, FALSE);
}

static char *request(int port, const char *req, size_t len)
{
	int fd = connect_to(port);
	char *ans;

	/* no assertion: a refused client may be closed before it writes */
	(void)!send(fd, req, len, MSG_NOSIGNAL);
	ans = read_all(fd);
	close(fd);
	return ans;
}

static char *get(int port, const char *req)
{
	return request(port, req, strlen(req));
}

static void expect_prefix(const char *ans, const char *prefix)
{
	if (!g_str_has_prefix(ans, prefix))
		fail_msg("answer '%.80s' does not start with '%s'", ans, prefix);
}

static void test_routes(void **state)
{
	struct fixture *f = *state;
	g_autofree char *m = get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	g_autofree char *q = get(f->port, "GET /metrics?name[]=x HTTP/1.0\n\n");
	g_autofree char *h = get(f->port, "HEAD /metrics HTTP/1.1\r\n\r\n");
	g_autofree char *ok = get(f->port, "GET /healthz HTTP/1.1\r\n\r\n");
	g_autofree char *nf = get(f->port, "GET / HTTP/1.1\r\n\r\n");
	g_autofree char *post = get(f->port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	g_autofree char *bad = get(f->port, "hello\r\n\r\n");
	g_autofree char *v2 = get(f->port, "GET /metrics HTTP/2.0\r\n\r\n");
	const char *body = "# HELP ctflow_test_total A test counter\n"
			   "# TYPE ctflow_test_total counter\n"
			   "ctflow_test_total{type=\"new\"} 42\n";
	g_autofree char *length = g_strdup_printf("\r\nContent-Length: %zu\r\n", strlen(body));

	expect_prefix(m, "HTTP/1.1 200 OK\r\n");
	assert_non_null(strstr(m, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(m, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(m, length));
	assert_true(g_str_has_suffix(m, body));
	assert_true(g_str_has_suffix(q, body));
	expect_prefix(h, "HTTP/1.1 200 OK\r\n");
	assert_true(g_str_has_suffix(h, "\r\n\r\n"));
	expect_prefix(ok, "HTTP/1.1 200 OK\r\n");
	assert_true(g_str_has_suffix(ok, "\r\n\r\nok\n"));
	expect_prefix(nf, "HTTP/1.1 404 Not Found\r\n");
	expect_prefix(post, "HTTP/1.1 405 Method Not Allowed\r\n");
	assert_non_null(strstr(post, "\r\nAllow: GET, HEAD\r\n"));
	expect_prefix(bad, "HTTP/1.1 400 Bad Request\r\n");
	expect_prefix(v2, "HTTP/1.1 400 Bad Request\r\n");
	assert_int_equal(g_atomic_int_get(&f->scrapes), 3);	/* GET, GET?, HEAD */
}

static void test_unhealthy(void **state)
{
	struct fixture *f = *state;
	g_autofree char *ans = NULL;

	g_atomic_int_set(&f->healthy, FALSE);
	ans = get(f->port, "GET /healthz HTTP/1.1\r\n\r\n");
	expect_prefix(ans, "HTTP/1.1 503 Service Unavailable\r\n");
	assert_true(g_str_has_suffix(ans, "\r\n\r\nnot reading conntrack events in host\n"));
}

static void test_request_too_large(void **state)
{
	struct fixture *f = *state;
	g_autofree char *big = g_strnfill(CTF_METRICS_REQUEST_MAX + 4000, 'a');
	g_autofree char *req = g_strconcat("GET /metrics HTTP/1.1\r\nX-Pad: ", big, NULL);
	int fd = connect_to(f->port);
	g_autofree char *ans = NULL;

	/* the server answers after 8 KiB and stops reading: the rest of
	 * the write may fail, what matters is the answer */
	(void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
	ans = read_all(fd);
	close(fd);
	expect_prefix(ans, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
	assert_int_equal(g_atomic_int_get(&f->scrapes), 0);
}

/* A client that connects and sends nothing holds a slot until its
 * deadline, and no scrape waits for it. */
static void test_stalled_client(void **state)
{
	struct fixture *f = *state;
	int idle = connect_to(f->port), partial = connect_to(f->port);
	int64_t t0 = g_get_monotonic_time(), t1;
	g_autofree char *m = NULL, *rest = NULL;
	char c;

	assert_int_equal(write(partial, "GET /metrics HTTP/1.1\r\n", 23), 23);
	m = get(f->port, "GET /metrics HTTP/1.1\r\n\r\n");
	expect_prefix(m, "HTTP/1.1 200 OK\r\n");
	assert_true(g_get_monotonic_time() - t0 < G_USEC_PER_SEC);
	/* closed at the deadline, unanswered */
	assert_int_equal(read(idle, &c, 1), 0);
	t1 = g_get_monotonic_time();
	rest = read_all(partial);
	assert_string_equal(rest, "");
	assert_true(t1 - t0 >= (CTF_METRICS_TIMEOUT_S - 1) * G_USEC_PER_SEC);
	assert_true(t1 - t0 < (CTF_METRICS_TIMEOUT_S + 2) * G_USEC_PER_SEC);
	close(idle);
	close(partial);
}

/* Past the client limit a connection is closed at once. */
static void test_client_limit(void **state)
{
	struct fixture *f = *state;
	int fds[CTF_METRICS_MAX_CLIENTS];
	g_autofree char *refused = NULL, *after = NULL;

	for (int i = 0; i < CTF_METRICS_MAX_CLIENTS; i++)
		fds[i] = connect_to(f->port);
	g_usleep(200 * 1000);	/* accepted, all slots taken */
	refused = get(f->port, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_string_equal(refused, "");
	for (int i = 0; i < CTF_METRICS_MAX_CLIENTS; i++)
		close(fds[i]);
	g_usleep(200 * 1000);	/* the server saw them go */
	after = get(f->port, "GET /healthz HTTP/1.1\r\n\r\n");
	expect_prefix(after, "HTTP/1.1 200 OK\r\n");
}

static void test_bind_errors(void **state)
{
	struct fixture *f = *state;
	g_autofree char *addr = g_strdup_printf("127.0.0.1:%d", f->port);
	g_autoptr(GError) error = NULL;

	assert_null(ctf_metrics_server_new(addr, collect, health, f, &error));
	assert_true(g_error_matches(error, CTF_ERROR, CTF_ERROR_IO));
	assert_non_null(strstr(error->message, addr));
	g_clear_error(&error);
	assert_null(ctf_metrics_server_new("127.0.0.1", collect, health, f, &error));
	assert_true(g_error_matches(error, CTF_ERROR, CTF_ERROR_USAGE));
}

/* [::1]: an IPv6 listener and its address form. */
static void test_ipv6(void **state)
{
	g_autoptr(GError) error = NULL;
	struct fixture *f = fixture_new("[::1]:0", &error);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	g_autofree char *ans = NULL;
	const char *req = "GET /healthz HTTP/1.1\r\n\r\n";
	int fd;

	if (!f)
		skip();	/* no IPv6 loopback here */
	assert_true(g_str_has_prefix(ctf_metrics_server_address(f->srv), "[::1]:"));
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	sin6.sin6_port = htons((uint16_t)f->port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	ans = read_all(fd);
	close(fd);
	teardown((void **)&f);
	expect_prefix(ans, "HTTP/1.1 200 OK\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_probe_without_parts),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhealthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
