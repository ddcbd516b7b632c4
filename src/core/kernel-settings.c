/*
 * The kernel around conntrack (see include/ctflow/kernel-settings.h):
 * namespace scopes, sysctls, the activity probe, ctflow's nftables tables,
 * capabilities and the `ctflow check` report.
 *
 * Owns no long-lived state: each call enters the namespace, does its work
 * and leaves. It does not decide policy (whether to enable a setting or to
 * activate conntrack): the daemon does, from the results here.
 */
#define G_LOG_DOMAIN "ctflow-kernel"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/capability.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>

#include "ctflow/error.h"
#include "ctflow/kernel-settings.h"

#define THREAD_NETNS "/proc/thread-self/ns/net"
#define SYSCTL_DIR "/proc/sys/net/netfilter/"

/* ---- Namespaces ---------------------------------------------------- */

static char *netns_path(const char *netns)
{
	if (strchr(netns, '/'))
		return g_strdup(netns);
	return g_build_filename("/run/netns", netns, NULL);
}

gboolean ctf_netns_inode(const char *netns, uint32_t *ret_ino, GError **error)
{
	g_autofree char *path = netns ? netns_path(netns) : g_strdup(THREAD_NETNS);
	struct stat st;

	if (stat(path, &st) < 0)
		return ctf_set_error_errno(error, errno, "network namespace %s", path);
	*ret_ino = (uint32_t)st.st_ino;
	return TRUE;
}

gboolean ctf_netns_enter(const char *netns, struct ctf_netns_scope *ret_scope,
			 uint32_t *ret_ino, GError **error)
{
	g_autofree char *path = NULL;
	struct stat st;
	int fd, orig, err;

	ret_scope->orig_fd = -1;
	if (!netns)
		return ret_ino ? ctf_netns_inode(NULL, ret_ino, error) : TRUE;

	path = netns_path(netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctf_set_error_errno(error, errno, "opening network namespace %s", path);
	orig = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (orig < 0) {
		err = errno;
		close(fd);
		return ctf_set_error_errno(error, err, "opening %s", THREAD_NETNS);
	}
	if (fstat(fd, &st) < 0 || setns(fd, CLONE_NEWNET) < 0) {
		err = errno;
		close(fd);
		close(orig);
		if (err == EPERM)
			return ctf_set_error_errno(error, err, "entering network namespace %s "
						   "needs CAP_SYS_ADMIN", path);
		if (err == EINVAL)
			return ctf_set_error_errno(error, err, "%s is not a network namespace",
						   path);
		return ctf_set_error_errno(error, err, "entering network namespace %s", path);
	}
	close(fd);
	ret_scope->orig_fd = orig;
	if (ret_ino)
		*ret_ino = (uint32_t)st.st_ino;
	return TRUE;
}

void ctf_netns_leave(struct ctf_netns_scope *scope)
{
	if (scope->orig_fd < 0)
		return;
	if (setns(scope->orig_fd, CLONE_NEWNET) < 0)
		g_error("cannot return to the original network namespace: %s; "
			"stopping rather than opening sockets in the wrong one", g_strerror(errno));
	close(scope->orig_fd);
	scope->orig_fd = -1;
}

/* ---- sysctls --------------------------------------------------------- */

static const char *const sysctl_file[CTF_SYSCTL_N] = {
	[CTF_SYSCTL_ACCT] = "nf_conntrack_acct",
	[CTF_SYSCTL_TIMESTAMP] = "nf_conntrack_timestamp",
	[CTF_SYSCTL_EVENTS] = "nf_conntrack_events",
	[CTF_SYSCTL_MAX] = "nf_conntrack_max",
	[CTF_SYSCTL_COUNT] = "nf_conntrack_count",
};

static const char *const sysctl_name[CTF_SYSCTL_N] = {
	[CTF_SYSCTL_ACCT] = "net.netfilter.nf_conntrack_acct",
	[CTF_SYSCTL_TIMESTAMP] = "net.netfilter.nf_conntrack_timestamp",
	[CTF_SYSCTL_EVENTS] = "net.netfilter.nf_conntrack_events",
	[CTF_SYSCTL_MAX] = "net.netfilter.nf_conntrack_max",
	[CTF_SYSCTL_COUNT] = "net.netfilter.nf_conntrack_count",
};

const char *ctf_ct_sysctl_name(enum ctf_ct_sysctl which)
{
	if ((unsigned)which >= CTF_SYSCTL_N)
		return NULL;
	return sysctl_name[which];
}

/* Read one sysctl of the current namespace: 0 or a negative errno. */
static int sysctl_read_here(enum ctf_ct_sysctl which, int64_t *ret, bool *ret_writable)
{
	g_autofree char *path = g_strconcat(SYSCTL_DIR, sysctl_file[which], NULL);
	char buf[64], *end;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_writable = fstat(fd, &st) == 0 && (st.st_mode & S_IWUSR);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	close(fd);
	buf[n] = '\0';
	errno = 0;
	*ret = strtoll(buf, &end, 10);
	if (errno || end == buf)
		return -EBADMSG;
	return 0;
}

gboolean ctf_ct_sysctls_read(const char *netns, struct ctf_ct_sysctls *ret, GError **error)
{
	struct ctf_netns_scope scope;

	memset(ret, 0, sizeof(*ret));
	if (!ctf_netns_enter(netns, &scope, NULL, error))
		return FALSE;
	for (int i = 0; i < CTF_SYSCTL_N; i++) {
		int r = sysctl_read_here(i, &ret->value[i], &ret->writable[i]);

		if (r < 0) {
			ret->value[i] = -1;
			ret->read_errno[i] = -r;
		}
	}
	ctf_netns_leave(&scope);
	return TRUE;
}

static int sysctl_write_here(enum ctf_ct_sysctl which, int64_t value)
{
	g_autofree char *path = g_strconcat(SYSCTL_DIR, sysctl_file[which], NULL);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRId64 "\n", value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != len)
		err = errno ? errno : EIO;
	close(fd);
	return -err;
}

