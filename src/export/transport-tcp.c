/*
 * TCP transport: one connection at a time to one collector, a new IPFIX
 * session per connection (templates first, sequence numbers from 0:
 * RFC 7011 10.4.2; IPFIX.md 2.7), a bounded queue while the collector is
 * down, and exponential backoff between attempts (RFC 7011 10.4.4).
 *
 * Records live in one ring, oldest first:
 *
 *   head            enc              tail
 *    | retained      | queued         |
 *
 * A slot holds the internal record and, for a record with a process
 * (CTF_TMPL_PROC), a compact heap copy of the process's fields, freed
 * when the record leaves the ring.
 *
 * "retained" records are in the encoder: in messages already written to
 * the socket but not yet acknowledged by the peer's TCP, or in the
 * message being built. Before each write and at a failure, SIOCOUTQ (the
 * bytes the peer has not acknowledged) tells which written messages were
 * acknowledged; their records leave the ring. On any failure the
 * connection and its session are dropped and every retained record is
 * queued again, to be re-encoded into the next session.
 *
 * What can still be lost: data the peer's kernel acknowledged but the
 * collector never read (it was killed with data in its receive buffer).
 * A message acknowledged only in part is sent again whole, so the
 * collector may see a truncated copy first.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ipfix-encoder.h"
#include "output.h"

#define TCP_MTU 8192			/* as libfixbuf's TCP exporter */
#define TCP_CONNECT_TIMEOUT_MS 3000
#define TCP_SEND_TIMEOUT_S 5
#define TCP_SNDBUF (256 * 1024)	/* bounds unacknowledged data (x2 in Linux) */
#define TCP_RETAIN_MAX (1u << 16)	/* unacknowledged records kept, at most */

enum tcp_state {
	TCP_IDLE,	/* never tried */
	TCP_UP,
	TCP_DOWN,	/* waiting for next_attempt_us */
};

struct sent_msg {
	uint64_t end;		/* bytes_written after this message */
	uint32_t records;
};

/* The process of a queued record: its strings back to back, no NULs. */
struct proc_copy {
	uint32_t pid, tcp_rtt_us, tcp_retrans;
	uint16_t len[4];	/* comm, exe, user, container */
	char s[];
};

struct rec_slot {
	struct ctf_ipfix_rec rec;
	struct proc_copy *proc;	/* owned; NULL without CTF_TMPL_PROC */
};

struct rec_ring {
	struct rec_slot *buf;
	uint64_t cap;		/* power of two */
	uint64_t head, enc, tail;
};

struct tcp_output {
	struct ctf_output base;
	const struct ctf_output_env *env;
	struct addrinfo *ai;
	int fd;
	enum tcp_state state;
	struct ctf_ipfix_encoder *enc;
	bool failed;		/* set inside the encoder callback */
	int fail_errno;
	const char *fail_what;

	uint64_t bytes_written;	/* on this connection */
	GArray *msgs;		/* struct sent_msg, unacknowledged, oldest first */
	guint msgs_head;
	uint64_t sent_unacked;	/* records in msgs */

	struct rec_ring ring;
	uint64_t ring_max;
	int64_t next_attempt_us;
	unsigned backoff_s;
	bool connected_once;
	struct ctf_ratelimit rl;
};

static struct rec_slot *slot(struct rec_ring *r, uint64_t i)
{
	return &r->buf[i & (r->cap - 1)];
}

static struct proc_copy *proc_copy_new(const struct ctf_proc_info *p)
{
	const char *str[4] = { p->comm, p->exe, p->user, p->container_id };
	size_t size[4] = { sizeof(p->comm), sizeof(p->exe), sizeof(p->user),
			   sizeof(p->container_id) };
	size_t len[4], total = 0;
	struct proc_copy *c;
	char *out;

	for (int i = 0; i < 4; i++)
		total += len[i] = strnlen(str[i], size[i]);
	c = g_malloc(sizeof(*c) + total);
	c->pid = p->pid;
	c->tcp_rtt_us = p->tcp_rtt_us;
	c->tcp_retrans = p->tcp_retrans;
	out = c->s;
	for (int i = 0; i < 4; i++) {
		c->len[i] = (uint16_t)len[i];
		memcpy(out, str[i], len[i]);
		out += len[i];
	}
	return c;
}

