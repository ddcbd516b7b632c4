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
 * Records with an owning process (CTF_TMPL_PROC) use a second family of
 * data templates: the same fields plus the process elements, among them
 * variable-length strings. They have their own internal template (struct
 * ctf_ipfix_proc_rec) and their own Template ID range, so records
 * without a process never pay for varlen encoding.
 *
 * Adding an element: one line in a spec array (and a struct field in
 * wire order), or one line in the enterprise table. Any change to the
 * wire layout of existing templates must bump CTF_IPFIX_LAYOUT so that
 * every data Template ID changes (RFC 7011 8.1: a UDP collector may keep
 * an old definition for an ID).
 *
 * Does not encode or send anything: see src/export/ipfix-encoder.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fixbuf/public.h>
#include <glib.h>

#include "ctflow/record.h"

/* Template flag bits: the data template of a record is the OR of these. */
#define CTF_TMPL_V6	0x01	/* IPv6 addresses + flowLabelIPv6 (else IPv4) */
#define CTF_TMPL_BIFLOW	0x02	/* RFC 5103 reverse counters and flags */
#define CTF_TMPL_NAT	0x04	/* postNAT / postNAPT / natEvent */
#define CTF_TMPL_LIVE	0x08	/* enterprise ctZone, ctMark, netnsInode,
				 * conntrackId */
#define CTF_TMPL_NAT_EVENT 0x10	/* natEvent (with NAT only; 0 is reserved by
				 * IANA and never exported) */
#define CTF_TMPL_PROC	0x20	/* owning process: processId, processName,
				 * processExecutable, userName, containerId,
				 * TCP RTT and retransmissions (live only) */
#define CTF_TMPL_MASK	0x3f
#define CTF_TMPL_COUNT	64

/* Bumped whenever any data template layout changes. */
#define CTF_IPFIX_LAYOUT 2

/* Data Template IDs: 0x100 | layout << 5 | flags, i.e. 320..351 today
 * (layout 1, without conntrackId: 288..319); with CTF_TMPL_PROC
 * 0x400 | layout << 5 | other flags, i.e. 1088..1119 (layout 1: 1056..1087).
 * The two ranges stay apart for every layout below 8. */
#define CTF_IPFIX_TID_DATA_BASE (0x100 | (CTF_IPFIX_LAYOUT << 5))
#define CTF_IPFIX_TID_PROC_BASE (0x400 | (CTF_IPFIX_LAYOUT << 5))
/* Options Template IDs (fixed, never FB_TID_AUTO: see IPFIX.md P3). */
#define CTF_IPFIX_TID_RELIABILITY 0x0200	/* RFC 7011 4.3 */
#define CTF_IPFIX_TID_FLOW_KEYS	  0x0201	/* RFC 7011 4.4 */
#define CTF_IPFIX_TID_IE_TYPE	  0x0202	/* RFC 5610 */
#define CTF_IPFIX_TID_IF_NAME	  0x0203	/* interface names */
#define CTF_IPFIX_TID_NETNS	  0x0204	/* network namespace names (live) */
/* Internal template IDs (a separate table in the session). */
#define CTF_IPFIX_ITID_DATA	  0xff00
#define CTF_IPFIX_ITID_RELIABILITY 0xff01
#define CTF_IPFIX_ITID_FLOW_KEYS  0xff02
#define CTF_IPFIX_ITID_IE_TYPE	  0xff03
#define CTF_IPFIX_ITID_DATA_PROC  0xff04
#define CTF_IPFIX_ITID_IF_NAME	  0xff05
#define CTF_IPFIX_ITID_NETNS	  0xff06

/* ctflow's enterprise element numbers (under the configured PEN). */
#define CTF_IE_CT_ZONE		1
#define CTF_IE_CT_MARK		2
#define CTF_IE_NETNS_INODE	3
#define CTF_IE_PROCESS_ID	4
#define CTF_IE_PROCESS_NAME	5
#define CTF_IE_PROCESS_EXE	6
#define CTF_IE_CONTAINER_ID	7
#define CTF_IE_TCP_RTT_US	8
#define CTF_IE_TCP_RETRANS	9
#define CTF_IE_CONNTRACK_ID	10
#define CTF_IE_NETNS_NAME	11

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
	uint32_t ct_id;			/* PEN/10 conntrackId */
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
	/* paddingOctets(4), internal template only: never on the wire */
	uint8_t tmpl;			/* CTF_TMPL_* of this record */
	uint8_t pad[3];
};

/*
 * The internal record of the CTF_TMPL_PROC templates: the flow record,
 * then the process fields. The strings are fbVarfield_t that point into
 * caller-owned memory (normally the struct ctf_proc_info of the record):
 * libfixbuf copies them into the message during the append, so they only
 * have to stay valid until the append returns (IPFIX.md P6). Offsets are
 * checked by _Static_assert (an implicit hole before an fbVarfield_t
 * crashes fBufAppend, IPFIX.md P2).
 */
