#!/bin/bash
# netns = all: namespaces that appear after ctflow started are followed,
# their records carry their netnsInode and their names go out in the
# namespace options records; a namespace that vanishes is let go.
#
# ctflow run --netns all (scan every second) --no-activate to an IPFIX file.
# After it started, namespaces X and Y are created (ip netns add), each
# with loopback traffic (UDP and TCP to an echo server on 127.0.0.1).
# ctflow must have turned on nf_conntrack_acct/timestamp in both by
# itself (the test does not). Then every process in Y is killed and Y
# deleted: ctflow must log that it let go of Y's inode within 5 s and no
# longer hold Y's namespace (no net:[INO] fd) nor its conntrack sockets
# (the NETLINK_NETFILTER sockets that Y's /proc/net/netlink listed with
# ctflow's socket inodes). X, still followed, then ends one more UDP flow
# by DESTROY while ctflow runs. Ground truth: `conntrack -L` in each
# namespace after its traffic. Checked on the IPFIX file, read by
# python3-ipfix and ipfixDump (which must agree): every flow of X and Y
# with conntrack's counters and the right netnsInode, Y's flows ended
# with reason 4 at the removal, X's last flow with reason 1 (its DESTROY);
# options records name X and Y by inode (python3-ipfix, and ipfixDump
# --rfc5610 by element name).
#
# --no-activate: the activity probe would create entries in every other
# namespace of the host (another test's, when suites run side by side).
. "$(dirname "$0")/lib-live.sh"
live_require

# the scan period from the environment: live_ctflow_start counts --netns*
# arguments as namespaces to wait for
export CTFLOW_CONNTRACK_NETNS_SCAN=1
live_ctflow_start "$T/ctflow.log" --netns all --no-activate --no-process --no-interfaces \
	-C "file:$T/all.ipfix"

# ns_followed INO: ctflow logged that it reads namespace INO
ns_followed() { grep -q "(netns $1): reading conntrack events" "$T/ctflow.log"; }
ns_let_go() { grep -q "(netns $1): let go" "$T/ctflow.log"; }

ctft_ns_new X x
ctft_ns_new Y y
IX=$(live_ino "$X")
IY=$(live_ino "$Y")
live_wait 5 ns_followed "$IX" || live_fail "$X (netns $IX) not followed within 5 s"
live_wait 5 ns_followed "$IY" || live_fail "$Y (netns $IY) not followed within 5 s"
live_log "ctflow follows $X ($IX) and $Y ($IY)"
for ns in "$X" "$Y"; do
	for k in acct timestamp; do
		[[ $(ctft_in "$ns" sysctl -n "net.netfilter.nf_conntrack_$k") == 1 ]] ||
			live_fail "ctflow did not turn on nf_conntrack_$k in $ns"
	done
	ctft_ct_enable "$ns"
	ctft_server "$ns"
done

ctft_udp "$X" 127.0.0.1 5 200 45001
ctft_tcp "$X" 127.0.0.1 4 300
ctft_udp "$Y" 127.0.0.1 3 100 46001
ctft_tcp "$Y" 127.0.0.1 2 500
sleep 0.2
ctft_in "$Y" conntrack -L -o extended,id >"$T/truth-y.txt" 2>/dev/null
[[ $(grep -c 'dport=7000 ' "$T/truth-y.txt") -ge 2 ]] || live_fail "Y: $(cat "$T/truth-y.txt")"

# ctflow's conntrack sockets in Y: Y's netfilter netlink sockets that are
# among ctflow's file descriptors
socks_in() {
	ctft_in "$1" awk '$2 == 12 { print $NF }' /proc/net/netlink | sort -u
}
ctflow_socks() {
	ls -l "/proc/$LIVE_PID/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | sort -u
}
comm -12 <(socks_in "$Y") <(ctflow_socks) >"$T/y-socks.txt"
[[ $(wc -l <"$T/y-socks.txt") -ge 2 ]] ||
	live_fail "ctflow holds $(wc -l <"$T/y-socks.txt") conntrack sockets in $Y, expected the event and dump sockets"
