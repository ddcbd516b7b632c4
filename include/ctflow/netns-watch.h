/*
 * The namespace watcher of `netns = all`: which network namespaces exist
 * on the host, as they come and go.
 *
 * A namespace is followed while something other than ctflow refers to it:
 * a name under /run/netns (`ip netns add`, podman) or a process living in
 * it (/proc/PID/ns/net: containers, `unshare -n`). ctflow's own namespace
 * is always followed. /run/netns is watched with inotify; processes are
 * found by a scan every scan_s seconds, which also catches any missed
 * name. Namespaces are told apart by inode (all live on the one nsfs).
 *
 * ctflow's own references (this watcher's, the engine's sockets) keep a
 * namespace alive, so vanishing is decided by the scan of references, not
 * by the namespace dying. Where known, each namespace carries its
 * /run/netns name and the id of the container its processes belong to
 * (ctf_proc_container_id() on /proc/PID/cgroup). Container names are not
 * looked up: only the runtimes' own databases hold them.
 *
 * Owns one O_RDONLY reference per namespace it follows (not for ctflow's
 * own), through which the caller enters it. Single-threaded: everything
 * runs on the GMainContext given to ctf_netns_watch_attach().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

struct ctf_netns_info {
	uint32_t ino;			/* the records' netnsInode */
	const char *path;		/* enters it while followed: /proc/<ctflow>/fd/<N>,
					 * this watcher's reference; NULL for ctflow's
					 * own namespace */
	const char *name;		/* under /run/netns; NULL when none */
	const char *container_id;	/* 64 hex digits; NULL when none is known or its
					 * processes belong to several containers */
	const char *label;		/* for logs: the name, "container ID12", "pid N"
					 * or "host" */
};

struct ctf_netns_watch_ops {
	/* A namespace appeared (at attach: exists). @ns is valid during the
	 * call only. */
	void (*added)(void *userdata, const struct ctf_netns_info *ns);
	/* Nothing but ctflow refers to it any more; the watcher closes its
	 * reference after the call. */
	void (*removed)(void *userdata, const struct ctf_netns_info *ns);
	/* The set or a name or container id changed: the table
	 * ctf_netns_watch_names() returns is new. May be NULL. */
	void (*changed)(void *userdata);
};

struct ctf_netns_watch_config {
	unsigned scan_s;		/* process scan period, default 5 */
	const char *run_dir;		/* default /run/netns */
	unsigned max_netns;		/* followed at most (default 4096); more are
					 * counted and warned about, not followed */
};

struct ctf_netns_watch;
typedef struct ctf_netns_watch ctf_netns_watch;

void ctf_netns_watch_config_init(struct ctf_netns_watch_config *cfg);

/**
 * ctf_netns_watch_new - a watcher that reports through @ops
 *
 * Reports nothing before ctf_netns_watch_attach(). Returns NULL with an
 * error when ctflow's own namespace cannot be identified.
 */
struct ctf_netns_watch *ctf_netns_watch_new(const struct ctf_netns_watch_config *cfg,
					    const struct ctf_netns_watch_ops *ops,
					    void *userdata, GError **error);

/* Scan once now (every namespace found is reported as added), then watch
 * /run/netns and rescan every scan_s seconds on @ctx (NULL: default). */
void ctf_netns_watch_attach(struct ctf_netns_watch *w, GMainContext *ctx);

/* Scan now (also what the timer and inotify do). */
void ctf_netns_watch_scan(struct ctf_netns_watch *w);

/* Namespaces followed now. */
guint ctf_netns_watch_n(const struct ctf_netns_watch *w);

/* The names table for the exporter: a new GArray of struct ctf_netns_name
 * (export.h), one entry per followed namespace with a name or container
 * id. */
GArray *ctf_netns_watch_names(const struct ctf_netns_watch *w);

/* Stops watching and closes every reference; reports nothing. NULL ok. */
void ctf_netns_watch_free(struct ctf_netns_watch *w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_netns_watch, ctf_netns_watch_free)
