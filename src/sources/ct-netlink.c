/*
 * Conntrack netlink source (see include/ctflow/ct-source.h).
 *
 * Owns two ctnetlink sockets per namespace, both created inside it at open
 * time: the event socket (multicast NEW/UPDATE/DESTROY, non-blocking, a
 * large receive buffer, read in batches with recvmmsg) and the dump
 * socket (requests, blocking with a timeout). Parses with ctf_ct_parse()
 * and hands entries to the caller's callback; keeps no entries itself and
 * knows nothing about flows, export or reconciliation.
 *
 * Kernel behaviour this relies on:
 * - each conntrack event is a datagram of its own, so one recv() returns
 *   one event whatever the buffer size: recvmmsg() is what batches;
 * - an overrun is reported once as ENOBUFS by the next receive call,
 *   before any queued data, and the socket stays usable;
 * - a dump reply datagram holds at most 32 KiB of messages.
 */
#define G_LOG_DOMAIN "ctflow-ct"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ctflow/ct-source.h"
#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"

#define DEFAULT_RCVBUF (64u << 20)
/* 128 slots of 8 KiB: 1 MiB per recvmmsg call. An event is well under
 * NLMSG_DEFAULT_SIZE (one page), so a slot never truncates one. */
#define READ_SLOTS 128
#define SLOT_SIZE 8192
/* Batches per ctf_ct_source_read(): bounds the call when the kernel
 * produces as fast as we read; the fd stays readable and the caller's
 * poll comes straight back. */
#define MAX_BATCHES 64
#define DUMP_BUF_SIZE (256u << 10)
#define DUMP_RECV_TIMEOUT_S 10
#define DUMP_MAX_STALE 4096	/* datagrams of an earlier aborted dump */

struct ctf_ct_source {
	struct mnl_socket *ev;
	struct mnl_socket *dump;
	char *name;
	uint32_t netns_ino;
	uint32_t dump_seq;
	bool dump_dirty;		/* an aborted dump may have left replies */
	uint8_t *rbuf;			/* READ_SLOTS * SLOT_SIZE */
	struct mmsghdr mmsg[READ_SLOTS];
	struct iovec iov[READ_SLOTS];
	struct sockaddr_nl from[READ_SLOTS];
	uint8_t *dbuf;			/* DUMP_BUF_SIZE */
	struct ctf_ct_source_stats stats;
};

void ctf_ct_source_config_init(struct ctf_ct_source_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rcvbuf = DEFAULT_RCVBUF;
}

static const char *where(const struct ctf_ct_source *s)
{
	return s->name;
}

static gboolean set_error_cap(GError **error, int err, const struct ctf_ct_source *s,
			      const char *what)
{
	if (err == EPERM || err == EACCES)
		return ctf_set_error_errno(error, err, "%s in network namespace %s needs "
					   "CAP_NET_ADMIN", what, where(s));
	return ctf_set_error_errno(error, err, "%s in network namespace %s", what, where(s));
}

/* SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN;
 * SO_RCVBUF is capped by rmem_max. */
static void set_rcvbuf(struct ctf_ct_source *s, int fd, size_t want)
{
	int v = want > INT_MAX / 2 ? INT_MAX / 2 : (int)want;
	int got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0) {
		int err = errno;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
		getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
		/* the kernel doubles the value for its bookkeeping */
		g_warning("conntrack events in %s: SO_RCVBUFFORCE refused (%s), receive buffer "
			  "is %d bytes instead of the %d requested (capped by "
			  "net.core.rmem_max); events will be lost under load",
			  where(s), g_strerror(err), got / 2, v);
	}
	len = sizeof(got);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0)
		s->stats.rcvbuf = (size_t)got;
}

static gboolean open_event_socket(struct ctf_ct_source *s, const struct ctf_ct_source_config *cfg,
				  GError **error)
{
	unsigned groups = 1u << (NFNLGRP_CONNTRACK_NEW - 1) |
			  1u << (NFNLGRP_CONNTRACK_DESTROY - 1);
	int one = 1, fd;

	if (!cfg->no_update)
		groups |= 1u << (NFNLGRP_CONNTRACK_UPDATE - 1);
	s->ev = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!s->ev)
		return set_error_cap(error, errno, s, "opening the conntrack event socket");
	fd = mnl_socket_get_fd(s->ev);
	/* The buffer is sized before subscribing, so no burst meets the
	 * default one. */
	set_rcvbuf(s, fd, cfg->rcvbuf ? cfg->rcvbuf : DEFAULT_RCVBUF);
	if (cfg->reliable &&
	    (mnl_socket_setsockopt(s->ev, NETLINK_BROADCAST_ERROR, &one, sizeof(one)) < 0 ||
	     mnl_socket_setsockopt(s->ev, NETLINK_NO_ENOBUFS, &one, sizeof(one)) < 0))
		return set_error_cap(error, errno, s, "setting reliable event delivery");
	if (mnl_socket_bind(s->ev, groups, MNL_SOCKET_AUTOPID) < 0)
		return set_error_cap(error, errno, s, "subscribing to conntrack events");
	return TRUE;
}

