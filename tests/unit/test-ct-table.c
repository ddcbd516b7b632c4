/*
 * Live flow table scenarios: conntrack entries in, records out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ctflow/ct-table.h"

#define NS 4026531840u
#define MS 1000000ull	/* ns per ms */

struct world {
	struct ctf_ct_table *t;
	struct ctf_record recs[32];
	int n;
};

static void collect(const struct ctf_record *r, void *ud)
{
	struct world *w = ud;

	assert_true(w->n < 32);
	w->recs[w->n++] = *r;
}

static struct world *given_table(size_t max_flows)
{
	struct world *w = calloc(1, sizeof(*w));
	struct ctf_ct_table_config cfg;

	ctf_ct_table_config_init(&cfg);
	if (max_flows)
		cfg.max_flows = max_flows;
	w->t = ctf_ct_table_new(&cfg, collect, w);
	assert_non_null(w->t);
	return w;
}

static void world_free(struct world *w)
{
	ctf_ct_table_free(w->t);
	free(w);
}

/* An UDP entry 10.0.0.1:sport -> 10.0.0.2:53, optionally masqueraded
 * behind 192.0.2.1:60000. */
static struct ctf_ct_entry udp_entry(uint32_t id, uint16_t sport, bool nat)
{
	struct ctf_ct_entry e = { 0 };

	e.family = 4;
	e.id = id;
	e.orig.proto = e.reply.proto = 17;
	inet_pton(AF_INET, "10.0.0.1", e.orig.src.b);
	inet_pton(AF_INET, "10.0.0.2", e.orig.dst.b);
	e.orig.sport = sport;
	e.orig.dport = 53;
	e.reply.src = e.orig.dst;
	e.reply.sport = 53;
	if (nat) {
		inet_pton(AF_INET, "192.0.2.1", e.reply.dst.b);
		e.reply.dport = 60000;
	} else {
		e.reply.dst = e.orig.src;
		e.reply.dport = sport;
	}
	e.has_timestamp = true;
	e.start_ns = 1000 * MS;
	return e;
}

static struct ctf_ct_entry with_counters(struct ctf_ct_entry e, uint64_t op, uint64_t ob,
					 uint64_t rp, uint64_t rb)
{
	e.has_counters = true;
	e.orig_packets = op;
	e.orig_bytes = ob;
	e.reply_packets = rp;
	e.reply_bytes = rb;
	return e;
}

static void given_event(struct world *w, struct ctf_ct_entry e, uint8_t msg, uint64_t now_ms)
{
	e.msg = msg;
	ctf_ct_table_event(w->t, NS, &e, now_ms);
}

static void given_dump(struct world *w, const struct ctf_ct_entry *es, int n,
		       enum ctf_ct_dump_mode mode, bool resync, uint64_t now_ms)
{
	ctf_ct_table_dump_begin(w->t, NS);
	for (int i = 0; i < n; i++) {
		struct ctf_ct_entry e = es[i];

		e.msg = CTF_CT_DUMP;
		ctf_ct_table_dump_entry(w->t, NS, &e, mode, now_ms);
	}
	ctf_ct_table_dump_end(w->t, NS, resync, true, now_ms);
}

static void test_invalid_config(void **state)
{
	struct ctf_ct_table_config cfg;

	ctf_ct_table_config_init(&cfg);
	assert_null(ctf_ct_table_new(NULL, collect, NULL));
	assert_null(ctf_ct_table_new(&cfg, NULL, NULL));
	cfg.max_flows = 0;
	assert_null(ctf_ct_table_new(&cfg, collect, NULL));
	ctf_ct_table_free(NULL);
}

