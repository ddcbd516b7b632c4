/*
 * IPFIX schema: template field lists and IDs per flag combination, the
 * internal struct against libfixbuf's idea of it, flow keys, record
 * mapping, and an encode -> decode round trip through a temporary file
 * read back with libfixbuf's own collector (fbCollectorAllocFile).
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
		assert_int_equal(ctf_ipfix_data_tid(f), 0x120 + f);
		assert_true(ctf_ipfix_data_tid(f) >= 256);
		assert_true(ctf_ipfix_data_tid(f) != CTF_IPFIX_TID_RELIABILITY);
	}
	/* a stray bit never yields a foreign ID */
	assert_int_equal(ctf_ipfix_data_tid(0x20 | CTF_TMPL_V6), 0x121);
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
		"netnsInode", "sourceTransportPort", "destinationTransportPort",
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
	assert_int_equal(ctf_ipfix_data_wire_len(f), 7 * 8 + 4 * 16 + 6 * 4 + 9 * 2 + 4);
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
		assert_int_equal(fbTemplateGetIELenOfMemBuffer(t), ctf_ipfix_data_wire_len(f));
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
	assert_int_equal(offsetof(struct ctf_ipfix_rec, tmpl), 184);
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
	assert_int_equal(n, 3);
	assert_int_equal(ctf_ipfix_schema_pen(s), 4242);
	for (size_t i = 0; i < n; i++) {
		ie = fbInfoModelGetElementByName(ctf_ipfix_schema_model(s), e[i].name);
		assert_non_null(ie);
		assert_int_equal(ie->ent, 4242);
		assert_int_equal(ie->num, e[i].id);
		assert_int_equal(ie->len, 4);
		assert_true(ie->flags & FB_IE_F_ENDIAN);
	}
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
		.netns_ino = 4026531840u,
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

struct decoded {
	GArray *recs;		/* struct ctf_ipfix_rec, tmpl = template flags */
	GArray *tids;		/* uint16_t per record */
	struct ctf_ipfix_reliability rel;
	unsigned n_rel, n_flow_keys;
	uint64_t flow_keys[CTF_TMPL_COUNT];
};

static char *export_to_file(bool uniflow, bool live, const struct ctf_record *recs, size_t n)
{
	struct ctf_export_config cfg;
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_exporter) ex = NULL;
	char *path = g_strdup_printf("%s/ctflow-rt-XXXXXX", g_get_tmp_dir());
	g_autofree char *url = NULL;
	int fd = g_mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	ctf_export_config_init(&cfg);
	cfg.uniflow = uniflow;
	cfg.live = live;
	ex = ctf_exporter_new(&cfg, &err);
	assert_non_null(ex);
	url = g_strdup_printf("file:%s", path);
	assert_true(ctf_exporter_add_url(ex, url, &err));
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

static void decode_file(const char *path, struct decoded *d)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_ipfix_schema) schema = ctf_ipfix_schema_new(PEN, &err);
	fbSession_t *s = fbSessionAlloc(ctf_ipfix_schema_model(schema));
	fbCollector_t *c = fbCollectorAllocFile(NULL, path, &err);
	fBuf_t *b;

	assert_non_null(c);
	add_internal(s, CTF_IPFIX_ITID_DATA, ctf_ipfix_data_template(schema, 0, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_RELIABILITY, ctf_ipfix_reliability_template(schema, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_FLOW_KEYS, ctf_ipfix_flow_keys_template(schema, TRUE, &err));
	add_internal(s, CTF_IPFIX_ITID_IE_TYPE, fbInfoElementAllocTypeTemplate(ctf_ipfix_schema_model(schema), &err));
	b = fBufAllocForCollection(s, c);
	memset(d, 0, sizeof(*d));
	d->recs = g_array_new(FALSE, TRUE, sizeof(struct ctf_ipfix_rec));
	d->tids = g_array_new(FALSE, TRUE, sizeof(uint16_t));
	for (;;) {
		uint16_t tid = 0;
		fbTemplate_t *t = fBufNextCollectionTemplate(b, &tid, &err);
		union {
			struct ctf_ipfix_rec r;
			struct ctf_ipfix_reliability rel;
			struct ctf_ipfix_flow_keys fk;
			fbInfoElementOptRec_t ie;
		} u;
		size_t len = sizeof(u);

		if (!t) {
			assert_true(g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOF));
			break;
		}
		memset(&u, 0, sizeof(u));
		if (tid >= CTF_IPFIX_TID_DATA_BASE &&
		    tid < CTF_IPFIX_TID_DATA_BASE + CTF_TMPL_COUNT) {
			assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_DATA, &err));
			assert_true(fBufNext(b, (uint8_t *)&u.r, &len, &err));
			u.r.tmpl = (uint8_t)(tid - CTF_IPFIX_TID_DATA_BASE);
			g_array_append_val(d->recs, u.r);
			g_array_append_val(d->tids, tid);
		} else if (tid == CTF_IPFIX_TID_RELIABILITY) {
			assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_RELIABILITY, &err));
			assert_true(fBufNext(b, (uint8_t *)&u.rel, &len, &err));
			d->rel = u.rel;
			d->n_rel++;
		} else if (tid == CTF_IPFIX_TID_FLOW_KEYS) {
			assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_FLOW_KEYS, &err));
			assert_true(fBufNext(b, (uint8_t *)&u.fk, &len, &err));
			assert_true(u.fk.template_id >= CTF_IPFIX_TID_DATA_BASE);
			d->flow_keys[u.fk.template_id - CTF_IPFIX_TID_DATA_BASE] = u.fk.indicator;
			d->n_flow_keys++;
		} else {
			assert_int_equal(tid, CTF_IPFIX_TID_IE_TYPE);
			assert_true(fBufSetInternalTemplate(b, CTF_IPFIX_ITID_IE_TYPE, &err));
			assert_true(fBufNext(b, (uint8_t *)&u.ie, &len, &err));
			assert_int_equal(u.ie.ie_pen, PEN);
		}
	}
	fBufFree(b);
	unlink(path);
}

