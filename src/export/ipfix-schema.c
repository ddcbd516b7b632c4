/*
 * IPFIX schema: information model, spec arrays, record mapping.
 *
 * Everything here is pure data and setup: no session, no I/O. The spec
 * arrays below are the single source of truth for template layouts;
 * docs/information-elements.md describes them for operators.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ctflow/error.h"
#include "ctflow/ipfix-schema.h"

/* Spec-only flag bits (never part of a Template ID). */
#define SPEC_V4		0x40	/* IPv4-only field */
#define SPEC_INTERNAL	0x80	/* internal template only (padding) */
_Static_assert(!((SPEC_V4 | SPEC_INTERNAL) & CTF_TMPL_MASK), "spec bits clash");
#define SPEC_ALL	0xffffffffu

/* Offsets of struct ctf_ipfix_rec = wire order. No implicit holes. */
#define REC_AT(f, off) _Static_assert(offsetof(struct ctf_ipfix_rec, f) == (off), #f)
REC_AT(start_ms, 0);	REC_AT(end_ms, 8);	REC_AT(octets, 16);
REC_AT(packets, 24);	REC_AT(rev_octets, 32);	REC_AT(rev_packets, 40);
REC_AT(flow_id, 48);	REC_AT(src6, 56);	REC_AT(dst6, 72);
REC_AT(post_src6, 88);	REC_AT(post_dst6, 104);	REC_AT(src4, 120);
REC_AT(dst4, 124);	REC_AT(post_src4, 128);	REC_AT(post_dst4, 132);
REC_AT(flow_label, 136); REC_AT(ingress_if, 140); REC_AT(egress_if, 144);
REC_AT(ct_zone, 148);	REC_AT(ct_mark, 152);	REC_AT(netns_ino, 156);
REC_AT(ct_id, 160);	REC_AT(sport, 164);	REC_AT(dport, 166);
REC_AT(post_sport, 168); REC_AT(post_dport, 170); REC_AT(icmp4, 172);
REC_AT(icmp6, 174);	REC_AT(rev_tcp_flags, 176); REC_AT(tcp_flags, 178);
REC_AT(vlan, 180);	REC_AT(inner_vlan, 182); REC_AT(proto, 184);
REC_AT(tos, 185);	REC_AT(end_reason, 186); REC_AT(nat_event, 187);
REC_AT(tmpl, 188);
_Static_assert(sizeof(struct ctf_ipfix_rec) == 192, "ctf_ipfix_rec has a hole");
_Static_assert(offsetof(struct ctf_ipfix_reliability, flows) == 8, "rel");
_Static_assert(sizeof(struct ctf_ipfix_reliability) == 48, "rel size");
_Static_assert(offsetof(struct ctf_ipfix_flow_keys, indicator) == 8, "fk");
_Static_assert(sizeof(struct ctf_ipfix_flow_keys) == 16, "fk size");
/* The varlen fields: libfixbuf walks the struct by the template, so any
 * implicit hole before an fbVarfield_t is a crash (IPFIX.md P2). */
#define PROC_AT(f, off) _Static_assert(offsetof(struct ctf_ipfix_proc_rec, f) == (off), #f)
PROC_AT(pid, 192);	PROC_AT(tcp_rtt_us, 196); PROC_AT(tcp_retrans, 200);
PROC_AT(pad, 204);	PROC_AT(comm, 208);	PROC_AT(exe, 208 + sizeof(fbVarfield_t));
PROC_AT(user, 208 + 2 * sizeof(fbVarfield_t));
PROC_AT(container, 208 + 3 * sizeof(fbVarfield_t));
_Static_assert(sizeof(struct ctf_ipfix_proc_rec) == 208 + 4 * sizeof(fbVarfield_t),
	       "ctf_ipfix_proc_rec has a hole");
_Static_assert(offsetof(struct ctf_ipfix_if_name, name) == 8, "if name");
_Static_assert(offsetof(struct ctf_ipfix_if_name, description) == 8 + sizeof(fbVarfield_t),
	       "if description");
_Static_assert(sizeof(struct ctf_ipfix_if_name) == 8 + 2 * sizeof(fbVarfield_t), "if size");
_Static_assert(offsetof(struct ctf_ipfix_netns, name) == 8, "netns name");
_Static_assert(offsetof(struct ctf_ipfix_netns, container) == 8 + sizeof(fbVarfield_t),
	       "netns container");
