/*
 * gen-pcap internals: a deterministic capture generator for the golden and
 * bench suites.
 *
 * Owns packet construction (link layers, IPv4/IPv6, fragments, TCP, UDP,
 * ICMP with correct checksums), the pcap file format, and an independent
 * model of ctflow's flow rules that turns the generated packets into the
 * expected records (the "truth"). It deliberately shares no code and no
 * headers with ctflow: the truth must not inherit ctflow's mistakes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* pcap LINKTYPE_* values as written in the file header */
#define GP_LINK_ETHERNET 1
#define GP_LINK_RAW 101
#define GP_LINK_SLL 113
#define GP_LINK_SLL2 276

#define GP_TCP_FIN 0x01
#define GP_TCP_SYN 0x02
#define GP_TCP_RST 0x04
#define GP_TCP_PSH 0x08
#define GP_TCP_ACK 0x10

#define GP_MAX_FRAME 65600

/* ---- deterministic random numbers (xorshift64*) ---- */
struct gp_rng {
	uint64_t s;
};

void gp_rng_init(struct gp_rng *r, uint64_t seed);
uint64_t gp_rng_next(struct gp_rng *r);
/* uniform in [0, n) */
uint32_t gp_rng_below(struct gp_rng *r, uint32_t n);

/* ---- a conversation: one flow key, seen from its initiator ---- */
struct gp_conv {
	char name[48];
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* 1, 6, 17, 58 */
	uint8_t ini[16];	/* initiator address (IPv4 in the first 4 bytes) */
	uint8_t rsp[16];	/* responder address */
	uint16_t sport, dport;	/* initiator's ports; 0 for ICMP */
	uint16_t icmp_id;	/* echo identifier */
	uint16_t vlan;		/* outer tag id, 0 = untagged */
	uint16_t vlan_pcp;	/* priority bits written with the outer tag */
	uint16_t inner_vlan;	/* QinQ inner tag, 0 = single tag */
	uint8_t ip_opt_len[2];	/* IPv4 options octets per direction (multiple of 4) */
	uint16_t vlan_tpid;	/* outer tag TPID, 0 = 0x8100 (0x88a8 for QinQ) */
	bool hbh;		/* IPv6: add a hop-by-hop header before L4 */
	bool dstopts;		/* IPv6: add a destination options header before L4 */
	uint32_t flow_label;
	uint32_t seq[2];	/* TCP sequence numbers per direction */
	uint16_t ip_id[2];	/* IPv4 identification per direction */
	uint16_t icmp_seq;
};

/* ---- what one packet carries above IP ---- */
struct gp_l4 {
	uint16_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint32_t payload_len;
};

/* ---- frames and their sink ---- */
struct gp_pcap {
	FILE *fp;
	int linktype;
	uint32_t snaplen;
	uint64_t frames;
	uint64_t bytes;
};

bool gp_pcap_open(struct gp_pcap *p, const char *path, int linktype, uint32_t snaplen);
/* @len is the frame's wire length; at most min(len, snaplen, @caplen) bytes are written */
void gp_pcap_write(struct gp_pcap *p, uint64_t ts_us, const uint8_t *frame,
		   uint32_t len, uint32_t caplen);
bool gp_pcap_close(struct gp_pcap *p);

/* ---- packet construction (gen-pcap-pkt.c) ---- */

/* Build the L4 header and payload for @dir (0 initiator->responder,
 * 1 responder->initiator) into @out with a correct checksum; returns its
 * length. @payload_fill writes @len payload bytes (NULL = zeros). */
typedef void (*gp_fill_fn)(uint8_t *buf, uint32_t len, void *userdata);
uint32_t gp_build_l4(struct gp_conv *c, int dir, const struct gp_l4 *l4,
		     gp_fill_fn fill, void *fill_data, uint8_t *out);

/* Build one IP packet carrying @l4buf[0..l4len) (a whole datagram or, for
 * fragments, the slice at @frag_off with @more set). @frag selects whether
 * fragmentation fields/headers are written. Returns the IP length. */
struct gp_frag {
	bool on;
	uint32_t id;
	uint32_t offset;	/* bytes into the L4 datagram */
	bool more;
};
uint32_t gp_build_ip(struct gp_conv *c, int dir, const uint8_t *l4buf, uint32_t l4len,
		     const struct gp_frag *frag, uint8_t *out);

/* IP length of the whole (reassembled) datagram carrying @l4len octets */
uint32_t gp_ip_len(const struct gp_conv *c, int dir, uint32_t l4len);

/* Wrap an IP packet in a link header; returns the frame length (Ethernet
 * frames are padded to the 60-octet minimum). */
uint32_t gp_build_link(int linktype, const struct gp_conv *c, int dir,
		       const uint8_t *ip, uint32_t iplen, uint8_t *out);

/* An ARP request/reply frame (Ethernet only): not IP, must be ignored. */
uint32_t gp_build_arp(bool reply, const uint8_t spa[4], const uint8_t tpa[4], uint8_t *out);

void gp_addr4(uint8_t a[16], uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3);
/* 2001:db8:NET::HOST */
void gp_addr6(uint8_t a[16], uint16_t net, uint16_t host);
const char *gp_addr_str(int family, const uint8_t a[16], char *buf, size_t len);

/* ---- truth: the flow rules applied to the generated datagrams ---- */

/* One accounted datagram: what the flow table sees after defragmentation. */
struct gp_event {
	uint64_t ts_us;		/* time of the frame that completed it */
	uint64_t seq;		/* creation order, breaks ties like file order does */
	int conv;
	int dir;		/* 0 initiator->responder */
	uint32_t ip_len;	/* reassembled IP length */
	uint16_t tcp_flags;
	uint8_t icmp_type, icmp_code;
};

