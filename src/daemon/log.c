/*
 * The daemon's log writer (see include/ctflow/log.h): filters by level,
 * then writes to the journal or one formatted line to stderr. Does not
 * decide what is logged; modules log with g_log/g_warning in their own
 * domains.
 */
#define G_LOG_DOMAIN "ctflow"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ctflow/log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* glib's writer is process-wide, so are its settings; atomics because
 * every thread logs. */
static gint threshold = G_LOG_LEVEL_MESSAGE;	/* least severe level shown */
static gint to_journal;

static const struct {
	const char *name;
	GLogLevelFlags level;
} levels[] = {
	{ "error", G_LOG_LEVEL_CRITICAL },	/* G_LOG_LEVEL_ERROR aborts anyway */
	{ "warning", G_LOG_LEVEL_WARNING },
	{ "message", G_LOG_LEVEL_MESSAGE },
	{ "info", G_LOG_LEVEL_INFO },
	{ "debug", G_LOG_LEVEL_DEBUG },
};

gboolean ctf_log_parse_level(const char *text, GLogLevelFlags *ret_level, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
		if (text && strcmp(text, levels[i].name) == 0) {
			*ret_level = levels[i].level;
			return TRUE;
		}
	}
	g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
		    "log level '%s': expected error, warning, message, info or debug",
		    text ? text : "");
	return FALSE;
}

gboolean ctf_log_parse_target(const char *text, enum ctf_log_target *ret_target,
			      GError **error)
{
	if (g_strcmp0(text, "auto") == 0)
		*ret_target = CTF_LOG_AUTO;
	else if (g_strcmp0(text, "stderr") == 0)
		*ret_target = CTF_LOG_STDERR;
	else if (g_strcmp0(text, "journal") == 0)
		*ret_target = CTF_LOG_JOURNAL;
	else {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "log target '%s': expected auto, stderr or journal", text ? text : "");
		return FALSE;
	}
	return TRUE;
}

bool ctf_log_enabled(GLogLevelFlags level, const char *domain)
{
	GLogLevelFlags l = level & G_LOG_LEVEL_MASK;

	if (!l)
		return true;
	l &= -l;	/* the most severe level set */
	if (l <= (GLogLevelFlags)g_atomic_int_get(&threshold))
		return true;
	/* G_MESSAGES_DEBUG as glib's own writer reads it */
	if (l & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
		return !g_log_writer_default_would_drop(l, domain);
	return false;
}

bool ctf_log_to_journal(void)
{
	return g_atomic_int_get(&to_journal);
}

static const char *field_domain(const GLogField *fields, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
			return fields[i].value;
	return NULL;
}

/* One whole line per message, so that threads do not interleave. */
static GLogWriterOutput write_stderr(GLogLevelFlags level, const GLogField *fields, gsize n)
{
	g_autofree char *line =
		g_log_writer_format_fields(level, fields, n,
					   g_log_writer_supports_color(fileno(stderr)));
	/* glib opens warnings with an empty line: not in a log */
	g_autofree char *out = g_strconcat(line + strspn(line, "\n"), "\n", NULL);

	if (fputs(out, stderr) == EOF)
		return G_LOG_WRITER_UNHANDLED;
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n,
			       gpointer userdata)
{
	if (!ctf_log_enabled(level, field_domain(fields, n)))
		return G_LOG_WRITER_HANDLED;
	/* journald unreachable: the message still goes somewhere */
	if (ctf_log_to_journal() &&
	    g_log_writer_journald(level, fields, n, userdata) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;
	return write_stderr(level, fields, n);
}

gboolean ctf_log_setup(const char *level, const char *target, GError **error)
{
	static gsize installed;
	GLogLevelFlags l = G_LOG_LEVEL_MESSAGE;
	enum ctf_log_target t = CTF_LOG_AUTO;
	bool journal;

	if ((level && !ctf_log_parse_level(level, &l, error)) ||
	    (target && !ctf_log_parse_target(target, &t, error)))
		return FALSE;
	journal = t == CTF_LOG_JOURNAL ||
		  (t == CTF_LOG_AUTO && g_log_writer_is_journald(fileno(stderr)));
	g_atomic_int_set(&threshold, (gint)l);
	g_atomic_int_set(&to_journal, journal);
	if (g_once_init_enter(&installed)) {
		g_log_set_writer_func(writer, NULL, NULL);
		g_once_init_leave(&installed, 1);
	}
	if (t == CTF_LOG_JOURNAL && !g_file_test(JOURNAL_SOCKET, G_FILE_TEST_EXISTS))
		g_warning("log target journal: %s does not exist (journald not running?); "
			  "logging to stderr until it does", JOURNAL_SOCKET);
	return TRUE;
}
