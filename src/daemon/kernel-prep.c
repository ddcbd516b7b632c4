/*
 * Kernel preparation for `ctflow run` (see include/ctflow/kernel-prep.h).
 * Policy only; the mechanisms are in kernel-settings.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "ctflow/error.h"
#include "ctflow/export-url.h"
#include "ctflow/kernel-prep.h"
#include "ctflow/kernel-settings.h"
#include "ctflow/resolve.h"

#define LOG_DOMAIN "ctflow-kernel"

/* A namespace followed at run time (netns = all) that ctflow added its
 * activation table to: ctflow holds it open so that the table can be
 * removed through the same namespace whatever became of its name. */
struct followed {
	uint32_t ino;
	int fd;			/* O_RDONLY on the namespace */
	char *path;		/* /proc/<ctflow>/fd/<fd>, for nft's child too */
	char *label;
};

/* A table ctflow added at start. The socket is opened inside the table's
 * namespace right after adding it: at exit, a process that switched users
 * (privdrop.h) can neither enter namespaces nor pass capabilities to nft,
 * but it can still talk to nf_tables over a socket it holds. */
struct added_table {
	char *netns;		/* NULL: the current namespace */
	const char *table;	/* CTF_NFT_*_TABLE */
	struct mnl_socket *nl;	/* NULL: could not be opened, removed with nft */
};

struct ctf_kernel_prep {
	GPtrArray *added;	/* struct added_table*: activation tables, notrack */
	GPtrArray *followed;	/* struct followed*: netns = all, activated */
	bool set_sysctls;
	bool activate;
};

static const char *ns_label(const char *netns)
{
	return netns ? netns : "the current namespace";
}

/* Turn on one sysctl if it is off; warn (not fail) when that is refused. */
static void ensure_sysctl(const char *netns, const char *label, const struct ctf_ct_sysctls *s,
			  enum ctf_ct_sysctl which, int64_t want, const char *why)
{
	g_autoptr(GError) error = NULL;

	if (s->value[which] == want || (which == CTF_SYSCTL_EVENTS && s->value[which] > 0))
		return;
	if (ctf_ct_sysctl_write(netns, which, want, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "%s: set %s = %" G_GINT64_FORMAT " (%s)",
		      label, ctf_ct_sysctl_name(which), want, why);
		return;
	}
	g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: %s is %" G_GINT64_FORMAT " and could not be "
	      "set: %s; %s", label, ctf_ct_sysctl_name(which), s->value[which],
	      error->message, why);
}

static gboolean prep_sysctls(const char *netns, const char *label, bool set, GError **error)
{
	struct ctf_ct_sysctls s;

	if (!ctf_ct_sysctls_read(netns, &s, error))
		return FALSE;
	if (s.read_errno[CTF_SYSCTL_EVENTS]) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: nf_conntrack is not loaded yet "
		      "(%s); it loads with the first rule that needs it", label,
		      g_strerror(s.read_errno[CTF_SYSCTL_EVENTS]));
		return TRUE;
	}
	if (!set) {
		if (s.value[CTF_SYSCTL_ACCT] != 1 || s.value[CTF_SYSCTL_TIMESTAMP] != 1)
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: nf_conntrack_acct=%" G_GINT64_FORMAT
			      " nf_conntrack_timestamp=%" G_GINT64_FORMAT ": records will lack "
			      "counters or times", label, s.value[CTF_SYSCTL_ACCT],
			      s.value[CTF_SYSCTL_TIMESTAMP]);
		return TRUE;
	}
	ensure_sysctl(netns, label, &s, CTF_SYSCTL_ACCT, 1,
		      "without it records carry no packet or octet counts");
	ensure_sysctl(netns, label, &s, CTF_SYSCTL_TIMESTAMP, 1,
		      "without it records carry no flow start and end times");
	ensure_sysctl(netns, label, &s, CTF_SYSCTL_EVENTS, 1, "without it no conntrack event is sent");
	return TRUE;
}

static void added_table_free(gpointer data)
{
	struct added_table *t = data;

	if (t->nl)
		mnl_socket_close(t->nl);
	g_free(t->netns);
	g_free(t);
}

static void remember_table(struct ctf_kernel_prep *p, const char *netns, const char *table)
{
	struct added_table *t = g_new0(struct added_table, 1);
	g_autoptr(GError) error = NULL;

	t->netns = g_strdup(netns);
	t->table = table;
	t->nl = ctf_nft_socket_open(netns, &error);
	if (!t->nl)
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: %s; table inet %s will be removed with "
		      "nft at exit, which needs root then", ns_label(netns), error->message, table);
	g_ptr_array_add(p->added, t);
}

static void remove_table(const struct added_table *t)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = t->nl ? ctf_nft_table_remove_on(t->nl, t->table, &error)
			    : ctf_nft_table_remove(t->netns, t->table, &error);

	if (!ok)
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: removing table inet %s: %s",
		      ns_label(t->netns), t->table, error->message);
}

/* Returns whether ctflow added its activation table to @netns. */
static bool prep_activity(struct ctf_kernel_prep *p, const char *netns, const char *label,
			  bool activate)
{
	g_autoptr(GError) error = NULL;
	struct ctf_ct_activity act;

	if (!ctf_ct_probe_active(netns, &act, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: cannot tell whether conntrack is "
		      "active: %s", label, error->message);
		return false;
	}
	if (act.ipv4 != CTF_CT_ACTIVE_NO && act.ipv6 != CTF_CT_ACTIVE_NO)
		return false;
	if (!activate) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: conntrack tracks nothing (IPv4 %s, "
		      "IPv6 %s): no rule uses it; run without --no-activate or add a `ct state` rule",
		      label, act.ipv4 > 0 ? "yes" : "no", act.ipv6 > 0 ? "yes" : "no");
		return false;
	}
	if (!ctf_nft_activate_conntrack(netns, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: conntrack is idle and activating it "
		      "failed: %s", label, error->message);
		return false;
	}
	g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "%s: conntrack was idle; added nftables table inet %s "
	      "(removed on exit)", label, CTF_NFT_ACTIVATE_TABLE);
	return true;
}

