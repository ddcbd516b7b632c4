/*
 * Text and JSON views: one line per record on a caller's FILE (not owned).
 *
 * Text is for people (times in ISO-8601 UTC, protocol names, flag
 * letters, interface names when the exporter knows them); JSON has every
 * record field under stable snake_case keys, addresses as strings, the
 * owning process as an object, for scripts. Neither is an IPFIX encoding.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctflow/error.h"
#include "output.h"

struct view_output {
	struct ctf_output base;
	const struct ctf_output_env *env;	/* the interface names */
	enum ctf_view_format fmt;
	FILE *fp;
	int last_errno;
};

static const char *addr_str(uint8_t family, const struct ctf_addr *a, char *buf)
{
	return inet_ntop(family == 6 ? AF_INET6 : AF_INET, a->b, buf, INET6_ADDRSTRLEN);
}

/* "10.0.0.1:80" or "[2001:db8::1]:80"; without a port for ICMP */
static const char *endpoint(uint8_t family, const struct ctf_addr *a, uint16_t port,
			    bool icmp, char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN];

	addr_str(family, a, s);
	if (icmp)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, family == 6 ? "[%s]:%u" : "%s:%u", s, port);
	return buf;
}

static const char *iso_ms(uint64_t ms, char *buf, size_t size)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char t[32];

	gmtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03uZ", t, (unsigned)(ms % 1000));
	return buf;
}

static const char *tcp_flags_str(uint16_t f, char buf[16])
{
	static const char letters[] = "FSRPAUECN";	/* bit 0 .. bit 8 */
	char *p = buf;

	for (int i = 8; i >= 0; i--)
		if (f & (1u << i))
			*p++ = letters[i];
	if (p == buf)
		*p++ = '-';
	*p = 0;
	return buf;
}

static const char *end_reason_str(uint8_t r, char buf[8])
{
	switch (r) {
	case CTF_END_IDLE: return "idle";
	case CTF_END_ACTIVE: return "active";
	case CTF_END_EOF: return "detected";	/* end of flow detected: FIN/RST, DESTROY */
	case CTF_END_FORCED: return "forced";
	case CTF_END_RESOURCES: return "resources";
	}
	snprintf(buf, 8, "%u", r);
	return buf;
}

static bool is_icmp(const struct ctf_record *r)
{
	return r->proto == 1 || r->proto == 58;
}

#define APPEND(...) do { \
		if (n < size) \
			n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__); \
	} while (0)

/* A string field for people: "-" when empty, control characters and
 * spaces as '?' and '_' so that the line stays one line of words. */
static const char *text_str(const char *s, size_t max, char *out, size_t size)
{
	size_t i;

	for (i = 0; i < max && s[i] && i + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : c == ' ' ? '_' : (char)c;
	}
	if (i == 0 && size > 1)
		out[i++] = '-';
	out[i] = 0;
	return out;
}
#define TEXT_STR(field, out) text_str(field, sizeof(field), out, sizeof(out))

/* "3" or "3(eth0)" */
static const char *if_str(const struct ctf_output_env *env, uint32_t ifindex,
			  char *out, size_t size)
{
	const char *name = ifindex ? ctf_output_if_name(env, ifindex) : NULL;
	char n[CTF_EXPORT_IF_NAME_SIZE];

	if (name && name[0])
		snprintf(out, size, "%u(%s)", ifindex, text_str(name, sizeof(n), n, sizeof(n)));
	else
		snprintf(out, size, "%u", ifindex);
	return out;
}

/* "4026532001" or "4026532001(blue)": the /run/netns name, else the
 * first 12 digits of the container id, as `docker ps` shows it */
static const char *netns_str(const struct ctf_output_env *env, uint32_t netns,
			     char *out, size_t size)
{
	const struct ctf_netns_name *e = ctf_output_netns(env, netns);
	char n[CTF_EXPORT_NETNS_NAME_SIZE];

	if (e && e->name[0])
		snprintf(out, size, "%u(%s)", netns, text_str(e->name, sizeof(e->name), n, sizeof(n)));
	else if (e && e->container_id[0])
		snprintf(out, size, "%u(%.12s)", netns, text_str(e->container_id,
								  sizeof(e->container_id), n, sizeof(n)));
	else
		snprintf(out, size, "%u", netns);
	return out;
}

static size_t text_proc(const struct ctf_proc_info *p, char *buf, size_t size)
{
	char comm[sizeof(p->comm)], exe[sizeof(p->exe)], user[sizeof(p->user)];
	char cid[sizeof(p->container_id)];
	size_t n = 0;

	APPEND(" pid %u comm %s exe %s user %s uid %u container %s rtt %uus retrans %u",
	       p->pid, TEXT_STR(p->comm, comm), TEXT_STR(p->exe, exe),
	       TEXT_STR(p->user, user), p->uid, TEXT_STR(p->container_id, cid),
	       p->tcp_rtt_us, p->tcp_retrans);
	return n;
}

