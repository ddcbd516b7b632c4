/*
 * IPFIX encoder: libfixbuf session and fBuf writing into a fopencookie()
 * stream, message reassembly, and per-message record accounting.
 *
 * Does not know about sockets or files: the callback does.
 */
#define G_LOG_DOMAIN "ctflow-export"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctflow/error.h"
#include "ipfix-encoder.h"

#define IPFIX_HDR_LEN 16
#define SET_HDR_LEN 4
#define MAX_TEMPLATES 20

/* Data templates of one session: the address/NAT variants, and in live
 * sessions each of them again with the process fields. */
static const unsigned variants[] = {
	0, CTF_TMPL_V6, CTF_TMPL_NAT, CTF_TMPL_V6 | CTF_TMPL_NAT,
	CTF_TMPL_NAT | CTF_TMPL_NAT_EVENT, CTF_TMPL_V6 | CTF_TMPL_NAT | CTF_TMPL_NAT_EVENT,
};
#define N_VARIANTS G_N_ELEMENTS(variants)

/* Flags of data template @i of a session of @flags, i < n_variants(). */
static unsigned variant(unsigned flags, size_t i)
{
	return flags | variants[i % N_VARIANTS] | (i >= N_VARIANTS ? CTF_TMPL_PROC : 0);
}

static size_t n_variants(unsigned flags)
{
	return (flags & CTF_TMPL_LIVE) ? 2 * N_VARIANTS : N_VARIANTS;
}

struct tmpl_info {
	uint16_t tid;
	uint16_t wire_len;	/* template record on the wire */
	bool options;
};

struct ctf_ipfix_encoder {
	const struct ctf_ipfix_schema *schema;
	struct ctf_ipfix_encoder_config cfg;
	ctf_ipfix_msg_fn fn;
	void *userdata;
	fBuf_t *fbuf;		/* owns the session and the exporter */
	FILE *fp;		/* the cookie stream libfixbuf writes to */

	struct tmpl_info tmpls[MAX_TEMPLATES];
	size_t n_tmpls;
	uint16_t data_wire_len[CTF_TMPL_COUNT];	/* 0 = not in this session */

	/* Mirror of libfixbuf's current message, so that we emit before it
	 * would exceed our MTU (libfixbuf's FP exporter allows 65496). */
	size_t msg_bytes;	/* 0 = no message started */
	uint16_t set_tid;	/* set being filled, 0 = none */
	uint16_t cur_int;	/* templates currently selected on the fBuf */
	uint16_t cur_ext;
	uint64_t emits;

	struct ctf_ipfix_msg_info pending;
	int64_t pending_since_us;

	/* Reassembly, only used if glibc ever splits a message. */
	uint8_t *asm_buf;
	size_t asm_len;
};

static uint16_t msg_len(const uint8_t *p)
{
	return (uint16_t)(p[2] << 8 | p[3]);
}

static void deliver(struct ctf_ipfix_encoder *enc, const uint8_t *msg, size_t len)
{
	struct ctf_ipfix_msg_info info = enc->pending;

	memset(&enc->pending, 0, sizeof(enc->pending));
	enc->pending_since_us = 0;
	enc->msg_bytes = 0;
	enc->set_tid = 0;
	enc->emits++;
	enc->fn(enc->userdata, msg, len, &info);
}

