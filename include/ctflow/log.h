/*
 * Logging of the daemon: glib structured logging with a level threshold
 * ([daemon] log-level) and a target ([daemon] log-target).
 *
 * Levels, most severe first: error (criticals too), warning, message,
 * info, debug; a level shows itself and everything more severe. Besides,
 * G_MESSAGES_DEBUG=DOMAIN,... (or all) shows info and debug of those
 * domains whatever the level, as glib does by default.
 *
 * Targets: stderr, one line per message ("(ctflow run:PID):
 * DOMAIN-LEVEL **: HH:MM:SS.mmm: text"; info and debug too, never stdout,
 * which may carry records); journal, structured fields for journald,
 * falling back to stderr when the journal cannot be reached; auto, the
 * journal when stderr is connected to it (a systemd service), else stderr.
 *
 * glib has one writer per process and allows setting it once: the first
 * ctf_log_setup() installs it, later calls only change the level and the
 * target (SIGHUP). Safe from any thread.
 */
#pragma once

#include <stdbool.h>

#include <glib.h>

enum ctf_log_target {
	CTF_LOG_AUTO,
	CTF_LOG_STDERR,
	CTF_LOG_JOURNAL,
};

/* "error" ... "debug" to the least severe level shown; FALSE with
 * CTF_ERROR_USAGE naming the accepted words. */
gboolean ctf_log_parse_level(const char *text, GLogLevelFlags *ret_level, GError **error);
gboolean ctf_log_parse_target(const char *text, enum ctf_log_target *ret_target,
			      GError **error);

/**
 * ctf_log_setup - install the writer, or change its level and target
 * @level: as for ctf_log_parse_level(); NULL keeps "message"
 * @target: as for ctf_log_parse_target(); NULL keeps "auto"
 *
 * Returns FALSE with CTF_ERROR_USAGE for an unknown word; nothing changes
 * then.
 */
gboolean ctf_log_setup(const char *level, const char *target, GError **error);

/* Whether a message of @level in @domain (may be NULL) is written now. */
bool ctf_log_enabled(GLogLevelFlags level, const char *domain);

/* Whether messages go to the journal now (after auto was decided). */
bool ctf_log_to_journal(void);
