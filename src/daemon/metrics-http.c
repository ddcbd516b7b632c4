/*
 * The metrics endpoint (see include/ctflow/metrics.h): a minimal HTTP/1.1
 * server on non-blocking GSockets with sources on one GMainContext.
 *
 * One request per connection ("Connection: close"). A client is read
 * until the blank line that ends its headers, answered, and read on
 * until it closes (closing while it still sends would reset the
 * connection and could cut the answer short). A deadline timer per
 * client bounds all of it; nothing here ever waits. It does not parse
 * more HTTP than a scraper and a health check need.
 */
#define G_LOG_DOMAIN "ctflow-metrics"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctflow/error.h"
#include "ctflow/metrics.h"

#define ACCEPT_PAUSE_MS 1000	/* after an accept error such as EMFILE */
#define LISTEN_BACKLOG 32

struct client {
	struct ctf_metrics_server *srv;
	GSocket *sock;
	char *peer;			/* for log messages */
	GSource *io;			/* readable or writable, per state */
	GSource *deadline;
	GString *resp;			/* NULL while the request is read */
	unsigned status;
	size_t sent;
	bool draining;			/* answered: read until the client closes */
	size_t len;
	char req[CTF_METRICS_REQUEST_MAX + 1];
};

struct ctf_metrics_server {
	GSocket *listener;
	GSource *accept_src;		/* or the pause timer after an error */
	GMainContext *ctx;
	char *address;
	ctf_metrics_collect_fn collect;
	ctf_metrics_health_fn health;
	void *userdata;
	GPtrArray *clients;		/* struct client *, freed on removal */
	int64_t last_accept_warning_us;
};

/* --- addresses ----------------------------------------------------------- */

static gboolean bad_address(GError **error, const char *text, const char *why)
{
	g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
		    "metrics address '%s': %s (expected ADDR:PORT, [IPv6]:PORT or "
		    "localhost:PORT, e.g. 127.0.0.1:9477)", text, why);
	return FALSE;
}

static gboolean parse_port(const char *s, bool allow_0, guint16 *ret)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(*s))
		return FALSE;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535 || (v == 0 && !allow_0))
		return FALSE;
	*ret = (guint16)v;
	return TRUE;
}

gboolean ctf_metrics_parse_address(const char *text, bool allow_port_0,
				   GInetSocketAddress **ret_addr, GError **error)
{
	g_autofree char *host = NULL;
	g_autoptr(GInetAddress) ia = NULL;
	const char *port;
	guint16 p;

	if (!text || !*text)
		return bad_address(error, text ? text : "", "empty");
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close == text + 1)
			return bad_address(error, text, "unterminated or empty [IPv6] address");
		if (close[1] != ':')
			return bad_address(error, text, "missing :PORT after [IPv6] address");
		host = g_strndup(text + 1, close - text - 1);
		port = close + 2;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon)
			return bad_address(error, text, "missing :PORT");
		if (colon == text)
			return bad_address(error, text, "missing address (0.0.0.0 listens on all)");
		host = g_strndup(text, colon - text);
		if (strchr(host, ':'))
			return bad_address(error, text, "IPv6 addresses need brackets: [ADDR]:PORT");
		port = colon + 1;
	}
	if (!parse_port(port, allow_port_0, &p))
		return bad_address(error, text, allow_port_0 ? "port must be a number from 0 to 65535"
							     : "port must be a number from 1 to 65535");
	if (strcmp(host, "localhost") == 0)
		ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	else
		ia = g_inet_address_new_from_string(host);
	if (!ia)
		return bad_address(error, text, "not a numeric IP address or localhost");
	if (text[0] == '[' && g_inet_address_get_family(ia) != G_SOCKET_FAMILY_IPV6)
		return bad_address(error, text, "brackets hold an IPv6 address");
	*ret_addr = G_INET_SOCKET_ADDRESS(g_inet_socket_address_new(ia, p));
	return TRUE;
}