struct gp_truth_cfg {
	uint64_t idle_us;
	uint64_t active_us;
	uint64_t linger_us;
	uint64_t max_flows;	/* 0 = unbounded */
};

/* Sorts @ev by (ts_us, seq), applies the rules and writes the truth JSON
 * to @fp. @extra is written verbatim inside the top-level object (may be
 * NULL). */
void gp_truth_write(FILE *fp, const struct gp_truth_cfg *cfg,
		    const struct gp_conv *convs, size_t nconv,
		    struct gp_event *ev, size_t nev, const char *extra);

/* ---- scripts: conversations, packets at chosen times (gen-pcap-script.c) ---- */

#define GP_T0_US 1704067200000000ull	/* 2024-01-01T00:00:00Z: script time 0 */

struct gp_frame {
	uint64_t ts_us;
	uint64_t seq;
	int conv;		/* -1 for frames of no conversation (ARP) */
	uint32_t len, caplen;
	uint8_t *data;		/* caplen octets */
};

struct gp_conv_extra {
	bool skip;		/* not on this link type: sends nothing */
	bool reply_first;	/* ICMP: the initiator sends echo replies */
};

struct gp_script {
	const struct gp_options *o;
	struct gp_conv *conv;
	struct gp_conv_extra *cx;
	size_t nconv, capconv;
	struct gp_frame *fr;
	size_t nfr, capfr;
	struct gp_event *ev;
	size_t nev, capev;
	uint64_t seq;
	struct gp_rng rng;
	bool zero_payload;		/* payloads all zero (fast, for huge scripts) */
	uint8_t l4[70000], ip[70000], link[70100];
};

/* gp_fill_fn writing random octets from the struct gp_rng in @userdata */
void gp_fill_rng(uint8_t *buf, uint32_t len, void *userdata);

struct gp_script *gp_script_new(const struct gp_options *o);
void gp_script_free(struct gp_script *s);
/* Writes the capture (--out) and the truth (--truth). */
bool gp_script_finish(struct gp_script *s, const struct gp_truth_cfg *cfg);

/* Conversations; the index is valid for the script's life. IPv6 addresses
 * are 2001:db8:NET::HOST. */
int gp_conv4(struct gp_script *s, const char *name, uint8_t proto, const uint8_t ini[4],
	     const uint8_t rsp[4], uint16_t sport, uint16_t dport);
int gp_conv6(struct gp_script *s, const char *name, uint8_t proto, uint16_t inet,
	     uint16_t ihost, uint16_t rnet, uint16_t rhost, uint16_t sport, uint16_t dport);
/* Tags (@tpid 0 = 0x8100, or 0x88a8 with an inner tag); tagged
 * conversations send nothing on non-Ethernet captures. */
void gp_set_vlan(struct gp_script *s, int ci, uint16_t vlan, uint16_t inner, uint16_t tpid);

/* Packets at script time @t (us). @dir 0 = initiator to responder. */
void gp_pkt(struct gp_script *s, int ci, int dir, uint64_t t, uint16_t flags, uint32_t payload);
/* ... captured with at most @caplen octets of IP (0 = whole) */
void gp_pkt_snap(struct gp_script *s, int ci, int dir, uint64_t t, uint16_t flags,
		 uint32_t payload, uint32_t caplen);
/*
 * One datagram of @payload octets cut into fragments of @fsize octets of
 * L4 data (a multiple of 8), written in the order @order (indexes, -1
 * terminated, repeats allowed for duplicates; NULL = in order), @gap_us
 * apart. Accounted once, at the last frame's time (every scenario
 * completes the datagram with its last frame), with the reassembled
 * length.
 */
void gp_frag(struct gp_script *s, int ci, int dir, uint64_t t, uint32_t payload,
	     uint32_t fsize, const int *order, uint64_t gap_us);
void gp_arp(struct gp_script *s, uint64_t t, bool reply, const uint8_t *spa, const uint8_t *tpa);
/* SYN, SYN-ACK, ACK from @t, @rtt apart; returns the last packet's time */
uint64_t gp_handshake(struct gp_script *s, int ci, uint64_t t, uint64_t rtt);
/* FIN from @first, FIN+ACK back, last ACK; returns the last packet's time */
uint64_t gp_close_fin(struct gp_script *s, int ci, int first, uint64_t t, uint64_t rtt);
void gp_ping(struct gp_script *s, int ci, uint64_t t, uint32_t payload, uint64_t rtt);
/* Low level: a frame as built by the caller, and the datagram it completes. */
void gp_add_frame(struct gp_script *s, int ci, uint64_t t, const uint8_t *data, uint32_t len,
		  uint32_t caplen);
void gp_add_event(struct gp_script *s, int ci, int dir, uint64_t t, uint32_t ip_len,
		  const struct gp_l4 *l4);

/* ---- scenarios ---- */
struct gp_options {
	const char *scenario;
	const char *out;
	const char *truth;
	uint64_t seed;
	uint64_t flows;
	uint64_t packets;
	int linktype;
	uint32_t snaplen;
	double idle_s;
	double active_s;
	double linger_s;
	uint64_t max_flows;	/* golden-evict: table bound, 0 = none */
};

int gp_scenario_golden(const struct gp_options *o);
int gp_scenario_random(const struct gp_options *o);
int gp_scenario_bench(const struct gp_options *o, bool concurrent);