/* The internal record of a queued CTF_TMPL_PROC record; points into @c. */
static void proc_rec_from_copy(const struct ctf_ipfix_rec *rec, struct proc_copy *c,
			       struct ctf_ipfix_proc_rec *r)
{
	fbVarfield_t *v[4] = { &r->comm, &r->exe, &r->user, &r->container };
	uint8_t *p = (uint8_t *)c->s;

	memset(r, 0, sizeof(*r));
	r->rec = *rec;
	r->pid = c->pid;
	r->tcp_rtt_us = c->tcp_rtt_us;
	r->tcp_retrans = c->tcp_retrans;
	for (int i = 0; i < 4; i++) {
		v[i]->buf = p;
		v[i]->len = c->len[i];
		p += c->len[i];
	}
}

static bool ring_grow(struct rec_ring *r, uint64_t max)
{
	uint64_t cap = r->cap ? r->cap * 2 : 1024;
	struct rec_slot *buf;

	if (r->cap >= max)
		return false;
	buf = g_new(struct rec_slot, cap);
	for (uint64_t i = r->head; i != r->tail; i++)
		buf[i & (cap - 1)] = *slot(r, i);
	g_free(r->buf);
	r->buf = buf;
	r->cap = cap;
	return true;
}

static void update_queued(struct tcp_output *t)
{
	t->base.stats.records_queued = t->ring.tail - t->ring.head - t->sent_unacked;
}

static void fail(struct tcp_output *t, const char *what, int err)
{
	if (t->failed)
		return;
	t->failed = true;
	t->fail_what = what;
	t->fail_errno = err;
}

/* The peer closed (FIN/RST) or broke the connection? Collectors never
 * send on an IPFIX connection; anything they do send is discarded. */
static bool peer_open(struct tcp_output *t)
{
	char buf[512];

	for (int i = 0; i < 64; i++) {		/* bounded: a chatty peer cannot hold us */
		ssize_t r = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r > 0)
			continue;
		if (r == 0) {
			fail(t, "collector closed the connection", 0);
			return false;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		fail(t, "connection broken", errno);
		return false;
	}
	return true;
}

/* Remove @n records from the ring's head. */
static void ring_release(struct rec_ring *r, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		g_clear_pointer(&slot(r, r->head + i)->proc, g_free);
	r->head += n;
}

/* Drop the records of messages the peer's TCP has acknowledged. */
static void trim_acked(struct tcp_output *t)
{
	int outq = 0;
	uint64_t acked;

	if (t->fd < 0 || ioctl(t->fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return;
	acked = t->bytes_written - MIN((uint64_t)outq, t->bytes_written);
	while (t->msgs_head < t->msgs->len) {
		struct sent_msg *m = &g_array_index(t->msgs, struct sent_msg, t->msgs_head);

		if (m->end > acked)
			break;
		ring_release(&t->ring, m->records);
		t->sent_unacked -= m->records;
		t->msgs_head++;
	}
	if (t->msgs_head == t->msgs->len) {
		g_array_set_size(t->msgs, 0);
		t->msgs_head = 0;
	} else if (t->msgs_head > 1024 && t->msgs_head > t->msgs->len / 2) {
		g_array_remove_range(t->msgs, 0, t->msgs_head);
		t->msgs_head = 0;
	}
}

static bool send_all(struct tcp_output *t, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t r = send(t->fd, p, len, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				fail(t, "send timed out (" G_STRINGIFY(TCP_SEND_TIMEOUT_S) " s)", 0);
			else
				fail(t, "send failed", errno);
			return false;
		}
		p += r;
		len -= (size_t)r;
		t->bytes_written += (size_t)r;
	}
	return true;
}

static void tcp_msg(void *userdata, const uint8_t *msg, size_t len,
		    const struct ctf_ipfix_msg_info *info)
{
	struct tcp_output *t = userdata;

	/* after a failure the rest of this session is discarded: its
	 * records are still in the ring and are queued again */
	if (t->failed || !peer_open(t))
		return;
	trim_acked(t);
	if (!send_all(t, msg, len))
		return;
	t->base.stats.messages++;
	t->base.stats.bytes += len;
	if (info->records) {
		struct sent_msg m = { .end = t->bytes_written, .records = info->records };

		g_array_append_val(t->msgs, m);
		t->sent_unacked += info->records;
		t->base.stats.records_sent += info->records;
	}
}

/* Drop @n records from the ring's head (never sent, or lost). */
static void drop_head(struct tcp_output *t, uint64_t n)
{
	uint64_t packets = 0, octets = 0;

	for (uint64_t i = 0; i < n; i++) {
		const struct ctf_ipfix_rec *r = &slot(&t->ring, t->ring.head + i)->rec;

		packets += ctf_ipfix_rec_packets(r);
		octets += ctf_ipfix_rec_octets(r);
	}
	ring_release(&t->ring, n);
	if (t->ring.enc < t->ring.head)
		t->ring.enc = t->ring.head;
	ctf_output_count_drop(&t->base, n, packets, octets);
}

/* @abort: reset the connection, discarding unsent data, so that what we
 * requeue or count as dropped is never delivered late by the kernel. */
static void close_conn(struct tcp_output *t, bool abort)
{
	g_clear_pointer(&t->enc, ctf_ipfix_encoder_free);
	if (t->fd >= 0) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		if (abort)
			setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(t->fd);
	}
	t->fd = -1;
	g_array_set_size(t->msgs, 0);
	t->msgs_head = 0;
	t->failed = false;
}

