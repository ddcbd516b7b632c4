/*
 * IPFIX schema: what ctflow puts on the wire.
 *
 * Owns the libfixbuf information model (IANA + RFC 5103 reverse elements
 * plus ctflow's enterprise elements under the configured PEN), the
 * internal record struct, and the template specs. Data templates are
 * selected by flag bits (the YAF idiom): one spec array, one internal
 * template carrying every field, and one external template per flag
 * combination with a fixed Template ID derived from the flags.
 *
 * Adding an element: one line in the spec array (and a struct field in
 * wire order), or one line in the enterprise table. Any layout change
 * must bump CTF_IPFIX_LAYOUT so that every data Template ID changes
 * (RFC 7011 8.1: a UDP collector may keep an old definition for an ID).
 *
 * Does not encode or send anything: see src/export/ipfix-encoder.c.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <fixbuf/public.h>
#include <glib.h>

#include "ctflow/record.h"

/* Template flag bits: the data template of a record is the OR of these. */
#define CTF_TMPL_V6	0x01	/* IPv6 addresses + flowLabelIPv6 (else IPv4) */
#define CTF_TMPL_BIFLOW	0x02	/* RFC 5103 reverse counters and flags */
#define CTF_TMPL_NAT	0x04	/* postNAT / postNAPT / natEvent */
#define CTF_TMPL_LIVE	0x08	/* enterprise ctZone, ctMark, netnsInode */
#define CTF_TMPL_NAT_EVENT 0x10	/* natEvent (with NAT only; 0 is reserved by
				 * IANA and never exported) */
#define CTF_TMPL_MASK	0x1f
#define CTF_TMPL_COUNT	32

/* Bumped whenever any data template layout changes. */
#define CTF_IPFIX_LAYOUT 1

/* Data Template IDs: 0x100 | layout << 5 | flags, i.e. 288..319 today. */
#define CTF_IPFIX_TID_DATA_BASE (0x100 | (CTF_IPFIX_LAYOUT << 5))
/* Options Template IDs (fixed, never FB_TID_AUTO: see IPFIX.md P3). */
#define CTF_IPFIX_TID_RELIABILITY 0x0200	/* RFC 7011 4.3 */
#define CTF_IPFIX_TID_FLOW_KEYS	  0x0201	/* RFC 7011 4.4 */
#define CTF_IPFIX_TID_IE_TYPE	  0x0202	/* RFC 5610 */
/* Internal template IDs (a separate table in the session). */
#define CTF_IPFIX_ITID_DATA	  0xff00
#define CTF_IPFIX_ITID_RELIABILITY 0xff01
#define CTF_IPFIX_ITID_FLOW_KEYS  0xff02
#define CTF_IPFIX_ITID_IE_TYPE	  0xff03

/* ctflow's enterprise element numbers (under the configured PEN). */
#define CTF_IE_CT_ZONE		1
#define CTF_IE_CT_MARK		2
#define CTF_IE_NETNS_INODE	3

/*
 * The internal record: every field any data template carries, in wire
 * order and at wire length, so libfixbuf's transcode is a copy plus byte
 * swaps. Naturally aligned with explicit padding: no implicit holes
 * (checked by _Static_assert in ipfix-schema.c). IPv4 addresses are
 * host-order integers, IPv6 addresses network-order bytes (IPFIX.md P4).
 */
struct ctf_ipfix_rec {
	uint64_t start_ms;		/* flowStartMilliseconds */
	uint64_t end_ms;		/* flowEndMilliseconds */
	uint64_t octets;		/* octetDeltaCount */
	uint64_t packets;		/* packetDeltaCount */
	uint64_t rev_octets;		/* reverseOctetDeltaCount */
	uint64_t rev_packets;		/* reversePacketDeltaCount */
	uint64_t flow_id;		/* flowId */
	uint8_t src6[16];		/* sourceIPv6Address */
	uint8_t dst6[16];		/* destinationIPv6Address */
	uint8_t post_src6[16];		/* postNATSourceIPv6Address */
	uint8_t post_dst6[16];		/* postNATDestinationIPv6Address */
	uint32_t src4;			/* sourceIPv4Address */
	uint32_t dst4;			/* destinationIPv4Address */
	uint32_t post_src4;		/* postNATSourceIPv4Address */
	uint32_t post_dst4;		/* postNATDestinationIPv4Address */
	uint32_t flow_label;		/* flowLabelIPv6 */
	uint32_t ingress_if;		/* ingressInterface */
	uint32_t egress_if;		/* egressInterface */
	uint32_t ct_zone;		/* PEN/1 ctZone */
	uint32_t ct_mark;		/* PEN/2 ctMark */
	uint32_t netns_ino;		/* PEN/3 netnsInode */
	uint16_t sport;			/* sourceTransportPort */
	uint16_t dport;			/* destinationTransportPort */
	uint16_t post_sport;		/* postNAPTSourceTransportPort */
	uint16_t post_dport;		/* postNAPTDestinationTransportPort */
	uint16_t icmp4;			/* icmpTypeCodeIPv4 */
	uint16_t icmp6;			/* icmpTypeCodeIPv6 */
	uint16_t rev_tcp_flags;		/* reverseTcpControlBits */
	uint16_t tcp_flags;		/* tcpControlBits (after the reverse: see
					 * ipfix-schema.c) */
	uint16_t vlan;			/* vlanId */
	uint16_t inner_vlan;		/* dot1qCustomerVlanId */
	uint8_t proto;			/* protocolIdentifier */
	uint8_t tos;			/* ipClassOfService */
	uint8_t end_reason;		/* flowEndReason */
	uint8_t nat_event;		/* natEvent */
	/* paddingOctets(8), internal template only: never on the wire */
	uint8_t tmpl;			/* CTF_TMPL_* of this record */
	uint8_t pad[7];
};

