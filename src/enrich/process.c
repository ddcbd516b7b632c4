/*
 * Process enricher (see include/ctflow/enrich-process.h): joins the
 * sock_diag side (process-diag.c: flow -> socket inode, per namespace)
 * and the /proc side (process-owners.c: inode -> pid, process-info.c:
 * pid -> process), and owns the caches between them: namespaces with open
 * sockets, pid -> process info with a TTL, uid -> user name. Decides which
 * end of a flow is local and what a found socket means; counts every
 * outcome.
 *
 * It does not queue, retry or run threads: the caller decides when to
 * look up (at NEW) and whether to retry an -EAGAIN.
 */
#define G_LOG_DOMAIN "ctflow-enrich"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"
#include "process-private.h"

#define MAX_PIDS 4096		/* pid -> info entries */
#define MAX_USERS 1024		/* uid -> name entries */
#define NETNS_RECHECK_US (1000 * 1000)	/* is the name still the same namespace? */

#ifndef TCP_LISTEN
#define TCP_LISTEN 10
#endif

struct ns_entry {
	struct ctf_diag_ns *diag;
	int64_t checked_us;		/* last time the name was resolved again */
	int64_t used_us;		/* for closing the least recently used */
};

struct pid_entry {
	struct ctf_proc_info info;	/* without the tcp fields */
	int64_t expires_us;
};

/*
 * Unconnected UDP sockets (a resolver, a statsd client, a DNS server)
 * make a new conntrack entry per peer, all owned by one socket: remember
 * the socket by its local endpoint for a moment instead of asking
 * sock_diag again for every new peer. Connected sockets and TCP are per
 * flow and never cached. The short life bounds the only risk, a port
 * closed and bound again by another program within it.
 */
#define UDP_CACHE_US (1000 * 1000)
#define UDP_CACHE_MAX 4096
#define PORT_DUMPS_PER_S 100	/* UDP port dumps at most, per second */

struct udp_key {
	struct ctf_addr local;
	uint32_t netns;
	uint16_t lport;
	uint8_t family;
	uint8_t pad;
};

struct udp_entry {
	struct udp_key key;
	struct ctf_diag_sock sock;
	int64_t expires_us;
};

static guint udp_key_hash(gconstpointer p)
{
	const struct udp_key *k = p;
	guint h = k->netns ^ ((guint)k->lport << 16) ^ k->family;

	for (size_t i = 0; i < 16; i += 4) {
		uint32_t a;

		memcpy(&a, k->local.b + i, 4);
		h = (h ^ a) * 16777619u;
	}
	return h;
}

static gboolean udp_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct udp_key)) == 0;
}


struct ctf_proc_enricher {
	struct ctf_proc_enricher_config cfg;
	struct ctf_proc_owners *owners;
	GHashTable *netns;		/* name ("" = current) -> struct ns_entry* */
	GHashTable *pids;		/* pid -> struct pid_entry* */
	GHashTable *users;		/* uid -> char[33] */
	GHashTable *udp;		/* struct udp_key* -> struct udp_entry* */
	GHashTable *no_port;		/* struct udp_key* (local 0) -> struct udp_entry*:
					 * ports a dump found no socket on */
	int64_t port_dumps_since_us;	/* the current second of port dumps ... */
	unsigned port_dumps;		/* ... and how many it had */
	struct ctf_proc_enricher_stats stats;
	uint8_t *buf;			/* CTF_DIAG_BUF_SIZE, lent to every namespace */
};

/* What the socket side found for a flow. */
enum sock_outcome {
	SOCK_FOUND,			/* an owned socket: look for its process */
	SOCK_NOT_LOCAL,			/* no end of the flow is local */
	SOCK_NONE,			/* local, but no socket */
	SOCK_ORPHAN,			/* a socket without struct socket */
};

