#!/bin/bash
# (h) SIGHUP with a file collector. Issue 3: "SIGHUP reloads the
# configuration". Three UDP flows end (conntrack -D: DESTROY, exported at
# once) before SIGHUP, two after; the reload must not lose what was
# already written: the file must hold all five flows with their counters
# and decode to its end. (ctflow reopens file:PATH for the new
# configuration, truncating it while the old exporter still writes.)
. "$(dirname "$0")/lib-live.sh"
live_require
LIVE_HARD_RC=99	# known bug (should_fail): only its checks may fail with 1

ctft_ns_new N n
ctft_ct_enable "$N"
ctft_server "$N"
INO=$(live_ino "$N")
live_events "$N" "$T/events.txt"
live_ctflow_start "$T/ctflow.log" --netns "$N" -C "file:$T/hup.ipfix"
for p in 49001 49002 49003; do live_flow "$N" udp 127.0.0.1 "$p" 2 100 || live_fail "udp flow"; done
ctft_in "$N" conntrack -D -p udp --dport 7000 >/dev/null 2>&1
live_wait_destroy "$N" "$T/events.txt" 10 'sport=4900[123] ' 3 || live_fail "no DESTROY"
sleep 1.5	# the exporter has written them (flush_ms 1000)
kill -HUP "$LIVE_PID"
live_wait 10 grep -q 'configuration reloaded' "$T/ctflow.log" || live_fail "no reload: $(cat "$T/ctflow.log")"
for p in 49004 49005; do live_flow "$N" udp 127.0.0.1 "$p" 2 100 || live_fail "udp flow"; done
ctft_in "$N" conntrack -D -p udp --dport 7000 >/dev/null 2>&1
live_wait_destroy "$N" "$T/events.txt" 10 'sport=4900[45] ' 2 || live_fail "no DESTROY"
sleep 0.5
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"

"$LIVE_PY" "$LIVE_CHECK" decode "$T/hup.ipfix" >"$T/hup.jsonl" 2>"$T/decode.err" ||
	live_fail "python3-ipfix cannot decode the file"
if grep -q 'cut short' "$T/decode.err"; then
	echo "FAIL [known bug: sighup]: $(cat "$T/decode.err") ($(stat -c %s "$T/hup.ipfix") octets)" >&2
	live_result 1
fi
live_check sighup --records "$T/hup.jsonl" --events "$T/events.txt" --ino "$INO" \
	--expect 17:49001:1 17:49002:1 17:49003:1 17:49004:1 17:49005:1 \
	--missing-class sighup --xfail sighup
live_exit
