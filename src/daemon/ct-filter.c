/*
 * Entry filter (see include/ctflow/ct-filter.h). Rules are few, so plain
 * arrays scanned in order are fastest and simplest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctflow/ct-filter.h"
#include "ctflow/error.h"
#include "ctflow/resolve.h"

struct cidr {
	uint8_t family;
	uint8_t prefix;
	struct ctf_addr addr;
};

struct endpoint {
	uint8_t family;
	uint8_t proto;
	uint16_t port;
	struct ctf_addr addr;
};

struct mark {
	uint32_t value;
	uint32_t mask;
};

struct ctf_ct_filter {
	uint8_t protos[256];		/* 1 = reported */
	bool have_protos;
	GArray *cidrs;			/* struct cidr */
	GArray *zones;			/* uint16_t */
	GArray *marks;			/* struct mark */
	GArray *excluded;		/* struct endpoint */
};

struct ctf_ct_filter *ctf_ct_filter_new(void)
{
	struct ctf_ct_filter *f = g_new0(struct ctf_ct_filter, 1);

	f->cidrs = g_array_new(FALSE, TRUE, sizeof(struct cidr));
	f->zones = g_array_new(FALSE, TRUE, sizeof(uint16_t));
	f->marks = g_array_new(FALSE, TRUE, sizeof(struct mark));
	f->excluded = g_array_new(FALSE, TRUE, sizeof(struct endpoint));
	return f;
}

static gboolean parse_u32(const char *s, uint64_t max, uint32_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return FALSE;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return FALSE;
	*ret = (uint32_t)v;
	return TRUE;
}

gboolean ctf_ct_filter_add_proto(struct ctf_ct_filter *f, const char *proto, GError **error)
{
	static const struct { const char *name; uint8_t num; } names[] = {
		{ "icmp", 1 }, { "igmp", 2 }, { "tcp", 6 }, { "udp", 17 }, { "dccp", 33 },
		{ "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "icmpv6", 58 }, { "icmp6", 58 },
		{ "sctp", 132 }, { "udplite", 136 },
	};
	uint32_t n;

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(proto, names[i].name) == 0) {
			f->protos[names[i].num] = 1;
			f->have_protos = true;
			return TRUE;
		}
	}
	if (!parse_u32(proto, 255, &n)) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "protocol '%s': expected a name (tcp, udp, icmp, icmpv6, sctp, ...) "
			    "or a number 0-255", proto);
		return FALSE;
	}
	f->protos[n] = 1;
	f->have_protos = true;
	return TRUE;
}

gboolean ctf_ct_filter_add_cidr(struct ctf_ct_filter *f, const char *cidr, GError **error)
{
	g_autofree char *addr = g_strdup(cidr);
	char *slash = strchr(addr, '/');
	struct cidr c = { 0 };
	uint32_t prefix;

	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, addr, c.addr.b) == 1)
		c.family = 4;
	else if (inet_pton(AF_INET6, addr, c.addr.b) == 1)
		c.family = 6;
	if (!c.family || (slash && !parse_u32(slash, c.family == 4 ? 32 : 128, &prefix))) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "CIDR '%s': expected ADDRESS[/PREFIX], e.g. 10.0.0.0/8 or 2001:db8::/32",
			    cidr);
		return FALSE;
	}
	c.prefix = slash ? (uint8_t)prefix : (c.family == 4 ? 32 : 128);
	g_array_append_val(f->cidrs, c);
	return TRUE;
}

gboolean ctf_ct_filter_add_zone(struct ctf_ct_filter *f, const char *zone, GError **error)
{
	uint32_t z;
	uint16_t v;

	if (!parse_u32(zone, 65535, &z)) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "zone '%s': expected a number 0-65535", zone);
		return FALSE;
	}
	v = (uint16_t)z;
	g_array_append_val(f->zones, v);
	return TRUE;
}

gboolean ctf_ct_filter_add_mark(struct ctf_ct_filter *f, const char *mark, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(mark, "/", 2);
	struct mark m = { .mask = UINT32_MAX };

	if (!parse_u32(parts[0], UINT32_MAX, &m.value) ||
	    (parts[1] && !parse_u32(parts[1], UINT32_MAX, &m.mask))) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "mark '%s': expected VALUE or VALUE/MASK (decimal or 0x hex)", mark);
		return FALSE;
	}
	m.value &= m.mask;
	g_array_append_val(f->marks, m);
	return TRUE;
}

