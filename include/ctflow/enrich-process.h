/*
 * Process enricher: which local process owns the socket of a conntrack
 * flow, looked up while the flow is new.
 *
 * A lookup runs in three steps, each with a cache:
 *
 *   1. socket: NETLINK_SOCK_DIAG (inet_diag) finds the socket by the
 *      flow's tuple inside the flow's network namespace, trying the
 *      initiator (original tuple's source is local) and then the responder
 *      (reply tuple's source is local). Only addresses the namespace owns
 *      are tried, so a forwarded flow costs no kernel round trip and a
 *      wildcard socket (*:53) is never blamed for a flow merely passing
 *      through. An incoming TCP connection not accepted yet (or accepted
 *      and closed already, or whose holder is not found at once) is
 *      attributed to the process that listens. Gives the socket inode,
 *      uid and tcp_info.
 *   2. inode -> pid: the /proc/PID/fd/N symlinks ("socket:[INODE]"), cached
 *      and verified on every use. A miss looks where a new socket most
 *      likely is, cheapest first: the processes that started in the last
 *      100 ms; the pids /proc lists that it did not list before (only
 *      when /proc/loadavg says a pid was created since); then, if the
 *      socket still has an owner at all, the candidates (processes born
 *      or found owning a socket in the last 5 s: those in the socket's
 *      namespace that have run since their last scan first); at last, at
 *      most once per full_scan_interval_ms, all of /proc. Processes with
 *      more than 4096 fds are only found by a full scan.
 *   3. pid -> process: comm, exe, effective uid and its user name, and the
 *      container id from /proc/PID/cgroup; cached for pid_ttl_ms.
 *
 * pids are those of the pid namespace of the /proc ctflow sees (the host's
 * when ctflow runs on the host, also for processes in containers). A
 * socket shared by several processes (inherited, passed) is attributed to
 * one of them, the lowest pid a full scan found or the first found since.
 *
 * Cost (2-core VM, 250 processes): a forwarded flow ~2 µs (no kernel
 * round trip); a flow whose socket and process are cached ~13 µs; a new
 * socket of a known process ~0.1-1 ms (rescanning fds at ~3 µs each); a
 * full scan ~3 µs per open fd on the host. ctf_proc_enricher_stats counts
 * each outcome and the time spent reading /proc.
 *
 * Not thread-safe: one enricher belongs to one thread (the enrichment
 * thread); the thread briefly enters a network namespace the first time
 * it is named, to open that namespace's sockets. sock_diag needs no
 * capability; entering other namespaces needs CAP_SYS_ADMIN, reading
 * other users' /proc/PID/fd CAP_DAC_READ_SEARCH (the directory is theirs,
 * mode 0500) and CAP_SYS_PTRACE (each link), their exe CAP_SYS_PTRACE.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/ct-entry.h"
#include "ctflow/enrich.h"

struct ctf_proc_enricher_config {
	unsigned full_scan_interval_ms;	/* least time between two full /proc
					 * scans; default 100 */
	unsigned new_pid_scan_interval_ms; /* ... between two listings of
					 * /proc for new pids; default 2 */
	unsigned pid_ttl_ms;		/* pid -> process info is reused this
					 * long (pids are reused); default 1000 */
	unsigned max_netns;		/* namespaces with open sockets; the
					 * least recently used is closed beyond
					 * it; default 64 */
	bool udp_port_dump;		/* UDP: when the exact lookups fail on a
					 * local address, dump the sockets bound
					 * to the local port (finds sockets bound
					 * to a device; not again for a port that
					 * had none within a second, at most 100
					 * a second); default true */
};

struct ctf_proc_enricher_stats {
	uint64_t lookups;		/* ctf_proc_enricher_lookup() calls */
	uint64_t hits;			/* ... that returned 0 */
	uint64_t not_local;		/* -ENOENT: no address of the flow is local */
	uint64_t no_socket;		/* -ENOENT: local, but no socket (closed, or
					 * nothing listens) */
	uint64_t no_owner;		/* -ESRCH: a socket no process holds (closed
					 * by its program, not accepted) */
	uint64_t pending;		/* -EAGAIN: owner not found yet, full scan
					 * rate-limited */
	uint64_t unsupported;		/* -EPROTONOSUPPORT: not TCP or UDP */
	uint64_t errors;		/* other negative returns */
	uint64_t refreshes;		/* ctf_proc_enricher_refresh_tcp() calls */
	uint64_t sock_diag_requests;	/* netlink round trips */
	uint64_t sock_diag_errors;	/* failed round trips (not "no socket") */
	uint64_t addr_dumps;		/* local address lists (re)read */
	uint64_t proc_scans;		/* full /proc scans */
	uint64_t proc_scans_new;	/* scans of pids not seen before */
	uint64_t proc_scan_us;		/* time spent reading /proc/PID/fd: the
					 * enricher's main cost */
	uint64_t proc_fd_denied;	/* /proc/PID/fd directories we could not read */
	uint64_t owner_reuses;		/* inode -> pid answers already verified in
					 * this batch (no /proc read) */
	uint64_t port_dump_skips;	/* UDP port dumps skipped: the port had no
					 * socket a moment ago, or 100 were made
					 * in the last second */
	uint32_t netns_open;		/* namespaces with open sockets now */
	uint32_t inodes_cached;		/* inode -> pid entries now */
	uint32_t pids_cached;		/* pid -> process entries now */
};

struct ctf_proc_enricher;
typedef struct ctf_proc_enricher ctf_proc_enricher;