# ctflow's open files by device:inode (a namespace opened through its
# /run/netns name reads as that path in ls -l, not as net:[INODE])
ctflow_files() {
	local f
	for f in "/proc/$LIVE_PID"/fd/*; do stat -L -c '%d:%i' "$f" 2>/dev/null; done
}
DY=$(stat -L -c '%d:%i' "/run/netns/$Y")
ctflow_files | grep -qx "$DY" || live_fail "ctflow holds no reference to $Y ($DY)"

# Y vanishes: its processes first (the echo server), then its name
for ((i = 0; i < 50; i++)); do
	pids=$(ip netns pids "$Y")
	[[ -z $pids ]] && break
	kill $pids 2>/dev/null
	sleep 0.1
done
[[ -z $(ip netns pids "$Y") ]] || live_fail "processes left in $Y"
ctft_ns_del "$Y"
live_wait 5 ns_let_go "$IY" || live_fail "ctflow did not let go of $Y (netns $IY) within 5 s"
sleep 0.2
if ctflow_files | grep -qx "$DY"; then
	live_fail "ctflow still holds $Y's namespace open"
fi
left=$(comm -12 "$T/y-socks.txt" <(ctflow_socks) | wc -l)
((left == 0)) || live_fail "ctflow still holds $left of its conntrack sockets in $Y"
live_log "let go of $Y: no reference and none of its $(wc -l <"$T/y-socks.txt") conntrack sockets left"

# X is still read: a UDP flow that ends (DESTROY) while ctflow runs
ctft_in "$X" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 \
	net.netfilter.nf_conntrack_udp_timeout_stream=2
ctft_udp "$X" 127.0.0.1 2 50 45003
ctft_in "$X" conntrack -L -o extended,id >"$T/truth-x.txt" 2>/dev/null
grep -q 'sport=45003 ' "$T/truth-x.txt" || live_fail "X: no entry for 45003: $(cat "$T/truth-x.txt")"
gone_45003() { ! ctft_in "$X" conntrack -L 2>/dev/null | grep -q 'sport=45003 '; }
live_wait 10 gone_45003 || live_fail "45003 did not expire in $X"
sleep 0.5
live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run exited $LIVE_RC"

live_decode "$T/all.ipfix" "$T/all.jsonl"
ipfixDump --rfc5610 -i "$T/all.ipfix" >"$T/rfc5610.txt" 2>&1 || live_fail "ipfixDump --rfc5610"
for n in "$X" "$Y"; do
	grep -q "netnsName.*$n" "$T/rfc5610.txt" ||
		live_fail "ipfixDump --rfc5610 shows no netnsName $n"
done

"$LIVE_PY" - "$LIVE_DIR" "$T/all.jsonl" "$IX" "$X" "$T/truth-x.txt" "$IY" "$Y" "$T/truth-y.txt" <<'EOF' ||
import collections, sys
sys.path.insert(0, sys.argv[1])
import livecheck as lc
recs = lc.load_jsonl(sys.argv[2])
chk = lc.Check()
ns = [(int(sys.argv[3]), sys.argv[4], sys.argv[5]), (int(sys.argv[6]), sys.argv[7], sys.argv[8])]
opts = [r["options"] for r in recs if "options" in r and "netnsInode" in r["options"]]
for ino, name, truth in ns:
    named = {o.get("netnsName") for o in opts if o["netnsInode"] == ino}
    if name not in named:
        chk.fail(f"no namespace options record names {ino} {name} (saw {sorted(named)})")
    # (an inode is only unique among living namespaces: one of another
    # test, gone before X or Y was made, may have had the same)
    mine = [r for r in recs if "options" not in r and r.get("netns_ino") == ino]
    lc.check_flow_ids(chk, lc.by_flow(mine))
    n = matched = 0
    for e in lc.parse_ct([truth]):
        if e["dport"] != 7000 or e["dst"] != "127.0.0.1":
            continue
        n += 1
        rs = [r for r in mine if lc.rec_entry_key(r) == lc.entry_key(ino, e)]
        what = f"{name} {e['proto']}:{e['sport']}"
        if not rs:
            chk.fail(f"{what}: no record with netnsInode {ino}")
            continue
        matched += len(rs)
        if not e["has_counters"]:
            chk.fail(f"{what}: conntrack shows no counters (acct was not on)")
        for k in ("packets", "octets", "rev_packets", "rev_octets"):
            got = sum(r.get(k, 0) for r in rs)
            if got != e[k]:
                chk.fail(f"{what}: {k} {got}, conntrack {e[k]}")
        last = max(rs, key=lambda r: r["seq"])["end_reason"]
        want = 4 if name == ns[1][1] else 1 if e["sport"] == 45003 else None
        if want is not None and last != want:
            chk.fail(f"{what}: last flowEndReason {last}, expected {want}")
    chk.info[name] = {"netns": ino, "entries": n, "records": matched}
    if n < (3 if name == ns[0][1] else 2):
        chk.fail(f"{name}: only {n} entries in the ground truth")
chk.done()
EOF
	live_fail "records do not match conntrack's ground truth"
live_log "records of $X and $Y match conntrack; options records name both"
live_exit