_Static_assert(sizeof(struct ctf_ipfix_netns) == 8 + 2 * sizeof(fbVarfield_t), "netns size");

/*
 * Data record fields, in struct ctf_ipfix_rec order. A spec's flags must
 * all be present in a template's flags for the field to be included.
 */
static fbInfoElementSpec_t data_spec[] = {
	{ "flowStartMilliseconds",		8, 0 },
	{ "flowEndMilliseconds",		8, 0 },
	{ "octetDeltaCount",			8, 0 },
	{ "packetDeltaCount",			8, 0 },
	{ "reverseOctetDeltaCount",		8, CTF_TMPL_BIFLOW },
	{ "reversePacketDeltaCount",		8, CTF_TMPL_BIFLOW },
	{ "flowId",				8, 0 },
	{ "sourceIPv6Address",			16, CTF_TMPL_V6 },
	{ "destinationIPv6Address",		16, CTF_TMPL_V6 },
	{ "postNATSourceIPv6Address",		16, CTF_TMPL_V6 | CTF_TMPL_NAT },
	{ "postNATDestinationIPv6Address",	16, CTF_TMPL_V6 | CTF_TMPL_NAT },
	{ "sourceIPv4Address",			4, SPEC_V4 },
	{ "destinationIPv4Address",		4, SPEC_V4 },
	{ "postNATSourceIPv4Address",		4, SPEC_V4 | CTF_TMPL_NAT },
	{ "postNATDestinationIPv4Address",	4, SPEC_V4 | CTF_TMPL_NAT },
	{ "flowLabelIPv6",			4, CTF_TMPL_V6 },
	{ "ingressInterface",			4, 0 },
	{ "egressInterface",			4, 0 },
	{ "ctZone",				4, CTF_TMPL_LIVE },
	{ "ctMark",				4, CTF_TMPL_LIVE },
	{ "netnsInode",				4, CTF_TMPL_LIVE },
	{ "conntrackId",			4, CTF_TMPL_LIVE },
	{ "sourceTransportPort",		2, 0 },
	{ "destinationTransportPort",		2, 0 },
	{ "postNAPTSourceTransportPort",	2, CTF_TMPL_NAT },
	{ "postNAPTDestinationTransportPort",	2, CTF_TMPL_NAT },
	{ "icmpTypeCodeIPv4",			2, SPEC_V4 },
	{ "icmpTypeCodeIPv6",			2, CTF_TMPL_V6 },
	/* reverse first: nfdump 1.7 maps both to one field, last one wins */
	{ "reverseTcpControlBits",		2, CTF_TMPL_BIFLOW },
	{ "tcpControlBits",			2, 0 },
	{ "vlanId",				2, 0 },
	{ "dot1qCustomerVlanId",		2, 0 },
	{ "protocolIdentifier",			1, 0 },
	{ "ipClassOfService",			1, 0 },
	{ "flowEndReason",			1, 0 },
	{ "natEvent",				1, CTF_TMPL_NAT | CTF_TMPL_NAT_EVENT },
	{ "paddingOctets",			4, SPEC_INTERNAL },
	FB_IESPEC_NULL
};

/*
 * The process fields of CTF_TMPL_PROC templates, after every data_spec
 * field, in struct ctf_ipfix_proc_rec order: fixed-size first, then the
 * strings (FB_IE_VARLEN). userName is IANA's (371); the rest are ctflow's.
 */
static fbInfoElementSpec_t proc_spec[] = {
	{ "processId",				4, 0 },
	{ "tcpRttMicroseconds",			4, 0 },
	{ "tcpRetransmissions",			4, 0 },
	{ "paddingOctets",			4, SPEC_INTERNAL },
	{ "processName",			FB_IE_VARLEN, 0 },
	{ "processExecutable",			FB_IE_VARLEN, 0 },
	{ "userName",				FB_IE_VARLEN, 0 },
	{ "containerId",			FB_IE_VARLEN, 0 },
	FB_IESPEC_NULL
};
#define PROC_FIXED_WIRE_LEN 12
#define PROC_N_STRINGS 4

