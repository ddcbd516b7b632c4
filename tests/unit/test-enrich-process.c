/*
 * Process enricher: arguments, container ids from real-looking
 * /proc/PID/cgroup files, UTF-8 sanitising, user names, and one lookup of
 * this test's own loopback sockets (no privileges needed).
 */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ctflow/enrich-process.h"

#define ID_A "4f3b6a0e9c1d2b8a7e6f5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a29180"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD "pod6f1c2a4e-0d1b-4c6e-9a57-3b2f8e1d0c9a"

/* ---- helpers ------------------------------------------------------------ */

static void expect_container(const char *cgroup, const char *id)
{
	char ret[65];
	bool found = ctf_proc_container_id(cgroup, strlen(cgroup), ret);

	if (strcmp(ret, id) != 0)
		fail_msg("cgroup \"%s\": got \"%s\", want \"%s\"", cgroup, ret, id);
	assert_int_equal(found, id[0] != '\0');
}

static void expect_utf8(const char *in, size_t in_len, size_t size, const char *out,
			size_t need)
{
	char buf[128];

	assert_true(size <= sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(ctf_proc_utf8_copy(buf, size, in, in_len), need);
	assert_string_equal(buf, out);
	assert_true(g_utf8_validate(buf, -1, NULL));
}

static struct ctf_ct_entry given_flow(uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct ctf_ct_entry e = { .family = 4, .msg = CTF_CT_NEW };

	e.orig.proto = e.reply.proto = proto;
	inet_pton(AF_INET, "127.0.0.1", e.orig.src.b);
	inet_pton(AF_INET, "127.0.0.1", e.orig.dst.b);
	e.orig.sport = sport;
	e.orig.dport = dport;
	e.reply.src = e.orig.dst;
	e.reply.dst = e.orig.src;
	e.reply.sport = dport;
	e.reply.dport = sport;
	return e;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static int loopback_socket(int type, uint16_t *ret_port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*ret_port = bound_port(fd);
	return fd;
}

static void connect_to(int fd, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

static void expect_self(const struct ctf_proc_info *pi)
{
	char comm[64] = "", user[33];
	FILE *f = fopen("/proc/self/comm", "r");

	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	ctf_proc_user_name(geteuid(), user);
	assert_int_equal(pi->pid, getpid());
	assert_string_equal(pi->comm, comm);
	assert_int_equal(pi->uid, geteuid());
	assert_string_equal(pi->user, user);
	assert_non_null(strstr(pi->exe, "test-enrich-process"));
}

/* ---- tests ----------------------------------------------------------------- */

static void test_invalid_arguments(void **state)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_proc_enricher) pe = ctf_proc_enricher_new(NULL, &err);
	struct ctf_ct_entry e = given_flow(IPPROTO_TCP, 1, 2);
	struct ctf_proc_info pi;
	struct ctf_proc_enricher_stats st;

	assert_non_null(pe);
	assert_int_equal(ctf_proc_enricher_lookup(NULL, NULL, &e, &pi), -EINVAL);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, NULL, &pi), -EINVAL);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, NULL), -EINVAL);
	e.family = 5;
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), -EINVAL);
	e = given_flow(IPPROTO_ICMP, 0, 0);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), -EPROTONOSUPPORT);
	assert_int_equal(pi.pid, 0);
	e = given_flow(IPPROTO_TCP, 1, 2);
	assert_int_equal(ctf_proc_enricher_lookup(pe, "ctft-no-such-netns", &e, &pi), -ENODEV);
	assert_int_equal(ctf_proc_enricher_refresh_tcp(NULL, NULL, &e, &pi), -EINVAL);
	ctf_proc_enricher_get_stats(pe, &st);
	assert_int_equal(st.lookups, 4);
	assert_int_equal(st.unsupported, 1);
	assert_int_equal(st.errors, 3);		/* no entry, family 5, no such netns */
	assert_true(st.proc_scans >= 1);	/* at creation */
	ctf_proc_enricher_forget_netns(NULL, NULL);
	ctf_proc_enricher_forget_netns(pe, "ctft-no-such-netns");
	ctf_proc_enricher_free(NULL);
}

