/*
 * Collector URL parsing. Only syntax: resolving and connecting belong to
 * the transports.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <stdlib.h>
#include <string.h>

#include "ctflow/error.h"
#include "ctflow/export-url.h"

static gboolean bad(GError **error, const char *url, const char *why)
{
	g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
		    "collector URL \"%s\": %s (expected udp://HOST:PORT, "
		    "tcp://HOST:PORT, file:PATH or -)", url, why);
	return FALSE;
}

static gboolean parse_port(const char *s, uint16_t *ret)
{
	char *end;
	unsigned long v;

	if (!*s || !g_ascii_isdigit(*s))
		return FALSE;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 65535)
		return FALSE;
	*ret = (uint16_t)v;
	return TRUE;
}

/* "HOST:PORT" or "[V6]:PORT" */
static gboolean parse_hostport(const char *url, const char *hp,
			       struct ctf_export_url *ret, GError **error)
{
	const char *colon;
	g_autofree char *host = NULL;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (!close || close == hp + 1)
			return bad(error, url, "unterminated or empty [IPv6] address");
		if (close[1] != ':')
			return bad(error, url, "missing :PORT after [IPv6] address");
		host = g_strndup(hp + 1, close - hp - 1);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return bad(error, url, "missing :PORT");
		if (colon == hp)
			return bad(error, url, "missing host");
		host = g_strndup(hp, colon - hp);
		if (strchr(host, ':'))
			return bad(error, url, "IPv6 addresses need brackets: [ADDR]:PORT");
	}
	if (strpbrk(host, "/ \t[]@?#"))
		return bad(error, url, "invalid character in host");
	if (!parse_port(colon + 1, &ret->port))
		return bad(error, url, "port must be a number from 1 to 65535");
	ret->host = g_steal_pointer(&host);
	return TRUE;
}

gboolean ctf_export_url_parse(const char *url, struct ctf_export_url *ret,
			      GError **error)
{
	memset(ret, 0, sizeof(*ret));
	if (!url || !*url)
		return bad(error, "", "empty");
	if (!strcmp(url, "-")) {
		ret->scheme = CTF_EXPORT_STDOUT;
		return TRUE;
	}
	if (g_str_has_prefix(url, "udp://")) {
		ret->scheme = CTF_EXPORT_UDP;
		return parse_hostport(url, url + 6, ret, error);
	}
	if (g_str_has_prefix(url, "tcp://")) {
		ret->scheme = CTF_EXPORT_TCP;
		return parse_hostport(url, url + 6, ret, error);
	}
	if (g_str_has_prefix(url, "file:")) {
		/* file:PATH, and file:///abs/path (RFC 8089) */
		const char *p = url + 5;

		if (g_str_has_prefix(p, "//")) {
			if (p[2] != '/')
				return bad(error, url, "file:// URLs take no host: file:///PATH");
			p += 2;
		}
		if (!*p)
			return bad(error, url, "empty path");
		ret->scheme = CTF_EXPORT_FILE;
		ret->path = g_strdup(p);
		return TRUE;
	}
	if (g_str_has_prefix(url, "sctp://") || g_str_has_prefix(url, "tls") ||
	    g_str_has_prefix(url, "dtls"))
		return bad(error, url, "SCTP, TLS and DTLS are not available: "
			   "Debian's libfixbuf is built without them (see docs/export.md)");
	return bad(error, url, "unknown scheme");
}

void ctf_export_url_clear(struct ctf_export_url *url)
{
	if (!url)
		return;
	g_clear_pointer(&url->host, g_free);
	g_clear_pointer(&url->path, g_free);
}

const char *ctf_export_scheme_name(enum ctf_export_scheme scheme)
{
	switch (scheme) {
	case CTF_EXPORT_UDP: return "udp";
	case CTF_EXPORT_TCP: return "tcp";
	case CTF_EXPORT_FILE: return "file";
	case CTF_EXPORT_STDOUT: return "stdout";
	}
	return "?";
}
