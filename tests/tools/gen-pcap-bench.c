/*
 * gen-pcap bench scenarios: large captures written straight to a buffered
 * file, one frame at a time, with a summary truth (totals, not records).
 *
 *  bench: --packets N over --flows M, one packet per microsecond. Flow k
 *    opens at packet k*N/M; every other packet goes to an already open
 *    flow, three times in four to one of the 4,096 most recently opened
 *    (a hot set), else to any open flow. 90 % IPv4; 60 % TCP, 35 % UDP,
 *    5 % ICMP echo; IP lengths 60-1500, bimodal. Frames are cut at the
 *    snaplen (default 128) to keep files small: ctflow must count the IP
 *    length, not the captured one.
 *  bench-concurrent: --flows N, first every flow's first packet, then
 *    every flow's reply: N flows open at once, for memory per flow.
 *
 * With the default timeouts (idle 60 s, active 300 s) and a capture
 * shorter than both, every flow is exactly one record ending at end of
 * input (reason 4), which the summary states.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

#define BENCH_T0_US 1704067200000000ull
#define HOT_SET 4096

struct bflow {
	uint32_t seq[2];
	uint16_t sport, dport;
	uint16_t icmp_seq;
	uint8_t family, proto;
};

struct bench {
	const struct gp_options *o;
	struct gp_rng rng;
	struct bflow *fl;
	uint64_t nflows;
	struct gp_pcap pcap;
	uint64_t octets, packets;
	uint64_t by_proto[4];	/* tcp, udp, icmp, icmp6 */
	uint64_t v6_flows;
	uint8_t l4[2048], ip[2048], frame[2200];
};

static void flow_init(struct bench *b, uint64_t k)
{
	struct bflow *f = &b->fl[k];
	uint32_t r = gp_rng_below(&b->rng, 100);

	f->family = gp_rng_below(&b->rng, 10) == 0 ? 6 : 4;
	if (r < 60)
		f->proto = 6;
	else if (r < 95)
		f->proto = 17;
	else
		f->proto = f->family == 4 ? 1 : 58;
	if (f->proto == 6 || f->proto == 17) {
		static const uint16_t svc[8] = { 443, 80, 53, 123, 8080, 22, 993, 5201 };

		f->sport = (uint16_t)(1024 + gp_rng_below(&b->rng, 64511));
		f->dport = svc[gp_rng_below(&b->rng, 8)];
	} else {
		f->sport = (uint16_t)gp_rng_below(&b->rng, 65536);	/* echo id */
		f->dport = 0;
	}
	f->seq[0] = (uint32_t)gp_rng_next(&b->rng);
	f->seq[1] = (uint32_t)gp_rng_next(&b->rng);
	f->icmp_seq = 0;
	if (f->family == 6)
		b->v6_flows++;
}

/* Addresses come from the flow number, so every flow has its own key. */
static void conv_of(const struct bench *b, uint64_t k, struct gp_conv *c)
{
	const struct bflow *f = &b->fl[k];
	uint32_t h = (uint32_t)k;

	memset(c, 0, sizeof(*c));
	c->family = f->family;
	c->proto = f->proto;
	if (f->family == 4) {
		gp_addr4(c->ini, 10, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h);
		gp_addr4(c->rsp, 172, (uint8_t)(16 + (h & 15)), (uint8_t)(h >> 4), 1);
	} else {
		gp_addr6(c->ini, 1, 0);
		c->ini[10] = (uint8_t)(h >> 24);
		c->ini[11] = (uint8_t)(h >> 16);
		c->ini[12] = (uint8_t)(h >> 8);
		c->ini[13] = (uint8_t)h;
		c->ini[15] = 1;
		gp_addr6(c->rsp, 2, (uint16_t)(1 + (h & 255)));
	}
	if (f->proto == 1 || f->proto == 58)
		c->icmp_id = f->sport;
	else {
		c->sport = f->sport;
		c->dport = f->dport;
	}
	c->seq[0] = f->seq[0];
	c->seq[1] = f->seq[1];
	c->icmp_seq = f->icmp_seq;
	c->ip_id[0] = (uint16_t)h;
	c->ip_id[1] = (uint16_t)(h >> 3);
	c->flow_label = h & 0xfffff;
}

static uint32_t pick_ip_len(struct bench *b)
{
	uint32_t r = gp_rng_below(&b->rng, 100);

	if (r < 40)
		return 60 + gp_rng_below(&b->rng, 41);		/* ACKs, DNS */
	if (r < 70)
		return 100 + gp_rng_below(&b->rng, 501);
	return 1400 + gp_rng_below(&b->rng, 101);		/* full segments */
}

static void emit(struct bench *b, uint64_t k, int dir, bool first, uint64_t ts_us)
{
	struct bflow *f = &b->fl[k];
	struct gp_conv c;
	struct gp_l4 l4 = { 0 };
	uint32_t want = pick_ip_len(b), hdr, l4len, iplen, len;

	conv_of(b, k, &c);
	hdr = (f->family == 4 ? 20 : 40) + (f->proto == 6 ? 20 : 8);
	if (f->proto == 6) {
		if (first)
			l4.tcp_flags = dir ? GP_TCP_SYN | GP_TCP_ACK : GP_TCP_SYN;
		else
			l4.tcp_flags = GP_TCP_ACK | (want > 100 ? GP_TCP_PSH : 0);
		if (l4.tcp_flags & GP_TCP_SYN)
			hdr += 4;	/* MSS option */
	} else if (f->proto == 1) {
		l4.icmp_type = dir ? 0 : 8;
	} else if (f->proto == 58) {
		l4.icmp_type = dir ? 129 : 128;
	}
	l4.payload_len = want > hdr ? want - hdr : 0;
	if (l4.tcp_flags & GP_TCP_SYN)
		l4.payload_len = 0;
	l4len = gp_build_l4(&c, dir, &l4, NULL, NULL, b->l4);
	iplen = gp_build_ip(&c, dir, b->l4, l4len, NULL, b->ip);
	len = gp_build_link(b->o->linktype, &c, dir, b->ip, iplen, b->frame);
	gp_pcap_write(&b->pcap, ts_us, b->frame, len, len);
	f->seq[0] = c.seq[0];
	f->seq[1] = c.seq[1];
	f->icmp_seq = c.icmp_seq;
	b->octets += iplen;
	b->packets++;
	b->by_proto[f->proto == 6 ? 0 : f->proto == 17 ? 1 : f->proto == 1 ? 2 : 3]++;
}

