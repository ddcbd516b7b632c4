#!/bin/bash
# Interfaces end to end: `ctflow run --netns ROUTER` exporting IPFIX to a
# file, read by python3-ipfix and by ipfixDump (both must agree).
#
#   client c0 10.71.1.2 fd00:71:1::2 -- r0 ROUTER r1 -- s0 10.71.2.2 fd00:71:2::2 server
#
# TCP and UDP flows (tests/enrich-if/flows.py: 1-4 echoed messages each)
# client -> server over IPv4 and IPv6 and server -> client over IPv4, all
# routed (forwarded) by the router. While ctflow runs, a link is added and
# renamed and r0 gets an alias.
#
# Asserts: every flow exported; ingressInterface / egressInterface equal
# the router's ifindexes (`ip -j link`: r0 -> r1 for the client's flows,
# r1 -> r0 for the server's) on >= 99 % of flows, and none names a wrong
# interface; the interface options records (ingressInterface ->
# interfaceName, interfaceDescription) carry the router's real names, were
# sent at start and re-sent after the link changes (the new link, its new
# name, r0's alias), as both readers see them.
. "$(dirname "$0")/lib-live.sh"
live_require
FLOWS_PY=$LIVE_DIR/../enrich-if/flows.py
[[ -f $FLOWS_PY ]] || { echo "SKIP: $FLOWS_PY missing" >&2; exit 77; }

ctft_router C R S
ctft_ct_enable "$R"
ctft_ct_sysctls "$R" 1
ctft_server "$S"
ctft_server "$C"
ip -n "$R" -j link show >"$T/links-start.json" || live_fail "ip link"

live_ctflow_start "$T/ctflow.log" --netns "$R" -C "file:$T/out.ipfix"

flows() {	# flows NS DST TCP UDP SEED
	ctft_in "$1" "$LIVE_PY" "$FLOWS_PY" --dst "$2" --tcp "$3" --udp "$4" --seed "$5" ||
		live_fail "flows $1 -> $2"
}
flows "$C" 10.71.2.2 15 15 1
flows "$C" fd00:71:2::2 15 15 2
flows "$S" 10.71.1.2 10 10 3
# link changes while running: the names options must be sent again
ip -n "$R" link add lk0 type veth peer name lk1 || live_fail "add lk0"
ip -n "$R" link set lk0 name lk-renamed || live_fail "rename lk0"
ip -n "$R" link set r0 alias "downlink: clients" || live_fail "alias r0"
flows "$C" 10.71.2.2 3 3 4
sleep 0.5	# the link events and the last samples reach ctflow
ip -n "$R" -j link show >"$T/links-end.json" || live_fail "ip link"
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
live_decode "$T/out.ipfix" "$T/records.jsonl"

# ---- judge ----------------------------------------------------------------
"$LIVE_PY" - "$T" <<'EOF'
import collections, json, re, sys

T = sys.argv[1]
start = {l["ifname"]: l for l in json.load(open(f"{T}/links-start.json"))}
end = {l["ifname"]: l for l in json.load(open(f"{T}/links-end.json"))}
idx = {n: l["ifindex"] for n, l in end.items()}
CLIENT = {"10.71.1.2", "fd00:71:1::2"}
SERVER = {"10.71.2.2", "fd00:71:2::2"}
fails = []

def flows_of(path):
    out = collections.defaultdict(list)
    for r in map(json.loads, open(path)):
        if "options" not in r and r["proto"] in (6, 17) and r["dport"] == 7000:
            out[r["flow_id"]].append(r)
    return out

