#!/bin/bash
# (b) ENOBUFS. ctflow reads a namespace with the smallest receive buffer it
# accepts (--rcvbuf 65536) while ct-loadgen (bench/ct-loadgen, pinned to
# CPU 0; ctflow on CPU 1) creates BURST new UDP entries (one datagram
# each) as fast as the kernel allows. Then every entry ends at once:
#   LIFE > 5 (default 120 s): the flows outlive the burst, ctflow settles,
#     then `conntrack -F` deletes them all (a DESTROY burst). Every flow is
#     alive in the table when an overrun is answered by a resync dump, so
#     nothing may be lost.
#   LIFE <= 5: short-lived flows that expire (gc bursts) while ctflow is
#     still behind: some begin and end inside one overflow, which only
#     MODE=reliable (--reliable) can keep.
# Ground truth: the nft `ct state new` counter (from after ctflow's start:
# its activity probe makes two entries), one datagram per flow.
#
# Asserted (livecheck.py check burst): ctflow reported overruns and
# resyncs (summary line; not in reliable mode, which turns ENOBUFS off);
# every entry created was exported under a flowId of its own ("missing"),
# exactly one final record per flow and no 5-tuple under two flowIds;
# every flow's counters add up to its one datagram ("counters"); every
# flow that ended before SIGTERM was ended before SIGTERM, not by the
# final dump ("late"); with RELIABILITY=1, the last Reliability
# Statistics record has its time interval and shows the overruns
# ("reliability", issue 3: "losses and recoveries appear in the exported
# reliability statistics"). EXPECT_LOSS=1 reports missing flows instead of
# failing; XFAIL="CLASSES" marks known-bug classes (exit 1 for them,
# 99 for anything else: the test is then registered with should_fail).
. "$(dirname "$0")/lib-live.sh"
live_require
[[ -x $CT_LOADGEN ]] || { echo "SKIP: no ct-loadgen at $CT_LOADGEN" >&2; exit 77; }
BURST=${BURST:-60000}
MODE=${MODE:-default}		# default | reliable
LIFE=${LIFE:-120}		# UDP timeout during the burst
EXPECT_LOSS=${EXPECT_LOSS:-}	# set: missing flows are reported, not failed
RELIABILITY=${RELIABILITY:-}	# set: check the Reliability Statistics record ("reliability")
XFAIL=${XFAIL:-}		# known-bug classes (livecheck --xfail): missing counters late
[[ -n $XFAIL ]] && LIVE_HARD_RC=99

ctft_ns_new N n
ctft_ct_enable "$N"
ctft_ct_sysctls "$N" "$LIFE"
INO=$(live_ino "$N")
args=(--netns "$N" --rcvbuf 65536 -C "file:$T/burst.ipfix")
[[ $MODE == reliable ]] && args+=(--reliable)
LIVE_WRAP="taskset -c 1" live_ctflow_start "$T/ctflow.log" "${args[@]}"
# counted from here: ctflow's own activity probe made two entries at start
before=$(ctft_ct_new_count "$N")

timeout 60 "$CT_LOADGEN" --netns "$N" --count "$BURST" --seconds 20 --cpu 0 \
	--ports 1024-65535 >"$T/loadgen.log" 2>&1 || live_fail "ct-loadgen: $(cat "$T/loadgen.log")"
live_log "$(cat "$T/loadgen.log")"
live_settle "$LIVE_PID" 30 || live_fail "ctflow still busy 30 s after the burst"
if [[ $LIFE -gt 5 ]]; then
	ctft_in "$N" conntrack -F 2>/dev/null
else
	# the gc first; if it idles (it is shared with every namespace), reap
	ctft_wait_empty "$N" 20 || live_wait_empty "$N" 40 ||
		live_fail "entries did not expire within 60 s"
fi
live_settle "$LIVE_PID" 30 || live_fail "ctflow still busy 30 s after the DESTROY burst"
sleep 1
created=$(( $(ctft_ct_new_count "$N") - before ))
stop_ms=$(date +%s%3N)
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
over=$(live_stat "$T/ctflow.log" overruns)
resyncs=$(live_stat "$T/ctflow.log" resyncs)
live_log "mode $MODE, flows live ${LIFE} s: $created entries created, $over overruns, $resyncs resyncs"
if [[ $MODE != reliable ]] && ! ((over > 0 && resyncs > 0)); then
	echo "FAIL: no overrun/resync reported with a 64 KiB buffer and $created new flows" >&2
	live_result 2
fi
((created >= BURST * 9 / 10)) || live_fail "only $created entries created (wanted $BURST)"

live_decode "$T/burst.ipfix" "$T/burst.jsonl"
live_check burst --records "$T/burst.jsonl" --created "$created" --dst 127.0.0.1 \
	--stop-ms "$stop_ms" --strict-counters ${RELIABILITY:+--overruns "$over"} ${EXPECT_LOSS:+--expect-loss} ${XFAIL:+--xfail $XFAIL}
live_exit