static gboolean open_dump_socket(struct ctf_ct_source *s, GError **error)
{
	struct timeval tv = { .tv_sec = DUMP_RECV_TIMEOUT_S };

	s->dump = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s->dump)
		return set_error_cap(error, errno, s, "opening the conntrack dump socket");
	if (mnl_socket_bind(s->dump, 0, MNL_SOCKET_AUTOPID) < 0)
		return set_error_cap(error, errno, s, "binding the conntrack dump socket");
	/* A kernel that never answers must not hang the caller forever. */
	setsockopt(mnl_socket_get_fd(s->dump), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return TRUE;
}

static void init_read_slots(struct ctf_ct_source *s)
{
	s->rbuf = g_malloc((size_t)READ_SLOTS * SLOT_SIZE);
	s->dbuf = g_malloc(DUMP_BUF_SIZE);
	for (int i = 0; i < READ_SLOTS; i++) {
		s->iov[i].iov_base = s->rbuf + (size_t)i * SLOT_SIZE;
		s->iov[i].iov_len = SLOT_SIZE;
		s->mmsg[i].msg_hdr.msg_iov = &s->iov[i];
		s->mmsg[i].msg_hdr.msg_iovlen = 1;
		s->mmsg[i].msg_hdr.msg_name = &s->from[i];
	}
}

struct ctf_ct_source *ctf_ct_source_open(const struct ctf_ct_source_config *cfg,
					 GError **error)
{
	g_autoptr(ctf_ct_source) s = g_new0(struct ctf_ct_source, 1);
	struct ctf_netns_scope scope;
	gboolean ok;

	s->name = g_strdup(cfg->label ? cfg->label : cfg->netns ? cfg->netns : "host");
	s->dump_seq = (uint32_t)time(NULL);
	if (!ctf_netns_enter(cfg->netns, &scope, &s->netns_ino, error))
		return NULL;
	/* Both sockets are created inside the namespace and stay bound to
	 * it; the thread leaves it whatever happened. */
	ok = open_event_socket(s, cfg, error) && open_dump_socket(s, error);
	ctf_netns_leave(&scope);
	if (!ok)
		return NULL;
	init_read_slots(s);
	return g_steal_pointer(&s);
}

int ctf_ct_source_fd(const struct ctf_ct_source *s)
{
	return mnl_socket_get_fd(s->ev);
}

uint32_t ctf_ct_source_netns_ino(const struct ctf_ct_source *s)
{
	return s->netns_ino;
}

const char *ctf_ct_source_name(const struct ctf_ct_source *s)
{
	return s->name;
}

/* Parse one message and hand it on; counts by outcome. */
static void handle_msg(struct ctf_ct_source *s, const struct nlmsghdr *nlh, uint8_t force_msg,
		       ctf_ct_entry_fn fn, void *userdata)
{
	struct ctf_ct_entry e;
	int r = ctf_ct_parse(nlh, &e);

	if (r == -EPROTONOSUPPORT) {
		s->stats.msgs[0]++;	/* not a conntrack entry */
		return;
	}
	if (r < 0) {
		s->stats.parse_errors++;
		return;
	}
	if (force_msg)
		e.msg = force_msg;
	s->stats.msgs[e.msg]++;
	fn(&e, userdata);
}

/* One datagram from the event socket: returns messages handled, or -1 if
 * it was truncated (an event lost as surely as by an overrun). */
static int handle_datagram(struct ctf_ct_source *s, const struct mmsghdr *m, const void *buf,
			   ctf_ct_entry_fn fn, void *userdata)
{
	const struct sockaddr_nl *from = m->msg_hdr.msg_name;
	const struct nlmsghdr *nlh = buf;
	int len = (int)m->msg_len, n = 0;

	if (m->msg_hdr.msg_flags & MSG_TRUNC) {
		s->stats.parse_errors++;
		return -1;
	}
	/* only the kernel speaks on this socket */
	if (m->msg_hdr.msg_namelen < sizeof(*from) || from->nl_pid != 0) {
		s->stats.msgs[0]++;
		return 0;
	}
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len), n++)
		handle_msg(s, nlh, 0, fn, userdata);
	return n;
}

static void reset_slots(struct ctf_ct_source *s)
{
	for (int i = 0; i < READ_SLOTS; i++) {
		s->mmsg[i].msg_hdr.msg_namelen = sizeof(s->from[i]);
		s->mmsg[i].msg_hdr.msg_flags = 0;
	}
}