static void schedule_retry(struct tcp_output *t)
{
	const struct ctf_export_config *cfg = t->env->cfg;

	t->state = TCP_DOWN;
	t->next_attempt_us = g_get_monotonic_time() + (int64_t)t->backoff_s * G_USEC_PER_SEC;
	t->backoff_s = MIN(t->backoff_s * 2, MAX(cfg->reconnect_max_s, cfg->reconnect_min_s));
}

/* After a failure: requeue everything not acknowledged, back off. */
static void teardown(struct tcp_output *t)
{
	uint64_t requeued, excess, supp;
	unsigned wait_s = t->backoff_s;

	trim_acked(t);		/* what the peer acknowledged before it went */
	requeued = t->ring.enc - t->ring.head;
	t->base.stats.records_sent -= t->sent_unacked;
	t->sent_unacked = 0;
	t->ring.enc = t->ring.head;
	t->base.stats.send_errors++;
	if (ctf_ratelimit_ok(&t->rl, &supp))
		g_warning("collector %s: %s%s%s; reconnecting in %u s, %" G_GUINT64_FORMAT
			  " records queued (%" G_GUINT64_FORMAT " requeued)",
			  t->base.name, t->fail_what, t->fail_errno ? ": " : "",
			  t->fail_errno ? g_strerror(t->fail_errno) : "", wait_s,
			  t->ring.tail - t->ring.head, requeued);
	close_conn(t, true);
	schedule_retry(t);
	excess = t->ring.tail - t->ring.head;
	if (excess > t->env->cfg->queue_max)
		drop_head(t, excess - t->env->cfg->queue_max);
	update_queued(t);
}

static int encode_slot(struct tcp_output *t, struct rec_slot *s)
{
	struct ctf_ipfix_proc_rec prec;

	if (!s->proc)
		return ctf_ipfix_encoder_append(t->enc, &s->rec, NULL);
	proc_rec_from_copy(&s->rec, s->proc, &prec);
	return ctf_ipfix_encoder_append_proc(t->enc, &prec);
}

/* Encode queued records while connected. */
static void encode_queued(struct tcp_output *t)
{
	while (t->state == TCP_UP && t->ring.enc != t->ring.tail) {
		if (encode_slot(t, slot(&t->ring, t->ring.enc)) < 0)
			fail(t, "record not encoded", EIO);
		else
			t->ring.enc++;
		if (t->failed)
			teardown(t);
	}
}

