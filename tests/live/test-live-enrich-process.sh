#!/bin/bash
# Process attribution end to end: `ctflow run --netns A` exporting IPFIX to
# a file, decoded by python3-ipfix (and ipfixDump, which must agree on the
# flows), matched against what the programs that made the flows printed
# about themselves.
#
#   c (10.72.0.2) -- a (host: 10.70.0.1 / 10.72.0.1, forwards) -- b (10.70.0.2)
#
# Programs with distinct names in a (copies of ctft-peer, one python3 that
# renames itself with prctl(PR_SET_NAME), one running as user nobody) make
# TCP and UDP flows, IPv4 and IPv6, outgoing (connected and unconnected
# UDP) and incoming (accepted TCP, UDP servers); long-lived (sockets held
# 400 ms) and short (connect, send, close at once; also whole processes of a
# few ms). Each client prints "FLOW proto lport rport pid hold", each server
# "SERVES proto port pid". Flows b -> c are forwarded by a and UDP to a
# closed port of a has no socket: neither may name a process.
#
# Asserts: every flow exported; for sockets living >= 100 ms >= 99 % carry
# the right processId, processName (comm), processExecutable and userName
# (IANA 371; "nobody" for the nobody peer); no record names a wrong process
# or carries a field of another (a wrong answer is worse than none; a field
# left empty, e.g. the executable of a process that exited while it was
# read, counts as "partial"); forwarded and socketless flows have none.
# Reports the short-lived share.
. "$(dirname "$0")/lib-live.sh"
live_require
[[ -x ${CTFT_PEER:-} ]] || { echo "SKIP: CTFT_PEER (tests/enrich/ctft-peer.c) not built" >&2; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv not installed" >&2; exit 77; }

A4=10.70.0.1 A6=fd00:70::1 B4=10.70.0.2 B6=fd00:70::2 C4=10.72.0.2
HOLD=400	# long-lived sockets, ms

ctft_pair A B
ctft_ns_new C c
ctft_veth "$A" vc "$C" vca
ctft_addr "$A" vc 10.72.0.1/24
ctft_addr "$C" vca 10.72.0.2/24
ip -n "$B" route add 10.72.0.0/24 via $A4
ip -n "$C" route add default via 10.72.0.1
ctft_in "$A" sysctl -qw net.ipv4.ip_forward=1
ctft_ct_enable "$A"
ctft_ct_sysctls "$A" 1
chmod 755 "$T"	# user nobody runs a program from here
mkdir -p "$T/bin" "$T/out"
: >"$T/roles"

# role NAME SIDE USER EXE: one program; SIDE a (attributed) or w (the world)
role() {
	echo "$1|$2|$3|$4" >>"$T/roles"
}

# peer NS NAME [setpriv...] -- ARGS: a copy of ctft-peer called NAME in NS,
# in the background, output appended to out/NAME
peer() {
	local ns=$1 name=$2 pre=()
	shift 2
	[[ -x $T/bin/$name ]] || cp "$CTFT_PEER" "$T/bin/$name"
	while [[ $1 != -- ]]; do pre+=("$1"); shift; done
	shift
	ctft_bg ip netns exec "$ns" "${pre[@]}" "$T/bin/$name" "$@" >>"$T/out/$name" 2>&1
}

CLIENTS=()
client() { peer "$@"; CLIENTS+=($!); }
wait_clients() {
	local p
	for p in "${CLIENTS[@]}"; do wait "$p" || live_fail "a client failed, see $T/out"; done
	CLIENTS=()
}

wait_ready() {	# wait_ready NAME COUNT
	live_wait 10 eval "(( \$(grep -c READY '$T/out/$1' 2>/dev/null) >= $2 ))" ||
		live_fail "$1: servers not ready: $(cat "$T/out/$1" 2>/dev/null)"
}

# a python3 client that names itself (comm != executable's name)
cat >"$T/bin/pyclient.py" <<'EOF'
import ctypes, os, socket, sys, time
ctypes.CDLL(None).prctl(15, b"ctfpy-udp", 0, 0, 0)     # PR_SET_NAME
dst, port, count, hold_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
held = []
for i in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, port))
    s.send(b"hello\n")
    print(f"FLOW udp {s.getsockname()[1]} {port} {os.getpid()} {hold_ms}", flush=True)
    held.append(s)
    time.sleep(0.02)
time.sleep(hold_ms / 1000)
EOF

