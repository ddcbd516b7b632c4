/*
 * ctft-peer: the programs of the process-attribution root test. Copied
 * under a distinct name per role, so each role has its own comm and exe.
 *
 *   ctft-peer tcp-server ADDR PORT [--hold MS] [--lifetime MS]
 *   ctft-peer udp-server ADDR PORT [--lifetime MS]
 *   ctft-peer tcp-client DST PORT [--count N] [--hold MS] [--gap MS] [--v6sock]
 *   ctft-peer udp-client DST PORT [--count N] [--hold MS] [--gap MS] [--v6sock]
 *                        [--unconnected]
 *
 * Servers bind ADDR ("::" is dual-stack) and print "SERVES PROTO PORT PID"
 * then "READY"; a TCP server keeps each accepted connection --hold ms.
 * Clients open --count sockets --gap ms apart, send one message on each,
 * print "FLOW PROTO LPORT RPORT PID HOLD" and close each after --hold ms
 * (0: at once). --v6sock: an AF_INET6 socket with a v4-mapped destination.
 * Every loop is bounded by --lifetime (servers, default 120 s) or by the
 * counts. Exit 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_SOCKS 1024

struct opts {
	const char *mode, *addr;
	int port, count, hold_ms, gap_ms, lifetime_ms;
	bool v6sock, unconnected;
};

struct held {
	int fd;
	int64_t close_at;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	fprintf(stderr, "ctft-peer[%d]: %s: %s\n", (int)getpid(), what, strerror(errno));
	exit(1);
}

/* ADDR/PORT as a sockaddr; v4 as v4-mapped when @v6sock. */
static socklen_t make_addr(const char *addr, int port, bool v6sock,
			   struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct in_addr a4;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &a4) == 1 && !v6sock) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a4;
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
		fprintf(stderr, "ctft-peer: bad address %s\n", addr);
		exit(1);
	}
	return sizeof(*sin6);
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Close the held sockets whose time has come; returns how many remain. */
static int reap(struct held *h, int *n, bool all)
{
	int64_t now = now_ms();

	for (int i = 0; i < *n;) {
		if (all || h[i].close_at <= now) {
			close(h[i].fd);
			h[i] = h[--*n];
		} else {
			i++;
		}
	}
	return *n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_client(const struct opts *o, bool tcp)
{
	static struct held h[MAX_SOCKS];
	struct sockaddr_storage dst;
	socklen_t len = make_addr(o->addr, o->port, o->v6sock, &dst);
	int n = 0;

	for (int i = 0; i < o->count; i++) {
		int fd = socket(dst.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket");
		if ((tcp || !o->unconnected) && connect(fd, (struct sockaddr *)&dst, len) < 0)
			die("connect");
		if (sendto(fd, "hello\n", 6, 0, tcp || !o->unconnected ? NULL : (struct sockaddr *)&dst,
			   tcp || !o->unconnected ? 0 : len) != 6)
			die("send");
		printf("FLOW %s %d %d %d %d\n", tcp ? "tcp" : "udp", local_port(fd), o->port,
		       (int)getpid(), o->hold_ms);
		if (o->hold_ms == 0) {
			close(fd);
		} else {
			if (n == MAX_SOCKS)
				reap(h, &n, true);
			h[n++] = (struct held){ fd, now_ms() + o->hold_ms };
		}
		if (o->gap_ms && i + 1 < o->count)
			sleep_ms(o->gap_ms);
		reap(h, &n, false);
	}
	/* bounded: every deadline is at most hold_ms away */
	while (reap(h, &n, false) > 0)
		sleep_ms(5);
	return 0;
}

static int bind_server(const struct opts *o, bool tcp)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(o->addr, o->port, false, &ss);
	int fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	int zero = 0, one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (tcp && listen(fd, 256) < 0)
		die("listen");
	printf("SERVES %s %d %d\nREADY\n", tcp ? "tcp" : "udp", o->port, (int)getpid());
	return fd;
}

static int run_tcp_server(const struct opts *o)
{
	static struct held h[MAX_SOCKS];
	struct pollfd pfd[MAX_SOCKS + 1];
	int lfd = bind_server(o, true), n = 0;
	int64_t end = now_ms() + o->lifetime_ms;
	char buf[256];

	while (now_ms() < end) {
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = h[i].fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n + 1, 5) < 0 && errno != EINTR)
			die("poll");
		/* drain; at the peer's close, close too (downwards: the slot
		 * refilled from the end was handled already) */
		for (int i = n - 1; i >= 0; i--)
			if (pfd[i + 1].revents && read(h[i].fd, buf, sizeof(buf)) <= 0) {
				close(h[i].fd);
				h[i] = h[--n];
			}
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && o->hold_ms == 0) {
				(void)!read(fd, buf, sizeof(buf));
				close(fd);
			} else if (fd >= 0) {
				if (n == MAX_SOCKS)
					reap(h, &n, true);
				h[n++] = (struct held){ fd, now_ms() + o->hold_ms };
			}
		}
		reap(h, &n, false);
	}
	return 0;
}

static int run_udp_server(const struct opts *o)
{
	int fd = bind_server(o, false);
	int64_t end = now_ms() + o->lifetime_ms;
	char buf[2048];

	while (now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (r > 0)
			sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, flen);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ctft-peer tcp-server|udp-server|tcp-client|udp-client "
		"ADDR PORT [--count N] [--hold MS] [--gap MS] [--lifetime MS] [--v6sock] "
		"[--unconnected]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 1, .lifetime_ms = 120000 };

	if (argc < 4)
		usage();
	o.mode = argv[1];
	o.addr = argv[2];
	o.port = atoi(argv[3]);
	for (int i = 4; i < argc; i++) {
		bool has_val = i + 1 < argc;

		if (!strcmp(argv[i], "--count") && has_val)
			o.count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hold") && has_val)
			o.hold_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--gap") && has_val)
			o.gap_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--lifetime") && has_val)
			o.lifetime_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--v6sock"))
			o.v6sock = true;
		else if (!strcmp(argv[i], "--unconnected"))
			o.unconnected = true;
		else
			usage();
	}
	if (o.port <= 0 || o.port > 65535 || o.count < 0 || o.count > 100000)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(o.mode, "tcp-server"))
		return run_tcp_server(&o);
	if (!strcmp(o.mode, "udp-server"))
		return run_udp_server(&o);
	if (!strcmp(o.mode, "tcp-client"))
		return run_client(&o, true);
	if (!strcmp(o.mode, "udp-client"))
		return run_client(&o, false);
	usage();
}