static void test_new_destroy_one_record(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry e = udp_entry(7, 4000, false);
	struct ctf_ct_entry d = with_counters(e, 3, 300, 2, 500);

	given_event(w, e, CTF_CT_NEW, 1000);
	d.stop_ns = 4500 * MS;
	given_event(w, d, CTF_CT_DESTROY, 5000);

	assert_int_equal(w->n, 1);
	assert_int_equal(w->recs[0].packets, 3);
	assert_int_equal(w->recs[0].octets, 300);
	assert_int_equal(w->recs[0].rev_packets, 2);
	assert_int_equal(w->recs[0].rev_octets, 500);
	assert_int_equal(w->recs[0].start_ms, 1000);
	assert_int_equal(w->recs[0].end_ms, 4500);
	assert_int_equal(w->recs[0].end_reason, CTF_END_IDLE);
	assert_int_equal(w->recs[0].sport, 4000);
	assert_int_equal(w->recs[0].ct_id, 7);
	assert_true(w->recs[0].flow_id != 0);
	assert_false(w->recs[0].nat);
	world_free(w);
}

static void test_interim_deltas_add_up(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry e = udp_entry(8, 4001, false);
	struct ctf_ct_entry d1 = with_counters(e, 10, 1000, 5, 500);
	struct ctf_ct_entry d2 = with_counters(e, 10, 1000, 5, 500);	/* idle since */
	struct ctf_ct_entry fin = with_counters(e, 25, 2600, 9, 900);

	given_event(w, e, CTF_CT_NEW, 1000);
	given_dump(w, &d1, 1, CTF_CT_DUMP_INTERIM, false, 60000);
	given_dump(w, &d2, 1, CTF_CT_DUMP_INTERIM, false, 120000);	/* no change: no record */
	fin.stop_ns = 150000 * MS;
	given_event(w, fin, CTF_CT_DESTROY, 150000);

	assert_int_equal(w->n, 2);
	assert_int_equal(w->recs[0].end_reason, CTF_END_ACTIVE);
	assert_int_equal(w->recs[0].packets, 10);
	assert_int_equal(w->recs[0].start_ms, 1000);
	assert_int_equal(w->recs[0].end_ms, 60000);
	assert_int_equal(w->recs[1].packets, 15);
	assert_int_equal(w->recs[1].octets, 1600);
	assert_int_equal(w->recs[1].rev_packets, 4);
	assert_int_equal(w->recs[1].start_ms, 60000);
	assert_int_equal(w->recs[0].flow_id, w->recs[1].flow_id);
	world_free(w);
}

static void test_nat_fields_and_events(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry e = udp_entry(9, 4002, true);
	struct ctf_ct_entry d = with_counters(e, 1, 100, 1, 100);
	struct ctf_ct_entry fin = with_counters(e, 2, 200, 2, 200);
	struct ctf_addr pub = { 0 };

	inet_pton(AF_INET, "192.0.2.1", pub.b);
	given_event(w, e, CTF_CT_NEW, 1000);
	given_dump(w, &d, 1, CTF_CT_DUMP_INTERIM, false, 2000);
	given_event(w, fin, CTF_CT_DESTROY, 3000);

	assert_int_equal(w->n, 2);
	assert_true(w->recs[0].nat);
	assert_memory_equal(&w->recs[0].post_src, &pub, sizeof(pub));
	assert_int_equal(w->recs[0].post_sport, 60000);
	assert_int_equal(w->recs[0].post_dport, 53);
	assert_int_equal(w->recs[0].nat_event, CTF_NAT44_CREATE);
	assert_int_equal(w->recs[1].nat_event, CTF_NAT44_DELETE);
	world_free(w);
}

static void test_unknown_destroy_exported_in_full(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry fin = with_counters(udp_entry(10, 4003, false), 4, 400, 4, 400);
	struct ctf_ct_table_stats st;

	given_event(w, fin, CTF_CT_DESTROY, 9000);
	assert_int_equal(w->n, 1);
	assert_int_equal(w->recs[0].packets, 4);
	assert_int_equal(w->recs[0].start_ms, 1000);	/* the kernel's start time */
	ctf_ct_table_get_stats(w->t, &st);
	assert_int_equal(st.destroys_unknown, 1);
	world_free(w);
}

