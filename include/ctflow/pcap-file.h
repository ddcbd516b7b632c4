/*
 * pcap/pcapng file source: reads a capture with libpcap and hands each
 * frame to a callback. Knows nothing about flows.
 */
#pragma once

#include <stdint.h>

#include <glib.h>
#include <pcap/pcap.h>

/* A frame's capture time in µs since the UNIX epoch. Damaged files carry
 * negative times: clamped to 0 rather than wrapped. */
static inline uint64_t ctf_pcap_ts_us(const struct pcap_pkthdr *h)
{
	if (h->ts.tv_sec < 0)
		return 0;
	return (uint64_t)h->ts.tv_sec * G_USEC_PER_SEC + (uint64_t)h->ts.tv_usec;
}

struct ctf_pcap_file;
typedef struct ctf_pcap_file ctf_pcap_file;

/* Opens @path ("-" = stdin). NULL with an error naming the file on failure. */
struct ctf_pcap_file *ctf_pcap_file_open(const char *path, GError **error);

int ctf_pcap_file_dlt(const struct ctf_pcap_file *pf);

/* Size of the file in bytes (0 when unknown, e.g. a pipe). */
uint64_t ctf_pcap_file_size(const struct ctf_pcap_file *pf);

/* Bytes consumed so far (for progress). */
uint64_t ctf_pcap_file_offset(const struct ctf_pcap_file *pf);

/**
 * ctf_pcap_file_read - hand up to @max frames (0 = all) to @handler
 *
 * @handler is libpcap's own callback type, called once per frame with
 * @user, the frame's header (ctf_pcap_ts_us() gives its time) and bytes
 * valid during the call only; the link type is ctf_pcap_file_dlt()'s.
 * One call per frame and no wrapper: this is the converter's hot path.
 *
 * Returns the number of frames delivered (0 at end of file), or -1 with
 * @error set when the file is corrupt or truncated mid-record; frames read
 * before the error have been delivered.
 */
int64_t ctf_pcap_file_read(struct ctf_pcap_file *pf, uint64_t max, pcap_handler handler,
			   u_char *user, GError **error);

void ctf_pcap_file_close(struct ctf_pcap_file *pf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_pcap_file, ctf_pcap_file_close)
