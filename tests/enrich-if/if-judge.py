#!/usr/bin/python3
"""Judge if-check's output against the router's own view (ip -j).

Ground truth per flow, from the router's addresses and prefixes:
  ingress = the interface whose prefix holds the original source, 0 when
            the source is one of the router's own addresses;
  egress  = the interface whose prefix holds the reply's source (the
            post-DNAT destination), 0 when it is the router's own.
Flows with link-local or multicast addresses are not judged (none are
expected; they are counted).

Asserts: full (samples + routes) and route (routes only) right for both
fields on >= 99 % of flows; samp and cfg (samples only) never wrong when
they answer (unknown is allowed), cfg never names an interface it does not
capture; the link table equals `ip -j link` (ifindex, name, alias) and
moved on during the run. Prints the measured shares either way.
"""
import argparse
import ipaddress
import json
import sys

ENRICHERS = ("full", "samp", "route", "cfg")


def load_truth(addrs_file):
    local, nets = set(), []
    for link in json.load(open(addrs_file)):
        for a in link.get("addr_info", []):
            ip = ipaddress.ip_address(a["local"])
            local.add(ip)
            if ip.is_link_local or ip.is_loopback:
                continue
            nets.append((ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False),
                         link["ifindex"]))
    return local, nets


def expect(addr, local, nets):
    ip = ipaddress.ip_address(addr)
    if ip.is_link_local or ip.is_multicast:
        return None
    if ip in local:
        return 0
    for net, idx in nets:
        if ip in net:
            return idx
    return None


def parse_out(path):
    flows, links, stats, cost, gens, probes = [], {}, {}, {}, None, []
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("FLOW "):
            kv = dict(t.split("=", 1) for t in line.split()[1:])
            f = {"proto": int(kv["proto"]), "osrc": kv["osrc"], "rsrc": kv["rsrc"]}
            for e in ENRICHERS:
                i, o, src = kv[e].split("/")
                f[e] = (int(i), int(o), src)
            flows.append(f)
        elif line.startswith("LINK "):
            head, _, alias = line[5:].partition("\t")
            idx, name = head.split(" ", 1)
            links[int(idx)] = (name, alias)
        elif line.startswith("STATS "):
            t = line.split()
            stats[t[1]] = {k: int(v) for k, v in (x.split("=") for x in t[2:])}
        elif line.startswith("COST "):
            t = line.split()
            cost[t[1]] = t[2]
        elif line.startswith("PROBE "):
            kv = dict(t.split("=", 1) for t in line.split()[1:])
            probes.append({e: tuple(int(x) for x in kv[e].split("/")[:2]) for e in ENRICHERS})
        elif line.startswith("FILTER-END cfg "):
            cost["cfg-filter"] = line[len("FILTER-END cfg "):]
        elif line.startswith("LINKGEN "):
            gens = [int(x.split("=")[1]) for x in line.split()[1:]]
    return flows, links, stats, cost, gens, probes


