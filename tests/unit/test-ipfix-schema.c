/*
 * IPFIX schema: template field lists and IDs per flag combination, the
 * internal struct against libfixbuf's idea of it, flow keys, record
 * mapping, and an encode -> decode round trip through a temporary file
 * read back with libfixbuf's own collector (fbCollectorAllocFile): flow
 * records with and without the owning process (varlen strings of every
 * length class), interface name options records, and the views.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctflow/error.h"
#include "ctflow/export.h"
#include "ctflow/ipfix-schema.h"
/* the encoder itself, for what the public API cannot produce (strings
 * longer than any ctf_proc_info buffer, a small MTU) */
#include "../../src/export/ipfix-encoder.h"

#define PEN 32473

static bool has(const char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static void test_invalid(void **state)
{
	g_autoptr(GError) err = NULL;

	assert_null(ctf_ipfix_schema_new(0, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	assert_null(ctf_ipfix_schema_new(FB_IE_PEN_REVERSE, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	ctf_ipfix_schema_free(NULL);
}

static void test_template_ids(void **state)
{
	for (unsigned f = 0; f < CTF_TMPL_COUNT; f++) {
		uint16_t tid = ctf_ipfix_data_tid(f);

		if (f & CTF_TMPL_PROC)
			assert_int_equal(tid, 0x440 + (f & 0x1f));
		else
			assert_int_equal(tid, 0x140 + f);
		assert_true(ctf_ipfix_is_data_tid(tid));
		assert_int_equal(ctf_ipfix_tid_flags(tid), f);
		assert_true((tid & 0xff00) != 0x200);	/* options templates */
	}
	/* a stray bit never yields a foreign ID */
	assert_int_equal(ctf_ipfix_data_tid(0x40 | CTF_TMPL_V6), 0x141);
	assert_int_equal(ctf_ipfix_data_tid(0x80 | CTF_TMPL_PROC), 0x440);
	/* layout 2 (conntrackId): every ID of layout 1 changed */
	assert_int_equal(CTF_IPFIX_LAYOUT, 2);
	assert_false(ctf_ipfix_is_data_tid(CTF_IPFIX_TID_IF_NAME));
	assert_false(ctf_ipfix_is_data_tid(CTF_IPFIX_TID_RELIABILITY));
	assert_false(ctf_ipfix_is_data_tid(0x120));	/* layout 1 */
	assert_false(ctf_ipfix_is_data_tid(0x428));
	assert_false(ctf_ipfix_is_data_tid(0x160));
}

/* The exact field list of the richest template, in wire order. */
static void test_fields_v6_biflow_nat_live(void **state)
{
	static const char *want[] = {
		"flowStartMilliseconds", "flowEndMilliseconds", "octetDeltaCount",
		"packetDeltaCount", "reverseOctetDeltaCount", "reversePacketDeltaCount",
		"flowId", "sourceIPv6Address", "destinationIPv6Address",
		"postNATSourceIPv6Address", "postNATDestinationIPv6Address",
		"flowLabelIPv6", "ingressInterface", "egressInterface", "ctZone", "ctMark",
		"netnsInode", "conntrackId", "sourceTransportPort", "destinationTransportPort",
		"postNAPTSourceTransportPort", "postNAPTDestinationTransportPort",
		"icmpTypeCodeIPv6", "reverseTcpControlBits", "tcpControlBits", "vlanId",
		"dot1qCustomerVlanId", "protocolIdentifier", "ipClassOfService",
		"flowEndReason", "natEvent",
	};
	const char *names[64];
	unsigned f = CTF_TMPL_V6 | CTF_TMPL_BIFLOW | CTF_TMPL_NAT | CTF_TMPL_LIVE |
		     CTF_TMPL_NAT_EVENT;
	size_t n = ctf_ipfix_data_field_names(f, names, 64);

	assert_int_equal(n, G_N_ELEMENTS(want));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(names[i], want[i]);
	assert_int_equal(ctf_ipfix_data_wire_len(f), 7 * 8 + 4 * 16 + 7 * 4 + 9 * 2 + 4);
}

/* The process template: the same fields, then the process ones. */
static void test_fields_proc(void **state)
{
	static const char *tail[] = {
		"processId", "tcpRttMicroseconds", "tcpRetransmissions", "processName",
		"processExecutable", "userName", "containerId",
	};
	const char *names[64], *plain[64];
	unsigned f = CTF_TMPL_BIFLOW | CTF_TMPL_LIVE;
	size_t np = ctf_ipfix_data_field_names(f, plain, 64);
	size_t n = ctf_ipfix_data_field_names(f | CTF_TMPL_PROC, names, 64);

	assert_int_equal(n, np + G_N_ELEMENTS(tail));
	for (size_t i = 0; i < np; i++)
		assert_string_equal(names[i], plain[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(tail); i++)
		assert_string_equal(names[np + i], tail[i]);
	/* three u32 and four empty strings (one length octet each) */
	assert_int_equal(ctf_ipfix_data_wire_len(f | CTF_TMPL_PROC),
			 ctf_ipfix_data_wire_len(f) + 12 + 4);
	assert_int_equal(ctf_ipfix_flow_key_indicator(f | CTF_TMPL_PROC),
			 ctf_ipfix_flow_key_indicator(f));
	assert_int_equal(ctf_ipfix_varlen_wire_len(0), 1);
	assert_int_equal(ctf_ipfix_varlen_wire_len(254), 255);
	assert_int_equal(ctf_ipfix_varlen_wire_len(255), 258);
	assert_int_equal(ctf_ipfix_varlen_wire_len(300), 303);
}

/* Octets on the wire of template @t with every varlen field empty. */
static size_t min_wire_len(fbTemplate_t *t)
{
	size_t len = 0;

	for (uint32_t i = 0; i < fbTemplateCountElements(t); i++) {
		const fbInfoElement_t *ie = fbTemplateGetIndexedIE(t, i);

		len += ie->len == FB_IE_VARLEN ? 1 : ie->len;
	}
	return len;
}

/* Every combination: which fields, how long, and that libfixbuf agrees. */
static void test_fields_all_combinations(void **state)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ipfix_schema) s = ctf_ipfix_schema_new(PEN, &err);

	assert_non_null(s);
	for (unsigned f = 0; f < CTF_TMPL_COUNT; f++) {
		const char *names[64];
		size_t n = ctf_ipfix_data_field_names(f, names, 64);
		bool v6 = f & CTF_TMPL_V6, bi = f & CTF_TMPL_BIFLOW;
		bool nat = f & CTF_TMPL_NAT, live = f & CTF_TMPL_LIVE;
		bool ev = f & CTF_TMPL_NAT_EVENT;
		fbTemplate_t *t = ctf_ipfix_data_template(s, f, FALSE, &err);

		assert_non_null(t);
		assert_int_equal(fbTemplateCountElements(t), n);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(fbTemplateGetIndexedIE(t, (uint32_t)i)->ref.canon->ref.name,
					    names[i]);
		assert_int_equal(min_wire_len(t), ctf_ipfix_data_wire_len(f));
		if (!(f & CTF_TMPL_PROC))
			assert_int_equal(fbTemplateGetIELenOfMemBuffer(t),
					 ctf_ipfix_data_wire_len(f));
		fbTemplateFreeUnused(t);

		assert_true(has(names, n, "flowStartMilliseconds"));
		assert_true(has(names, n, "octetDeltaCount"));
		assert_true(has(names, n, "flowId"));
		assert_false(has(names, n, "paddingOctets"));
		assert_int_equal(has(names, n, "sourceIPv6Address"), v6);
		assert_int_equal(has(names, n, "flowLabelIPv6"), v6);
		assert_int_equal(has(names, n, "icmpTypeCodeIPv6"), v6);
		assert_int_equal(has(names, n, "sourceIPv4Address"), !v6);
		assert_int_equal(has(names, n, "icmpTypeCodeIPv4"), !v6);
		assert_int_equal(has(names, n, "reverseOctetDeltaCount"), bi);
		assert_int_equal(has(names, n, "reverseTcpControlBits"), bi);
		assert_int_equal(has(names, n, "natEvent"), nat && ev);
		assert_int_equal(has(names, n, "postNAPTSourceTransportPort"), nat);
		assert_int_equal(has(names, n, "postNATSourceIPv4Address"), nat && !v6);
		assert_int_equal(has(names, n, "postNATSourceIPv6Address"), nat && v6);
		assert_int_equal(has(names, n, "ctZone"), live);
		assert_int_equal(has(names, n, "netnsInode"), live);
		assert_int_equal(has(names, n, "conntrackId"), live);
		assert_int_equal(has(names, n, "processId"), !!(f & CTF_TMPL_PROC));
		assert_int_equal(has(names, n, "userName"), !!(f & CTF_TMPL_PROC));
		assert_int_equal(has(names, n, "containerId"), !!(f & CTF_TMPL_PROC));
	}
}

/* The internal template is struct ctf_ipfix_rec, byte for byte. */
static void test_internal_struct(void **state)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ipfix_schema) s = ctf_ipfix_schema_new(PEN, &err);
	fbTemplate_t *t;

	assert_non_null(s);
	t = ctf_ipfix_data_template(s, 0, TRUE, &err);
	assert_non_null(t);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), sizeof(struct ctf_ipfix_rec));
	fbTemplateFreeUnused(t);
	t = ctf_ipfix_reliability_template(s, TRUE, &err);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), sizeof(struct ctf_ipfix_reliability));
	fbTemplateFreeUnused(t);
	t = ctf_ipfix_reliability_template(s, FALSE, &err);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), CTF_IPFIX_RELIABILITY_WIRE_LEN);
	assert_int_equal(fbTemplateGetOptionsScope(t), 1);
	fbTemplateFreeUnused(t);
	t = ctf_ipfix_flow_keys_template(s, TRUE, &err);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), sizeof(struct ctf_ipfix_flow_keys));
	fbTemplateFreeUnused(t);
	t = ctf_ipfix_flow_keys_template(s, FALSE, &err);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), CTF_IPFIX_FLOW_KEYS_WIRE_LEN);
	fbTemplateFreeUnused(t);
	/* varlen: libfixbuf lays an fbVarfield_t out per string field */
	t = ctf_ipfix_data_template(s, CTF_TMPL_PROC | CTF_TMPL_V6, TRUE, &err);
	assert_non_null(t);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), sizeof(struct ctf_ipfix_proc_rec));
	fbTemplateFreeUnused(t);
	t = ctf_ipfix_if_name_template(s, TRUE, &err);
	assert_non_null(t);
	assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), sizeof(struct ctf_ipfix_if_name));
	assert_int_equal(fbTemplateGetOptionsScope(t), 0);
	fbTemplateFreeUnused(t);
	t = ctf_ipfix_if_name_template(s, FALSE, &err);
	assert_non_null(t);
	assert_int_equal(fbTemplateCountElements(t), 3);
	assert_int_equal(fbTemplateGetOptionsScope(t), 1);
	assert_string_equal(fbTemplateGetIndexedIE(t, 0)->ref.canon->ref.name, "ingressInterface");
	assert_int_equal(fbTemplateGetIndexedIE(t, 1)->num, 82);
	assert_int_equal(fbTemplateGetIndexedIE(t, 2)->num, 83);
	fbTemplateFreeUnused(t);
	assert_int_equal(offsetof(struct ctf_ipfix_proc_rec, comm), 208);
	assert_int_equal(offsetof(struct ctf_ipfix_if_name, name), 8);
	assert_int_equal(offsetof(struct ctf_ipfix_rec, ct_id), 160);
	assert_int_equal(offsetof(struct ctf_ipfix_rec, tmpl), 188);
	assert_int_equal(sizeof(struct ctf_ipfix_rec), 192);
}

