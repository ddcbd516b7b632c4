/*
 * Collector URLs: udp://HOST:PORT, tcp://HOST:PORT (IPv6 as [ADDR]:PORT),
 * file:PATH and "-" (stdout).
 *
 * Pure parsing: no name resolution, no I/O. SCTP, TLS and DTLS are
 * refused with an explanation (Debian's libfixbuf has neither, and asking
 * it for them aborts the process).
 */
#pragma once

#include <stdint.h>

#include <glib.h>

enum ctf_export_scheme {
	CTF_EXPORT_UDP,
	CTF_EXPORT_TCP,
	CTF_EXPORT_FILE,
	CTF_EXPORT_STDOUT,
};

struct ctf_export_url {
	enum ctf_export_scheme scheme;
	char *host;		/* UDP/TCP: name or address, no brackets */
	uint16_t port;		/* UDP/TCP */
	char *path;		/* FILE */
};

/**
 * ctf_export_url_parse - split @url into @ret
 *
 * Returns FALSE with CTF_ERROR_USAGE and a message naming the problem for
 * a malformed URL or an unknown or unsupported scheme; @ret is then left
 * cleared. Free the strings with ctf_export_url_clear().
 */
gboolean ctf_export_url_parse(const char *url, struct ctf_export_url *ret,
			      GError **error);
void ctf_export_url_clear(struct ctf_export_url *url);

/* "udp", "tcp", "file", "stdout" */
const char *ctf_export_scheme_name(enum ctf_export_scheme scheme);