/* Exempt the export traffic from conntrack where ctflow itself runs. */
static void prep_notrack(struct ctf_kernel_prep *p, char **collectors)
{
	g_autoptr(GArray) targets = g_array_new(FALSE, TRUE, sizeof(struct ctf_notrack_target));
	g_autoptr(GError) error = NULL;

	for (char **c = collectors; c && *c; c++) {
		struct ctf_export_url u;
		g_autoptr(GArray) addrs = NULL;

		if (!ctf_export_url_parse(*c, &u, NULL))
			continue;
		if ((u.scheme == CTF_EXPORT_UDP || u.scheme == CTF_EXPORT_TCP) &&
		    (addrs = ctf_resolve_host(u.host, NULL))) {
			for (guint i = 0; i < addrs->len; i++) {
				const struct ctf_host_addr *a = &g_array_index(addrs, struct ctf_host_addr, i);
				struct ctf_notrack_target t = { .addr = a->addr, .family = a->family,
								.port = u.port };

				g_array_append_val(targets, t);
			}
		}
		ctf_export_url_clear(&u);
	}
	if (targets->len == 0)
		return;
	if (!ctf_nft_notrack_install(NULL, (struct ctf_notrack_target *)targets->data,
				     targets->len, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "could not exempt the export traffic from "
		      "conntrack (%s); it is still filtered out of the records", error->message);
		return;
	}
	remember_table(p, NULL, CTF_NFT_NOTRACK_TABLE);
}

static void followed_free(gpointer data)
{
	struct followed *f = data;

	if (f->fd >= 0)
		close(f->fd);
	g_free(f->path);
	g_free(f->label);
	g_free(f);
}

static void remove_activation(const char *netns, const char *label)
{
	g_autoptr(GError) error = NULL;

	if (!ctf_nft_table_remove(netns, CTF_NFT_ACTIVATE_TABLE, &error))
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: removing table %s: %s", label,
		      CTF_NFT_ACTIVATE_TABLE, error->message);
}

struct ctf_kernel_prep *ctf_kernel_prep_new(const struct ctf_run_config *cfg, GError **error)
{
	g_autoptr(ctf_kernel_prep) p = g_new0(struct ctf_kernel_prep, 1);
	/* netns = all: the current namespace now, the others as they come */
	bool named = cfg->netns && cfg->netns[0] && !ctf_run_config_netns_all(cfg);
	size_t n = named ? g_strv_length(cfg->netns) : 1;

	p->added = g_ptr_array_new_with_free_func(added_table_free);
	p->followed = g_ptr_array_new_with_free_func(followed_free);
	p->set_sysctls = cfg->set_sysctls;
	p->activate = cfg->activate;
	for (size_t i = 0; i < n; i++) {
		const char *ns = named ? cfg->netns[i] : NULL;

		if (!prep_sysctls(ns, ns_label(ns), cfg->set_sysctls, error))
			return NULL;
		if (prep_activity(p, ns, ns_label(ns), cfg->activate))
			remember_table(p, ns, CTF_NFT_ACTIVATE_TABLE);
	}
	prep_notrack(p, cfg->collectors);
	return g_steal_pointer(&p);
}

void ctf_kernel_prep_free(struct ctf_kernel_prep *p)
{
	if (!p)
		return;
	for (guint i = 0; i < p->added->len; i++)
		remove_table(g_ptr_array_index(p->added, i));
	for (guint i = 0; i < p->followed->len; i++) {
		struct followed *f = g_ptr_array_index(p->followed, i);

		remove_activation(f->path, f->label);
	}
	g_ptr_array_unref(p->followed);
	g_ptr_array_unref(p->added);
	g_free(p);
}

void ctf_kernel_prep_add_netns(struct ctf_kernel_prep *p, const char *path, const char *label,
			       uint32_t ino)
{
	g_autoptr(GError) error = NULL;
	struct followed *f;
	int fd;

	g_return_if_fail(path != NULL);
	if (!prep_sysctls(path, label, p->set_sysctls, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: %s", label, error->message);
		return;
	}
	/* --no-activate: no probe (it creates an entry per family in every
	 * container's namespace) just to warn about each of them */
	if (!p->activate || !prep_activity(p, path, label, true))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {	/* gone in between: the table went with it */
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: cannot keep a reference to remove "
		      "table %s later: %s", label, CTF_NFT_ACTIVATE_TABLE, g_strerror(errno));
		return;
	}
	f = g_new0(struct followed, 1);
	f->ino = ino;
	f->fd = fd;
	f->path = g_strdup_printf("/proc/%d/fd/%d", (int)getpid(), fd);
	f->label = g_strdup(label);
	g_ptr_array_add(p->followed, f);
}

void ctf_kernel_prep_remove_netns(struct ctf_kernel_prep *p, uint32_t ino, bool gone)
{
	for (guint i = 0; i < p->followed->len; i++) {
		struct followed *f = g_ptr_array_index(p->followed, i);

		if (f->ino != ino)
			continue;
		if (!gone)
			remove_activation(f->path, f->label);
		g_ptr_array_remove_index_fast(p->followed, i);	/* closes the reference */
		return;
	}
}