static void test_enterprise(void **state)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ipfix_schema) s = ctf_ipfix_schema_new(4242, &err);
	const fbInfoElement_t *ie;
	size_t n;
	const struct ctf_ipfix_enterprise_ie *e = ctf_ipfix_enterprise_ies(&n);

	assert_non_null(s);
	assert_int_equal(n, 11);
	assert_int_equal(ctf_ipfix_schema_pen(s), 4242);
	for (size_t i = 0; i < n; i++) {
		bool str = e[i].type == FB_STRING;

		ie = fbInfoModelGetElementByName(ctf_ipfix_schema_model(s), e[i].name);
		assert_non_null(ie);
		assert_int_equal(ie->ent, 4242);
		assert_int_equal(ie->num, e[i].id);
		assert_int_equal(e[i].id, i + 1);	/* numbers are never reused */
		assert_int_equal(ie->len, str ? FB_IE_VARLEN : 4);
		/* integers are byte-swapped by libfixbuf, strings copied */
		assert_int_equal(!!(ie->flags & FB_IE_F_ENDIAN), !str);
	}
	ie = fbInfoModelGetElementByName(ctf_ipfix_schema_model(s), "processName");
	assert_int_equal(ie->num, CTF_IE_PROCESS_NAME);
	assert_int_equal(ie->type, FB_STRING);
	ie = fbInfoModelGetElementByName(ctf_ipfix_schema_model(s), "tcpRttMicroseconds");
	assert_int_equal(ie->num, CTF_IE_TCP_RTT_US);
	assert_int_equal(ie->flags & 0xff0000, FB_UNITS_MICROSECONDS);
	ie = fbInfoModelGetElementByName(ctf_ipfix_schema_model(s), "conntrackId");
	assert_non_null(ie);
	assert_int_equal(ie->num, CTF_IE_CONNTRACK_ID);
	assert_int_equal(ie->num, 10);
	assert_int_equal(ie->type, FB_UINT_32);
	assert_int_equal(ie->flags & 0xff00, FB_IE_IDENTIFIER);
	/* IANA's userName (371), not an enterprise one */
	ie = fbInfoModelGetElementByName(ctf_ipfix_schema_model(s), "userName");
	assert_int_equal(ie->ent, 0);
	assert_int_equal(ie->num, 371);
}

static void test_flow_keys(void **state)
{
	for (unsigned f = 0; f < CTF_TMPL_COUNT; f++) {
		const char *names[64];
		size_t n = ctf_ipfix_data_field_names(f, names, 64);
		uint64_t bits = ctf_ipfix_flow_key_indicator(f);

		for (size_t i = 0; i < n; i++) {
			bool key = strstr(names[i], "IPv4Address") || strstr(names[i], "IPv6Address") ||
				   strstr(names[i], "TransportPort") || strstr(names[i], "icmpTypeCode") ||
				   !strcmp(names[i], "protocolIdentifier") || !strcmp(names[i], "vlanId") ||
				   !strcmp(names[i], "dot1qCustomerVlanId") || !strcmp(names[i], "ctZone");

			if (strstr(names[i], "postNA"))
				key = false;
			assert_int_equal(!!(bits & (UINT64_C(1) << i)), key);
		}
		assert_int_equal(bits >> n, 0);
	}
}

static void addr4(struct ctf_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, sizeof(*a));
	a->b[0] = x, a->b[1] = y, a->b[2] = z, a->b[3] = w;
}