struct ctf_ipfix_proc_rec {
	struct ctf_ipfix_rec rec;
	uint32_t pid;			/* PEN/4 processId */
	uint32_t tcp_rtt_us;		/* PEN/8 tcpRttMicroseconds */
	uint32_t tcp_retrans;		/* PEN/9 tcpRetransmissions */
	uint8_t pad[4];			/* paddingOctets(4), internal only */
	fbVarfield_t comm;		/* PEN/5 processName */
	fbVarfield_t exe;		/* PEN/6 processExecutable */
	fbVarfield_t user;		/* userName (371) */
	fbVarfield_t container;		/* PEN/7 containerId */
};

/* Interface names (options record): scope ingressInterface, as IPFIX
 * exporters commonly describe their interface table. */
struct ctf_ipfix_if_name {
	uint32_t ifindex;		/* ingressInterface (scope) */
	uint8_t pad[4];			/* paddingOctets, internal only */
	fbVarfield_t name;		/* interfaceName (82) */
	fbVarfield_t description;	/* interfaceDescription (83) */
};

/* Network namespace names (options record, live sessions): scope
 * netnsInode, so a collector joins it to the data records' netnsInode. */
struct ctf_ipfix_netns {
	uint32_t netns;			/* PEN/3 netnsInode (scope) */
	uint8_t pad[4];			/* paddingOctets, internal only */
	fbVarfield_t name;		/* PEN/11 netnsName */
	fbVarfield_t container;		/* PEN/7 containerId */
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
	uint16_t len;		/* octets, or FB_IE_VARLEN */
	uint8_t type;		/* FB_UINT_32, FB_STRING, ... */
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
	unsigned low = flags & (CTF_TMPL_MASK & ~CTF_TMPL_PROC);

	return (uint16_t)(((flags & CTF_TMPL_PROC) ? CTF_IPFIX_TID_PROC_BASE
						   : CTF_IPFIX_TID_DATA_BASE) | low);
}

/* Is @tid one of the data Template IDs above? */
static inline bool ctf_ipfix_is_data_tid(uint16_t tid)
{
	return (tid & ~0x1fu) == CTF_IPFIX_TID_DATA_BASE ||
	       (tid & ~0x1fu) == CTF_IPFIX_TID_PROC_BASE;
}

/* The CTF_TMPL_* flags of data Template ID @tid (ctf_ipfix_is_data_tid). */
static inline unsigned ctf_ipfix_tid_flags(uint16_t tid)
{
	return (tid & 0x1fu) |
	       ((tid & ~0x1fu) == CTF_IPFIX_TID_PROC_BASE ? CTF_TMPL_PROC : 0);
}

/**
 * ctf_ipfix_data_template - build a data template
 * @internal: TRUE for the internal template (every field, padding): the
 *            layout of struct ctf_ipfix_proc_rec when @flags has
 *            CTF_TMPL_PROC, else of struct ctf_ipfix_rec; other flags
 *            are ignored
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
fbTemplate_t *ctf_ipfix_if_name_template(const struct ctf_ipfix_schema *s,
					 gboolean internal, GError **error);
fbTemplate_t *ctf_ipfix_netns_template(const struct ctf_ipfix_schema *s,
				       gboolean internal, GError **error);

/* Octets of one data record on the wire for @flags; with CTF_TMPL_PROC
 * the length when every string is empty (ctf_ipfix_varlen_wire_len()
 * gives what each string adds). */
size_t ctf_ipfix_data_wire_len(unsigned flags);

/* Octets a varlen value of @len takes on the wire: a one-octet length
 * below 255, else 0xff and a two-octet length (RFC 7011 7). */
static inline size_t ctf_ipfix_varlen_wire_len(size_t len)
{
	return len + (len < 255 ? 1 : 3);
}
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

/* Template flags of @rec given the session's @base (BIFLOW, LIVE).
 * CTF_TMPL_PROC only with CTF_TMPL_LIVE: process fields are live-only. */
unsigned ctf_ipfix_record_flags(const struct ctf_record *rec, unsigned base);

/**
 * ctf_ipfix_rec_from_record - fill the internal record
 * @base: CTF_TMPL_BIFLOW / CTF_TMPL_LIVE of the session
 *
 * Every field is written (no stale bytes); ret->tmpl gets the flags.
 */
void ctf_ipfix_rec_from_record(const struct ctf_record *rec, unsigned base,
			       struct ctf_ipfix_rec *ret);

/**
 * ctf_ipfix_proc_rec_from - the internal record of a CTF_TMPL_PROC record
 * @rec: the flow part, with CTF_TMPL_PROC in @rec->tmpl
 * @proc: the process; its strings are sent up to their NUL
 *
 * @ret's strings point into @proc: valid while @proc is unchanged.
 */
void ctf_ipfix_proc_rec_from(const struct ctf_ipfix_rec *rec,
			     const struct ctf_proc_info *proc,
			     struct ctf_ipfix_proc_rec *ret);

/* Wire octets of @r (data_wire_len plus its strings). */
size_t ctf_ipfix_proc_rec_wire_len(const struct ctf_ipfix_proc_rec *r);
