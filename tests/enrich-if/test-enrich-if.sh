#!/bin/bash
# Interface enrichment on a real multi-homed router:
#
#   client1 c0 10.81.1.2 fd00:81:1::2 -- r0 ROUTER r1 -- s0 10.81.2.2 fd00:81:2::2 server
#   client2 d0 10.81.3.2 fd00:81:3::2 -- r2 ROUTER         (masqueraded out of r1)
#
# if-check opens the enricher in the router namespace (four ways: samples
# and routes, samples only, routes only, samples on r0,r1 only) beside a
# conntrack listener, runs the traffic below (TCP, UDP, ICMP, both
# families, both clients, plus flows from and to the router itself) and
# prints ingress/egress for every conntrack entry. if-judge.py compares
# them with the router's own interfaces and addresses (ip -j) and the link
# table with `ip -j link`, after links were added, renamed and given
# aliases during the run. Skips (77) unless root.
#
# IF_EVERY (sampling 1 in N, default 8) and IF_FLOWS (TCP and UDP flows per
# client and family, default 30) change the load.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../root/lib.sh"

# ---- the traffic: run by if-check, inside its measurement -------------
if [[ ${1:-} == --traffic ]]; then
	c1=$2 c2=$3 r=$4 n=$5
	i=0
	for c in "$c1" "$c2"; do
		for dst in 10.81.2.2 fd00:81:2::2; do
			i=$((i + 1))
			ctft_in "$c" "$CTFT_PY" "$HERE/flows.py" --dst "$dst" --tcp "$n" --udp "$n" \
				--seed "$i" || ctft_fail "flows $c -> $dst"
			ctft_ping "$c" "$dst" 3
		done
	done
	ip -n "$r" link set lk0 name lk-renamed || ctft_fail "rename lk0"
	ip -n "$r" link set lk1 alias "spare port" || ctft_fail "alias lk1"
	ip -n "$r" link set r1 alias "uplink: server" || ctft_fail "alias r1"
	# the router's own flows: no ingress when it starts them, no egress
	# when they end at it
	ctft_in "$r" "$CTFT_PY" "$HERE/flows.py" --dst 10.81.2.2 --tcp 3 --udp 3 --seed 9 ||
		ctft_fail "flows router -> server"
	ctft_ping "$r" fd00:81:2::2 2
	ctft_ping "$c1" 10.81.1.1 2
	ctft_ping "$c2" fd00:81:3::1 2
	ctft_ping "$c1" 10.81.2.1 2	# the router's far address: local all the same
	# end every flow now (DESTROY for each) rather than after conntrack's
	# garbage collector got round to the expired ones
	sleep 0.3
	ctft_in "$r" conntrack -F 2>/dev/null || ctft_fail "conntrack -F in $r"
	exit 0
fi

ctft_require_root
: "${IF_CHECK:?set by meson}"
ctft_ns_new c1 client1
ctft_ns_new c2 client2
ctft_ns_new r router
ctft_ns_new s server
ctft_veth "$c1" c0 "$r" r0
ctft_veth "$r" r1 "$s" s0
ctft_veth "$c2" d0 "$r" r2
ctft_addr "$c1" c0 10.81.1.2/24 fd00:81:1::2/64
ctft_addr "$c2" d0 10.81.3.2/24 fd00:81:3::2/64
ctft_addr "$r" r0 10.81.1.1/24 fd00:81:1::1/64
ctft_addr "$r" r1 10.81.2.1/24 fd00:81:2::1/64
ctft_addr "$r" r2 10.81.3.1/24 fd00:81:3::1/64
ctft_addr "$s" s0 10.81.2.2/24 fd00:81:2::2/64
ip -n "$c1" route add default via 10.81.1.1 || ctft_fail "route in client1"
ip -n "$c1" -6 route add default via fd00:81:1::1 || ctft_fail "route6 in client1"
ip -n "$c2" route add default via 10.81.3.1 || ctft_fail "route in client2"
ip -n "$c2" -6 route add default via fd00:81:3::1 || ctft_fail "route6 in client2"
ip -n "$s" route add default via 10.81.2.1 || ctft_fail "route in server"
ip -n "$s" -6 route add default via fd00:81:2::1 || ctft_fail "route6 in server"
ctft_in "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ctft_in "$r" nft -f - <<-'NFT' || ctft_fail "nat table in $r"
table inet ctft_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "r1" ip saddr 10.81.3.0/24 masquerade
		oifname "r1" ip6 saddr fd00:81:3::/64 masquerade
	}
}
NFT
ctft_ct_enable "$r"
ctft_ct_sysctls "$r" 1
ctft_server "$s"
# a spare pair the traffic phase renames (lk0 -> lk-renamed) and gives an
# alias while it is down (lk1): cfg samples on lk0 too and must let go of it
ip -n "$r" link add lk0 type veth peer name lk1 || ctft_fail "veth lk0/lk1 in $r"
tmp=$(ctft_tmpdir)
# afterwards, routes must follow routing changes: 10.81.9.9 is unreachable,
# then routed out of r1, then out of r2
"$IF_CHECK" --netns "$r" --interfaces r0,r1,lk0 --every "${IF_EVERY:-8}" --timeout 240 \
	--probe 10.81.1.2,10.81.9.9 \
	--probe-step "ip -n $r route add 10.81.9.0/24 via 10.81.2.2" \
	--probe-step "ip -n $r route replace 10.81.9.0/24 via 10.81.3.2" -- \
	"$0" --traffic "$c1" "$c2" "$r" "${IF_FLOWS:-30}" >"$tmp/out" ||
	{ cat "$tmp/out" >&2; ctft_fail "if-check"; }
ip -n "$r" -s -j link show >"$tmp/links.json" || ctft_fail "ip link"
ip -n "$r" -j addr show >"$tmp/addrs.json" || ctft_fail "ip addr"
"$CTFT_PY" "$HERE/if-judge.py" --out "$tmp/out" --links "$tmp/links.json" \
	--addrs "$tmp/addrs.json" --unsampled r2 --min-flows 200 --probe-expect r0:-,r0:r1,r0:r2
