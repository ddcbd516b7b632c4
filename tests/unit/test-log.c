/*
 * The daemon's log writer: which levels each --log-level shows, what the
 * stderr line looks like, G_MESSAGES_DEBUG, bad words, and a journal
 * target without a journal still writing to stderr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "ctflow/error.h"
#include "ctflow/log.h"

/* Run the logging of @fn with stderr going to a file; return the file. */
static char *capture_stderr(void (*fn)(void))
{
	g_autofree char *path = NULL;
	char *text = NULL;
	int fd = g_file_open_tmp("ctflow-log-XXXXXX", &path, NULL);
	int saved = dup(STDERR_FILENO);

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_unlink(path);
	return text;
}

static void log_each_level(void)
{
	g_log("ctflow-test", G_LOG_LEVEL_CRITICAL, "a critical line");
	g_log("ctflow-test", G_LOG_LEVEL_WARNING, "a warning line");
	g_log("ctflow-test", G_LOG_LEVEL_MESSAGE, "a message line");
	g_log("ctflow-test", G_LOG_LEVEL_INFO, "an info line");
	g_log("ctflow-test", G_LOG_LEVEL_DEBUG, "a debug line");
	g_log("ctflow-other", G_LOG_LEVEL_DEBUG, "another debug line");
}

static void setup_level(const char *level)
{
	g_autoptr(GError) error = NULL;

	if (!ctf_log_setup(level, "stderr", &error))
		fail_msg("%s", error->message);
	assert_false(ctf_log_to_journal());
}

/* The words of [daemon] log-level shown by @level, in @text. */
static void expect_shown(const char *text, const char *const *shown, const char *const *hidden)
{
	for (; *shown; shown++)
		if (!strstr(text, *shown))
			fail_msg("'%s' missing from:\n%s", *shown, text);
	for (; *hidden; hidden++)
		if (strstr(text, *hidden))
			fail_msg("'%s' shown:\n%s", *hidden, text);
}

static void test_levels(void **state)
{
	static const struct {
		const char *level;
		const char *shown[7];
		const char *hidden[7];
	} cases[] = {
		{ "error", { "a critical line", NULL },
		  { "warning line", "message line", "info line", "debug line", NULL } },
		{ "warning", { "a critical line", "a warning line", NULL },
		  { "message line", "info line", "debug line", NULL } },
		{ "message", { "a critical line", "a warning line", "a message line", NULL },
		  { "info line", "debug line", NULL } },
		{ "info", { "a warning line", "a message line", "an info line", NULL },
		  { "debug line", NULL } },
		{ "debug", { "a critical line", "a message line", "an info line", "a debug line",
			     "another debug line", NULL }, { NULL } },
	};

	g_unsetenv("G_MESSAGES_DEBUG");
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = NULL;

		setup_level(cases[i].level);
		text = capture_stderr(log_each_level);
		expect_shown(text, cases[i].shown, cases[i].hidden);
	}
}

static void test_line_format(void **state)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	setup_level("debug");
	text = capture_stderr(log_each_level);
	lines = g_strsplit(text, "\n", -1);
	/* glib's format: domain-LEVEL, a timestamp, the text, one line each */
	assert_non_null(strstr(text, "ctflow-test-WARNING **: "));
	assert_non_null(strstr(text, ": a warning line\n"));
	assert_non_null(strstr(text, "ctflow-test-DEBUG: "));
	assert_non_null(strstr(text, "ctflow-test-INFO: "));
	assert_int_equal(g_strv_length(lines), 7);	/* 6 lines and "" */
}

static void test_messages_debug(void **state)
{
	g_autofree char *text = NULL;

	g_setenv("G_MESSAGES_DEBUG", "ctflow-test", TRUE);
	setup_level("message");
	assert_true(ctf_log_enabled(G_LOG_LEVEL_DEBUG, "ctflow-test"));
	assert_false(ctf_log_enabled(G_LOG_LEVEL_DEBUG, "ctflow-other"));
	text = capture_stderr(log_each_level);
	g_unsetenv("G_MESSAGES_DEBUG");
	expect_shown(text, (const char *const[]){ "a debug line", "an info line", NULL },
		     (const char *const[]){ "another debug line", NULL });
	setup_level("error");
	assert_false(ctf_log_enabled(G_LOG_LEVEL_DEBUG, "ctflow-test"));
	assert_true(ctf_log_enabled(G_LOG_LEVEL_ERROR | G_LOG_FLAG_FATAL, "x"));
}

static void test_bad_words(void **state)
{
	g_autoptr(GError) error = NULL;
	GLogLevelFlags l;
	enum ctf_log_target t;

	setup_level("warning");
	assert_false(ctf_log_setup("verbose", "stderr", &error));
	assert_true(g_error_matches(error, CTF_ERROR, CTF_ERROR_USAGE));
	assert_non_null(strstr(error->message, "'verbose'"));
	assert_non_null(strstr(error->message, "error, warning, message, info or debug"));
	g_clear_error(&error);
	assert_false(ctf_log_setup("debug", "syslog", &error));
	assert_non_null(strstr(error->message, "expected auto, stderr or journal"));
	/* nothing changed */
	assert_false(ctf_log_enabled(G_LOG_LEVEL_MESSAGE, "ctflow-test"));
	assert_true(ctf_log_enabled(G_LOG_LEVEL_WARNING, "ctflow-test"));
	assert_true(ctf_log_parse_level("info", &l, NULL));
	assert_int_equal(l, G_LOG_LEVEL_INFO);
	assert_true(ctf_log_parse_target("journal", &t, NULL));
	assert_int_equal(t, CTF_LOG_JOURNAL);
}

static void setup_journal(void)
{
	g_autoptr(GError) error = NULL;

	if (!ctf_log_setup("message", "journal", &error))
		fail_msg("%s", error->message);
	g_log("ctflow-test", G_LOG_LEVEL_WARNING, "to the journal");
}

/* Without journald the journal target still writes to stderr, after
 * saying so. With journald the line goes to the journal instead. */
static void test_journal_target(void **state)
{
	g_autofree char *text = NULL;

	if (g_file_test("/run/systemd/journal/socket", G_FILE_TEST_EXISTS))
		skip();
	text = capture_stderr(setup_journal);
	assert_true(ctf_log_to_journal());
	assert_non_null(strstr(text, "journald not running"));
	assert_non_null(strstr(text, "to the journal\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_messages_debug),
		cmocka_unit_test(test_bad_words),
		cmocka_unit_test(test_journal_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
