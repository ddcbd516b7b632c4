#!/bin/bash
# (c) Start-up dump: flows that exist before ctflow starts are adopted by
# its first dump and exported with conntrack's counters.
#
# Namespace a (conntrack active, acct/timestamps on) talks to b. Before
# ctflow starts:
#   44001 TCP, 44002 UDP, 44003 TCP: created while no conntrack listener
#     existed in a (nf_conntrack_events=2 gives such entries no event
#     delivery, ever); they stay alive and quiescent until SIGTERM.
#   44004 TCP: created while `conntrack -E` listened, so its DESTROY is
#     delivered; closed with FIN after ctflow started.
# Ground truth: `conntrack -L` before ctflow starts (they predate it),
# `conntrack -L` just before SIGTERM (final counters of the live ones) and
# the DESTROY of 44004. Expected: 44001-44003 reason 4 and 44004 reason 3,
# each with packet/octet sums equal to conntrack's, and nothing else.
# (Entries without event delivery that END while ctflow runs are
# test-live-startup-vanish.sh.)
. "$(dirname "$0")/lib-live.sh"
live_require

ctft_pair A B
ctft_ct_enable "$A"
ctft_ct_sysctls "$A" 3
ctft_in "$A" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=120 \
	net.netfilter.nf_conntrack_udp_timeout_stream=120
ctft_server "$B"
INO=$(live_ino "$A")
H=$T/hold

live_flow_bg "$A" tcp 10.70.0.2 44001 10 500 "" "$H-1"
live_flow_bg "$A" udp 10.70.0.2 44002 5 200 "" "$H-2"
live_flow_bg "$A" tcp fd00:70::2 44003 6 1500 "" "$H-3"
live_wait 20 eval '[[ $(ls "$H"-*.ready 2>/dev/null | wc -l) == 3 ]]' || live_fail "flows did not start"
live_events "$A" "$T/events.txt"
live_flow_bg "$A" tcp 10.70.0.2 44004 3 1000 "" "$H-4"
live_wait 20 eval '[[ -e "$H"-4.ready ]]' || live_fail "flow 44004 did not start"
ctft_in "$A" conntrack -L -o extended,id >"$T/before.txt" 2>/dev/null
[[ $(grep -c src= "$T/before.txt") == 4 ]] || live_fail "expected 4 entries before ctflow: $(cat "$T/before.txt")"

live_ctflow_start "$T/ctflow.log" --netns "$A" -C "file:$T/start.ipfix"
touch "$H-4"
live_wait_destroy "$A" "$T/events.txt" 30 'sport=44004 ' 1 ||
	live_fail "44004 did not end (no DESTROY within 30 s)"
sleep 0.5
ctft_in "$A" conntrack -L -o extended,id >"$T/snapshot.txt" 2>/dev/null
live_ctflow_stop "$T/ctflow.log"
touch "$H"-{1,2,3}
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
[[ $(live_stat "$T/ctflow.log" dumps) -ge 2 ]] || live_fail "expected a start-up and a final dump"

live_decode "$T/start.ipfix" "$T/start.jsonl"
live_check startup --records "$T/start.jsonl" --snapshot "$T/before.txt" "$T/snapshot.txt" \
	--events "$T/events.txt" --ino "$INO" --no-extra \
	--expect 6:44001:4 17:44002:4 6:44003:4 6:44004:3
live_exit