struct sock_result {
	struct ctf_diag_sock own;	/* the flow's own socket (tcp_info) */
	uint32_t inode;			/* the socket whose owner we want: own,
					 * or the listener that will accept it */
	uint32_t uid;
	bool accepted;			/* own is an accepted TCP socket: its
					 * listener may stand in for it */
	struct ctf_diag_query q;	/* the query that found own */
	bool cached;			/* own came from the UDP socket cache */
};

void ctf_proc_enricher_config_init(struct ctf_proc_enricher_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->full_scan_interval_ms = 100;
	cfg->new_pid_scan_interval_ms = 2;
	cfg->pid_ttl_ms = 1000;
	cfg->max_netns = 64;
	cfg->udp_port_dump = true;
}

static void ns_entry_free(gpointer p)
{
	struct ns_entry *n = p;

	ctf_diag_ns_free(n->diag);
	g_free(n);
}

struct ctf_proc_enricher *ctf_proc_enricher_new(const struct ctf_proc_enricher_config *cfg,
						GError **error)
{
	g_autoptr(ctf_proc_enricher) pe = g_new0(struct ctf_proc_enricher, 1);

	if (cfg)
		pe->cfg = *cfg;
	else
		ctf_proc_enricher_config_init(&pe->cfg);
	if (pe->cfg.max_netns == 0)
		pe->cfg.max_netns = 1;
	pe->netns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ns_entry_free);
	pe->pids = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	pe->users = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	pe->udp = g_hash_table_new_full(udp_key_hash, udp_key_equal, NULL, g_free);
	pe->no_port = g_hash_table_new_full(udp_key_hash, udp_key_equal, NULL, g_free);
	pe->buf = g_malloc(CTF_DIAG_BUF_SIZE);
	pe->owners = ctf_proc_owners_new(&pe->stats, error);
	if (!pe->owners)
		return NULL;
	return g_steal_pointer(&pe);
}

void ctf_proc_enricher_free(struct ctf_proc_enricher *pe)
{
	if (!pe)
		return;
	if (pe->netns)
		g_hash_table_destroy(pe->netns);
	if (pe->pids)
		g_hash_table_destroy(pe->pids);
	if (pe->users)
		g_hash_table_destroy(pe->users);
	if (pe->udp)
		g_hash_table_destroy(pe->udp);
	if (pe->no_port)
		g_hash_table_destroy(pe->no_port);
	ctf_proc_owners_free(pe->owners);
	g_free(pe->buf);
	g_free(pe);
}

/* ---- namespaces ---------------------------------------------------------- */

static void evict_lru_netns(struct ctf_proc_enricher *pe)
{
	GHashTableIter it;
	gpointer key, value, oldest = NULL;
	int64_t oldest_us = INT64_MAX;

	g_hash_table_iter_init(&it, pe->netns);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct ns_entry *n = value;

		if (n->used_us < oldest_us) {
			oldest_us = n->used_us;
			oldest = key;
		}
	}
	if (oldest)
		g_hash_table_remove(pe->netns, oldest);
}

/* The sockets of @netns, opened on first use. A name that now resolves to
 * another namespace (deleted and re-created) is reopened; until then the
 * old sockets only see the dead namespace, which says "no socket", never
 * something false. */
static int get_netns(struct ctf_proc_enricher *pe, const char *netns, struct ctf_diag_ns **ret)
{
	const char *key = netns ? netns : "";
	struct ns_entry *n = g_hash_table_lookup(pe->netns, key);
	int64_t now = g_get_monotonic_time();
	uint32_t ino;
	int r;

	if (n && netns && now - n->checked_us >= NETNS_RECHECK_US) {
		n->checked_us = now;
		if (!ctf_netns_inode(netns, &ino, NULL) || ino != ctf_diag_ns_ino(n->diag)) {
			g_hash_table_remove(pe->netns, key);
			n = NULL;
		}
	}
	if (!n) {
		struct ctf_diag_ns *diag;

		if (g_hash_table_size(pe->netns) >= pe->cfg.max_netns)
			evict_lru_netns(pe);
		r = ctf_diag_ns_open(netns, pe->buf, &pe->stats, &diag);
		if (r < 0)
			return r;
		n = g_new0(struct ns_entry, 1);
		n->diag = diag;
		n->checked_us = now;
		g_hash_table_insert(pe->netns, g_strdup(key), n);
	}
	n->used_us = now;
	*ret = n->diag;
	return 0;
}

