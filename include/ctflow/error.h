/*
 * ctflow error domain.
 *
 * Setup and I/O boundaries report failures through GError in the
 * CTF_ERROR domain; hot paths return 0 or a negative errno and convert at
 * the boundary with ctf_set_error_errno().
 */
#pragma once

#include <glib.h>

#define CTF_ERROR (ctf_error_quark())

enum ctf_error_code {
	CTF_ERROR_FAILED,	/* generic runtime failure */
	CTF_ERROR_USAGE,	/* bad command line or configuration: exit 2 */
	CTF_ERROR_IO,		/* file or socket I/O */
	CTF_ERROR_FORMAT,	/* malformed input (pcap, IPFIX, netlink) */
	CTF_ERROR_UNSUPPORTED,	/* valid but not supported here */
};

GQuark ctf_error_quark(void);

/**
 * ctf_set_error_errno - set @error from a negative or positive errno value
 *
 * The message is "@what: strerror(errno)". Always returns FALSE so callers
 * can write `return ctf_set_error_errno(error, -r, "...")`.
 */
gboolean ctf_set_error_errno(GError **error, int err, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