# ---- servers --------------------------------------------------------------
role ctfw-srv w root -
peer "$B" ctfw-srv -- tcp-server :: 7100 --hold 2000 --lifetime 30000
peer "$B" ctfw-srv -- udp-server :: 7100 --lifetime 30000
peer "$C" ctfw-srv -- tcp-server 0.0.0.0 7300 --hold 0 --lifetime 30000
peer "$C" ctfw-srv -- udp-server 0.0.0.0 7300 --lifetime 30000
for name in ctfi-tcp4 ctfi-tcp6 ctfi-udp ctfi-short; do role $name a root "$T/bin/$name"; done
peer "$A" ctfi-tcp4 -- tcp-server 0.0.0.0 7201 --hold $HOLD --lifetime 30000
peer "$A" ctfi-tcp6 -- tcp-server :: 7202 --hold $HOLD --lifetime 30000
peer "$A" ctfi-udp -- udp-server :: 7203 --lifetime 30000
peer "$A" ctfi-short -- tcp-server :: 7205 --hold 0 --lifetime 30000
wait_ready ctfw-srv 4
for name in ctfi-tcp4 ctfi-tcp6 ctfi-udp ctfi-short; do wait_ready $name 1; done

live_ctflow_start "$T/ctflow.log" --netns "$A" -C "file:$T/out.ipfix"

# ---- traffic ----------------------------------------------------------------
L=(--count 8 --gap 20 --hold "$HOLD")
S=(--count 12 --gap 15 --hold 0)
PY3=$(readlink -f "$LIVE_PY")
for n in ctfo-tcp4 ctfo-tcp6 ctfo-udp4c ctfo-udp6u ctfo-nobody ctfs-tcp ctfs-udpu ctfx-tcp ctfx-udp; do
	role $n a "$([[ $n == ctfo-nobody ]] && echo nobody || echo root)" "$T/bin/$n"
done
role ctfpy-udp a root "$PY3"
# outgoing, long
client "$A" ctfo-tcp4 -- tcp-client $B4 7100 "${L[@]}"
client "$A" ctfo-tcp6 -- tcp-client $B6 7100 "${L[@]}"
client "$A" ctfo-udp4c -- udp-client $B4 7100 "${L[@]}"
client "$A" ctfo-udp6u -- udp-client $B6 7100 "${L[@]}" --unconnected
client "$A" ctfo-nobody setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	tcp-client $B4 7100 "${L[@]}"
ctft_bg ip netns exec "$A" "$LIVE_PY" "$T/bin/pyclient.py" $B4 7100 8 $HOLD >>"$T/out/ctfpy-udp" 2>&1
CLIENTS+=($!)
# incoming: the world's clients to a's servers
role ctfw-cli w root -
client "$B" ctfw-cli -- tcp-client $A4 7201 "${L[@]}"
client "$B" ctfw-cli -- tcp-client $A6 7202 "${L[@]}"
client "$B" ctfw-cli -- udp-client $A4 7203 "${L[@]}"
client "$B" ctfw-cli -- udp-client $A6 7203 "${L[@]}"
# short sockets of long-lived processes, outgoing and incoming
client "$A" ctfs-tcp -- tcp-client $B4 7100 "${S[@]}"
client "$A" ctfs-udpu -- udp-client $B6 7100 "${S[@]}" --unconnected
client "$B" ctfw-cli -- tcp-client $A6 7205 "${S[@]}"
# forwarded (b -> c through a) and socketless (nothing listens on a:7999)
role ctfw-fwd w root -
role ctfw-none w root -
client "$B" ctfw-fwd -- tcp-client $C4 7300 --count 8 --gap 20
client "$B" ctfw-fwd -- udp-client $C4 7300 --count 8 --gap 20
client "$B" ctfw-none -- udp-client $A4 7999 --count 6 --gap 20
wait_clients
# whole processes of a few ms, one flow each
cp "$CTFT_PEER" "$T/bin/ctfx-tcp"
cp "$CTFT_PEER" "$T/bin/ctfx-udp"
for ((i = 0; i < 10; i++)); do
	ctft_in "$A" "$T/bin/ctfx-tcp" tcp-client $B4 7100 >>"$T/out/ctfx-tcp" 2>&1
	ctft_in "$A" "$T/bin/ctfx-udp" udp-client $B6 7100 >>"$T/out/ctfx-udp" 2>&1
done
sleep 0.5	# the last events reach ctflow
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"
live_log "$(grep 'enrichment:' "$T/ctflow.log")"
live_decode "$T/out.ipfix" "$T/records.jsonl"

# ---- judge ----------------------------------------------------------------
"$LIVE_PY" - "$T" "$A4 $A6" "$B4 $B6" "$C4" <<'EOF'
import collections, json, sys

T, A, B, C = sys.argv[1], set(sys.argv[2].split()), set(sys.argv[3].split()), set(sys.argv[4].split())
roles = {}
for line in open(f"{T}/roles"):
    name, side, user, exe = line.rstrip("\n").split("|")
    roles[name] = dict(side=side, user=user, exe=exe)
