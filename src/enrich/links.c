/*
 * The link table of the interface enricher: ifindex -> name and alias
 * (IFLA_IFNAME, IFLA_IFALIAS), sorted by ifindex, filled by an
 * RTM_GETLINK dump and kept current by the RTM_NEWLINK/RTM_DELLINK events
 * interface.c hands in. Owns the table and its generation counter, not
 * the socket.
 *
 * Kernel facts: RTM_NEWLINK always carries the whole state of the link,
 * and IFLA_IFALIAS only when an alias is set, so a message without it
 * means "no alias". RTM_NEWLINK also comes for carrier, MTU, flag and
 * statistics changes, which do not touch the generation.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "ctflow/error.h"
#include "rtnl.h"

/* A namespace with more interfaces than this is not a router we can
 * describe in options records anyway; further links are not tabled. */
#define LINKS_MAX 65536
#define DUMP_ATTEMPTS 3

struct ctf_links {
	GArray *links;			/* struct ctf_if_link, sorted by ifindex */
	uint64_t generation;
};

struct ctf_links *ctf_links_new(void)
{
	struct ctf_links *l = g_new0(struct ctf_links, 1);

	l->links = g_array_new(FALSE, TRUE, sizeof(struct ctf_if_link));
	/* the first dump (a namespace always has lo) makes it 1 */
	return l;
}

void ctf_links_free(struct ctf_links *l)
{
	if (!l)
		return;
	g_array_unref(l->links);
	g_free(l);
}

/* Index of @ifindex, or of where it would go (*ret_found false). */
static guint links_find(const GArray *a, uint32_t ifindex, bool *ret_found)
{
	guint lo = 0, hi = a->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		uint32_t v = g_array_index(a, struct ctf_if_link, mid).ifindex;

		if (v == ifindex) {
			*ret_found = true;
			return mid;
		}
		if (v < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_found = false;
	return lo;
}

struct link_attrs {
	const struct nlattr *name, *alias;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_attrs *la = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			la->name = attr;
		break;
	case IFLA_IFALIAS:
		if (mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
			la->alias = attr;
		break;
	}
	return MNL_CB_OK;
}

static void copy_attr_str(char *dst, size_t size, const struct nlattr *attr)
{
	size_t n = 0;

	if (attr) {
		/* IFLA_IFALIAS may come without its NUL */
		n = mnl_attr_get_payload_len(attr);
		n = strnlen(mnl_attr_get_str(attr), n);
		if (n >= size)
			n = size - 1;
		memcpy(dst, mnl_attr_get_str(attr), n);
	}
	memset(dst + n, 0, size - n);
}

/* Parse RTM_NEWLINK/DELLINK; returns false for a malformed message. */
static bool link_parse(const struct nlmsghdr *nlh, struct ctf_if_link *ret)
{
	const struct ifinfomsg *ifi;
	struct link_attrs la = { 0 };

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return false;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0)
		return false;
	if (mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, &la) < 0)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = (uint32_t)ifi->ifi_index;
	copy_attr_str(ret->name, sizeof(ret->name), la.name);
	copy_attr_str(ret->alias, sizeof(ret->alias), la.alias);
	return true;
}

static bool link_same(const struct ctf_if_link *a, const struct ctf_if_link *b)
{
	return a->ifindex == b->ifindex && !strcmp(a->name, b->name) &&
	       !strcmp(a->alias, b->alias);
}

/* Insert or update in @a; returns true when something changed. */
static bool links_put(GArray *a, const struct ctf_if_link *link)
{
	bool found;
	guint i = links_find(a, link->ifindex, &found);

	if (found) {
		struct ctf_if_link *cur = &g_array_index(a, struct ctf_if_link, i);

		if (link_same(cur, link))
			return false;
		*cur = *link;
		return true;
	}
	if (a->len >= LINKS_MAX)
		return false;
	g_array_insert_val(a, i, *link);
	return true;
}