static void test_tcp_end_reason_from_last_state(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry e = udp_entry(11, 4004, false);
	struct ctf_ct_entry u, fin;

	e.orig.proto = e.reply.proto = 6;
	u = e;
	u.has_tcp_state = true;
	u.tcp_state = 7;	/* TIME_WAIT */
	fin = with_counters(e, 5, 300, 4, 250);
	given_event(w, e, CTF_CT_NEW, 1000);
	given_event(w, u, CTF_CT_UPDATE, 1100);
	given_event(w, fin, CTF_CT_DESTROY, 3000);
	assert_int_equal(w->n, 1);
	assert_int_equal(w->recs[0].end_reason, CTF_END_EOF);
	world_free(w);
}

static void test_startup_dump_adopts_then_vanish(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry a = with_counters(udp_entry(20, 5000, false), 1, 10, 0, 0);
	struct ctf_ct_entry b = with_counters(udp_entry(21, 5001, false), 1, 10, 0, 0);
	struct ctf_ct_entry both[2] = { a, b };
	struct ctf_ct_table_stats st;

	given_dump(w, both, 2, CTF_CT_DUMP_ADOPT, false, 1000);
	assert_int_equal(w->n, 0);
	/* b is gone without a DESTROY (no event listener when it was made) */
	a = with_counters(a, 3, 30, 1, 10);
	given_dump(w, &a, 1, CTF_CT_DUMP_INTERIM, false, 61000);
	assert_int_equal(w->n, 2);
	assert_int_equal(w->recs[0].ct_id, 20);
	assert_int_equal(w->recs[0].packets, 3);	/* everything since its start */
	assert_int_equal(w->recs[1].ct_id, 21);
	assert_int_equal(w->recs[1].end_reason, CTF_END_IDLE);
	assert_int_equal(w->recs[1].packets, 1);	/* last seen, not zero */
	ctf_ct_table_get_stats(w->t, &st);
	assert_int_equal(st.flows_adopted, 2);
	assert_int_equal(st.flows_vanished, 1);
	assert_int_equal(st.flows_active, 1);
	world_free(w);
}

static void test_resync_vanished_reason_5(void **state)
{
	struct world *w = given_table(0);

	given_event(w, udp_entry(30, 6000, false), CTF_CT_NEW, 1000);
	given_dump(w, NULL, 0, CTF_CT_DUMP_ADOPT, true, 2000);
	assert_int_equal(w->n, 1);
	assert_int_equal(w->recs[0].end_reason, CTF_END_RESOURCES);
	world_free(w);
}

static void test_interrupted_dump_ends_nothing(void **state)
{
	struct world *w = given_table(0);

	given_event(w, udp_entry(31, 6001, false), CTF_CT_NEW, 1000);
	ctf_ct_table_dump_begin(w->t, NS);
	ctf_ct_table_dump_end(w->t, NS, true, false, 2000);
	assert_int_equal(w->n, 0);
	world_free(w);
}

static void test_flow_born_during_dump_survives(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry e = udp_entry(32, 6002, false);

	ctf_ct_table_dump_begin(w->t, NS);
	e.msg = CTF_CT_NEW;
	ctf_ct_table_event(w->t, NS, &e, 1500);	/* drained between dump and end */
	ctf_ct_table_dump_end(w->t, NS, false, true, 2000);
	assert_int_equal(w->n, 0);
	world_free(w);
}

static void test_bound_untracked_still_exported(void **state)
{
	struct world *w = given_table(1);
	struct ctf_ct_table_stats st;

	given_event(w, udp_entry(40, 7000, false), CTF_CT_NEW, 1000);
	given_event(w, udp_entry(41, 7001, false), CTF_CT_NEW, 1000);
	given_event(w, with_counters(udp_entry(41, 7001, false), 2, 20, 0, 0), CTF_CT_DESTROY, 2000);
	assert_int_equal(w->n, 1);
	assert_int_equal(w->recs[0].packets, 2);
	ctf_ct_table_get_stats(w->t, &st);
	assert_int_equal(st.flows_untracked, 1);
	world_free(w);
}

