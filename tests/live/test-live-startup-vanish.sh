#!/bin/bash
# (c') Flows that predate ctflow and were created while conntrack events
# were off in the namespace (nf_conntrack_events=0; ctflow turns it on at
# start, as issue 3 asks, but entries created before carry no event
# extension), and that end while ctflow runs: no DESTROY comes, ctflow only
# sees them in dumps (the start-up dump, the active-timeout dumps, the
# final dump). (With events=2 this kernel gave such entries events anyway,
# so 0 is what produces the case here.) Issue 3:
# "flows it knew that are gone are exported with their last known
# counters". At the very least, then, each must be exported once with the
# counters conntrack had when ctflow adopted it (the start-up dump saw
# them) and at most the final ones.
#
# 45001 TCP (closed with FIN after ctflow started) and 45002 UDP (times
# out after ctflow started) in namespace a; two ctflow instances read a:
# the default active timeout (60 s: the next dump is the final one) and
# --active-timeout 1. Ground truth: `conntrack -L` just before ctflow
# starts (lower bound) and after the traffic ended, before the entries
# died (final counters). `conntrack -E`, started after the flows, must
# see no DESTROY for them (confirms the premise).
. "$(dirname "$0")/lib-live.sh"
live_require
LIVE_HARD_RC=99	# known bug (should_fail): only its checks may fail with 1

ctft_pair A B
ctft_ct_enable "$A"
ctft_ct_sysctls "$A" 5
ctft_in "$A" sysctl -qw net.netfilter.nf_conntrack_events=0
ctft_server "$B"
INO=$(live_ino "$A")
H=$T/hold

live_flow_bg "$A" tcp 10.70.0.2 45001 10 500 "" "$H-1"
live_flow "$A" udp 10.70.0.2 45002 4 200 || live_fail "udp flow"
live_wait 20 eval '[[ -e "$H"-1.ready ]]' || live_fail "flow 45001 did not start"
ctft_in "$A" conntrack -L -o extended,id >"$T/before.txt" 2>/dev/null
live_events "$A" "$T/events.txt"
live_ctflow_start "$T/ctflow.log" --netns "$A" -C "file:$T/v60.ipfix"
P1=$LIVE_PID
live_ctflow_start "$T/ctflow1.log" --netns "$A" --active-timeout 1 -C "file:$T/v1.ipfix"
P2=$LIVE_PID
grep -q 'nf_conntrack_events = 1' "$T/ctflow.log" || live_fail "ctflow did not turn events on"
sleep 1.2	# an interim dump of the second instance sees both
touch "$H-1"
sleep 0.5
ctft_in "$A" conntrack -L -o extended,id >"$T/final.txt" 2>/dev/null
[[ $(grep -c 'sport=4500[12] ' "$T/final.txt") == 2 ]] || live_fail "entries died too early: $(cat "$T/final.txt")"
live_wait_empty "$A" 40 || live_fail "table of a not empty after 40 s"
if grep -q 'DESTROY.*sport=4500[12] ' "$T/events.txt"; then
	echo "SKIP: the kernel delivered DESTROY for entries created with events off" >&2
	exit 77
fi
sleep 1.5	# the --active-timeout 1 instance dumps once more
LIVE_PID=$P2 live_ctflow_stop "$T/ctflow1.log"
LIVE_PID=$P1 live_ctflow_stop "$T/ctflow.log"

for v in v60 v1; do
	live_decode "$T/$v.ipfix" "$T/$v.jsonl"
	live_check vanish --records "$T/$v.jsonl" --lower "$T/before.txt" --upper "$T/final.txt" \
		--ino "$INO" --expect 6:45001 17:45002 --xfail counters
done
live_exit
