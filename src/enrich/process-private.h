/*
 * Inside the process enricher (include/ctflow/enrich-process.h): the
 * sock_diag side (process-diag.c: flow -> socket), the /proc side
 * (process-owners.c: socket -> pid, process-info.c: pid -> process),
 * joined by process.c. Not installed, not for other modules.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ctflow/enrich-process.h"
#include "ctflow/packet.h"

/* One receive buffer, shared by every namespace of an enricher: a dump
 * datagram holds at most 32 KiB. */
#define CTF_DIAG_BUF_SIZE (32u << 10)

/* ---- sock_diag and local addresses, per namespace (process-diag.c) -- */

struct ctf_diag_ns;

struct ctf_diag_query {
	uint8_t family;			/* 4 or 6, as struct ctf_ct_entry */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t lport;			/* host order */
	uint16_t rport;
	uint32_t ifindex;		/* 0, or the interface of a link-local
					 * local address */
	struct ctf_addr local;
	struct ctf_addr remote;
	bool want_info;			/* TCP: ask for tcp_info */
};

struct ctf_diag_sock {
	uint32_t inode;			/* 0: no struct socket (request, time-wait,
					 * not accepted yet, orphaned) */
	uint32_t uid;
	uint8_t state;			/* TCP_* of linux/tcp_states */
	bool remote_any;		/* a listener or unconnected UDP socket:
					 * not the flow's own socket */
	bool has_tcp_info;
	uint32_t rtt_us;		/* tcp_info.tcpi_rtt */
	uint32_t retrans;		/* tcp_info.tcpi_total_retrans */
};

/* Opens the sockets inside @netns (NULL: the current namespace). @buf is
 * CTF_DIAG_BUF_SIZE bytes the caller owns and keeps alive; @stats is
 * where requests and errors are counted. 0, -ENODEV when the namespace
 * cannot be entered, or another negative errno. */
int ctf_diag_ns_open(const char *netns, uint8_t *buf, struct ctf_proc_enricher_stats *stats,
		     struct ctf_diag_ns **ret);
void ctf_diag_ns_free(struct ctf_diag_ns *ns);
uint32_t ctf_diag_ns_ino(const struct ctf_diag_ns *ns);

/* Whether @addr (family 4 or 6) is an address the namespace receives for:
 * its own, loopback, multicast, broadcast. Re-reads the address list
 * first when the kernel announced a change. @ret_ifindex (may be NULL):
 * the interface of a link-local address, else 0. */
bool ctf_diag_ns_is_local(struct ctf_diag_ns *ns, uint8_t family, const struct ctf_addr *addr,
			  uint32_t *ret_ifindex);

/* Exact lookup (the kernel's receive-path lookup: a connected socket,
 * else a listener / a UDP socket bound to the port). @mapped asks as an
 * AF_INET6 socket with ::ffff:a.b.c.d for an IPv4 query. 0, -ENOENT,
 * or another negative errno. */
int ctf_diag_ns_find(struct ctf_diag_ns *ns, const struct ctf_diag_query *q, bool mapped,
		     struct ctf_diag_sock *ret);

/* UDP: dump the sockets bound to q->lport (both address families for
 * IPv4) and pick the best match for @q in user space. 0 or -ENOENT. */
int ctf_diag_ns_find_port(struct ctf_diag_ns *ns, const struct ctf_diag_query *q,
			  struct ctf_diag_sock *ret);

/* ---- /proc: inode -> pid (process-owners.c) ---------------------- */

struct ctf_proc_owners;

struct ctf_proc_owners *ctf_proc_owners_new(struct ctf_proc_enricher_stats *stats,
					    GError **error);
void ctf_proc_owners_free(struct ctf_proc_owners *o);

/* The /proc directory fd the owners read (valid until _free). */
int ctf_proc_owners_proc_fd(const struct ctf_proc_owners *o);

/* The pid holding socket @inode, a socket of network namespace
 * @netns_ino (whose processes are searched first). Before a full scan,
 * @still_held(@data) (may be NULL) says whether the socket is still held
 * by some process. 0; -EAGAIN when not found and a full scan is not
 * allowed yet; -ESRCH when the socket is no longer held or not found by a
 * full scan. */
int ctf_proc_owners_find(struct ctf_proc_owners *o, uint32_t inode, uint32_t netns_ino,
			 const struct ctf_proc_enricher_config *cfg,
			 bool (*still_held)(void *data), void *data, uint32_t *ret_pid);

uint32_t ctf_proc_owners_count(const struct ctf_proc_owners *o);

/* Start a new epoch: a link read (verified or scanned) in the current
 * epoch is trusted for the rest of it (see ctf_proc_enricher_begin_batch()). */
void ctf_proc_owners_new_epoch(struct ctf_proc_owners *o);

/* ---- /proc: pid -> process (process-info.c) ---------------------- */

/* comm, exe, uid (effective) and container_id of @pid, read under
 * @proc_fd; user and the tcp fields are left alone. 0 or -ESRCH when
 * the process is gone. */
int ctf_proc_read_info(int proc_fd, uint32_t pid, struct ctf_proc_info *ret);
