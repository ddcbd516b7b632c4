/*
 * kernel-settings-check: include/ctflow/kernel-settings.h against a real
 * kernel, in a fresh namespace with no rules (created by
 * test-kernel-settings.sh and passed as argv[1]).
 *
 * Scenario: the namespace does not track; sysctls read and write (and the
 * read-only ones refuse); activation makes it track, removal makes it stop;
 * the notrack table keeps ctflow's export traffic out of the table; the
 * check report says all of it. Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/capability.h>

#include <glib.h>

#include "ctflow/ct-source.h"
#include "ctflow/kernel-settings.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			failures++;                                                      \
			printf("not ok %d: ", __LINE__);                                 \
			printf(__VA_ARGS__);                                             \
			printf("\n");                                                    \
		}                                                                        \
	} while (0)

static uint32_t thread_netns(void)
{
	struct stat st;

	stat("/proc/thread-self/ns/net", &st);
	return (uint32_t)st.st_ino;
}

static struct ctf_ct_activity probe(const char *ns)
{
	g_autoptr(GError) error = NULL;
	struct ctf_ct_activity a = { CTF_CT_ACTIVE_UNKNOWN, CTF_CT_ACTIVE_UNKNOWN };

	CHECK(ctf_ct_probe_active(ns, &a, &error), "probe: %s", error ? error->message : "");
	return a;
}

static void given_namespace_scopes(const char *ns)
{
	g_autoptr(GError) error = NULL;
	struct ctf_netns_scope scope;
	uint32_t here = thread_netns(), ino = 0, ino2 = 0;

	CHECK(!ctf_netns_enter("ctft-no-such-namespace", &scope, NULL, &error) &&
	      strstr(error->message, "ctft-no-such-namespace"), "entering a missing namespace");
	CHECK(thread_netns() == here, "thread moved after a failed enter");
	CHECK(ctf_netns_enter(ns, &scope, &ino, NULL), "entering %s", ns);
	CHECK(thread_netns() == ino && ino != here, "not in %s after enter", ns);
	ctf_netns_leave(&scope);
	CHECK(thread_netns() == here, "not back after leave");
	CHECK(ctf_netns_inode(ns, &ino2, NULL) && ino2 == ino, "inode without entering");
}

static void sysctls_read_and_write(const char *ns)
{
	g_autoptr(GError) error = NULL;
	struct ctf_ct_sysctls s;

	CHECK(ctf_ct_sysctls_read(ns, &s, NULL), "reading sysctls");
	printf("# fresh namespace: acct=%" PRId64 " timestamp=%" PRId64 " events=%" PRId64
	       " max=%" PRId64 " (writable %d) count=%" PRId64 "\n", s.value[CTF_SYSCTL_ACCT],
	       s.value[CTF_SYSCTL_TIMESTAMP], s.value[CTF_SYSCTL_EVENTS], s.value[CTF_SYSCTL_MAX],
	       s.writable[CTF_SYSCTL_MAX], s.value[CTF_SYSCTL_COUNT]);
	CHECK(s.value[CTF_SYSCTL_ACCT] == 0 && s.value[CTF_SYSCTL_TIMESTAMP] == 0,
	      "acct and timestamp default to 0");
	CHECK(s.value[CTF_SYSCTL_MAX] > 0 && s.value[CTF_SYSCTL_COUNT] == 0, "max/count");
	CHECK(s.writable[CTF_SYSCTL_ACCT] && !s.writable[CTF_SYSCTL_COUNT], "writable flags");
	CHECK(ctf_ct_sysctl_write(ns, CTF_SYSCTL_ACCT, 1, NULL) &&
	      ctf_ct_sysctl_write(ns, CTF_SYSCTL_TIMESTAMP, 1, NULL), "enabling acct/timestamp");
	CHECK(ctf_ct_sysctls_read(ns, &s, NULL) && s.value[CTF_SYSCTL_ACCT] == 1 &&
	      s.value[CTF_SYSCTL_TIMESTAMP] == 1, "acct/timestamp read back");
	CHECK(!ctf_ct_sysctl_write(ns, CTF_SYSCTL_COUNT, 5, &error) &&
	      strstr(error->message, "read-only"), "writing nf_conntrack_count must fail");
	printf("# %s\n", error ? error->message : "");
}

static void activation_comes_and_goes(const char *ns)
{
	g_autoptr(GError) error = NULL;
	struct ctf_ct_activity a = probe(ns);
	uint64_t created = 0;

	CHECK(a.ipv4 == CTF_CT_ACTIVE_NO && a.ipv6 == CTF_CT_ACTIVE_NO,
	      "fresh namespace tracks (%d/%d)", a.ipv4, a.ipv6);
	CHECK(ctf_nft_activate_conntrack(ns, &error), "activate: %s",
	      error ? error->message : "");
	CHECK(ctf_nft_activate_conntrack(ns, NULL), "activating twice");
	a = probe(ns);
	CHECK(a.ipv4 == CTF_CT_ACTIVE_YES && a.ipv6 == CTF_CT_ACTIVE_YES,
	      "not tracking after activation (%d/%d)", a.ipv4, a.ipv6);
	CHECK(ctf_nft_activate_counter(ns, &created, NULL) && created == 2,
	      "activation counter %" PRIu64 ", expected the 2 probe entries", created);
	CHECK(ctf_nft_table_remove(ns, CTF_NFT_ACTIVATE_TABLE, NULL), "removing");
	CHECK(ctf_nft_table_remove(ns, CTF_NFT_ACTIVATE_TABLE, NULL), "removing twice");
	a = probe(ns);
	CHECK(a.ipv4 == CTF_CT_ACTIVE_NO && a.ipv6 == CTF_CT_ACTIVE_NO,
	      "still tracking after removal (%d/%d)", a.ipv4, a.ipv6);
	CHECK(!ctf_nft_table_remove(ns, "filter", NULL), "removing a table not ctflow's");
}

static void count_export_entries(const struct ctf_ct_entry *e, void *userdata)
{
	if (e->orig.proto == IPPROTO_UDP && e->orig.dport == 4739)
		(*(unsigned *)userdata)++;
}

/* Send one datagram to the "collector" and count its conntrack entries. */
static unsigned export_entries(const char *ns, ctf_ct_source *src)
{
	struct ctf_netns_scope scope;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(4739) };
	unsigned n = 0;
	int fd;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ctf_netns_enter(ns, &scope, NULL, NULL);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(fd, "ipfix", 5, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	ctf_netns_leave(&scope);
	CHECK(ctf_ct_source_dump(src, count_export_entries, &n, NULL, NULL), "dump");
	return n;
}

