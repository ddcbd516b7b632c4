/*
 * Export: flow records out to IPFIX collectors and human-readable views.
 *
 * One ctf_exporter fans every pushed record out to all of its outputs:
 * IPFIX collectors given as URLs (udp://HOST:PORT, tcp://HOST:PORT,
 * file:PATH, "-" for stdout) and text/JSON views. libfixbuf encodes; the
 * transports are ctflow's own so that templates are re-sent on every new
 * TCP connection and on a timer over UDP, a dead TCP collector is backed
 * off with records queued (bounded), and every record that cannot be
 * delivered is counted and reported in RFC 7011 Exporting Process
 * Reliability Statistics. Interface names, when the caller knows them,
 * go to every IPFIX collector as options records and into the views.
 *
 * Single-threaded: one thread owns an exporter. Pushing never blocks for
 * longer than a UDP pacing delay, a TCP send timeout (5 s) or, for the
 * first record to a TCP collector, its connect timeout (3 s).
 * docs/export.md describes the transports, docs/information-elements.md
 * the templates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

#include "ctflow/record.h"

/* RFC 5612 documentation PEN: the default until an operator sets their own */
#define CTF_DEFAULT_PEN 32473

enum ctf_view_format {
	CTF_VIEW_TEXT,
	CTF_VIEW_JSON,
};

struct ctf_export_config {
	uint32_t odid;			/* observation domain id (default 0) */
	uint32_t pen;			/* PEN of ctflow's enterprise elements */
	bool uniflow;			/* two uniflow records instead of one biflow */
	bool live;			/* templates carry the enterprise zone/mark/netns
					 * fields; NAT templates are chosen per record */
	unsigned template_refresh_s;	/* UDP: templates + options every N s (default 60) */
	unsigned reconnect_min_s;	/* TCP backoff start (default 60, RFC 7011 10.4.4) */
	unsigned reconnect_max_s;	/* TCP backoff cap (default 600) */
	size_t queue_max;		/* records held per collector while it is down */
	unsigned udp_rate;		/* UDP messages/s per collector, 0 = unpaced
					 * (default 4000; a local nfcapd 1.7.1 lost
					 * records above ~8000, see docs/export.md) */
	unsigned udp_mtu;		/* largest UDP message, 512..65000 (default
					 * 1420, libfixbuf's own UDP limit) */
	unsigned flush_ms;		/* a partial message leaves within this (default 1000) */
	unsigned shutdown_timeout_s;	/* ctf_exporter_finish() waits this long for a collector */
};

/* Interface names: ctf_exporter_set_interfaces() */
#define CTF_EXPORT_IF_NAME_SIZE 16	/* IFNAMSIZ, NUL included */
#define CTF_EXPORT_IF_DESCR_SIZE 256	/* IFALIASZ, NUL included */
#define CTF_EXPORT_MAX_INTERFACES 16384

/* One interface: an ifindex with its name and description (the Linux
 * interface alias, IF-MIB ifAlias). NUL-terminated UTF-8; "" = none. */
struct ctf_if_name {
	uint32_t ifindex;
	char name[CTF_EXPORT_IF_NAME_SIZE];		/* interfaceName (82) */
	char description[CTF_EXPORT_IF_DESCR_SIZE];	/* interfaceDescription (83) */
};

/* Network namespace names: ctf_exporter_set_netns() */
#define CTF_EXPORT_NETNS_NAME_SIZE 256	/* NAME_MAX + 1: a file under /run/netns */
#define CTF_EXPORT_CONTAINER_ID_SIZE 65	/* 64 hex digits, NUL included */
#define CTF_EXPORT_MAX_NETNS 16384

/* One network namespace: its inode (the records' netnsInode) with what is
 * known of it. NUL-terminated UTF-8; "" = not known. */
struct ctf_netns_name {
	uint32_t netns;						/* netnsInode (PEN/3) */
	char name[CTF_EXPORT_NETNS_NAME_SIZE];			/* netnsName (PEN/11) */
	char container_id[CTF_EXPORT_CONTAINER_ID_SIZE];	/* containerId (PEN/7) */
};

/* Per-output counters; all monotonic except queued. */
struct ctf_export_stats {
	uint64_t records_in;		/* records handed to this output */
	uint64_t records_sent;		/* in messages written to the transport */
	uint64_t records_dropped;	/* not sent: queue bound, lost connection, shutdown */
	uint64_t records_queued;	/* waiting for the collector now */
	uint64_t messages;		/* IPFIX messages written */
	uint64_t bytes;			/* octets written */
	uint64_t reconnects;		/* TCP connections established after the first */
	uint64_t send_errors;		/* transport errors seen */
};

