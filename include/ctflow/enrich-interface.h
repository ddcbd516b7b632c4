/*
 * Interface enrichment: which interfaces a conntrack flow crossed, and the
 * names of those interfaces.
 *
 * One enricher watches one network namespace (the router ctflow exports
 * for). It learns from three sources, all opened inside that namespace:
 *
 *  - samples: a libpcap capture on the `any` device (or on the configured
 *    interfaces) with the DLT_LINUX_SLL2 header, which carries the
 *    ifindex and the packet type (received or outgoing) of every frame.
 *    A kernel BPF filter keeps every TCP SYN and SYN-ACK and a
 *    deterministic 1-in-N share of the rest (see ctf_if_sample_filter());
 *  - routes: RTM_GETROUTE for flows no sample reached, cached per
 *    destination and flushed on every route, address, rule or link change;
 *  - links: the ifindex -> name/alias table, kept current from RTM_NEWLINK
 *    and RTM_DELLINK events.
 *
 * Threading: an enricher is single-threaded. Everything, lookups
 * included, runs on the thread that polls ctf_if_enricher_fd(); it never
 * touches the conntrack reader. Results are plain values (enrich.h) that
 * travel to other threads by copy.
 *
 * Truth: ctf_if_info describes the flow's original direction (the
 * initiator's packets): ingress = where they arrive, egress = where they
 * leave. A field nobody knows stays 0. Flows that start on this host have
 * no ingress interface and flows delivered to it no egress interface;
 * those are 0 too, with source CTF_IF_ROUTE ("the routing table says: no
 * interface"). Loopback traffic (both ends local) crosses `lo` both ways.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ctflow/ct-entry.h"
#include "ctflow/enrich.h"
#include "ctflow/packet.h"

#define CTF_IF_NAME_MAX 16		/* IFNAMSIZ, NUL included */
#define CTF_IF_ALIAS_MAX 256		/* IFALIASZ, NUL included */
#define CTF_IF_SAMPLE_EVERY_MAX 65536

struct ctf_if_config {
	const char *netns;		/* NULL: the current namespace; a name under
					 * /run/netns or a path such as /proc/PID/ns/net */
	const char *const *interfaces;	/* NULL-terminated names to sample on;
					 * NULL: every interface (`any`). Each must
					 * exist at open; one re-created later under
					 * the same name is followed */
	bool sampling;			/* capture samples (default on) */
	bool routing;			/* route lookups for what samples miss (on) */
	unsigned sample_every;		/* 1-in-N of non-SYN packets, rounded up to a
					 * power of two, at most
					 * CTF_IF_SAMPLE_EVERY_MAX; 0: SYN and
					 * SYN-ACK only (default 64) */
	unsigned snaplen;		/* bytes kept per frame, 64..65535 (128) */
	unsigned ring_timeout_ms;	/* TPACKET_V3 block timeout: how late a
					 * sample may reach the table (50) */
	size_t ring_bytes;		/* capture ring (4 MiB) */
	size_t max_samples;		/* sample table slots (65536, 64 B each) */
	size_t max_routes;		/* cached route answers (4096) */
	unsigned links_refresh_s;	/* re-read the link table this often (60);
					 * 0: events only. The kernel announces an
					 * alias change only on an interface that is
					 * up */
};

/* Defaults as documented above. */
void ctf_if_config_init(struct ctf_if_config *cfg);

/* One interface of the namespace: an IPFIX options record's worth. */
struct ctf_if_link {
	uint32_t ifindex;
	char name[CTF_IF_NAME_MAX];	/* interfaceName (IE 82) */
	char alias[CTF_IF_ALIAS_MAX];	/* interfaceDescription (IE 83), "" if none */
};