char *ctf_metrics_address_string(GInetSocketAddress *addr)
{
	g_autofree char *ip = g_inet_address_to_string(g_inet_socket_address_get_address(addr));
	guint16 port = g_inet_socket_address_get_port(addr);

	if (g_socket_address_get_family(G_SOCKET_ADDRESS(addr)) == G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("[%s]:%u", ip, port);
	return g_strdup_printf("%s:%u", ip, port);
}

/* --- clients ------------------------------------------------------------- */

static void client_free(gpointer p)
{
	struct client *c = p;

	if (c->io) {
		g_source_destroy(c->io);
		g_source_unref(c->io);
	}
	if (c->deadline) {
		g_source_destroy(c->deadline);
		g_source_unref(c->deadline);
	}
	g_socket_close(c->sock, NULL);
	g_object_unref(c->sock);
	if (c->resp)
		g_string_free(c->resp, TRUE);
	g_free(c->peer);
	g_free(c);
}

static void client_close(struct client *c)
{
	g_ptr_array_remove_fast(c->srv->clients, c);
}

static gboolean on_client_io(GSocket *sock, GIOCondition cond, gpointer data);

/* Watch @c's socket for @cond from now on. */
static void client_watch(struct client *c, GIOCondition cond)
{
	if (c->io) {
		g_source_destroy(c->io);
		g_source_unref(c->io);
	}
	c->io = g_socket_create_source(c->sock, cond | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(c->io, G_SOURCE_FUNC(on_client_io), c, NULL);
	g_source_attach(c->io, c->srv->ctx);
}

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define EXPOSITION "text/plain; version=0.0.4; charset=utf-8"

static void set_response(struct client *c, unsigned status, const char *reason,
			 const char *type, const char *extra_headers, const char *body,
			 size_t body_len, bool head)
{
	c->status = status;
	c->resp = g_string_sized_new(body_len + 256);
	g_string_append_printf(c->resp,
			       "HTTP/1.1 %u %s\r\n"
			       "Content-Type: %s\r\n"
			       "Content-Length: %zu\r\n"
			       "Cache-Control: no-store\r\n"
			       "Connection: close\r\n"
			       "%s\r\n",
			       status, reason, type, body_len, extra_headers ? extra_headers : "");
	if (!head)
		g_string_append_len(c->resp, body, (gssize)body_len);
}

static void respond_text(struct client *c, unsigned status, const char *reason,
			 const char *extra_headers, const char *body, bool head)
{
	set_response(c, status, reason, TEXT_PLAIN, extra_headers, body, strlen(body), head);
}

/* "GET /metrics HTTP/1.1": FALSE when it is not a request line. */
static gboolean split_request_line(char *line, char **ret_method, char **ret_path,
				   char **ret_version)
{
	char *sp1 = strchr(line, ' '), *sp2;

	if (!sp1 || sp1 == line)
		return FALSE;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ') || !sp2[1])
		return FALSE;
	*sp1 = *sp2 = 0;
	*ret_method = line;
	*ret_path = sp1 + 1;
	*ret_version = sp2 + 1;
	/* the query string changes nothing here */
	(*ret_path)[strcspn(*ret_path, "?")] = 0;
	return TRUE;
}

static void route(struct client *c, const char *method, const char *path, bool head)
{
	struct ctf_metrics_server *srv = c->srv;

	if (strcmp(method, "GET") != 0 && !head) {
		respond_text(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
			     "method not allowed: use GET\n", false);
	} else if (strcmp(path, "/metrics") == 0) {
		g_autoptr(GString) body = g_string_sized_new(8192);

		srv->collect(body, srv->userdata);
		set_response(c, 200, "OK", EXPOSITION, NULL, body->str, body->len, head);
	} else if (strcmp(path, "/healthz") == 0) {
		g_autoptr(GString) reason = g_string_new(NULL);

		if (srv->health(reason, srv->userdata)) {
			respond_text(c, 200, "OK", NULL, "ok\n", head);
		} else {
			g_string_append_c(reason, '\n');
			respond_text(c, 503, "Service Unavailable", NULL, reason->str, head);
		}
	} else {
		respond_text(c, 404, "Not Found", NULL, "not found: try /metrics or /healthz\n",
			     head);
	}
}

/* The headers are complete: answer from the request line alone. */
static void handle_request(struct client *c)
{
	char *line = c->req, *method, *path, *version;

	line[strcspn(line, "\r\n")] = 0;
	if (!split_request_line(line, &method, &path, &version) ||
	    !g_str_has_prefix(version, "HTTP/1.")) {
		respond_text(c, 400, "Bad Request", NULL, "bad request\n", false);
		g_debug("%s: bad request line: %u", c->peer, c->status);
		return;
	}
	route(c, method, path, strcmp(method, "HEAD") == 0);
	g_debug("%s: %s %s: %u, %zu octets", c->peer, method, path, c->status, c->resp->len);
}

static gboolean headers_complete(const struct client *c)
{
	return memmem(c->req, c->len, "\r\n\r\n", 4) || memmem(c->req, c->len, "\n\n", 2);
}

/* Read what the client sent; FALSE when the client is gone. */
static gboolean client_read(struct client *c)
{
	g_autoptr(GError) err = NULL;
	char discard[1024];
	bool reading = !c->resp;
	char *buf = reading ? c->req + c->len : discard;
	size_t size = reading ? CTF_METRICS_REQUEST_MAX - c->len : sizeof(discard);
	gssize n = g_socket_receive(c->sock, buf, size, NULL, &err);

	if (n < 0)
		return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
	if (n == 0 || !reading)
		return n > 0;
	c->len += (size_t)n;
	c->req[c->len] = 0;
	if (headers_complete(c))
		handle_request(c);
	else if (c->len == CTF_METRICS_REQUEST_MAX)
		respond_text(c, 431, "Request Header Fields Too Large", NULL,
			     "request too large\n", false);
	return TRUE;
}

/* Send what the socket takes; FALSE on an error. */
static gboolean client_write(struct client *c)
{
	while (c->sent < c->resp->len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_send(c->sock, c->resp->str + c->sent, c->resp->len - c->sent,
					 NULL, &err);

		if (n < 0)
			return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
		c->sent += (size_t)n;
	}
	return TRUE;
}

/* After reading or writing: watch for what comes next. */
static gboolean client_step(struct client *c)
{
	if (!c->resp)
		return TRUE;	/* still reading: the watch stays */
	if (!client_write(c))
		return FALSE;
	if (c->sent < c->resp->len) {
		client_watch(c, G_IO_OUT);
		return TRUE;
	}
	if (!c->draining) {
		c->draining = true;
		g_socket_shutdown(c->sock, FALSE, TRUE, NULL);
		client_watch(c, G_IO_IN);
	}
	return TRUE;
}

static gboolean on_client_io(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct client *c = data;
	bool writing = c->resp && c->sent < c->resp->len;
	gboolean ok;

	if (writing)
		ok = !(cond & G_IO_ERR) && client_step(c);
	else
		ok = client_read(c) && client_step(c);
	if (!ok) {
		client_close(c);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_deadline(gpointer data)
{
	struct client *c = data;

	g_debug("%s: closed after %d s (%s)", c->peer, CTF_METRICS_TIMEOUT_S,
		!c->resp ? "request incomplete" : c->draining ? "did not close" : "not reading");
	client_close(c);
	return G_SOURCE_REMOVE;
}

static char *peer_name(GSocket *sock)
{
	g_autoptr(GSocketAddress) a = g_socket_get_remote_address(sock, NULL);

	return a && G_IS_INET_SOCKET_ADDRESS(a) ? ctf_metrics_address_string(G_INET_SOCKET_ADDRESS(a))
						 : g_strdup("client");
}

static void client_new(struct ctf_metrics_server *srv, GSocket *sock)
{
	struct client *c = g_new0(struct client, 1);

	c->srv = srv;
	c->sock = sock;
	c->peer = peer_name(sock);
	g_socket_set_blocking(sock, FALSE);
	g_ptr_array_add(srv->clients, c);
	c->deadline = g_timeout_source_new(CTF_METRICS_TIMEOUT_S * 1000);
	g_source_set_callback(c->deadline, on_deadline, c, NULL);
	g_source_attach(c->deadline, srv->ctx);
	client_watch(c, G_IO_IN);
}

/* --- the listener -------------------------------------------------------- */

static void watch_listener(struct ctf_metrics_server *srv);

static gboolean on_accept_resume(gpointer data)
{
	struct ctf_metrics_server *srv = data;

	g_source_unref(srv->accept_src);
	srv->accept_src = NULL;
	watch_listener(srv);
	return G_SOURCE_REMOVE;
}

/* EMFILE and the like leave the listener readable: pause instead of
 * spinning, and say so at most every 10 s. */
static void pause_accept(struct ctf_metrics_server *srv, const GError *err)
{
	int64_t now = g_get_monotonic_time();

	if (now - srv->last_accept_warning_us >= 10 * G_USEC_PER_SEC) {
		g_warning("metrics on %s: accepting a connection: %s; pausing for 1 s",
			  srv->address, err->message);
		srv->last_accept_warning_us = now;
	}
	g_source_destroy(srv->accept_src);
	g_source_unref(srv->accept_src);
	srv->accept_src = g_timeout_source_new(ACCEPT_PAUSE_MS);
	g_source_set_callback(srv->accept_src, on_accept_resume, srv, NULL);
	g_source_attach(srv->accept_src, srv->ctx);
}

static gboolean on_accept(GSocket *listener, GIOCondition cond, gpointer data)
{
	struct ctf_metrics_server *srv = data;

	for (int i = 0; i < CTF_METRICS_MAX_CLIENTS; i++) {
		g_autoptr(GError) err = NULL;
		GSocket *sock = g_socket_accept(listener, NULL, &err);

		if (!sock) {
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				break;
			pause_accept(srv, err);
			return G_SOURCE_REMOVE;
		}
		if (srv->clients->len >= CTF_METRICS_MAX_CLIENTS) {
			/* all slots taken, perhaps by stalled clients: this one
			 * goes at once, the stalled ones at their deadline */
			g_debug("%s: refused, %u clients already", srv->address,
				srv->clients->len);
			g_socket_close(sock, NULL);
			g_object_unref(sock);
			continue;
		}
		client_new(srv, sock);
	}
	return G_SOURCE_CONTINUE;
}

static void watch_listener(struct ctf_metrics_server *srv)
{
	srv->accept_src = g_socket_create_source(srv->listener, G_IO_IN, NULL);
	g_source_set_callback(srv->accept_src, G_SOURCE_FUNC(on_accept), srv, NULL);
	g_source_attach(srv->accept_src, srv->ctx);
}

static GSocket *listen_on(GInetSocketAddress *addr, const char *text, GError **error)
{
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GError) err = NULL;

	sock = g_socket_new(g_socket_address_get_family(G_SOCKET_ADDRESS(addr)),
			    G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);
	if (sock) {
		g_socket_set_blocking(sock, FALSE);
		g_socket_set_listen_backlog(sock, LISTEN_BACKLOG);
	}
	if (!sock || !g_socket_bind(sock, G_SOCKET_ADDRESS(addr), TRUE, &err) ||
	    !g_socket_listen(sock, &err)) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_IO, "metrics: cannot listen on %s: %s",
			    text, err->message);
		return NULL;
	}
	return g_steal_pointer(&sock);
}

struct ctf_metrics_server *ctf_metrics_server_new(const char *address,
						  ctf_metrics_collect_fn collect,
						  ctf_metrics_health_fn health, void *userdata,
						  GError **error)
{
	g_autoptr(GInetSocketAddress) addr = NULL;
	g_autoptr(GSocketAddress) bound = NULL;
	struct ctf_metrics_server *srv;
	GSocket *sock;

	g_return_val_if_fail(collect && health, NULL);
	if (!ctf_metrics_parse_address(address, true, &addr, error))
		return NULL;
	sock = listen_on(addr, address, error);
	if (!sock)
		return NULL;
	srv = g_new0(struct ctf_metrics_server, 1);
	srv->listener = sock;
	srv->collect = collect;
	srv->health = health;
	srv->userdata = userdata;
	srv->clients = g_ptr_array_new_with_free_func(client_free);
	bound = g_socket_get_local_address(sock, NULL);
	srv->address = bound ? ctf_metrics_address_string(G_INET_SOCKET_ADDRESS(bound))
			     : g_strdup(address);
	return srv;
}

const char *ctf_metrics_server_address(const struct ctf_metrics_server *s)
{
	return s->address;
}

void ctf_metrics_server_attach(struct ctf_metrics_server *s, GMainContext *ctx)
{
	g_return_if_fail(!s->accept_src);
	s->ctx = ctx;
	watch_listener(s);
}

void ctf_metrics_server_free(struct ctf_metrics_server *s)
{
	if (!s)
		return;
	if (s->accept_src) {
		g_source_destroy(s->accept_src);
		g_source_unref(s->accept_src);
	}
	g_ptr_array_unref(s->clients);
	g_socket_close(s->listener, NULL);
	g_object_unref(s->listener);
	g_free(s->address);
	g_free(s);
}
