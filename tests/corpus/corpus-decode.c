/*
 * corpus-decode: runs every frame of every capture named on the command
 * line through ctf_decode_packet() and prints how many ended in each
 * status. Under the sanitizers this is the decoder's fuzz corpus.
 *
 * Files libpcap cannot open (link types it does not know, damaged
 * headers) are reported and skipped; a capture that ends mid-record keeps
 * the frames read before the damage. It fails only when the decoder
 * breaks its own contract: an out-of-range status or an OK packet whose
 * fields contradict each other.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "ctflow/decode.h"

struct corpus_stats {
	uint64_t files;
	uint64_t skipped;
	uint64_t damaged;
	uint64_t frames;
	uint64_t by_status[CTF_DECODE_STATUS_COUNT];
	uint64_t contract_errors;
};

static const char *check_ok_packet(const struct ctf_packet *p, uint32_t caplen)
{
	static const struct ctf_addr zero;

	if (p->family != 4 && p->family != 6)
		return "family";
	if (p->family == 4 && memcmp(p->src.b + 4, zero.b, 12) != 0)
		return "IPv4 source not zero-padded";
	if (p->family == 4 && memcmp(p->dst.b + 4, zero.b, 12) != 0)
		return "IPv4 destination not zero-padded";
	if (p->l3_hdr_len < 20 || p->l3_hdr_len > caplen)
		return "l3_hdr_len outside the captured bytes";
	if (p->ip_len < p->l3_hdr_len)
		return "ip_len below l3_hdr_len";
	if (p->frag > CTF_FRAG_LATER)
		return "frag";
	if (p->frag == CTF_FRAG_LATER && (p->has_ports || p->frag_offset == 0))
		return "later fragment with ports or offset 0";
	if (p->frag == CTF_FRAG_FIRST && (!p->more_frags || p->frag_offset != 0))
		return "first fragment without MF or with an offset";
	if (p->tcp_flags && p->proto != 6)
		return "tcp_flags on a non-TCP packet";
	if (p->family == 4 && p->flow_label != 0)
		return "flow label on IPv4";
	return NULL;
}

static void count_frame(int dlt, const struct pcap_pkthdr *h, const uint8_t *data,
			const char *path, uint64_t n, struct corpus_stats *st)
{
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	struct ctf_packet pkt;
	enum ctf_decode_status s;
	const char *why = NULL;

	s = ctf_decode_packet(dlt, data, h->caplen, ts, &pkt);
	st->frames++;
	if ((unsigned int)s >= CTF_DECODE_STATUS_COUNT)
		why = "status out of range";
	else if (s == CTF_DECODE_OK)
		why = check_ok_packet(&pkt, h->caplen);
	if (!why && s == CTF_DECODE_OK && pkt.ts_us != ts)
		why = "timestamp not copied";
	if (why) {
		fprintf(stderr, "%s: frame %" PRIu64 ": contract broken: %s\n", path, n, why);
		st->contract_errors++;
		return;
	}
	st->by_status[s]++;
}

static void run_file(const char *path, struct corpus_stats *st)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	pcap_t *pc;
	int dlt, r;

	pc = pcap_open_offline(path, errbuf);
	if (!pc) {
		printf("skip %s: %s\n", path, errbuf);
		st->skipped++;
		return;
	}
	st->files++;
	dlt = pcap_datalink(pc);
	while ((r = pcap_next_ex(pc, &h, &data)) == 1)
		count_frame(dlt, h, data, path, ++n, st);
	if (r == PCAP_ERROR) {
		printf("damaged %s after %" PRIu64 " frames: %s\n", path, n, pcap_geterr(pc));
		st->damaged++;
	}
	pcap_close(pc);
}

static void print_summary(const struct corpus_stats *st)
{
	printf("files %" PRIu64 " (skipped %" PRIu64 ", damaged %" PRIu64 "), frames %" PRIu64 "\n",
	       st->files, st->skipped, st->damaged, st->frames);
	for (unsigned int s = 0; s < CTF_DECODE_STATUS_COUNT; s++)
		printf("  %-18s %10" PRIu64 "\n", ctf_decode_status_name(s), st->by_status[s]);
	if (st->contract_errors)
		printf("  %-18s %10" PRIu64 "\n", "CONTRACT-ERRORS", st->contract_errors);
}

int main(int argc, char **argv)
{
	struct corpus_stats st = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: %s CAPTURE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		run_file(argv[i], &st);
	print_summary(&st);
	if (st.contract_errors) {
		fprintf(stderr, "%" PRIu64 " frames broke the decoder contract\n",
			st.contract_errors);
		return 1;
	}
	if (st.files == 0) {
		fprintf(stderr, "no capture could be opened\n");
		return 1;
	}
	return 0;
}
