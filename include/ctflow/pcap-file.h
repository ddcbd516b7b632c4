/*
 * pcap/pcapng file source: reads a capture with libpcap and hands each
 * frame to a callback. Knows nothing about flows.
 */
#pragma once

#include <stdint.h>

#include <glib.h>

struct ctf_pcap_frame {
	uint64_t ts_us;
	const uint8_t *data;	/* valid during the callback only */
	uint32_t caplen;
	uint32_t wirelen;
	int dlt;
};

/* Return FALSE to stop reading. */
typedef gboolean (*ctf_pcap_frame_fn)(const struct ctf_pcap_frame *f, void *userdata);

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
 * ctf_pcap_file_read - read up to @max frames (0 = all)
 *
 * Returns the number of frames delivered (0 at end of file), or -1 with
 * @error set when the file is corrupt or truncated mid-record; frames read
 * before the error have been delivered.
 */
int64_t ctf_pcap_file_read(struct ctf_pcap_file *pf, uint64_t max,
			   ctf_pcap_frame_fn fn, void *userdata, GError **error);

void ctf_pcap_file_close(struct ctf_pcap_file *pf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctf_pcap_file, ctf_pcap_file_close)
