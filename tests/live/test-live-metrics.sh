#!/bin/bash
# Observability: `ctflow run --metrics` scraped while real traffic flows.
#  - bad --metrics values and log words are usage errors (exit 2); the log
#    level hides or shows a real warning;
#  - ctflow runs in namespace b, reads a's conntrack (--netns), exports over
#    UDP to nfcapd on b's loopback and serves metrics on b's loopback;
#  - N UDP flows in a (each one echoed datagram, ground truth: the nft
#    ct-state-new counter): the scrape after them shows exactly that many
#    more NEW events, at least N more tracked flows, and after the flows
#    ended at least N more DESTROY events, records and records sent to the
#    collector, none dropped; nfcapd stored at least what was counted sent;
#  - every scrape is valid text format 0.0.4 (strict check, promtool too
#    when installed); /healthz 200 "ok", unknown path 404, POST 405;
#  - a client that connects and sends nothing neither delays a concurrent
#    scrape nor stays past the 5 s deadline;
#  - `ctflow health` answers 0 while ctflow runs (address as argument and
#    from CTFLOW_DAEMON_METRICS), 1 once it is gone, 2 without an address;
#  - --log-level debug shows the scrapes as debug lines.
. "$(dirname "$0")/lib-live.sh"
live_require
command -v nfcapd >/dev/null || { echo "SKIP: nfcapd not installed" >&2; exit 77; }
PROM="$LIVE_DIR/promcheck.py"
N=40

# --- usage errors: nothing is touched before they are found --------------
for bad in 127.0.0.1 "::1:9477" "metrics.example:9477" "127.0.0.1:65536" ":9477"; do
	"$CTFLOW" run --metrics "$bad" -C "file:$T/never.ipfix" --netns ctft-none \
		>/dev/null 2>"$T/bad.log"
	rc=$?
	[[ $rc == 2 ]] || live_fail "--metrics '$bad': exit $rc, expected 2: $(cat "$T/bad.log")"
	grep -q "metrics address '$bad': .*expected ADDR:PORT" "$T/bad.log" ||
		live_fail "--metrics '$bad': unclear message: $(cat "$T/bad.log")"
done
"$CTFLOW" run --log-level loud --netns ctft-none >/dev/null 2>"$T/bad.log"
[[ $? == 2 ]] || live_fail "--log-level loud accepted: $(cat "$T/bad.log")"
# A real warning at start (no journald here: the journal target says so
# and falls back to stderr), then a usage error before the kernel is touched.
if [[ ! -S /run/systemd/journal/socket ]]; then
	for level in error warning; do
		"$CTFLOW" run --log-level $level --log-target journal --proto bogus \
			>/dev/null 2>"$T/level-$level.log"
		[[ $? == 2 ]] || live_fail "--proto bogus: not a usage error"
	done
	grep -q "WARNING.*log target journal" "$T/level-warning.log" ||
		live_fail "--log-level warning hid the warning: $(cat "$T/level-warning.log")"
	if grep -q WARNING "$T/level-error.log"; then
		live_fail "--log-level error showed a warning: $(cat "$T/level-error.log")"
	fi
else
	live_log "journald runs here: journal fallback check skipped"
fi
live_log "usage errors: bad metric addresses and log words exit 2; log levels filter"

# --- the probe -------------------------------------------------------------
ctft_pair A B
ctft_ct_enable "$A"
ctft_ct_sysctls "$A" 3	# UDP flows end 3 s after their last packet
ctft_server "$A"
CPORT=$((20000 + RANDOM % 20000))
MPORT=$((CPORT + 1))
live_nfcapd "$T/nf" "$CPORT" "$B"
LIVE_WRAP="ip netns exec $B" live_ctflow_start "$T/ctflow.log" --netns "$A" \
	--metrics "127.0.0.1:$MPORT" -C "udp://127.0.0.1:$CPORT" --log-level debug
live_wait 5 grep -q "metrics on http://127.0.0.1:$MPORT/metrics" "$T/ctflow.log" ||
	live_fail "ctflow did not report its metrics endpoint: $(cat "$T/ctflow.log")"
COLL="udp://127.0.0.1:$CPORT"

