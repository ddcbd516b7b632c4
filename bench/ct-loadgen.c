/*
 * ct-loadgen: create new UDP conntrack entries as fast as the kernel
 * allows, inside a network namespace.
 *
 * One UDP socket, one datagram per entry: sendto() over a range of
 * destination ports and, past one range, the next address (127.0.0.1,
 * 127.0.0.2, ... by default; --dst may name a non-local sink instead, see
 * bench/ct-reader-bench.sh), so every datagram has a tuple of its own.
 * Bounded by a count and a time;
 * pinned to one CPU so a reader can have the other. Prints entries/s.
 * The ground truth of entries created is an nft `ct state new` counter in
 * the namespace (tests/root/lib.sh: ctft_ct_enable); this program only
 * counts datagrams sent.
 *
 *   ct-loadgen [--netns NAME|PATH] [--count N] [--seconds S] [--cpu C]
 *              [--dst A.B.C.D] [--ports LO-HI] [--size BYTES]
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct opts {
	const char *netns;
	unsigned long count;
	double seconds;
	int cpu;
	const char *dst;
	unsigned port_lo, port_hi;
	unsigned size;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int enter_netns(const char *netns)
{
	char path[512];
	int fd;

	if (!netns)
		return 0;
	if (strchr(netns, '/'))
		snprintf(path, sizeof(path), "%s", netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "ct-loadgen: entering %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "ct-loadgen: pinning to CPU %d: %s\n", cpu, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return -1;
		if (!strcmp(a, "--netns"))
			o->netns = v;
		else if (!strcmp(a, "--count"))
			o->count = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seconds"))
			o->seconds = strtod(v, NULL);
		else if (!strcmp(a, "--cpu"))
			o->cpu = atoi(v);
		else if (!strcmp(a, "--dst"))
			o->dst = v;
		else if (!strcmp(a, "--ports")) {
			if (sscanf(v, "%u-%u", &o->port_lo, &o->port_hi) != 2)
				return -1;
		} else if (!strcmp(a, "--size"))
			o->size = (unsigned)atoi(v);
		else
			return -1;
		i++;
	}
	if (!o->count || o->port_lo == 0 || o->port_hi < o->port_lo || o->port_hi > 65535 ||
	    o->size > 1400)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 200000, .seconds = 30, .cpu = 0, .dst = "127.0.0.1",
			  .port_lo = 1024, .port_hi = 65535, .size = 16 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned nports;
	unsigned long sent = 0, errors = 0;
	uint32_t base;
	char payload[1400] = { 0 };
	double t0, t1;
	int fd;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: ct-loadgen [--netns NS] [--count N] [--seconds S] "
				"[--cpu C] [--dst A.B.C.D] [--ports LO-HI] [--size BYTES]\n");
		return 2;
	}
	if (enter_netns(o.netns) < 0 || pin(o.cpu) < 0)
		return 1;
	if (inet_pton(AF_INET, o.dst, &to.sin_addr) != 1) {
		fprintf(stderr, "ct-loadgen: bad --dst %s\n", o.dst);
		return 2;
	}
	base = ntohl(to.sin_addr.s_addr);
	nports = o.port_hi - o.port_lo + 1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("ct-loadgen: socket");
		return 1;
	}
	t0 = now_s();
	for (unsigned long i = 0; i < o.count; i++) {
		/* one new tuple per datagram: the source port stays, the
		 * destination port and then address advance */
		to.sin_port = htons(o.port_lo + i % nports);
		to.sin_addr.s_addr = htonl(base + (uint32_t)(i / nports));
		if (sendto(fd, payload, o.size, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			errors++;	/* e.g. ECONNREFUSED from an earlier ICMP error */
		else
			sent++;
		if ((i & 1023) == 0 && now_s() - t0 > o.seconds)
			break;
	}
	t1 = now_s();
	close(fd);
	printf("ct-loadgen: sent=%lu errors=%lu seconds=%.3f rate=%.0f/s cpu=%d\n", sent, errors,
	       t1 - t0, (sent + errors) / (t1 - t0), o.cpu);
	return 0;
}
