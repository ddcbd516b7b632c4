#!/bin/bash
# Reliable delivery (NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS) with the
# same 8 KiB buffer and 50,000-entry burst as test-ct-enobufs.sh.
#
# What Linux 6.x does, and this test asserts: no overrun is reported and
# every DESTROY arrives (the kernel keeps an entry until its DESTROY is
# delivered, retrying; the table drains slowly meanwhile). NEW events that
# do not fit are still dropped, silently: printed, not asserted, so
# ctflow must accept a DESTROY for an entry it never saw.
set -u
. "$(dirname "$0")/lib.sh"
ctft_require_root
: "${CT_SOURCE_CHECK:?set by meson}" "${CT_LOADGEN:?set by meson}"
ctft_ns_new n reliable
ctft_ct_enable "$n"
ctft_in "$n" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2
n_flows=50000
out=$("$CT_SOURCE_CHECK" --netns "$n" --burst --rcvbuf 8192 --reliable \
	--expect-no-enobufs --expect-destroy "$n_flows" --timeout 150 -- \
	"$CT_LOADGEN" --netns "$n" --count "$n_flows" --cpu 0)
rc=$?
echo "$out"
echo "# nft ct state new: $(ctft_ct_new_count "$n"); NEW events received:" \
	"$(sed -n 's/.* new=\([0-9]*\).*/\1/p' <<<"$out")"
exit $rc
