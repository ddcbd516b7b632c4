#!/bin/bash
# (m) SIGHUP applies a changed configuration file: ctflow starts with
# active-timeout = 60 and a file collector A; the file is rewritten with
# active-timeout = 1 and collector B, and SIGHUP sent. Then:
#  - a flow that lasts ~6 s after the reload gets interim records
#    (flowEndReason 2) in B: the new interval took effect (it used to
#    apply only to an engine attached to a non-default main context);
#  - B, a new exporter, carries the interface name table (options
#    records with interfaceName) before ctflow exits: the names are sent
#    to an exporter created by a reload, not only at start.
. "$(dirname "$0")/lib-live.sh"
live_require

ctft_pair A B
ctft_ct_enable "$A"
ctft_ct_sysctls "$A" 2
ctft_server "$B"
INO=$(live_ino "$A")
live_events "$A" "$T/events.txt"
CONF=$T/ctflow.conf
printf '[export]\ncollector = file:%s\n[conntrack]\nactive-timeout = 60\n' "$T/a.ipfix" >"$CONF"
live_ctflow_start "$T/ctflow.log" -c "$CONF" --netns "$A" --no-process
printf '[export]\ncollector = file:%s\n[conntrack]\nactive-timeout = 1\n' "$T/b.ipfix" >"$CONF"
kill -HUP "$LIVE_PID"
live_wait 10 grep -q 'configuration reloaded' "$T/ctflow.log" || live_fail "no reload: $(cat "$T/ctflow.log")"
live_flow "$A" udp 10.70.0.2 47001 24 200 0.25 || live_fail "udp flow"
live_wait_destroy "$A" "$T/events.txt" 60 'sport=47001 ' 1 || live_fail "the flow did not end"
sleep 0.5
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"

live_decode "$T/b.ipfix" "$T/b.jsonl"
"$LIVE_PY" - "$T/b.jsonl" <<-'PY' || live_fail "reload: $(cat "$T/verdict")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
flow = [r for r in recs if "options" not in r and r.get("sport") == 47001]
interim = [r for r in flow if r.get("end_reason") == 2]
names = [r["options"]["interfaceName"] for r in recs
         if "options" in r and "interfaceName" in r["options"]]
print(f"{len(flow)} records of the flow, {len(interim)} interim; interface names {sorted(set(names))}")
ok = len(interim) >= 2 and "va" in names
sys.exit(0 if ok else 1)
PY
live_log "reload: $("$LIVE_PY" - "$T/b.jsonl" <<-'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print(sum(1 for r in recs if "options" not in r and r.get("end_reason") == 2), "interim records in B")
PY
)"
live_exit