static void addr6(struct ctf_addr *a, uint8_t last)
{
	static const uint8_t p[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	memcpy(a->b, p, 16);
	a->b[15] = last;
}

static struct ctf_record given_v4_tcp(void)
{
	struct ctf_record r = {
		.start_ms = 1700000000123, .end_ms = 1700000004567,
		.octets = 123456789012, .packets = 1000, .rev_octets = 555, .rev_packets = 7,
		.flow_id = UINT64_C(0x1122334455667788), .ingress_if = 3, .egress_if = 4,
		.sport = 40000, .dport = 443, .tcp_flags = 0x1b, .rev_tcp_flags = 0x12,
		.vlan = 100, .inner_vlan = 200, .family = 4, .proto = 6, .tos = 0xb8,
		.end_reason = CTF_END_EOF, .ct_zone = 7, .ct_mark = 0xdeadbeef,
		.netns_ino = 4026531840u, .ct_id = 0x9abcdef0,
	};

	addr4(&r.src, 10, 0, 0, 1);
	addr4(&r.dst, 192, 0, 2, 80);
	return r;
}

static struct ctf_record given_nat(struct ctf_record r)
{
	r.nat = true;
	r.nat_event = CTF_NAT44_CREATE;
	if (r.family == 4) {
		addr4(&r.post_src, 198, 51, 100, 9);
		addr4(&r.post_dst, 192, 0, 2, 80);
	} else {
		addr6(&r.post_src, 0x99);
		addr6(&r.post_dst, 0x98);
	}
	r.post_sport = 61000;
	r.post_dport = r.dport;
	return r;
}

static struct ctf_record given_v6_icmp(void)
{
	struct ctf_record r = given_v4_tcp();

	r.family = 6;
	r.proto = 58;
	r.sport = r.dport = 0;
	r.tcp_flags = r.rev_tcp_flags = 0;
	r.icmp_type_code = 128 << 8;
	r.flow_label = 0xabcde;
	addr6(&r.src, 1);
	addr6(&r.dst, 2);
	return r;
}

static void test_rec_from_record(void **state)
{
	struct ctf_record r = given_v4_tcp();
	struct ctf_ipfix_rec x;

	ctf_ipfix_rec_from_record(&r, CTF_TMPL_BIFLOW, &x);
	assert_int_equal(x.src4, 0x0a000001);	/* host order: IPFIX.md P4 */
	assert_int_equal(x.dst4, 0xc0000250);
	assert_int_equal(x.tmpl, CTF_TMPL_BIFLOW);
	assert_int_equal(x.post_src4, 0);	/* not NATed: not copied */
	r = given_nat(r);
	ctf_ipfix_rec_from_record(&r, CTF_TMPL_BIFLOW | CTF_TMPL_LIVE, &x);
	assert_int_equal(x.tmpl, CTF_TMPL_BIFLOW | CTF_TMPL_LIVE | CTF_TMPL_NAT |
				 CTF_TMPL_NAT_EVENT);
	assert_int_equal(x.post_src4, 0xc6336409);
	assert_int_equal(x.nat_event, CTF_NAT44_CREATE);
	r.nat_event = CTF_NAT_NONE;	/* e.g. an update between create and delete */
	ctf_ipfix_rec_from_record(&r, CTF_TMPL_BIFLOW, &x);
	assert_int_equal(x.tmpl, CTF_TMPL_BIFLOW | CTF_TMPL_NAT);
	r = given_v6_icmp();
	ctf_ipfix_rec_from_record(&r, 0, &x);
	assert_int_equal(x.tmpl, CTF_TMPL_V6);
	assert_memory_equal(x.src6, r.src.b, 16);
	assert_int_equal(x.icmp6, 128 << 8);
	assert_int_equal(x.icmp4, 0);
	assert_int_equal(x.src4, 0);
}

/* --- round trip -------------------------------------------------------- */

/* The process part of one decoded record (strings copied out of the
 * message: fbVarfield_t points into libfixbuf's buffer). */
struct decoded_proc {
	bool has;
	uint32_t pid, tcp_rtt_us, tcp_retrans;
	char *comm, *exe, *user, *container;	/* NUL-terminated copies */
	size_t comm_len, exe_len, user_len, container_len;
};

/* One interface name options record, and after how many data records. */
struct decoded_if {
	uint32_t ifindex;
	char *name, *description;
	guint after_records;
};

/* One namespace options record, and after how many data records. */
struct decoded_netns {
	uint32_t netns;
	char *name, *container;
	guint after_records;
};

struct decoded {
	GArray *recs;		/* struct ctf_ipfix_rec, tmpl = template flags */
	GArray *tids;		/* uint16_t per record */
	GArray *procs;		/* struct decoded_proc per record */
	GArray *ifs;		/* struct decoded_if */
	GArray *netns;		/* struct decoded_netns */
	struct ctf_ipfix_reliability rel;
	unsigned n_rel, n_flow_keys, n_ie_types;
	uint64_t flow_keys[CTF_TMPL_COUNT];
};

static char *tmp_path(void)
{
	char *path = g_strdup_printf("%s/ctflow-rt-XXXXXX", g_get_tmp_dir());
	int fd = g_mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	return path;
}

static ctf_exporter *given_file_exporter(bool uniflow, bool live, char **ret_path)
{
	struct ctf_export_config cfg;
	g_autoptr(GError) err = NULL;
	g_autofree char *url = NULL;
	ctf_exporter *ex;

	*ret_path = tmp_path();
	ctf_export_config_init(&cfg);
	cfg.uniflow = uniflow;
	cfg.live = live;
	ex = ctf_exporter_new(&cfg, &err);
	assert_non_null(ex);
	url = g_strdup_printf("file:%s", *ret_path);
	assert_true(ctf_exporter_add_url(ex, url, &err));
	return ex;
}

static char *export_to_file(bool uniflow, bool live, const struct ctf_record *recs, size_t n)
{
	g_autoptr(GError) err = NULL;
	char *path;
	g_autoptr(ctf_exporter) ex = given_file_exporter(uniflow, live, &path);

	for (size_t i = 0; i < n; i++)
		ctf_exporter_push(ex, &recs[i]);
	assert_true(ctf_exporter_finish(ex, &err));
	return path;
}

static void add_internal(fbSession_t *s, uint16_t tid, fbTemplate_t *t)
{
	g_autoptr(GError) err = NULL;

	assert_non_null(t);
	assert_int_equal(fbSessionAddTemplate(s, TRUE, tid, t, &err), tid);
}

static char *copy_var(const fbVarfield_t *v, size_t *ret_len)
{
	*ret_len = v->len;
	/* an empty value may come with buf NULL */
	return v->len ? g_strndup((const char *)v->buf, v->len) : g_strdup("");
}

static void decoded_data(struct decoded *d, fBuf_t *b, uint16_t tid)
{
	g_autoptr(GError) err = NULL;
	struct ctf_ipfix_proc_rec u;
	struct decoded_proc p = { 0 };
	size_t len = sizeof(u);
	unsigned f = ctf_ipfix_tid_flags(tid);

	memset(&u, 0, sizeof(u));
	assert_true(fBufSetInternalTemplate(b, (f & CTF_TMPL_PROC) ? CTF_IPFIX_ITID_DATA_PROC
								   : CTF_IPFIX_ITID_DATA, &err));
	assert_true(fBufNext(b, (uint8_t *)&u, &len, &err));
	u.rec.tmpl = (uint8_t)f;
	if (f & CTF_TMPL_PROC) {
		p.has = true;
		p.pid = u.pid;
		p.tcp_rtt_us = u.tcp_rtt_us;
		p.tcp_retrans = u.tcp_retrans;
		p.comm = copy_var(&u.comm, &p.comm_len);
		p.exe = copy_var(&u.exe, &p.exe_len);
		p.user = copy_var(&u.user, &p.user_len);
		p.container = copy_var(&u.container, &p.container_len);
	}
	g_array_append_val(d->recs, u.rec);
	g_array_append_val(d->tids, tid);
	g_array_append_val(d->procs, p);
}

static void decoded_options(struct decoded *d, fBuf_t *b, uint16_t tid)
{
	g_autoptr(GError) err = NULL;
	union {
		struct ctf_ipfix_reliability rel;
		struct ctf_ipfix_flow_keys fk;
		struct ctf_ipfix_if_name ifn;
		struct ctf_ipfix_netns ns;
		fbInfoElementOptRec_t ie;
	} u;
	size_t len = sizeof(u), l;

	memset(&u, 0, sizeof(u));
	if (tid == CTF_IPFIX_TID_RELIABILITY) {
		assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_RELIABILITY, &err));
		assert_true(fBufNext(b, (uint8_t *)&u.rel, &len, &err));
		d->rel = u.rel;
		d->n_rel++;
	} else if (tid == CTF_IPFIX_TID_FLOW_KEYS) {
		assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_FLOW_KEYS, &err));
		assert_true(fBufNext(b, (uint8_t *)&u.fk, &len, &err));
		assert_true(ctf_ipfix_is_data_tid(u.fk.template_id));
		d->flow_keys[ctf_ipfix_tid_flags(u.fk.template_id)] = u.fk.indicator;
		d->n_flow_keys++;
	} else if (tid == CTF_IPFIX_TID_IF_NAME) {
		struct decoded_if x = { .after_records = d->recs->len };

		assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_IF_NAME, &err));
		assert_true(fBufNext(b, (uint8_t *)&u.ifn, &len, &err));
		x.ifindex = u.ifn.ifindex;
		x.name = copy_var(&u.ifn.name, &l);
		x.description = copy_var(&u.ifn.description, &l);
		g_array_append_val(d->ifs, x);
	} else if (tid == CTF_IPFIX_TID_NETNS) {
		struct decoded_netns x = { .after_records = d->recs->len };

		assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_NETNS, &err));
		assert_true(fBufNext(b, (uint8_t *)&u.ns, &len, &err));
		x.netns = u.ns.netns;
		x.name = copy_var(&u.ns.name, &l);
		x.container = copy_var(&u.ns.container, &l);
		g_array_append_val(d->netns, x);
	} else {
		assert_int_equal(tid, CTF_IPFIX_TID_IE_TYPE);
		assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_IE_TYPE, &err));
		assert_true(fBufNext(b, (uint8_t *)&u.ie, &len, &err));
		assert_int_equal(u.ie.ie_pen, PEN);
		d->n_ie_types++;
	}
}

