#!/bin/bash
# (i) --max-flows at shutdown. Issue 3: "Memory is bounded (max-flows),
# and what the bound drops is counted and exported." With --max-flows 1,
# 200 UDP flows (bench/ct-loadgen, one datagram each) stay alive until
# SIGTERM: ctflow tracks one, and the final dump must still export all 200
# with their counters. (The final dump adopts each entry it does not know
# before exporting it, which fails while the table is full: every entry
# the dump meets before the tracked one is lost; all 200 are exported only
# when the tracked entry comes first, 1 time in 200.)
. "$(dirname "$0")/lib-live.sh"
live_require
LIVE_HARD_RC=99	# known bug (should_fail): only its checks may fail with 1
[[ -x $CT_LOADGEN ]] || { echo "SKIP: no ct-loadgen at $CT_LOADGEN" >&2; exit 77; }

ctft_ns_new N n
ctft_ct_enable "$N"
ctft_ct_sysctls "$N" 120
live_ctflow_start "$T/ctflow.log" --netns "$N" --max-flows 1 -C "file:$T/max.ipfix"
before=$(ctft_ct_new_count "$N")
"$CT_LOADGEN" --netns "$N" --count 200 --cpu 0 --ports 20000-20199 >"$T/loadgen.log" 2>&1 ||
	live_fail "ct-loadgen: $(cat "$T/loadgen.log")"
sleep 1
created=$(( $(ctft_ct_new_count "$N") - before ))
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
live_decode "$T/max.ipfix" "$T/max.jsonl"
live_check burst --records "$T/max.jsonl" --created "$created" --dst 127.0.0.1 \
	--strict-counters --xfail missing
live_exit
