/*
 * The sock_diag side of the process enricher: per network namespace, one
 * NETLINK_SOCK_DIAG socket for socket lookups and one NETLINK_ROUTE socket
 * that keeps the namespace's local addresses current. Both are created
 * inside the namespace and stay bound to it. Knows nothing about /proc or
 * processes.
 *
 * Kernel behaviour this relies on (Linux 4.x-6.x, net/ipv4/inet_diag.c,
 * udp_diag.c):
 * - an exact request (no NLM_F_DUMP) runs the receive path's own lookup:
 *   TCP finds an established, request or time-wait socket and else the
 *   listener; UDP finds a connected socket and else the one bound to the
 *   port (wildcard or not). So unconnected UDP servers and sendto()
 *   clients need no dump;
 * - for TCP the request's id.src is the local end, for UDP it is the
 *   remote end ("src and dst are swapped for historical reasons"); replies
 *   always give the local end in id.src;
 * - the reply to a request is queued before sendmsg() returns (later dump
 *   batches during recvmsg()), so every receive here is MSG_DONTWAIT;
 * - a socket with no struct socket (request, time-wait, accept queue,
 *   closed by its program) reports inode 0;
 * - the IPv4 lookups also find dual-stack IPv6 sockets; an AF_INET6 TCP
 *   request with two v4-mapped addresses is turned back into the IPv4
 *   lookup, so only UDP has a separate mapped lookup worth asking.
 */
#define G_LOG_DOMAIN "ctflow-enrich"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "ctflow/kernel-settings.h"
#include "process-private.h"

#define MAX_LOCAL_ADDRS 65536
#define MAX_STALE_REPLIES 8	/* replies of an earlier request to skip */
#define MAX_DUMP_DATAGRAMS 4096
#define MAX_ADDR_NOTIFY_READS 16

#ifndef TCP_LISTEN
#define TCP_LISTEN 10
#endif

struct ctf_diag_ns {
	struct mnl_socket *diag;
	struct mnl_socket *route;	/* subscribed to address changes */
	uint8_t *buf;			/* CTF_DIAG_BUF_SIZE, the enricher's */
	struct ctf_proc_enricher_stats *stats;
	GHashTable *addrs;		/* struct local_addr* -> ifindex */
	uint32_t seq;
	uint32_t ino;
	bool addrs_dirty;
};

struct local_addr {
	uint8_t family;
	uint8_t pad[3];
	struct ctf_addr a;
};

static guint local_addr_hash(gconstpointer p)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(struct local_addr); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static gboolean local_addr_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct local_addr)) == 0;
}

/* ---- opening ---------------------------------------------------------- */