static void decode_file(const char *path, struct decoded *d)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ipfix_schema) schema = ctf_ipfix_schema_new(PEN, &err);
	fbSession_t *s = fbSessionAlloc(ctf_ipfix_schema_model(schema));
	fbCollector_t *c = fbCollectorAllocFile(NULL, path, &err);
	fBuf_t *b;

	assert_non_null(c);
	add_internal(s, CTF_IPFIX_ITID_DATA, ctf_ipfix_data_template(schema, 0, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_DATA_PROC,
		     ctf_ipfix_data_template(schema, CTF_TMPL_PROC, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_RELIABILITY, ctf_ipfix_reliability_template(schema, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_FLOW_KEYS, ctf_ipfix_flow_keys_template(schema, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_IE_TYPE, fbInfoElementAllocTypeTemplate(ctf_ipfix_schema_model(schema), &err));
	add_internal(s, CTF_IPFIX_ITID_IF_NAME, ctf_ipfix_if_name_template(schema, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_NETNS, ctf_ipfix_netns_template(schema, TRUE, &err));
	b = fBufAllocForCollection(s, c);
	memset(d, 0, sizeof(*d));
	d->recs = g_array_new(FALSE, TRUE, sizeof(struct ctf_ipfix_rec));
	d->tids = g_array_new(FALSE, TRUE, sizeof(uint16_t));
	d->procs = g_array_new(FALSE, TRUE, sizeof(struct decoded_proc));
	d->ifs = g_array_new(FALSE, TRUE, sizeof(struct decoded_if));
	d->netns = g_array_new(FALSE, TRUE, sizeof(struct decoded_netns));
	for (;;) {
		uint16_t tid = 0;
		fbTemplate_t *t = fBufNextCollectionTemplate(b, &tid, &err);

		if (!t) {
			assert_true(g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOF));
			break;
		}
		if (ctf_ipfix_is_data_tid(tid))
			decoded_data(d, b, tid);
		else
			decoded_options(d, b, tid);
	}
	fBufFree(b);
	unlink(path);
}

static void decoded_clear(struct decoded *d)
{
	for (guint i = 0; i < d->procs->len; i++) {
		struct decoded_proc *p = &g_array_index(d->procs, struct decoded_proc, i);

		g_free(p->comm);
		g_free(p->exe);
		g_free(p->user);
		g_free(p->container);
	}
	for (guint i = 0; i < d->ifs->len; i++) {
		g_free(g_array_index(d->ifs, struct decoded_if, i).name);
		g_free(g_array_index(d->ifs, struct decoded_if, i).description);
	}
	g_array_unref(d->recs);
	g_array_unref(d->tids);
	g_array_unref(d->procs);
	g_array_unref(d->ifs);
	for (guint i = 0; i < d->netns->len; i++) {
		g_free(g_array_index(d->netns, struct decoded_netns, i).name);
		g_free(g_array_index(d->netns, struct decoded_netns, i).container);
	}
	g_array_unref(d->netns);
}

/* What a decoder must see for @r: the record's fields, restricted to the
 * template its flags select (fields outside it decode as zero). */
static void expect_decoded(const struct ctf_record *r, unsigned base,
			   const struct ctf_ipfix_rec *got)
{
	struct ctf_ipfix_rec want;

	ctf_ipfix_rec_from_record(r, base, &want);
	if (!(want.tmpl & CTF_TMPL_LIVE))
		want.ct_zone = want.ct_mark = want.netns_ino = want.ct_id = 0;
	if (!(want.tmpl & CTF_TMPL_BIFLOW)) {
		want.rev_octets = want.rev_packets = 0;
		want.rev_tcp_flags = 0;
	}
	assert_int_equal(got->tmpl, want.tmpl);
	assert_memory_equal(got, &want, offsetof(struct ctf_ipfix_rec, tmpl));
}

/* A string field of the process: exactly the bytes before the NUL. */
static void expect_str(const char *got, size_t got_len, const char *field, size_t size)
{
	size_t len = strnlen(field, size);

	assert_int_equal(got_len, len);
	assert_memory_equal(got, field, len);
}

static void expect_proc(const struct ctf_record *r, const struct decoded_proc *p)
{
	assert_true(p->has);
	assert_int_equal(p->pid, r->proc.pid);
	assert_int_equal(p->tcp_rtt_us, r->proc.tcp_rtt_us);
	assert_int_equal(p->tcp_retrans, r->proc.tcp_retrans);
	expect_str(p->comm, p->comm_len, r->proc.comm, sizeof(r->proc.comm));
	expect_str(p->exe, p->exe_len, r->proc.exe, sizeof(r->proc.exe));
	expect_str(p->user, p->user_len, r->proc.user, sizeof(r->proc.user));
	expect_str(p->container, p->container_len, r->proc.container_id,
		   sizeof(r->proc.container_id));
}

static void test_round_trip_biflow(void **state)
{
	struct ctf_record recs[5];
	struct decoded d;
	g_autofree char *path = NULL;
	unsigned base = CTF_TMPL_BIFLOW | CTF_TMPL_LIVE;

	recs[0] = given_v4_tcp();
	recs[1] = given_v6_icmp();
	recs[2] = given_nat(given_v4_tcp());
	recs[3] = given_nat(given_v6_icmp());
	recs[4] = given_nat(given_v6_icmp());
	recs[4].nat_event = CTF_NAT_NONE;	/* NAT66 has no natEvent */
	path = export_to_file(false, true, recs, 5);
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 5);
	assert_int_equal(g_array_index(d.tids, uint16_t, 4),
			 ctf_ipfix_data_tid(base | CTF_TMPL_V6 | CTF_TMPL_NAT));
	for (guint i = 0; i < 5; i++) {
		expect_decoded(&recs[i], base, &g_array_index(d.recs, struct ctf_ipfix_rec, i));
		assert_int_equal(g_array_index(d.tids, uint16_t, i),
				 ctf_ipfix_data_tid(ctf_ipfix_record_flags(&recs[i], base)));
	}
	/* spot checks against the record itself, not the mapping */
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 0).octets, 123456789012);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 0).ct_mark, 0xdeadbeef);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 0).ct_id, 0x9abcdef0);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 1).flow_label, 0xabcde);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 2).post_sport, 61000);
	assert_int_equal(d.n_rel, 2);	/* at session start and at finish */
	assert_int_equal(d.rel.exporting_pid, getpid());
	assert_int_equal(d.rel.flows, 0);
	/* one per data template of the session: six, and six with a process */
	assert_int_equal(d.n_flow_keys, 12);
	for (unsigned v = 0; v < 12; v++) {
		unsigned f = base | (v & 1 ? CTF_TMPL_V6 : 0) | (v % 6 >= 2 ? CTF_TMPL_NAT : 0) |
			     (v % 6 >= 4 ? CTF_TMPL_NAT_EVENT : 0) | (v >= 6 ? CTF_TMPL_PROC : 0);

		assert_int_equal(d.flow_keys[f], ctf_ipfix_flow_key_indicator(f));
	}
	assert_int_equal(d.n_ie_types, 11);
	assert_int_equal(d.ifs->len, 0);	/* no table given: no interface records */
	for (guint i = 0; i < d.procs->len; i++)
		assert_false(g_array_index(d.procs, struct decoded_proc, i).has);
	decoded_clear(&d);
}

