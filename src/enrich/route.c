/*
 * Route cache of the interface enricher: RTM_GETROUTE for one destination
 * address, answers cached by (family, address) until interface.c flushes
 * them on a route, address, rule or link event. Owns the cache, not the
 * socket.
 *
 * Kernel facts this relies on:
 * - RTM_GETROUTE is handled in the sender's context (IPv4 and IPv6 both
 *   without the RTNL lock since 4.x), so the answer is queued before
 *   sendmsg() returns and the receive does not wait;
 * - an unroutable destination is answered with an NLMSG_ERROR carrying
 *   ENETUNREACH, EHOSTUNREACH or EACCES (prohibit): that is an answer;
 * - a multipath route answers with the one nexthop a flow without ports
 *   would take, so flows spread over several paths may get another path's
 *   interface (samples do not have that limit).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>

#include "rtnl.h"

#define RECV_ATTEMPTS 8		/* stale answers skipped before giving up */

struct route_entry {
	uint8_t family;
	uint8_t pad[3];
	struct ctf_addr addr;
	struct ctf_route_answer answer;
};

struct ctf_routes {
	struct ctf_rtnl_req *req;
	GHashTable *cache;		/* struct route_entry* (key and value) */
	size_t max;
	struct ctf_routes_stats stats;
};

static guint entry_hash(gconstpointer p)
{
	const struct route_entry *e = p;
	uint64_t w[2];

	memcpy(w, e->addr.b, sizeof(w));
	return (guint)((w[0] * 0x9e3779b97f4a7c15ull ^ w[1]) * 0xff51afd7ed558ccdull >> 32) ^
	       e->family;
}

static gboolean entry_equal(gconstpointer a, gconstpointer b)
{
	const struct route_entry *x = a, *y = b;

	return x->family == y->family && !memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

struct ctf_routes *ctf_routes_new(struct ctf_rtnl_req *req, size_t max_entries)
{
	struct ctf_routes *r = g_new0(struct ctf_routes, 1);

	r->req = req;
	r->max = max_entries ? max_entries : 1;
	r->cache = g_hash_table_new_full(entry_hash, entry_equal, g_free, NULL);
	return r;
}

void ctf_routes_free(struct ctf_routes *r)
{
	if (!r)
		return;
	g_hash_table_destroy(r->cache);
	g_free(r);
}

void ctf_routes_flush(struct ctf_routes *r)
{
	if (g_hash_table_size(r->cache) == 0)
		return;
	g_hash_table_remove_all(r->cache);
	r->stats.flushes++;
}

static int send_query(struct ctf_routes *r, uint8_t family, const struct ctf_addr *dst)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++r->req->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family == 6 ? AF_INET6 : AF_INET;
	rtm->rtm_dst_len = family == 6 ? 128 : 32;
	mnl_attr_put(nlh, RTA_DST, family == 6 ? 16 : 4, dst->b);
	if (mnl_socket_sendto(r->req->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct ctf_route_answer *ans = data;

	if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		ans->oif = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

/* The answer to request @seq in one datagram: 1 found, 0 not in there,
 * negative errno for a malformed one. */
static int parse_answer(const void *buf, int len, uint32_t seq, struct ctf_route_answer *ret)
{
	const struct nlmsghdr *nlh = buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_seq != seq)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
				return -EPROTO;
			if (err->error == -ENETUNREACH || err->error == -EHOSTUNREACH ||
			    err->error == -EACCES) {
				*ret = (struct ctf_route_answer){ .type = RTN_UNREACHABLE };
				return 1;
			}
			return err->error < 0 ? err->error : -EPROTO;
		}
		if (nlh->nlmsg_type == RTM_NEWROUTE) {
			const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
				return -EPROTO;
			*ret = (struct ctf_route_answer){ .type = rtm->rtm_type };
			mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, ret);
			return 1;
		}
	}
	return 0;
}

static int query(struct ctf_routes *r, uint8_t family, const struct ctf_addr *dst,
		 struct ctf_route_answer *ret)
{
	int err = send_query(r, family, dst);

	if (err < 0)
		return err;
	for (int i = 0; i < RECV_ATTEMPTS; i++) {
		ssize_t n = mnl_socket_recvfrom(r->req->nl, r->req->buf, CTF_RTNL_BUF_SIZE);

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		err = parse_answer(r->req->buf, (int)n, r->req->seq, ret);
		if (err != 0)
			return err < 0 ? err : 0;
	}
	return -ETIMEDOUT;
}

int ctf_routes_get(struct ctf_routes *r, uint8_t family, const struct ctf_addr *dst,
		   struct ctf_route_answer *ret)
{
	struct route_entry key = { .family = family, .addr = *dst }, *e;
	int err;

	e = g_hash_table_lookup(r->cache, &key);
	if (e) {
		r->stats.hits++;
		*ret = e->answer;
		return 0;
	}
	r->stats.queries++;
	err = query(r, family, dst, &key.answer);
	if (err < 0) {
		r->stats.errors++;
		return err;
	}
	/* bounded: a full cache starts over rather than tracking age */
	if (g_hash_table_size(r->cache) >= r->max)
		ctf_routes_flush(r);
	g_hash_table_add(r->cache, g_memdup2(&key, sizeof(key)));
	*ret = key.answer;
	return 0;
}

void ctf_routes_get_stats(const struct ctf_routes *r, struct ctf_routes_stats *ret)
{
	*ret = r->stats;
}