gboolean ctf_ct_sysctl_write(const char *netns, enum ctf_ct_sysctl which, int64_t value,
			     GError **error)
{
	struct ctf_netns_scope scope;
	const char *where = netns ? netns : "the current namespace";
	int r;

	if ((unsigned)which >= CTF_SYSCTL_N) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "no such conntrack sysctl");
		return FALSE;
	}
	if (!ctf_netns_enter(netns, &scope, NULL, error))
		return FALSE;
	r = sysctl_write_here(which, value);
	ctf_netns_leave(&scope);
	if (r == -EACCES || r == -EPERM)
		return ctf_set_error_errno(error, r, "setting %s=%" PRId64 " in %s (read-only in "
					   "this namespace, or CAP_NET_ADMIN missing)",
					   sysctl_name[which], value, where);
	if (r == -ENOENT)
		return ctf_set_error_errno(error, r, "setting %s in %s (conntrack not loaded: "
					   "modprobe nf_conntrack)", sysctl_name[which], where);
	if (r < 0)
		return ctf_set_error_errno(error, r, "setting %s=%" PRId64 " in %s",
					   sysctl_name[which], value, where);
	return TRUE;
}

/* ---- Activity probe ------------------------------------------------ */

struct probe_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static void probe_addr_init(int af, struct probe_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (af == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		a->len = sizeof(*in6);
	}
}

static uint16_t probe_addr_port(const struct probe_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* A UDP socket bound to the loopback address of @af; fills @a with the
 * address and port. Returns the fd or -errno. */
static int probe_socket(int af, struct probe_addr *a)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	probe_addr_init(af, a);
	if (bind(fd, (struct sockaddr *)&a->ss, a->len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a->ss, &a->len) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void put_probe_tuple(struct nlmsghdr *nlh, int af, uint16_t sport, uint16_t dport)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	if (af == AF_INET) {
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(INADDR_LOOPBACK));
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(INADDR_LOOPBACK));
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, sizeof(in6addr_loopback), &in6addr_loopback);
		mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof(in6addr_loopback), &in6addr_loopback);
	}
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
}