size_t ctf_view_format_text(const struct ctf_record *r, const struct ctf_output_env *env,
			    char *buf, size_t size)
{
	char t1[40], t2[40], a[64], b[64], pb[8], rb[8], f1[16], f2[16];
	size_t n = 0;

	APPEND("%s %s %s", iso_ms(r->start_ms, t1, sizeof(t1)),
	       iso_ms(r->end_ms, t2, sizeof(t2)), ctf_proto_name(r->proto, pb));
	APPEND(" %s -> %s", endpoint(r->family, &r->src, r->sport, is_icmp(r), a, sizeof(a)),
	       endpoint(r->family, &r->dst, r->dport, is_icmp(r), b, sizeof(b)));
	if (is_icmp(r))
		APPEND(" icmp %u/%u", r->icmp_type_code >> 8, r->icmp_type_code & 0xff);
	APPEND(" pkts %" PRIu64 "/%" PRIu64 " bytes %" PRIu64 "/%" PRIu64,
	       r->packets, r->rev_packets, r->octets, r->rev_octets);
	if (r->proto == 6)
		APPEND(" flags %s/%s", tcp_flags_str(r->tcp_flags, f1),
		       tcp_flags_str(r->rev_tcp_flags, f2));
	APPEND(" end %s flow %" PRIu64, end_reason_str(r->end_reason, rb), r->flow_id);
	if (r->vlan || r->inner_vlan)
		APPEND(" vlan %u/%u", r->vlan, r->inner_vlan);
	if (r->nat)
		APPEND(" nat %s -> %s",
		       endpoint(r->family, &r->post_src, r->post_sport, is_icmp(r), a, sizeof(a)),
		       endpoint(r->family, &r->post_dst, r->post_dport, is_icmp(r), b, sizeof(b)));
	APPEND(" if %s->%s", if_str(env, r->ingress_if, a, sizeof(a)),
	       if_str(env, r->egress_if, b, sizeof(b)));
	/* live records (conntrack): a pcap record has none of these */
	if (r->ct_zone || r->ct_mark || r->netns_ino) {
		char ns[CTF_EXPORT_NETNS_NAME_SIZE + 16];

		APPEND(" zone %u mark 0x%x netns %s ctid %u", r->ct_zone, r->ct_mark,
		       netns_str(env, r->netns_ino, ns, sizeof(ns)), r->ct_id);
	}
	if (r->has_proc && n < size)
		n += text_proc(&r->proc, buf + n, size - n);
	return MIN(n, size ? size - 1 : 0);
}

/* A JSON string (quoted, escaped) of the NUL-terminated @s, at most @max
 * bytes, into @buf. Returns the length written. Input is UTF-8 already. */
static size_t json_str(const char *s, size_t max, char *buf, size_t size)
{
	size_t n = 0;

	APPEND("\"");
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			APPEND("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			APPEND("\\u%04x", c);
		else
			APPEND("%c", c);
	}
	APPEND("\"");
	return n;
}
#define JSON_STR(field) do { \
		if (n < size) \
			n += json_str(field, sizeof(field), buf + n, size - n); \
	} while (0)

static size_t json_if_name(const struct ctf_output_env *env, uint32_t ifindex,
			   char *buf, size_t size)
{
	const char *name = ifindex ? ctf_output_if_name(env, ifindex) : NULL;

	if (!name)
		return (size_t)snprintf(buf, size, "null");
	return json_str(name, CTF_EXPORT_IF_NAME_SIZE, buf, size);
}

/* ,"netns_name":..,"netns_container_id":..: null when not known */
static size_t json_netns(const struct ctf_output_env *env, uint32_t netns, char *buf,
			 size_t size)
{
	const struct ctf_netns_name *e = netns ? ctf_output_netns(env, netns) : NULL;
	size_t n = 0;

	APPEND(",\"netns_name\":");
	if (e && e->name[0])
		JSON_STR(e->name);
	else
		APPEND("null");
	APPEND(",\"netns_container_id\":");
	if (e && e->container_id[0])
		JSON_STR(e->container_id);
	else
		APPEND("null");
	return n;
}

static size_t json_proc(const struct ctf_record *r, char *buf, size_t size)
{
	const struct ctf_proc_info *p = &r->proc;
	size_t n = 0;

	if (!r->has_proc) {
		APPEND(",\"proc\":null");
		return n;
	}
	APPEND(",\"proc\":{\"pid\":%u,\"uid\":%u,\"comm\":", p->pid, p->uid);
	JSON_STR(p->comm);
	APPEND(",\"exe\":");
	JSON_STR(p->exe);
	APPEND(",\"user\":");
	JSON_STR(p->user);
	APPEND(",\"container_id\":");
	JSON_STR(p->container_id);
	APPEND(",\"tcp_rtt_us\":%u,\"tcp_retrans\":%u}", p->tcp_rtt_us, p->tcp_retrans);
	return n;
}