static void test_round_trip_uniflow(void **state)
{
	struct ctf_record recs[3], fwd, rev;
	struct decoded d;
	g_autofree char *path = NULL;
	guint k = 0;

	recs[0] = given_v4_tcp();
	recs[1] = given_nat(given_v6_icmp());
	recs[2] = given_v4_tcp();
	recs[2].rev_packets = recs[2].rev_octets = 0;	/* no reply: one record */
	recs[2].rev_tcp_flags = 0;
	for (int i = 0; i < 3; i++)
		recs[i].ct_zone = recs[i].ct_mark = recs[i].netns_ino = recs[i].ct_id = 0;
	path = export_to_file(true, false, recs, 3);
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 5);
	for (int i = 0; i < 3; i++) {
		unsigned which = ctf_record_split_uniflow(&recs[i], &fwd, &rev);

		assert_true(which & CTF_UNIFLOW_FWD);
		expect_decoded(&fwd, 0, &g_array_index(d.recs, struct ctf_ipfix_rec, k++));
		if (which & CTF_UNIFLOW_REV)
			expect_decoded(&rev, 0, &g_array_index(d.recs, struct ctf_ipfix_rec, k++));
	}
	/* the reply direction of record 0: addresses and counters swapped */
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 1).src4, 0xc0000250);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 1).packets, 7);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 1).tcp_flags, 0x12);
	for (guint i = 0; i < d.tids->len; i++)
		assert_false(g_array_index(d.tids, uint16_t, i) & CTF_TMPL_BIFLOW);
	decoded_clear(&d);
}

/* Many records: messages split below the file MTU, none lost. */
static void test_round_trip_many(void **state)
{
	enum { N = 5000 };
	struct ctf_record *recs = g_new(struct ctf_record, N);
	struct decoded d;
	g_autofree char *path = NULL;

	for (int i = 0; i < N; i++) {
		recs[i] = i % 3 ? given_v4_tcp() : given_v6_icmp();
		if (i % 5 == 0)
			recs[i] = given_nat(recs[i]);
		recs[i].flow_id = (uint64_t)i;
		recs[i].packets = (uint64_t)i * 3;
	}
	path = export_to_file(false, true, recs, N);
	decode_file(path, &d);
	assert_int_equal(d.recs->len, N);
	for (int i = 0; i < N; i++)
		expect_decoded(&recs[i], CTF_TMPL_BIFLOW | CTF_TMPL_LIVE,
			       &g_array_index(d.recs, struct ctf_ipfix_rec, i));
	decoded_clear(&d);
	g_free(recs);
}

/* --- process and interface names ---------------------------------------- */

/* Copy @s into the buffer, truncated to its size, NUL only if room. */
static void fill(char *buf, size_t size, const char *s)
{
	memcpy(buf, s, MIN(strlen(s), size));
}

static struct ctf_record given_proc(struct ctf_record r, const char *comm, const char *exe,
				   const char *user, const char *container)
{
	r.has_proc = true;
	memset(&r.proc, 0, sizeof(r.proc));
	r.proc.pid = 4242;
	r.proc.uid = 1000;
	r.proc.tcp_rtt_us = 1234;
	r.proc.tcp_retrans = 5;
	/* exactly-full buffers have no NUL, which must be fine */
	fill(r.proc.comm, sizeof(r.proc.comm), comm);
	fill(r.proc.exe, sizeof(r.proc.exe), exe);
	fill(r.proc.user, sizeof(r.proc.user), user);
	fill(r.proc.container_id, sizeof(r.proc.container_id), container);
	return r;
}

/* A string of @len bytes: @c repeated. Freed by the caller. */
static char *repeat(char c, size_t len)
{
	char *s = g_malloc(len + 1);

	memset(s, c, len);
	s[len] = 0;
	return s;
}

static void test_rec_proc_flags(void **state)
{
	struct ctf_record r = given_proc(given_v4_tcp(), "curl", "/usr/bin/curl", "root", "");
	struct ctf_ipfix_rec x;
	struct ctf_ipfix_proc_rec p;

	ctf_ipfix_rec_from_record(&r, CTF_TMPL_BIFLOW | CTF_TMPL_LIVE, &x);
	assert_int_equal(x.tmpl, CTF_TMPL_BIFLOW | CTF_TMPL_LIVE | CTF_TMPL_PROC);
	/* process fields are live-only: a non-live session ignores them */
	ctf_ipfix_rec_from_record(&r, CTF_TMPL_BIFLOW, &x);
	assert_int_equal(x.tmpl, CTF_TMPL_BIFLOW);
	r.has_proc = false;
	ctf_ipfix_rec_from_record(&r, CTF_TMPL_LIVE, &x);
	assert_int_equal(x.tmpl, CTF_TMPL_LIVE);

	r = given_proc(given_v4_tcp(), "0123456789abcdefXX", "/bin/sh", "", "c");
	memset(r.proc.exe + 8, 'Z', sizeof(r.proc.exe) - 8);	/* garbage after the NUL */
	ctf_ipfix_rec_from_record(&r, CTF_TMPL_LIVE, &x);
	ctf_ipfix_proc_rec_from(&x, &r.proc, &p);
	assert_int_equal(p.comm.len, 16);	/* a full buffer: no NUL, no overrun */
	assert_int_equal(p.exe.len, 7);
	assert_int_equal(p.user.len, 0);
	assert_int_equal(p.container.len, 1);
	assert_ptr_equal(p.exe.buf, r.proc.exe);
	assert_int_equal(p.pid, 4242);
	assert_int_equal(ctf_ipfix_proc_rec_wire_len(&p),
			 ctf_ipfix_data_wire_len(x.tmpl) + 16 + 7 + 0 + 1);
}

/* Records with and without a process in one live session; strings of 0,
 * 1, 254 and 255 octets (the last in the three-octet length form), full
 * buffers without a NUL, multi-byte UTF-8, garbage after the NUL. */
static void test_round_trip_proc(void **state)
{
	g_autofree char *s254 = repeat('a', 254), *s255 = repeat('b', 255);
	g_autofree char *s64 = repeat('f', 64), *s32 = repeat('u', 32), *s16 = repeat('c', 16);
	struct ctf_record recs[7];
	struct decoded d;
	g_autofree char *path = NULL;
	unsigned base = CTF_TMPL_BIFLOW | CTF_TMPL_LIVE;

	recs[0] = given_v4_tcp();
	recs[1] = given_proc(given_v4_tcp(), "curl", "/usr/bin/curl", "root", "");
	memset(recs[1].proc.exe + 14, 'Z', sizeof(recs[1].proc.exe) - 14);
	recs[2] = given_proc(given_nat(given_v6_icmp()), "x", s254, "u", s64);
	recs[3] = given_proc(given_nat(given_v4_tcp()), s16, s255, s32, "0");
	recs[4] = given_proc(given_v6_icmp(), "日本語", "/opt/é/ünïcødé", "josé", "");
	recs[4].proc.tcp_rtt_us = 0;	/* not TCP: unknown */
	recs[4].proc.tcp_retrans = 0;
	recs[5] = given_v6_icmp();
	recs[6] = given_proc(given_v4_tcp(), "", "", "", "");
	recs[6].proc.pid = UINT32_MAX;
	recs[6].proc.tcp_rtt_us = UINT32_MAX;
	recs[6].proc.tcp_retrans = 0x01020304;
	path = export_to_file(false, true, recs, G_N_ELEMENTS(recs));
	decode_file(path, &d);
	assert_int_equal(d.recs->len, G_N_ELEMENTS(recs));
	for (guint i = 0; i < d.recs->len; i++) {
		const struct decoded_proc *p = &g_array_index(d.procs, struct decoded_proc, i);
		unsigned f = ctf_ipfix_record_flags(&recs[i], base);

		expect_decoded(&recs[i], base, &g_array_index(d.recs, struct ctf_ipfix_rec, i));
		assert_int_equal(g_array_index(d.tids, uint16_t, i), ctf_ipfix_data_tid(f));
		assert_int_equal(!!(f & CTF_TMPL_PROC), recs[i].has_proc);
		if (recs[i].has_proc)
			expect_proc(&recs[i], p);
		else
			assert_false(p->has);
	}
	/* spot checks against the literals, not the helpers */
	assert_int_equal(g_array_index(d.tids, uint16_t, 1), 0x44a);
	assert_string_equal(g_array_index(d.procs, struct decoded_proc, 1).exe, "/usr/bin/curl");
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 1).container_len, 0);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 2).comm_len, 1);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 2).exe_len, 254);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 3).exe_len, 255);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 3).comm_len, 16);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 3).user_len, 32);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 2).container_len, 64);
	assert_string_equal(g_array_index(d.procs, struct decoded_proc, 4).comm, "日本語");
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 6).pid, UINT32_MAX);
	assert_int_equal(g_array_index(d.procs, struct decoded_proc, 6).tcp_retrans, 0x01020304);
	decoded_clear(&d);
}