/* Read the answers to request @seq up to its ack: 0, or a negative errno
 * (the kernel's, from the ack, or the socket's). Bounded like any loop over
 * kernel input. */
static int await_ack(struct mnl_socket *nl, uint32_t seq)
{
	union {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr align;
	} u;

	for (int i = 0; i < 8; i++) {
		ssize_t n = mnl_socket_recvfrom(nl, u.buf, sizeof(u.buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r = mnl_cb_run(u.buf, n, seq, mnl_socket_get_portid(nl), NULL, NULL);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
	return -EPROTO;
}

/* One ctnetlink request for the probe tuple, acknowledged: returns 0 when
 * the kernel found (and for DELETE removed) the entry, -ENOENT when there
 * is none, another -errno on failure. */
static int ct_request(struct mnl_socket *nl, uint8_t type, int af, uint16_t sport,
		      uint16_t dport)
{
	union {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr align;
	} u;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(u.buf);
	struct nfgenmsg *nfg;
	uint32_t seq = (uint32_t)g_get_monotonic_time();

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = af;
	nfg->version = NFNETLINK_V0;
	put_probe_tuple(nlh, af, sport, dport);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return await_ack(nl, seq);	/* a GET answers with the entry first */
}

static int8_t probe_family(struct mnl_socket *nl, int af, int *ret_err)
{
	struct probe_addr rx_addr, tx_addr;
	int rx = probe_socket(af, &rx_addr);
	int tx = rx >= 0 ? probe_socket(af, &tx_addr) : -1;
	int8_t result = CTF_CT_ACTIVE_UNKNOWN;
	int r;

	*ret_err = 0;
	if (rx < 0 || tx < 0)
		goto out;	/* no loopback address for this family */
	if (sendto(tx, "ctflow-probe", 12, 0, (struct sockaddr *)&rx_addr.ss, rx_addr.len) < 0)
		goto out;
	/* Loopback output confirms the entry within sendto() (the confirm
	 * hook runs in postrouting, before the device queues the packet). */
	r = ct_request(nl, IPCTNL_MSG_CT_GET, af, probe_addr_port(&tx_addr),
		       probe_addr_port(&rx_addr));
	if (r == 0) {
		result = CTF_CT_ACTIVE_YES;
		ct_request(nl, IPCTNL_MSG_CT_DELETE, af, probe_addr_port(&tx_addr),
			   probe_addr_port(&rx_addr));
	} else if (r == -ENOENT) {
		result = CTF_CT_ACTIVE_NO;
	} else {
		*ret_err = -r;
	}
out:
	if (rx >= 0)
		close(rx);
	if (tx >= 0)
		close(tx);
	return result;
}

gboolean ctf_ct_probe_active(const char *netns, struct ctf_ct_activity *ret, GError **error)
{
	struct ctf_netns_scope scope;
	struct mnl_socket *nl;
	const char *where = netns ? netns : "the current namespace";
	int err4 = 0, err6 = 0, err;

	ret->ipv4 = ret->ipv6 = CTF_CT_ACTIVE_UNKNOWN;
	if (!ctf_netns_enter(netns, &scope, NULL, error))
		return FALSE;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		if (nl)
			mnl_socket_close(nl);
		ctf_netns_leave(&scope);
		return ctf_set_error_errno(error, err, "conntrack netlink socket in %s", where);
	}
	ret->ipv4 = probe_family(nl, AF_INET, &err4);
	ret->ipv6 = probe_family(nl, AF_INET6, &err6);
	mnl_socket_close(nl);
	ctf_netns_leave(&scope);
	err = err4 ? err4 : err6;
	if (err == EPERM)
		return ctf_set_error_errno(error, err, "asking conntrack in %s needs CAP_NET_ADMIN",
					   where);
	if (err)
		return ctf_set_error_errno(error, err, "probing conntrack in %s", where);
	return TRUE;
}

/* ---- nftables ------------------------------------------------------ */

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void child_enter_netns(gpointer data)
{
	static const char msg[] = "ctflow: cannot enter the network namespace\n";
	int fd = open(data, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(126);
		_exit(126);
	}
	close(fd);
}

static char *find_nft(void)
{
	static const char *const fallback[] = { "/usr/sbin/nft", "/sbin/nft" };
	char *p = g_find_program_in_path("nft");

	for (size_t i = 0; !p && i < G_N_ELEMENTS(fallback); i++)
		if (access(fallback[i], X_OK) == 0)
			p = g_strdup(fallback[i]);
	return p;
}

static int memfd_with(const char *text)
{
	int fd = memfd_create("ctflow-nft", MFD_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static GString *read_all(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_string_append_len(s, buf, n);
	}
	return s;
}

/*
 * Run `nft ARGS` in @netns with @script on stdin; its stdout and stderr,
 * merged, go to @ret_output (optional). Fails with nft's own words.
 */
static gboolean nft_run(const char *netns, const char *const *args, const char *script,
			char **ret_output, GError **error)
{
	g_autofree char *nft = find_nft();
	g_autofree char *path = netns ? netns_path(netns) : NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GString) out = NULL;
	int pipefd[2], in_fd, status;
	GPid pid;
	gboolean ok;

	if (!nft) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_UNSUPPORTED,
			    "nft not found (install nftables)");
		return FALSE;
	}
	g_ptr_array_add(argv, nft);
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	in_fd = memfd_with(script ? script : "");
	if (in_fd < 0)
		return ctf_set_error_errno(error, errno, "preparing nft input");
	if (!g_unix_open_pipe(pipefd, FD_CLOEXEC, error)) {
		close(in_fd);
		return FALSE;
	}
	ok = g_spawn_async_with_fds(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
				    path ? child_enter_netns : NULL, path, &pid,
				    in_fd, pipefd[1], pipefd[1], error);
	close(in_fd);
	close(pipefd[1]);
	if (!ok) {
		close(pipefd[0]);
		return FALSE;
	}
	out = read_all(pipefd[0]);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	g_spawn_close_pid(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		g_strchomp(out->str);
		g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "nft in %s failed: %s",
			    netns ? netns : "the current namespace",
			    out->len ? out->str : "(no message)");
		return FALSE;
	}
	if (ret_output)
		*ret_output = g_string_free(g_steal_pointer(&out), FALSE);
	return TRUE;
}