/* Fields that identify a flow (RFC 7011 4.4): the table's key. */
static const char *const flow_key_names[] = {
	"sourceIPv4Address", "destinationIPv4Address",
	"sourceIPv6Address", "destinationIPv6Address",
	"sourceTransportPort", "destinationTransportPort",
	"protocolIdentifier", "icmpTypeCodeIPv4", "icmpTypeCodeIPv6",
	"vlanId", "dot1qCustomerVlanId", "ctZone",
};

/* RFC 7011 4.3, in the shape libfds/ipfixcol2 detect: one scope field,
 * the three notSent counters, then the first/last time pair. */
static fbInfoElementSpec_t reliability_spec[] = {
	{ "exportingProcessId",			4, 0 },
	{ "paddingOctets",			4, SPEC_INTERNAL },
	{ "notSentFlowTotalCount",		8, 0 },
	{ "notSentPacketTotalCount",		8, 0 },
	{ "notSentOctetTotalCount",		8, 0 },
	{ "observationTimeMilliseconds",	8, 0 },
	{ "observationTimeMilliseconds",	8, 0 },
	FB_IESPEC_NULL
};

static fbInfoElementSpec_t flow_keys_spec[] = {
	{ "templateId",				2, 0 },
	{ "paddingOctets",			6, SPEC_INTERNAL },
	{ "flowKeyIndicator",			8, 0 },
	FB_IESPEC_NULL
};

/* Interface names: scope ingressInterface, then IANA's name and
 * description (IF-MIB ifName / ifAlias). */
static fbInfoElementSpec_t if_name_spec[] = {
	{ "ingressInterface",			4, 0 },
	{ "paddingOctets",			4, SPEC_INTERNAL },
	{ "interfaceName",			FB_IE_VARLEN, 0 },
	{ "interfaceDescription",		FB_IE_VARLEN, 0 },
	FB_IESPEC_NULL
};

/* Network namespace names: scope netnsInode (the data records' key for
 * the namespace), then its name and the container it belongs to. */
static fbInfoElementSpec_t netns_spec[] = {
	{ "netnsInode",				4, 0 },
	{ "paddingOctets",			4, SPEC_INTERNAL },
	{ "netnsName",				FB_IE_VARLEN, 0 },
	{ "containerId",			FB_IE_VARLEN, 0 },
	FB_IESPEC_NULL
};

/* ctflow's enterprise elements: add one line to add one element. */
static const struct ctf_ipfix_enterprise_ie enterprise_ies[] = {
	{ "ctZone", CTF_IE_CT_ZONE, 4, FB_UINT_32,
	  FB_IE_IDENTIFIER | FB_IE_F_ENDIAN,
	  "conntrack zone of the flow (CTA_ZONE); 0 = default zone" },
	{ "ctMark", CTF_IE_CT_MARK, 4, FB_UINT_32,
	  FB_IE_FLAGS | FB_IE_F_ENDIAN,
	  "conntrack mark of the flow (CTA_MARK) when it was exported" },
	{ "netnsInode", CTF_IE_NETNS_INODE, 4, FB_UINT_32,
	  FB_IE_IDENTIFIER | FB_IE_F_ENDIAN,
	  "inode number of the network namespace whose conntrack table held the flow" },
	{ "processId", CTF_IE_PROCESS_ID, 4, FB_UINT_32,
	  FB_IE_IDENTIFIER | FB_IE_F_ENDIAN,
	  "PID of the process owning the flow's local socket, as seen from "
	  "ctflow's PID namespace" },
	{ "processName", CTF_IE_PROCESS_NAME, FB_IE_VARLEN, FB_STRING, FB_IE_DEFAULT,
	  "command name of that process (/proc/PID/comm)" },
	{ "processExecutable", CTF_IE_PROCESS_EXE, FB_IE_VARLEN, FB_STRING, FB_IE_DEFAULT,
	  "executable path of that process (/proc/PID/exe)" },
	{ "containerId", CTF_IE_CONTAINER_ID, FB_IE_VARLEN, FB_STRING, FB_IE_DEFAULT,
	  "container id derived from the process's cgroup; empty when none" },
	{ "tcpRttMicroseconds", CTF_IE_TCP_RTT_US, 4, FB_UINT_32,
	  FB_IE_QUANTITY | FB_UNITS_MICROSECONDS | FB_IE_F_ENDIAN,
	  "smoothed round-trip time of the local TCP socket (tcp_info) when the "
	  "record was exported; 0 = unknown" },
	{ "tcpRetransmissions", CTF_IE_TCP_RETRANS, 4, FB_UINT_32,
	  FB_IE_TOTALCOUNTER | FB_UNITS_PACKETS | FB_IE_F_ENDIAN,
	  "segments the local TCP socket retransmitted in its lifetime (tcp_info "
	  "total_retrans) when the record was exported" },
	{ "conntrackId", CTF_IE_CONNTRACK_ID, 4, FB_UINT_32,
	  FB_IE_IDENTIFIER | FB_IE_F_ENDIAN,
	  "conntrack id of the entry (CTA_ID); the kernel reuses ids, flowId is unique" },
	{ "netnsName", CTF_IE_NETNS_NAME, FB_IE_VARLEN, FB_STRING, FB_IE_DEFAULT,
	  "name of the network namespace under /run/netns (as `ip netns` lists it); "
	  "empty when it has none" },
};

