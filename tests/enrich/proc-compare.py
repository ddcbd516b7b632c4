#!/usr/bin/python3
"""Compare proc-lookup-check's answers with what the programs said.

--roles: one line per program name, "name|exe|user|container|class|outfile";
the outfile holds the program's own lines: "FLOW proto lport rport pid hold"
(a client, one per socket) or "SERVES proto port pid" (a server).
--flows: proc-lookup-check's NEW/RETRY/RTT lines.

A NEW entry belongs to a client when its original source is local and
(proto, source port, destination port) is a FLOW of that client; to a
server when its original destination is local and (proto, destination
port) is what the server SERVES. Right means: found, and pid, comm (the
name, cut to 15 bytes as the kernel does), exe, user and container id all
equal. Class "long" (sockets living >= 100 ms) must reach --min-long;
"short" is reported. Exit 0 pass, 1 fail.
"""
import argparse
import collections
import sys


def load_roles(path):
    roles, clients, servers = {}, collections.defaultdict(list), {}
    for line in open(path):
        name, exe, user, cont, cls, out = line.rstrip("\n").split("|")
        roles[name] = dict(name=name, exe=exe, user=user, cont=cont or "-", cls=cls)
        try:
            lines = open(out).read().splitlines()
        except OSError:
            lines = []
        for ln in lines:
            f = ln.split()
            if f[:1] == ["FLOW"] and len(f) == 6:
                clients[(f[1], int(f[2]), int(f[3]))].append((name, int(f[4])))
            elif f[:1] == ["SERVES"] and len(f) == 4:
                servers[(f[1], int(f[2]))] = (name, int(f[3]))
    return roles, clients, servers


def load_flows(path):
    new, retry, rtt = [], {}, {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] in ("NEW", "RETRY"):
            r = dict(id=int(f[1]), proto=f[2], osrc=f[4], osport=int(f[5]), odst=f[6],
                     odport=int(f[7]), rc=int(f[12]), pid=int(f[13]), comm=f[14],
                     exe=f[15], user=f[16], cont=f[17], us=int(f[18]))
            if f[0] == "NEW":
                new.append(r)
            else:
                retry[r["id"]] = r
        elif f[0] == "RTT":
            rtt[int(f[1])] = (int(f[2]), int(f[3]))
    return new, retry, rtt


def expected(r, local, clients, servers):
    """(name, [pids]) the entry belongs to, or None."""
    if r["osrc"] in local:
        c = clients.get((r["proto"], r["osport"], r["odport"]))
        if c:
            return c[0][0], [pid for _, pid in c]
    if r["odst"] in local:
        s = servers.get((r["proto"], r["odport"]))
        if s:
            return s[0], [s[1]]
    return None


def right(r, role, pids):
    why = []
    if r["rc"] != 0:
        why.append("rc %d" % r["rc"])
    else:
        if r["pid"] not in pids:
            why.append("pid %d not %s" % (r["pid"], pids))
        if r["comm"] != role["name"][:15]:
            why.append("comm %s" % r["comm"])
        if r["exe"] != role["exe"]:
            why.append("exe %s" % r["exe"])
        if r["user"] != role["user"]:
            why.append("user %s" % r["user"])
        if r["cont"] != role["cont"]:
            why.append("container %s" % r["cont"])
    return why


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", required=True)
    ap.add_argument("--roles", required=True)
    ap.add_argument("--local", nargs="+", required=True)
    ap.add_argument("--min-long", type=float, default=0.99)
    a = ap.parse_args()

    roles, clients, servers = load_roles(a.roles)
    new, retry, rtt = load_flows(a.flows)
    per_role = collections.defaultdict(lambda: [0, 0, 0])   # right, total, right after retry
    per_cls = collections.defaultdict(lambda: [0, 0, 0])
    seen_client_keys, failures_shown, unmatched = set(), 0, 0
    tcp_long_ids = []

    for r in new:
        exp = expected(r, set(a.local), clients, servers)
        if not exp:
            unmatched += 1
            continue
        name, pids = exp
        role = roles[name]
        if r["osrc"] in a.local:
            seen_client_keys.add((r["proto"], r["osport"], r["odport"]))
        why = right(r, role, pids)
        after = why
        if why and r["id"] in retry:
            after = right(retry[r["id"]], role, pids)
        for d in (per_role[name], per_cls[role["cls"]]):
            d[0] += not why
            d[1] += 1
            d[2] += not after
        if role["cls"] == "long" and r["proto"] == "tcp":
            tcp_long_ids.append(r["id"])
        if why and role["cls"] == "long" and failures_shown < 20:
            failures_shown += 1
            print("# wrong (%s): %s %s:%d -> %s:%d: %s" % (name, r["proto"], r["osrc"],
                  r["osport"], r["odst"], r["odport"], ", ".join(why)))

    # flows a client made that never showed up as NEW count as wrong
    for key, owners in clients.items():
        if key not in seen_client_keys:
            for name, _ in owners:
                for d in (per_role[name], per_cls[roles[name]["cls"]]):
                    d[1] += 1
                print("# missing NEW for %s %s" % (name, key))

    print("# %-14s %-6s %s" % ("program", "class", "right at NEW (after one retry)"))
    for name in sorted(per_role):
        ok, n, ok2 = per_role[name]
        print("# %-14s %-6s %3d/%-3d (%d)" % (name, roles[name]["cls"], ok, n, ok2))
    for name in roles:
        if name not in per_role:
            print("# %-14s no flows" % name)
    res = {}
    for cls in ("long", "short"):
        ok, n, ok2 = per_cls[cls]
        res[cls] = ok / n if n else 0.0
        print("ATTRIBUTION %s: %d/%d = %.1f %% at NEW, %.1f %% after one retry of -EAGAIN"
              % (cls, ok, n, 100.0 * res[cls], 100.0 * ok2 / n if n else 0.0))
    with_rtt = sum(1 for i in tcp_long_ids if rtt.get(i, (1, 0))[0] == 0)
    print("# long-lived TCP entries with tcp_info at ESTABLISHED: %d/%d" %
          (with_rtt, len(tcp_long_ids)))
    print("# NEW entries of no program (not counted): %d" % unmatched)

    fail = False
    if per_cls["long"][1] < 100:
        print("FAIL: only %d long-lived flows" % per_cls["long"][1])
        fail = True
    if res["long"] < a.min_long:
        print("FAIL: long-lived attribution %.1f %% < %.1f %%" % (100 * res["long"],
              100 * a.min_long))
        fail = True
    if tcp_long_ids and with_rtt < len(tcp_long_ids) * 0.9:
        print("FAIL: tcp_info refresh missing for more than 10 % of long TCP flows")
        fail = True
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