static gboolean nft_script(const char *netns, const char *script, GError **error)
{
	static const char *const args[] = { "-f", "-", NULL };

	return nft_run(netns, args, script, NULL, error);
}

/* "table inet T" + "delete table inet T" first: replaces a leftover of an
 * earlier run in the same transaction, and works when there is none. */
#define RECREATE(t) "table inet " t "\ndelete table inet " t "\n"

gboolean ctf_nft_activate_conntrack(const char *netns, GError **error)
{
	/* Loopback packets reach prerouting still in state new: skipping
	 * lo there counts each entry once. */
	static const char script[] =
		RECREATE(CTF_NFT_ACTIVATE_TABLE)
		"table inet " CTF_NFT_ACTIVATE_TABLE " {\n"
		"\tchain prerouting {\n"
		"\t\ttype filter hook prerouting priority 300; policy accept;\n"
		"\t\tiif != \"lo\" ct state new counter\n"
		"\t}\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority 300; policy accept;\n"
		"\t\tct state new counter\n"
		"\t}\n"
		"}\n";

	return nft_script(netns, script, error);
}

gboolean ctf_nft_activate_counter(const char *netns, uint64_t *ret_new, GError **error)
{
	static const char *const args[] = { "list", "table", "inet", CTF_NFT_ACTIVATE_TABLE,
					    NULL };
	g_autofree char *out = NULL;
	uint64_t sum = 0;

	if (!nft_run(netns, args, NULL, &out, error))
		return FALSE;
	for (const char *p = out; (p = strstr(p, "counter packets ")); ) {
		p += strlen("counter packets ");
		sum += g_ascii_strtoull(p, NULL, 10);
	}
	*ret_new = sum;
	return TRUE;
}