/* --uniflow: both directions carry the process; without live, nobody. */
static void test_round_trip_proc_uniflow_and_offline(void **state)
{
	struct ctf_record r = given_proc(given_v4_tcp(), "nginx", "/usr/sbin/nginx", "www-data",
					 "3f2a9c");
	struct decoded d;
	g_autofree char *p1 = NULL, *p2 = NULL;

	p1 = export_to_file(true, true, &r, 1);
	decode_file(p1, &d);
	assert_int_equal(d.recs->len, 2);
	for (guint i = 0; i < 2; i++) {
		assert_int_equal(g_array_index(d.tids, uint16_t, i),
				 ctf_ipfix_data_tid(CTF_TMPL_LIVE | CTF_TMPL_PROC));
		expect_proc(&r, &g_array_index(d.procs, struct decoded_proc, i));
	}
	decoded_clear(&d);

	p2 = export_to_file(false, false, &r, 1);
	decode_file(p2, &d);
	assert_int_equal(d.recs->len, 1);
	assert_int_equal(g_array_index(d.tids, uint16_t, 0), ctf_ipfix_data_tid(CTF_TMPL_BIFLOW));
	assert_false(g_array_index(d.procs, struct decoded_proc, 0).has);
	assert_int_equal(d.n_flow_keys, 6);	/* no process templates offline */
	decoded_clear(&d);
}

/* The encoder straight into a file, for what ctf_record cannot hold. */
struct file_sink {
	FILE *fp;
	size_t biggest;
	unsigned messages;
};

static void sink_msg(void *userdata, const uint8_t *msg, size_t len,
		     const struct ctf_ipfix_msg_info *info)
{
	struct file_sink *k = userdata;

	assert_int_equal(fwrite(msg, 1, len, k->fp), len);
	k->biggest = MAX(k->biggest, len);
	k->messages++;
}

static char *encode_proc_recs(uint16_t mtu, const struct ctf_ipfix_proc_rec *recs, size_t n,
			      struct file_sink *k)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ipfix_schema) schema = ctf_ipfix_schema_new(PEN, &err);
	struct ctf_ipfix_encoder_config cfg = {
		.flags = CTF_TMPL_BIFLOW | CTF_TMPL_LIVE, .mtu = mtu,
	};
	g_autoptr(ctf_ipfix_encoder) enc = NULL;
	char *path = tmp_path();

	memset(k, 0, sizeof(*k));
	k->fp = fopen(path, "w");
	assert_non_null(k->fp);
	enc = ctf_ipfix_encoder_new(schema, &cfg, sink_msg, k, &err);
	assert_non_null(enc);
	assert_true(ctf_ipfix_encoder_send_templates(enc, NULL, NULL, 0, &err));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ctf_ipfix_encoder_append_proc(enc, &recs[i]), 0);
	assert_true(ctf_ipfix_encoder_flush(enc, &err));
	g_clear_pointer(&enc, ctf_ipfix_encoder_free);
	fclose(k->fp);
	return path;
}

static void set_var(fbVarfield_t *v, const char *s)
{
	v->buf = (uint8_t *)s;
	v->len = strlen(s);
}

static struct ctf_ipfix_proc_rec given_proc_rec(const struct ctf_record *r, const char *comm,
						const char *exe, const char *user,
						const char *container)
{
	struct ctf_ipfix_proc_rec p;
	struct ctf_ipfix_rec x;

	ctf_ipfix_rec_from_record(r, CTF_TMPL_BIFLOW | CTF_TMPL_LIVE, &x);
	ctf_ipfix_proc_rec_from(&x, &r->proc, &p);
	set_var(&p.comm, comm);
	set_var(&p.exe, exe);
	set_var(&p.user, user);
	set_var(&p.container, container);
	return p;
}

static bool file_contains(const char *path, const void *needle, size_t len)
{
	g_autofree char *data = NULL;
	gsize size;

	assert_true(g_file_get_contents(path, &data, &size, NULL));
	return memmem(data, size, needle, len) != NULL;
}

/* 300 octets: the three-octet length form (0xff, then 0x012c). */
static void test_round_trip_varlen_300(void **state)
{
	g_autofree char *s300 = repeat('L', 300), *s255 = repeat('M', 255);
	g_autofree char *s254 = repeat('N', 254);
	struct ctf_record r = given_proc(given_v4_tcp(), "", "", "", "");
	struct ctf_ipfix_proc_rec recs[3];
	static const uint8_t len300[] = { 0xff, 0x01, 0x2c, 'L' };
	static const uint8_t len255[] = { 0xff, 0x00, 0xff, 'M' };
	static const uint8_t len254[] = { 0xfe, 'N' };
	struct file_sink k;
	struct decoded d;
	g_autofree char *path = NULL;

	recs[0] = given_proc_rec(&r, s300, s300, s300, s300);
	recs[1] = given_proc_rec(&r, "", "x", s254, s255);
	recs[2] = given_proc_rec(&r, s255, s300, "", "y");
	path = encode_proc_recs(65000, recs, 3, &k);
	assert_true(file_contains(path, len300, sizeof(len300)));
	assert_true(file_contains(path, len255, sizeof(len255)));
	assert_true(file_contains(path, len254, sizeof(len254)));
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 3);
	for (guint i = 0; i < 3; i++) {
		const struct decoded_proc *p = &g_array_index(d.procs, struct decoded_proc, i);

		assert_true(p->has);
		assert_int_equal(p->pid, 4242);
		assert_int_equal(p->comm_len, recs[i].comm.len);
		assert_memory_equal(p->comm, recs[i].comm.buf, p->comm_len);
		assert_int_equal(p->exe_len, recs[i].exe.len);
		assert_memory_equal(p->exe, recs[i].exe.buf, p->exe_len);
		assert_int_equal(p->user_len, recs[i].user.len);
		assert_memory_equal(p->user, recs[i].user.buf, p->user_len);
		assert_int_equal(p->container_len, recs[i].container.len);
		assert_memory_equal(p->container, recs[i].container.buf, p->container_len);
		expect_decoded(&r, CTF_TMPL_BIFLOW | CTF_TMPL_LIVE,
			       &g_array_index(d.recs, struct ctf_ipfix_rec, i));
	}
	decoded_clear(&d);
}

/* A record bigger than the MTU: the executable path is shortened, at a
 * character boundary, and every message stays within the MTU. */