static void test_forwarded_flow_has_no_process(void **state)
{
	g_autoptr(ctf_proc_enricher) pe = ctf_proc_enricher_new(NULL, NULL);
	struct ctf_ct_entry e = given_flow(IPPROTO_UDP, 5353, 53);
	struct ctf_proc_info pi;
	struct ctf_proc_enricher_stats st;

	/* documentation addresses: no address of this host */
	inet_pton(AF_INET, "192.0.2.1", e.orig.src.b);
	inet_pton(AF_INET, "198.51.100.1", e.orig.dst.b);
	e.reply.src = e.orig.dst;
	e.reply.dst = e.orig.src;
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), -ENOENT);
	ctf_proc_enricher_get_stats(pe, &st);
	assert_int_equal(st.not_local, 1);
	assert_int_equal(st.sock_diag_requests, 0);	/* decided without asking */
}

static void test_own_sockets(void **state)
{
	struct ctf_proc_enricher_config cfg;
	g_autoptr(ctf_proc_enricher) slow = NULL;
	g_autoptr(ctf_proc_enricher) pe = NULL;
	struct ctf_proc_info pi;
	struct ctf_ct_entry e;
	uint16_t lport, cport, uport, ucport;
	int lfd, cfd, ufd, ucfd;

	/* Enrichers first: to them this process is neither new nor a recent
	 * owner, so only a full scan finds its new sockets. */
	ctf_proc_enricher_config_init(&cfg);
	cfg.full_scan_interval_ms = 3600 * 1000;
	slow = ctf_proc_enricher_new(&cfg, NULL);
	cfg.full_scan_interval_ms = 0;
	pe = ctf_proc_enricher_new(&cfg, NULL);
	lfd = loopback_socket(SOCK_STREAM, &lport);
	cfd = loopback_socket(SOCK_STREAM, &cport);
	ufd = loopback_socket(SOCK_DGRAM, &uport);
	ucfd = loopback_socket(SOCK_DGRAM, &ucport);
	assert_int_equal(listen(lfd, 4), 0);
	connect_to(cfd, lport);
	e = given_flow(IPPROTO_TCP, cport, lport);

	/* the full scan at creation was just now: not yet */
	assert_int_equal(ctf_proc_enricher_lookup(slow, NULL, &e, &pi), -EAGAIN);

	/* TCP: both ends are ours, the initiator (client) is found */
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), 0);
	expect_self(&pi);
	assert_true(pi.tcp_rtt_us > 0);
	pi.tcp_rtt_us = 0;
	assert_int_equal(ctf_proc_enricher_refresh_tcp(pe, NULL, &e, &pi), 0);
	assert_true(pi.tcp_rtt_us > 0);

	/* UDP to an unconnected server socket from an unconnected client */
	e = given_flow(IPPROTO_UDP, ucport, uport);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), 0);
	expect_self(&pi);
	assert_int_equal(pi.tcp_rtt_us, 0);
	assert_int_equal(ctf_proc_enricher_refresh_tcp(pe, NULL, &e, &pi), -EPROTONOSUPPORT);

	/* closed: no socket any more */
	close(ucfd);
	close(ufd);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), -ENOENT);
	assert_int_equal(pi.pid, 0);
	close(cfd);
	close(lfd);
}

static void test_device_bound_udp(void **state)
{
	struct ctf_proc_enricher_config cfg;
	g_autoptr(ctf_proc_enricher) pe = NULL;
	struct ctf_proc_enricher_stats st;
	struct ctf_proc_info pi;
	struct ctf_ct_entry e;
	uint16_t port;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* The exact lookup passes no interface, so it does not see sockets
	 * bound to one; the dump of the port does. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0) {
		close(fd);
		skip();
	}
	close(fd);
	ctf_proc_enricher_config_init(&cfg);
	cfg.full_scan_interval_ms = 0;
	pe = ctf_proc_enricher_new(&cfg, NULL);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	port = bound_port(fd);
	e = given_flow(IPPROTO_UDP, port, 9);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), 0);
	expect_self(&pi);
	ctf_proc_enricher_get_stats(pe, &st);
	assert_true(st.sock_diag_requests >= 3);	/* exact, mapped, dump */

	cfg.udp_port_dump = false;
	ctf_proc_enricher_free(g_steal_pointer(&pe));
	pe = ctf_proc_enricher_new(&cfg, NULL);
	assert_int_equal(ctf_proc_enricher_lookup(pe, NULL, &e, &pi), -ENOENT);
	close(fd);
}