static void append_notrack_rules(GString *s, const struct ctf_notrack_target *t)
{
	char addr[INET6_ADDRSTRLEN];
	const char *ip = t->family == 6 ? "ip6" : "ip";

	inet_ntop(t->family == 6 ? AF_INET6 : AF_INET, t->addr.b, addr, sizeof(addr));
	g_string_append_printf(s,
		"\t\t%s daddr %s meta l4proto { tcp, udp } th dport %u notrack\n"
		"\t\t%s saddr %s meta l4proto { tcp, udp } th sport %u notrack\n",
		ip, addr, t->port, ip, addr, t->port);
}

gboolean ctf_nft_notrack_install(const char *netns, const struct ctf_notrack_target *targets,
				 size_t n, GError **error)
{
	static const char *const hooks[] = { "prerouting", "output" };
	g_autoptr(GString) s = g_string_new(RECREATE(CTF_NFT_NOTRACK_TABLE));

	if (!targets || n == 0) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "no collector to exempt");
		return FALSE;
	}
	g_string_append(s, "table inet " CTF_NFT_NOTRACK_TABLE " {\n");
	for (size_t h = 0; h < G_N_ELEMENTS(hooks); h++) {
		/* -300 (raw) runs before conntrack's own hook at -200 */
		g_string_append_printf(s, "\tchain %s {\n\t\ttype filter hook %s priority -300; "
				       "policy accept;\n", hooks[h], hooks[h]);
		for (size_t i = 0; i < n; i++) {
			if (targets[i].family != 4 && targets[i].family != 6) {
				g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
					    "collector address of unknown family %u",
					    targets[i].family);
				return FALSE;
			}
			append_notrack_rules(s, &targets[i]);
		}
		g_string_append(s, "\t}\n");
	}
	g_string_append(s, "}\n");
	return nft_script(netns, s->str, error);
}

gboolean ctf_nft_table_remove(const char *netns, const char *table, GError **error)
{
	g_autofree char *script = NULL;

	if (!table || !g_str_has_prefix(table, "ctflow_")) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "not a table of ctflow's: %s",
			    table ? table : "(null)");
		return FALSE;
	}
	script = g_strdup_printf("table inet %s\ndelete table inet %s\n", table, table);
	return nft_script(netns, script, error);
}

struct mnl_socket *ctf_nft_socket_open(const char *netns, GError **error)
{
	struct ctf_netns_scope scope;
	struct mnl_socket *nl;
	int err = 0;

	if (!ctf_netns_enter(netns, &scope, NULL, error))
		return NULL;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = errno;
	ctf_netns_leave(&scope);
	if (err) {
		if (nl)
			mnl_socket_close(nl);
		ctf_set_error_errno(error, err, "opening an nftables netlink socket in %s",
				    netns ? netns : "the current namespace");
		return NULL;
	}
	return nl;
}

/* BATCH_BEGIN and BATCH_END around nf_tables requests: the kernel only
 * takes them inside a batch. */
static void put_batch_marker(struct mnl_nlmsg_batch *b, uint16_t type, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	mnl_nlmsg_batch_next(b);
}

/* Send one DELTABLE for inet @table in a batch; 0, or a negative errno
 * (-ENOENT: no such table). */
static int nft_deltable(struct mnl_socket *nl, const char *table)
{
	union {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr align;
	} u;
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(u.buf, sizeof(u.buf));
	uint32_t seq = (uint32_t)g_get_monotonic_time();
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	ssize_t n;
	int err;

	put_batch_marker(b, NFNL_MSG_BATCH_BEGIN, seq);
	nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq + 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	mnl_nlmsg_batch_next(b);
	put_batch_marker(b, NFNL_MSG_BATCH_END, seq + 2);
	n = mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b));
	err = errno;
	mnl_nlmsg_batch_stop(b);
	if (n < 0)
		return -err;
	return await_ack(nl, seq + 1);	/* only the DELTABLE asked for one */
}