struct ctf_exporter;
typedef struct ctf_exporter ctf_exporter;

/* Fill @cfg with the documented defaults. */
void ctf_export_config_init(struct ctf_export_config *cfg);

/**
 * ctf_exporter_new - create an exporter with no outputs
 *
 * Returns NULL and sets @error on a bad configuration (CTF_ERROR_USAGE).
 */
struct ctf_exporter *ctf_exporter_new(const struct ctf_export_config *cfg,
				      GError **error);

/**
 * ctf_exporter_add_url - add an IPFIX output
 * @url: udp://HOST:PORT, tcp://HOST:PORT (IPv6 as [ADDR]:PORT), file:PATH,
 *       or "-" (stdout, refused on a terminal)
 *
 * Name resolution happens here; connecting happens lazily. Returns FALSE
 * with CTF_ERROR_USAGE for a malformed URL or unknown scheme.
 */
gboolean ctf_exporter_add_url(struct ctf_exporter *ex, const char *url,
			      GError **error);

/* Add a one-record-per-line view writing to @fp (not owned, not closed). */
void ctf_exporter_add_view(struct ctf_exporter *ex, enum ctf_view_format fmt,
			   FILE *fp);

/* Hand one record to every output. Copies @rec. */
void ctf_exporter_push(struct ctf_exporter *ex, const struct ctf_record *rec);

/**
 * ctf_exporter_set_interfaces - the interface table of the exporting host
 * @names: @n entries; copied. Entries with ifindex 0 are ignored; for a
 *         repeated ifindex the last entry wins; bytes that are not UTF-8
 *         are sent as '?'.
 *
 * Every IPFIX output sends one interface options record per interface
 * (scope ingressInterface, interfaceName, interfaceDescription) at once
 * when its session is up, and again at the start of every session (a
 * file, a TCP connection: after every reconnect) and with every UDP
 * template refresh. The views print the names beside the ifindexes.
 * Nothing is sent when the table equals the current one (order aside),
 * so calling this on every link event is cheap. Returns FALSE with
 * CTF_ERROR_USAGE when @n exceeds CTF_EXPORT_MAX_INTERFACES; the table
 * is then unchanged.
 */
gboolean ctf_exporter_set_interfaces(struct ctf_exporter *ex,
				     const struct ctf_if_name *names, size_t n,
				     GError **error);

/**
 * ctf_exporter_set_netns - the names of the network namespaces read
 * @names: @n entries; copied. Entries with netns 0 are ignored; for a
 *         repeated netns the last entry wins; bytes that are not UTF-8
 *         are sent as '?'.
 *
 * Exactly as ctf_exporter_set_interfaces(), for the namespace options
 * records (scope netnsInode, netnsName, containerId; live sessions only):
 * sent at once when the table changes, at the start of every session and
 * with every UDP template refresh; nothing when the table is unchanged.
 * The views print the name beside netnsInode. Returns FALSE with
 * CTF_ERROR_USAGE when @n exceeds CTF_EXPORT_MAX_NETNS; the table is then
 * unchanged.
 */
gboolean ctf_exporter_set_netns(struct ctf_exporter *ex, const struct ctf_netns_name *names,
				size_t n, GError **error);

/* Timers: flush partial messages, refresh UDP templates, reconnect TCP.
 * Call at least every flush_ms/2; cheap when nothing is due. */
void ctf_exporter_tick(struct ctf_exporter *ex);

/**
 * ctf_exporter_finish - flush everything and send final statistics
 *
 * Waits up to shutdown_timeout_s for collectors that are down (one
 * immediate attempt, then the backoff schedule) and for TCP collectors to
 * acknowledge what was sent; records still undelivered then are counted
 * as dropped. Returns FALSE (with a message naming the outputs) when any
 * output dropped records or failed to write. Call once; push nothing after.
 */
gboolean ctf_exporter_finish(struct ctf_exporter *ex, GError **error);

size_t ctf_exporter_n_outputs(const struct ctf_exporter *ex);

/* Name (the URL or "text view") and counters of output @i. */
const char *ctf_exporter_output_name(const struct ctf_exporter *ex, size_t i);
void ctf_exporter_output_stats(const struct ctf_exporter *ex, size_t i,
			       struct ctf_export_stats *ret_stats);

/* Frees; does not flush (call ctf_exporter_finish() first). NULL ok. */
void ctf_exporter_free(struct ctf_exporter *ex);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_exporter, ctf_exporter_free)