static int open_sockets(struct ctf_diag_ns *ns)
{
	ns->diag = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!ns->diag || mnl_socket_bind(ns->diag, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	ns->route = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!ns->route ||
	    mnl_socket_bind(ns->route, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	return 0;
}

int ctf_diag_ns_open(const char *netns, uint8_t *buf, struct ctf_proc_enricher_stats *stats,
		     struct ctf_diag_ns **ret)
{
	struct ctf_diag_ns *ns = g_new0(struct ctf_diag_ns, 1);
	struct ctf_netns_scope scope;
	int r;

	ns->buf = buf;
	ns->stats = stats;
	ns->addrs = g_hash_table_new_full(local_addr_hash, local_addr_equal, g_free, NULL);
	ns->addrs_dirty = true;
	ns->seq = (uint32_t)g_get_monotonic_time();
	if (!ctf_netns_enter(netns, &scope, &ns->ino, NULL)) {
		ctf_diag_ns_free(ns);
		return -ENODEV;
	}
	r = open_sockets(ns);
	ctf_netns_leave(&scope);
	if (r < 0) {
		ctf_diag_ns_free(ns);
		return r;
	}
	*ret = ns;
	return 0;
}

void ctf_diag_ns_free(struct ctf_diag_ns *ns)
{
	if (!ns)
		return;
	if (ns->diag)
		mnl_socket_close(ns->diag);
	if (ns->route)
		mnl_socket_close(ns->route);
	g_hash_table_destroy(ns->addrs);
	g_free(ns);
}

uint32_t ctf_diag_ns_ino(const struct ctf_diag_ns *ns)
{
	return ns->ino;
}

/* ---- local addresses ------------------------------------------------ */

static void addr_add(struct ctf_diag_ns *ns, uint8_t family, const void *a, size_t len,
		     uint32_t ifindex)
{
	struct local_addr *k;

	if (g_hash_table_size(ns->addrs) >= MAX_LOCAL_ADDRS)
		return;
	k = g_new0(struct local_addr, 1);
	k->family = family;
	memcpy(k->a.b, a, len);
	g_hash_table_replace(ns->addrs, k, GUINT_TO_POINTER(ifindex));
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= IFA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctf_diag_ns *ns = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *local;
	size_t len;
	uint8_t family;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return MNL_CB_OK;
	family = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 6 : 0;
	len = family == 4 ? 4 : 16;
	if (!family || mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0)
		return MNL_CB_OK;
	/* With a peer (point-to-point), IFA_ADDRESS is the peer's and
	 * IFA_LOCAL ours; without one, IPv6 sends IFA_ADDRESS only. */
	local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (local && mnl_attr_get_payload_len(local) == len)
		addr_add(ns, family, mnl_attr_get_payload(local), len, ifa->ifa_index);
	if (family == 4 && tb[IFA_BROADCAST] && mnl_attr_get_payload_len(tb[IFA_BROADCAST]) == 4)
		addr_add(ns, 4, mnl_attr_get_payload(tb[IFA_BROADCAST]), 4, 0);
	return MNL_CB_OK;
}

/* Drain change notifications without blocking; any (or an overrun) means
 * the list must be read again. */
static void addrs_check_notifications(struct ctf_diag_ns *ns)
{
	for (int i = 0; i < MAX_ADDR_NOTIFY_READS; i++) {
		ssize_t n = recv(mnl_socket_get_fd(ns->route), ns->buf, CTF_DIAG_BUF_SIZE,
				 MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		ns->addrs_dirty = true;
		if (n < 0 && errno != ENOBUFS)
			return;
	}
}

/* Read the namespace's addresses again. Notifications arriving meanwhile
 * share the socket; they leave the list dirty for the next lookup. */
static int addrs_reload(struct ctf_diag_ns *ns)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(ns->buf);
	struct ifaddrmsg *ifa;
	uint32_t seq = ++ns->seq, portid = mnl_socket_get_portid(ns->route);
	bool again = false;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	ns->stats->addr_dumps++;
	g_hash_table_remove_all(ns->addrs);
	ns->addrs_dirty = true;
	if (mnl_socket_sendto(ns->route, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int i = 0; i < MAX_DUMP_DATAGRAMS; i++) {
		ssize_t n = recv(mnl_socket_get_fd(ns->route), ns->buf, CTF_DIAG_BUF_SIZE,
				 MSG_DONTWAIT);
		const struct nlmsghdr *m = (const struct nlmsghdr *)ns->buf;
		int r;

		if (n < 0 && errno == ENOBUFS) {
			again = true;
			continue;
		}
		if (n < 0)
			return -errno;
		if (m->nlmsg_seq != seq) {	/* a notification */
			again = true;
			continue;
		}
		r = mnl_cb_run(ns->buf, (size_t)n, seq, portid, addr_msg_cb, ns);
		if (r == MNL_CB_STOP) {
			ns->addrs_dirty = again;
			return 0;
		}
		if (r < 0)
			return -errno;
	}
	return -EOVERFLOW;
}

static bool is_special_local(uint8_t family, const struct ctf_addr *a)
{
	if (family == 4)
		return a->b[0] == 127 ||			/* 127.0.0.0/8 */
		       (a->b[0] & 0xf0) == 0xe0 ||		/* multicast */
		       (a->b[0] == 255 && a->b[1] == 255 && a->b[2] == 255 && a->b[3] == 255);
	return a->b[0] == 0xff;					/* multicast */
}

bool ctf_diag_ns_is_local(struct ctf_diag_ns *ns, uint8_t family, const struct ctf_addr *addr,
			  uint32_t *ret_ifindex)
{
	struct local_addr k = { .family = family, .a = *addr };
	gpointer ifindex;

	if (ret_ifindex)
		*ret_ifindex = 0;
	if (is_special_local(family, addr))
		return true;
	addrs_check_notifications(ns);
	if (ns->addrs_dirty && addrs_reload(ns) < 0)
		ns->stats->sock_diag_errors++;
	if (family == 4)
		memset(k.a.b + 4, 0, 12);
	if (!g_hash_table_lookup_extended(ns->addrs, &k, NULL, &ifindex))
		return false;
	/* Sockets on a link-local address are bound to its interface, and
	 * a lookup without that index does not see them. */
	if (ret_ifindex && family == 6 && addr->b[0] == 0xfe && (addr->b[1] & 0xc0) == 0x80)
		*ret_ifindex = GPOINTER_TO_UINT(ifindex);
	return true;
}

/* ---- sock_diag -------------------------------------------------------- */

static void put_addr(uint32_t dst[4], const struct ctf_addr *a, uint8_t family, bool mapped)
{
	uint8_t *b = (uint8_t *)dst;

	memset(dst, 0, 16);
	if (family == 6) {
		memcpy(b, a->b, 16);
	} else if (mapped) {
		b[10] = b[11] = 0xff;
		memcpy(b + 12, a->b, 4);
	} else {
		memcpy(b, a->b, 4);
	}
}

static void fill_request(struct inet_diag_req_v2 *r, const struct ctf_diag_query *q,
			 bool mapped)
{
	struct inet_diag_sockid *id = &r->id;
	bool udp = q->proto == IPPROTO_UDP;

	memset(r, 0, sizeof(*r));
	r->sdiag_family = q->family == 4 && !mapped ? AF_INET : AF_INET6;
	r->sdiag_protocol = q->proto;
	r->idiag_states = ~0u;
	if (q->want_info && !udp)
		r->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	/* UDP swaps the ends (see the file comment). */
	put_addr(udp ? id->idiag_dst : id->idiag_src, &q->local, q->family, mapped);
	put_addr(udp ? id->idiag_src : id->idiag_dst, &q->remote, q->family, mapped);
	id->idiag_sport = htons(udp ? q->rport : q->lport);
	id->idiag_dport = htons(udp ? q->lport : q->rport);
	id->idiag_if = q->ifindex;
	id->idiag_cookie[0] = id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

static void parse_sock(const struct nlmsghdr *nlh, uint8_t proto, struct ctf_diag_sock *ret)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	memset(ret, 0, sizeof(*ret));
	ret->inode = m->idiag_inode;
	ret->uid = m->idiag_uid;
	ret->state = m->idiag_state;
	ret->remote_any = proto == IPPROTO_TCP ? m->idiag_state == TCP_LISTEN
					       : m->id.idiag_dport == 0;
	mnl_attr_for_each(attr, nlh, sizeof(*m)) {
		struct tcp_info ti = { 0 };
		size_t len = mnl_attr_get_payload_len(attr);

		if (mnl_attr_get_type(attr) != INET_DIAG_INFO || proto != IPPROTO_TCP)
			continue;
		/* Kernels grow tcp_info at the end; take what both know. */
		memcpy(&ti, mnl_attr_get_payload(attr), MIN(len, sizeof(ti)));
		if (len >= offsetof(struct tcp_info, tcpi_total_retrans) + sizeof(uint32_t)) {
			ret->has_tcp_info = true;
			ret->rtt_us = ti.tcpi_rtt;
			ret->retrans = ti.tcpi_total_retrans;
		}
	}
}

/* One datagram of the reply to @seq: skips replies to earlier requests
 * (a failed receive can leave one behind). Returns its length or a
 * negative errno. */
static ssize_t recv_reply(struct ctf_diag_ns *ns, uint32_t seq)
{
	for (int i = 0; i < MAX_STALE_REPLIES; i++) {
		ssize_t n = recv(mnl_socket_get_fd(ns->diag), ns->buf, CTF_DIAG_BUF_SIZE,
				 MSG_DONTWAIT);
		const struct nlmsghdr *m = (const struct nlmsghdr *)ns->buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!mnl_nlmsg_ok(m, (int)n))
			return -EBADMSG;
		if (m->nlmsg_seq == seq)
			return n;
	}
	return -EBADMSG;
}

static int send_request(struct ctf_diag_ns *ns, struct nlmsghdr *nlh)
{
	ns->stats->sock_diag_requests++;
	if (mnl_socket_sendto(ns->diag, nlh, nlh->nlmsg_len) < 0) {
		ns->stats->sock_diag_errors++;
		return -errno;
	}
	return 0;
}

int ctf_diag_ns_find(struct ctf_diag_ns *ns, const struct ctf_diag_query *q, bool mapped,
		     struct ctf_diag_sock *ret)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
			.nlmsg_seq = ++ns->seq,
		},
	};
	const struct nlmsghdr *m = (const struct nlmsghdr *)ns->buf;
	ssize_t n;
	int r;

	fill_request(&req.r, q, mapped);
	r = send_request(ns, &req.nlh);
	if (r < 0)
		return r;
	n = recv_reply(ns, req.nlh.nlmsg_seq);
	if (n < 0) {
		ns->stats->sock_diag_errors++;
		return (int)n;
	}
	if (m->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *err = mnl_nlmsg_get_payload(m);

		if (err->error != -ENOENT)
			ns->stats->sock_diag_errors++;
		return err->error ? err->error : -ENOENT;
	}
	if (m->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    m->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
		ns->stats->sock_diag_errors++;
		return -EBADMSG;
	}
	parse_sock(m, q->proto, ret);
	return 0;
}

