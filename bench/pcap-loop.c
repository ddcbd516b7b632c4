/*
 * The ceiling: a bare libpcap read loop that touches each packet's first
 * byte and nothing else. ctflow convert is measured against it.
 *
 *   pcap-loop FILE   -> prints "packets N seconds S"
 */
#include <stdio.h>
#include <time.h>

#include <pcap/pcap.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned long long n = 0, sum = 0;
	struct timespec a, b;
	pcap_t *p;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap-loop FILE\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], errbuf);
	if (!p) {
		fprintf(stderr, "pcap-loop: %s: %s\n", argv[1], errbuf);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	while (pcap_next_ex(p, &h, &d) == 1) {
		n++;
		sum += d[0] + h->len;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("packets %llu seconds %.3f checksum %llu\n", n,
	       (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, sum);
	pcap_close(p);
	return 0;
}
