/*
 * ct-bare-reader: the ceiling for reading conntrack events.
 *
 * A bare libmnl reader: one event socket with a 64 MiB buffer
 * (SO_RCVBUFFORCE), blocking recv into one buffer, messages counted by type
 * and nothing else. Pinned to a CPU; stops after --idle seconds without a
 * message (once the first has arrived) or after --seconds. Prints counts,
 * overruns and the CPU time it used (getrusage), per message.
 *
 *   ct-bare-reader [--netns NAME|PATH] [--cpu C] [--idle S] [--seconds S]
 *                  [--rcvbuf BYTES] [--ready FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

struct counts {
	unsigned long new, update, destroy, other, enobufs;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counts *c = data;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_DELETE)
		c->destroy++;
	else if (NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW)
		c->other++;
	else if (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL))
		c->new++;
	else
		c->update++;
	return MNL_CB_OK;
}

static int enter_netns(const char *netns)
{
	char path[512];
	int fd;

	if (!netns)
		return 0;
	snprintf(path, sizeof(path), strchr(netns, '/') ? "%s" : "/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "ct-bare-reader: entering %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *ready = NULL;
	int cpu = 1, rcvbuf = 64 << 20;
	double idle = 3, seconds = 120, first = 0, last = 0, t0, c0;
	static char buf[1 << 16];
	struct counts c = { 0 };
	struct mnl_socket *nl;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	cpu_set_t set;
	unsigned long total;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--netns"))
			netns = argv[i + 1];
		else if (!strcmp(argv[i], "--cpu"))
			cpu = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--idle"))
			idle = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--rcvbuf"))
			rcvbuf = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ready"))
			ready = argv[i + 1];
		else {
			fprintf(stderr, "ct-bare-reader: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (enter_netns(netns) < 0)
		return 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu >= 0 && sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("ct-bare-reader: sched_setaffinity");
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) {
		perror("ct-bare-reader: socket");
		return 1;
	}
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		perror("ct-bare-reader: SO_RCVBUFFORCE");
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mnl_socket_bind(nl, 1u << (NFNLGRP_CONNTRACK_NEW - 1) |
			    1u << (NFNLGRP_CONNTRACK_UPDATE - 1) |
			    1u << (NFNLGRP_CONNTRACK_DESTROY - 1), MNL_SOCKET_AUTOPID) < 0) {
		perror("ct-bare-reader: bind");
		return 1;
	}
	if (ready)
		fclose(fopen(ready, "w"));
	t0 = now_s();
	c0 = cpu_s();
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), 0);
		double t = now_s();

		if (n < 0 && errno == ENOBUFS) {
			c.enobufs++;
			continue;
		}
		if (n > 0) {
			if (!first)
				first = t;
			last = t;
			mnl_cb_run(buf, n, 0, 0, count_cb, &c);
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("ct-bare-reader: recv");
			break;
		}
		if (t - t0 > seconds || (first && t - last > idle))
			break;
	}
	total = c.new + c.update + c.destroy + c.other;
	printf("ct-bare-reader: new=%lu update=%lu destroy=%lu other=%lu enobufs=%lu "
	       "active_s=%.3f cpu_s=%.3f cpu_us_per_msg=%.2f\n", c.new, c.update, c.destroy,
	       c.other, c.enobufs, last - first, cpu_s() - c0,
	       total ? (cpu_s() - c0) * 1e6 / total : 0.0);
	mnl_socket_close(nl);
	return 0;
}