clients, servers = [], {}
for name in roles:
    try:
        lines = open(f"{T}/out/{name}").read().splitlines()
    except OSError:
        continue
    for ln in lines:
        f = ln.split()
        if f[:1] == ["FLOW"] and len(f) == 6:
            clients.append(dict(name=name, proto=f[1], lport=int(f[2]), rport=int(f[3]),
                                pid=int(f[4]), hold=int(f[5])))
        elif f[:1] == ["SERVES"] and len(f) == 4:
            servers[(name, f[1], int(f[2]))] = int(f[3])
server_of = {(p, port): (n, pid) for (n, p, port), pid in servers.items() if roles[n]["side"] == "a"}
SERVER_HOLD = {"ctfi-tcp4": 400, "ctfi-tcp6": 400, "ctfi-udp": 10**6, "ctfi-short": 0}
PROTO = {"tcp": 6, "udp": 17}

recs = [json.loads(l) for l in open(f"{T}/records.jsonl")]
flows = collections.defaultdict(list)        # (proto, sport, dport) -> records
for r in recs:
    if "options" in r or r["proto"] not in (6, 17):
        continue
    flows[(r["proto"], r["sport"], r["dport"])].append(r)

# expected owner per flow: (class, name, pid) or (kind, None, None) for no process
expect = {}
for c in clients:
    key = (PROTO[c["proto"]], c["lport"], c["rport"])
    side = roles[c["name"]]["side"]
    if side == "a":
        cls = "long" if c["hold"] >= 100 else "short"
        if c["name"].startswith("ctfx-"):
            cls = "short"
        expect[key] = (cls, c["name"], c["pid"])
    elif c["name"] == "ctfw-fwd":
        expect[key] = ("forwarded", None, None)
    elif c["name"] == "ctfw-none":
        expect[key] = ("nosocket", None, None)
    else:
        name, pid = server_of[(c["proto"], c["rport"])]
        cls = "long" if min(SERVER_HOLD[name], c["hold"] or 10**6) >= 100 else "short"
        expect[key] = (cls, name, pid)

fails = []
stat = collections.defaultdict(lambda: collections.Counter())
rtt = collections.Counter()
for key, (cls, name, pid) in sorted(expect.items()):
    rs = flows.get(key)
    st = stat[cls]
    st["flows"] += 1
    if not rs:
        fails.append(f"{cls} flow {key} ({name or cls}) not exported")
        st["not_exported"] += 1
        continue
    owners = {tuple(sorted((k, v) for k, v in r.get("other", {}).items()
                           if k in ("processId", "processName", "processExecutable", "userName")))
              for r in rs}
    if len(owners) > 1:
        fails.append(f"flow {key}: records disagree on the process: {owners}")
    o = dict(next(iter(owners)))
    if name is None:
        if o:
            fails.append(f"{cls} flow {key} has a process: {o}")
            st["wrong"] += 1
        else:
            st["right"] += 1
        continue
    if not o.get("processId"):
        st["missing"] += 1
        continue
    role = roles[name]
    want = {"processId": pid, "processName": name[:15], "processExecutable": role["exe"],
            "userName": role["user"]}
    if name == "ctfpy-udp":
        want["processName"] = "ctfpy-udp"
    bad = {k: (o.get(k), v) for k, v in want.items() if o.get(k) != v}
    if any(got not in ("", None) for got, _ in bad.values()):
        st["wrong"] += 1
        fails.append(f"{cls} flow {key} of {name}: wrong {bad}")
    elif bad:       # e.g. no executable: the process exited while being read
        st["partial"] += 1
    else:
        st["right"] += 1
    if key[0] == 6 and cls == "long" and role["side"] == "a":
        rtt["tcp"] += 1
        rtt["with_rtt"] += any(r.get("other", {}).get("tcpRttMicroseconds") for r in rs)

summary = {cls: dict(st) for cls, st in stat.items()}
for cls in ("long", "short"):
    st = stat[cls]
    summary[cls]["right_share"] = round(st["right"] / st["flows"], 4) if st["flows"] else None
summary["tcp_long_with_rtt"] = f'{rtt["with_rtt"]}/{rtt["tcp"]}'
print("# " + json.dumps(summary), file=sys.stderr)
L = stat["long"]
if L["flows"] < 50:
    fails.append(f"only {L['flows']} long-lived flows in the ground truth")
elif L["right"] < 0.99 * L["flows"]:
    fails.append(f"long-lived: {L['right']}/{L['flows']} attributed right (< 99 %)")
for cls in ("forwarded", "nosocket"):
    if stat[cls]["flows"] < 5:
        fails.append(f"only {stat[cls]['flows']} {cls} flows in the ground truth")
if not any(roles[n]["user"] == "nobody" for (_, n, _) in expect.values() if n) or \
        not any(c["name"] == "ctfo-nobody" for c in clients):
    fails.append("the nobody peer made no flow")
for f in fails[:30]:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if fails else 0)
EOF
rc=$?
((rc == 0)) || live_fail "process attribution (see above)"
live_log "process attribution: ok"
