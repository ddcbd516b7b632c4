/*
 * IPFIX encoder: one libfixbuf session + fBuf per transport session,
 * encoding into memory.
 *
 * libfixbuf writes each finished IPFIX message into a fopencookie() FILE;
 * the encoder reassembles messages by their header length and hands each
 * one, with the count of flow records it carries, to a callback owned by
 * the transport. The encoder never fails a write towards libfixbuf, so
 * libfixbuf's session state (sequence numbers, templates) always matches
 * what was handed out; the transport decides what a failed send means.
 *
 * libfixbuf's own transports are not used (IPFIX.md P1, P10, 2.6, 2.7).
 * Messages are emitted before they would exceed the configured MTU.
 * Single-threaded; not reentrant from the callback.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/export.h"
#include "ctflow/ipfix-schema.h"

/* What one emitted message carried. */
struct ctf_ipfix_msg_info {
	uint32_t records;	/* flow (data) records; options records excluded */
	uint64_t packets;	/* their packets, both directions */
	uint64_t octets;	/* their octets, both directions */
};

/* Called once per complete message. @msg is valid during the call only. */
typedef void (*ctf_ipfix_msg_fn)(void *userdata, const uint8_t *msg,
				 size_t len, const struct ctf_ipfix_msg_info *info);

struct ctf_ipfix_encoder_config {
	uint32_t odid;		/* observation domain */
	unsigned flags;		/* CTF_TMPL_BIFLOW and/or CTF_TMPL_LIVE; LIVE
				 * sessions also define the CTF_TMPL_PROC
				 * templates */
	uint16_t mtu;		/* largest message, >= 512 */
	uint32_t export_time;	/* fixed Export Time (tests), 0 = clock */
};

struct ctf_ipfix_encoder;
typedef struct ctf_ipfix_encoder ctf_ipfix_encoder;

/**
 * ctf_ipfix_encoder_new - a new transport session: templates, no output yet
 * @schema: must outlive the encoder
 *
 * Returns NULL with @error set when libfixbuf rejects a template.
 */
struct ctf_ipfix_encoder *ctf_ipfix_encoder_new(const struct ctf_ipfix_schema *schema,
						const struct ctf_ipfix_encoder_config *cfg,
						ctf_ipfix_msg_fn fn, void *userdata,
						GError **error);

/**
 * ctf_ipfix_encoder_send_templates - templates and options records
 * @rel: reliability statistics to include, or NULL
 * @ifs: interface names to include (@n_ifs of them), or NULL
 *
 * Emits the partial message first, then all templates (data and options),
 * then the Flow Keys, RFC 5610 type, reliability and interface name
 * records. Call at session start and for every UDP refresh.
 */
gboolean ctf_ipfix_encoder_send_templates(struct ctf_ipfix_encoder *enc,
					  const struct ctf_ipfix_reliability *rel,
					  const struct ctf_if_name *ifs, size_t n_ifs,
					  GError **error);

/**
 * ctf_ipfix_encoder_append - add one flow record (hot path)
 * @proc: the process of a CTF_TMPL_PROC record (@rec->tmpl), else NULL
 *
 * May emit the current message first. Returns 0, -EINVAL when
 * @rec->tmpl is not a template of this session or @proc does not match
 * it, or -EIO when libfixbuf fails (the record is not in any message).
 */
int ctf_ipfix_encoder_append(struct ctf_ipfix_encoder *enc,
			     const struct ctf_ipfix_rec *rec,
			     const struct ctf_proc_info *proc);

/**
 * ctf_ipfix_encoder_append_proc - add one CTF_TMPL_PROC record
 *
 * As ctf_ipfix_encoder_append(), with the strings given directly. A
 * record that cannot fit one message of the session's MTU (a small UDP
 * MTU and long strings) is sent with its strings shortened at a UTF-8
 * character boundary, the executable path first.
 */
int ctf_ipfix_encoder_append_proc(struct ctf_ipfix_encoder *enc,
				  const struct ctf_ipfix_proc_rec *rec);

/**
 * ctf_ipfix_encoder_append_interfaces - interface name options records
 *
 * One record per entry of @ifs; then emits the message, so that a
 * changed table reaches the collector at once.
 */
gboolean ctf_ipfix_encoder_append_interfaces(struct ctf_ipfix_encoder *enc,
					     const struct ctf_if_name *ifs, size_t n,
					     GError **error);

/**
 * ctf_ipfix_encoder_append_netns - namespace name options records
 *
 * As ctf_ipfix_encoder_append_interfaces(), one record per entry of
 * @names (scope netnsInode). Live sessions only: elsewhere it sends
 * nothing and returns TRUE. Call it after every
 * ctf_ipfix_encoder_send_templates().
 */
gboolean ctf_ipfix_encoder_append_netns(struct ctf_ipfix_encoder *enc,
					const struct ctf_netns_name *names, size_t n,
					GError **error);

/* Append a reliability statistics options record. */
gboolean ctf_ipfix_encoder_append_reliability(struct ctf_ipfix_encoder *enc,
					      const struct ctf_ipfix_reliability *rel,
					      GError **error);

/* Emit the partial message, if any. */
gboolean ctf_ipfix_encoder_flush(struct ctf_ipfix_encoder *enc, GError **error);

/* Flow records in the partial message, and the monotonic time (µs) the
 * first of them was appended (0 when none). */
uint32_t ctf_ipfix_encoder_pending(const struct ctf_ipfix_encoder *enc);
int64_t ctf_ipfix_encoder_pending_since(const struct ctf_ipfix_encoder *enc);

/* Discards the partial message without emitting. NULL ok. */
void ctf_ipfix_encoder_free(struct ctf_ipfix_encoder *enc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_ipfix_encoder, ctf_ipfix_encoder_free)
