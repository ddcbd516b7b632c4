/*
 * UDP transport: one connected socket and one IPFIX session per output.
 *
 * Owns pacing (a token bucket in messages/s that sleeps: a collector on
 * the same host must not be overrun), the periodic template and options
 * refresh (RFC 7011 8.4; never withdrawals; the interface names go with
 * the options records), and drop accounting: a UDP
 * send that fails is retried once for a stale ECONNREFUSED (the ICMP
 * port unreachable of an earlier datagram), then its records count as
 * dropped. Loss in the network or at the collector is invisible here.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ipfix-encoder.h"
#include "output.h"

struct udp_output {
	struct ctf_output base;
	const struct ctf_output_env *env;
	int fd;
	struct ctf_ipfix_encoder *enc;
	bool started;
	int64_t next_refresh_us;
	double tokens;		/* pacing bucket, in messages */
	double burst;
	int64_t refill_us;
	struct ctf_ratelimit rl;
};

static void pace(struct udp_output *u)
{
	unsigned rate = u->env->cfg->udp_rate;
	int64_t now;

	if (!rate)
		return;
	for (;;) {
		now = g_get_monotonic_time();
		u->tokens += (double)(now - u->refill_us) * rate / G_USEC_PER_SEC;
		u->refill_us = now;
		if (u->tokens > u->burst)
			u->tokens = u->burst;
		if (u->tokens >= 1.0)
			break;
		g_usleep((gulong)((1.0 - u->tokens) * G_USEC_PER_SEC / rate) + 1);
	}
	u->tokens -= 1.0;
}

/* ECONNREFUSED on a connected UDP socket reports the ICMP port
 * unreachable of an earlier datagram, and consumes it. */
static void refused(struct udp_output *u)
{
	uint64_t supp;

	u->base.stats.send_errors++;
	if (ctf_ratelimit_ok(&u->rl, &supp))
		g_warning("collector %s: port unreachable (ICMP): datagrams are being "
			  "lost (%" G_GUINT64_FORMAT " similar messages suppressed)",
			  u->base.name, supp);
}

static void udp_msg(void *userdata, const uint8_t *msg, size_t len,
		    const struct ctf_ipfix_msg_info *info)
{
	struct udp_output *u = userdata;
	ssize_t r;
	int tries = 0, err = 0;
	uint64_t supp;

	pace(u);
	for (;;) {
		r = send(u->fd, msg, len, 0);
		if (r >= 0)
			break;
		err = errno;
		if (err == EINTR)
			continue;
		if (err == ECONNREFUSED) {
			refused(u);
			/* this datagram was not sent: try once more */
			if (tries++ == 0)
				continue;
		}
		break;
	}
	if (r == (ssize_t)len) {
		u->base.stats.messages++;
		u->base.stats.bytes += len;
		u->base.stats.records_sent += info->records;
		return;
	}
	u->base.stats.send_errors++;
	ctf_output_count_drop(&u->base, info->records, info->packets, info->octets);
	if (ctf_ratelimit_ok(&u->rl, &supp))
		g_warning("collector %s: send failed: %s; %u records dropped "
			  "(%" G_GUINT64_FORMAT " in total, %" G_GUINT64_FORMAT
			  " similar messages suppressed)", u->base.name,
			  r < 0 ? g_strerror(err) : "short send", info->records,
			  u->base.stats.records_dropped, supp);
}

static void send_templates(struct udp_output *u, int64_t now)
{
	g_autoptr(GError) err = NULL;

	u->next_refresh_us = now + (int64_t)u->env->cfg->template_refresh_s * G_USEC_PER_SEC;
	if (!ctf_ipfix_encoder_send_templates(u->enc, &u->base.rel, u->env->ifs,
					      u->env->n_ifs, &err) ||
	    !ctf_ipfix_encoder_append_netns(u->enc, u->env->netns, u->env->n_netns, &err))
		g_warning("collector %s: templates not sent: %s", u->base.name, err->message);
}

static void ensure_started(struct udp_output *u)
{
	if (u->started)
		return;
	u->started = true;
	send_templates(u, g_get_monotonic_time());
}

