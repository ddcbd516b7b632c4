/* STUB: replaced by the decode module */
#include "ctflow/decode.h"
bool ctf_decode_linktype_supported(int dlt) { return false; }
enum ctf_decode_status ctf_decode_packet(int dlt, const uint8_t *data, uint32_t caplen, uint64_t ts_us, struct ctf_packet *ret_pkt)
{ return CTF_DECODE_LINK_UNSUPPORTED; }
const char *ctf_decode_status_name(enum ctf_decode_status st) { return "stub"; }