static void notrack_keeps_export_out(const char *ns)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ctf_ct_source) src = NULL;
	struct ctf_ct_source_config cfg;
	struct ctf_notrack_target t[2] = { { .family = 4, .port = 4739 },
					   { .family = 6, .port = 4739 } };

	inet_pton(AF_INET, "127.0.0.1", t[0].addr.b);
	inet_pton(AF_INET6, "::1", t[1].addr.b);
	ctf_ct_source_config_init(&cfg);
	cfg.netns = ns;
	src = ctf_ct_source_open(&cfg, &error);
	CHECK(src, "source: %s", error ? error->message : "");
	if (!src)
		return;
	CHECK(ctf_nft_activate_conntrack(ns, NULL), "activate");
	CHECK(!ctf_nft_notrack_install(ns, t, 0, NULL), "no targets must fail");
	CHECK(ctf_nft_notrack_install(ns, t, 2, &error), "notrack: %s",
	      error ? error->message : "");
	CHECK(export_entries(ns, src) == 0, "export traffic tracked despite notrack");
	CHECK(ctf_nft_table_remove(ns, CTF_NFT_NOTRACK_TABLE, NULL), "removing notrack");
	CHECK(export_entries(ns, src) == 1, "export traffic not tracked without notrack");
}

static void check_report(const char *ns)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) items = ctf_kernel_check(ns, true, &error);
	bool saw_admin = false, saw_active = false;

	CHECK(items, "check: %s", error ? error->message : "");
	for (guint i = 0; items && i < items->len; i++) {
		struct ctf_check_item *it = g_ptr_array_index(items, i);

		printf("# check: %-40s %-12s %s%s%s\n", it->what, it->value,
		       it->status == CTF_CHECK_OK ? "ok" : it->status == CTF_CHECK_WARN ? "WARN" :
		       "FAIL", it->advice ? ": " : "", it->advice ? it->advice : "");
		if (!strcmp(it->what, "CAP_NET_ADMIN"))
			saw_admin = it->status == CTF_CHECK_OK;
		if (!strcmp(it->what, "conntrack active (IPv4)"))
			saw_active = it->status == CTF_CHECK_OK;
	}
	CHECK(saw_admin, "CAP_NET_ADMIN not reported held");
	CHECK(saw_active, "activity not reported");
	CHECK(items && ctf_kernel_check_worst(items) != CTF_CHECK_FAIL, "a FAIL in the report");
}

int main(int argc, char **argv)
{
	uint64_t caps = 0;
	const char *ns = argc > 1 ? argv[1] : NULL;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	if (!ns) {
		fprintf(stderr, "usage: kernel-settings-check NAMESPACE\n");
		return 2;
	}
	CHECK(ctf_caps_effective(&caps, NULL) && ctf_caps_has(caps, CAP_NET_ADMIN),
	      "root without CAP_NET_ADMIN? CapEff %" PRIx64, caps);
	given_namespace_scopes(ns);
	sysctls_read_and_write(ns);
	activation_comes_and_goes(ns);
	notrack_keeps_export_out(ns);
	check_report(ns);
	ctf_nft_table_remove(ns, CTF_NFT_ACTIVATE_TABLE, NULL);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