struct ctf_ipfix_schema {
	fbInfoModel_t *model;
	uint32_t pen;
};

const struct ctf_ipfix_enterprise_ie *ctf_ipfix_enterprise_ies(size_t *ret_n)
{
	*ret_n = G_N_ELEMENTS(enterprise_ies);
	return enterprise_ies;
}

static gboolean add_enterprise_ies(struct ctf_ipfix_schema *s, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(enterprise_ies); i++) {
		const struct ctf_ipfix_enterprise_ie *e = &enterprise_ies[i];
		fbInfoElement_t ie = { 0 };

		if (fbInfoModelGetElementByName(s->model, e->name) ||
		    fbInfoModelGetElementByID(s->model, e->id, s->pen)) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				    "enterprise element %s (%u/%u) clashes with an element "
				    "already in libfixbuf's model: choose another PEN",
				    e->name, s->pen, e->id);
			return FALSE;
		}
		ie.ref.name = e->name;
		ie.ent = s->pen;
		ie.num = e->id;
		ie.len = e->len;
		ie.flags = e->flags;
		ie.type = e->type;
		ie.description = e->description;
		fbInfoModelAddElement(s->model, &ie);
	}
	return TRUE;
}

static gboolean check_spec(const struct ctf_ipfix_schema *s,
			   const fbInfoElementSpec_t *spec, GError **error)
{
	for (; spec->name; spec++) {
		if (!fbInfoModelGetElementByName(s->model, spec->name)) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED,
				    "information element %s is not in libfixbuf's model",
				    spec->name);
			return FALSE;
		}
	}
	return TRUE;
}

struct ctf_ipfix_schema *ctf_ipfix_schema_new(uint32_t pen, GError **error)
{
	g_autoptr(ctf_ipfix_schema) s = NULL;

	/* 0 is IANA; 29305 is the RFC 5103 reverse PEN. */
	if (pen == 0 || pen == FB_IE_PEN_REVERSE) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "PEN %u cannot carry ctflow's enterprise elements", pen);
		return NULL;
	}
	s = g_new0(struct ctf_ipfix_schema, 1);
	s->pen = pen;
	s->model = fbInfoModelAlloc();
	if (!add_enterprise_ies(s, error) ||
	    !check_spec(s, data_spec, error) ||
	    !check_spec(s, reliability_spec, error) ||
	    !check_spec(s, flow_keys_spec, error) ||
	    !check_spec(s, proc_spec, error) ||
	    !check_spec(s, if_name_spec, error) ||
	    !check_spec(s, netns_spec, error))
		return NULL;
	return g_steal_pointer(&s);
}

void ctf_ipfix_schema_free(struct ctf_ipfix_schema *s)
{
	if (!s)
		return;
	if (s->model)
		fbInfoModelFree(s->model);
	g_free(s);
}

fbInfoModel_t *ctf_ipfix_schema_model(const struct ctf_ipfix_schema *s)
{
	return s->model;
}

uint32_t ctf_ipfix_schema_pen(const struct ctf_ipfix_schema *s)
{
	return s->pen;
}

/* Spec flags a data template of @flags satisfies. */
static uint32_t spec_flags(unsigned flags)
{
	flags &= CTF_TMPL_MASK;
	return flags | ((flags & CTF_TMPL_V6) ? 0 : SPEC_V4);
}

static bool spec_included(const fbInfoElementSpec_t *spec, uint32_t have)
{
	return !spec->flags || (spec->flags & have) == spec->flags;
}

