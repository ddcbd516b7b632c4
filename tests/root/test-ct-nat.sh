#!/bin/bash
# client -- router (masquerade) -- server. The source in the router must
# see every forwarded flow NATed: reply tuples towards the router's
# address, final counters equal to conntrack -L in the router.
set -u
. "$(dirname "$0")/lib.sh"

if [[ ${1:-} == --traffic ]]; then
	c=$2 r=$3 truth=$4
	ctft_udp "$c" 10.71.2.2 4 300
	ctft_truth "$r" "$truth"
	ctft_udp "$c" fd00:71:2::2 2 100
	ctft_truth "$r" "$truth"
	ctft_tcp "$c" 10.71.2.2 3 2000
	ctft_truth "$r" "$truth"
	ctft_tcp "$c" fd00:71:2::2 2 500
	ctft_truth "$r" "$truth"
	ctft_ping "$c" 10.71.2.2 2
	ctft_truth "$r" "$truth"
	ctft_ping "$c" fd00:71:2::2 2
	ctft_truth "$r" "$truth"
	exit 0
fi

ctft_require_root
: "${CT_SOURCE_CHECK:?set by meson}"
ctft_nat_router c r s
ctft_ct_enable "$r"
ctft_ct_sysctls "$r" 4
ctft_server "$s"
tmp=$(ctft_tmpdir)
"$CT_SOURCE_CHECK" --netns "$r" --truth "$tmp/truth" --expect-nat --timeout 90 -- \
	"$0" --traffic "$c" "$r" "$tmp/truth"