def pct(a, b):
    return 100.0 * a / b if b else 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--links", required=True)
    p.add_argument("--addrs", required=True)
    p.add_argument("--unsampled", default="", help="interface cfg does not capture")
    p.add_argument("--min-flows", type=int, default=1)
    p.add_argument("--probe-expect", default="",
                   help="ingress,egress interface names per probe step: r0:-,r0:r1,...")
    args = p.parse_args()

    failures = []
    local, nets = load_truth(args.addrs)
    flows, links, stats, cost, gens, probes = parse_out(args.out)
    kernel_links = {l["ifindex"]: (l["ifname"], l.get("ifalias", ""))
                    for l in json.load(open(args.links))}
    unsampled = {i for i, (n, _) in kernel_links.items() if n == args.unsampled}

    judged, skipped = [], 0
    for f in flows:
        ei, eo = expect(f["osrc"], local, nets), expect(f["rsrc"], local, nets)
        if ei is None or eo is None:
            skipped += 1
            continue
        judged.append((f, ei, eo))
    n = len(judged)
    print(f"# flows: {len(flows)} ({n} judged, {skipped} not judged)")
    if n < args.min_flows:
        failures.append(f"only {n} flows judged, expected at least {args.min_flows}")

    for e in ENRICHERS:
        both = wrong = known = fields = 0
        by_src = {"S": 0, "R": 0, "U": 0}
        claims_unsampled = 0
        for f, ei, eo in judged:
            gi, go, src = f[e]
            both += gi == ei and go == eo
            for got, exp, s in ((gi, ei, src[0]), (go, eo, src[1])):
                by_src[s] += 1
                if exp:
                    fields += 1
                if got:
                    known += 1
                    wrong += got != exp
                    claims_unsampled += got in unsampled
        print(f"# {e:5}: both right {both}/{n} = {pct(both, n):.2f} %; "
              f"non-zero answers {known}, wrong {wrong}; fields by source "
              f"sampled {pct(by_src['S'], 2 * n):.1f} % routed {pct(by_src['R'], 2 * n):.1f} % "
              f"unknown {pct(by_src['U'], 2 * n):.1f} %; coverage of non-local fields "
              f"{pct(min(known, fields), fields):.1f} %")
        if e in ("full", "route") and pct(both, n) < 99.0:
            failures.append(f"{e}: only {pct(both, n):.2f} % of flows right")
        if e in ("samp", "cfg") and wrong:
            failures.append(f"{e}: {wrong} wrong answers from samples")
        if e in ("samp", "cfg", "full") and known == 0:
            failures.append(f"{e}: samples answered nothing")
        if e == "cfg" and claims_unsampled:
            failures.append(f"cfg: {claims_unsampled} answers name an interface it does not capture")
        if e == "full" and by_src["S"] == 0:
            failures.append("full: no field answered by samples")

    for e, s in stats.items():
        print(f"# stats {e}: " + " ".join(f"{k}={v}" for k, v in s.items()))
    # what the capture kept of what crossed the router's interfaces (each
    # forwarded packet crosses two: received on one, sent on another)
    copies = sum(l.get("stats64", {}).get(d, {}).get("packets", 0)
                 for l in json.load(open(args.links)) if l["ifname"] != "lo"
                 for d in ("rx", "tx"))
    for e, s in stats.items():
        if s.get("frames"):
            print(f"# capture {e}: {s['frames']} frames of {copies} packet copies "
                  f"({pct(s['frames'], copies):.1f} %), {s['cpu_us']} µs CPU in "
                  f"ctf_if_enricher_process() (all-in: includes the idle polls of the run)")
    for e, c in cost.items():
        if e != "cfg-filter":
            print(f"# cost {e}: {c}")
    # cfg follows its interfaces by name: renamed away, lk0 leaves the filter
    head = cost.get("cfg-filter", "").split(") and ", 1)[0]
    by_name = {n: i for i, (n, _) in kernel_links.items()}
    want_head = f"(ifindex {by_name.get('r0')} or ifindex {by_name.get('r1')}"
    print(f"# cfg filter at the end: {head})")
    if head != want_head:
        failures.append(f"cfg filter at the end starts {head!r}, want {want_head!r}")
    if stats.get("full", {}).get("route_queries", 0) == 0:
        failures.append("full: no route lookup was made")

    # route answers after routing changes (the cache must have been flushed)
    by_name = {n: i for i, (n, _) in kernel_links.items()}
    want = [tuple(by_name.get(x, 0) for x in step.split(":"))
            for step in args.probe_expect.split(",") if step]
    got = [p["route"] for p in probes]
    print(f"# route probe: got {got}, want {want}")
    if got != want:
        failures.append(f"route probe: got {got}, want {want}")
    if want and stats.get("route", {}).get("route_flushes", 0) < len(want) - 1:
        failures.append("route: the cache was not flushed on each routing change")
    if want and [p["full"] for p in probes] != want:
        failures.append(f"route probe (full): got {[p['full'] for p in probes]}, want {want}")

    # the link table, after links were added, renamed and given aliases
    if links != kernel_links:
        for idx in sorted(set(links) | set(kernel_links)):
            if links.get(idx) != kernel_links.get(idx):
                failures.append(f"link {idx}: enricher {links.get(idx)} kernel {kernel_links.get(idx)}")
    names = {v[0]: v[1] for v in links.values()}
    if names.get("r1") != "uplink: server" or "lk-renamed" not in names or \
            names.get("lk1") != "spare port":
        failures.append(f"link table missed the changes made during the run: {names}")
    if not gens or gens[1] <= gens[0]:
        failures.append(f"link generation did not move: {gens}")
    print(f"# links: {len(links)} interfaces, generation {gens}")

    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