static void test_final_dump_and_flush(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry a = udp_entry(50, 8000, false);

	given_event(w, a, CTF_CT_NEW, 1000);
	given_event(w, udp_entry(51, 8001, false), CTF_CT_NEW, 1000);
	a = with_counters(a, 6, 600, 6, 600);
	ctf_ct_table_dump_begin(w->t, NS);
	a.msg = CTF_CT_DUMP;
	ctf_ct_table_dump_entry(w->t, NS, &a, CTF_CT_DUMP_FINAL, 5000);
	assert_int_equal(w->n, 0);	/* exported by the flush, after the drain */
	ctf_ct_table_flush(w->t, 0, CTF_END_FORCED, 5000);
	assert_int_equal(w->n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w->recs[i].end_reason, CTF_END_FORCED);
		assert_int_equal(w->recs[i].packets, w->recs[i].ct_id == 50 ? 6 : 0);
	}
	world_free(w);
}

/* The kernel gives a new entry with the same tuple the same id. */
static void test_reused_ct_id_new_flow_id(void **state)
{
	struct world *w = given_table(0);
	struct ctf_ct_entry e = udp_entry(60, 9000, false);

	for (int i = 0; i < 2; i++) {
		given_event(w, e, CTF_CT_NEW, 1000);
		given_event(w, with_counters(e, 1, 10, 0, 0), CTF_CT_DESTROY, 2000);
	}
	assert_int_equal(w->n, 2);
	assert_int_equal(w->recs[0].ct_id, w->recs[1].ct_id);
	assert_true(w->recs[0].flow_id != w->recs[1].flow_id);
	world_free(w);
}

/* A full table at shutdown: the entries the final dump meets untracked
 * are exported anyway. */
static void test_final_dump_full_table_loses_nothing(void **state)
{
	struct world *w = given_table(1);
	struct ctf_ct_entry a = with_counters(udp_entry(70, 9100, false), 2, 20, 0, 0);
	struct ctf_ct_entry b = with_counters(udp_entry(71, 9101, false), 3, 30, 0, 0);

	given_event(w, a, CTF_CT_NEW, 1000);
	ctf_ct_table_dump_begin(w->t, NS);
	b.msg = a.msg = CTF_CT_DUMP;
	ctf_ct_table_dump_entry(w->t, NS, &b, CTF_CT_DUMP_FINAL, 5000);
	ctf_ct_table_dump_entry(w->t, NS, &a, CTF_CT_DUMP_FINAL, 5000);
	ctf_ct_table_dump_end(w->t, NS, false, true, 5000);
	ctf_ct_table_flush(w->t, 0, CTF_END_FORCED, 5000);
	assert_int_equal(w->n, 2);
	assert_int_equal(w->recs[0].packets + w->recs[1].packets, 5);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_config),
		cmocka_unit_test(test_new_destroy_one_record),
		cmocka_unit_test(test_interim_deltas_add_up),
		cmocka_unit_test(test_nat_fields_and_events),
		cmocka_unit_test(test_unknown_destroy_exported_in_full),
		cmocka_unit_test(test_tcp_end_reason_from_last_state),
		cmocka_unit_test(test_startup_dump_adopts_then_vanish),
		cmocka_unit_test(test_resync_vanished_reason_5),
		cmocka_unit_test(test_interrupted_dump_ends_nothing),
		cmocka_unit_test(test_flow_born_during_dump_survives),
		cmocka_unit_test(test_bound_untracked_still_exported),
		cmocka_unit_test(test_final_dump_and_flush),
		cmocka_unit_test(test_reused_ct_id_new_flow_id),
		cmocka_unit_test(test_final_dump_full_table_loses_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