static int connect_timeout(const struct addrinfo *ai, int *ret_errno)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	struct pollfd p = { .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (fd < 0) {
		*ret_errno = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		p.fd = fd;
		if (poll(&p, 1, TCP_CONNECT_TIMEOUT_MS) == 0) {
			err = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			goto fail;
	}
	return fd;
fail:
	*ret_errno = err;
	close(fd);
	return -1;
}

static bool open_socket(struct tcp_output *t)
{
	struct timeval tv = { .tv_sec = TCP_SEND_TIMEOUT_S };
	int one = 1, sndbuf = TCP_SNDBUF, err = 0, fd = -1;
	uint64_t supp;

	for (const struct addrinfo *ai = t->ai; ai && fd < 0; ai = ai->ai_next)
		fd = connect_timeout(ai, &err);
	if (fd < 0) {
		if (ctf_ratelimit_ok(&t->rl, &supp))
			g_warning("collector %s: cannot connect: %s; retrying in %u s, %"
				  G_GUINT64_FORMAT " records queued", t->base.name,
				  g_strerror(err), t->backoff_s, t->ring.tail - t->ring.head);
		return false;
	}
	/* blocking writes bounded by SO_SNDTIMEO; small flushes go at once */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* what the peer has not acknowledged must fit the retained ring */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t->fd = fd;
	return true;
}

static void try_connect(struct tcp_output *t)
{
	struct ctf_ipfix_encoder_config ecfg = {
		.odid = t->env->cfg->odid,
		.flags = t->env->tmpl_flags,
		.mtu = TCP_MTU,
	};
	g_autoptr(GError) err = NULL;

	if (!open_socket(t)) {
		schedule_retry(t);
		return;
	}
	t->bytes_written = 0;
	/* a new session: templates first, sequence numbers from 0 */
	t->enc = ctf_ipfix_encoder_new(t->env->schema, &ecfg, tcp_msg, t, &err);
	if (!t->enc) {
		g_warning("collector %s: %s", t->base.name, err->message);
		close_conn(t, true);
		schedule_retry(t);
		return;
	}
	t->state = TCP_UP;
	if (t->connected_once) {
		t->base.stats.reconnects++;
		g_message("collector %s: connected again, sending %" G_GUINT64_FORMAT
			  " queued records", t->base.name, t->ring.tail - t->ring.head);
	}
	t->connected_once = true;
	t->backoff_s = MAX(t->env->cfg->reconnect_min_s, 1u);
	/* the interface names too: they died with the old session */
	if (!ctf_ipfix_encoder_send_templates(t->enc, &t->base.rel, t->env->ifs,
					      t->env->n_ifs, &err) ||
	    !ctf_ipfix_encoder_append_netns(t->enc, t->env->netns, t->env->n_netns, &err))
		fail(t, "templates not sent", EIO);
	if (t->failed)
		teardown(t);
	else
		encode_queued(t);
}

static void tcp_push(struct ctf_output *o, const struct ctf_record *rec,
		     const struct ctf_ipfix_rec *irec)
{
	struct tcp_output *t = (struct tcp_output *)o;
	uint64_t queued = t->ring.tail - t->ring.enc;
	struct rec_slot *s;

	o->stats.records_in++;
	if (t->state == TCP_IDLE)
		try_connect(t);
	if ((t->state != TCP_UP && queued >= t->env->cfg->queue_max) ||
	    (t->ring.tail - t->ring.head >= t->ring.cap && !ring_grow(&t->ring, t->ring_max))) {
		ctf_output_count_drop(o, 1, ctf_ipfix_rec_packets(irec),
				      ctf_ipfix_rec_octets(irec));
		return;
	}
	s = slot(&t->ring, t->ring.tail++);
	s->rec = *irec;
	s->proc = (irec->tmpl & CTF_TMPL_PROC) ? proc_copy_new(&rec->proc) : NULL;
	encode_queued(t);
	update_queued(t);
}

/* While down, the next connection sends the table with its templates. */
static void tcp_interfaces(struct ctf_output *o)
{
	struct tcp_output *t = (struct tcp_output *)o;
	g_autoptr(GError) err = NULL;

	if (t->state != TCP_UP)
		return;
	if (!ctf_ipfix_encoder_append_interfaces(t->enc, t->env->ifs, t->env->n_ifs, &err))
		fail(t, "interface names not sent", EIO);
	if (t->failed)
		teardown(t);
}

static void tcp_netns(struct ctf_output *o)
{
	struct tcp_output *t = (struct tcp_output *)o;
	g_autoptr(GError) err = NULL;

	if (t->state != TCP_UP)
		return;
	if (!ctf_ipfix_encoder_append_netns(t->enc, t->env->netns, t->env->n_netns, &err))
		fail(t, "namespace names not sent", EIO);
	if (t->failed)
		teardown(t);
}

static void flush_if_due(struct tcp_output *t, int64_t now, bool force)
{
	int64_t since = ctf_ipfix_encoder_pending_since(t->enc);
	g_autoptr(GError) err = NULL;

	if ((force || (since && now - since >= (int64_t)t->env->cfg->flush_ms * 1000)) &&
	    !ctf_ipfix_encoder_flush(t->enc, &err))
		fail(t, "flush failed", EIO);
}

static void tcp_tick(struct ctf_output *o, int64_t now)
{
	struct tcp_output *t = (struct tcp_output *)o;

	if (t->state == TCP_IDLE || (t->state == TCP_DOWN && now >= t->next_attempt_us))
		try_connect(t);
	if (t->state == TCP_UP) {
		/* notices a collector that went away while we had nothing to send */
		if (peer_open(t)) {
			trim_acked(t);
			flush_if_due(t, now, false);
		}
		if (t->failed)
			teardown(t);
	}
	update_queued(t);
}

/* Final flush with statistics; then wait for acknowledgement or reconnect. */
static void finish_session(struct tcp_output *t)
{
	g_autoptr(GError) err = NULL;

	if (!ctf_ipfix_encoder_append_reliability(t->enc, &t->base.rel, &err))
		fail(t, "statistics not sent", EIO);
	flush_if_due(t, 0, true);
	if (t->failed)
		teardown(t);
}

static bool all_delivered(struct tcp_output *t)
{
	int outq = 1;

	trim_acked(t);
	return t->ring.head == t->ring.tail &&
	       ioctl(t->fd, SIOCOUTQ, &outq) == 0 && outq == 0;
}

static gboolean tcp_finish(struct ctf_output *o, int64_t deadline_us, GError **error)
{
	struct tcp_output *t = (struct tcp_output *)o;
	uint64_t lost;
	int64_t now;

	/* one attempt now whatever the backoff; then the normal schedule */
	if (t->state != TCP_UP)
		try_connect(t);
	if (t->state == TCP_UP)
		finish_session(t);
	while ((now = g_get_monotonic_time()) < deadline_us) {
		if (t->state == TCP_UP) {
			if (all_delivered(t))
				break;
			if (!peer_open(t))
				teardown(t);
			else
				g_usleep(10 * 1000);
		} else if (now >= t->next_attempt_us) {
			try_connect(t);
			if (t->state == TCP_UP)
				finish_session(t);
		} else {
			g_usleep((gulong)MIN(MIN(t->next_attempt_us, deadline_us) - now,
					     100 * 1000));
		}
	}
	/* what is still not acknowledged now is lost */
	trim_acked(t);
	lost = t->ring.tail - t->ring.head;
	o->stats.records_sent -= t->sent_unacked;
	t->sent_unacked = 0;
	drop_head(t, lost);
	close_conn(t, lost > 0);
	t->state = TCP_DOWN;
	update_queued(t);
	return TRUE;
}

static void tcp_free(struct ctf_output *o)
{
	struct tcp_output *t = (struct tcp_output *)o;

	close_conn(t, true);
	if (t->ai)
		freeaddrinfo(t->ai);
	g_array_unref(t->msgs);
	if (t->ring.buf)
		ring_release(&t->ring, t->ring.tail - t->ring.head);
	g_free(t->ring.buf);
	ctf_output_clear(o);
	g_free(t);
}

static const struct ctf_output_ops tcp_ops = {
	.push = tcp_push,
	.interfaces = tcp_interfaces,
	.netns = tcp_netns,
	.tick = tcp_tick,
	.finish = tcp_finish,
	.free = tcp_free,
};

struct ctf_output *ctf_output_tcp_new(const struct ctf_output_env *env,
				      const char *name,
				      const struct ctf_export_url *url,
				      GError **error)
{
	struct tcp_output *t;
	struct addrinfo *ai = ctf_output_resolve(name, url, SOCK_STREAM, error);

	if (!ai)
		return NULL;
	t = g_new0(struct tcp_output, 1);
	ctf_output_init(&t->base, &tcp_ops, name, true);
	t->env = env;
	t->ai = ai;
	t->fd = -1;
	t->msgs = g_array_new(FALSE, FALSE, sizeof(struct sent_msg));
	t->ring_max = (uint64_t)env->cfg->queue_max + TCP_RETAIN_MAX;
	t->backoff_s = MAX(env->cfg->reconnect_min_s, 1u);
	return &t->base;
}