gboolean ctf_ct_filter_exclude_collector(struct ctf_ct_filter *f, uint8_t proto,
					 const char *host, uint16_t port, GError **error)
{
	g_autoptr(GArray) addrs = ctf_resolve_host(host, error);

	if (!addrs)
		return FALSE;
	for (guint i = 0; i < addrs->len; i++) {
		const struct ctf_host_addr *a = &g_array_index(addrs, struct ctf_host_addr, i);
		struct endpoint ep = { .family = a->family, .proto = proto, .port = port,
				       .addr = a->addr };

		g_array_append_val(f->excluded, ep);
	}
	return TRUE;
}

gboolean ctf_ct_filter_attach_kernel(const struct ctf_ct_filter *f, int fd, GError **error)
{
	struct nfct_filter *bpf;
	int r;

	if (!f->have_protos && f->marks->len == 0) {
		nfct_filter_detach(fd);	/* none attached is no error */
		return TRUE;
	}
	bpf = nfct_filter_create();
	if (!bpf)
		return ctf_set_error_errno(error, errno, "creating a conntrack event filter");
	for (int p = 0; f->have_protos && p < 256; p++)
		if (f->protos[p])
			nfct_filter_add_attr_u32(bpf, NFCT_FILTER_L4PROTO, (uint32_t)p);
	for (guint i = 0; i < f->marks->len; i++) {
		const struct mark *m = &g_array_index(f->marks, struct mark, i);
		struct nfct_filter_dump_mark dm = { .val = m->value, .mask = m->mask };

		nfct_filter_add_attr(bpf, NFCT_FILTER_MARK, &dm);
	}
	if (f->marks->len)
		nfct_filter_set_logic(bpf, NFCT_FILTER_MARK, NFCT_FILTER_LOGIC_POSITIVE);
	r = nfct_filter_attach(fd, bpf);
	nfct_filter_destroy(bpf);
	if (r < 0)
		return ctf_set_error_errno(error, errno, "attaching the conntrack event filter");
	return TRUE;
}

static bool prefix_match(const struct ctf_addr *a, const struct cidr *c)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(a->b, c->addr.b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->b[full] ^ c->addr.b[full]) & (0xff00 >> rest)) == 0;
}

static bool excluded(const struct ctf_ct_filter *f, const struct ctf_ct_entry *e)
{
	for (guint i = 0; i < f->excluded->len; i++) {
		const struct endpoint *ep = &g_array_index(f->excluded, struct endpoint, i);

		if (ep->family != e->family || ep->proto != e->orig.proto)
			continue;
		if ((ep->port == e->orig.dport && memcmp(&ep->addr, &e->orig.dst, sizeof(ep->addr)) == 0) ||
		    (ep->port == e->orig.sport && memcmp(&ep->addr, &e->orig.src, sizeof(ep->addr)) == 0))
			return true;
	}
	return false;
}

bool ctf_ct_filter_match(const struct ctf_ct_entry *e, void *filter)
{
	const struct ctf_ct_filter *f = filter;
	bool ok;

	if (f->have_protos && !f->protos[e->orig.proto])
		return false;
	if (f->cidrs->len) {
		ok = false;
		for (guint i = 0; i < f->cidrs->len && !ok; i++) {
			const struct cidr *c = &g_array_index(f->cidrs, struct cidr, i);

			ok = c->family == e->family &&
			     (prefix_match(&e->orig.src, c) || prefix_match(&e->orig.dst, c));
		}
		if (!ok)
			return false;
	}
	if (f->zones->len) {
		ok = false;
		for (guint i = 0; i < f->zones->len && !ok; i++)
			ok = g_array_index(f->zones, uint16_t, i) == e->zone;
		if (!ok)
			return false;
	}
	if (f->marks->len) {
		ok = false;
		for (guint i = 0; i < f->marks->len && !ok; i++) {
			const struct mark *m = &g_array_index(f->marks, struct mark, i);

			ok = (e->mark & m->mask) == m->value;
		}
		if (!ok)
			return false;
	}
	return !excluded(f, e);
}

char *ctf_ct_filter_describe(const struct ctf_ct_filter *f)
{
	GString *s = g_string_new(NULL);

	if (f->have_protos) {
		g_string_append(s, "proto");
		for (int p = 0; p < 256; p++)
			if (f->protos[p])
				g_string_append_printf(s, " %d", p);
		g_string_append(s, "; ");
	}
	g_string_append_printf(s, "%u cidr, %u zone, %u mark rules; %u collector endpoints excluded",
			       f->cidrs->len, f->zones->len, f->marks->len, f->excluded->len);
	return g_string_free(s, FALSE);
}

void ctf_ct_filter_free(struct ctf_ct_filter *f)
{
	if (!f)
		return;
	g_array_unref(f->cidrs);
	g_array_unref(f->zones);
	g_array_unref(f->marks);
	g_array_unref(f->excluded);
	g_free(f);
}