# scrape NAME: /metrics into $T/NAME.prom, status 200, strictly valid
scrape() {
	local f=$T/$1.prom
	ctft_in "$B" "$LIVE_PY" "$PROM" get 127.0.0.1 "$MPORT" /metrics >"$f" 2>"$f.status" ||
		live_fail "scrape $1: $(cat "$f.status")"
	grep -q '^200 text/plain; version=0.0.4; charset=utf-8$' "$f.status" ||
		live_fail "scrape $1: $(cat "$f.status")"
	"$LIVE_PY" "$PROM" check "$f" >/dev/null || live_fail "scrape $1 is not valid 0.0.4"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$f" || live_fail "promtool rejects scrape $1"
	fi
}
# val NAME METRIC [LABEL=VALUE...]: the sum of the matching samples
val() {
	local f=$T/$1.prom; shift
	"$LIVE_PY" "$PROM" value "$f" "$@" || live_fail "$* missing from $f"
}
health() { ctft_in "$B" "$CTFLOW" health "$@"; }

scrape before
NEW0=$(ctft_ct_new_count "$A")
for m in ctflow_build_info process_start_time_seconds process_cpu_seconds_total \
	process_resident_memory_bytes process_open_fds ctflow_conntrack_namespaces \
	ctflow_conntrack_enobufs_total ctflow_conntrack_resyncs_total ctflow_conntrack_dumps_total \
	ctflow_flows_tracked ctflow_records_total ctflow_export_pending_records \
	ctflow_export_queue_records ctflow_export_messages_total ctflow_export_bytes_total \
	ctflow_export_send_errors_total ctflow_enrich_lookups_total ctflow_enrich_queue_items; do
	val before "$m" >/dev/null
done
[[ $(val before ctflow_conntrack_namespaces) == 1 &&
   $(val before ctflow_conntrack_dumps_total netns="$A") -ge 1 ]] ||
	live_fail "namespace $A not read, or no start-up dump"

# a client that sends nothing, then a scrape beside it
ctft_bg ip netns exec "$B" "$LIVE_PY" "$PROM" stall 127.0.0.1 "$MPORT" 9 >"$T/stall.txt"
STALL=$!
sleep 0.3
t0=$(date +%s%N)
scrape beside-stall
ms=$((($(date +%s%N) - t0) / 1000000))
((ms < 2000)) || live_fail "a scrape beside a stalled client took $ms ms"

# N flows, each one datagram echoed, distinct source ports
ctft_in "$A" "$LIVE_PY" - "$N" <<-'EOF' || live_fail "UDP flows"
	import socket, sys
	for i in range(int(sys.argv[1])):
	    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    s.settimeout(3)
	    s.bind(("127.0.0.1", 43000 + i))
	    s.sendto(b"metrics", ("127.0.0.1", 7000))
	    s.recv(64)
	    s.close()
	EOF
NEW1=$(ctft_ct_new_count "$A")
sleep 0.3	# the engine reads what the kernel queued
scrape during
TRUTH=$((NEW1 - NEW0))
dnew=$(($(val during ctflow_conntrack_events_total type=new) - $(val before ctflow_conntrack_events_total type=new)))
dtracked=$(($(val during ctflow_flows_tracked) - $(val before ctflow_flows_tracked)))
live_log "after $N flows ($TRUTH new conntrack entries): +$dnew NEW events, +$dtracked tracked flows"
((TRUTH >= N)) || live_fail "the kernel counted $TRUTH new entries for $N flows"
((dnew == TRUTH)) || live_fail "NEW events grew by $dnew, the kernel created $TRUTH entries"
((dtracked >= N)) || live_fail "flows tracked grew by $dtracked, expected >= $N"

