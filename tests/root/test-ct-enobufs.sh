#!/bin/bash
# An 8 KiB receive buffer and a burst of 50,000 new UDP entries: the
# source must report ENOBUFS (and count it), stay usable, and a dump
# afterwards must return every entry still alive.
set -u
. "$(dirname "$0")/lib.sh"
ctft_require_root
: "${CT_SOURCE_CHECK:?set by meson}" "${CT_LOADGEN:?set by meson}"
ctft_ns_new n burst
ctft_ct_enable "$n"
# entries outlive the test, so the dump sees them all
ctft_in "$n" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=120
n_flows=50000
out=$("$CT_SOURCE_CHECK" --netns "$n" --burst --rcvbuf 8192 --expect-enobufs \
	--min-dump "$n_flows" -- "$CT_LOADGEN" --netns "$n" --count "$n_flows" --cpu 0)
rc=$?
echo "$out"
echo "# nft ct state new: $(ctft_ct_new_count "$n")"
exit $rc