/* RFC 7011 4.3 Exporting Process Reliability Statistics (options record) */
struct ctf_ipfix_reliability {
	uint32_t exporting_pid;		/* exportingProcessId (scope) */
	uint8_t pad[4];			/* paddingOctets, internal only */
	uint64_t flows;			/* notSentFlowTotalCount */
	uint64_t packets;		/* notSentPacketTotalCount */
	uint64_t octets;		/* notSentOctetTotalCount */
	uint64_t first_ms;		/* observationTimeMilliseconds: first drop */
	uint64_t last_ms;		/* observationTimeMilliseconds: last drop */
};

/* RFC 7011 4.4 Flow Keys (options record) */
struct ctf_ipfix_flow_keys {
	uint16_t template_id;		/* templateId (scope) */
	uint8_t pad[6];			/* paddingOctets, internal only */
	uint64_t indicator;		/* flowKeyIndicator: bit i = field i */
};

/* One line of the enterprise element table. */
struct ctf_ipfix_enterprise_ie {
	const char *name;
	uint16_t id;
	uint16_t len;
	uint8_t type;		/* FB_UINT_32, ... */
	uint32_t flags;		/* semantics | units | FB_IE_F_ENDIAN */
	const char *description;
};

struct ctf_ipfix_schema;
typedef struct ctf_ipfix_schema ctf_ipfix_schema;

/**
 * ctf_ipfix_schema_new - allocate the information model
 * @pen: Private Enterprise Number for ctflow's elements (non-zero)
 *
 * Checks that every element named in any template exists. Returns NULL
 * with CTF_ERROR_USAGE for a bad PEN or an element clash, CTF_ERROR_FAILED
 * for a missing element (a libfixbuf that is too old).
 */
struct ctf_ipfix_schema *ctf_ipfix_schema_new(uint32_t pen, GError **error);
void ctf_ipfix_schema_free(struct ctf_ipfix_schema *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_ipfix_schema, ctf_ipfix_schema_free)

/* The model: shared by every session of this schema, valid until _free. */
fbInfoModel_t *ctf_ipfix_schema_model(const struct ctf_ipfix_schema *s);
uint32_t ctf_ipfix_schema_pen(const struct ctf_ipfix_schema *s);

/* The enterprise elements; @ret_n gets the count. Static storage. */
const struct ctf_ipfix_enterprise_ie *ctf_ipfix_enterprise_ies(size_t *ret_n);

/* Template ID of the data template for @flags (CTF_TMPL_*). */
static inline uint16_t ctf_ipfix_data_tid(unsigned flags)
{
	return (uint16_t)(CTF_IPFIX_TID_DATA_BASE | (flags & CTF_TMPL_MASK));
}

/**
 * ctf_ipfix_data_template - build a data template
 * @internal: TRUE for the internal template (every field, padding, the
 *            layout of struct ctf_ipfix_rec; @flags ignored)
 *
 * Returns a new template not yet added to a session (the caller adds it
 * or frees it with fbTemplateFreeUnused()), or NULL with @error set.
 */
fbTemplate_t *ctf_ipfix_data_template(const struct ctf_ipfix_schema *s,
				      unsigned flags, gboolean internal,
				      GError **error);
fbTemplate_t *ctf_ipfix_reliability_template(const struct ctf_ipfix_schema *s,
					     gboolean internal, GError **error);
fbTemplate_t *ctf_ipfix_flow_keys_template(const struct ctf_ipfix_schema *s,
					   gboolean internal, GError **error);

/* Octets of one data record on the wire for @flags. */
size_t ctf_ipfix_data_wire_len(unsigned flags);
/* Wire lengths of the fixed-size options records. */
#define CTF_IPFIX_RELIABILITY_WIRE_LEN 44
#define CTF_IPFIX_FLOW_KEYS_WIRE_LEN 10

/* flowKeyIndicator for the data template of @flags. */
uint64_t ctf_ipfix_flow_key_indicator(unsigned flags);

/**
 * ctf_ipfix_data_field_names - the external template's fields in order
 *
 * Stores up to @max names in @ret_names and returns the field count.
 */
size_t ctf_ipfix_data_field_names(unsigned flags, const char **ret_names,
				  size_t max);

/* Template flags of @rec given the session's @base (BIFLOW, LIVE). */
unsigned ctf_ipfix_record_flags(const struct ctf_record *rec, unsigned base);

/**
 * ctf_ipfix_rec_from_record - fill the internal record
 * @base: CTF_TMPL_BIFLOW / CTF_TMPL_LIVE of the session
 *
 * Every field is written (no stale bytes); ret->tmpl gets the flags.
 */
void ctf_ipfix_rec_from_record(const struct ctf_record *rec, unsigned base,
			       struct ctf_ipfix_rec *ret);
