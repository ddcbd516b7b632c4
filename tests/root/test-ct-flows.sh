#!/bin/bash
# Two namespaces joined by a veth pair; TCP, UDP and ICMP over IPv4 and
# IPv6 from a to b. The source in a must see one NEW and one DESTROY per
# entry, with the tuples and final counters of conntrack -L.
set -u
. "$(dirname "$0")/lib.sh"

if [[ ${1:-} == --traffic ]]; then	# run by ct-source-check, inside its read loop
	a=$2 truth=$3
	ctft_udp "$a" 10.70.0.2 5 100
	ctft_truth "$a" "$truth"
	ctft_udp "$a" fd00:70::2 3 1200
	ctft_truth "$a" "$truth"
	ctft_tcp "$a" 10.70.0.2 4 1000
	ctft_truth "$a" "$truth"
	ctft_tcp "$a" fd00:70::2 2 3000
	ctft_truth "$a" "$truth"
	ctft_ping "$a" 10.70.0.2 3
	ctft_truth "$a" "$truth"
	ctft_ping "$a" fd00:70::2 2
	ctft_truth "$a" "$truth"
	exit 0
fi

ctft_require_root
: "${CT_SOURCE_CHECK:?set by meson}"
ctft_pair a b
ctft_ct_enable "$a"
ctft_ct_sysctls "$a" 4
ctft_server "$b"
tmp=$(ctft_tmpdir)
"$CT_SOURCE_CHECK" --netns "$a" --truth "$tmp/truth" --timeout 90 -- \
	"$0" --traffic "$a" "$tmp/truth"