gboolean ctf_nft_table_remove_on(struct mnl_socket *nl, const char *table, GError **error)
{
	int r;

	if (!nl || !table || !g_str_has_prefix(table, "ctflow_")) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "not a table of ctflow's: %s",
			    table ? table : "(null)");
		return FALSE;
	}
	r = nft_deltable(nl, table);
	if (r == 0 || r == -ENOENT)
		return TRUE;
	return ctf_set_error_errno(error, -r, "deleting table inet %s%s", table,
				   r == -EPERM ? " (CAP_NET_ADMIN is needed)" : "");
}

/* ---- Capabilities -------------------------------------------------- */

gboolean ctf_caps_effective(uint64_t *ret_caps, GError **error)
{
	g_autofree char *status = NULL;
	const char *p;

	if (!g_file_get_contents("/proc/self/status", &status, NULL, error))
		return FALSE;
	p = strstr(status, "\nCapEff:");
	if (!p) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT, "no CapEff in /proc/self/status");
		return FALSE;
	}
	*ret_caps = g_ascii_strtoull(p + strlen("\nCapEff:"), NULL, 16);
	return TRUE;
}

/* ---- ctflow check -------------------------------------------------- */

void ctf_check_item_free(struct ctf_check_item *item)
{
	if (!item)
		return;
	g_free(item->what);
	g_free(item->value);
	g_free(item->advice);
	g_free(item);
}

static void add_item(GPtrArray *items, enum ctf_check_status status, const char *what,
		     char *value, const char *advice)
{
	struct ctf_check_item *it = g_new0(struct ctf_check_item, 1);

	it->what = g_strdup(what);
	it->value = value;
	it->status = status;
	it->advice = g_strdup(advice);
	g_ptr_array_add(items, it);
}

static void check_caps(GPtrArray *items, const char *netns)
{
	static const struct {
		int cap;
		const char *name;
		enum ctf_check_status missing;
		const char *advice;
	} caps[] = {
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN", CTF_CHECK_FAIL,
		  "needed for conntrack events, dumps, sysctls and nftables: run as root or "
		  "grant it (systemd AmbientCapabilities=CAP_NET_ADMIN)" },
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", CTF_CHECK_WARN,
		  "needed only to read other network namespaces (--netns)" },
		{ CAP_NET_RAW, "CAP_NET_RAW", CTF_CHECK_WARN,
		  "needed only for live packet sampling" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", CTF_CHECK_WARN,
		  "needed, with CAP_DAC_READ_SEARCH, only to map flows to processes of other "
		  "users (reading the links in /proc/PID/fd)" },
		{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", CTF_CHECK_WARN,
		  "needed, with CAP_SYS_PTRACE, only to map flows to processes of other users "
		  "(listing /proc/PID/fd)" },
	};
	g_autoptr(GError) error = NULL;
	uint64_t eff;

	if (!ctf_caps_effective(&eff, &error)) {
		add_item(items, CTF_CHECK_WARN, "capabilities", g_strdup("unreadable"),
			 error->message);
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
		bool held = ctf_caps_has(eff, caps[i].cap);

		if (caps[i].cap == CAP_SYS_ADMIN && !netns && !held)
			continue;	/* only matters with --netns */
		add_item(items, held ? CTF_CHECK_OK : caps[i].missing, caps[i].name,
			 g_strdup(held ? "held" : "missing"), held ? NULL : caps[i].advice);
	}
}

static void check_flag_sysctl(GPtrArray *items, const struct ctf_ct_sysctls *s,
			      enum ctf_ct_sysctl which, const char *what_for)
{
	g_autofree char *advice = NULL;

	if (s->value[which] >= 1) {
		add_item(items, CTF_CHECK_OK, sysctl_name[which], g_strdup("1"), NULL);
		return;
	}
	advice = g_strdup_printf("%s; ctflow run sets it to 1 unless told not to, or by hand: "
				 "sysctl -w %s=1 (only entries created afterwards get it)",
				 what_for, sysctl_name[which]);
	add_item(items, CTF_CHECK_WARN, sysctl_name[which], g_strdup("0"), advice);
}

