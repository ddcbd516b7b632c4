/*
 * The exporter: configuration, the list of outputs, and the fan-out.
 *
 * Converts each record once to the IPFIX internal struct (when any IPFIX
 * output exists) and hands it to every output; splits biflows for
 * --uniflow; runs the outputs' timers; collects their drops at finish;
 * keeps the interface and namespace name tables and tells the outputs
 * when they change.
 * Encoding and transports live in the other files of src/export.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <string.h>

#include "ctflow/error.h"
#include "ctflow/export-url.h"
#include "ctflow/export.h"
#include "ctflow/ipfix-schema.h"
#include "output.h"

struct ctf_exporter {
	struct ctf_export_config cfg;
	struct ctf_ipfix_schema *schema;
	struct ctf_output_env env;	/* points into this struct */
	GPtrArray *outputs;		/* struct ctf_output * */
	bool have_ipfix;
	struct ctf_if_name *ifs;	/* env.ifs: sorted, unique, sanitised */
	struct ctf_netns_name *netns;	/* env.netns: the same */
};

void ctf_export_config_init(struct ctf_export_config *cfg)
{
	*cfg = (struct ctf_export_config){
		.odid = 0,
		.pen = CTF_DEFAULT_PEN,
		.template_refresh_s = 60,
		.reconnect_min_s = 60,
		.reconnect_max_s = 600,
		.queue_max = 1000000,
		.udp_rate = 4000,
		.udp_mtu = 1420,
		.flush_ms = 1000,
		.shutdown_timeout_s = 10,
	};
}

static gboolean check_config(const struct ctf_export_config *cfg, GError **error)
{
	const char *why = NULL;

	if (cfg->template_refresh_s == 0)
		why = "template refresh interval must be at least 1 s (RFC 7011 8.4)";
	else if (cfg->reconnect_min_s == 0)
		why = "reconnect backoff must be at least 1 s";
	else if (cfg->reconnect_max_s < cfg->reconnect_min_s)
		why = "maximum reconnect backoff is below the minimum";
	else if (cfg->udp_mtu < 512 || cfg->udp_mtu > 65000)
		why = "UDP message size must be from 512 to 65000 octets";
	if (why) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "export: %s", why);
		return FALSE;
	}
	return TRUE;
}

static void output_free(gpointer p)
{
	struct ctf_output *o = p;

	o->ops->free(o);
}

struct ctf_exporter *ctf_exporter_new(const struct ctf_export_config *cfg,
				      GError **error)
{
	g_autoptr(ctf_exporter) ex = NULL;

	if (!check_config(cfg, error))
		return NULL;
	ex = g_new0(struct ctf_exporter, 1);
	ex->cfg = *cfg;
	ex->outputs = g_ptr_array_new_with_free_func(output_free);
	ex->schema = ctf_ipfix_schema_new(cfg->pen, error);
	if (!ex->schema)
		return NULL;
	ex->env.cfg = &ex->cfg;
	ex->env.schema = ex->schema;
	ex->env.tmpl_flags = (cfg->uniflow ? 0 : CTF_TMPL_BIFLOW) |
			     (cfg->live ? CTF_TMPL_LIVE : 0);
	return g_steal_pointer(&ex);
}

void ctf_exporter_free(struct ctf_exporter *ex)
{
	if (!ex)
		return;
	if (ex->outputs)
		g_ptr_array_unref(ex->outputs);
	ctf_ipfix_schema_free(ex->schema);
	g_free(ex->ifs);
	g_free(ex->netns);
	g_free(ex);
}

gboolean ctf_exporter_add_url(struct ctf_exporter *ex, const char *url,
			      GError **error)
{
	struct ctf_export_url u;
	struct ctf_output *o = NULL;

	if (!ctf_export_url_parse(url, &u, error))
		return FALSE;
	switch (u.scheme) {
	case CTF_EXPORT_UDP:
		o = ctf_output_udp_new(&ex->env, url, &u, error);
		break;
	case CTF_EXPORT_TCP:
		o = ctf_output_tcp_new(&ex->env, url, &u, error);
		break;
	case CTF_EXPORT_FILE:
	case CTF_EXPORT_STDOUT:
		o = ctf_output_file_new(&ex->env, url, &u, error);
		break;
	}
	ctf_export_url_clear(&u);
	if (!o)
		return FALSE;
	g_ptr_array_add(ex->outputs, o);
	ex->have_ipfix = true;
	return TRUE;
}

