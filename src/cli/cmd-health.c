/*
 * `ctflow health [ADDR:PORT]`: ask a running `ctflow run` whether it is
 * healthy, GET /healthz on its metrics endpoint, for container health
 * checks without curl. The endpoint is the argument, else [daemon]
 * metrics of the configuration `ctflow run` would read (-c FILE,
 * CTFLOW_CONFIG, CTFLOW_DAEMON_METRICS); a wildcard address is asked on
 * loopback. Everything (connect, request, answer) within 5 s.
 * Exit 0 on 200, 1 on anything else, 2 when there is nothing to ask.
 */
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "ctflow/error.h"
#include "ctflow/metrics.h"
#include "ctflow/run-config.h"

#include "cli.h"

#define HEALTH_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define ANSWER_MAX 4096

/* Wait until @cond on @sock, or fail at @deadline (monotonic µs). */
static gboolean wait_until(GSocket *sock, GIOCondition cond, int64_t deadline, GError **error)
{
	int64_t left = deadline - g_get_monotonic_time();

	if (left <= 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer within 5 s");
		return FALSE;
	}
	if (!g_socket_condition_timed_wait(sock, cond, left, NULL, error)) {
		if (g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
			g_clear_error(error);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer within 5 s");
		}
		return FALSE;
	}
	return TRUE;
}

static gboolean connect_by(GSocket *sock, GSocketAddress *addr, int64_t deadline, GError **error)
{
	g_autoptr(GError) err = NULL;

	if (g_socket_connect(sock, addr, NULL, &err))
		return TRUE;
	if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PENDING)) {
		g_propagate_error(error, g_steal_pointer(&err));
		return FALSE;
	}
	return wait_until(sock, G_IO_OUT, deadline, error) &&
	       g_socket_check_connect_result(sock, error);
}

static gboolean send_all(GSocket *sock, const char *buf, size_t len, int64_t deadline,
			 GError **error)
{
	while (len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_send(sock, buf, len, NULL, &err);

		if (n < 0 && !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			g_propagate_error(error, g_steal_pointer(&err));
			return FALSE;
		}
		if (n < 0 && !wait_until(sock, G_IO_OUT, deadline, error))
			return FALSE;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return TRUE;
}

/* The whole answer (the server closes after it), at most ANSWER_MAX. */
static GString *receive_all(GSocket *sock, int64_t deadline, GError **error)
{
	g_autoptr(GString) ans = g_string_new(NULL);
	char buf[1024];

	while (ans->len < ANSWER_MAX) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_receive(sock, buf, MIN(sizeof(buf), ANSWER_MAX - ans->len),
					    NULL, &err);

		if (n == 0)
			break;
		if (n > 0) {
			g_string_append_len(ans, buf, n);
			continue;
		}
		if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			g_propagate_error(error, g_steal_pointer(&err));
			return NULL;
		}
		if (!wait_until(sock, G_IO_IN, deadline, error))
			return NULL;
	}
	return g_steal_pointer(&ans);
}

/* A wildcard listener is reached on loopback. */
static GSocketAddress *target_of(GInetSocketAddress *addr)
{
	GInetAddress *ia = g_inet_socket_address_get_address(addr);
	g_autoptr(GInetAddress) lo = NULL;

	if (!g_inet_address_get_is_any(ia))
		return G_SOCKET_ADDRESS(g_object_ref(addr));
	lo = g_inet_address_new_loopback(g_inet_address_get_family(ia));
	return g_inet_socket_address_new(lo, g_inet_socket_address_get_port(addr));
}

