/*
 * getaddrinfo() into struct ctf_host_addr (see include/ctflow/resolve.h).
 */
#include <netdb.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ctflow/error.h"
#include "ctflow/resolve.h"

GArray *ctf_resolve_host(const char *host, GError **error)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	GArray *out;
	int r;

	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0) {
		g_set_error(error, CTF_ERROR, CTF_ERROR_USAGE, "host '%s': %s", host,
			    gai_strerror(r));
		return NULL;
	}
	out = g_array_new(FALSE, TRUE, sizeof(struct ctf_host_addr));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct ctf_host_addr a = { 0 };

		if (ai->ai_family == AF_INET) {
			a.family = 4;
			memcpy(a.addr.b, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			a.family = 6;
			memcpy(a.addr.b, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		g_array_append_val(out, a);
	}
	freeaddrinfo(res);
	return out;
}
