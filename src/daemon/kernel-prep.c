/*
 * Kernel preparation for `ctflow run` (see include/ctflow/kernel-prep.h).
 * Policy only; the mechanisms are in kernel-settings.c.
 */
#include <string.h>

#include "ctflow/error.h"
#include "ctflow/export-url.h"
#include "ctflow/kernel-prep.h"
#include "ctflow/kernel-settings.h"
#include "ctflow/resolve.h"

#define LOG_DOMAIN "ctflow-kernel"

struct ctf_kernel_prep {
	GPtrArray *activated;	/* char* netns names (or "" for the current) we added a table to */
	bool notrack;		/* ctflow_notrack installed in the current namespace */
};

static const char *ns_label(const char *netns)
{
	return netns ? netns : "the current namespace";
}

/* Turn on one sysctl if it is off; warn (not fail) when that is refused. */
static void ensure_sysctl(const char *netns, const struct ctf_ct_sysctls *s,
			  enum ctf_ct_sysctl which, int64_t want, const char *why)
{
	g_autoptr(GError) error = NULL;

	if (s->value[which] == want || (which == CTF_SYSCTL_EVENTS && s->value[which] > 0))
		return;
	if (ctf_ct_sysctl_write(netns, which, want, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "%s: set %s = %" G_GINT64_FORMAT " (%s)",
		      ns_label(netns), ctf_ct_sysctl_name(which), want, why);
		return;
	}
	g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: %s is %" G_GINT64_FORMAT " and could not be "
	      "set: %s; %s", ns_label(netns), ctf_ct_sysctl_name(which), s->value[which],
	      error->message, why);
}

static gboolean prep_sysctls(const char *netns, bool set, GError **error)
{
	struct ctf_ct_sysctls s;

	if (!ctf_ct_sysctls_read(netns, &s, error))
		return FALSE;
	if (s.read_errno[CTF_SYSCTL_EVENTS]) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: nf_conntrack is not loaded yet "
		      "(%s); it loads with the first rule that needs it", ns_label(netns),
		      g_strerror(s.read_errno[CTF_SYSCTL_EVENTS]));
		return TRUE;
	}
	if (!set) {
		if (s.value[CTF_SYSCTL_ACCT] != 1 || s.value[CTF_SYSCTL_TIMESTAMP] != 1)
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: nf_conntrack_acct=%" G_GINT64_FORMAT
			      " nf_conntrack_timestamp=%" G_GINT64_FORMAT ": records will lack "
			      "counters or times", ns_label(netns), s.value[CTF_SYSCTL_ACCT],
			      s.value[CTF_SYSCTL_TIMESTAMP]);
		return TRUE;
	}
	ensure_sysctl(netns, &s, CTF_SYSCTL_ACCT, 1,
		      "without it records carry no packet or octet counts");
	ensure_sysctl(netns, &s, CTF_SYSCTL_TIMESTAMP, 1,
		      "without it records carry no flow start and end times");
	ensure_sysctl(netns, &s, CTF_SYSCTL_EVENTS, 1, "without it no conntrack event is sent");
	return TRUE;
}

static void prep_activity(struct ctf_kernel_prep *p, const char *netns, bool activate)
{
	g_autoptr(GError) error = NULL;
	struct ctf_ct_activity act;

	if (!ctf_ct_probe_active(netns, &act, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: cannot tell whether conntrack is "
		      "active: %s", ns_label(netns), error->message);
		return;
	}
	if (act.ipv4 != CTF_CT_ACTIVE_NO && act.ipv6 != CTF_CT_ACTIVE_NO)
		return;
	if (!activate) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: conntrack tracks nothing (IPv4 %s, "
		      "IPv6 %s): no rule uses it; run without --no-activate or add a `ct state` rule",
		      ns_label(netns), act.ipv4 > 0 ? "yes" : "no", act.ipv6 > 0 ? "yes" : "no");
		return;
	}
	if (!ctf_nft_activate_conntrack(netns, &error)) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s: conntrack is idle and activating it "
		      "failed: %s", ns_label(netns), error->message);
		return;
	}
	g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "%s: conntrack was idle; added nftables table inet %s "
	      "(removed on exit)", ns_label(netns), CTF_NFT_ACTIVATE_TABLE);
	g_ptr_array_add(p->activated, g_strdup(netns ? netns : ""));
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
	p->notrack = true;
}

struct ctf_kernel_prep *ctf_kernel_prep_new(const struct ctf_run_config *cfg, GError **error)
{
	g_autoptr(ctf_kernel_prep) p = g_new0(struct ctf_kernel_prep, 1);
	bool named = cfg->netns && cfg->netns[0];
	size_t n = named ? g_strv_length(cfg->netns) : 1;

	p->activated = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; i < n; i++) {
		const char *ns = named ? cfg->netns[i] : NULL;

		if (!prep_sysctls(ns, cfg->set_sysctls, error))
			return NULL;
		prep_activity(p, ns, cfg->activate);
	}
	prep_notrack(p, cfg->collectors);
	return g_steal_pointer(&p);
}

void ctf_kernel_prep_free(struct ctf_kernel_prep *p)
{
	if (!p)
		return;
	for (guint i = 0; i < p->activated->len; i++) {
		const char *ns = g_ptr_array_index(p->activated, i);
		g_autoptr(GError) error = NULL;

		if (!ctf_nft_table_remove(*ns ? ns : NULL, CTF_NFT_ACTIVATE_TABLE, &error))
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "removing table %s: %s",
			      CTF_NFT_ACTIVATE_TABLE, error->message);
	}
	if (p->notrack) {
		g_autoptr(GError) error = NULL;

		if (!ctf_nft_table_remove(NULL, CTF_NFT_NOTRACK_TABLE, &error))
			g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "removing table %s: %s",
			      CTF_NFT_NOTRACK_TABLE, error->message);
	}
	g_ptr_array_unref(p->activated);
	g_free(p);
}
