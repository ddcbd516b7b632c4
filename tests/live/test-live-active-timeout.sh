#!/bin/bash
# (d) Active timeout: long flows with traffic over ~5 s and
# --active-timeout 1 get several interim records (flowEndReason 2) under
# one flowId, whose deltas plus the final record's add up to conntrack's
# final counters (the DESTROY seen by `conntrack -E`); records follow each
# other in time without overlap; the final record has reason 3 (TCP closed
# with FIN) or 1 (UDP timed out).
. "$(dirname "$0")/lib-live.sh"
live_require

ctft_pair A B
ctft_ct_enable "$A"
ctft_ct_sysctls "$A" 2
ctft_server "$B"
INO=$(live_ino "$A")
live_events "$A" "$T/events.txt"
live_ctflow_start "$T/ctflow.log" --netns "$A" --active-timeout 1 -C "file:$T/at.ipfix"

live_flow_bg "$A" tcp 10.70.0.2 46001 20 700 0.25
live_flow_bg "$A" udp 10.70.0.2 46002 20 300 0.25
live_flow_bg "$A" tcp fd00:70::2 46003 10 5000 0.5
live_flow "$A" udp fd00:70::2 46004 25 100 0.2 || live_fail "udp flow"
live_wait_destroy "$A" "$T/events.txt" 60 'sport=4600[1-4] ' 4 ||
	live_fail "not every flow ended within 60 s: $(grep -c DESTROY "$T/events.txt") DESTROY events"
sleep 0.5
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"

live_decode "$T/at.ipfix" "$T/at.jsonl"
live_check active --records "$T/at.jsonl" --events "$T/events.txt" --ino "$INO" --no-extra \
	--expect 6:46001:3:3 17:46002:1:3 6:46003:3:3 17:46004:1:3
live_exit
