/*
 * pcap/pcapng file source on libpcap. Owns the pcap_t; reports open and
 * read failures with the file name; knows nothing about packets' contents.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>

#include "ctflow/error.h"
#include "ctflow/pcap-file.h"

struct ctf_pcap_file {
	pcap_t *pcap;
	char *path;
	uint64_t size;
	int dlt;
};

struct ctf_pcap_file *ctf_pcap_file_open(const char *path, GError **error)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct ctf_pcap_file *pf;
	struct stat st;
	pcap_t *p;

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (!p) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT, "%s: cannot read capture: %s",
			    path, errbuf[0] ? errbuf : "unknown libpcap error");
		return NULL;
	}
	pf = g_new0(struct ctf_pcap_file, 1);
	pf->pcap = p;
	pf->path = g_strdup(path);
	pf->dlt = pcap_datalink(p);
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		pf->size = (uint64_t)st.st_size;
	return pf;
}

int ctf_pcap_file_dlt(const struct ctf_pcap_file *pf)
{
	return pf->dlt;
}

uint64_t ctf_pcap_file_size(const struct ctf_pcap_file *pf)
{
	return pf->size;
}

uint64_t ctf_pcap_file_offset(const struct ctf_pcap_file *pf)
{
	FILE *fp = pcap_file(pf->pcap);
	long off;

	if (!fp || pf->size == 0)
		return 0;
	off = ftell(fp);
	return off > 0 ? (uint64_t)off : 0;
}

int64_t ctf_pcap_file_read(struct ctf_pcap_file *pf, uint64_t max,
			   ctf_pcap_frame_fn fn, void *userdata, GError **error)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int64_t n = 0;
	int r;

	while (max == 0 || (uint64_t)n < max) {
		struct ctf_pcap_frame f;

		r = pcap_next_ex(pf->pcap, &hdr, &data);
		if (r == PCAP_ERROR_BREAK)	/* end of file */
			break;
		if (r != 1) {
			g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT,
				    "%s: stopped reading after %" G_GINT64_FORMAT " more packets: %s",
				    pf->path, n, pcap_geterr(pf->pcap));
			return -1;
		}
		/* Damaged files carry negative times: clamp rather than wrap. */
		f.ts_us = hdr->ts.tv_sec < 0 ? 0 :
			  (uint64_t)hdr->ts.tv_sec * G_USEC_PER_SEC + (uint64_t)hdr->ts.tv_usec;
		f.data = data;
		f.caplen = hdr->caplen;
		f.wirelen = hdr->len;
		f.dlt = pf->dlt;
		n++;
		if (!fn(&f, userdata))
			break;
	}
	return n;
}

void ctf_pcap_file_close(struct ctf_pcap_file *pf)
{
	if (!pf)
		return;
	pcap_close(pf->pcap);
	g_free(pf->path);
	g_free(pf);
}