# the flows end (3 s timeout, reaped), their records reach the collector
ended() {
	live_reap "$A"
	scrape after
	(($(val after ctflow_conntrack_events_total type=destroy) -
	  $(val before ctflow_conntrack_events_total type=destroy) >= N)) &&
	(($(val after ctflow_export_records_total collector="$COLL" state=sent) -
	  $(val before ctflow_export_records_total collector="$COLL" state=sent) >= N))
}
live_wait 20 ended || live_fail "the flows' DESTROY events or records did not show within 20 s"
ddestroy=$(($(val after ctflow_conntrack_events_total type=destroy) - $(val before ctflow_conntrack_events_total type=destroy)))
drecords=$(($(val after ctflow_records_total) - $(val before ctflow_records_total)))
SENT=$(val after ctflow_export_records_total collector="$COLL" state=sent)
dsent=$((SENT - $(val before ctflow_export_records_total collector="$COLL" state=sent)))
dlookups=$(($(val after ctflow_enrich_lookups_total enricher=process) - $(val before ctflow_enrich_lookups_total enricher=process)))
live_log "after they ended: +$ddestroy DESTROY, +$drecords records, +$dsent sent to $COLL, +$dlookups owner lookups, tracked $(val after ctflow_flows_tracked)"
((drecords >= N)) || live_fail "records grew by $drecords, expected >= $N"
((dlookups >= N)) || live_fail "owner lookups grew by $dlookups, expected >= $N"
(($(val after ctflow_flows_tracked) < $(val during ctflow_flows_tracked))) ||
	live_fail "flows tracked did not fall when the flows ended"
for f in before during after; do
	[[ $(val $f ctflow_export_records_total state=dropped) == 0 &&
	   $(val $f ctflow_export_send_errors_total) == 0 &&
	   $(val $f ctflow_conntrack_enobufs_total) == 0 ]] ||
		live_fail "scrape $f: records dropped, send errors or overruns"
done
(($(val after ctflow_export_messages_total collector="$COLL") > $(val before ctflow_export_messages_total collector="$COLL") &&
  $(val after ctflow_export_bytes_total collector="$COLL") > $(val before ctflow_export_bytes_total collector="$COLL"))) ||
	live_fail "messages/bytes to $COLL did not grow"

# other routes, HEAD, health
get() { ctft_in "$B" "$LIVE_PY" "$PROM" get 127.0.0.1 "$MPORT" "$@" 2>&1 >"$T/get.body"; }
[[ $(get /healthz) == "200 text/plain; charset=utf-8" && $(cat "$T/get.body") == ok ]] ||
	live_fail "/healthz: $(get /healthz) $(cat "$T/get.body")"
[[ $(get /nonexistent) == 404* ]] || live_fail "/nonexistent: $(get /nonexistent)"
[[ $(get /metrics POST) == 405* ]] || live_fail "POST /metrics: $(get /metrics POST)"
[[ $(health "127.0.0.1:$MPORT") == ok ]] || live_fail "ctflow health 127.0.0.1:$MPORT failed"
[[ $(CTFLOW_DAEMON_METRICS="0.0.0.0:$MPORT" health) == ok ]] ||
	live_fail "ctflow health with CTFLOW_DAEMON_METRICS=0.0.0.0:$MPORT failed"
env -u CTFLOW_DAEMON_METRICS -u CTFLOW_CONFIG ip netns exec "$B" "$CTFLOW" health \
	>/dev/null 2>"$T/health.err"
[[ $? == 2 ]] || live_fail "ctflow health without an address: $(cat "$T/health.err")"

# the stalled client was closed at the 5 s deadline
wait "$STALL"
stall=$(cat "$T/stall.txt")
[[ $stall != open ]] && awk -v s="$stall" 'BEGIN { exit !(s >= 4 && s < 7.5) }' ||
	live_fail "the stalled client was closed after ${stall}s, expected ~5 s"
grep -q "ctflow-metrics-DEBUG.*GET /metrics: 200" "$T/ctflow.log" ||
	live_fail "--log-level debug showed no scrape"

live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
t0=$(date +%s%N)
health "127.0.0.1:$MPORT" >/dev/null 2>"$T/health.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $rc == 1 ]] || live_fail "ctflow health exited $rc after ctflow stopped: $(cat "$T/health.err")"
((ms < 6000)) || live_fail "ctflow health took $ms ms"
live_nfcapd_stop "$T/nf"
stored=$(nfdump -R "$T/nf" -q -N -o 'fmt:%pr %sp' 2>/dev/null | grep -cE '^ *17 +43[0-9]{3}$')
live_log "nfcapd stored $stored of the $N flows' records; the last scrape counted $SENT sent"
((stored >= N)) || live_fail "nfcapd stored $stored records of the $N flows"
live_exit