py = flows_of(f"{T}/records.jsonl")
dump = flows_of(f"{T}/records.jsonl.dump.jsonl")
st = collections.Counter()
for fid, rs in py.items():
    r = rs[0]
    if r["src"] in CLIENT and r["dst"] in SERVER:
        want = (idx["r0"], idx["r1"])
    elif r["src"] in SERVER and r["dst"] in CLIENT:
        want = (idx["r1"], idx["r0"])
    else:
        continue
    st["flows"] += 1
    st["v6" if ":" in r["src"] else "v4"] += 1
    st["tcp" if r["proto"] == 6 else "udp"] += 1
    got = {(x["ingress_if"], x["egress_if"]) for x in rs}
    got_dump = {(x.get("ingress_if"), x.get("egress_if")) for x in dump.get(fid, [])}
    if got_dump != got:
        fails.append(f"flow {fid:#x}: python3-ipfix says {got}, ipfixDump {got_dump}")
    if got == {want}:
        st["right"] += 1
        continue
    for g in got:
        if g[0] and g[0] != want[0] or g[1] and g[1] != want[1]:
            st["wrong"] += 1
            fails.append(f"flow {fid:#x} {r['src']} -> {r['dst']}: interfaces {g}, want {want}")
            break
    else:
        st["unknown"] += 1
print("# flows: " + json.dumps(st), file=sys.stderr)
if st["flows"] < 80 or st["v6"] < 25 or st["tcp"] < 40 or st["udp"] < 40:
    fails.append(f"too few routed flows exported: {dict(st)}")
if st["right"] < 0.99 * st["flows"]:
    fails.append(f"{st['right']}/{st['flows']} flows with both interfaces right (< 99 %)")

# interface names: python3-ipfix options records, in file order
py_names = [(o["ingressInterface"], o["interfaceName"], o.get("interfaceDescription", ""))
            for o in (r["options"] for r in map(json.loads, open(f"{T}/records.jsonl"))
                      if "options" in r) if "interfaceName" in o]
# the same from ipfixDump's text
dump_names, cur = [], {}
for line in open(f"{T}/records.jsonl.dump.txt", errors="replace"):
    m = re.match(r"\s*\(\s*\d+\)\s+(?:\(S\)\s+)?(\S+) : (.*)$", line.rstrip("\n"))
    if line.startswith("--- "):
        if "interfaceName" in cur:
            dump_names.append((int(cur["ingressInterface"]), cur["interfaceName"],
                               cur.get("interfaceDescription", "")))
        cur = {}
    elif m and m.group(1) in ("ingressInterface", "interfaceName", "interfaceDescription"):
        v = m.group(2)
        s = re.match(r"\(len: (\d+)\) ?(.*)$", v)     # a string: its length, then it
        cur[m.group(1)] = s.group(2)[:int(s.group(1))] if s else v.strip()
if "interfaceName" in cur:
    dump_names.append((int(cur["ingressInterface"]), cur["interfaceName"],
                       cur.get("interfaceDescription", "")))
print(f"# {len(py_names)} interface name records (ipfixDump {len(dump_names)})", file=sys.stderr)
if py_names != dump_names:
    fails.append(f"interface names: python3-ipfix {py_names[:6]}..., ipfixDump {dump_names[:6]}...")
first = {}
for i, n, d in py_names:
    first.setdefault(i, (n, d))
last = {i: (n, d) for i, n, d in py_names}
for n, l in start.items():
    if first.get(l["ifindex"]) != (n, l.get("ifalias", "")):
        fails.append(f"first names record of ifindex {l['ifindex']}: {first.get(l['ifindex'])}, "
                     f"want ({n!r}, {l.get('ifalias', '')!r})")
for n, l in end.items():
    if last.get(l["ifindex"]) != (n, l.get("ifalias", "")):
        fails.append(f"last names record of ifindex {l['ifindex']}: {last.get(l['ifindex'])}, "
                     f"want ({n!r}, {l.get('ifalias', '')!r}) (not re-sent after the change?)")
if "lk-renamed" not in end or end["r0"].get("ifalias") != "downlink: clients":
    fails.append("the link changes did not happen")
for f in fails[:30]:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if fails else 0)
EOF
rc=$?
((rc == 0)) || live_fail "interfaces (see above)"
live_log "interfaces: ok"