size_t ctf_view_format_json(const struct ctf_record *r, const struct ctf_output_env *env,
			    char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	char ps[INET6_ADDRSTRLEN + 2] = "null", pd[INET6_ADDRSTRLEN + 2] = "null";
	size_t n = 0;

	addr_str(r->family, &r->src, s);
	addr_str(r->family, &r->dst, d);
	if (r->nat) {
		char x[INET6_ADDRSTRLEN];

		snprintf(ps, sizeof(ps), "\"%s\"", addr_str(r->family, &r->post_src, x));
		snprintf(pd, sizeof(pd), "\"%s\"", addr_str(r->family, &r->post_dst, x));
	}
	APPEND("{\"start_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64, r->start_ms, r->end_ms);
	APPEND(",\"family\":%u,\"proto\":%u,\"src\":\"%s\",\"dst\":\"%s\""
	       ",\"sport\":%u,\"dport\":%u", r->family, r->proto, s, d, r->sport, r->dport);
	APPEND(",\"icmp_type_code\":%u,\"octets\":%" PRIu64 ",\"packets\":%" PRIu64
	       ",\"rev_octets\":%" PRIu64 ",\"rev_packets\":%" PRIu64, r->icmp_type_code,
	       r->octets, r->packets, r->rev_octets, r->rev_packets);
	APPEND(",\"tcp_flags\":%u,\"rev_tcp_flags\":%u,\"tos\":%u,\"end_reason\":%u"
	       ",\"flow_id\":%" PRIu64, r->tcp_flags, r->rev_tcp_flags, r->tos,
	       r->end_reason, r->flow_id);
	APPEND(",\"vlan\":%u,\"inner_vlan\":%u,\"ingress_if\":%u,\"egress_if\":%u"
	       ",\"flow_label\":%u", r->vlan, r->inner_vlan, r->ingress_if, r->egress_if,
	       r->flow_label);
	APPEND(",\"ingress_if_name\":");
	if (n < size)
		n += json_if_name(env, r->ingress_if, buf + n, size - n);
	APPEND(",\"egress_if_name\":");
	if (n < size)
		n += json_if_name(env, r->egress_if, buf + n, size - n);
	APPEND(",\"ct_zone\":%u,\"ct_mark\":%u,\"netns_ino\":%u,\"ct_id\":%u", r->ct_zone,
	       r->ct_mark, r->netns_ino, r->ct_id);
	if (n < size)
		n += json_netns(env, r->netns_ino, buf + n, size - n);
	APPEND(",\"nat\":%s,\"post_src\":%s,\"post_dst\":%s,\"post_sport\":%u"
	       ",\"post_dport\":%u,\"nat_event\":%u", r->nat ? "true" : "false", ps, pd,
	       r->post_sport, r->post_dport, r->nat_event);
	if (n < size)
		n += json_proc(r, buf + n, size - n);
	APPEND("}");
	return MIN(n, size ? size - 1 : 0);
}

static void view_push(struct ctf_output *o, const struct ctf_record *rec,
		      const struct ctf_ipfix_rec *irec)
{
	struct view_output *v = (struct view_output *)o;
	char line[CTF_VIEW_LINE_MAX];
	size_t n = v->fmt == CTF_VIEW_JSON
			   ? ctf_view_format_json(rec, v->env, line, sizeof(line) - 1)
			   : ctf_view_format_text(rec, v->env, line, sizeof(line) - 1);

	o->stats.records_in++;
	line[n++] = '\n';
	if (fwrite(line, 1, n, v->fp) != n) {
		v->last_errno = errno;
		o->stats.send_errors++;
		ctf_output_count_drop(o, 1, rec->packets + rec->rev_packets,
				      rec->octets + rec->rev_octets);
		return;
	}
	o->stats.records_sent++;
	o->stats.bytes += n;
}

static void view_tick(struct ctf_output *o, int64_t now_us)
{
	fflush(((struct view_output *)o)->fp);
}

static gboolean view_finish(struct ctf_output *o, int64_t deadline_us, GError **error)
{
	struct view_output *v = (struct view_output *)o;

	if (fflush(v->fp) != 0 && !v->last_errno)
		v->last_errno = errno;
	if (v->last_errno) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_IO, "%s: %s", o->name,
			    g_strerror(v->last_errno));
		return FALSE;
	}
	return TRUE;
}

static void view_free(struct ctf_output *o)
{
	ctf_output_clear(o);
	g_free(o);
}

static const struct ctf_output_ops view_ops = {
	.push = view_push,
	.tick = view_tick,
	.finish = view_finish,
	.free = view_free,
};

struct ctf_output *ctf_output_view_new(const struct ctf_output_env *env,
				       enum ctf_view_format fmt, FILE *fp)
{
	struct view_output *v = g_new0(struct view_output, 1);

	ctf_output_init(&v->base, &view_ops, fmt == CTF_VIEW_JSON ? "json view" : "text view",
			false);
	v->env = env;
	v->fmt = fmt;
	v->fp = fp;
	/* one line per record reaches a pipe or terminal at once */
	if (fp == stdout)
		setvbuf(fp, NULL, _IOLBF, 0);
	return &v->base;
}