static void decoded_clear(struct decoded *d)
{
	g_array_unref(d->recs);
	g_array_unref(d->tids);
}

/* What a decoder must see for @r: the record's fields, restricted to the
 * template its flags select (fields outside it decode as zero). */
static void expect_decoded(const struct ctf_record *r, unsigned base,
			   const struct ctf_ipfix_rec *got)
{
	struct ctf_ipfix_rec want;

	ctf_ipfix_rec_from_record(r, base, &want);
	if (!(want.tmpl & CTF_TMPL_LIVE))
		want.ct_zone = want.ct_mark = want.netns_ino = 0;
	if (!(want.tmpl & CTF_TMPL_BIFLOW)) {
		want.rev_octets = want.rev_packets = 0;
		want.rev_tcp_flags = 0;
	}
	assert_int_equal(got->tmpl, want.tmpl);
	assert_memory_equal(got, &want, offsetof(struct ctf_ipfix_rec, tmpl));
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
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 1).flow_label, 0xabcde);
	assert_int_equal(g_array_index(d.recs, struct ctf_ipfix_rec, 2).post_sport, 61000);
	assert_int_equal(d.n_rel, 2);	/* at session start and at finish */
	assert_int_equal(d.rel.exporting_pid, getpid());
	assert_int_equal(d.rel.flows, 0);
	assert_int_equal(d.n_flow_keys, 6);	/* one per data template of the session */
	for (unsigned v = 0; v < 6; v++) {
		unsigned f = base | (v & 1 ? CTF_TMPL_V6 : 0) | (v >= 2 ? CTF_TMPL_NAT : 0) |
			     (v >= 4 ? CTF_TMPL_NAT_EVENT : 0);

		assert_int_equal(d.flow_keys[f], ctf_ipfix_flow_key_indicator(f));
	}
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
		recs[i].ct_zone = recs[i].ct_mark = recs[i].netns_ino = 0;
	path = export_to_file(true, false, recs, 3);
	decode_file(path, &d);
	assert_int_equal(d.recs->len, 5);
	for (int i = 0; i < 3; i++) {
		int n = ctf_record_split_uniflow(&recs[i], &fwd, &rev);

		expect_decoded(&fwd, 0, &g_array_index(d.recs, struct ctf_ipfix_rec, k++));
		if (n == 2)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_template_ids),
		cmocka_unit_test(test_fields_v6_biflow_nat_live),
		cmocka_unit_test(test_fields_all_combinations),
		cmocka_unit_test(test_internal_struct),
		cmocka_unit_test(test_enterprise),
		cmocka_unit_test(test_flow_keys),
		cmocka_unit_test(test_rec_from_record),
		cmocka_unit_test(test_round_trip_biflow),
		cmocka_unit_test(test_round_trip_uniflow),
		cmocka_unit_test(test_round_trip_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