static void test_container_id_docker(void **state)
{
	/* systemd cgroup driver, cgroup v2 */
	expect_container("0::/system.slice/docker-" ID_A ".scope\n", ID_A);
	/* cgroupfs driver, cgroup v1: every hierarchy names it */
	expect_container("12:pids:/docker/" ID_A "\n"
			 "11:memory:/docker/" ID_A "\n"
			 "1:name=systemd:/docker/" ID_A "\n"
			 "0::/docker/" ID_A "\n", ID_A);
	/* a hybrid host whose v1 line has it and v2 line does not */
	expect_container("9:name=systemd:/\n8:pids:/docker/" ID_B "\n0::/\n", ID_B);
	/* docker in docker: the innermost container */
	expect_container("0::/docker/" ID_A "/docker/" ID_B "\n", ID_B);
}

static void test_container_id_kubernetes(void **state)
{
	/* containerd, systemd driver */
	expect_container("0::/kubepods.slice/kubepods-besteffort.slice/"
			 "kubepods-besteffort-pod3c5a2b1e_8f3d_4c2a_9b7e_1f2d3c4b5a69.slice/"
			 "cri-containerd-" ID_A ".scope\n", ID_A);
	/* CRI-O, systemd driver; its monitor is not in the container */
	expect_container("0::/kubepods.slice/kubepods-burstable.slice/"
			 "kubepods-burstable-pod3c5a2b1e_8f3d_4c2a_9b7e_1f2d3c4b5a69.slice/"
			 "crio-" ID_B ".scope\n", ID_B);
	expect_container("0::/kubepods.slice/kubepods-burstable.slice/"
			 "kubepods-burstable-pod3c5a2b1e_8f3d_4c2a_9b7e_1f2d3c4b5a69.slice/"
			 "crio-conmon-" ID_B ".scope\n", "");
	/* cgroupfs driver, v1 and v2 */
	expect_container("11:cpu,cpuacct:/kubepods/besteffort/" POD "/" ID_A "\n"
			 "10:pids:/kubepods/besteffort/" POD "/" ID_A "\n", ID_A);
	expect_container("0::/kubepods/burstable/" POD "/" ID_B "\n", ID_B);
	/* the pod's own cgroup (pause-less processes): no container */
	expect_container("0::/kubepods/burstable/" POD "\n", "");
}

static void test_container_id_podman(void **state)
{
	expect_container("0::/machine.slice/libpod-" ID_A ".scope\n", ID_A);
	/* with cgroupns: processes sit one level down */
	expect_container("0::/machine.slice/libpod-" ID_A ".scope/container\n", ID_A);
	/* rootless */
	expect_container("0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
			 "libpod-" ID_B ".scope\n", ID_B);
	/* cgroupfs manager */
	expect_container("0::/libpod_parent/libpod-" ID_B "\n", ID_B);
	expect_container("0::/machine.slice/libpod-conmon-" ID_A ".scope\n", "");
}

static void test_container_id_none(void **state)
{
	char ret[65] = "junk";

	expect_container("0::/user.slice/user-1000.slice/session-2.scope\n", "");
	expect_container("0::/\n", "");
	expect_container("0::/init.scope\n", "");
	/* 32 hex digits (not a container runtime's id) */
	expect_container("4:memory:/process_api/bf930f2178a71d2d3eb0c231e689fdf8\n", "");
	/* 64 hex digits, but under nothing that names a container */
	expect_container("0::/system.slice/" ID_A "\n", "");
	expect_container("0::/system.slice/pod/" ID_A "\n", "");	/* no kubepods */
	/* one digit short, one too many, uppercase, a non-hex letter */
	expect_container("0::/docker/" "4f3b6a0e9c1d2b8a7e6f5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918\n",
			 "");
	expect_container("0::/docker-" ID_A "0.scope\n", "");
	expect_container("0::/docker-4F3B6A0E9C1D2B8A7E6F5D4C3B2A1908F7E6D5C4B3A29180F7E6D5C4B3A29180.scope\n",
			 "");
	expect_container("0::/docker-g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
			 "");
	/* malformed lines */
	expect_container("no colons " ID_A "\n", "");
	expect_container("", "");
	assert_false(ctf_proc_container_id(NULL, 0, ret));
	assert_string_equal(ret, "");
}