/* fopencookie write: libfixbuf's FP exporter fwrite()s one whole message
 * per emit; with _IONBF glibc passes it through in one call, but
 * reassemble by the header's length field in case it does not. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t size)
{
	struct ctf_ipfix_encoder *enc = cookie;
	const uint8_t *p = (const uint8_t *)buf;

	if (enc->asm_len == 0 && size >= IPFIX_HDR_LEN && msg_len(p) == size) {
		deliver(enc, p, size);
		return (ssize_t)size;
	}
	if (!enc->asm_buf)
		enc->asm_buf = g_malloc(2 * 65536);
	if (enc->asm_len + size > 2 * 65536) {
		g_warning("IPFIX encoder: reassembly overflow, %zu bytes discarded",
			  enc->asm_len + size);
		enc->asm_len = 0;
		return (ssize_t)size;
	}
	memcpy(enc->asm_buf + enc->asm_len, p, size);
	enc->asm_len += size;
	while (enc->asm_len >= 4) {
		size_t l = msg_len(enc->asm_buf);

		if (l < IPFIX_HDR_LEN) {
			g_warning("IPFIX encoder: bad message length %zu, %zu bytes discarded",
				  l, enc->asm_len);
			enc->asm_len = 0;
			break;
		}
		if (enc->asm_len < l)
			break;
		deliver(enc, enc->asm_buf, l);
		memmove(enc->asm_buf, enc->asm_buf + l, enc->asm_len - l);
		enc->asm_len -= l;
	}
	return (ssize_t)size;
}

static uint16_t template_wire_len(fbTemplate_t *t)
{
	uint32_t n = fbTemplateCountElements(t);
	uint16_t len = fbTemplateGetOptionsScope(t) ? 6 : 4;

	for (uint32_t i = 0; i < n; i++)
		len += fbTemplateGetIndexedIE(t, i)->ent ? 8 : 4;
	return len;
}

/* Adds @t to the session (takes ownership either way). */
static gboolean add_template(struct ctf_ipfix_encoder *enc, fbSession_t *s,
			     gboolean internal, uint16_t tid, fbTemplate_t *t,
			     GError **error)
{
	if (!t)
		return FALSE;
	if (!internal) {
		g_assert(enc->n_tmpls < MAX_TEMPLATES);
		enc->tmpls[enc->n_tmpls++] = (struct tmpl_info){
			.tid = tid,
			.wire_len = template_wire_len(t),
			.options = fbTemplateGetOptionsScope(t) != 0,
		};
	}
	if (fbSessionAddTemplate(s, internal, tid, t, error) != tid) {
		fbTemplateFreeUnused(t);
		return FALSE;
	}
	return TRUE;
}

static gboolean add_templates(struct ctf_ipfix_encoder *enc, fbSession_t *s,
			      GError **error)
{
	const struct ctf_ipfix_schema *sc = enc->schema;
	fbInfoModel_t *model = ctf_ipfix_schema_model(sc);

	if (!add_template(enc, s, TRUE, CTF_IPFIX_ITID_DATA,
			  ctf_ipfix_data_template(sc, 0, TRUE, error), error) ||
	    !add_template(enc, s, TRUE, CTF_IPFIX_ITID_DATA_PROC,
			  ctf_ipfix_data_template(sc, CTF_TMPL_PROC, TRUE, error), error) ||
	    !add_template(enc, s, TRUE, CTF_IPFIX_ITID_RELIABILITY,
			  ctf_ipfix_reliability_template(sc, TRUE, error), error) ||
	    !add_template(enc, s, TRUE, CTF_IPFIX_ITID_FLOW_KEYS,
			  ctf_ipfix_flow_keys_template(sc, TRUE, error), error) ||
	    !add_template(enc, s, TRUE, CTF_IPFIX_ITID_IE_TYPE,
			  fbInfoElementAllocTypeTemplate(model, error), error) ||
	    !add_template(enc, s, TRUE, CTF_IPFIX_ITID_IF_NAME,
			  ctf_ipfix_if_name_template(sc, TRUE, error), error))
		return FALSE;
	/* namespaces are a live matter: offline sessions stay as they were */
	if ((enc->cfg.flags & CTF_TMPL_LIVE) &&
	    (!add_template(enc, s, TRUE, CTF_IPFIX_ITID_NETNS,
			   ctf_ipfix_netns_template(sc, TRUE, error), error) ||
	     !add_template(enc, s, FALSE, CTF_IPFIX_TID_NETNS,
			   ctf_ipfix_netns_template(sc, FALSE, error), error)))
		return FALSE;
	for (size_t i = 0; i < n_variants(enc->cfg.flags); i++) {
		unsigned f = variant(enc->cfg.flags, i);

		if (!add_template(enc, s, FALSE, ctf_ipfix_data_tid(f),
				  ctf_ipfix_data_template(sc, f, FALSE, error), error))
			return FALSE;
		enc->data_wire_len[f] = (uint16_t)ctf_ipfix_data_wire_len(f);
	}
	return add_template(enc, s, FALSE, CTF_IPFIX_TID_RELIABILITY,
			    ctf_ipfix_reliability_template(sc, FALSE, error), error) &&
	       add_template(enc, s, FALSE, CTF_IPFIX_TID_FLOW_KEYS,
			    ctf_ipfix_flow_keys_template(sc, FALSE, error), error) &&
	       add_template(enc, s, FALSE, CTF_IPFIX_TID_IE_TYPE,
			    fbInfoElementAllocTypeTemplate(model, error), error) &&
	       add_template(enc, s, FALSE, CTF_IPFIX_TID_IF_NAME,
			    ctf_ipfix_if_name_template(sc, FALSE, error), error);
}