void ctf_proc_enricher_forget_netns(struct ctf_proc_enricher *pe, const char *netns)
{
	if (pe)
		g_hash_table_remove(pe->netns, netns ? netns : "");
}

int ctf_proc_enricher_open_netns(struct ctf_proc_enricher *pe, const char *netns)
{
	struct ctf_diag_ns *diag;

	g_return_val_if_fail(pe != NULL, -EINVAL);
	return get_netns(pe, netns, &diag);
}

/* ---- flow -> socket ------------------------------------------------------- */

/* The query for one end of @e: @reply selects the responder's view (the
 * reply tuple's source is the local end), else the initiator's. */
static void query_for(const struct ctf_ct_entry *e, bool reply, bool want_info,
		      struct ctf_diag_query *q)
{
	const struct ctf_ct_tuple *t = reply ? &e->reply : &e->orig;

	memset(q, 0, sizeof(*q));
	q->family = e->family;
	q->proto = e->orig.proto;
	q->local = t->src;
	q->lport = t->sport;
	q->remote = t->dst;
	q->rport = t->dport;
	q->want_info = want_info;
}

/* The UDP port dump, unless it found nothing on this port a moment ago or
 * PORT_DUMPS_PER_S were made in the last second: a dump walks the kernel's
 * whole UDP table (tens of µs), and the flows of a socket that is gone (a
 * client that sent and closed, a burst from a program that exited, each
 * flow to another port) would each ask again. It only finds what the
 * exact lookups cannot (sockets bound to a device), so a socket bound
 * meanwhile is at worst missed for a moment, never mistaken. */
static int find_port(struct ctf_proc_enricher *pe, struct ctf_diag_ns *ns,
		     const struct ctf_diag_query *q, struct ctf_diag_sock *s)
{
	int64_t now = g_get_monotonic_time();
	struct udp_entry *u;
	struct udp_key k;
	int r;

	memset(&k, 0, sizeof(k));
	k.netns = ctf_diag_ns_ino(ns);
	k.lport = q->lport;
	k.family = q->family;
	u = g_hash_table_lookup(pe->no_port, &k);
	if (now - pe->port_dumps_since_us >= G_USEC_PER_SEC) {
		pe->port_dumps_since_us = now;
		pe->port_dumps = 0;
	}
	if ((u && u->expires_us >= now) || pe->port_dumps >= PORT_DUMPS_PER_S) {
		pe->stats.port_dump_skips++;
		return -ENOENT;
	}
	pe->port_dumps++;
	r = ctf_diag_ns_find_port(ns, q, s);
	if (r != -ENOENT)
		return r;
	if (g_hash_table_size(pe->no_port) >= UDP_CACHE_MAX)
		g_hash_table_remove_all(pe->no_port);	/* rare: simplest bound */
	u = g_new0(struct udp_entry, 1);
	u->key = k;
	u->expires_us = now + UDP_CACHE_US;
	g_hash_table_replace(pe->no_port, &u->key, u);
	return r;
}

/* Exact lookup, then for UDP the v4-mapped and the port-dump fallbacks. */
static int find_exact(struct ctf_proc_enricher *pe, struct ctf_diag_ns *ns,
		      const struct ctf_diag_query *q, bool responder, struct ctf_diag_sock *s)
{
	int r = ctf_diag_ns_find(ns, q, false, s);

	/* A TCP lookup falls back to a listener on the port; the initiator's
	 * socket is never one (its own socket is gone). */
	if (r == 0 && q->proto == IPPROTO_TCP && s->state == TCP_LISTEN && !responder)
		return -ENOENT;
	if (r != -ENOENT || q->proto != IPPROTO_UDP)
		return r;
	if (q->family == 4) {
		r = ctf_diag_ns_find(ns, q, true, s);
		if (r != -ENOENT)
			return r;
	}
	return pe->cfg.udp_port_dump ? find_port(pe, ns, q, s) : -ENOENT;
}

