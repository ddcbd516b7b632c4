/*
 * The kernel around conntrack, per network namespace: entering a
 * namespace, the nf_conntrack sysctls, whether conntrack is tracking at
 * all, ctflow's own nftables tables (activation and notrack for the export
 * traffic) and the capabilities ctflow holds.
 *
 * Every function that takes @netns accepts NULL (the calling thread's
 * current namespace), a name under /run/netns, or a path containing '/'
 * such as /proc/PID/ns/net. Namespaces are entered with setns() in the
 * calling thread and left before returning, errors included; nft runs in
 * a child that enters the namespace itself. Nothing here keeps state
 * between calls: the caller remembers what it installed and removes it.
 *
 * Kernel facts these functions rely on (Linux 6.x):
 * - sysctls under /proc/sys/net belong to the namespace of the thread
 *   that opens the file, so they are read and written inside the scope;
 * - outside the initial namespace nf_conntrack_max is read-only and
 *   nf_conntrack_count always is; acct, timestamp and events are
 *   per namespace and writable with CAP_NET_ADMIN;
 * - since 4.14 conntrack registers its hooks in a namespace only while
 *   some rule (nftables `ct`, iptables -m conntrack/state, NAT) needs
 *   them, and per family: a rule in an `ip` table tracks IPv4 only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/packet.h"

/* ---- Namespaces ---------------------------------------------------- */

/* What ctf_netns_leave() needs to bring the thread back. */
struct ctf_netns_scope {
	int orig_fd;		/* -1: no switch was made */
};

/**
 * ctf_netns_enter - move the calling thread into a network namespace
 * @netns: see the file comment; NULL stays where the thread is
 * @ret_scope: filled on success, hand it to ctf_netns_leave()
 * @ret_ino: (optional) inode of the namespace now current
 *
 * Returns FALSE with an error naming the namespace when it does not exist
 * or entering it is refused (CAP_SYS_ADMIN is needed); the thread has not
 * moved then.
 */
gboolean ctf_netns_enter(const char *netns, struct ctf_netns_scope *ret_scope,
			 uint32_t *ret_ino, GError **error);

/**
 * ctf_netns_leave - return to the namespace of before ctf_netns_enter()
 *
 * Aborts the process if the kernel refuses: a thread silently left in
 * another namespace would open every later socket there.
 */
void ctf_netns_leave(struct ctf_netns_scope *scope);

/* Inode of @netns without entering it (the id records carry). */
gboolean ctf_netns_inode(const char *netns, uint32_t *ret_ino, GError **error);

/* ---- nf_conntrack sysctls ------------------------------------------ */

enum ctf_ct_sysctl {
	CTF_SYSCTL_ACCT,	/* nf_conntrack_acct: counters on new entries */
	CTF_SYSCTL_TIMESTAMP,	/* nf_conntrack_timestamp: start/stop on new entries */
	CTF_SYSCTL_EVENTS,	/* nf_conntrack_events: 0 off, 1 on, 2 auto (only
				 * entries created while a listener exists) */
	CTF_SYSCTL_MAX,		/* nf_conntrack_max */
	CTF_SYSCTL_COUNT,	/* nf_conntrack_count (read-only) */
	CTF_SYSCTL_N
};

/* "net.netfilter.nf_conntrack_acct" etc.; NULL for an invalid value. */
const char *ctf_ct_sysctl_name(enum ctf_ct_sysctl which);

struct ctf_ct_sysctls {
	int64_t value[CTF_SYSCTL_N];	/* -1 when it could not be read */
	int read_errno[CTF_SYSCTL_N];	/* 0, or why the read failed (ENOENT:
					 * conntrack not loaded) */
	bool writable[CTF_SYSCTL_N];	/* the file's mode allows writing in
					 * this namespace */
};

/**
 * ctf_ct_sysctls_read - read all of enum ctf_ct_sysctl in @netns
 *
 * Returns FALSE only when the namespace cannot be entered; a sysctl that
 * cannot be read is reported in @ret.
 */
gboolean ctf_ct_sysctls_read(const char *netns, struct ctf_ct_sysctls *ret, GError **error);

/**
 * ctf_ct_sysctl_write - set one sysctl in @netns
 *
 * acct and timestamp only apply to entries created afterwards. Returns
 * FALSE with an error naming the sysctl, the namespace and, for EPERM or
 * EACCES, that CAP_NET_ADMIN is needed or that the setting is read-only
 * in this namespace.
 */
gboolean ctf_ct_sysctl_write(const char *netns, enum ctf_ct_sysctl which, int64_t value,
			     GError **error);

/* ---- Is conntrack tracking? ---------------------------------------- */

enum ctf_ct_active {
	CTF_CT_ACTIVE_UNKNOWN = -1,	/* probe impossible (loopback down,
					 * IPv6 disabled, ...) */
	CTF_CT_ACTIVE_NO = 0,
	CTF_CT_ACTIVE_YES = 1,
};

struct ctf_ct_activity {
	int8_t ipv4;		/* enum ctf_ct_active */
	int8_t ipv6;
};

