/*
 * ICMP query pairs (include/ctflow/icmp.h).
 */
#include <stddef.h>

#include "ctflow/icmp.h"

static const struct {
	uint8_t proto, request, answer;
} query_pairs[] = {
	{ 1, 8, 0 },		/* echo */
	{ 1, 13, 14 },		/* timestamp */
	{ 1, 15, 16 },		/* information */
	{ 1, 17, 18 },		/* address mask */
	{ 58, 128, 129 },	/* echo */
	{ 58, 139, 140 },	/* node information */
};

bool ctf_icmp_query(uint8_t proto, uint8_t type, uint8_t *ret_request, uint8_t *ret_answer)
{
	for (size_t i = 0; i < sizeof(query_pairs) / sizeof(query_pairs[0]); i++) {
		if (query_pairs[i].proto != proto ||
		    (query_pairs[i].request != type && query_pairs[i].answer != type))
			continue;
		if (ret_request)
			*ret_request = query_pairs[i].request;
		if (ret_answer)
			*ret_answer = query_pairs[i].answer;
		return true;
	}
	return false;
}
