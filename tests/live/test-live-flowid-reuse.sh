#!/bin/bash
# (g) flowId uniqueness. A client that reuses its source port (NTP, DNS
# resolvers with fixed ports, a restarted service) makes successive
# conntrack entries with one 5-tuple. The kernel's conntrack id is a hash
# of the entry's address and tuple, so an entry allocated where the last
# one was freed gets the same id. ctflow's flowId is its own unique counter
# (it once was netns inode << 32 | id, which named several distinct flows,
# and a collector that correlates records by flowId, RFC 7012: "unique
# within an Observation Domain", merged them); records carry the id as
# conntrackId and pair with the DESTROY events in time order.
# Eight UDP flows 127.0.0.1:48001 -> :7000, one after the
# other, each ended (`conntrack -D`, on the CPU that makes the next one, so
# the slab hands its memory to the next entry) before the next; asserted:
# eight flowIds, one final record each. Skips if the kernel gave the
# entries eight different ids.
. "$(dirname "$0")/lib-live.sh"
live_require

ctft_ns_new N n
ctft_ct_enable "$N"
ctft_ct_sysctls "$N" 1
ctft_server "$N"
INO=$(live_ino "$N")
live_events "$N" "$T/events.txt"
live_ctflow_start "$T/ctflow.log" --netns "$N" -C "file:$T/reuse.ipfix"
for i in 1 2 3 4 5 6 7 8; do
	taskset -c 0 ip netns exec "$N" "$LIVE_PY" "$LIVE_DIR/flowgen.py" udp --dst 127.0.0.1 \
		--sport 48001 --count "$i" --size 100 || live_fail "udp flow"
	taskset -c 0 ip netns exec "$N" conntrack -D -p udp --sport 48001 >/dev/null 2>&1
	live_wait_destroy "$N" "$T/events.txt" 10 'sport=48001 ' "$i" ||
		live_fail "flow $i did not end"
done
sleep 0.5
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
ids=$("$LIVE_PY" "$LIVE_CHECK" ct "$T/events.txt" | "$LIVE_PY" -c '
import json, sys
e = [json.loads(l) for l in sys.stdin]
print(len({x["id"] for x in e if x["event"] == "DESTROY" and x["sport"] == 48001}))')
if [[ $ids == 8 ]]; then
	echo "SKIP: the kernel gave the eight entries eight different ids" >&2
	exit 77
fi
live_log "8 successive entries of one 5-tuple had $ids distinct conntrack ids"
live_decode "$T/reuse.ipfix" "$T/reuse.jsonl"
live_check reuse --records "$T/reuse.jsonl" --events "$T/events.txt" --sport 48001 --ino "$INO"
live_exit
