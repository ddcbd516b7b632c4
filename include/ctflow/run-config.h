/*
 * Configuration of `ctflow run`: defaults, the GKeyFile config file and
 * command-line overrides, validated into one struct.
 *
 * Every option has one descriptor (group, key, type, help) used both for
 * the file and for the command line, so the two cannot drift apart.
 * Errors name the file, the line, the key and what is accepted.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/export.h"

struct ctf_run_config {
	/* [export] */
	char **collectors;		/* URLs; none: the view on stdout */
	char *format;			/* text | json (view when no collector) */
	struct ctf_export_config export;
	/* [conntrack] */
	char **netns;			/* names or paths, or "all"; none: the current one */
	unsigned netns_scan_s;		/* netns = all: rescan period (default 5) */
	unsigned active_timeout_s;	/* interim records and dumps (default 60) */
	size_t rcvbuf;			/* bytes (default 64 MiB) */
	bool reliable;			/* kernel reliable delivery (default off) */
	size_t max_flows;		/* default 1,000,000 */
	bool set_sysctls;		/* enable acct/timestamp (default on) */
	bool activate;			/* nft table when conntrack is idle (default on) */
	/* [enrich] */
	bool enrich_process;		/* owner of the local socket (default on) */
	bool enrich_interfaces;		/* ingress/egress interfaces (default on) */
	bool sampling;			/* packet samples for interfaces (default on) */
	unsigned sample_every;		/* 1-in-N packets besides SYNs (default 64) */
	unsigned snaplen;		/* bytes per sample (default 128) */
	char **capture_interfaces;	/* sample only these; none = all */
	/* [daemon] */
	char *user;			/* drop to this user when started as root */
	char *log_level;		/* error|warning|message|info|debug */
	char *log_target;		/* auto|stderr|journal */
	char *metrics;			/* ADDR:PORT of the Prometheus endpoint, NULL: off */
	/* [filter] */
	char **protos;
	char **cidrs;
	char **zones;
	char **marks;
};

void ctf_run_config_init(struct ctf_run_config *cfg);

/* The option table, for documentation checks: @i from 0 to n_keys - 1. */
size_t ctf_run_config_n_keys(void);
void ctf_run_config_key(size_t i, const char **ret_group, const char **ret_key);
void ctf_run_config_clear(struct ctf_run_config *cfg);

/* netns = all: follow every network namespace (then the only value). */
bool ctf_run_config_netns_all(const struct ctf_run_config *cfg);

/**
 * ctf_run_config_load - defaults, then @path (may be NULL), then @argv
 *
 * Consumes the options it knows from @argc/@argv (GOptionContext);
 * @ret_config_path gets the -c value. Returns FALSE with CTF_ERROR_USAGE
 * naming what is wrong. --help prints and exits 0.
 */
gboolean ctf_run_config_load(struct ctf_run_config *cfg, int *argc, char ***argv,
			     char **ret_config_path, GError **error);

/* SIGHUP: load a fresh configuration from the original @argv (the file
 * again, then the same overrides) into @ret_fresh, which is cleared on
 * error. */
gboolean ctf_run_config_reload(struct ctf_run_config *ret_fresh, char **argv, GError **error);
