/*
 * gen-pcap truth: the flow rules of `ctflow convert`, restated from the
 * written contract and applied to the datagrams a scenario generated.
 *
 * Written for clarity, not speed (every sweep walks every open flow). A
 * flow whose record was just split by the active timeout and that sends
 * nothing more ends without another record: records always carry packets.
 *
 * Rules, all on packet time:
 *  - before a datagram at time t is accounted: a flow lingering since c
 *    with c + linger <= t is exported (reason 3); a flow whose last packet
 *    is at or before t - idle is exported (reason 1); a record whose first
 *    packet is at or before t - active is exported (reason 2) and the flow
 *    continues in a new record with its next packet (same flow). When
 *    both the idle and the active timeout fell due since the flow's last
 *    packet, the earlier acts first (the active one at a tie), so an
 *    active split there is followed by the idle end, without a record.
 *  - a datagram on a key with no open flow starts a flow; its sender is the
 *    initiator. At max_flows flows (lingering ones included) one ends
 *    first: the least recently active open flow (the earlier last packet
 *    in input order; reason 5), unless the lingering flow that closed
 *    first had its last packet at the same time or earlier: that one ends,
 *    with reason 3 as it would have.
 *  - TCP FIN from both sides, or any RST, starts the linger; packets
 *    while lingering count; a SYN (without ACK) while lingering ends the
 *    flow (reason 3) and starts a new one with that SYN. A lingering flow
 *    is not split by the active timeout: it ends (reason 3) at the end of
 *    its linger, or at its idle timeout if that comes first.
 *  - end of input: lingering flows reason 3, the rest reason 4.
 */
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

struct rec {
	uint64_t first_us, last_us;
	uint64_t dir_first_us[2], dir_last_us[2];	/* per direction, for uniflow */
	uint64_t pk[2], oc[2];
	uint16_t fl[2];
	uint8_t reason;
};

struct inst {
	int conv;
	int number;		/* instance number within its conversation */
	int flip;		/* 1 when the conversation's responder initiated it */
	bool open, rec_open, closing, fin[2];
	uint64_t last_us, close_us;
	size_t last_order, close_order;	/* input order of the last, closing datagram */
	uint8_t icmp_type, icmp_code;
	struct rec cur;
	struct rec *recs;
	size_t nrec, caprec;
};

struct sim {
	const struct gp_truth_cfg *cfg;
	const struct gp_conv *convs;
	struct inst *in;
	size_t nin, capin;
	int *open_of;		/* conv -> open instance index or -1 */
	int *count_of;		/* conv -> instances so far */
	size_t nopen;
};