/* ---- UDP: dump by local port ----------------------------------------- */

struct port_match {
	const struct ctf_diag_query *q;
	uint8_t family;			/* AF_* of the dump */
	int best_score;			/* -1: none yet */
	struct ctf_diag_sock best;
};

static bool addr_is_any(const uint32_t a[4], uint8_t af)
{
	if (af == AF_INET)
		return a[0] == 0;
	return a[0] == 0 && a[1] == 0 && (a[2] == 0 || a[2] == htonl(0xffff)) && a[3] == 0;
}

static bool addr_equal(const uint32_t a[4], const struct ctf_addr *b, uint8_t family,
		       uint8_t af)
{
	uint32_t want[4];

	put_addr(want, b, family, family == 4 && af == AF_INET6);
	return memcmp(a, want, af == AF_INET ? 4 : 16) == 0;
}

/* Score a socket of the dump the way the kernel's UDP lookup would:
 * connected to the remote end beats bound to the address beats wildcard;
 * -1 for a socket that would not receive the flow's packets. */
static int port_score(const struct port_match *pm, const struct inet_diag_msg *m,
		      bool v6only)
{
	const struct ctf_diag_query *q = pm->q;
	int score = 0;

	if (q->family == 4 && pm->family == AF_INET6 && v6only)
		return -1;
	if (addr_equal(m->id.idiag_src, &q->local, q->family, pm->family))
		score += 1;
	else if (!addr_is_any(m->id.idiag_src, pm->family))
		return -1;
	if (m->id.idiag_dport == htons(q->rport) &&
	    addr_equal(m->id.idiag_dst, &q->remote, q->family, pm->family))
		score += 2;
	else if (m->id.idiag_dport != 0)
		return -1;
	return score;
}

