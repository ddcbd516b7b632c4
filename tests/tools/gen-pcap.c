/*
 * gen-pcap: writes deterministic captures with exact ground truth for the
 * golden suite and the benchmarks.
 *
 *   gen-pcap --scenario NAME --out FILE.pcap --truth FILE.json [--seed N]
 *            [--flows N] [--packets N] [--link eth|sll|sll2|raw] [--snaplen N]
 *            [--idle-timeout S] [--active-timeout S] [--linger S]
 *
 * Scenarios: golden (every flow shape with known records), golden-frag,
 * golden-evict, golden-big (focused variants), golden-random (random
 * conversations, exact truth per seed), bench (N packets over M
 * flows, fast), bench-concurrent (N flows all open at once).
 * This file owns option parsing, the random generator and the pcap file
 * format; scripts are written with gen-pcap-script.c, the scenarios live
 * in gen-pcap-golden.c, gen-pcap-random.c and gen-pcap-bench.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "gen-pcap.h"

void gp_rng_init(struct gp_rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
	if (!r->s)
		r->s = 1;
}

uint64_t gp_rng_next(struct gp_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

uint32_t gp_rng_below(struct gp_rng *r, uint32_t n)
{
	return (uint32_t)(((gp_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

bool gp_pcap_open(struct gp_pcap *p, const char *path, int linktype, uint32_t snaplen)
{
	uint8_t h[24];

	memset(p, 0, sizeof(*p));
	p->fp = fopen(path, "wb");
	if (!p->fp) {
		fprintf(stderr, "gen-pcap: cannot create %s: %s\n", path, strerror(errno));
		return false;
	}
	setvbuf(p->fp, NULL, _IOFBF, 4 << 20);
	p->linktype = linktype;
	p->snaplen = snaplen;
	/* classic pcap, microsecond timestamps, little endian */
	le32(h, 0xa1b2c3d4);
	le16(h + 4, 2);
	le16(h + 6, 4);
	le32(h + 8, 0);
	le32(h + 12, 0);
	le32(h + 16, snaplen);
	le32(h + 20, (uint32_t)linktype);
	fwrite(h, 1, sizeof(h), p->fp);
	return true;
}

void gp_pcap_write(struct gp_pcap *p, uint64_t ts_us, const uint8_t *frame,
		   uint32_t len, uint32_t caplen)
{
	uint8_t h[16];

	if (caplen > len)
		caplen = len;
	if (caplen > p->snaplen)
		caplen = p->snaplen;
	le32(h, (uint32_t)(ts_us / 1000000));
	le32(h + 4, (uint32_t)(ts_us % 1000000));
	le32(h + 8, caplen);
	le32(h + 12, len);
	fwrite(h, 1, sizeof(h), p->fp);
	fwrite(frame, 1, caplen, p->fp);
	p->frames++;
	p->bytes += 16 + caplen;
}

bool gp_pcap_close(struct gp_pcap *p)
{
	bool ok = !ferror(p->fp);

	if (fclose(p->fp) != 0)
		ok = false;
	p->fp = NULL;
	if (!ok)
		fprintf(stderr, "gen-pcap: write error: %s\n", strerror(errno));
	return ok;
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: gen-pcap --scenario golden|golden-frag|golden-evict|golden-big|\n"
		"                           golden-random|bench|bench-concurrent\n"
		"                --out FILE.pcap\n"
		"                --truth FILE.json [--seed N] [--flows N] [--packets N]\n"
		"                [--link eth|sll|sll2|raw] [--snaplen N]\n"
		"                [--idle-timeout S] [--active-timeout S] [--linger S]\n"
		"                [--max-flows N]\n"
		"  golden: fixed flow set with exact expected records for the given\n"
		"          timeouts (defaults 30/120/2 s); other links drop VLAN flows\n"
		"  golden-frag: fragment shapes (duplicates, interleaving, options, ...)\n"
		"  golden-evict: flows against --max-flows N (default 4): reason 5\n"
		"  golden-random: --flows N (default 300) random conversations; --seed\n"
		"          picks the capture; truth for the given timeouts\n"
		"  golden-big: counters over 2^32 octets and 2^16 packets (snaplen 128)\n"
		"  bench: --packets N (default 5000000) over --flows M (default 500000)\n"
		"  bench-concurrent: --flows N (default 1000000) each sending 2 packets\n");
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*ret = v;
	return true;
}

static bool parse_secs(const char *s, double *ret)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v <= 0)
		return false;
	*ret = v;
	return true;
}

static int parse_link(const char *s)
{
	if (!strcmp(s, "eth") || !strcmp(s, "ethernet"))
		return GP_LINK_ETHERNET;
	if (!strcmp(s, "sll"))
		return GP_LINK_SLL;
	if (!strcmp(s, "sll2"))
		return GP_LINK_SLL2;
	if (!strcmp(s, "raw"))
		return GP_LINK_RAW;
	return -1;
}

static bool parse_opt(struct gp_options *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 's': o->scenario = arg; return true;
	case 'o': o->out = arg; return true;
	case 't': o->truth = arg; return true;
	case 'S': return parse_u64(arg, &o->seed);
	case 'f': return parse_u64(arg, &o->flows) && o->flows > 0;
	case 'p': return parse_u64(arg, &o->packets) && o->packets > 0;
	case 'l': o->linktype = parse_link(arg); return o->linktype > 0;
	case 'n':
		if (!parse_u64(arg, &v) || v < 64 || v > 262144)
			return false;
		o->snaplen = (uint32_t)v;
		return true;
	case 'i': return parse_secs(arg, &o->idle_s);
	case 'a': return parse_secs(arg, &o->active_s);
	case 'g': return parse_secs(arg, &o->linger_s);
	case 'm': return parse_u64(arg, &o->max_flows);
	default: return false;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "truth", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "flows", required_argument, NULL, 'f' },
		{ "packets", required_argument, NULL, 'p' },
		{ "link", required_argument, NULL, 'l' },
		{ "snaplen", required_argument, NULL, 'n' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "active-timeout", required_argument, NULL, 'a' },
		{ "linger", required_argument, NULL, 'g' },
		{ "max-flows", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gp_options o = {
		.seed = 1,
		.linktype = GP_LINK_ETHERNET,
		.snaplen = 65535,
		.idle_s = 30,
		.active_s = 120,
		.linger_s = 2,
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (!parse_opt(&o, c, optarg)) {
			if (optarg)
				fprintf(stderr, "gen-pcap: bad value '%s' for --%s\n", optarg,
					argv[optind - 1] + 2);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o.scenario || !o.out || !o.truth) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(o.scenario, "golden") || !strcmp(o.scenario, "golden-frag") ||
	    !strcmp(o.scenario, "golden-evict") || !strcmp(o.scenario, "golden-big"))
		return gp_scenario_golden(&o);
	if (!strcmp(o.scenario, "golden-random"))
		return gp_scenario_random(&o);
	if (!strcmp(o.scenario, "bench"))
		return gp_scenario_bench(&o, false);
	if (!strcmp(o.scenario, "bench-concurrent"))
		return gp_scenario_bench(&o, true);
	fprintf(stderr, "gen-pcap: unknown scenario '%s'\n", o.scenario);
	usage(stderr);
	return 2;
}