/* An incoming TCP connection whose socket has no owner yet (a request
 * socket, or waiting in the accept queue) belongs to the process that
 * listens: look the listener up with a wildcard remote end. */
static bool find_listener(struct ctf_diag_ns *ns, const struct ctf_diag_query *q,
			  struct sock_result *res)
{
	struct ctf_diag_query lq = *q;
	struct ctf_diag_sock l;

	memset(&lq.remote, 0, sizeof(lq.remote));
	lq.rport = 0;
	lq.want_info = false;
	if (ctf_diag_ns_find(ns, &lq, false, &l) < 0 || l.state != TCP_LISTEN || !l.inode)
		return false;
	res->inode = l.inode;
	res->uid = l.uid;
	return true;
}

static void udp_key_of(struct ctf_diag_ns *ns, const struct ctf_diag_query *q, struct udp_key *k)
{
	memset(k, 0, sizeof(*k));
	k->local = q->local;
	k->netns = ctf_diag_ns_ino(ns);
	k->lport = q->lport;
	k->family = q->family;
}

static bool udp_cached(struct ctf_proc_enricher *pe, struct ctf_diag_ns *ns,
		       const struct ctf_diag_query *q, struct ctf_diag_sock *ret)
{
	struct udp_key k;
	struct udp_entry *u;

	if (q->proto != IPPROTO_UDP)
		return false;
	udp_key_of(ns, q, &k);
	u = g_hash_table_lookup(pe->udp, &k);
	if (!u || u->expires_us < g_get_monotonic_time())
		return false;
	*ret = u->sock;
	return true;
}

static void udp_remember(struct ctf_proc_enricher *pe, struct ctf_diag_ns *ns,
			 const struct ctf_diag_query *q, const struct ctf_diag_sock *sock)
{
	struct udp_entry *u;

	if (q->proto != IPPROTO_UDP || !sock->remote_any || !sock->inode)
		return;
	if (g_hash_table_size(pe->udp) >= UDP_CACHE_MAX)
		g_hash_table_remove_all(pe->udp);	/* rare: simplest bound */
	u = g_new0(struct udp_entry, 1);
	udp_key_of(ns, q, &u->key);
	u->sock = *sock;
	u->expires_us = g_get_monotonic_time() + UDP_CACHE_US;
	g_hash_table_replace(pe->udp, &u->key, u);
}

static void udp_forget(struct ctf_proc_enricher *pe, struct ctf_diag_ns *ns,
		       const struct ctf_diag_query *q)
{
	struct udp_key k;

	udp_key_of(ns, q, &k);
	g_hash_table_remove(pe->udp, &k);
}

static enum sock_outcome find_socket(struct ctf_proc_enricher *pe, struct ctf_diag_ns *ns,
				     const struct ctf_ct_entry *e, bool use_cache,
				     struct sock_result *res, int *ret_err)
{
	bool any_local = false, any_socket = false;

	for (int reply = 0; reply < 2; reply++) {
		struct ctf_diag_query q;
		int r;

		query_for(e, reply, true, &q);
		if (!ctf_diag_ns_is_local(ns, q.family, &q.local, &q.ifindex))
			continue;
		any_local = true;
		if (use_cache && udp_cached(pe, ns, &q, &res->own)) {
			r = 0;
			res->cached = true;
		} else {
			r = find_exact(pe, ns, &q, reply, &res->own);
			if (r == 0)
				udp_remember(pe, ns, &q, &res->own);
		}
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			*ret_err = r;
			return SOCK_NONE;
		}
		any_socket = true;
		res->inode = res->own.inode;
		res->uid = res->own.uid;
		res->q = q;
		res->accepted = reply && q.proto == IPPROTO_TCP && !res->own.remote_any;
		if (res->inode)
			return SOCK_FOUND;
		if (reply && q.proto == IPPROTO_TCP && find_listener(ns, &q, res))
			return SOCK_FOUND;
	}
	if (!any_local)
		return SOCK_NOT_LOCAL;
	return any_socket ? SOCK_ORPHAN : SOCK_NONE;
}