struct ctf_if_stats {
	uint64_t frames;		/* captured frames read */
	uint64_t frames_unusable;	/* not IP, truncated, no ports (later fragments) */
	uint64_t pcap_drops;		/* dropped by the kernel: ring full */
	uint64_t pcap_errors;		/* pcap_dispatch() failures (recovered) */
	uint64_t sample_evictions;	/* slots reused for a newer tuple */
	uint64_t lookups;
	uint64_t ingress_sampled, egress_sampled;	/* fields answered by samples */
	uint64_t ingress_routed, egress_routed;		/* ... by the routing table
							 * (a local end's 0 included) */
	uint64_t ingress_unknown, egress_unknown;	/* ... by nobody: left 0 */
	uint64_t route_queries;		/* RTM_GETROUTE sent (cache misses) */
	uint64_t route_cache_hits;
	uint64_t route_errors;		/* no or unreadable answer */
	uint64_t route_flushes;		/* cache emptied (change or full) */
	uint64_t netlink_events;	/* rtnetlink messages read */
	uint64_t netlink_overruns;	/* ENOBUFS: table re-read */
	uint64_t link_dumps;		/* link table reads (open, refresh, overrun) */
	uint64_t link_generation;	/* see ctf_if_enricher_links_generation() */
};

struct ctf_if_enricher;
typedef struct ctf_if_enricher ctf_if_enricher;

/**
 * ctf_if_enricher_new - open an enricher in @cfg->netns
 *
 * Enters the namespace (CAP_SYS_ADMIN unless it is the current one),
 * opens the rtnetlink sockets and, with sampling on, the capture
 * (CAP_NET_RAW), reads the link table, and leaves the namespace. Returns
 * NULL with CTF_ERROR_USAGE for an invalid configuration or an interface
 * that does not exist, and another CTF_ERROR code naming the namespace
 * and the missing capability when the kernel refuses.
 */
ctf_if_enricher *ctf_if_enricher_new(const struct ctf_if_config *cfg, GError **error);

/* Closes everything; accepts NULL. */
void ctf_if_enricher_free(ctf_if_enricher *ie);

/**
 * ctf_if_enricher_fd - one descriptor to poll for POLLIN
 *
 * An epoll descriptor over the capture, the rtnetlink event socket and
 * the link refresh timer; readable while any has something to do. Owned
 * by @ie.
 */
int ctf_if_enricher_fd(const ctf_if_enricher *ie);

/**
 * ctf_if_enricher_process - read queued samples and link/route events
 *
 * Never blocks, except for re-reading the link table (one RTM_GETLINK
 * dump) when the refresh timer expires or the kernel reported an event
 * overrun. Bounded per call: when more is queued the
 * fd stays readable. Returns the number of frames and events handled, or
 * a negative errno when the event socket failed (counted; the enricher
 * stays usable).
 */
int ctf_if_enricher_process(ctf_if_enricher *ie);

/**
 * ctf_if_enricher_lookup - interfaces of @e's original direction
 *
 * Samples first: a received packet of the original direction (as it
 * arrived, before DNAT) gives ingress, an outgoing one (as it left, after
 * SNAT) gives egress; failing those, a reply packet leaving gives ingress
 * and one arriving gives egress (routing assumed symmetric). Fields still
 * unknown come from the routing table: egress from the route to the
 * post-NAT destination, ingress from the route back to the source. Costs
 * at most two RTM_GETROUTE round trips (the kernel answers within the
 * send call) on a cache miss. Call it when the record is built (samples
 * need up to ring_timeout_ms to arrive), not on the conntrack reader.
 * Always fills @ret; unknown fields are 0.
 */
void ctf_if_enricher_lookup(ctf_if_enricher *ie, const struct ctf_ct_entry *e,
			    struct ctf_if_info *ret);

/**
 * ctf_if_enricher_links - the namespace's interfaces, sorted by ifindex
 * @ret_n: number of entries
 *
 * Valid until the next ctf_if_enricher_process() or _free(); copy the
 * plain structs to keep them.
 */
const struct ctf_if_link *ctf_if_enricher_links(const ctf_if_enricher *ie, size_t *ret_n);

/* NULL when @ifindex is not (or no longer) in the table; same validity. */
const struct ctf_if_link *ctf_if_enricher_link(const ctf_if_enricher *ie, uint32_t ifindex);

/**
 * ctf_if_enricher_links_generation - changes when the link table does
 *
 * Starts at 1 and grows by one whenever an interface appears, disappears,
 * is renamed or gets another alias (not on carrier or MTU changes): an
 * exporter re-sends its interface options records when the value differs
 * from the one it last sent.
 */
uint64_t ctf_if_enricher_links_generation(const ctf_if_enricher *ie);

/* The BPF expression the capture runs ("" without sampling). */
const char *ctf_if_enricher_filter(const ctf_if_enricher *ie);

void ctf_if_enricher_get_stats(ctf_if_enricher *ie, struct ctf_if_stats *ret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_if_enricher, ctf_if_enricher_free)