static fbTemplate_t *build(const struct ctf_ipfix_schema *s,
			   fbInfoElementSpec_t *spec, uint32_t flags,
			   uint32_t scope, GError **error)
{
	fbTemplate_t *t = fbTemplateAlloc(s->model);

	if (!fbTemplateAppendSpecArray(t, spec, flags, error)) {
		fbTemplateFreeUnused(t);
		return NULL;
	}
	if (scope)
		fbTemplateSetOptionsScope(t, scope);
	return t;
}

fbTemplate_t *ctf_ipfix_data_template(const struct ctf_ipfix_schema *s,
				      unsigned flags, gboolean internal,
				      GError **error)
{
	fbTemplate_t *t = build(s, data_spec, internal ? SPEC_ALL : spec_flags(flags),
				0, error);

	if (!t || !(flags & CTF_TMPL_PROC))
		return t;
	/* flags 0 leaves the internal-only padding out of the external one */
	if (!fbTemplateAppendSpecArray(t, proc_spec, internal ? SPEC_ALL : 0, error)) {
		fbTemplateFreeUnused(t);
		return NULL;
	}
	return t;
}

/* Internal options templates get no scope: only the wire needs it. */
fbTemplate_t *ctf_ipfix_reliability_template(const struct ctf_ipfix_schema *s,
					     gboolean internal, GError **error)
{
	return build(s, reliability_spec, internal ? SPEC_ALL : 0,
		     internal ? 0 : 1, error);
}

fbTemplate_t *ctf_ipfix_flow_keys_template(const struct ctf_ipfix_schema *s,
					   gboolean internal, GError **error)
{
	return build(s, flow_keys_spec, internal ? SPEC_ALL : 0,
		     internal ? 0 : 1, error);
}

fbTemplate_t *ctf_ipfix_if_name_template(const struct ctf_ipfix_schema *s,
					 gboolean internal, GError **error)
{
	return build(s, if_name_spec, internal ? SPEC_ALL : 0, internal ? 0 : 1,
		     error);
}

fbTemplate_t *ctf_ipfix_netns_template(const struct ctf_ipfix_schema *s,
				       gboolean internal, GError **error)
{
	return build(s, netns_spec, internal ? SPEC_ALL : 0, internal ? 0 : 1, error);
}

size_t ctf_ipfix_data_wire_len(unsigned flags)
{
	uint32_t have = spec_flags(flags);
	size_t len = 0;

	for (const fbInfoElementSpec_t *sp = data_spec; sp->name; sp++)
		if (spec_included(sp, have))
			len += sp->len_override;
	if (flags & CTF_TMPL_PROC)
		len += PROC_FIXED_WIRE_LEN + PROC_N_STRINGS * ctf_ipfix_varlen_wire_len(0);
	return len;
}

size_t ctf_ipfix_proc_rec_wire_len(const struct ctf_ipfix_proc_rec *r)
{
	return ctf_ipfix_data_wire_len(r->rec.tmpl) - PROC_N_STRINGS +
	       ctf_ipfix_varlen_wire_len(r->comm.len) +
	       ctf_ipfix_varlen_wire_len(r->exe.len) +
	       ctf_ipfix_varlen_wire_len(r->user.len) +
	       ctf_ipfix_varlen_wire_len(r->container.len);
}

static bool is_flow_key(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(flow_key_names); i++)
		if (!strcmp(name, flow_key_names[i]))
			return true;
	return false;
}

uint64_t ctf_ipfix_flow_key_indicator(unsigned flags)
{
	uint32_t have = spec_flags(flags);
	uint64_t bits = 0;
	unsigned i = 0;

	for (const fbInfoElementSpec_t *sp = data_spec; sp->name; sp++) {
		if (!spec_included(sp, have))
			continue;
		/* flowKeyIndicator has 64 bits: fields past 63 cannot be keys */
		if (i < 64 && is_flow_key(sp->name))
			bits |= UINT64_C(1) << i;
		i++;
	}
	/* the process fields come last and are never keys */
	return bits;
}

size_t ctf_ipfix_data_field_names(unsigned flags, const char **ret_names,
				  size_t max)
{
	uint32_t have = spec_flags(flags);
	size_t n = 0;

	for (const fbInfoElementSpec_t *sp = data_spec; sp->name; sp++) {
		if (!spec_included(sp, have))
			continue;
		if (n < max)
			ret_names[n] = sp->name;
		n++;
	}
	for (const fbInfoElementSpec_t *sp = proc_spec; (flags & CTF_TMPL_PROC) && sp->name; sp++) {
		if (sp->flags)
			continue;
		if (n < max)
			ret_names[n] = sp->name;
		n++;
	}
	return n;
}

