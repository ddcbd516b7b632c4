/*
 * Least privilege for `ctflow run` (see include/ctflow/privdrop.h).
 *
 * Owns the user lookup (at start, so a bad name fails before anything is
 * opened), the capability policy and the switch itself. It does not
 * decide when the switch happens: cmd-run.c calls it once every
 * privileged socket is open and before the threads start.
 *
 * Raw capset(2) with the version 3 header instead of libcap: ctflow needs
 * three set operations on two 32-bit words, and libcap would add a build
 * and run dependency for them. The prctl()s (bounding set, ambient set,
 * keep-caps, no-new-privs) have no libcap equivalent worth having either.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/capability.h>

#include "ctflow/error.h"
#include "ctflow/privdrop.h"

#define LOG_DOMAIN "ctflow-daemon"
#define MAX_GROUPS 4096

struct ctf_privdrop {
	bool active;
	char *user;
	uid_t uid;
	gid_t gid;
	gid_t *groups;		/* supplementary groups, resolved at start */
	int n_groups;
	uint64_t keep;		/* permitted = effective = bounding */
	uint64_t ambient;	/* subset of keep */
};

/* ---- policy ------------------------------------------------------------- */

uint64_t ctf_privdrop_caps_needed(const struct ctf_run_config *cfg, uint64_t *ret_ambient)
{
	uint64_t keep = CTF_CAP_BIT(CAP_NET_ADMIN), ambient = 0;

	g_return_val_if_fail(cfg != NULL, keep);
	if (cfg->enrich_process)
		keep |= CTF_CAP_BIT(CAP_SYS_PTRACE) | CTF_CAP_BIT(CAP_DAC_READ_SEARCH);
	if (ctf_run_config_netns_all(cfg)) {
		keep |= CTF_CAP_BIT(CAP_SYS_ADMIN) | CTF_CAP_BIT(CAP_SYS_PTRACE);
		ambient = CTF_CAP_BIT(CAP_NET_ADMIN) | CTF_CAP_BIT(CAP_SYS_ADMIN);
	}
	if (ret_ambient)
		*ret_ambient = ambient;
	return keep;
}

static const char *const cap_names[] = {
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
	"cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
	"cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override",
	"cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read",
	"cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
};

char *ctf_caps_to_string(uint64_t caps)
{
	GString *s = g_string_new(NULL);

	for (unsigned c = 0; c < 64; c++) {
		if (!(caps & CTF_CAP_BIT(c)))
			continue;
		if (s->len)
			g_string_append_c(s, ',');
		if (c < G_N_ELEMENTS(cap_names))
			g_string_append(s, cap_names[c]);
		else
			g_string_append_printf(s, "cap_%u", c);
	}
	if (!s->len)
		g_string_append(s, "none");
	return g_string_free(s, FALSE);
}

/* ---- planning ------------------------------------------------------------ */

static gboolean lookup_user(struct ctf_privdrop *pd, const char *name, GError **error)
{
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	g_autofree char *buf = NULL;
	struct passwd pw, *found = NULL;
	int r;

	size = size > 0 ? size : 16384;
	for (;;) {
		buf = g_realloc(buf, size);
		r = getpwnam_r(name, &pw, buf, size, &found);
		if (r != ERANGE || size >= (1 << 20))
			break;
		size *= 2;
	}
	if (r)
		return ctf_set_error_errno(error, r, "[daemon] user: looking up user '%s'", name);
	if (!found) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "[daemon] user: no user named '%s' "
			    "(create it, e.g. from the sysusers.d file ctflow installs, or fix the "
			    "name)", name);
		return FALSE;
	}
	if (pw.pw_uid == 0) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "[daemon] user: '%s' has uid 0, "
			    "which is no drop; name an unprivileged user or leave it empty to run "
			    "as root", name);
		return FALSE;
	}
	pd->uid = pw.pw_uid;
	pd->gid = pw.pw_gid;
	pd->user = g_strdup(pw.pw_name);
	return TRUE;
}

/* The supplementary groups initgroups() would set, resolved now: at the
 * switch nothing should depend on NSS any more. */
static gboolean lookup_groups(struct ctf_privdrop *pd, GError **error)
{
	int n = 32;

	pd->groups = g_new(gid_t, n);
	while (getgrouplist(pd->user, pd->gid, pd->groups, &n) < 0) {
		if (n <= 0 || n > MAX_GROUPS) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "[daemon] user: cannot list "
				    "the groups of '%s'", pd->user);
			return FALSE;
		}
		pd->groups = g_renew(gid_t, pd->groups, n);
	}
	pd->n_groups = n;
	return TRUE;
}

struct ctf_privdrop *ctf_privdrop_new(const struct ctf_run_config *cfg, GError **error)
{
	g_autoptr(ctf_privdrop) pd = g_new0(struct ctf_privdrop, 1);