static void udp_push(struct ctf_output *o, const struct ctf_record *rec,
		     const struct ctf_ipfix_rec *irec)
{
	struct udp_output *u = (struct udp_output *)o;

	o->stats.records_in++;
	ensure_started(u);
	if (ctf_ipfix_encoder_append(u->enc, irec, ctf_ipfix_rec_proc(irec, rec)) < 0)
		ctf_output_count_drop(o, 1, ctf_ipfix_rec_packets(irec),
				      ctf_ipfix_rec_octets(irec));
}

/* Before the first record the table goes out with the templates. */
static void udp_interfaces(struct ctf_output *o)
{
	struct udp_output *u = (struct udp_output *)o;
	g_autoptr(GError) err = NULL;

	if (u->started &&
	    !ctf_ipfix_encoder_append_interfaces(u->enc, u->env->ifs, u->env->n_ifs, &err))
		g_warning("collector %s: interface names not sent: %s", o->name, err->message);
}

static void udp_netns(struct ctf_output *o)
{
	struct udp_output *u = (struct udp_output *)o;
	g_autoptr(GError) err = NULL;

	if (u->started &&
	    !ctf_ipfix_encoder_append_netns(u->enc, u->env->netns, u->env->n_netns, &err))
		g_warning("collector %s: namespace names not sent: %s", o->name, err->message);
}

static void udp_tick(struct ctf_output *o, int64_t now)
{
	struct udp_output *u = (struct udp_output *)o;
	int64_t since = ctf_ipfix_encoder_pending_since(u->enc);
	g_autoptr(GError) err = NULL;

	ensure_started(u);
	if (since && now - since >= (int64_t)u->env->cfg->flush_ms * 1000 &&
	    !ctf_ipfix_encoder_flush(u->enc, &err))
		g_warning("collector %s: flush failed: %s", o->name, err->message);
	if (u->env->cfg->template_refresh_s && now >= u->next_refresh_us)
		send_templates(u, now);
}

static gboolean udp_finish(struct ctf_output *o, int64_t deadline_us, GError **error)
{
	struct udp_output *u = (struct udp_output *)o;

	ensure_started(u);
	return ctf_ipfix_encoder_append_reliability(u->enc, &o->rel, error) &&
	       ctf_ipfix_encoder_flush(u->enc, error);
}

static void udp_free(struct ctf_output *o)
{
	struct udp_output *u = (struct udp_output *)o;

	ctf_ipfix_encoder_free(u->enc);
	if (u->fd >= 0)
		close(u->fd);
	ctf_output_clear(o);
	g_free(u);
}

static const struct ctf_output_ops udp_ops = {
	.push = udp_push,
	.interfaces = udp_interfaces,
	.netns = udp_netns,
	.tick = udp_tick,
	.finish = udp_finish,
	.free = udp_free,
};

static int connect_udp(const struct addrinfo *ai, int *ret_errno)
{
	for (; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0) {
			*ret_errno = errno;
			continue;
		}
		/* connected: ICMP errors come back as ECONNREFUSED */
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return fd;
		*ret_errno = errno;
		close(fd);
	}
	return -1;
}

struct ctf_output *ctf_output_udp_new(const struct ctf_output_env *env,
				      const char *name,
				      const struct ctf_export_url *url,
				      GError **error)
{
	struct udp_output *u;
	struct addrinfo *ai;
	struct ctf_ipfix_encoder_config ecfg = {
		.odid = env->cfg->odid,
		.flags = env->tmpl_flags,
		.mtu = (uint16_t)env->cfg->udp_mtu,	/* default 1420: a 1500-byte path */
	};
	int fd, err = 0;

	ai = ctf_output_resolve(name, url, SOCK_DGRAM, error);
	if (!ai)
		return NULL;
	fd = connect_udp(ai, &err);
	freeaddrinfo(ai);
	if (fd < 0) {
		ctf_set_error_errno(error, err, "%s: cannot create UDP socket", name);
		return NULL;
	}
	u = g_new0(struct udp_output, 1);
	ctf_output_init(&u->base, &udp_ops, name, true);
	u->env = env;
	u->fd = fd;
	u->burst = MAX(1.0, env->cfg->udp_rate / 100.0);	/* 10 ms of sending */
	u->tokens = u->burst;
	u->refill_us = g_get_monotonic_time();
	u->enc = ctf_ipfix_encoder_new(env->schema, &ecfg, udp_msg, u, error);
	if (!u->enc) {
		udp_free(&u->base);
		return NULL;
	}
	return &u->base;
}
