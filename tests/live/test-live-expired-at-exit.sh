#!/bin/bash
# (e') SIGTERM while a flow has expired but the kernel's gc has not reaped
# it yet. The final dump meets the expired entry, the kernel kills it and
# sends its DESTROY (with the final counters) on the event socket; ctflow
# must still export the flow with conntrack's counters. Ground truth: the
# DESTROY seen by `conntrack -E`.
#
# The window is found, not assumed: a UDP flow with a 1 s timeout is made,
# and after 1.3 s `conntrack -C` (which counts without reaping) must still
# count it; otherwise the gc was first and the attempt is repeated (5 at
# most; skip if the gc always wins).
. "$(dirname "$0")/lib-live.sh"
live_require
LIVE_HARD_RC=99	# known bug (should_fail): only its checks may fail with 1

ctft_ns_new N n
ctft_ct_enable "$N"
ctft_ct_sysctls "$N" 1
ctft_server "$N"
INO=$(live_ino "$N")
live_events "$N" "$T/events.txt"
live_ctflow_start "$T/ctflow.log" --netns "$N" -C "file:$T/exit.ipfix"

caught=""
for sport in 43001 43002 43003 43004 43005; do
	live_flow "$N" udp 127.0.0.1 "$sport" 3 100 || live_fail "udp flow"
	sleep 1.3
	if [[ $(ctft_in "$N" conntrack -C) == 1 ]]; then
		caught=$sport
		break
	fi
	live_log "attempt $sport: gc reaped the entry first; again"
	live_wait_empty "$N" 10
done
[[ -n $caught ]] || { echo "SKIP: the gc always reaped before SIGTERM" >&2; exit 77; }
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
live_wait 5 eval "grep -q 'DESTROY.*sport=$caught' '$T/events.txt'" ||
	live_fail "no DESTROY for the expired flow (ground truth)"

live_decode "$T/exit.ipfix" "$T/exit.jsonl"
live_check expired --records "$T/exit.jsonl" --events "$T/events.txt" --ino "$INO" \
	--expect "17:$caught:1,4" --xfail counters
live_exit
