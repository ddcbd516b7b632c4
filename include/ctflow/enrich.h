/*
 * Enrichment results attached to a flow: which process owns its local
 * socket, which interfaces it crossed.
 *
 * Plain values (fixed-size, NUL-terminated UTF-8 strings) so they travel
 * between threads by copy. Empty string / 0 = unknown: a record never
 * says anything false.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ctf_proc_info {
	uint32_t pid;			/* 0 = unknown */
	uint32_t uid;			/* valid when pid != 0 */
	char comm[16];			/* /proc/PID/comm, sanitised UTF-8 */
	char exe[256];			/* /proc/PID/exe target, sanitised UTF-8 */
	char user[33];			/* user name of uid, or the number */
	char container_id[65];		/* from /proc/PID/cgroup, "" if none */
	uint32_t tcp_rtt_us;		/* tcp_info smoothed RTT, 0 = unknown */
	uint32_t tcp_retrans;		/* tcp_info total retransmissions */
};

struct ctf_if_info {
	uint32_t ingress_if;		/* ifindex, 0 = unknown */
	uint32_t egress_if;
	uint8_t ingress_src;		/* enum ctf_if_source */
	uint8_t egress_src;
};

enum ctf_if_source {
	CTF_IF_UNKNOWN = 0,
	CTF_IF_SAMPLED,			/* a captured packet of the flow said so */
	CTF_IF_ROUTE,			/* routing lookup */
};
