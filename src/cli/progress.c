/*
 * A one-line progress bar on stderr: share of input read, packets/s and
 * open flows. Draws nothing unless enabled (the caller checks isatty).
 */
#include <stdio.h>

#include "cli.h"

struct ctf_progress {
	gboolean enabled;
	gboolean drawn;
	int64_t start_us;
	int64_t last_draw_us;
};

struct ctf_progress *ctf_progress_new(gboolean enabled)
{
	struct ctf_progress *p = g_new0(struct ctf_progress, 1);

	p->enabled = enabled;
	p->start_us = g_get_monotonic_time();
	return p;
}

void ctf_progress_update(struct ctf_progress *p, double fraction, uint64_t packets,
			 uint64_t flows)
{
	int64_t now = g_get_monotonic_time();
	double secs = (now - p->start_us) / 1e6;
	char bar[31];
	int fill;

	if (!p->enabled || now - p->last_draw_us < 200000)
		return;
	p->last_draw_us = now;
	fill = fraction < 0 ? 0 : (int)(fraction * 30 + 0.5);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	if (fraction >= 0)
		fprintf(stderr, "\r[%s] %3.0f%%", bar, fraction * 100);
	else
		fprintf(stderr, "\r[reading stdin]");
	fprintf(stderr, " %8.0f packets/s %10" G_GUINT64_FORMAT " flows open\033[K",
		secs > 0 ? packets / secs : 0.0, flows);
	fflush(stderr);
	p->drawn = TRUE;
}

void ctf_progress_free(struct ctf_progress *p)
{
	if (!p)
		return;
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	g_free(p);
}