struct ctf_ipfix_encoder *ctf_ipfix_encoder_new(const struct ctf_ipfix_schema *schema,
						const struct ctf_ipfix_encoder_config *cfg,
						ctf_ipfix_msg_fn fn, void *userdata,
						GError **error)
{
	static const cookie_io_functions_t io = { .write = cookie_write };
	g_autoptr(ctf_ipfix_encoder) enc = g_new0(struct ctf_ipfix_encoder, 1);
	fbSession_t *s;

	if (cfg->mtu < 512 || cfg->mtu > 65000) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE,
			    "IPFIX message size %u is not in 512..65000", cfg->mtu);
		return NULL;
	}
	enc->schema = schema;
	enc->cfg = *cfg;
	enc->cfg.flags &= CTF_TMPL_BIFLOW | CTF_TMPL_LIVE;
	enc->fn = fn;
	enc->userdata = userdata;

	s = fbSessionAlloc(ctf_ipfix_schema_model(schema));
	/* templates are per domain: set it before adding them */
	fbSessionSetDomain(s, cfg->odid);
	if (!add_templates(enc, s, error)) {
		fbSessionFree(s);
		return NULL;
	}
	enc->fp = fopencookie(enc, "w", io);
	if (!enc->fp) {
		fbSessionFree(s);
		ctf_set_error_errno(error, errno, "fopencookie");
		return NULL;
	}
	setvbuf(enc->fp, NULL, _IONBF, 0);
	/* templates added before this point are not written yet */
	enc->fbuf = fBufAllocForExport(s, fbExporterAllocFP(enc->fp));
	if (cfg->export_time)
		fBufSetExportTime(enc->fbuf, cfg->export_time);
	return g_steal_pointer(&enc);
}

void ctf_ipfix_encoder_free(struct ctf_ipfix_encoder *enc)
{
	if (!enc)
		return;
	if (enc->fbuf)
		fBufFree(enc->fbuf);
	if (enc->fp)
		fclose(enc->fp);
	g_free(enc->asm_buf);
	g_free(enc);
}

gboolean ctf_ipfix_encoder_flush(struct ctf_ipfix_encoder *enc, GError **error)
{
	return fBufEmit(enc->fbuf, error);
}

/* Make room for @len octets in set @set_tid; returns the octets the
 * append will add to the message. */
static gboolean room(struct ctf_ipfix_encoder *enc, uint16_t set_tid,
		     size_t len, size_t *ret_need, GError **error)
{
	size_t need = len + (enc->set_tid == set_tid ? 0 : SET_HDR_LEN) +
		      (enc->msg_bytes ? 0 : IPFIX_HDR_LEN);

	if (enc->msg_bytes && enc->msg_bytes + need > enc->cfg.mtu) {
		if (!fBufEmit(enc->fbuf, error))
			return FALSE;
		need = len + SET_HDR_LEN + IPFIX_HDR_LEN;
	}
	*ret_need = need;
	return TRUE;
}