static int port_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct port_match *pm = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	bool v6only = false;
	int score;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || ntohs(m->id.idiag_sport) != pm->q->lport)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*m))
		if (mnl_attr_get_type(attr) == INET_DIAG_SKV6ONLY &&
		    mnl_attr_get_payload_len(attr) >= 1)
			v6only = mnl_attr_get_u8(attr) != 0;
	score = port_score(pm, m, v6only);
	if (score > pm->best_score) {
		pm->best_score = score;
		parse_sock(nlh, IPPROTO_UDP, &pm->best);
	}
	return MNL_CB_OK;
}

/* One dump of family @af, filtered in the kernel on the local port
 * (INET_DIAG_BC_S_EQ: the socket's own port, whatever the UDP swap). */
static int dump_port(struct ctf_diag_ns *ns, struct port_match *pm)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(ns->buf);
	struct inet_diag_req_v2 *r;
	struct inet_diag_bc_op bc[2] = {
		/* match: jump to the end (accept); else past it (reject) */
		{ .code = INET_DIAG_BC_S_EQ, .yes = sizeof(bc), .no = sizeof(bc) + 4 },
		{ .no = pm->q->lport },
	};
	uint32_t seq = ++ns->seq, portid = mnl_socket_get_portid(ns->diag);
	int ret;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = pm->family;
	r->sdiag_protocol = IPPROTO_UDP;
	r->idiag_states = ~0u;
	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, sizeof(bc), bc);
	ret = send_request(ns, nlh);
	if (ret < 0)
		return ret;
	for (int i = 0; i < MAX_DUMP_DATAGRAMS; i++) {
		ssize_t n = recv_reply(ns, seq);

		if (n < 0) {
			ns->stats->sock_diag_errors++;
			return (int)n;
		}
		ret = mnl_cb_run(ns->buf, (size_t)n, seq, portid, port_msg_cb, pm);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0) {
			ns->stats->sock_diag_errors++;
			return -errno;
		}
	}
	ns->stats->sock_diag_errors++;
	return -EOVERFLOW;
}

int ctf_diag_ns_find_port(struct ctf_diag_ns *ns, const struct ctf_diag_query *q,
			  struct ctf_diag_sock *ret)
{
	struct port_match pm = { .q = q, .best_score = -1 };
	int r;

	if (q->proto != IPPROTO_UDP)
		return -ENOENT;
	pm.family = q->family == 4 ? AF_INET : AF_INET6;
	r = dump_port(ns, &pm);
	/* dual-stack IPv6 sockets receive IPv4 too */
	if (r == 0 && q->family == 4) {
		pm.family = AF_INET6;
		r = dump_port(ns, &pm);
	}
	if (r < 0)
		return r;
	if (pm.best_score < 0)
		return -ENOENT;
	*ret = pm.best;
	return 0;
}