static void test_container_id_not_terminated(void **state)
{
	static const char text[] = "0::/docker/" ID_A "/docker/" ID_B;
	char ret[65];

	/* only the first id lies within @len */
	assert_true(ctf_proc_container_id(text, strlen("0::/docker/" ID_A), ret));
	assert_string_equal(ret, ID_A);
	/* cut inside the id */
	assert_false(ctf_proc_container_id(text, strlen("0::/docker/") + 63, ret));
	assert_string_equal(ret, "");
}

static void test_utf8_valid(void **state)
{
	static const char snow[] = "h\xc3\xa9llo \xe2\x98\x83 \xf0\x9d\x84\x9e";	/* héllo ☃ 𝄞 */

	expect_utf8("nginx", 5, 16, "nginx", 5);
	expect_utf8(snow, strlen(snow), 64, snow, strlen(snow));
	expect_utf8("", 0, 16, "", 0);
	/* @len, not the NUL, bounds the input */
	expect_utf8("abcdef", 3, 16, "abc", 3);
}

static void test_utf8_invalid(void **state)
{
	/* a lone 0xff, an overlong '/', a UTF-16 surrogate, a cut sequence */
	expect_utf8("a\xff" "b", 3, 16, "a\xef\xbf\xbd" "b", 5);
	expect_utf8("\xc0\xaf", 2, 16, "\xef\xbf\xbd\xef\xbf\xbd", 6);
	expect_utf8("\xed\xa0\x80", 3, 16, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9);
	expect_utf8("ab\xe2\x82", 4, 16, "ab\xef\xbf\xbd\xef\xbf\xbd", 8);
	/* beyond U+10FFFF */
	expect_utf8("\xf4\x90\x80\x80", 4, 32,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12);
	/* an embedded NUL */
	expect_utf8("a\0b", 3, 16, "a\xef\xbf\xbd" "b", 5);
}

static void test_utf8_truncation(void **state)
{
	char buf[8] = "XXXXXXX";

	/* whole characters only: "ab€" needs 5 bytes, 4 hold "ab" */
	expect_utf8("ab\xe2\x82\xac", 5, 4, "ab", 5);
	expect_utf8("ab\xe2\x82\xac", 5, 6, "ab\xe2\x82\xac", 5);
	/* a replacement that does not fit is left out whole */
	expect_utf8("abcd\xff", 5, 6, "abcd", 7);
	/* 15 invalid bytes (a hostile comm) in 16 bytes: 5 replacements */
	expect_utf8("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 15, 16,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 45);
	/* size 0 writes nothing, size 1 only the NUL */
	assert_int_equal(ctf_proc_utf8_copy(buf, 0, "abc", 3), 3);
	assert_string_equal(buf, "XXXXXXX");
	assert_int_equal(ctf_proc_utf8_copy(buf, 1, "abc", 3), 3);
	assert_string_equal(buf, "");
}

static void test_user_names(void **state)
{
	struct passwd *pw = getpwuid(geteuid());
	char name[33];

	ctf_proc_user_name(0, name);
	assert_string_equal(name, "root");
	/* no such user: the number stands in */
	ctf_proc_user_name(4000000000u, name);
	assert_string_equal(name, "4000000000");
	ctf_proc_user_name(UINT32_MAX - 1, name);
	assert_string_equal(name, "4294967294");
	ctf_proc_user_name(geteuid(), name);
	if (pw && strlen(pw->pw_name) < sizeof(name))
		assert_string_equal(name, pw->pw_name);
	else
		assert_int_equal(strtoul(name, NULL, 10), geteuid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_forwarded_flow_has_no_process),
		cmocka_unit_test(test_own_sockets),
		cmocka_unit_test(test_device_bound_udp),
		cmocka_unit_test(test_container_id_docker),
		cmocka_unit_test(test_container_id_kubernetes),
		cmocka_unit_test(test_container_id_podman),
		cmocka_unit_test(test_container_id_none),
		cmocka_unit_test(test_container_id_not_terminated),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_truncation),
		cmocka_unit_test(test_user_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