static void test_proc_small_mtu(void **state)
{
	g_autofree char *exe = NULL, *s64 = repeat('f', 64), *s32 = repeat('u', 32);
	struct ctf_record r = given_proc(given_nat(given_v6_icmp()), "", "", "", "");
	struct ctf_ipfix_proc_rec recs[2];
	struct file_sink k;
	struct decoded d;
	g_autofree char *path = NULL;
	GString *e = g_string_new("/");
	const struct decoded_proc *p;

	while (e->len < 250)
		g_string_append(e, "é");	/* two octets each: cuts may fall inside */
	exe = g_string_free(e, FALSE);
	recs[0] = given_proc_rec(&r, "0123456789abcdef", exe, s32, s64);
	recs[1] = given_proc_rec(&r, "sh", "/bin/sh", "root", "");	/* fits */
	path = encode_proc_recs(512, recs, 2, &k);
	assert_true(k.biggest <= 512);
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 2);
	p = &g_array_index(d.procs, struct decoded_proc, 0);
	assert_true(p->exe_len < strlen(exe));
	assert_true(p->exe_len > 100);
	assert_memory_equal(p->exe, exe, p->exe_len);
	assert_true(g_utf8_validate(p->exe, (gssize)p->exe_len, NULL));
	assert_string_equal(p->comm, "0123456789abcdef");
	assert_string_equal(p->user, s32);
	assert_string_equal(p->container, s64);
	/* as long as fits: one more character would not */
	assert_true(ctf_ipfix_data_wire_len(recs[0].rec.tmpl) - 4 + 17 + 33 + 65 +
		    ctf_ipfix_varlen_wire_len(p->exe_len) + 20 <= 512);
	assert_true(ctf_ipfix_data_wire_len(recs[0].rec.tmpl) - 4 + 17 + 33 + 65 +
		    ctf_ipfix_varlen_wire_len(p->exe_len + 2) + 20 > 512);
	p = &g_array_index(d.procs, struct decoded_proc, 1);
	assert_string_equal(p->exe, "/bin/sh");
	decoded_clear(&d);
}

static struct ctf_if_name if_name(uint32_t ifindex, const char *name, const char *descr)
{
	struct ctf_if_name n = { .ifindex = ifindex };

	g_strlcpy(n.name, name, sizeof(n.name));
	g_strlcpy(n.description, descr, sizeof(n.description));
	return n;
}

static const struct decoded_if *find_if(const struct decoded *d, guint from, guint to,
					uint32_t ifindex)
{
	for (guint i = from; i < to; i++)
		if (g_array_index(d->ifs, struct decoded_if, i).ifindex == ifindex)
			return &g_array_index(d->ifs, struct decoded_if, i);
	return NULL;
}

/* Names sent at the start of the file, not again for the same table,
 * at once for a changed one; the table is cleaned up on the way. */
static void test_interfaces_file(void **state)
{
	g_autofree char *d255 = repeat('D', 255);
	struct ctf_if_name a[] = {
		if_name(5, "eth1", "uplink \"A\""),
		if_name(0, "bogus", "ifindex 0: ignored"),
		if_name(3, "eth0", ""),
		if_name(7, "old", "replaced by the next entry"),
		if_name(7, "0123456789abcde", d255),
		if_name(9, "bad\xff", "caf\xc3"),	/* not UTF-8 */
	};
	struct ctf_if_name b[] = {
		if_name(3, "eth0", ""), if_name(5, "eth1", "uplink B"),
	};
	struct ctf_if_name reordered[G_N_ELEMENTS(a)];
	struct ctf_if_name *many = g_new0(struct ctf_if_name, CTF_EXPORT_MAX_INTERFACES + 1);
	struct ctf_record r = given_v4_tcp();
	g_autoptr(GError) err = NULL;
	g_autofree char *path = NULL;
	g_autoptr(ctf_exporter) ex = given_file_exporter(false, true, &path);
	const struct decoded_if *x;
	struct decoded d;

	assert_true(ctf_exporter_set_interfaces(ex, a, G_N_ELEMENTS(a), &err));
	ctf_exporter_push(ex, &r);
	ctf_exporter_push(ex, &r);
	/* the same table in another order: nothing is sent */
	for (size_t i = 0; i < G_N_ELEMENTS(a); i++)	/* ifindex 7's entries keep their order */
		reordered[i] = a[(i + 3) % G_N_ELEMENTS(a)];
	assert_true(ctf_exporter_set_interfaces(ex, reordered, G_N_ELEMENTS(a), &err));
	/* too many: refused, table unchanged */
	for (uint32_t i = 0; i <= CTF_EXPORT_MAX_INTERFACES; i++)
		many[i] = if_name(i + 1, "x", "");
	assert_false(ctf_exporter_set_interfaces(ex, many, CTF_EXPORT_MAX_INTERFACES + 1, &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	g_clear_error(&err);
	g_free(many);
	assert_true(ctf_exporter_set_interfaces(ex, b, G_N_ELEMENTS(b), &err));
	ctf_exporter_push(ex, &r);
	assert_true(ctf_exporter_set_interfaces(ex, b, G_N_ELEMENTS(b), &err));
	assert_true(ctf_exporter_finish(ex, &err));
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 3);
	assert_int_equal(d.ifs->len, 4 + 2);
	/* table a, before any data: sorted, 0 dropped, last 7 wins, sanitised */
	for (guint i = 0; i < 4; i++)
		assert_int_equal(g_array_index(d.ifs, struct decoded_if, i).after_records, 0);
	assert_int_equal(g_array_index(d.ifs, struct decoded_if, 0).ifindex, 3);
	assert_int_equal(g_array_index(d.ifs, struct decoded_if, 3).ifindex, 9);
	x = find_if(&d, 0, 4, 5);
	assert_string_equal(x->name, "eth1");
	assert_string_equal(x->description, "uplink \"A\"");
	x = find_if(&d, 0, 4, 3);
	assert_string_equal(x->description, "");
	x = find_if(&d, 0, 4, 7);
	assert_string_equal(x->name, "0123456789abcde");
	assert_string_equal(x->description, d255);
	x = find_if(&d, 0, 4, 9);
	assert_string_equal(x->name, "bad?");
	assert_string_equal(x->description, "caf?");
	/* table b, as soon as it was set: after the second record */
	for (guint i = 4; i < 6; i++)
		assert_int_equal(g_array_index(d.ifs, struct decoded_if, i).after_records, 2);
	assert_string_equal(find_if(&d, 4, 6, 5)->description, "uplink B");
	assert_null(find_if(&d, 4, 6, 7));
	decoded_clear(&d);
}

/* A table set before the output exists, and an empty table. */
static void test_interfaces_before_output(void **state)
{
	struct ctf_if_name a[] = { if_name(2, "lo", "loopback") };
	struct ctf_export_config cfg;
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_exporter) ex = NULL;
	g_autofree char *path = tmp_path(), *url = g_strdup_printf("file:%s", path);
	struct decoded d;

	ctf_export_config_init(&cfg);
	ex = ctf_exporter_new(&cfg, &err);
	assert_true(ctf_exporter_set_interfaces(ex, NULL, 0, &err));
	assert_true(ctf_exporter_set_interfaces(ex, a, 1, &err));
	assert_true(ctf_exporter_add_url(ex, url, &err));
	assert_true(ctf_exporter_finish(ex, &err));	/* no records at all */
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 0);
	assert_int_equal(d.ifs->len, 1);
	assert_string_equal(g_array_index(d.ifs, struct decoded_if, 0).name, "lo");
	decoded_clear(&d);
}

/* Namespace names: options records before the data of a live session,
 * again when the table changes (not when it is set unchanged), none in
 * an offline session; the views name the namespace. */
