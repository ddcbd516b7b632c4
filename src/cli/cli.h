/*
 * Subcommands of the ctflow binary and the small terminal helpers they
 * share. Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration.
 */
#pragma once

#include <stdint.h>

#include <glib.h>

enum {
	CTF_EXIT_OK = 0,
	CTF_EXIT_FAILURE = 1,
	CTF_EXIT_USAGE = 2,
};

int ctf_cmd_convert(int argc, char **argv);
int ctf_cmd_run(int argc, char **argv);
int ctf_cmd_check(int argc, char **argv);
int ctf_cmd_health(int argc, char **argv);

/* Progress bar on stderr, drawn only when stderr is a terminal. */
struct ctf_progress;
typedef struct ctf_progress ctf_progress;

struct ctf_progress *ctf_progress_new(gboolean enabled);
/* Redraws at most every 200 ms. @fraction in [0,1] or negative if unknown. */
void ctf_progress_update(struct ctf_progress *p, double fraction, uint64_t packets,
			 uint64_t flows);
/* Erases the bar. */
void ctf_progress_free(struct ctf_progress *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_progress, ctf_progress_free)