void ctf_proc_enricher_config_init(struct ctf_proc_enricher_config *cfg);

/**
 * ctf_proc_enricher_new - create an enricher
 * @cfg: NULL for the defaults of ctf_proc_enricher_config_init()
 *
 * Opens /proc and reads it once (the first inode -> pid map). Returns NULL
 * with an error when /proc cannot be read.
 */
struct ctf_proc_enricher *ctf_proc_enricher_new(const struct ctf_proc_enricher_config *cfg,
						GError **error);

/* Closes every namespace's sockets and frees the caches; accepts NULL. */
void ctf_proc_enricher_free(struct ctf_proc_enricher *pe);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_proc_enricher, ctf_proc_enricher_free)

/**
 * ctf_proc_enricher_lookup - the process that owns the local socket of @e
 * @netns: the flow's namespace: NULL for the one the calling thread was in
 *         when it first passed NULL, a name under /run/netns, or a path
 *         such as /proc/PID/ns/net (see kernel-settings.h)
 * @e: a TCP or UDP entry; meant for NEW events (later, the socket may be
 *     gone)
 * @ret: cleared, then filled on success; tcp_rtt_us/tcp_retrans are set
 *       when the flow's own TCP socket was found
 *
 * Call it as soon as the NEW event arrives: a program that connects, sends
 * and closes is gone within a millisecond. When both ends are local
 * (loopback), the initiator wins. Returns 0,
 * -ENOENT when no socket of the flow exists in @netns (forwarded flow, no
 * listener, or already closed), -ESRCH when its socket is held by no
 * process (closed by its program), -EAGAIN when the owner was not found
 * in /proc and a full scan is not allowed yet (retrying after
 * full_scan_interval_ms may succeed), -EPROTONOSUPPORT for protocols other
 * than TCP and UDP, -ENODEV when @netns cannot be entered, -EINVAL for
 * invalid arguments, another negative errno when sock_diag fails.
 */
int ctf_proc_enricher_lookup(struct ctf_proc_enricher *pe, const char *netns,
			     const struct ctf_ct_entry *e, struct ctf_proc_info *ret);

/**
 * ctf_proc_enricher_refresh_tcp - current RTT and retransmissions of a TCP flow
 *
 * Updates only @ret->tcp_rtt_us and @ret->tcp_retrans, from the flow's own
 * socket (never a listener). Meant for export time. Returns 0, -ENOENT
 * when the socket is gone or not local (@ret unchanged), or the errors of
 * ctf_proc_enricher_lookup().
 */
int ctf_proc_enricher_refresh_tcp(struct ctf_proc_enricher *pe, const char *netns,
				  const struct ctf_ct_entry *e, struct ctf_proc_info *ret);

/**
 * ctf_proc_enricher_begin_batch - the lookups that follow are for flows
 * whose NEW events were all read before this call
 *
 * Within a batch an owner (socket inode -> pid) verified once in /proc is
 * not verified again: that read came after every event of the batch, which
 * is all that reading again for each lookup would prove. A burst of flows
 * from one socket then costs one /proc read instead of one per flow. An
 * enricher never told verifies every lookup.
 */
void ctf_proc_enricher_begin_batch(struct ctf_proc_enricher *pe);

/* Close the sockets of @netns (NULL: the current one), e.g. when ctflow
 * stops watching it; a namespace deleted and re-created under the same
 * name is also noticed by the enricher within a second. */
void ctf_proc_enricher_forget_netns(struct ctf_proc_enricher *pe, const char *netns);

/* Open the sockets of @netns now rather than at its first lookup:
 * entering a namespace needs CAP_SYS_ADMIN, which ctflow may not keep
 * after start-up (privdrop.h). 0 or a negative errno (-ENODEV: it cannot
 * be entered). */
int ctf_proc_enricher_open_netns(struct ctf_proc_enricher *pe, const char *netns);

void ctf_proc_enricher_get_stats(const struct ctf_proc_enricher *pe,
				 struct ctf_proc_enricher_stats *ret);

/* ---- Helpers, exposed for the unit tests ---------------------------- */

/**
 * ctf_proc_utf8_copy - copy @len bytes of @src as valid UTF-8
 *
 * Each invalid byte (and NUL) becomes U+FFFD. Copies whole characters
 * only and always NUL-terminates @dst (when @size > 0). Returns the length
 * the whole sanitised string needs, not counting the NUL, like snprintf():
 * a result >= @size means @dst holds a truncated copy.
 */
size_t ctf_proc_utf8_copy(char *dst, size_t size, const char *src, size_t len);

/**
 * ctf_proc_container_id - the container id in /proc/PID/cgroup text
 * @cgroup: the file's content (@len bytes, need not be NUL-terminated)
 * @ret: 64 lowercase hex digits and a NUL, or "" when none
 *
 * Knows docker-<id>.scope, /docker/<id>, cri-containerd-<id>.scope,
 * crio-<id>[.scope], libpod-<id>[.scope] and Kubernetes' pod<uid>/<id>; the
 * deepest match of the first line that has one wins. Container monitors
 * (crio-conmon-, libpod-conmon-) are not in the container. Returns whether
 * an id was found.
 */
bool ctf_proc_container_id(const char *cgroup, size_t len, char ret[65]);

/**
 * ctf_proc_user_name - the user name of @uid, or the number as a string
 *
 * The number also stands in when the name does not fit @ret (a truncated
 * name could be someone else's). Uses getpwuid_r(), which may consult NSS.
 */
void ctf_proc_user_name(uint32_t uid, char ret[33]);