static int cmp_event(const void *a, const void *b)
{
	const struct gp_event *x = a, *y = b;

	if (x->ts_us != y->ts_us)
		return x->ts_us < y->ts_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void emit(struct inst *f, uint8_t reason)
{
	if (f->nrec == f->caprec) {
		f->caprec = f->caprec ? 2 * f->caprec : 4;
		f->recs = realloc(f->recs, f->caprec * sizeof(*f->recs));
		if (!f->recs)
			abort();
	}
	f->cur.reason = reason;
	f->recs[f->nrec++] = f->cur;
	f->rec_open = false;
}

static void finish(struct sim *s, struct inst *f, uint8_t reason)
{
	/* after an active split with no packet since, there is nothing left
	 * to export: records always carry packets */
	if (f->rec_open)
		emit(f, reason);
	f->open = false;
	s->open_of[f->conv] = -1;
	s->nopen--;
}

static void sweep_one(struct sim *s, struct inst *f, uint64_t t)
{
	const struct gp_truth_cfg *c = s->cfg;
	bool active_due = f->rec_open && f->cur.first_us + c->active_us <= t;
	bool idle_due = f->last_us + c->idle_us <= t;

	if (f->closing) {
		if (f->close_us + c->linger_us <= t || idle_due)
			finish(s, f, 3);
		return;
	}
	if (active_due && (!idle_due || f->cur.first_us + c->active_us <= f->last_us + c->idle_us))
		emit(f, 2);	/* then an idle end finds no record open */
	if (idle_due)
		finish(s, f, 1);
}

static void evict(struct sim *s)
{
	struct inst *lru = NULL, *closed = NULL;
	size_t i;

	for (i = 0; i < s->nin; i++) {
		struct inst *f = &s->in[i];

		if (!f->open)
			continue;
		if (f->closing) {
			if (!closed || f->close_order < closed->close_order)
				closed = f;
		} else if (!lru || f->last_order < lru->last_order) {
			lru = f;
		}
	}
	if (closed && (!lru || closed->last_us <= lru->last_us))
		finish(s, closed, 3);
	else
		finish(s, lru, 5);
}

static struct inst *new_inst(struct sim *s, const struct gp_event *e)
{
	struct inst *f;

	if (s->cfg->max_flows && s->nopen >= s->cfg->max_flows)
		evict(s);
	if (s->nin == s->capin) {
		s->capin = s->capin ? 2 * s->capin : 64;
		s->in = realloc(s->in, s->capin * sizeof(*s->in));
		if (!s->in)
			abort();
	}
	f = &s->in[s->nin];
	memset(f, 0, sizeof(*f));
	f->conv = e->conv;
	f->number = s->count_of[e->conv]++;
	f->open = true;
	f->icmp_type = e->icmp_type;
	f->icmp_code = e->icmp_code;
	/* the sender of the first packet is the initiator, whatever came before */
	f->flip = e->dir;
	s->open_of[e->conv] = (int)s->nin++;
	s->nopen++;
	return f;
}

/* @order: the datagram's place in the input */
static void account(struct sim *s, const struct gp_event *e, size_t order)
{
	int idx = s->open_of[e->conv];
	struct inst *f = idx >= 0 ? &s->in[idx] : new_inst(s, e);
	int d;

	/* "a new SYN on a closed flow's key starts a new flow": the lingering
	 * flow ends (reason 3) before the SYN is accounted */
	if (f->closing && (e->tcp_flags & GP_TCP_SYN) && !(e->tcp_flags & GP_TCP_ACK)) {
		finish(s, f, 3);
		f = new_inst(s, e);
	}
	d = e->dir ^ f->flip;
	if (!f->rec_open) {
		memset(&f->cur, 0, sizeof(f->cur));
		f->cur.first_us = e->ts_us;
		f->rec_open = true;
	}
	f->cur.last_us = e->ts_us;
	if (f->cur.pk[d] == 0)
		f->cur.dir_first_us[d] = e->ts_us;
	f->cur.dir_last_us[d] = e->ts_us;
	f->cur.pk[d]++;
	f->cur.oc[d] += e->ip_len;
	f->cur.fl[d] |= e->tcp_flags;
	f->last_us = e->ts_us;
	f->last_order = order;
	if (s->convs[e->conv].proto != 6 || f->closing)
		return;
	if (e->tcp_flags & GP_TCP_FIN)
		f->fin[d] = true;
	if ((e->tcp_flags & GP_TCP_RST) || (f->fin[0] && f->fin[1])) {
		f->closing = true;
		f->close_us = e->ts_us;
		f->close_order = order;
	}
}

static void write_rec(FILE *fp, const struct rec *r, bool last)
{
	fprintf(fp,
		"      {\"start_ms\": %llu, \"end_ms\": %llu, \"start_us\": %llu, \"end_us\": %llu,\n"
		"       \"packets\": %llu, \"octets\": %llu, \"rev_packets\": %llu, \"rev_octets\": %llu,\n"
		"       \"fwd_start_ms\": %llu, \"fwd_end_ms\": %llu,"
		" \"rev_start_ms\": %llu, \"rev_end_ms\": %llu,\n"
		"       \"tcp_flags\": %u, \"rev_tcp_flags\": %u, \"end_reason\": %u}%s\n",
		(unsigned long long)(r->first_us / 1000), (unsigned long long)(r->last_us / 1000),
		(unsigned long long)r->first_us, (unsigned long long)r->last_us,
		(unsigned long long)r->pk[0], (unsigned long long)r->oc[0],
		(unsigned long long)r->pk[1], (unsigned long long)r->oc[1],
		(unsigned long long)(r->dir_first_us[0] / 1000),
		(unsigned long long)(r->dir_last_us[0] / 1000),
		(unsigned long long)(r->dir_first_us[1] / 1000),
		(unsigned long long)(r->dir_last_us[1] / 1000),
		r->fl[0], r->fl[1], r->reason, last ? "" : ",");
}

static void write_flow(FILE *fp, const struct sim *s, size_t i, bool last)
{
	const struct inst *f = &s->in[i];
	const struct gp_conv *c = &s->convs[f->conv];
	bool icmp = c->proto == 1 || c->proto == 58;
	char a[64], b[64];
	size_t r;

	fprintf(fp, "    {\"flow\": %zu, \"name\": \"%s\", \"instance\": %d,\n", i, c->name, f->number);
	fprintf(fp, "     \"family\": %u, \"proto\": %u, \"src\": \"%s\", \"dst\": \"%s\", "
		"\"sport\": %u, \"dport\": %u,\n", c->family, c->proto,
		gp_addr_str(c->family, f->flip ? c->rsp : c->ini, a, sizeof(a)),
		gp_addr_str(c->family, f->flip ? c->ini : c->rsp, b, sizeof(b)),
		f->flip ? c->dport : c->sport, f->flip ? c->sport : c->dport);
	if (icmp)
		fprintf(fp, "     \"icmp_type\": %u, \"icmp_code\": %u, \"icmp_type_code\": %u, "
			"\"icmp_id\": %u,\n", f->icmp_type, f->icmp_code,
			f->icmp_type * 256u + f->icmp_code, c->icmp_id);
	else
		fprintf(fp, "     \"icmp_type\": null, \"icmp_code\": null, \"icmp_type_code\": null, "
			"\"icmp_id\": null,\n");
	fprintf(fp, "     \"vlan\": %u, \"inner_vlan\": %u,\n     \"records\": [\n",
		c->vlan, c->inner_vlan);
	for (r = 0; r < f->nrec; r++)
		write_rec(fp, &f->recs[r], r + 1 == f->nrec);
	fprintf(fp, "     ]}%s\n", last ? "" : ",");
}

static void write_json(FILE *fp, const struct sim *s, size_t nev, const char *extra)
{
	const struct gp_truth_cfg *c = s->cfg;
	uint64_t by_reason[6] = { 0 };
	uint64_t nrec = 0;
	size_t i, r;

	for (i = 0; i < s->nin; i++) {
		for (r = 0; r < s->in[i].nrec; r++)
			by_reason[s->in[i].recs[r].reason]++;
		nrec += s->in[i].nrec;
	}
	fprintf(fp, "{\n  \"idle_timeout\": %.6g, \"active_timeout\": %.6g, \"close_linger\": %.6g,\n",
		c->idle_us / 1e6, c->active_us / 1e6, c->linger_us / 1e6);
	fprintf(fp, "  \"max_flows\": %llu,\n", (unsigned long long)c->max_flows);
	if (extra)
		fprintf(fp, "%s", extra);
	fprintf(fp, "  \"totals\": {\"datagrams\": %zu, \"flows\": %zu, \"records\": %llu, "
		"\"by_reason\": [%llu, %llu, %llu, %llu, %llu, %llu]},\n", nev, s->nin,
		(unsigned long long)nrec,
		(unsigned long long)by_reason[0], (unsigned long long)by_reason[1],
		(unsigned long long)by_reason[2], (unsigned long long)by_reason[3],
		(unsigned long long)by_reason[4], (unsigned long long)by_reason[5]);
	fprintf(fp, "  \"flows\": [\n");
	for (i = 0; i < s->nin; i++)
		write_flow(fp, s, i, i + 1 == s->nin);
	fprintf(fp, "  ]\n}\n");
}

void gp_truth_write(FILE *fp, const struct gp_truth_cfg *cfg,
		    const struct gp_conv *convs, size_t nconv,
		    struct gp_event *ev, size_t nev, const char *extra)
{
	struct sim s = { .cfg = cfg, .convs = convs };
	size_t i, j;

	s.open_of = malloc(nconv * sizeof(int));
	s.count_of = calloc(nconv, sizeof(int));
	if (!s.open_of || !s.count_of)
		abort();
	for (i = 0; i < nconv; i++)
		s.open_of[i] = -1;
	qsort(ev, nev, sizeof(*ev), cmp_event);
	for (i = 0; i < nev; i++) {
		for (j = 0; j < s.nin; j++)
			if (s.in[j].open)
				sweep_one(&s, &s.in[j], ev[i].ts_us);
		account(&s, &ev[i], i);
	}
	for (j = 0; j < s.nin; j++)
		if (s.in[j].open)
			finish(&s, &s.in[j], s.in[j].closing ? 3 : 4);
	write_json(fp, &s, nev, extra);
	for (j = 0; j < s.nin; j++)
		free(s.in[j].recs);
	free(s.in);
	free(s.open_of);
	free(s.count_of);
}