/**
 * ctf_ct_probe_active - whether conntrack creates entries in @netns
 *
 * The reliable signal: per family, send one UDP datagram over loopback
 * (127.0.0.1 / ::1, from one socket of the probe's own to another) and ask
 * ctnetlink for exactly that tuple; an entry means the hooks are in place.
 * The entry is then deleted. nf_conntrack_count is no signal (0 both when
 * untracked and when idle) and the hook list (NFNL_SUBSYS_HOOK) is not
 * built into every kernel. Side effect: event listeners in @netns see one
 * NEW and one DESTROY per active family. Needs CAP_NET_ADMIN.
 */
gboolean ctf_ct_probe_active(const char *netns, struct ctf_ct_activity *ret, GError **error);

/* ---- ctflow's nftables tables (run through `nft -f -`) -------------- */

#define CTF_NFT_ACTIVATE_TABLE "ctflow_activate"
#define CTF_NFT_NOTRACK_TABLE "ctflow_notrack"

/**
 * ctf_nft_activate_conntrack - make conntrack track in @netns
 *
 * (Re)creates `table inet ctflow_activate` with one `ct state new counter`
 * rule in an output and a prerouting chain (the latter skips loopback,
 * whose packets pass both hooks in state new) at priority 300 (after every
 * usual chain, so it never sees a packet before the user's own rules and
 * never changes a verdict). Any loaded `ct` expression makes the kernel
 * register conntrack's hooks for IPv4 and IPv6; the counters count the
 * entries created. Returns FALSE with nft's own message on failure.
 */
gboolean ctf_nft_activate_conntrack(const char *netns, GError **error);

/* Reads the two counters of the activation table (packets of `ct state
 * new` = entries created while it was loaded). */
gboolean ctf_nft_activate_counter(const char *netns, uint64_t *ret_new, GError **error);

/* A collector ctflow exports to: its traffic must not be tracked. */
struct ctf_notrack_target {
	struct ctf_addr addr;	/* IPv4 in b[0..3] */
	uint8_t family;		/* 4 or 6 */
	uint16_t port;		/* host order; TCP and UDP both */
};

/**
 * ctf_nft_notrack_install - exempt ctflow's export traffic from conntrack
 *
 * (Re)creates `table inet ctflow_notrack`: prerouting and output chains at
 * priority -300 (before conntrack at -200) with a `notrack` rule for each
 * direction of each target. Installed in the namespace ctflow exports
 * from, so ctflow never reports its own export. Zero targets: FALSE.
 */
gboolean ctf_nft_notrack_install(const char *netns, const struct ctf_notrack_target *targets,
				 size_t n, GError **error);

/* Delete ctflow's table @table (CTF_NFT_*_TABLE) from @netns; a table
 * that is not there is no error. */
gboolean ctf_nft_table_remove(const char *netns, const char *table, GError **error);

struct mnl_socket;

/**
 * ctf_nft_socket_open - an nftables netlink socket bound in @netns
 *
 * For removing ctflow's tables later with ctf_nft_table_remove_on(): the
 * socket stays in the namespace it was opened in, so the removal needs
 * neither setns() (CAP_SYS_ADMIN) nor running nft (whose capabilities a
 * process that switched users no longer passes on), only CAP_NET_ADMIN.
 * NULL with an error when it cannot be opened; close with
 * mnl_socket_close().
 */
struct mnl_socket *ctf_nft_socket_open(const char *netns, GError **error);

/* Delete ctflow's table inet @table through @nl (from
 * ctf_nft_socket_open()); a table that is not there is no error. */
gboolean ctf_nft_table_remove_on(struct mnl_socket *nl, const char *table, GError **error);

/* ---- Capabilities -------------------------------------------------- */

/**
 * ctf_caps_effective - the effective capability set (CapEff in
 * /proc/self/status) as a bit mask: bit N is capability N.
 */
gboolean ctf_caps_effective(uint64_t *ret_caps, GError **error);

static inline bool ctf_caps_has(uint64_t caps, int cap)
{
	return cap >= 0 && cap < 64 && (caps >> cap & 1);
}

/* ---- `ctflow check` -------------------------------------------------- */

enum ctf_check_status {
	CTF_CHECK_OK,
	CTF_CHECK_WARN,		/* works, but something is lost or degraded */
	CTF_CHECK_FAIL,		/* ctflow cannot do its job until fixed */
};

struct ctf_check_item {
	char *what;		/* "net.netfilter.nf_conntrack_acct", "CAP_NET_ADMIN",
				 * "conntrack active (IPv4)" */
	char *value;		/* "1", "held", "missing", "yes", "unreadable" */
	enum ctf_check_status status;
	char *advice;		/* what to do; NULL when nothing is needed */
};

void ctf_check_item_free(struct ctf_check_item *item);

/**
 * ctf_kernel_check - every setting and capability ctflow depends on
 * @netns: the namespace whose conntrack is checked
 * @probe: also run ctf_ct_probe_active() (creates and deletes one entry
 *         per family)
 *
 * Returns an array of struct ctf_check_item* that owns its items, in a
 * stable order: capabilities, then sysctls, then activity. NULL with an
 * error only when @netns cannot be entered.
 */
GPtrArray *ctf_kernel_check(const char *netns, bool probe, GError **error);

/* The worst status in @items (CTF_CHECK_OK for none). */
enum ctf_check_status ctf_kernel_check_worst(const GPtrArray *items);