/* ---- Building blocks: pure, no sockets (tests, pcap files) ---------- */

/**
 * ctf_if_sample_filter - the libpcap filter expression for DLT_LINUX_SLL2
 * @sample_every: as in struct ctf_if_config (rounded up to a power of two)
 * @ifindexes, @n: restrict to these interfaces; n == 0: all
 *
 * Kept always: TCP SYN and SYN-ACK (IPv4, and IPv6 without extension
 * headers). Kept 1 in N, by fields NAT leaves alone so that the copy of a
 * forwarded packet received on one interface and the copy sent on the
 * other are kept together (one sample gives both interfaces):
 *   IPv4 UDP:   (first two payload bytes + IP ID + 1) mod N == 0: DNS
 *               ids, QUIC and RTP headers vary per packet; connected
 *               sockets count the IP ID up;
 *   IPv4 other: (IP ID + 1) mod N == 0: Linux counts the ID up per
 *               socket, so a TCP flow direction is sampled every N-th
 *               packet exactly; the +1 keeps ID-0 packets (unconnected
 *               DF senders) from being sampled all;
 *   IPv6 TCP:   (low 16 bits of seq + ack + 1) mod N == 0;
 *   IPv6 UDP:   (first two payload bytes + 1) mod N == 0;
 *   ICMPv6 echo: (sequence + 1) mod N == 0.
 * Not sampled: later fragments, IPv6 with extension headers and other
 * IPv6 protocols (the routing fallback covers them). Returns a string to
 * g_free().
 */
char *ctf_if_sample_filter(unsigned sample_every, const uint32_t *ifindexes, size_t n);

/* Direction of a captured frame relative to the interface. */
enum ctf_if_dir {
	CTF_IF_DIR_NONE = 0,		/* neither (looped multicast, kernel/user) */
	CTF_IF_DIR_IN,			/* received: PACKET_HOST, BROADCAST, MULTICAST,
					 * OTHERHOST */
	CTF_IF_DIR_OUT,			/* PACKET_OUTGOING */
};

struct ctf_if_samples;
typedef struct ctf_if_samples ctf_if_samples;

/* A table of @max_slots (rounded up to a power of two, at least 64): a
 * cache, full slots are reused for newer tuples. */
ctf_if_samples *ctf_if_samples_new(size_t max_slots);
void ctf_if_samples_free(ctf_if_samples *s);	/* accepts NULL */

/**
 * ctf_if_samples_add - learn from one decoded packet
 * @pkt: the packet as captured on @ifindex (its addresses and ports are
 *       the wire tuple: pre-DNAT when received, post-SNAT when sent)
 *
 * Ingress: the last interface the packet was received on wins (a frame
 * received on a bridge port and then on the bridge belongs to the
 * bridge). Egress: within 1 ms of the last outgoing copy on another
 * interface, the first wins (the bridge or VLAN device routing chose, not
 * the port below it). Returns 0, or -EINVAL for a packet no conntrack
 * entry has the tuple of (later fragments, ICMP errors) or a bad @dir.
 */
int ctf_if_samples_add(ctf_if_samples *s, const struct ctf_packet *pkt, uint32_t ifindex,
		       enum ctf_if_dir dir);

/**
 * ctf_if_samples_add_frame - parse a DLT_LINUX_SLL2 frame and learn from it
 *
 * Returns 0, -EPROTONOSUPPORT for another link type, -EINVAL for a frame
 * that does not decode to an IP packet with a transport tuple or whose
 * packet type gives no direction (PACKET_LOOPBACK, ifindex 0).
 */
int ctf_if_samples_add_frame(ctf_if_samples *s, int dlt, const uint8_t *data, uint32_t caplen,
			     uint64_t ts_us);

/**
 * ctf_if_samples_lookup - what samples know about @e (see
 * ctf_if_enricher_lookup() for the order)
 *
 * Sets the fields samples answer (source CTF_IF_SAMPLED) and leaves the
 * others as they were.
 */
void ctf_if_samples_lookup(const ctf_if_samples *s, const struct ctf_ct_entry *e,
			   struct ctf_if_info *ret);

/* Slots reused for another tuple since creation. */
uint64_t ctf_if_samples_evictions(const ctf_if_samples *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_if_samples, ctf_if_samples_free)