void ctf_exporter_add_view(struct ctf_exporter *ex, enum ctf_view_format fmt,
			   FILE *fp)
{
	g_ptr_array_add(ex->outputs, ctf_output_view_new(&ex->env, fmt, fp));
}

/* Bytes that are not UTF-8 become '?' (same length: the string still
 * fits its buffer); everything after the NUL becomes 0, so that equal
 * tables compare equal byte for byte. */
static void sanitise(char *s, size_t size)
{
	size_t len = strnlen(s, size - 1);
	const char *end;

	s[len] = 0;
	while (!g_utf8_validate(s, (gssize)len, &end))
		*(char *)end = '?';
	memset(s + len, 0, size - len);
}

static gint cmp_ifindex(gconstpointer a, gconstpointer b, gpointer unused)
{
	const struct ctf_if_name *x = a, *y = b;

	return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

/* Sorted by ifindex, ifindex 0 dropped, last entry of an ifindex kept. */
static size_t normalise(struct ctf_if_name *v, const struct ctf_if_name *in, size_t n)
{
	size_t k = 0, out = 0;

	/* copied in reverse: g_qsort_with_data() is stable, so the first
	 * entry of an ifindex after sorting is the caller's last */
	for (size_t i = n; i-- > 0;) {
		if (!in[i].ifindex)
			continue;
		v[k] = in[i];
		sanitise(v[k].name, sizeof(v[k].name));
		sanitise(v[k].description, sizeof(v[k].description));
		k++;
	}
	g_qsort_with_data(v, (gint)k, sizeof(*v), cmp_ifindex, NULL);
	for (size_t i = 0; i < k; i++)
		if (out == 0 || v[out - 1].ifindex != v[i].ifindex)
			v[out++] = v[i];
	return out;
}

gboolean ctf_exporter_set_interfaces(struct ctf_exporter *ex,
				     const struct ctf_if_name *names, size_t n,
				     GError **error)
{
	g_autofree struct ctf_if_name *v = NULL;

	g_return_val_if_fail(names || n == 0, FALSE);
	if (n > CTF_EXPORT_MAX_INTERFACES) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "export: %zu interfaces, more than the %u ctflow sends names for",
			    n, CTF_EXPORT_MAX_INTERFACES);
		return FALSE;
	}
	v = g_new(struct ctf_if_name, MAX(n, 1));
	n = normalise(v, names, n);
	if (n == ex->env.n_ifs && (n == 0 || !memcmp(v, ex->ifs, n * sizeof(*v))))
		return TRUE;
	g_free(ex->ifs);
	ex->ifs = g_steal_pointer(&v);
	ex->env.ifs = ex->ifs;
	ex->env.n_ifs = n;
	for (guint i = 0; i < ex->outputs->len; i++) {
		struct ctf_output *o = g_ptr_array_index(ex->outputs, i);

		if (o->ops->interfaces)
			o->ops->interfaces(o);
	}
	return TRUE;
}

static gint cmp_netns(gconstpointer a, gconstpointer b, gpointer unused)
{
	const struct ctf_netns_name *x = a, *y = b;

	return x->netns < y->netns ? -1 : x->netns > y->netns;
}

/* As normalise(), keyed by netns. */
static size_t normalise_netns(struct ctf_netns_name *v, const struct ctf_netns_name *in, size_t n)
{
	size_t k = 0, out = 0;

	for (size_t i = n; i-- > 0;) {
		if (!in[i].netns)
			continue;
		v[k] = in[i];
		sanitise(v[k].name, sizeof(v[k].name));
		sanitise(v[k].container_id, sizeof(v[k].container_id));
		k++;
	}
	g_qsort_with_data(v, (gint)k, sizeof(*v), cmp_netns, NULL);
	for (size_t i = 0; i < k; i++)
		if (out == 0 || v[out - 1].netns != v[i].netns)
			v[out++] = v[i];
	return out;
}

