/*
 * Where the live engine hands its output: records, and the entries of
 * new flows (so that enrichment can look their owner up at once, before a
 * short-lived program exits). Implemented by the export thread (records
 * only) and by the enrichment thread (both, forwarding to export).
 * Called from the engine thread only; none of the calls may block.
 */
#pragma once

#include <stdint.h>

#include "ctflow/ct-entry.h"
#include "ctflow/record.h"

struct ctf_record_sink {
	void *self;
	/* Copy @rec and pass it on. */
	void (*push)(void *self, const struct ctf_record *rec);
	/* A flow began (NEW event, or adopted by a dump); may be NULL. */
	void (*flow_new)(void *self, uint32_t netns, const struct ctf_ct_entry *e);
	/* Hand over what was pushed since the last commit. */
	void (*commit)(void *self);
};