unsigned ctf_ipfix_record_flags(const struct ctf_record *rec, unsigned base)
{
	unsigned f = base & (CTF_TMPL_BIFLOW | CTF_TMPL_LIVE);

	if (rec->family == 6)
		f |= CTF_TMPL_V6;
	if (rec->nat)
		f |= CTF_TMPL_NAT;
	if (rec->nat && rec->nat_event)
		f |= CTF_TMPL_NAT_EVENT;
	if (rec->has_proc && (f & CTF_TMPL_LIVE))
		f |= CTF_TMPL_PROC;
	return f;
}

static uint32_t v4_host(const struct ctf_addr *a)
{
	return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 |
	       (uint32_t)a->b[2] << 8 | a->b[3];
}

void ctf_ipfix_rec_from_record(const struct ctf_record *rec, unsigned base,
			       struct ctf_ipfix_rec *r)
{
	unsigned f = ctf_ipfix_record_flags(rec, base);

	memset(r, 0, sizeof(*r));
	r->start_ms = rec->start_ms;
	r->end_ms = rec->end_ms;
	r->octets = rec->octets;
	r->packets = rec->packets;
	r->rev_octets = rec->rev_octets;
	r->rev_packets = rec->rev_packets;
	r->flow_id = rec->flow_id;
	if (f & CTF_TMPL_V6) {
		memcpy(r->src6, rec->src.b, 16);
		memcpy(r->dst6, rec->dst.b, 16);
		r->flow_label = rec->flow_label;
		r->icmp6 = rec->icmp_type_code;
		if (f & CTF_TMPL_NAT) {
			memcpy(r->post_src6, rec->post_src.b, 16);
			memcpy(r->post_dst6, rec->post_dst.b, 16);
		}
	} else {
		r->src4 = v4_host(&rec->src);
		r->dst4 = v4_host(&rec->dst);
		r->icmp4 = rec->icmp_type_code;
		if (f & CTF_TMPL_NAT) {
			r->post_src4 = v4_host(&rec->post_src);
			r->post_dst4 = v4_host(&rec->post_dst);
		}
	}
	if (f & CTF_TMPL_NAT) {
		r->post_sport = rec->post_sport;
		r->post_dport = rec->post_dport;
	}
	if (f & CTF_TMPL_NAT_EVENT)
		r->nat_event = rec->nat_event;
	r->ingress_if = rec->ingress_if;
	r->egress_if = rec->egress_if;
	r->ct_zone = rec->ct_zone;
	r->ct_mark = rec->ct_mark;
	r->netns_ino = rec->netns_ino;
	r->ct_id = rec->ct_id;
	r->sport = rec->sport;
	r->dport = rec->dport;
	r->tcp_flags = rec->tcp_flags;
	r->rev_tcp_flags = rec->rev_tcp_flags;
	r->vlan = rec->vlan;
	r->inner_vlan = rec->inner_vlan;
	r->proto = rec->proto;
	r->tos = rec->tos;
	r->end_reason = rec->end_reason;
	r->tmpl = (uint8_t)f;
}

/* A NUL-terminated string in a fixed buffer: never beyond the NUL nor the
 * buffer (a string that fills it has no NUL). */
static void set_str(fbVarfield_t *v, const char *buf, size_t size)
{
	v->buf = (uint8_t *)buf;
	v->len = strnlen(buf, size);
}

void ctf_ipfix_proc_rec_from(const struct ctf_ipfix_rec *rec,
			     const struct ctf_proc_info *proc,
			     struct ctf_ipfix_proc_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->rec = *rec;
	r->pid = proc->pid;
	r->tcp_rtt_us = proc->tcp_rtt_us;
	r->tcp_retrans = proc->tcp_retrans;
	set_str(&r->comm, proc->comm, sizeof(proc->comm));
	set_str(&r->exe, proc->exe, sizeof(proc->exe));
	set_str(&r->user, proc->user, sizeof(proc->user));
	set_str(&r->container, proc->container_id, sizeof(proc->container_id));
}
