/*
 * pcap/pcapng file source on libpcap. Owns the pcap_t; reports open and
 * read failures with the file name; knows nothing about packets' contents.
 *
 * Reading is most of what a conversion costs, so files are opened with a
 * large stdio buffer (libpcap reads each record with two fread() calls;
 * the default 4 KiB buffer means a read() system call every ~30 packets)
 * and delivered with pcap_dispatch(), straight to the caller's callback.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>

#include "ctflow/error.h"
#include "ctflow/pcap-file.h"

#define READ_BUFFER (128 * 1024)

struct ctf_pcap_file {
	pcap_t *pcap;
	char *path;
	char *buffer;		/* the stream's; freed after pcap_close() */
	uint64_t size;
	int dlt;
};

/* A regular file with a large buffer (*@ret_buffer, which must outlive
 * the stream); stdin ("-") as libpcap opens it. */
static pcap_t *open_capture(const char *path, char **ret_buffer, char *errbuf)
{
	g_autofree char *buffer = NULL;
	FILE *fp;
	pcap_t *p;

	if (strcmp(path, "-") == 0)
		return pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
							       errbuf);
	fp = fopen(path, "rb");
	if (!fp) {
		/* the form libpcap's own open uses */
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s", path, g_strerror(errno));
		return NULL;
	}
	/* before any read; glibc ignores the size unless given the buffer.
	 * Only a speed-up: on failure the default buffer is used. */
	buffer = g_malloc(READ_BUFFER);
	if (setvbuf(fp, buffer, _IOFBF, READ_BUFFER) != 0)
		g_clear_pointer(&buffer, g_free);
	/* only this thread reads it: no stdio lock around each fread() */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (!p) {
		fclose(fp);	/* pcap_close() closes it otherwise */
		return NULL;
	}
	*ret_buffer = g_steal_pointer(&buffer);
	return p;
}

struct ctf_pcap_file *ctf_pcap_file_open(const char *path, GError **error)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct ctf_pcap_file *pf;
	char *buffer = NULL;
	struct stat st;
	pcap_t *p;

	p = open_capture(path, &buffer, errbuf);
	if (!p) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT, "%s: cannot read capture: %s",
			    path, errbuf[0] ? errbuf : "unknown libpcap error");
		return NULL;
	}
	pf = g_new0(struct ctf_pcap_file, 1);
	pf->pcap = p;
	pf->buffer = buffer;
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

/* libpcap does not count the frames of the call that failed: where the
 * damage is, is told by the offset (unknown on a pipe). */
static void read_error(struct ctf_pcap_file *pf, GError **error)
{
	uint64_t off = ctf_pcap_file_offset(pf);

	if (off > 0)
		g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT,
			    "%s: stopped reading at byte %" G_GUINT64_FORMAT ": %s", pf->path, off,
			    pcap_geterr(pf->pcap));
	else
		g_set_error(error, CTF_ERROR, CTF_ERROR_FORMAT, "%s: stopped reading: %s",
			    pf->path, pcap_geterr(pf->pcap));
}

int64_t ctf_pcap_file_read(struct ctf_pcap_file *pf, uint64_t max, pcap_handler handler,
			   u_char *user, GError **error)
{
	int64_t n = 0;

	while (max == 0 || (uint64_t)n < max) {
		/* on a file, one call reads up to the count (-1: to the end) */
		int cnt = max == 0 ? -1 : (int)MIN(max - (uint64_t)n, (uint64_t)INT_MAX);
		int r = pcap_dispatch(pf->pcap, cnt, handler, user);

		if (r == 0)	/* end of file */
			break;
		if (r < 0) {
			read_error(pf, error);
			return -1;
		}
		n += r;
	}
	return n;
}

void ctf_pcap_file_close(struct ctf_pcap_file *pf)
{
	if (!pf)
		return;
	pcap_close(pf->pcap);
	g_free(pf->buffer);
	g_free(pf->path);
	g_free(pf);
}