static void test_netns_names(void **state)
{
	static const char cid[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct ctf_netns_name a[] = {
		{ .netns = 4026532002u, .container_id = "" },
		{ .netns = 4026532001u, .name = "blue" },
		{ .netns = 0, .name = "ignored" },
	}, b[] = { { .netns = 4026532001u, .name = "blue" } };
	struct ctf_export_config cfg;
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_exporter) ex = NULL, off = NULL;
	g_autofree char *path = NULL, *off_path = NULL;
	struct ctf_record r = given_v4_tcp();
	g_autoptr(ctf_exporter) view = NULL;
	char *text = NULL, *json = NULL;
	size_t text_len = 0, json_len = 0;
	FILE *tf = open_memstream(&text, &text_len), *jf = open_memstream(&json, &json_len);
	g_auto(GStrv) tl = NULL, jl = NULL;
	struct decoded d;

	g_strlcpy(a[0].container_id, cid, sizeof(a[0].container_id));
	ctf_export_config_init(&cfg);
	cfg.live = true;
	ex = given_file_exporter(false, true, &path);
	assert_true(ctf_exporter_set_netns(ex, a, G_N_ELEMENTS(a), &err));
	assert_true(ctf_exporter_set_netns(ex, a, G_N_ELEMENTS(a), &err));	/* unchanged */
	ctf_exporter_push(ex, &r);
	assert_true(ctf_exporter_set_netns(ex, b, G_N_ELEMENTS(b), &err));
	assert_false(ctf_exporter_set_netns(ex, a, CTF_EXPORT_MAX_NETNS + 1, &err));
	assert_true(ctf_exporter_finish(ex, &err));
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 1);
	assert_int_equal(d.netns->len, 3);	/* sorted by inode, then the new table */
	assert_int_equal(g_array_index(d.netns, struct decoded_netns, 0).netns, 4026532001u);
	assert_string_equal(g_array_index(d.netns, struct decoded_netns, 0).name, "blue");
	assert_string_equal(g_array_index(d.netns, struct decoded_netns, 0).container, "");
	assert_int_equal(g_array_index(d.netns, struct decoded_netns, 0).after_records, 0);
	assert_int_equal(g_array_index(d.netns, struct decoded_netns, 1).netns, 4026532002u);
	assert_string_equal(g_array_index(d.netns, struct decoded_netns, 1).name, "");
	assert_string_equal(g_array_index(d.netns, struct decoded_netns, 1).container, cid);
	assert_int_equal(g_array_index(d.netns, struct decoded_netns, 2).after_records, 1);
	decoded_clear(&d);
	/* offline: no such template, nothing sent */
	off = given_file_exporter(false, false, &off_path);
	assert_true(ctf_exporter_set_netns(off, a, G_N_ELEMENTS(a), &err));
	assert_true(ctf_exporter_finish(off, &err));
	decode_file(off_path, &d);
	assert_int_equal(d.netns->len, 0);
	decoded_clear(&d);
	/* views */
	view = ctf_exporter_new(&cfg, &err);
	ctf_exporter_add_view(view, CTF_VIEW_TEXT, tf);
	ctf_exporter_add_view(view, CTF_VIEW_JSON, jf);
	assert_true(ctf_exporter_set_netns(view, a, G_N_ELEMENTS(a), &err));
	for (uint32_t ino = 4026532001u; ino <= 4026532003u; ino++) {
		r.netns_ino = ino;
		ctf_exporter_push(view, &r);
	}
	assert_true(ctf_exporter_finish(view, &err));
	fclose(tf);
	fclose(jf);
	tl = g_strsplit(text, "\n", -1);
	jl = g_strsplit(json, "\n", -1);
	assert_int_equal(g_strv_length(tl), 4);
	assert_non_null(strstr(tl[0], " netns 4026532001(blue) "));
	assert_non_null(strstr(jl[0], ",\"netns_name\":\"blue\",\"netns_container_id\":null,"));
	assert_non_null(strstr(tl[1], " netns 4026532002(0123456789ab) "));
	assert_non_null(strstr(jl[1], ",\"netns_name\":null,\"netns_container_id\":\"0123"));
	assert_non_null(strstr(tl[2], " netns 4026532003 "));
	assert_non_null(strstr(jl[2], ",\"netns_name\":null,\"netns_container_id\":null,"));
	free(text);
	free(json);
}

/* Text and JSON show the process and the interface names. */
static void test_views(void **state)
{
	struct ctf_export_config cfg;
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_exporter) ex = NULL;
	struct ctf_if_name ifs[] = { if_name(3, "eth0", ""), if_name(4, "wan \"1\"", "") };
	struct ctf_record r[4];
	char *text = NULL, *json = NULL;
	size_t text_len = 0, json_len = 0;
	FILE *tf = open_memstream(&text, &text_len), *jf = open_memstream(&json, &json_len);
	g_auto(GStrv) tl = NULL, jl = NULL;
	g_autofree char *e255 = repeat('\x01', 255);

	ctf_export_config_init(&cfg);
	cfg.live = true;
	ex = ctf_exporter_new(&cfg, &err);
	ctf_exporter_add_view(ex, CTF_VIEW_TEXT, tf);
	ctf_exporter_add_view(ex, CTF_VIEW_JSON, jf);
	r[0] = given_proc(given_v4_tcp(), "curl", "/usr/bin/my curl", "root", "3f2a");
	r[1] = given_v4_tcp();
	r[2] = given_proc(given_v4_tcp(), "a\"b\\c\x01", "", "", "");
	/* the longest line there is: every byte escaped as \u0001 */
	r[3] = given_proc(given_v4_tcp(), e255, e255, e255, e255);
	ctf_exporter_push(ex, &r[0]);
	assert_true(ctf_exporter_set_interfaces(ex, ifs, G_N_ELEMENTS(ifs), &err));
	for (int i = 0; i < 4; i++)
		ctf_exporter_push(ex, &r[i]);
	assert_true(ctf_exporter_finish(ex, &err));
	fclose(tf);
	fclose(jf);
	tl = g_strsplit(text, "\n", -1);
	jl = g_strsplit(json, "\n", -1);
	assert_int_equal(g_strv_length(tl), 6);	/* 5 lines and "" */
	assert_int_equal(g_strv_length(jl), 6);
	/* before the table: numbers only */
	assert_non_null(strstr(tl[0], " if 3->4 "));
	assert_non_null(strstr(jl[0], "\"ingress_if\":3,\"egress_if\":4,"));
	assert_non_null(strstr(jl[0], "\"ingress_if_name\":null,\"egress_if_name\":null"));
	assert_non_null(strstr(tl[1], " if 3(eth0)->4(wan_\"1\") "));
	assert_non_null(strstr(tl[1], " pid 4242 comm curl exe /usr/bin/my_curl user root uid 1000"
				      " container 3f2a rtt 1234us retrans 5"));
	assert_non_null(strstr(jl[1], "\"ingress_if_name\":\"eth0\",\"egress_if_name\":\"wan \\\"1\\\"\""));
	assert_non_null(strstr(jl[1], ",\"proc\":{\"pid\":4242,\"uid\":1000,\"comm\":\"curl\","
				      "\"exe\":\"/usr/bin/my curl\",\"user\":\"root\","
				      "\"container_id\":\"3f2a\",\"tcp_rtt_us\":1234,"
				      "\"tcp_retrans\":5}}"));
	assert_null(strstr(tl[2], " pid "));
	assert_true(g_str_has_suffix(jl[2], ",\"proc\":null}"));
	assert_non_null(strstr(tl[3], " comm a\"b\\c? exe - user - uid 1000 container - "));
	assert_non_null(strstr(jl[3], "\"comm\":\"a\\\"b\\\\c\\u0001\",\"exe\":\"\","));
	assert_true(g_str_has_suffix(jl[4], "\"tcp_retrans\":5}}"));
	assert_true(strlen(jl[4]) < 4096);	/* the view's line buffer */
	free(text);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_template_ids),
		cmocka_unit_test(test_fields_v6_biflow_nat_live),
		cmocka_unit_test(test_fields_proc),
		cmocka_unit_test(test_fields_all_combinations),
		cmocka_unit_test(test_internal_struct),
		cmocka_unit_test(test_enterprise),
		cmocka_unit_test(test_flow_keys),
		cmocka_unit_test(test_rec_from_record),
		cmocka_unit_test(test_round_trip_biflow),
		cmocka_unit_test(test_round_trip_uniflow),
		cmocka_unit_test(test_round_trip_many),
		cmocka_unit_test(test_rec_proc_flags),
		cmocka_unit_test(test_round_trip_proc),
		cmocka_unit_test(test_round_trip_proc_uniflow_and_offline),
		cmocka_unit_test(test_round_trip_varlen_300),
		cmocka_unit_test(test_proc_small_mtu),
		cmocka_unit_test(test_interfaces_file),
		cmocka_unit_test(test_interfaces_before_output),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_netns_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