int ctf_ct_source_read(struct ctf_ct_source *s, ctf_ct_entry_fn fn, void *userdata)
{
	int fd = mnl_socket_get_fd(s->ev), handled = 0;
	bool lost = false;

	for (int batch = 0; batch < MAX_BATCHES; batch++) {
		int n;

		reset_slots(s);
		n = recvmmsg(fd, s->mmsg, READ_SLOTS, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS) {
				/* reported once; what is queued behind it is intact */
				s->stats.enobufs++;
				lost = true;
				continue;
			}
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			int r = handle_datagram(s, &s->mmsg[i], s->iov[i].iov_base, fn, userdata);

			if (r < 0)
				lost = true;
			else
				handled += r;
		}
		/* A short batch means the queue was empty a moment ago: skip the
		 * recvmmsg that would only say EAGAIN. An overrun after it is
		 * reported by the next call. */
		if (n < READ_SLOTS)
			break;
	}
	return lost ? -ENOBUFS : handled;
}

static gboolean dump_request(struct ctf_ct_source *s, GError **error)
{
	union {
		char buf[128];
		struct nlmsghdr align;
	} u;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(u.buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++s->dump_seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;	/* IPv4 and IPv6 in one dump */
	nfg->version = NFNETLINK_V0;
	while (mnl_socket_sendto(s->dump, nlh, nlh->nlmsg_len) < 0) {
		if (errno != EINTR)
			return set_error_cap(error, errno, s, "requesting a conntrack dump");
	}
	return TRUE;
}

/* Replies of an earlier dump that failed part-way would be taken for this
 * one's; read them away first (bounded, non-blocking). */
static void dump_discard_stale(struct ctf_ct_source *s)
{
	int fd = mnl_socket_get_fd(s->dump);

	for (int i = 0; i < DUMP_MAX_STALE; i++) {
		ssize_t n = recv(fd, s->dbuf, DUMP_BUF_SIZE, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	s->dump_dirty = false;
}

enum dump_step { DUMP_MORE, DUMP_DONE, DUMP_FAILED };

/* The messages of one dump datagram. */
static enum dump_step dump_datagram(struct ctf_ct_source *s, const void *buf, int len,
				    ctf_ct_entry_fn fn, void *userdata, bool *complete,
				    int *ret_err)
{
	uint32_t portid = mnl_socket_get_portid(s->dump);
	const struct nlmsghdr *nlh = buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_seq != s->dump_seq || nlh->nlmsg_pid != portid)
			continue;	/* a straggler of an earlier request */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*complete = false;
		if (nlh->nlmsg_type == NLMSG_DONE) {
			/* since Linux 4.x DONE carries the dump's own status */
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) &&
			    *(const int *)mnl_nlmsg_get_payload(nlh) < 0) {
				*ret_err = -*(const int *)mnl_nlmsg_get_payload(nlh);
				return DUMP_FAILED;
			}
			return DUMP_DONE;
		}
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || e->error != 0) {
				*ret_err = e->error ? -e->error : EPROTO;
				return DUMP_FAILED;
			}
			continue;
		}
		handle_msg(s, nlh, CTF_CT_DUMP, fn, userdata);
	}
	return DUMP_MORE;
}

gboolean ctf_ct_source_dump(struct ctf_ct_source *s, ctf_ct_entry_fn fn, void *userdata,
			    bool *ret_complete, GError **error)
{
	int fd = mnl_socket_get_fd(s->dump), err = 0;
	bool complete = true;
	enum dump_step step = DUMP_MORE;

	if (ret_complete)
		*ret_complete = false;
	if (s->dump_dirty)
		dump_discard_stale(s);
	s->stats.dumps++;
	if (!dump_request(s, error))
		return FALSE;
	s->dump_dirty = true;
	while (step == DUMP_MORE) {
		ssize_t n = recv(fd, s->dbuf, DUMP_BUF_SIZE, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN)
				return ctf_set_error_errno(error, ETIMEDOUT, "conntrack dump in %s: "
							   "no answer for %d s", where(s),
							   DUMP_RECV_TIMEOUT_S);
			return set_error_cap(error, errno, s, "reading a conntrack dump");
		}
		if (n == 0)
			return ctf_set_error_errno(error, EPIPE, "conntrack dump in %s", where(s));
		step = dump_datagram(s, s->dbuf, (int)n, fn, userdata, &complete, &err);
	}
	if (step == DUMP_FAILED) {
		s->dump_dirty = false;	/* the kernel ended this dump itself */
		return set_error_cap(error, err, s, "dumping the conntrack table");
	}
	s->dump_dirty = false;
	if (ret_complete)
		*ret_complete = complete;
	return TRUE;
}

void ctf_ct_source_get_stats(const struct ctf_ct_source *s, struct ctf_ct_source_stats *ret)
{
	*ret = s->stats;
}

void ctf_ct_source_close(struct ctf_ct_source *s)
{
	if (!s)
		return;
	if (s->ev)
		mnl_socket_close(s->ev);
	if (s->dump)
		mnl_socket_close(s->dump);
	g_free(s->rbuf);
	g_free(s->dbuf);
	g_free(s->name);
	g_free(s);
}
