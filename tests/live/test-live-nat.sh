#!/bin/bash
# (a) NAT end to end: client -- router (forwarding, masquerade) -- server.
# ctflow reads the router's conntrack (--netns) with --active-timeout 1 and
# exports to an IPFIX file and to a local nfcapd over UDP at once; a second
# ctflow (default active timeout: one record per flow) to another file. Real TCP (several
# connections of known sizes, closed cleanly), UDP (request/response) and
# ICMP echo, IPv4 and IPv6; TCP/UDP source ports are forced into
# 20000-29999 so the NAPT port always differs from the client's.
#
# Ground truth: `conntrack -L -o extended,id` in the router once the
# traffic has ended (every echo answered, every connection closed), while
# the entries still live (8 s timeouts), completed by the DESTROY events of
# `conntrack -E` (the kernel's final counters). Both must agree: nothing
# moves after the traffic. Every entry must appear under flowId
# (netns inode << 32 | conntrack id) with packet/octet sums in both
# directions equal to conntrack's, postNAT source = the reply tuple's
# destination (router address, NAPT port), natEvent 4 on the first and 5
# on the last record of NATed IPv4 flows (a flow's only record: 5),
# flowEndReason 3 for TCP closed
# with FIN and 1 for UDP/ICMP that timed out. nfdump (fed over UDP) must
# show the same sums and X-late source per IPv4 5-tuple.
. "$(dirname "$0")/lib-live.sh"
live_require
command -v nfcapd >/dev/null && command -v nfdump >/dev/null ||
	{ echo "SKIP: nfcapd/nfdump not installed" >&2; exit 77; }


ctft_nat_router C R S
ctft_in "$R" nft -f - <<'EOF' || live_fail "nat rules"
flush chain inet ctft_nat post
table inet ctft_nat {
	chain post {
		oifname "r1" meta l4proto { tcp, udp } masquerade to :20000-29999
		oifname "r1" masquerade
	}
}
EOF
ctft_ct_sysctls "$R" 8
ctft_server "$S"
INO=$(live_ino "$R")
PORT=$(live_free_udp_port)
live_nfcapd "$T/nf" "$PORT"
live_events "$R" "$T/events.txt"

live_ctflow_start "$T/ctflow.log" --netns "$R" --active-timeout 1 \
	-C "file:$T/nat.ipfix" -C "udp://127.0.0.1:$PORT"
P1=$LIVE_PID
# a second reader with the default active timeout: one record per flow
live_ctflow_start "$T/ctflow2.log" --netns "$R" -C "file:$T/nat2.ipfix"
P2=$LIVE_PID

# Traffic, all at once; the long ones span ~3 s so that active timeouts
# give them interim records (natEvent 4 first, 5 last).
live_flow_bg "$C" tcp 10.71.2.2 0 1 10
live_flow_bg "$C" tcp 10.71.2.2 0 5 1000
live_flow_bg "$C" tcp 10.71.2.2 0 20 100
live_flow_bg "$C" tcp 10.71.2.2 0 3 20000
live_flow_bg "$C" tcp 10.71.2.2 0 12 300 0.25
live_flow_bg "$C" udp 10.71.2.2 0 1 50
live_flow_bg "$C" udp 10.71.2.2 0 5 500
live_flow_bg "$C" udp 10.71.2.2 0 12 100 0.25
live_flow_bg "$C" tcp fd00:71:2::2 0 4 700
live_flow_bg "$C" udp fd00:71:2::2 0 3 80
ctft_ping "$C" 10.71.2.2 3
ctft_ping "$C" fd00:71:2::2 2
for p in "${CTFT_PIDS[@]}"; do
	[[ $p == "$P1" || $p == "$P2" || $p == "$LIVE_NF_PID" || $p == "$LIVE_EV_PID" ]] && continue
	# flowgen processes end by themselves (bounded); the echo server stays
	ps -o args= -p "$p" 2>/dev/null | grep -q flowgen.py || continue
	wait "$p" || live_fail "a traffic flow failed"
done
sleep 0.5
ctft_in "$R" conntrack -L -o extended,id >"$T/snapshot.txt" 2>/dev/null
live_log "router table after the traffic: $(grep -c src= "$T/snapshot.txt") entries"

# Let every entry time out: DESTROY (final counters) for all of them.
live_wait_empty "$R" 45 || live_fail "router table not empty after 45 s"
live_wait 10 eval '[[ $(live_count_destroy "$T/events.txt") -ge $(grep -c src= "$T/snapshot.txt") ]]' ||
	live_fail "conntrack -E saw fewer DESTROY events than entries"
sleep 0.5
LIVE_PID=$P2 live_ctflow_stop "$T/ctflow2.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run (second) exited $LIVE_RC after SIGTERM"
LIVE_PID=$P1 live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC after SIGTERM"
live_nfcapd_stop "$T/nf"

live_decode "$T/nat.ipfix" "$T/nat.jsonl"
live_check nat --records "$T/nat.jsonl" --snapshot "$T/snapshot.txt" --events "$T/events.txt" \
	--ino "$INO" --nat-addr 10.71.2.1 --min-tcp 5 --min-udp 3 --min-icmp 1
live_decode "$T/nat2.ipfix" "$T/nat2.jsonl"
live_check nat --records "$T/nat2.jsonl" --snapshot "$T/snapshot.txt" --events "$T/events.txt" \
	--ino "$INO" --nat-addr 10.71.2.1 --min-tcp 5 --min-udp 3 --min-icmp 1

TZ=UTC nfdump -R "$T/nf" -q -N -o 'fmt:%pr;%sa;%sp;%da;%dp;%pkt;%byt;%opkt;%obyt;%xsa;%xsp' \
	>"$T/nfdump.txt" 2>"$T/nfdump.log" || live_fail "nfdump failed: $(cat "$T/nfdump.log")"
live_check nfdump --nfdump "$T/nfdump.txt" --snapshot "$T/snapshot.txt" --events "$T/events.txt"
live_exit