static void account(struct ctf_ipfix_encoder *enc, uint64_t emits_before,
		    uint16_t set_tid, size_t len, size_t need)
{
	if (enc->emits != emits_before)	/* libfixbuf emitted by itself */
		enc->msg_bytes = IPFIX_HDR_LEN + SET_HDR_LEN + len;
	else
		enc->msg_bytes += need;
	enc->set_tid = set_tid;
}

static gboolean select_templates(struct ctf_ipfix_encoder *enc, uint16_t itid,
				 uint16_t etid, GError **error)
{
	if (enc->cur_int != itid) {
		if (!fBufSetInternalTemplate(enc->fbuf, itid, error))
			return FALSE;
		enc->cur_int = itid;
	}
	if (enc->cur_ext != etid) {
		if (!fBufSetExportTemplate(enc->fbuf, etid, error))
			return FALSE;
		enc->cur_ext = etid;
	}
	return TRUE;
}

/* Appends one options or data record of known wire length. */
static gboolean append(struct ctf_ipfix_encoder *enc, uint16_t itid,
		       uint16_t etid, const void *rec, size_t size,
		       size_t wire_len, GError **error)
{
	uint64_t before;
	size_t need;

	if (!room(enc, etid, wire_len, &need, error) ||
	    !select_templates(enc, itid, etid, error))
		return FALSE;
	before = enc->emits;
	if (!fBufAppend(enc->fbuf, (uint8_t *)rec, size, error))
		return FALSE;
	account(enc, before, etid, wire_len, need);
	return TRUE;
}

static void count_pending(struct ctf_ipfix_encoder *enc, const struct ctf_ipfix_rec *rec)
{
	if (enc->pending.records++ == 0)
		enc->pending_since_us = g_get_monotonic_time();
	enc->pending.packets += rec->packets + rec->rev_packets;
	enc->pending.octets += rec->octets + rec->rev_octets;
}

int ctf_ipfix_encoder_append(struct ctf_ipfix_encoder *enc,
			     const struct ctf_ipfix_rec *rec,
			     const struct ctf_proc_info *proc)
{
	unsigned f = rec->tmpl & CTF_TMPL_MASK;
	size_t wire_len = enc->data_wire_len[f];
	g_autoptr(GError) err = NULL;

	if (!wire_len || f != rec->tmpl || !(f & CTF_TMPL_PROC) != !proc)
		return -EINVAL;
	if (proc) {
		struct ctf_ipfix_proc_rec prec;

		ctf_ipfix_proc_rec_from(rec, proc, &prec);
		return ctf_ipfix_encoder_append_proc(enc, &prec);
	}
	if (!append(enc, CTF_IPFIX_ITID_DATA, ctf_ipfix_data_tid(f), rec,
		    sizeof(*rec), wire_len, &err)) {
		g_warning("IPFIX encoder: record not encoded: %s", err->message);
		return -EIO;
	}
	count_pending(enc, rec);
	return 0;
}

/* Shortens @v by at least @over octets (all of it at most), ending on a
 * UTF-8 character boundary. */
static void shorten_utf8(fbVarfield_t *v, size_t over)
{
	size_t len = over < v->len ? v->len - over : 0;

	while (len > 0 && (v->buf[len] & 0xc0) == 0x80)
		len--;
	v->len = len;
}

/* The record must fit one message: a libfixbuf message cannot be split,
 * and a UDP datagram above the MTU would be fragmented (RFC 7011 10.3.3). */
static size_t fit_mtu(const struct ctf_ipfix_encoder *enc, struct ctf_ipfix_proc_rec *r)
{
	size_t max = enc->cfg.mtu - IPFIX_HDR_LEN - SET_HDR_LEN;
	fbVarfield_t *order[] = { &r->exe, &r->container, &r->user, &r->comm };
	size_t len = ctf_ipfix_proc_rec_wire_len(r);

	for (size_t i = 0; i < G_N_ELEMENTS(order) && len > max; i++) {
		shorten_utf8(order[i], len - max);
		len = ctf_ipfix_proc_rec_wire_len(r);
	}
	return len;
}