gboolean ctf_exporter_set_netns(struct ctf_exporter *ex, const struct ctf_netns_name *names,
				size_t n, GError **error)
{
	g_autofree struct ctf_netns_name *v = NULL;

	g_return_val_if_fail(names || n == 0, FALSE);
	if (n > CTF_EXPORT_MAX_NETNS) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "export: %zu network namespaces, more than the %u ctflow sends names for",
			    n, CTF_EXPORT_MAX_NETNS);
		return FALSE;
	}
	v = g_new(struct ctf_netns_name, MAX(n, 1));
	n = normalise_netns(v, names, n);
	if (n == ex->env.n_netns && (n == 0 || !memcmp(v, ex->netns, n * sizeof(*v))))
		return TRUE;
	g_free(ex->netns);
	ex->netns = g_steal_pointer(&v);
	ex->env.netns = ex->netns;
	ex->env.n_netns = n;
	for (guint i = 0; i < ex->outputs->len; i++) {
		struct ctf_output *o = g_ptr_array_index(ex->outputs, i);

		if (o->ops->netns)
			o->ops->netns(o);
	}
	return TRUE;
}

static void push_one(struct ctf_exporter *ex, const struct ctf_record *rec)
{
	struct ctf_ipfix_rec irec;

	if (ex->have_ipfix)
		ctf_ipfix_rec_from_record(rec, ex->env.tmpl_flags, &irec);
	for (guint i = 0; i < ex->outputs->len; i++) {
		struct ctf_output *o = g_ptr_array_index(ex->outputs, i);

		o->ops->push(o, rec, ex->have_ipfix ? &irec : NULL);
	}
}

/* Live records ended for lack of resources are flows whose last events
 * were lost to a netlink overrun: RFC 7011 4.3 wants them counted. */
static void count_metering_loss(struct ctf_exporter *ex, const struct ctf_record *rec)
{
	if (!ex->cfg.live || rec->end_reason != CTF_END_RESOURCES)
		return;
	for (guint i = 0; i < ex->outputs->len; i++) {
		struct ctf_output *o = g_ptr_array_index(ex->outputs, i);

		if (o->ipfix)
			ctf_output_count_lost(o, 1, rec->end_ms);
	}
}

void ctf_exporter_push(struct ctf_exporter *ex, const struct ctf_record *rec)
{
	struct ctf_record fwd, rev;

	count_metering_loss(ex, rec);
	if (!ex->cfg.uniflow) {
		push_one(ex, rec);
		return;
	}
	unsigned which = ctf_record_split_uniflow(rec, &fwd, &rev);

	if (which & CTF_UNIFLOW_FWD)
		push_one(ex, &fwd);
	if (which & CTF_UNIFLOW_REV)
		push_one(ex, &rev);
}

void ctf_exporter_tick(struct ctf_exporter *ex)
{
	int64_t now = g_get_monotonic_time();

	for (guint i = 0; i < ex->outputs->len; i++) {
		struct ctf_output *o = g_ptr_array_index(ex->outputs, i);

		o->ops->tick(o, now);
	}
}

gboolean ctf_exporter_finish(struct ctf_exporter *ex, GError **error)
{
	int64_t deadline = g_get_monotonic_time() +
			   (int64_t)ex->cfg.shutdown_timeout_s * G_USEC_PER_SEC;
	g_autoptr(GString) msg = g_string_new(NULL);

	for (guint i = 0; i < ex->outputs->len; i++) {
		struct ctf_output *o = g_ptr_array_index(ex->outputs, i);
		g_autoptr(GError) err = NULL;

		if (!o->ops->finish(o, deadline, &err))
			g_string_append_printf(msg, "%s%s", msg->len ? "; " : "", err->message);
		if (o->stats.records_dropped)
			g_string_append_printf(msg, "%s%s dropped %" G_GUINT64_FORMAT
					       " of %" G_GUINT64_FORMAT " records",
					       msg->len ? "; " : "", o->name,
					       o->stats.records_dropped, o->stats.records_in);
	}
	if (msg->len) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_IO, "export: %s", msg->str);
		return FALSE;
	}
	return TRUE;
}

size_t ctf_exporter_n_outputs(const struct ctf_exporter *ex)
{
	return ex->outputs->len;
}

const char *ctf_exporter_output_name(const struct ctf_exporter *ex, size_t i)
{
	g_return_val_if_fail(i < ex->outputs->len, NULL);
	return ((struct ctf_output *)g_ptr_array_index(ex->outputs, i))->name;
}

void ctf_exporter_output_stats(const struct ctf_exporter *ex, size_t i,
			       struct ctf_export_stats *ret_stats)
{
	g_return_if_fail(i < ex->outputs->len);
	*ret_stats = ((struct ctf_output *)g_ptr_array_index(ex->outputs, i))->stats;
}
