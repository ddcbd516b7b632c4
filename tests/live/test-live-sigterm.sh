#!/bin/bash
# (e) SIGTERM flush. Two namespaces joined by a veth: ctflow reads "a",
# where no rule uses conntrack, so ctflow itself must turn on acct and
# timestamps and add its activation table. Flows from a to b are left
# alive and quiescent (TCP connections held open, a UDP flow and an ICMP
# echo flow within their timeouts), one of them long enough for interim
# records. Two ctflow instances read a at once: one with
# --active-timeout 1 (interim records, then a reason-4 record with the
# remaining deltas) and one with the default 60 s (a single reason-4
# record carrying everything). Ground truth: `conntrack -L` in a just
# before SIGTERM. Every flow must be exported by both with flowEndReason 4
# last and counts that add up to conntrack's at that moment; both exit 0;
# the table inet ctflow_activate is gone afterwards (and had been there),
# also when SIGTERM comes while ctflow is still starting.
. "$(dirname "$0")/lib-live.sh"
live_require

ctft_pair A B
ctft_server "$B"
INO=$(live_ino "$A")
if ctft_in "$A" nft list tables | grep -q .; then live_fail "namespace a has rules already"; fi

live_ctflow_start "$T/ctflow.log" --netns "$A" --active-timeout 1 -C "file:$T/term.ipfix"
P1=$LIVE_PID
ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1 ||
	live_fail "conntrack was idle in $A but ctflow added no table inet ctflow_activate"
[[ $(ctft_in "$A" sysctl -n net.netfilter.nf_conntrack_acct) == 1 &&
   $(ctft_in "$A" sysctl -n net.netfilter.nf_conntrack_timestamp) == 1 ]] ||
	live_fail "ctflow did not turn on nf_conntrack_acct/timestamp in $A"
live_ctflow_start "$T/ctflow2.log" --netns "$A" -C "file:$T/term2.ipfix"
P2=$LIVE_PID

H=$T/hold
live_flow_bg "$A" tcp 10.70.0.2 41001 10 500 "" "$H-1"
live_flow_bg "$A" tcp 10.70.0.2 41002 3 20000 "" "$H-2"
live_flow_bg "$A" udp 10.70.0.2 41003 5 200 "" "$H-3"
live_flow_bg "$A" tcp 10.70.0.2 41004 8 100 0.3 "$H-4"	# ~2.4 s: interim records first
live_flow_bg "$A" tcp fd00:70::2 41005 4 300 "" "$H-5"
ctft_ping "$A" 10.70.0.2 3
live_wait 30 eval '[[ $(ls "$H"-*.ready 2>/dev/null | wc -l) == 5 ]]' ||
	live_fail "flows did not reach their hold point"
ctft_in "$A" conntrack -L -o extended,id >"$T/snapshot.txt" 2>/dev/null
live_log "table of a before SIGTERM: $(grep -c src= "$T/snapshot.txt") entries"

LIVE_PID=$P2 live_ctflow_stop "$T/ctflow2.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run (default timeout) exited $LIVE_RC after SIGTERM, expected 0"
LIVE_PID=$P1 live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run (--active-timeout 1) exited $LIVE_RC after SIGTERM, expected 0"
touch "$H"-{1,2,3,4,5}	# now the holders may close
if ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1; then
	live_fail "table inet ctflow_activate still in $A after ctflow exited"
fi

# A SIGTERM while ctflow is still starting (tables being installed, threads
# not yet running) must not leave its table behind either: ctflow holds the
# signal until its handlers are in place, then shuts down cleanly (exit 0).
# Killed before it holds signals (status 143), it has installed nothing.
early=""
for d in 0 0.005 0.01 0.02 0.03 0.05 0.08 0.12 0.2 0.3; do
	ctft_bg "$CTFLOW" run --netns "$A" -C "file:$T/early.ipfix" >/dev/null 2>"$T/early.log"
	pid=$!
	sleep "$d"
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid"
	rc=$?
	early+=" $d:$rc"
	[[ $rc == 0 || $rc == 143 ]] ||
		live_fail "ctflow run exited $rc after SIGTERM at +${d}s: $(cat "$T/early.log")"
	if ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1; then
		live_fail "SIGTERM at +${d}s (exit $rc) left table inet ctflow_activate in $A"
	fi
done
live_log "SIGTERM during startup, delay:exit status:$early"

live_decode "$T/term.ipfix" "$T/term.jsonl"
live_decode "$T/term2.ipfix" "$T/term2.jsonl"
live_check sigterm --records "$T/term.jsonl" --snapshot "$T/snapshot.txt" --ino "$INO" \
	--no-extra --expect 6:41001:4 6:41002:4 17:41003:4 6:41004:4:2 6:41005:4 1:0:4
live_check sigterm --records "$T/term2.jsonl" --snapshot "$T/snapshot.txt" --ino "$INO" \
	--no-extra --expect 6:41001:4 6:41002:4 17:41003:4 6:41004:4 6:41005:4 1:0:4
live_exit