int ctf_ipfix_encoder_append_proc(struct ctf_ipfix_encoder *enc,
				  const struct ctf_ipfix_proc_rec *rec)
{
	unsigned f = rec->rec.tmpl & CTF_TMPL_MASK;
	struct ctf_ipfix_proc_rec r = *rec;
	g_autoptr(GError) err = NULL;
	size_t wire_len;

	if (!enc->data_wire_len[f] || f != rec->rec.tmpl || !(f & CTF_TMPL_PROC))
		return -EINVAL;
	wire_len = fit_mtu(enc, &r);
	if (!append(enc, CTF_IPFIX_ITID_DATA_PROC, ctf_ipfix_data_tid(f), &r,
		    sizeof(r), wire_len, &err)) {
		g_warning("IPFIX encoder: record not encoded: %s", err->message);
		return -EIO;
	}
	count_pending(enc, &r.rec);
	return 0;
}

static void set_if_str(fbVarfield_t *v, const char *buf, size_t size)
{
	v->buf = (uint8_t *)buf;
	v->len = strnlen(buf, size);
}

gboolean ctf_ipfix_encoder_append_interfaces(struct ctf_ipfix_encoder *enc,
					     const struct ctf_if_name *ifs, size_t n,
					     GError **error)
{
	for (size_t i = 0; i < n; i++) {
		struct ctf_ipfix_if_name r = { .ifindex = ifs[i].ifindex };

		set_if_str(&r.name, ifs[i].name, sizeof(ifs[i].name));
		set_if_str(&r.description, ifs[i].description, sizeof(ifs[i].description));
		if (!append(enc, CTF_IPFIX_ITID_IF_NAME, CTF_IPFIX_TID_IF_NAME, &r, sizeof(r),
			    4 + ctf_ipfix_varlen_wire_len(r.name.len) +
			    ctf_ipfix_varlen_wire_len(r.description.len), error))
			return FALSE;
	}
	return n == 0 || fBufEmit(enc->fbuf, error);
}

gboolean ctf_ipfix_encoder_append_netns(struct ctf_ipfix_encoder *enc,
					const struct ctf_netns_name *names, size_t n,
					GError **error)
{
	if (!(enc->cfg.flags & CTF_TMPL_LIVE))
		return TRUE;
	for (size_t i = 0; i < n; i++) {
		struct ctf_ipfix_netns r = { .netns = names[i].netns };

		set_if_str(&r.name, names[i].name, sizeof(names[i].name));
		set_if_str(&r.container, names[i].container_id, sizeof(names[i].container_id));
		if (!append(enc, CTF_IPFIX_ITID_NETNS, CTF_IPFIX_TID_NETNS, &r, sizeof(r),
			    4 + ctf_ipfix_varlen_wire_len(r.name.len) +
			    ctf_ipfix_varlen_wire_len(r.container.len), error))
			return FALSE;
	}
	return n == 0 || fBufEmit(enc->fbuf, error);
}

gboolean ctf_ipfix_encoder_append_reliability(struct ctf_ipfix_encoder *enc,
					      const struct ctf_ipfix_reliability *rel,
					      GError **error)
{
	return append(enc, CTF_IPFIX_ITID_RELIABILITY, CTF_IPFIX_TID_RELIABILITY,
		      rel, sizeof(*rel), CTF_IPFIX_RELIABILITY_WIRE_LEN, error);
}

/* Exports the templates whose options-ness is @options and whose ID is
 * (@only ? @tid : anything but @tid), then ends the message. */
static gboolean export_templates(struct ctf_ipfix_encoder *enc, bool only,
				 uint16_t tid, GError **error)
{
	fbSession_t *s = fBufGetSession(enc->fbuf);

	for (size_t i = 0; i < enc->n_tmpls; i++) {
		const struct tmpl_info *t = &enc->tmpls[i];
		uint16_t set = t->options ? FB_TID_OTS : FB_TID_TS;
		uint64_t before;
		size_t need;

		if ((t->tid == tid) != only)
			continue;
		if (!room(enc, set, t->wire_len, &need, error))
			return FALSE;
		before = enc->emits;
		if (!fbSessionExportTemplate(s, t->tid, error))
			return FALSE;
		account(enc, before, set, t->wire_len, need);
	}
	/* libfixbuf ends a template message before the next data record
	 * anyway; emitting here keeps our message mirror exact. */
	return fBufEmit(enc->fbuf, error);
}