/* ---- pid -> process ------------------------------------------------------- */

static void user_name_cached(struct ctf_proc_enricher *pe, uint32_t uid, char ret[33])
{
	char *name = g_hash_table_lookup(pe->users, GUINT_TO_POINTER(uid));

	if (!name) {
		if (g_hash_table_size(pe->users) >= MAX_USERS)
			g_hash_table_remove_all(pe->users);
		name = g_malloc(33);
		ctf_proc_user_name(uid, name);
		g_hash_table_insert(pe->users, GUINT_TO_POINTER(uid), name);
	}
	memcpy(ret, name, 33);
}

static gboolean pid_expired(gpointer key, gpointer value, gpointer now)
{
	return ((struct pid_entry *)value)->expires_us <= *(int64_t *)now;
}

/* Process info of @pid, from the cache while it is fresh. @sock_uid
 * stands in when the process's own uid cannot be read. */
static int pid_info(struct ctf_proc_enricher *pe, uint32_t pid, uint32_t sock_uid,
		    struct ctf_proc_info *ret)
{
	struct pid_entry *p = g_hash_table_lookup(pe->pids, GUINT_TO_POINTER(pid));
	int64_t now = g_get_monotonic_time();
	int r;

	if (p && p->expires_us > now) {
		*ret = p->info;
		return 0;
	}
	memset(ret, 0, sizeof(*ret));
	ret->uid = sock_uid;
	r = ctf_proc_read_info(ctf_proc_owners_proc_fd(pe->owners), pid, ret);
	if (r < 0) {
		g_hash_table_remove(pe->pids, GUINT_TO_POINTER(pid));
		return r;
	}
	user_name_cached(pe, ret->uid, ret->user);
	if (!p) {
		if (g_hash_table_size(pe->pids) >= MAX_PIDS)
			g_hash_table_foreach_remove(pe->pids, pid_expired, &now);
		if (g_hash_table_size(pe->pids) >= MAX_PIDS)
			g_hash_table_remove_all(pe->pids);
		p = g_new0(struct pid_entry, 1);
		g_hash_table_insert(pe->pids, GUINT_TO_POINTER(pid), p);
	}
	p->info = *ret;
	p->expires_us = now + (int64_t)pe->cfg.pid_ttl_ms * 1000;
	return 0;
}

/* ---- lookups ---------------------------------------------------------------- */

