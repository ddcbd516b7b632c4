/*
 * Helpers every output shares: base init/cleanup, drop accounting for
 * the reliability statistics, log rate limiting, interface name lookup.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "output.h"

bool ctf_ratelimit_ok(struct ctf_ratelimit *rl, uint64_t *ret_suppressed)
{
	int64_t now = g_get_monotonic_time();

	if (rl->last_us && now - rl->last_us < CTF_RATELIMIT_INTERVAL_US) {
		rl->suppressed++;
		return false;
	}
	rl->last_us = now;
	*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

void ctf_output_init(struct ctf_output *o, const struct ctf_output_ops *ops,
		     const char *name, bool ipfix)
{
	memset(o, 0, sizeof(*o));
	o->ops = ops;
	o->name = g_strdup(name);
	o->ipfix = ipfix;
	o->rel.exporting_pid = (uint32_t)getpid();
}

void ctf_output_clear(struct ctf_output *o)
{
	g_clear_pointer(&o->name, g_free);
}

void ctf_output_count_lost(struct ctf_output *o, uint64_t flows, uint64_t when_ms)
{
	o->rel.flows += flows;
	if (!o->rel.first_ms)
		o->rel.first_ms = when_ms;
	o->rel.last_ms = MAX(o->rel.last_ms, when_ms);
}

void ctf_output_count_drop(struct ctf_output *o, uint64_t records,
			   uint64_t packets, uint64_t octets)
{
	uint64_t now_ms;

	if (!records)
		return;
	now_ms = (uint64_t)(g_get_real_time() / 1000);
	o->stats.records_dropped += records;
	o->rel.flows += records;
	o->rel.packets += packets;
	o->rel.octets += octets;
	if (!o->rel.first_ms)
		o->rel.first_ms = now_ms;
	o->rel.last_ms = now_ms;
}

struct addrinfo *ctf_output_resolve(const char *name, const struct ctf_export_url *url,
				    int socktype, GError **error)
{
	struct addrinfo hints = { .ai_socktype = socktype, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	char port[8];
	int r;

	snprintf(port, sizeof(port), "%u", url->port);
	r = getaddrinfo(url->host, port, &hints, &res);
	if (r == EAI_ADDRFAMILY || r == EAI_NONAME || r == EAI_NODATA) {
		/* AI_ADDRCONFIG hides ::1 when only loopback has IPv6 */
		hints.ai_flags = 0;
		r = getaddrinfo(url->host, port, &hints, &res);
	}
	if (r) {
		g_set_error(error, CTF_ERROR,
			    r == EAI_AGAIN ? CTF_ERROR_IO : CTF_ERROR_USAGE,
			    "%s: cannot resolve %s: %s", name, url->host,
			    r == EAI_SYSTEM ? g_strerror(errno) : gai_strerror(r));
		return NULL;
	}
	return res;
}

const char *ctf_output_if_name(const struct ctf_output_env *env, uint32_t ifindex)
{
	size_t lo = 0, hi = env ? env->n_ifs : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ctf_if_name *e = &env->ifs[mid];

		if (e->ifindex == ifindex)
			return e->name;
		if (e->ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct ctf_netns_name *ctf_output_netns(const struct ctf_output_env *env, uint32_t netns)
{
	size_t lo = 0, hi = env ? env->n_netns : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ctf_netns_name *e = &env->netns[mid];

		if (e->netns == netns)
			return e;
		if (e->netns < netns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