/* RFC 5610 type records for ctflow's enterprise elements only: libfixbuf's
 * fbSessionSetMetadataExportElements() would describe all 437 non-IANA
 * elements of its model (RFC 5103 reverse and CERT ones). */
static gboolean write_ie_types(struct ctf_ipfix_encoder *enc, GError **error)
{
	fbInfoModel_t *model = ctf_ipfix_schema_model(enc->schema);
	const struct ctf_ipfix_enterprise_ie *ies;
	size_t n;

	ies = ctf_ipfix_enterprise_ies(&n);
	for (size_t i = 0; i < n; i++) {
		const fbInfoElement_t *ie = fbInfoModelGetElementByName(model, ies[i].name);
		/* fixed part 32 + varlen name/description (length prefix <= 3) */
		size_t wire = 32 + 3 + strlen(ies[i].name) + 3 + strlen(ies[i].description);
		uint64_t before;
		size_t need;

		if (!room(enc, CTF_IPFIX_TID_IE_TYPE, wire, &need, error))
			return FALSE;
		before = enc->emits;
		if (!fbInfoElementWriteOptionsRecord(enc->fbuf, ie, CTF_IPFIX_ITID_IE_TYPE,
						     CTF_IPFIX_TID_IE_TYPE, error))
			return FALSE;
		/* it selected its own templates on the fBuf */
		enc->cur_int = CTF_IPFIX_ITID_IE_TYPE;
		enc->cur_ext = CTF_IPFIX_TID_IE_TYPE;
		account(enc, before, CTF_IPFIX_TID_IE_TYPE, wire, need);
	}
	return TRUE;
}

/*
 * Order matters: the RFC 5610 type records go first, so that a collector
 * knows ctflow's enterprise elements before it reads a template using
 * them (ipfixDump --rfc5610 decodes them as byte-swapped octet arrays
 * otherwise), then every other template, then the options records.
 */
gboolean ctf_ipfix_encoder_send_templates(struct ctf_ipfix_encoder *enc,
					  const struct ctf_ipfix_reliability *rel,
					  const struct ctf_if_name *ifs, size_t n_ifs,
					  GError **error)
{
	if (!fBufEmit(enc->fbuf, error) ||
	    !export_templates(enc, true, CTF_IPFIX_TID_IE_TYPE, error) ||
	    !write_ie_types(enc, error) || !fBufEmit(enc->fbuf, error) ||
	    !export_templates(enc, false, CTF_IPFIX_TID_IE_TYPE, error))
		return FALSE;
	for (size_t i = 0; i < n_variants(enc->cfg.flags); i++) {
		unsigned f = variant(enc->cfg.flags, i);
		struct ctf_ipfix_flow_keys fk = {
			.template_id = ctf_ipfix_data_tid(f),
			.indicator = ctf_ipfix_flow_key_indicator(f),
		};

		if (!append(enc, CTF_IPFIX_ITID_FLOW_KEYS, CTF_IPFIX_TID_FLOW_KEYS,
			    &fk, sizeof(fk), CTF_IPFIX_FLOW_KEYS_WIRE_LEN, error))
			return FALSE;
	}
	if (rel && !ctf_ipfix_encoder_append_reliability(enc, rel, error))
		return FALSE;
	if (ifs && !ctf_ipfix_encoder_append_interfaces(enc, ifs, n_ifs, error))
		return FALSE;
	return fBufEmit(enc->fbuf, error);
}

uint32_t ctf_ipfix_encoder_pending(const struct ctf_ipfix_encoder *enc)
{
	return enc->pending.records;
}

int64_t ctf_ipfix_encoder_pending_since(const struct ctf_ipfix_encoder *enc)
{
	return enc->pending_since_us;
}