	g_return_val_if_fail(cfg != NULL, NULL);
	if (!cfg->user || !cfg->user[0])
		return g_steal_pointer(&pd);
	if (geteuid() != 0) {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_INFO, "not started as root: [daemon] user = %s needs "
		      "no switch; running as uid %u with the capabilities it was given",
		      cfg->user, (unsigned)geteuid());
		return g_steal_pointer(&pd);
	}
	if (!lookup_user(pd, cfg->user, error) || !lookup_groups(pd, error))
		return NULL;
	pd->keep = ctf_privdrop_caps_needed(cfg, &pd->ambient);
	pd->active = true;
	return g_steal_pointer(&pd);
}

bool ctf_privdrop_is_active(const struct ctf_privdrop *pd)
{
	return pd && pd->active;
}

void ctf_privdrop_free(struct ctf_privdrop *pd)
{
	if (!pd)
		return;
	g_free(pd->user);
	g_free(pd->groups);
	g_free(pd);
}

/* ---- the switch ---------------------------------------------------------- */

/* Names of the threads besides the caller ("" when there are none). */
static gboolean other_threads(GString *names, GError **error)
{
	DIR *d = opendir("/proc/self/task");
	pid_t self = (pid_t)syscall(SYS_gettid);
	struct dirent *de;

	if (!d)
		return ctf_set_error_errno(error, errno, "listing /proc/self/task");
	while ((de = readdir(d)) != NULL) {
		g_autofree char *path = NULL, *comm = NULL;

		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		path = g_strdup_printf("/proc/self/task/%s/comm", de->d_name);
		if (g_file_get_contents(path, &comm, NULL, NULL))
			g_strchomp(comm);
		g_string_append_printf(names, "%s%s (%s)", names->len ? ", " : "", de->d_name,
				       comm ? comm : "?");
	}
	closedir(d);
	return TRUE;
}

static gboolean require_one_thread(GError **error)
{
	g_autoptr(GString) names = g_string_new(NULL);

	if (!other_threads(names, error))
		return FALSE;
	if (names->len) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "dropping privileges: other threads "
			    "already run (%s); they would keep root's capabilities, so ctflow "
			    "stops (a bug: threads must start after the switch)", names->str);
		return FALSE;
	}
	return TRUE;
}

static unsigned last_cap(void)
{
	g_autofree char *s = NULL;
	guint64 v;

	if (g_file_get_contents("/proc/sys/kernel/cap_last_cap", &s, NULL, NULL) &&
	    g_ascii_string_to_unsigned(g_strstrip(s), 10, 0, 63, &v, NULL))
		return (unsigned)v;
	return CAP_LAST_CAP;
}

/* While still root (PR_CAPBSET_DROP needs CAP_SETPCAP): whatever is not
 * kept leaves the bounding set, so no later execve can bring it back.
 * Only what is there is dropped: a container that left root without
 * CAP_SETPCAP may already have a bounding set as small as needed. */
static gboolean drop_bounding(uint64_t keep, uint64_t bounding, GError **error)
{
	unsigned last = last_cap();

	for (unsigned c = 0; c <= last; c++) {
		if ((keep & CTF_CAP_BIT(c)) || !(bounding & CTF_CAP_BIT(c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0L, 0L, 0L) < 0 && errno != EINVAL)
			return ctf_set_error_errno(error, errno, "dropping privileges: removing "
						   "capability %u from the bounding set", c);
	}
	return TRUE;
}

static gboolean switch_ids(const struct ctf_privdrop *pd, GError **error)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups((size_t)pd->n_groups, pd->groups) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: setting the groups "
					   "of %s", pd->user);
	if (setresgid(pd->gid, pd->gid, pd->gid) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: setresgid(%u)",
					   (unsigned)pd->gid);
	if (setresuid(pd->uid, pd->uid, pd->uid) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: setresuid(%u)",
					   (unsigned)pd->uid);
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: reading the ids back");
	if (ru != pd->uid || eu != pd->uid || su != pd->uid ||
	    rg != pd->gid || eg != pd->gid || sg != pd->gid) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "dropping privileges: uids %u/%u/%u "
			    "gids %u/%u/%u after switching to %u/%u", (unsigned)ru, (unsigned)eu,
			    (unsigned)su, (unsigned)rg, (unsigned)eg, (unsigned)sg,
			    (unsigned)pd->uid, (unsigned)pd->gid);
		return FALSE;
	}
	return TRUE;
}

static gboolean set_caps(uint64_t keep, uint64_t inheritable, GError **error)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)keep, .permitted = (uint32_t)keep,
		  .inheritable = (uint32_t)inheritable },
		{ .effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32),
		  .inheritable = (uint32_t)(inheritable >> 32) },
	};

	if (syscall(SYS_capset, &hdr, data) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: capset");
	return TRUE;
}

