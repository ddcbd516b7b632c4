#!/bin/bash
# (f) ctflow's own export traffic is never reported.
#  1. ctflow runs inside namespace b and reads b's conntrack (no --netns),
#     exporting over UDP to an nfcapd on b's loopback: ctflow exempts its
#     export from conntrack there (table inet ctflow_notrack) and filters
#     it anyway.
#  2. ctflow runs in namespace a, reads b with --netns and exports over
#     the veth to an nfcapd in b: the notrack table is installed where
#     ctflow runs (a), so in b the export does create conntrack entries,
#     and only ctflow's filter keeps them out of the records.
# Both times real traffic in b (TCP, UDP, ICMP on its loopback) must be
# exported with conntrack's counters, no record may carry the collector
# port, and nfcapd must have received the records.
. "$(dirname "$0")/lib-live.sh"
live_require
command -v nfcapd >/dev/null || { echo "SKIP: nfcapd not installed" >&2; exit 77; }

ctft_pair A B
ctft_ct_sysctls "$B" 2
ctft_server "$B"
INO=$(live_ino "$B")

# traffic RUN: flows inside b, all ended (DESTROY seen) before returning
traffic() {
	live_flow "$B" tcp 127.0.0.1 "${1}1" 5 400 || live_fail "tcp flow"
	live_flow "$B" udp 127.0.0.1 "${1}2" 3 100 || live_fail "udp flow"
	live_flow "$B" tcp 10.70.0.2 "${1}3" 2 50 0.3 || live_fail "tcp flow"
	live_wait_destroy "$B" "$T/events-$1.txt" 40 "sport=${1}[123] " 3 ||
		live_fail "flows of run $1 did not end within 40 s"
	sleep 0.5
}

# nfdump_count DIR: data records nfcapd stored
nfdump_count() { nfdump -R "$1" -q -N -o 'fmt:%pr' 2>/dev/null | grep -c .; }

for run in 4700 4710; do
	PORT=$((20000 + RANDOM % 20000))
	live_events "$B" "$T/events-$run.txt"
	if [[ $run == 4700 ]]; then
		live_nfcapd "$T/nf-$run" "$PORT" "$B"
		LIVE_WRAP="ip netns exec $B" live_ctflow_start "$T/ctflow-$run.log" --active-timeout 1 \
			-C "udp://127.0.0.1:$PORT" -C "file:$T/own-$run.ipfix"
		ctft_in "$B" nft list table inet ctflow_notrack >/dev/null 2>&1 ||
			live_fail "ctflow installed no notrack table where it runs ($B)"
	else
		mkdir -p "$T/nf-$run"
		ctft_bg ip netns exec "$B" nfcapd -b 10.70.0.2 -p "$PORT" -w "$T/nf-$run" -t 3600 \
			>"$T/nf-$run.log" 2>&1
		LIVE_NF_PID=$!
		live_wait 10 grep -qs Startup "$T/nf-$run.log" || live_fail "nfcapd: $(cat "$T/nf-$run.log")"
		LIVE_WRAP="ip netns exec $A" live_ctflow_start "$T/ctflow-$run.log" --netns "$B" \
			--active-timeout 1 -C "udp://10.70.0.2:$PORT" -C "file:$T/own-$run.ipfix"
	fi
	traffic "$run"
	sleep 1.5	# at least one more export message and interim dump
	ctft_in "$B" conntrack -L -o extended,id >"$T/table-$run.txt" 2>/dev/null
	live_ctflow_stop "$T/ctflow-$run.log"
	[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
	live_nfcapd_stop "$T/nf-$run"
	kill "$LIVE_EV_PID" 2>/dev/null
	n=$(nfdump_count "$T/nf-$run")
	live_log "run $run: collector port $PORT, nfcapd stored $n records," \
		"$(grep -c "dport=$PORT " "$T/table-$run.txt") conntrack entries for it in b," \
		"$(live_stat "$T/ctflow-$run.log" filtered) filtered"
	((n > 0)) || { echo "FAIL: nfcapd received nothing in run $run" >&2; live_result 2; }
	# tracked: a NEW event, or an entry still in the table (the events are
	# the sure sign: with b's 2 s UDP timeout the entry may be gone by the
	# time of the snapshot)
	if [[ $run == 4710 ]] && ! grep -qs "dport=$PORT " "$T/events-$run.txt" "$T/table-$run.txt"; then
		echo "FAIL: run 4710 meant the export to be tracked in b, but no event or entry has port $PORT" >&2
		live_result 2
	fi
	live_decode "$T/own-$run.ipfix" "$T/own-$run.jsonl"
	live_check ownexport --records "$T/own-$run.jsonl" --events "$T/events-$run.txt" \
		--ino "$INO" --no-port "$PORT" \
		--expect "6:${run}1:3" "17:${run}2:1" "6:${run}3:3"
done
live_exit