static void check_sysctls(GPtrArray *items, const struct ctf_ct_sysctls *s)
{
	int64_t max = s->value[CTF_SYSCTL_MAX], count = s->value[CTF_SYSCTL_COUNT];

	if (s->read_errno[CTF_SYSCTL_COUNT] == ENOENT) {
		add_item(items, CTF_CHECK_FAIL, "nf_conntrack", g_strdup("not loaded"),
			 "modprobe nf_conntrack (and nf_conntrack_netlink)");
		return;
	}
	check_flag_sysctl(items, s, CTF_SYSCTL_ACCT, "without it flows have no packet or octet "
			  "counts");
	check_flag_sysctl(items, s, CTF_SYSCTL_TIMESTAMP, "without it flows have no kernel "
			  "start and end times");
	if (s->value[CTF_SYSCTL_EVENTS] == 0)
		add_item(items, CTF_CHECK_FAIL, sysctl_name[CTF_SYSCTL_EVENTS], g_strdup("0"),
			 "the kernel sends no conntrack events: sysctl -w "
			 "net.netfilter.nf_conntrack_events=1 (or 2)");
	else
		add_item(items, CTF_CHECK_OK, sysctl_name[CTF_SYSCTL_EVENTS],
			 g_strdup_printf("%" PRId64 "%s", s->value[CTF_SYSCTL_EVENTS],
					 s->value[CTF_SYSCTL_EVENTS] == 2 ? " (auto)" : ""),
			 NULL);
	if (max > 0 && count >= 0 && count * 10 >= max * 9)
		add_item(items, CTF_CHECK_WARN, sysctl_name[CTF_SYSCTL_COUNT],
			 g_strdup_printf("%" PRId64 " of %" PRId64, count, max),
			 "the table is nearly full: new connections are dropped when it is; "
			 "raise net.netfilter.nf_conntrack_max in the initial namespace");
	else
		add_item(items, CTF_CHECK_OK, sysctl_name[CTF_SYSCTL_COUNT],
			 g_strdup_printf("%" PRId64 " of %" PRId64, count, max), NULL);
}

static void check_activity(GPtrArray *items, const char *family, int8_t active)
{
	g_autofree char *what = g_strdup_printf("conntrack active (%s)", family);

	if (active == CTF_CT_ACTIVE_YES)
		add_item(items, CTF_CHECK_OK, what, g_strdup("yes"), NULL);
	else if (active == CTF_CT_ACTIVE_NO)
		add_item(items, CTF_CHECK_WARN, what, g_strdup("no"),
			 "no rule needs conntrack here, so nothing is tracked: ctflow run adds "
			 "table inet " CTF_NFT_ACTIVATE_TABLE " unless told not to, or add any "
			 "rule with a ct expression");
	else
		add_item(items, CTF_CHECK_WARN, what, g_strdup("unknown"),
			 "the loopback probe could not run (loopback down or family disabled)");
}

GPtrArray *ctf_kernel_check(const char *netns, bool probe, GError **error)
{
	g_autoptr(GPtrArray) items =
		g_ptr_array_new_with_free_func((GDestroyNotify)ctf_check_item_free);
	struct ctf_ct_sysctls s;

	check_caps(items, netns);
	if (!ctf_ct_sysctls_read(netns, &s, error))
		return NULL;
	check_sysctls(items, &s);
	if (probe) {
		g_autoptr(GError) perr = NULL;
		struct ctf_ct_activity act;

		if (!ctf_ct_probe_active(netns, &act, &perr)) {
			add_item(items, CTF_CHECK_WARN, "conntrack active", g_strdup("unknown"),
				 perr->message);
		} else {
			check_activity(items, "IPv4", act.ipv4);
			check_activity(items, "IPv6", act.ipv6);
		}
	}
	return g_steal_pointer(&items);
}

enum ctf_check_status ctf_kernel_check_worst(const GPtrArray *items)
{
	enum ctf_check_status worst = CTF_CHECK_OK;

	for (guint i = 0; items && i < items->len; i++) {
		const struct ctf_check_item *it = g_ptr_array_index((GPtrArray *)items, i);

		if (it->status > worst)
			worst = it->status;
	}
	return worst;
}
