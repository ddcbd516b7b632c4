/*
 * File transport: an RFC 5655 IPFIX file (file:PATH) or standard output
 * ("-"). One session per file, so templates and options records (the
 * interface names among them) come first. Each message is one write(2), unbuffered, so a write error is
 * charged to exactly the records of the message it lost. Refuses a
 * terminal for "-". Does not rotate files.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ipfix-encoder.h"
#include "output.h"

#define FILE_MTU 65000	/* below libfixbuf's 65496 file limit */

struct file_output {
	struct ctf_output base;
	const struct ctf_output_env *env;
	char *path;		/* for messages: the path or "standard output" */
	int fd;
	bool own_fd;
	struct ctf_ipfix_encoder *enc;
	bool started;
	int last_errno;
	struct ctf_ratelimit rl;
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void file_msg(void *userdata, const uint8_t *msg, size_t len,
		     const struct ctf_ipfix_msg_info *info)
{
	struct file_output *f = userdata;
	uint64_t supp;
	int r = write_all(f->fd, msg, len);

	if (r == 0) {
		f->base.stats.messages++;
		f->base.stats.bytes += len;
		f->base.stats.records_sent += info->records;
		return;
	}
	/* a partly written message leaves the file undecodable from here on;
	 * nothing better to do than to say so */
	f->last_errno = -r;
	f->base.stats.send_errors++;
	ctf_output_count_drop(&f->base, info->records, info->packets, info->octets);
	if (ctf_ratelimit_ok(&f->rl, &supp))
		g_warning("write to %s failed: %s; %u records dropped (%" G_GUINT64_FORMAT
			  " in total, %" G_GUINT64_FORMAT " similar messages suppressed)",
			  f->path, g_strerror(-r), info->records,
			  f->base.stats.records_dropped, supp);
}

static void ensure_started(struct file_output *f)
{
	g_autoptr(GError) err = NULL;

	if (f->started)
		return;
	f->started = true;
	if (!ctf_ipfix_encoder_send_templates(f->enc, &f->base.rel, f->env->ifs,
					      f->env->n_ifs, &err) ||
	    !ctf_ipfix_encoder_append_netns(f->enc, f->env->netns, f->env->n_netns, &err))
		g_warning("%s: templates not written: %s", f->path, err->message);
}

static void file_push(struct ctf_output *o, const struct ctf_record *rec,
		      const struct ctf_ipfix_rec *irec)
{
	struct file_output *f = (struct file_output *)o;

	o->stats.records_in++;
	ensure_started(f);
	if (ctf_ipfix_encoder_append(f->enc, irec, ctf_ipfix_rec_proc(irec, rec)) < 0)
		ctf_output_count_drop(o, 1, ctf_ipfix_rec_packets(irec),
				      ctf_ipfix_rec_octets(irec));
}

/* Before the first record the table goes out with the templates. */
static void file_interfaces(struct ctf_output *o)
{
	struct file_output *f = (struct file_output *)o;
	g_autoptr(GError) err = NULL;

	if (f->started &&
	    !ctf_ipfix_encoder_append_interfaces(f->enc, f->env->ifs, f->env->n_ifs, &err))
		g_warning("%s: interface names not written: %s", f->path, err->message);
}

static void file_netns(struct ctf_output *o)
{
	struct file_output *f = (struct file_output *)o;
	g_autoptr(GError) err = NULL;

	if (f->started &&
	    !ctf_ipfix_encoder_append_netns(f->enc, f->env->netns, f->env->n_netns, &err))
		g_warning("%s: namespace names not written: %s", f->path, err->message);
}

static void file_tick(struct ctf_output *o, int64_t now)
{
	struct file_output *f = (struct file_output *)o;
	int64_t since = ctf_ipfix_encoder_pending_since(f->enc);
	g_autoptr(GError) err = NULL;

	ensure_started(f);
	if (since && now - since >= (int64_t)f->env->cfg->flush_ms * 1000 &&
	    !ctf_ipfix_encoder_flush(f->enc, &err))
		g_warning("%s: flush failed: %s", f->path, err->message);
}

static gboolean file_finish(struct ctf_output *o, int64_t deadline_us, GError **error)
{
	struct file_output *f = (struct file_output *)o;

	ensure_started(f);
	if (!ctf_ipfix_encoder_append_reliability(f->enc, &o->rel, error) ||
	    !ctf_ipfix_encoder_flush(f->enc, error))
		return FALSE;
	if (f->own_fd) {
		int fd = f->fd;

		f->fd = -1;
		if (close(fd) < 0)
			return ctf_set_error_errno(error, errno, "closing %s", f->path);
	}
	if (f->last_errno)
		return ctf_set_error_errno(error, f->last_errno, "writing %s", f->path);
	return TRUE;
}

static void file_free(struct ctf_output *o)
{
	struct file_output *f = (struct file_output *)o;

	ctf_ipfix_encoder_free(f->enc);
	if (f->own_fd && f->fd >= 0)
		close(f->fd);
	g_free(f->path);
	ctf_output_clear(o);
	g_free(f);
}

static const struct ctf_output_ops file_ops = {
	.push = file_push,
	.interfaces = file_interfaces,
	.netns = file_netns,
	.tick = file_tick,
	.finish = file_finish,
	.free = file_free,
};

struct ctf_output *ctf_output_file_new(const struct ctf_output_env *env,
				       const char *name,
				       const struct ctf_export_url *url,
				       GError **error)
{
	struct file_output *f;
	struct ctf_ipfix_encoder_config ecfg = {
		.odid = env->cfg->odid,
		.flags = env->tmpl_flags,
		.mtu = FILE_MTU,
	};
	int fd;

	if (url->scheme == CTF_EXPORT_STDOUT) {
		if (isatty(STDOUT_FILENO)) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
				    "refusing to write binary IPFIX to a terminal: "
				    "redirect standard output or use file:PATH");
			return NULL;
		}
		fd = STDOUT_FILENO;
	} else {
		fd = open(url->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			ctf_set_error_errno(error, errno, "cannot open %s", url->path);
			return NULL;
		}
	}
	f = g_new0(struct file_output, 1);
	ctf_output_init(&f->base, &file_ops, name, true);
	f->env = env;
	f->fd = fd;
	f->own_fd = url->scheme != CTF_EXPORT_STDOUT;
	f->path = g_strdup(f->own_fd ? url->path : "standard output");
	f->enc = ctf_ipfix_encoder_new(env->schema, &ecfg, file_msg, f, error);
	if (!f->enc) {
		file_free(&f->base);
		return NULL;
	}
	return &f->base;
}
