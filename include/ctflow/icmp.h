/*
 * ICMP and ICMPv6 queries: the messages conntrack tracks as one connection
 * with their answers, paired by identifier (RFC 792, RFC 950, RFC 4443,
 * RFC 4620). Decoding, the offline flow table, the uniflow split and the
 * interface sampler all follow this one list.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/**
 * ctf_icmp_query - is @type a query or an answer of @proto (1 ICMP, 58 ICMPv6)
 * @ret_request: the query's type (may be NULL)
 * @ret_answer: the answer's type (may be NULL)
 *
 * Returns true for both halves of a pair (echo request and echo reply, ...),
 * false for every other message (errors, other protocols).
 */
bool ctf_icmp_query(uint8_t proto, uint8_t type, uint8_t *ret_request, uint8_t *ret_answer);
