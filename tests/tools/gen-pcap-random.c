/*
 * gen-pcap golden-random: many conversations with random shapes, so the
 * flow rules meet each other in ways nobody scripted by hand. Every seed
 * is a different capture with its own exact truth.
 *
 * Shapes: chatty (short gaps), gappy (bursts separated by 20-80 s, around
 * the 30 s idle default), long (a packet every 0.5-3 s for 150-450 s,
 * across the 120 s active default) and one-shot. TCP opens with a
 * handshake and ends with FIN/FIN/ACK, an RST, or nothing; some UDP
 * datagrams are fragmented (in order). 20 % IPv6, 1 in 8 VLAN-tagged.
 */
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

#define MS(x) ((uint64_t)(x) * 1000ull)
#define SEC(x) ((uint64_t)(x) * 1000000ull)

struct rnd {
	struct gp_script *s;
	struct gp_rng *r;
};

static uint64_t between(struct rnd *x, uint64_t lo, uint64_t hi)
{
	return lo + gp_rng_below(x->r, (uint32_t)(hi - lo + 1));
}

/* exponential-ish gap around @mean_us, at least 1 us */
static uint64_t gap(struct rnd *x, uint64_t mean_us)
{
	uint64_t u = 1 + gp_rng_below(x->r, 1000);
	uint64_t g = 0;

	/* -ln(u/1000) by repeated halving: cheap and deterministic */
	while (u < 1000) {
		u *= 2;
		g += mean_us * 693 / 1000;
	}
	return g + between(x, 1, mean_us / 2 + 1);
}

static int new_conv(struct rnd *x, uint32_t k)
{
	static const uint16_t vlans[] = { 10, 20, 30 };
	uint32_t r = gp_rng_below(x->r, 100);
	uint8_t proto = r < 50 ? 6 : r < 85 ? 17 : 1;
	bool v6 = gp_rng_below(x->r, 5) == 0;
	uint16_t sport = (uint16_t)(1024 + gp_rng_below(x->r, 60000));
	uint16_t dport = (uint16_t)(1 + gp_rng_below(x->r, 1023));
	char name[48];
	int ci;

	snprintf(name, sizeof(name), "random-%u", k);
	if (proto == 1) {
		sport = dport = 0;
		if (v6)
			proto = 58;
	}
	if (v6) {
		ci = gp_conv6(x->s, name, proto, 1, (uint16_t)(k + 1), 2, (uint16_t)(k % 97 + 1),
			      sport, dport);
	} else {
		const uint8_t ini[4] = { 10, (uint8_t)(k >> 8), (uint8_t)k, 1 };
		const uint8_t rsp[4] = { 172, 16, (uint8_t)(k % 7), (uint8_t)(k % 89 + 1) };

		ci = gp_conv4(x->s, name, proto, ini, rsp, sport, dport);
	}
	x->s->conv[ci].icmp_id = (uint16_t)(k * 7 + 1);
	if (gp_rng_below(x->r, 8) == 0)
		gp_set_vlan(x->s, ci, vlans[gp_rng_below(x->r, 3)], 0, 0);
	return ci;
}

/* one datagram of the conversation at @t: TCP data, UDP (sometimes
 * fragmented), or an echo request/reply pair */
static uint64_t send_one(struct rnd *x, int ci, int dir, uint64_t t)
{
	const struct gp_conv *c = &x->s->conv[ci];
	uint32_t len = gp_rng_below(x->r, 3) == 0 ? (uint32_t)between(x, 1000, 1400)
						   : (uint32_t)between(x, 0, 300);

	switch (c->proto) {
	case 6:
		gp_pkt(x->s, ci, dir, t, GP_TCP_ACK | (len ? GP_TCP_PSH : 0), len);
		return t;
	case 17:
		if (gp_rng_below(x->r, 20) == 0) {
			gp_frag(x->s, ci, dir, t, (uint32_t)between(x, 1500, 4000), 1232, NULL,
				between(x, 1, 200));
			return t + 3 * 200;
		}
		gp_pkt(x->s, ci, dir, t, 0, len);
		return t;
	default:
		gp_ping(x->s, ci, t, 56, between(x, 50, 5000));
		return t + 5000;
	}
}

static void shape(struct rnd *x, int ci, uint64_t t)
{
	uint32_t kind = gp_rng_below(x->r, 100), n, i, bursts, b;
	bool tcp = x->s->conv[ci].proto == 6;
	uint64_t end;

	if (tcp)
		t = gp_handshake(x->s, ci, t, between(x, 50, 3000)) + between(x, 10, 1000);
	if (kind < 50) {			/* chatty */
		n = (uint32_t)between(x, 2, 40);
		for (i = 0; i < n; i++)
			t = send_one(x, ci, i ? (int)gp_rng_below(x->r, 2) : 0, t) +
			    gap(x, MS(300));
	} else if (kind < 70) {			/* gappy */
		bursts = (uint32_t)between(x, 2, 4);
		for (b = 0; b < bursts; b++) {
			n = (uint32_t)between(x, 1, 5);
			for (i = 0; i < n; i++)
				t = send_one(x, ci, (int)gp_rng_below(x->r, 2) && (b || i), t) +
				    gap(x, MS(100));
			t += between(x, SEC(20), SEC(80));
		}
	} else if (kind < 85) {			/* long */
		end = t + between(x, SEC(150), SEC(450));
		while (t < end)
			t = send_one(x, ci, (int)gp_rng_below(x->r, 3) == 0, t) +
			    between(x, MS(500), SEC(3));
	} else {				/* one-shot */
		t = send_one(x, ci, 0, t) + gap(x, MS(50));
	}
	if (!tcp)
		return;
	kind = gp_rng_below(x->r, 10);
	if (kind < 5)
		gp_close_fin(x->s, ci, (int)gp_rng_below(x->r, 2), t, between(x, 50, 3000));
	else if (kind < 7)
		gp_pkt(x->s, ci, (int)gp_rng_below(x->r, 2), t, GP_TCP_RST, 0);
}

int gp_scenario_random(const struct gp_options *o)
{
	struct gp_truth_cfg cfg = {
		.idle_us = (uint64_t)(o->idle_s * 1e6 + 0.5),
		.active_us = (uint64_t)(o->active_s * 1e6 + 0.5),
		.linger_us = (uint64_t)(o->linger_s * 1e6 + 0.5),
		.max_flows = o->max_flows,
	};
	struct gp_script *s = gp_script_new(o);
	struct gp_rng shapes;
	struct rnd x = { .s = s, .r = &shapes };
	uint32_t k, nflows = o->flows ? (uint32_t)o->flows : 300;
	bool ok;

	/* shapes from their own stream, so payload bytes do not move them */
	gp_rng_init(&shapes, o->seed * 7919 + 17);
	for (k = 0; k < nflows && k < 65000; k++) {
		int ci = new_conv(&x, k);

		shape(&x, ci, between(&x, 0, SEC(540)));
	}
	ok = gp_script_finish(s, &cfg);
	gp_script_free(s);
	return ok ? 0 : 1;
}
