/*
 * Host name to addresses, for the rules that must know every address of
 * a collector (the entry filter, the notrack table).
 */
#pragma once

#include <stdint.h>

#include <glib.h>

#include "ctflow/packet.h"

struct ctf_host_addr {
	struct ctf_addr addr;
	uint8_t family;		/* 4 or 6 */
};

/* Every IPv4/IPv6 address of @host (a name or a literal), as a GArray of
 * struct ctf_host_addr; NULL with an error naming the host. */
GArray *ctf_resolve_host(const char *host, GError **error);
