/*
 * decode-dump: prints one tab-separated line per frame of a capture with
 * what ctf_decode_packet() made of it. A debugging aid, and the ctflow
 * side of the decode-vs-tshark comparison.
 *
 * The first line is "#dlt N supported|unsupported". Then the columns:
 * frame caplen status family proto src dst sport dport ip_len
 * l3_hdr_len frag frag_offset more_frags frag_id tcp_flags icmp_type
 * icmp_code icmp_id vlan_outer vlan_inner tos flow_label; a frame that
 * did not decode stops after its status.
 *
 * Exit status: 0 when the capture was read (even if damaged part way),
 * 3 when libpcap cannot open it, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "ctflow/decode.h"

static void print_packet(uint64_t n, uint32_t caplen, enum ctf_decode_status s,
			 const struct ctf_packet *p)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = p->family == 4 ? AF_INET : AF_INET6;

	if (s != CTF_DECODE_OK) {
		printf("%" PRIu64 "\t%u\t%s\n", n, caplen, ctf_decode_status_name(s));
		return;
	}
	inet_ntop(af, p->src.b, src, sizeof(src));
	inet_ntop(af, p->dst.b, dst, sizeof(dst));
	printf("%" PRIu64 "\t%u\tok\t%u\t%u\t%s\t%s\t", n, caplen, p->family, p->proto,
	       src, dst);
	if (p->has_ports && p->proto != 1 && p->proto != 58)
		printf("%u\t%u\t", p->sport, p->dport);
	else
		printf("-\t-\t");
	printf("%u\t%u\t%u\t%u\t%u\t%u\t0x%03x\t", p->ip_len, p->l3_hdr_len, p->frag,
	       p->frag_offset, p->more_frags, p->frag_id, p->tcp_flags);
	if (p->has_ports && (p->proto == 1 || p->proto == 58))
		printf("%u\t%u\t%u\t", p->icmp_type, p->icmp_code, p->icmp_id);
	else
		printf("-\t-\t-\t");
	printf("%u\t%u\t%u\t%u\n", p->vlan_outer, p->vlan_inner, p->tos, p->flow_label);
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	pcap_t *pc;
	int dlt, r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CAPTURE\n", argv[0]);
		return 2;
	}
	pc = pcap_open_offline(argv[1], errbuf);
	if (!pc) {
		fprintf(stderr, "%s: %s\n", argv[1], errbuf);
		return 3;
	}
	dlt = pcap_datalink(pc);
	printf("#dlt\t%d\t%s\n", dlt,
	       ctf_decode_linktype_supported(dlt) ? "supported" : "unsupported");
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		struct ctf_packet pkt;
		enum ctf_decode_status s;

		s = ctf_decode_packet(dlt, data, h->caplen, ts, &pkt);
		print_packet(++n, h->caplen, s, &pkt);
	}
	if (r == PCAP_ERROR)
		fprintf(stderr, "%s: damaged after %" PRIu64 " frames: %s\n", argv[1], n,
			pcap_geterr(pc));
	pcap_close(pc);
	return 0;
}
