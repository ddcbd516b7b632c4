/*
 * The CTF_ERROR GError domain and the errno bridge.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "ctflow/error.h"

G_DEFINE_QUARK(ctf-error-quark, ctf_error)

gboolean ctf_set_error_errno(GError **error, int err, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, CTF_ERROR, CTF_ERROR_IO, "%s: %s", what, g_strerror(err));
	return FALSE;
}