/* GET /healthz; *ret_status and the body's first line on success. */
static gboolean get_health(GSocketAddress *addr, const char *host, unsigned *ret_status,
			   char **ret_body, GError **error)
{
	int64_t deadline = g_get_monotonic_time() + HEALTH_TIMEOUT_US;
	g_autofree char *req = g_strdup_printf("GET /healthz HTTP/1.1\r\nHost: %s\r\n"
					       "User-Agent: ctflow-health\r\n"
					       "Connection: close\r\n\r\n", host);
	g_autoptr(GSocket) sock = g_socket_new(g_socket_address_get_family(addr),
					       G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
	g_autoptr(GString) ans = NULL;
	const char *body;

	if (!sock)
		return FALSE;
	g_socket_set_blocking(sock, FALSE);
	if (!connect_by(sock, addr, deadline, error) ||
	    !send_all(sock, req, strlen(req), deadline, error) ||
	    !(ans = receive_all(sock, deadline, error)))
		return FALSE;
	if (sscanf(ans->str, "HTTP/1.%*1[01] %3u ", ret_status) != 1) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT, "not an HTTP answer");
		return FALSE;
	}
	body = strstr(ans->str, "\r\n\r\n");
	body = body ? body + 4 : "";
	*ret_body = g_strndup(body, strcspn(body, "\r\n"));
	return TRUE;
}

/* The endpoint: @arg, else the configuration's [daemon] metrics. */
static char *endpoint(const char *arg, const char *config, GError **error)
{
	struct ctf_run_config cfg;
	char *argv_buf[] = { "health", "-c", (char *)config, NULL };
	char **argv = argv_buf;
	int argc = config ? 3 : 1;
	char *metrics;

	if (arg)
		return g_strdup(arg);
	if (!config)
		argv_buf[1] = NULL;
	if (!ctf_run_config_load(&cfg, &argc, &argv, NULL, error))
		return NULL;
	metrics = cfg.metrics && *cfg.metrics ? g_strdup(cfg.metrics) : NULL;
	ctf_run_config_clear(&cfg);
	if (!metrics)
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "no metrics endpoint: give ADDR:PORT, or set [daemon] metrics in the "
			    "configuration or CTFLOW_DAEMON_METRICS");
	return metrics;
}

static gboolean parse_args(int *argc, char ***argv, char **ret_config, GError **error)
{
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, ret_config,
		  "Configuration file to take [daemon] metrics from", "FILE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[ADDR:PORT] - is ctflow run healthy?");

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"GET /healthz on the metrics endpoint of ctflow run (ADDR:PORT, else [daemon]\n"
		"metrics from -c FILE, CTFLOW_CONFIG or CTFLOW_DAEMON_METRICS), within 5 s.\n"
		"Exit status: 0 healthy, 1 unhealthy or unreachable, 2 usage error.\n");
	if (!g_option_context_parse(ctx, argc, argv, error))
		return FALSE;
	if (*argc > 2) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "unexpected argument '%s'",
			    (*argv)[2]);
		return FALSE;
	}
	return TRUE;
}

int ctf_cmd_health(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *config = NULL, *text = NULL, *body = NULL, *host = NULL;
	g_autoptr(GInetSocketAddress) addr = NULL;
	g_autoptr(GSocketAddress) target = NULL;
	unsigned status = 0;

	g_set_prgname("ctflow health");
	if (!parse_args(&argc, &argv, &config, &error) ||
	    !(text = endpoint(argc > 1 ? argv[1] : NULL, config, &error)) ||
	    !ctf_metrics_parse_address(text, false, &addr, &error)) {
		g_printerr("ctflow health: %s\n", error->message);
		return CTF_EXIT_USAGE;
	}
	target = target_of(addr);
	host = ctf_metrics_address_string(G_INET_SOCKET_ADDRESS(target));
	if (!get_health(target, host, &status, &body, &error)) {
		g_printerr("ctflow health: http://%s/healthz: %s\n", host, error->message);
		return CTF_EXIT_FAILURE;
	}
	if (status != 200) {
		g_printerr("ctflow health: http://%s/healthz: %u %s\n", host, status, body);
		return CTF_EXIT_FAILURE;
	}
	printf("%s\n", *body ? body : "ok");
	return CTF_EXIT_OK;
}