bool ctf_links_apply(struct ctf_links *l, const struct nlmsghdr *nlh)
{
	struct ctf_if_link link;
	bool changed = false, found;

	if (!link_parse(nlh, &link))
		return false;
	if (nlh->nlmsg_type == RTM_NEWLINK) {
		changed = links_put(l->links, &link);
	} else if (nlh->nlmsg_type == RTM_DELLINK) {
		guint i = links_find(l->links, link.ifindex, &found);

		if (found) {
			g_array_remove_index(l->links, i);
			changed = true;
		}
	}
	if (changed)
		l->generation++;
	return changed;
}

static void send_dump_request(struct ctf_rtnl_req *req)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++req->seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	/* statistics are most of a link message and of no use here */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_socket_sendto(req->nl, nlh, nlh->nlmsg_len);
}

/* One datagram of a dump: 1 more to come, 0 done, -errno. */
static int dump_datagram(struct ctf_rtnl_req *req, int len, GArray *into, bool *ret_intr)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)req->buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		struct ctf_if_link link;

		if (nlh->nlmsg_seq != req->seq)
			continue;	/* an answer to an earlier request */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*ret_intr = true;
		if (nlh->nlmsg_type == NLMSG_DONE)
			return 0;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

			return err->error ? err->error : -EPROTO;
		}
		if (nlh->nlmsg_type == RTM_NEWLINK && link_parse(nlh, &link))
			links_put(into, &link);
	}
	return 1;
}

static int dump_once(struct ctf_rtnl_req *req, GArray *into, bool *ret_intr)
{
	int r = 1;

	send_dump_request(req);
	while (r == 1) {
		ssize_t n = mnl_socket_recvfrom(req->nl, req->buf, CTF_RTNL_BUF_SIZE);

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		r = dump_datagram(req, (int)n, into, ret_intr);
	}
	return r;
}

static bool links_equal(const GArray *a, const GArray *b)
{
	if (a->len != b->len)
		return false;
	for (guint i = 0; i < a->len; i++)
		if (!link_same(&g_array_index(a, struct ctf_if_link, i),
			       &g_array_index(b, struct ctf_if_link, i)))
			return false;
	return true;
}

gboolean ctf_links_dump(struct ctf_links *l, struct ctf_rtnl_req *req, GError **error)
{
	for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
		g_autoptr(GArray) fresh = g_array_new(FALSE, TRUE, sizeof(struct ctf_if_link));
		bool intr = false;
		int r = dump_once(req, fresh, &intr);

		if (r < 0)
			return ctf_set_error_errno(error, r, "reading the interface list");
		/* a link came or went mid-dump: the list may miss one, ask again */
		if (intr && attempt + 1 < DUMP_ATTEMPTS)
			continue;
		if (!links_equal(l->links, fresh)) {
			g_array_unref(l->links);
			l->links = g_steal_pointer(&fresh);
			l->generation++;
		}
		return TRUE;
	}
	return TRUE;
}

const struct ctf_if_link *ctf_links_all(const struct ctf_links *l, size_t *ret_n)
{
	*ret_n = l->links->len;
	return (const struct ctf_if_link *)(const void *)l->links->data;
}

const struct ctf_if_link *ctf_links_get(const struct ctf_links *l, uint32_t ifindex)
{
	bool found;
	guint i = links_find(l->links, ifindex, &found);

	return found ? &g_array_index(l->links, struct ctf_if_link, i) : NULL;
}

uint32_t ctf_links_find_name(const struct ctf_links *l, const char *name)
{
	for (guint i = 0; i < l->links->len; i++) {
		const struct ctf_if_link *link = &g_array_index(l->links, struct ctf_if_link, i);

		if (!strcmp(link->name, name))
			return link->ifindex;
	}
	return 0;
}

uint64_t ctf_links_generation(const struct ctf_links *l)
{
	return l->generation;
}