static int check_args(struct ctf_proc_enricher *pe, const struct ctf_ct_entry *e,
		      struct ctf_proc_info *ret)
{
	if (!pe || !e || !ret || (e->family != 4 && e->family != 6))
		return -EINVAL;
	if (e->orig.proto != IPPROTO_TCP && e->orig.proto != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	return 0;
}

struct held_check {
	struct ctf_proc_enricher *pe;
	struct ctf_diag_ns *ns;
	const struct ctf_ct_entry *e;
	uint32_t inode;
};

/* Whether the flow's socket is still the one found, with an owner. */
static bool still_held(void *data)
{
	struct held_check *h = data;
	struct sock_result res = { 0 };
	int err = 0;

	return find_socket(h->pe, h->ns, h->e, false, &res, &err) == SOCK_FOUND && res.inode == h->inode;
}

static int lookup(struct ctf_proc_enricher *pe, const char *netns, const struct ctf_ct_entry *e,
		  bool use_cache, struct ctf_proc_info *ret)
{
	struct held_check held = { .pe = pe, .e = e };
	struct ctf_diag_ns *ns;
	struct sock_result res = { 0 };
	uint32_t pid;
	int r = get_netns(pe, netns, &ns), err = 0;

	if (r < 0)
		return r;
	switch (find_socket(pe, ns, e, use_cache, &res, &err)) {
	case SOCK_NOT_LOCAL:
		pe->stats.not_local++;
		return -ENOENT;
	case SOCK_NONE:
		if (err)
			return err;
		pe->stats.no_socket++;
		return -ENOENT;
	case SOCK_ORPHAN:
		pe->stats.no_owner++;
		return -ESRCH;
	case SOCK_FOUND:
		break;
	}
	held.ns = ns;
	held.inode = res.inode;
	r = ctf_proc_owners_find(pe->owners, res.inode, ctf_diag_ns_ino(ns), &pe->cfg, still_held,
				 &held, &pid);
	/* An accepted socket whose holder was not found (a server that
	 * answered and closed already, or not searched for yet): the
	 * process that listens accepted it. */
	if ((r == -ESRCH || r == -EAGAIN) && res.accepted && res.inode == res.own.inode &&
	    find_listener(ns, &res.q, &res))
		r = ctf_proc_owners_find(pe->owners, res.inode, ctf_diag_ns_ino(ns), &pe->cfg,
					 NULL, NULL, &pid);
	if (r < 0 && res.cached) {
		/* the remembered socket is gone or changed hands: ask again */
		udp_forget(pe, ns, &res.q);
		return lookup(pe, netns, e, false, ret);
	}
	if (r == 0)
		r = pid_info(pe, pid, res.uid, ret);
	if (r == -EAGAIN)
		pe->stats.pending++;
	if (r == -ESRCH)
		pe->stats.no_owner++;
	if (r < 0)
		return r;
	if (res.own.has_tcp_info && !res.own.remote_any) {
		ret->tcp_rtt_us = res.own.rtt_us;
		ret->tcp_retrans = res.own.retrans;
	}
	pe->stats.hits++;
	return 0;
}

int ctf_proc_enricher_lookup(struct ctf_proc_enricher *pe, const char *netns,
			     const struct ctf_ct_entry *e, struct ctf_proc_info *ret)
{
	int r;

	if (!pe || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	pe->stats.lookups++;
	r = check_args(pe, e, ret);
	if (r == -EPROTONOSUPPORT)
		pe->stats.unsupported++;
	if (r == 0)
		r = lookup(pe, netns, e, true, ret);
	if (r < 0) {
		memset(ret, 0, sizeof(*ret));
		if (r != -ENOENT && r != -ESRCH && r != -EAGAIN && r != -EPROTONOSUPPORT)
			pe->stats.errors++;
	}
	return r;
}

void ctf_proc_enricher_begin_batch(struct ctf_proc_enricher *pe)
{
	if (pe)
		ctf_proc_owners_new_epoch(pe->owners);
}

int ctf_proc_enricher_refresh_tcp(struct ctf_proc_enricher *pe, const char *netns,
				  const struct ctf_ct_entry *e, struct ctf_proc_info *ret)
{
	struct ctf_diag_ns *ns;
	int r = check_args(pe, e, ret);

	if (r < 0)
		return r;
	pe->stats.refreshes++;
	if (e->orig.proto != IPPROTO_TCP)
		return -EPROTONOSUPPORT;
	r = get_netns(pe, netns, &ns);
	if (r < 0)
		return r;
	for (int reply = 0; reply < 2; reply++) {
		struct ctf_diag_query q;
		struct ctf_diag_sock s;

		query_for(e, reply, true, &q);
		if (!ctf_diag_ns_is_local(ns, q.family, &q.local, &q.ifindex))
			continue;
		r = ctf_diag_ns_find(ns, &q, false, &s);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (s.remote_any || !s.has_tcp_info)
			continue;
		ret->tcp_rtt_us = s.rtt_us;
		ret->tcp_retrans = s.retrans;
		return 0;
	}
	return -ENOENT;
}

void ctf_proc_enricher_get_stats(const struct ctf_proc_enricher *pe,
				 struct ctf_proc_enricher_stats *ret)
{
	*ret = pe->stats;
	ret->netns_open = g_hash_table_size(pe->netns);
	ret->inodes_cached = ctf_proc_owners_count(pe->owners);
	ret->pids_cached = g_hash_table_size(pe->pids);
}