/* Ambient capabilities need the same bit in permitted and inheritable. */
static gboolean set_ambient(uint64_t ambient, GError **error)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: clearing ambient "
					   "capabilities");
	for (unsigned c = 0; c < 64; c++)
		if ((ambient & CTF_CAP_BIT(c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0L, 0L) < 0)
			return ctf_set_error_errno(error, errno, "dropping privileges: raising "
						   "ambient capability %u", c);
	return TRUE;
}

struct caps_now {
	uint64_t eff, prm, inh, bnd, amb;
};

static gboolean read_caps(struct caps_now *ret, GError **error)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	unsigned last = last_cap();

	memset(ret, 0, sizeof(*ret));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: capget");
	ret->eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	ret->prm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	ret->inh = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
	for (unsigned c = 0; c <= last; c++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0L, 0L, 0L) == 1)
			ret->bnd |= CTF_CAP_BIT(c);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)c, 0L, 0L) == 1)
			ret->amb |= CTF_CAP_BIT(c);
	}
	return TRUE;
}

/* Read everything back: a kernel or a security module that silently kept
 * or refused something must not leave ctflow running unlike what it logs. */
static gboolean verify(const struct ctf_privdrop *pd, GError **error)
{
	struct caps_now now;

	if (!read_caps(&now, error))
		return FALSE;
	if (now.eff != pd->keep || now.prm != pd->keep || now.bnd != pd->keep ||
	    now.amb != pd->ambient || now.inh != pd->ambient) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "dropping privileges: capabilities "
			    "are effective %#" G_GINT64_MODIFIER "x, permitted %#" G_GINT64_MODIFIER
			    "x, bounding %#" G_GINT64_MODIFIER "x, ambient %#" G_GINT64_MODIFIER
			    "x instead of %#" G_GINT64_MODIFIER "x (ambient %#" G_GINT64_MODIFIER
			    "x)", now.eff, now.prm, now.bnd, now.amb, pd->keep, pd->ambient);
		return FALSE;
	}
	if (setuid(0) == 0) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "dropping privileges: uid 0 could "
			    "be regained");
		return FALSE;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FAILED, "dropping privileges: no_new_privs "
			    "is not set");
		return FALSE;
	}
	return TRUE;
}

/* Root without some capability (a container's bounding set) cannot keep
 * it: trim the plan to what is held, and say what is missing. */
static gboolean trim_to_held(struct ctf_privdrop *pd, struct caps_now *start, GError **error)
{
	uint64_t missing;

	if (!read_caps(start, error))
		return FALSE;
	missing = pd->keep & ~start->prm;
	if (missing) {
		g_autofree char *names = ctf_caps_to_string(missing);

		g_log(LOG_DOMAIN, G_LOG_LEVEL_WARNING, "started as root without %s: what needs "
		      "it does not work, as user %s neither", names, pd->user);
		pd->keep &= ~missing;
		pd->ambient &= pd->keep;
	}
	return TRUE;
}

gboolean ctf_privdrop_apply(struct ctf_privdrop *pd, GError **error)
{
	g_autofree char *caps = NULL;
	struct caps_now start;

	if (!ctf_privdrop_is_active(pd))
		return TRUE;
	if (!require_one_thread(error) || !trim_to_held(pd, &start, error))
		return FALSE;
	/* keep the permitted set across the uid change: the kernel clears it
	 * when all uids leave 0, unless keep-caps is set */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: PR_SET_KEEPCAPS");
	if (!drop_bounding(pd->keep, start.bnd, error) || !switch_ids(pd, error) ||
	    !set_caps(pd->keep, pd->ambient, error))
		return FALSE;
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: PR_SET_KEEPCAPS");
	if (!set_ambient(pd->ambient, error))
		return FALSE;
	/* setuid/file-capability programs gain nothing from here on */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: PR_SET_NO_NEW_PRIVS");
	/* The uid change made the process undumpable, which hands /proc/PID
	 * to root. The nft children of netns = all (same user, ambient
	 * capabilities) enter namespaces through /proc/<ctflow>/fd/N: keep
	 * /proc/PID ours then, as under systemd's User=. */
	if (pd->ambient && prctl(PR_SET_DUMPABLE, 1L, 0L, 0L, 0L) < 0)
		return ctf_set_error_errno(error, errno, "dropping privileges: PR_SET_DUMPABLE");
	if (!verify(pd, error))
		return FALSE;
	caps = ctf_caps_to_string(pd->keep);
	if (pd->ambient) {
		g_autofree char *amb = ctf_caps_to_string(pd->ambient);

		g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "running as %s (uid %u), capabilities: %s "
		      "(ambient: %s, for the nft ctflow runs in namespaces that appear)", pd->user,
		      (unsigned)pd->uid, caps, amb);
	} else {
		g_log(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "running as %s (uid %u), capabilities: %s",
		      pd->user, (unsigned)pd->uid, caps);
	}
	return TRUE;
}