static bool write_summary(struct bench *b, const char *scenario, uint64_t duration_us)
{
	const struct gp_options *o = b->o;
	FILE *fp = fopen(o->truth, "w");
	bool simple = duration_us < 60000000ull;
	bool ok;

	if (!fp) {
		perror(o->truth);
		return false;
	}
	fprintf(fp, "{\n  \"scenario\": \"%s\", \"seed\": %" PRIu64 ", \"linktype\": %d, "
		"\"snaplen\": %u,\n", scenario, o->seed, o->linktype, b->pcap.snaplen);
	fprintf(fp, "  \"frames\": %" PRIu64 ", \"packets\": %" PRIu64 ", \"flows\": %" PRIu64
		", \"ipv6_flows\": %" PRIu64 ",\n", b->pcap.frames, b->packets, b->nflows,
		b->v6_flows);
	fprintf(fp, "  \"octets\": %" PRIu64 ", \"file_bytes\": %" PRIu64 ", \"duration_us\": %"
		PRIu64 ",\n", b->octets, b->pcap.bytes + 24, duration_us);
	fprintf(fp, "  \"packets_by_proto\": {\"tcp\": %" PRIu64 ", \"udp\": %" PRIu64
		", \"icmp\": %" PRIu64 ", \"icmp6\": %" PRIu64 "},\n",
		b->by_proto[0], b->by_proto[1], b->by_proto[2], b->by_proto[3]);
	/* the whole capture is shorter than the default idle (60 s) and active
	 * (300 s) timeouts: one record per flow, all at end of input */
	if (simple)
		fprintf(fp, "  \"default_timeouts\": {\"records\": %" PRIu64
			", \"end_reason\": 4}\n}\n", b->nflows);
	else
		fprintf(fp, "  \"default_timeouts\": null\n}\n");
	ok = !ferror(fp);
	return fclose(fp) == 0 && ok;
}

static void run_bench(struct bench *b, uint64_t npk)
{
	uint64_t i, opened = 0, k;

	for (i = 0; i < npk; i++) {
		/* flow "opened" starts at packet opened*N/M */
		if (opened < b->nflows && i >= opened * npk / b->nflows) {
			flow_init(b, opened);
			emit(b, opened, 0, true, BENCH_T0_US + i);
			opened++;
			continue;
		}
		if (gp_rng_below(&b->rng, 4) != 0) {
			uint64_t w = opened < HOT_SET ? opened : HOT_SET;

			k = opened - 1 - gp_rng_below(&b->rng, (uint32_t)w);
		} else {
			k = gp_rng_below(&b->rng, (uint32_t)opened);
		}
		emit(b, k, (int)gp_rng_below(&b->rng, 2), false, BENCH_T0_US + i);
	}
}

static void run_concurrent(struct bench *b)
{
	uint64_t k, n = b->nflows;

	for (k = 0; k < n; k++) {
		flow_init(b, k);
		emit(b, k, 0, true, BENCH_T0_US + k);
	}
	for (k = 0; k < n; k++)
		emit(b, k, 1, true, BENCH_T0_US + n + k);
}

int gp_scenario_bench(const struct gp_options *o, bool concurrent)
{
	struct bench *b = calloc(1, sizeof(*b));
	uint64_t npk;
	uint32_t snaplen = o->snaplen == 65535 ? 128 : o->snaplen;
	bool ok;

	if (!b)
		abort();
	b->o = o;
	gp_rng_init(&b->rng, o->seed);
	if (concurrent) {
		b->nflows = o->flows ? o->flows : 1000000;
		npk = 2 * b->nflows;
	} else {
		npk = o->packets ? o->packets : 5000000;
		b->nflows = o->flows ? o->flows : 500000;
		if (b->nflows > npk) {
			fprintf(stderr, "gen-pcap: --flows %" PRIu64 " exceeds --packets %" PRIu64 "\n",
				b->nflows, npk);
			free(b);
			return 2;
		}
	}
	if (b->nflows > 0xffffffffull) {
		fprintf(stderr, "gen-pcap: at most 2^32 flows\n");
		free(b);
		return 2;
	}
	b->fl = calloc(b->nflows, sizeof(*b->fl));
	if (!b->fl || !gp_pcap_open(&b->pcap, o->out, o->linktype, snaplen)) {
		free(b->fl);
		free(b);
		return 1;
	}
	if (concurrent)
		run_concurrent(b);
	else
		run_bench(b, npk);
	ok = gp_pcap_close(&b->pcap);
	ok = ok && write_summary(b, concurrent ? "bench-concurrent" : "bench", npk);
	free(b->fl);
	free(b);
	return ok ? 0 : 1;
}
