#!/usr/bin/python3
"""Decode what `ctflow run` exported and compare it with conntrack's own view.

  livecheck.py decode [--pen N] FILE...            IPFIX file(s) -> JSON lines (python3-ipfix)
  livecheck.py ipfixdump DUMP.txt                  `ipfixDump -i FILE` text -> JSON lines
  livecheck.py ct FILE...                          `conntrack -L/-E -o extended,id` -> JSON lines
  livecheck.py check SCENARIO --records R.jsonl [options]

Decoded records use the keys of ctflow's JSON view (src, dst, sport,
packets, rev_octets, flow_id, end_reason, nat_event, post_src, ...).
`check` prints a JSON summary on stdout, one "FAIL: ..." line per
mismatch on stderr, and exits 1 when anything is wrong. Scenarios are
described in tests/live/README.md; each has its own function below.
"""
import argparse
import collections
import datetime
import ipaddress
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ctflow_ipfix import DATA_TIDS, LAYOUT, use_ctflow_ies  # noqa: E402

KEYS = {
    "flowStartMilliseconds": "start_ms", "flowEndMilliseconds": "end_ms",
    "octetDeltaCount": "octets", "packetDeltaCount": "packets",
    "reverseOctetDeltaCount": "rev_octets", "reversePacketDeltaCount": "rev_packets",
    "flowId": "flow_id",
    "sourceIPv4Address": "src", "destinationIPv4Address": "dst",
    "sourceIPv6Address": "src", "destinationIPv6Address": "dst",
    "postNATSourceIPv4Address": "post_src", "postNATDestinationIPv4Address": "post_dst",
    "postNATSourceIPv6Address": "post_src", "postNATDestinationIPv6Address": "post_dst",
    "ctZone": "ct_zone", "ctMark": "ct_mark", "netnsInode": "netns_ino",
    "conntrackId": "ct_id",
    "sourceTransportPort": "sport", "destinationTransportPort": "dport",
    "postNAPTSourceTransportPort": "post_sport",
    "postNAPTDestinationTransportPort": "post_dport",
    "icmpTypeCodeIPv4": "icmp_type_code", "icmpTypeCodeIPv6": "icmp_type_code",
    "tcpControlBits": "tcp_flags", "reverseTcpControlBits": "rev_tcp_flags",
    "protocolIdentifier": "proto", "flowEndReason": "end_reason", "natEvent": "nat_event",
    "ingressInterface": "ingress_if", "egressInterface": "egress_if",
}
ADDR = {"src", "dst", "post_src", "post_dst"}
PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def norm(key, v):
    if key in ADDR:
        return str(ipaddress.ip_address(v))
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return round(v.timestamp() * 1000)
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    return int(v)


def to_record(names, vals, seq, tid=None):
    r = {"seq": seq}
    if tid is not None:
        r["tid"] = tid
    for n, v in zip(names, vals):
        if n in KEYS:
            r[KEYS[n]] = norm(KEYS[n], v)
        elif n != "paddingOctets":
            r.setdefault("other", {})[n] = norm(n, v) if not isinstance(v, str) else v
    r["family"] = 6 if ":" in r.get("src", "") else 4
    for k in ("packets", "octets", "rev_packets", "rev_octets", "sport", "dport",
              "nat_event", "post_sport", "post_dport", "icmp_type_code"):
        r.setdefault(k, 0)
    return r


# ---- decoders ---------------------------------------------------------------

def decode_files(files, pen):
    """python3-ipfix; yields data records and options records ("options": {...})."""
    import ipfix.message
    use_ctflow_ies(pen)
    seq = 0
    for path in files:
        data = open(path, "rb").read()
        msg = ipfix.message.MessageBuffer()

        def dec(tmpl, buf, offset, recinf=None):
            vals, offset = tmpl.decode_from(buf, offset)
            return (tmpl.tid, [ie.name for ie in tmpl.ies], vals), offset

        off = 0
        while off + 16 <= len(data):
            length = struct.unpack_from(">H", data, off + 2)[0]
            if length < 16 or length > len(data) - off:
                print(f"livecheck: {path}: message cut short at offset {off}", file=sys.stderr)
                break
            msg.from_bytes(data[off:off + length])
            off += length
            for tid, names, vals in msg.record_iterator(decode_fn=dec):
                seq += 1
                if tid in DATA_TIDS:        # a data template (both families)
                    yield to_record(names, vals, seq, tid)
                elif "flowId" in names:
                    raise SystemExit(f"livecheck: {path}: data record in template {tid} "
                                     f"({tid:#x}), not a data Template ID of layout {LAYOUT}")
                else:
                    opts = {}
                    for n, v in zip(names, vals):
                        if n == "paddingOctets":
                            continue
                        key = n if n not in opts else n + "#2"     # the time pair
                        opts[key] = norm(n, v) if not isinstance(v, str) else v
                    yield {"seq": seq, "tid": tid, "options": opts}


def decode_ipfixdump(path):
    """`ipfixDump -i FILE` text (second, independent reader). Plain string
    operations: the text of 60,000 records is 1.7 M lines."""
    seq, tid, names, vals, in_tmpl = 0, None, [], [], False
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

    def value(name, raw):
        raw = raw.strip()
        if name.endswith("Milliseconds"):
            d, t = raw.split(" ")
            y, mo, dd = d.split("-")
            hh, mi, ss = t.split(":")
            sec, _, frac = ss.partition(".")
            dt = datetime.datetime(int(y), int(mo), int(dd), int(hh), int(mi), int(sec),
                                   tzinfo=datetime.timezone.utc)
            return int((dt - epoch).total_seconds()) * 1000 + int((frac + "000")[:3])
        if KEYS.get(name) in ADDR:
            return raw
        try:
            return int(raw)
        except ValueError:
            return raw

    out = []

    def flush():
        nonlocal seq
        if tid is not None and not in_tmpl and "flowId" in names:
            seq += 1
            out.append(to_record(names, vals, seq))

    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("\t("):
                if tid is None or in_tmpl:
                    continue
                left, sep, right = line.partition(" : ")
                if not sep:
                    continue
                name = left.split()[-1]
                if name != "paddingOctets":
                    names.append(name)
                    vals.append(value(name, right))
            elif line.startswith("--- data record"):
                flush(); in_tmpl = False; tid, names, vals = None, [], []
            elif line.startswith("\tcount:"):
                if not in_tmpl:
                    tid = int(line.split("tid:")[1].split()[0])
            elif line.startswith("--- template record") or line.startswith("--- options template"):
                flush(); tid = None; in_tmpl = True
            elif line.startswith("--- Message Header") or line.startswith("***"):
                flush(); tid = None
    flush()
    return out


TUPLE_KEYS = {"src", "dst", "sport", "dport", "type", "code", "id", "packets", "bytes"}


def parse_ct_line(line):
    """One line of `conntrack -L|-E -o extended,id[,timestamp]`; None if not an entry."""
    ev = None
    m = re.match(r"^\s*(?:\[\d+\.\d+\]\s+)?\[(NEW|UPDATE|DESTROY)\]\s+(.*)$", line)
    if m:
        ev, line = m.group(1), m.group(2)
    toks = line.split()
    if len(toks) < 4 or toks[0] not in ("ipv4", "ipv6") or "src=" not in line:
        return None
    e = {"event": ev, "family": 4 if toks[0] == "ipv4" else 6, "proto": int(toks[3])}
    starts = [i for i, t in enumerate(toks) if t.startswith("src=")]
    if len(starts) < 2:
        return None
    tuples = []
    for n, i in enumerate(starts[:2]):
        t = {}
        end = starts[1] if n == 0 else len(toks)
        for tok in toks[i:end]:
            k, _, v = tok.partition("=")
            if not _ or k not in TUPLE_KEYS or k in t:
                break
            t[k] = v
        tuples.append(t)
    states = [t for t in toks[4:starts[0]] if re.fullmatch(r"[A-Z_]+", t)]
    if states:
        e["state"] = states[0]
    o, r = tuples
    e["src"], e["dst"] = str(ipaddress.ip_address(o["src"])), str(ipaddress.ip_address(o["dst"]))
    e["sport"], e["dport"] = int(o.get("sport", 0)), int(o.get("dport", 0))
    e["r_src"], e["r_dst"] = str(ipaddress.ip_address(r["src"])), str(ipaddress.ip_address(r["dst"]))
    e["r_sport"], e["r_dport"] = int(r.get("sport", 0)), int(r.get("dport", 0))
    e["icmp_id"], e["r_icmp_id"] = int(o.get("id", 0)), int(r.get("id", 0))
    e["has_counters"] = "packets" in o
    e["packets"], e["octets"] = int(o.get("packets", 0)), int(o.get("bytes", 0))
    e["rev_packets"], e["rev_octets"] = int(r.get("packets", 0)), int(r.get("bytes", 0))
    ids = [t for t in toks if t.startswith("id=")]
    e["id"] = int(ids[-1][3:])
    for t in toks:
        if t.startswith("zone="):
            e["zone"] = int(t[5:])
        elif t.startswith("mark="):
            e["mark"] = int(t[5:])
    # ctflow's activity probe at start: a loopback UDP entry it deletes itself
    e["userspace"] = "[USERSPACE]" in toks
    e["nat"] = (e["src"], e["dst"], e["sport"], e["dport"]) != \
        (e["r_dst"], e["r_src"], e["r_dport"], e["r_sport"])
    return e


def parse_ct(paths):
    out = []
    for p in paths:
        for line in open(p, errors="replace"):
            e = parse_ct_line(line)
            if e:
                out.append(e)
    return out


def load_jsonl(path):
    return [json.loads(l) for l in open(path) if l.strip()]


# ---- checks -----------------------------------------------------------------

class Check:
    """Failures carry a class: "hard" by default, or the name of a property
    (counters, missing, late) that a test may declare as a known ctflow bug
    with --xfail CLASS. Exit status: 0 all good, 1 only --xfail classes
    failed (the known bug is still there), 2 anything else failed."""
    xfail = set()

    def __init__(self):
        self.fails = []
        self.info = collections.OrderedDict()

    def fail(self, msg, cls="hard"):
        self.fails.append((cls, msg))

    def done(self):
        for cls, f in self.fails[:40]:
            tag = f"FAIL [known bug: {cls}]" if cls in self.xfail else "FAIL"
            print(f"{tag}: {f}", file=sys.stderr)
        if len(self.fails) > 40:
            print(f"FAIL: ... and {len(self.fails) - 40} more", file=sys.stderr)
        self.info["failures"] = len(self.fails)
        by_cls = collections.Counter(c for c, _ in self.fails)
        if by_cls:
            self.info["failures_by_class"] = dict(by_cls)
        print(json.dumps(self.info))
        if any(c not in self.xfail for c in by_cls):
            sys.exit(2)
        sys.exit(1 if self.fails else 0)


def by_flow(recs):
    flows = collections.OrderedDict()
    for r in recs:
        if "options" in r:
            continue
        flows.setdefault(r["flow_id"], []).append(r)
    return flows


def tuple_of(x):
    return (x["proto"], x["src"], x["dst"], x["sport"], x["dport"])


def tkey(x):
    """The original tuple of a record or conntrack entry (ports: TCP/UDP only)."""
    p = x["proto"]
    return (p, x["src"], x["dst"], x["sport"] if p in (6, 17) else 0,
            x["dport"] if p in (6, 17) else 0)


def entry_key(ino, e):
    """(netns inode, conntrack id, original tuple) of a conntrack entry."""
    return (ino, e["id"], tkey(e))


def rec_entry_key(r):
    """The same key from a record's netnsInode, conntrackId and tuple."""
    return (r.get("netns_ino"), r.get("ct_id"), tkey(r))


def check_flow_ids(chk, flows):
    """flowId is ctflow's own unique counter: every record of one flowId
    names the same conntrack entry (netns, conntrack id, tuple)."""
    for fid, rs in flows.items():
        keys = {rec_entry_key(r) for r in rs}
        if len(keys) > 1:
            chk.fail(f"flowId {fid:#x} names {len(keys)} conntrack entries: {sorted(keys)}")


def pair_flows(flows, truth, ino):
    """Pair each conntrack entry of @truth (a list, in time order) with the
    flowId of the same (netns, conntrack id, tuple). The kernel reuses ids
    (a new entry of one tuple often gets the id of the last one), so one
    key may name several entries and several flowIds: they pair in time
    order, the flowIds by their first record's start. Returns
    [(entry, flowId or None)] in @truth's order and the flowIds paired
    with no entry."""
    groups = collections.defaultdict(list)
    for fid, rs in flows.items():
        groups[rec_entry_key(rs[0])].append(fid)
    for g in groups.values():
        g.sort(key=lambda f: (min(r["start_ms"] for r in flows[f]), f))
    nth = collections.Counter()
    used, out = set(), []
    for t in truth:
        k = entry_key(ino, t)
        g = groups.get(k, [])
        fid = g[nth[k]] if nth[k] < len(g) else None
        nth[k] += 1
        if fid is not None:
            used.add(fid)
        out.append((t, fid))
    return out, [f for f in flows if f not in used]


def merge_truth(chk, snapshot, events, moved=True):
    """Conntrack entries, in time order: every DESTROY event is one entry
    (ids are reused: successive entries may share id and tuple), then the
    snapshot's entries no DESTROY ended (several snapshots: the last line
    of a key stands for it). A snapshot entry with a DESTROY of
    its (id, tuple) is the latest such entry; with @moved the two must
    agree on the counters (the traffic had ended before the snapshot). The
    DESTROY (final counters) stands for it. ctflow's activity probe, seen
    only in events, is left out."""
    snap_keys = {entry_key(0, e) for e in snapshot}
    out, last = [], {}
    for d in events:
        if d["event"] != "DESTROY":
            continue
        k = entry_key(0, d)
        if is_probe_entry(d) and k not in snap_keys:
            continue
        out.append(d)
        last[k] = d
    latest = collections.OrderedDict()     # one entry per key: the last line wins
    for e in snapshot:                      # (snapshots in time order)
        latest.pop(entry_key(0, e), None)
        latest[entry_key(0, e)] = e
    for k, e in latest.items():
        d = last.get(k)
        if d is None:
            out.append(e)
        elif moved and any(d[c] != e[c] for c in COUNTERS):
            chk.fail(f"ground truth moved: id={e['id']} conntrack -L {[e[c] for c in COUNTERS]} "
                     f"DESTROY {[d[c] for c in COUNTERS]}")
    return out


def is_probe_entry(e):
    """A conntrack entry of ctflow's activity probe (kernel-settings.c): one
    12-octet datagram on loopback, never answered, deleted by ctflow."""
    return e["userspace"] and e["proto"] == 17 and e["src"] in ("127.0.0.1", "::1") and \
        e["packets"] == 1 and e["rev_packets"] == 0 and \
        e["octets"] == (40 if e["src"] == "127.0.0.1" else 60)


def is_probe(recs):
    """Another ctflow's activity probe (kernel-settings.c): one 12-octet
    datagram ("ctflow-probe") on loopback, deleted by that ctflow."""
    r = recs[0]
    return r["proto"] == 17 and r["src"] in ("127.0.0.1", "::1") and \
        sum(x["packets"] for x in recs) == 1 and \
        sum(x["octets"] for x in recs) == (40 if r["src"] == "127.0.0.1" else 60)


def final_reason_ok(recs):
    return [r["end_reason"] for r in recs[:-1]] == [2] * (len(recs) - 1) and \
        recs[-1]["end_reason"] != 2


COUNTERS = ("packets", "octets", "rev_packets", "rev_octets")


def compare_flow(chk, fid, truth, recs, what, nat_events=True):
    """One conntrack entry vs every record of its flowId."""
    name = f"{what} flow {fid:#x} ({truth['proto']} {truth['src']}:{truth['sport']} -> " \
           f"{truth['dst']}:{truth['dport']} id={truth['id']})"
    for k in ("packets", "octets", "rev_packets", "rev_octets"):
        got = sum(r[k] for r in recs)
        if got != truth[k]:
            chk.fail(f"{name}: sum of {k} = {got}, conntrack says {truth[k]} "
                     f"(records: {[(r[k], r['end_reason']) for r in recs]})", "counters")
    for r in recs:
        got = (r["proto"], r["src"], r["dst"])
        if got != (truth["proto"], truth["src"], truth["dst"]):
            chk.fail(f"{name}: record tuple {got}")
        if truth["proto"] in (6, 17) and (r["sport"], r["dport"]) != (truth["sport"], truth["dport"]):
            chk.fail(f"{name}: record ports {r['sport']},{r['dport']}")
    if not final_reason_ok(recs):
        chk.fail(f"{name}: end reasons {[r['end_reason'] for r in recs]}: "
                 "expected 2 on every record but the last")
    if truth["nat"]:
        for i, r in enumerate(recs):
            want = {"post_src": truth["r_dst"], "post_dst": truth["r_src"]}
            if truth["proto"] in (6, 17):
                want.update(post_sport=truth["r_dport"], post_dport=truth["r_sport"])
            for k, v in want.items():
                if r.get(k) != v:
                    chk.fail(f"{name}: record {i} {k} = {r.get(k)}, reply tuple says {v}")
        if nat_events and truth["family"] == 4:
            ev = [r.get("nat_event", 0) for r in recs]
            if len(recs) == 1:
                if ev != [5]:
                    chk.fail(f"{name}: single record natEvent {ev[0]}, expected 5")
            elif ev[0] != 4 or ev[-1] != 5 or any(e for e in ev[1:-1]):
                chk.fail(f"{name}: natEvents {ev}, expected 4 first, 5 last, none between")
    else:
        for r in recs:
            if r.get("post_src") or r.get("nat_event"):
                chk.fail(f"{name}: not NATed but record has post_src={r.get('post_src')} "
                         f"natEvent={r.get('nat_event')}")


def ground_truth(chk, snapshot, events):
    """conntrack -L after the traffic, completed by the DESTROY events.

    The snapshot proves which entries existed; DESTROY carries the final
    counters. Both must agree (the traffic had ended before the snapshot).
    A list in time order (see merge_truth)."""
    return merge_truth(chk, snapshot, events)


def check_nat(a):
    chk = Check()
    recs = load_jsonl(a.records)
    snap = parse_ct(a.snapshot)
    events = parse_ct(a.events) if a.events else []
    truth = ground_truth(chk, snap, events)
    flows = by_flow(recs)
    chk.info.update(records=sum(len(v) for v in flows.values()), flows=len(flows),
                    conntrack_entries=len(snap),
                    destroy_events=sum(1 for e in events if e["event"] == "DESTROY"))
    check_flow_ids(chk, flows)
    matched = 0
    ended = {entry_key(a.ino, e) for e in events if e["event"] == "DESTROY"}
    pairs, unpaired = pair_flows(flows, truth, a.ino)
    for t, fid in pairs:
        i = t["id"]
        if fid is None:
            chk.fail(f"conntrack entry id={i} {tuple_of(t)} has no record (no flowId with "
                     f"netnsInode {a.ino}, conntrackId {i} and this tuple)")
            continue
        rs = flows[fid]
        matched += 1
        compare_flow(chk, fid, t, rs, "nat")
        if t["proto"] == 6 and rs[-1]["end_reason"] != 3 and entry_key(a.ino, t) in ended:
            chk.fail(f"TCP flow id={i} closed with FIN: flowEndReason {rs[-1]['end_reason']}, expected 3")
        if t["proto"] != 6 and rs[-1]["end_reason"] != 1 and entry_key(a.ino, t) in ended:
            chk.fail(f"{t['proto']} flow id={i} timed out: flowEndReason {rs[-1]['end_reason']}, expected 1")
        if t["nat"] and t["family"] == 4 and a.nat_addr and rs[-1].get("post_src") != a.nat_addr:
            chk.fail(f"flow id={i}: postNATSourceIPv4Address {rs[-1].get('post_src')}, "
                     f"expected the router's {a.nat_addr}")
    extra = [f for f in unpaired if not is_probe(flows[f])]
    chk.info["probe_flows"] = sum(1 for f in flows if is_probe(flows[f]))
    for f in extra:
        r = flows[f][0]
        chk.fail(f"record for flowId {f:#x} (netnsInode {r.get('netns_ino')}, conntrackId "
                 f"{r.get('ct_id')}) matches no conntrack entry: {r}")
    kinds = collections.Counter((t["family"], t["proto"], t["nat"]) for t in truth)
    chk.info.update(matched=matched, by_kind={f"v{k[0]}/{k[1]}{'/nat' if k[2] else ''}": n
                                                for k, n in kinds.items()},
                    multi_record_flows=sum(1 for v in flows.values() if len(v) > 1))
    for need, n in ((6, a.min_tcp), (17, a.min_udp), (1, a.min_icmp)):
        got = sum(1 for t in truth if t["proto"] == need and t["family"] == 4)
        if got < n:
            chk.fail(f"ground truth has {got} IPv4 flows of protocol {need}, traffic made {n}")
    chk.done()


def check_nfdump(a):
    """nfdump fmt:%pr;%sa;%sp;%da;%dp;%pkt;%byt;%opkt;%obyt;%xsa;%xsp per record,
    summed per 5-tuple, against the same ground truth (IPv4 only: nfdump 1.7.1
    prints no IPv6 translation)."""
    chk = Check()
    snap = parse_ct(a.snapshot)
    events = parse_ct(a.events) if a.events else []
    truth = ground_truth(chk, snap, events)
    sums = collections.defaultdict(lambda: [0, 0, 0, 0, set()])
    n = 0
    for line in open(a.nfdump):
        f = [x.strip() for x in line.split(";")]
        if len(f) != 11:
            continue
        n += 1
        pr, sa, sp, da, dp = f[0], f[1], f[2], f[3], f[4]
        pr = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58}.get(pr, pr)
        key = (int(pr), str(ipaddress.ip_address(sa)), str(ipaddress.ip_address(da)),
               int(sp) if int(pr) in (6, 17) else 0, int(float(dp)) if int(pr) in (6, 17) else 0)
        s = sums[key]
        for j in range(4):
            s[j] += int(f[5 + j])
        s[4].add((f[9], f[10]))
    chk.info.update(nfdump_records=n, nfdump_flows=len(sums))
    matched = 0
    for t in truth:
        if t["family"] != 4:
            continue
        key = (t["proto"], t["src"], t["dst"], t["sport"] if t["proto"] in (6, 17) else 0,
               t["dport"] if t["proto"] in (6, 17) else 0)
        s = sums.get(key)
        if not s:
            chk.fail(f"nfdump: no record for {key}")
            continue
        matched += 1
        want = [t["packets"], t["octets"], t["rev_packets"], t["rev_octets"]]
        if s[:4] != want:
            chk.fail(f"nfdump: {key} pkt/byt/opkt/obyt {s[:4]}, conntrack {want}")
        if t["nat"]:
            xp = str(t["r_dport"]) if t["proto"] in (6, 17) else "0"
            if s[4] != {(t["r_dst"], xp)}:
                chk.fail(f"nfdump: {key} X-late src {sorted(s[4])}, expected {(t['r_dst'], xp)}")
    chk.info["nfdump_matched"] = matched
    chk.done()


def check_burst(a):
    """ENOBUFS burst: every entry created (nft counter) exported once.

    A flow is (flowId, 5-tuple). flowId is ctflow's own unique counter, so
    no flowId may name two 5-tuples (conntrack ids, 32-bit hashes, may
    collide among tens of thousands of entries; flowIds must not)."""
    chk = Check()
    recs = [r for r in load_jsonl(a.records) if "options" not in r]
    burst = collections.OrderedDict()
    for r in recs:
        if r["proto"] == 17 and r["dst"] == a.dst:
            burst.setdefault((r["flow_id"], tuple_of(r)), []).append(r)
    finals = collections.Counter()
    for rs in burst.values():
        finals[sum(1 for r in rs if r["end_reason"] != 2)] += 1
    tuples = collections.Counter(k[1] for k in burst)
    fids = collections.Counter(k[0] for k in burst)
    dup_tuples = sum(1 for n in tuples.values() if n > 1)
    reasons = collections.Counter(r["end_reason"] for rs in burst.values() for r in rs)
    zero = sum(1 for rs in burst.values() if sum(r["packets"] for r in rs) == 0)
    wrong = sum(1 for rs in burst.values() if sum(r["packets"] for r in rs) not in (0, 1))
    chk.info.update(created=a.created, records=len(recs), burst_flows=len(burst),
                    distinct_tuples=len(tuples), distinct_flow_ids=len(fids),
                    flow_id_collisions=sum(n - 1 for n in fids.values() if n > 1),
                    flows_by_final_records=dict(finals), by_reason=dict(reasons),
                    zero_counter_flows=zero)
    if chk.info["flow_id_collisions"]:
        ex = [k for k in burst if fids[k[0]] > 1][:2]
        chk.info["flow_id_collision_example"] = [f"{k[0]:#x} {k[1]}" for k in ex]
    missing = a.created - len(tuples)
    chk.info["missing"] = missing
    chk.info["ended_by_dump_without_counters"] = sum(
        1 for rs in burst.values() if rs[-1]["end_reason"] in (1, 5) and
        sum(r["packets"] for r in rs) == 0)
    if missing > 0 and a.expect_loss:
        chk.info["loss_ratio"] = round(missing / a.created, 4) if a.created else 0
    elif missing > 0:
        chk.fail(f"{missing} of {a.created} flows created were never exported "
                 f"({len(tuples)} distinct 5-tuples)", "missing")
    if a.stop_ms:
        late = [rs for rs in burst.values() if rs[-1]["end_ms"] >= a.stop_ms]
        chk.info["ended_at_shutdown"] = len(late)
        if late:
            chk.fail(f"{len(late)} flows that had ended before SIGTERM were only ended by the "
                     f"final dump at shutdown, reasons "
                     f"{dict(collections.Counter(rs[-1]['end_reason'] for rs in late))}: "
                     f"no complete dump answered the overruns that lost their DESTROY", "late")
    if a.overruns is not None:
        rel = [r["options"] for r in load_jsonl(a.records)
               if "options" in r and "notSentFlowTotalCount" in r["options"]]
        chk.info["reliability_records"] = len(rel)
        last = rel[-1] if rel else {}
        chk.info["last_reliability"] = last
        if not rel:
            chk.fail("no Reliability Statistics options record in the export", "reliability")
        elif not last.get("observationTimeMilliseconds") or not last.get(
                "observationTimeMilliseconds#2"):
            chk.fail(f"Reliability Statistics without its time interval: {last}", "reliability")
        if rel and a.overruns > 0 and not any(
                v for k, v in last.items() if k.startswith("notSent")):
            chk.fail(f"{a.overruns} overruns lost events but the last Reliability Statistics "
                     f"record reports no loss: {last}", "reliability")
    if len(tuples) > a.created:
        chk.fail(f"{len(tuples) - a.created} more 5-tuples than flows created")
    if dup_tuples:
        chk.fail(f"{dup_tuples} 5-tuples exported under more than one flowId")
    if chk.info["flow_id_collisions"]:
        chk.fail(f"{chk.info['flow_id_collisions']} flowIds name more than one 5-tuple, e.g. "
                 f"{chk.info['flow_id_collision_example']}: flowId must be unique")
    if set(finals) - {1}:
        chk.fail(f"flows by number of final records: {dict(finals)} (each must have exactly one)")
    if a.strict_counters and zero:
        chk.fail(f"{zero} flows exported with 0 packets and octets although each sent one "
                 f"datagram (conntrack counted it; ctflow saw it in a dump or event)", "counters")
    if wrong:
        chk.fail(f"{wrong} flows whose packet counts add up to more than 1")
    chk.done()


def check_single(a):
    """Start-up dump, active timeout, SIGTERM, own export: named flows vs records.

    --expect PROTO:SPORT:REASONS[:MIN_INTERIM] names one conntrack entry by
    protocol and original source port (ICMP: port 0); its records must add
    up to conntrack's counters and end with one of REASONS (e.g. 3 or 1,4)."""
    chk = Check()
    recs = load_jsonl(a.records)
    flows = by_flow(recs)
    # the DESTROY (final counters) stands for a snapshot entry it ended
    truth = merge_truth(chk, parse_ct(a.snapshot), parse_ct(a.events), moved=False)
    pairs, unpaired = pair_flows(flows, truth, a.ino)
    chk.info.update(records=sum(len(v) for v in flows.values()), flows=len(flows),
                    truth=len(truth))
    check_flow_ids(chk, flows)
    seen_tuples = collections.defaultdict(set)
    for f, rs in flows.items():
        seen_tuples[tuple_of(rs[0])].add(f)
    for tup, fids in seen_tuples.items():
        if len(fids) > 1:
            chk.fail(f"5-tuple {tup} exported under {len(fids)} flowIds")
    details = []
    for spec in a.expect or []:
        parts = spec.split(":")
        proto, sport = int(parts[0]), int(parts[1])
        reason = {int(x) for x in parts[2].split(",")}
        min_interim = int(parts[3]) if len(parts) > 3 else 0
        cands = [(t, f) for t, f in pairs if t["proto"] == proto and
                 (proto not in (6, 17) or t["sport"] == sport)]
        if len(cands) != 1:
            chk.fail(f"{spec}: {len(cands)} conntrack entries match (ground truth incomplete)")
            continue
        t, fid = cands[0]
        if fid is None:
            chk.fail(f"{spec}: entry id={t['id']} {tuple_of(t)} not exported (no record "
                     f"with netnsInode {a.ino}, conntrackId {t['id']} and this tuple)",
                     a.missing_class)
            continue
        rs = flows[fid]
        compare_flow(chk, fid, t, rs, f"{a.scenario} {spec}")
        reasons = [r["end_reason"] for r in rs]
        details.append({"flow": spec, "id": t["id"], "reasons": reasons,
                        "packets": [r["packets"] for r in rs],
                        "rev_packets": [r["rev_packets"] for r in rs],
                        "conntrack": [t["packets"], t["rev_packets"]]})
        if reasons[-1] not in reason:
            chk.fail(f"{spec}: entry id={t['id']}: last flowEndReason {reasons[-1]}, "
                     f"expected {reason} (reasons {reasons})")
        if reasons.count(2) < min_interim:
            chk.fail(f"{spec}: {reasons.count(2)} interim (reason 2) records, expected "
                     f">= {min_interim}")
        starts, ends = [r["start_ms"] for r in rs], [r["end_ms"] for r in rs]
        if any(s > e for s, e in zip(starts, ends)) or any(
                s < e for s, e in zip(starts[1:], ends)):
            chk.fail(f"{spec}: record times overlap or run backwards: {list(zip(starts, ends))}")
    chk.info["flows_checked"] = details
    if a.no_port:
        hit = [r for r in recs if "options" not in r and a.no_port in (
            r["sport"], r["dport"], r.get("post_sport"), r.get("post_dport"))]
        chk.info["records_with_collector_port"] = len(hit)
        if hit:
            chk.fail(f"{len(hit)} records carry the collector port {a.no_port}: {hit[0]}")
    if a.no_extra:
        extra = [f for f in unpaired if not is_probe(flows[f])]
        chk.info["probe_flows"] = sum(1 for f in unpaired if is_probe(flows[f]))
        if extra:
            chk.fail(f"{len(extra)} exported flows match no conntrack entry, e.g. "
                     f"{flows[extra[0]][0]}")
    chk.done()


def check_vanish(a):
    """Entries that had no event delivery and ended while ctflow ran: ctflow
    only learns of them from dumps, so it can at best export the counters of
    the last dump that saw them. Each must be exported exactly once (one
    final record) with sums between conntrack's counters when ctflow
    adopted them (--lower) and conntrack's final ones (--upper)."""
    chk = Check()
    flows = by_flow(load_jsonl(a.records))
    check_flow_ids(chk, flows)
    lower = {entry_key(a.ino, e): e for e in parse_ct(a.lower)}
    upper = {entry_key(a.ino, e): e for e in parse_ct(a.upper)}
    pairs, _ = pair_flows(flows, list(upper.values()), a.ino)
    fid_of = {entry_key(a.ino, t): f for t, f in pairs}
    out = []
    for spec in a.expect:
        proto, sport = (int(x) for x in spec.split(":")[:2])
        ids = [i for i, e in upper.items() if e["proto"] == proto and e["sport"] == sport]
        if len(ids) != 1 or ids[0] not in lower:
            chk.fail(f"{spec}: ground truth incomplete")
            continue
        i = ids[0]
        rs = flows[fid_of[i]] if fid_of.get(i) is not None else []
        finals = [r for r in rs if r["end_reason"] != 2]
        got = {k: sum(r[k] for r in rs) for k in ("packets", "octets", "rev_packets", "rev_octets")}
        out.append({"flow": spec, "records": [(r["packets"], r["rev_packets"], r["end_reason"]) for r in rs],
                    "adopted_at": [lower[i][k] for k in ("packets", "rev_packets")],
                    "final": [upper[i][k] for k in ("packets", "rev_packets")]})
        if len(finals) != 1:
            chk.fail(f"{spec}: {len(finals)} final records, expected 1")
            continue
        for k, v in got.items():
            if v < lower[i][k]:
                chk.fail(f"{spec}: sum of {k} = {v}, less than conntrack's {lower[i][k]} "
                         f"when ctflow adopted the entry (final {upper[i][k]}); "
                         f"reason {finals[0]['end_reason']}", "counters")
            elif v > upper[i][k]:
                chk.fail(f"{spec}: sum of {k} = {v}, more than conntrack's final {upper[i][k]}")
            elif v != upper[i][k]:
                chk.info.setdefault("short_of_final", []).append(
                    f"{spec} {k}: {v} of {upper[i][k]}")
    chk.info["flows_checked"] = out
    chk.done()


def check_reuse(a):
    """Successive conntrack entries with one 5-tuple (a client reusing its
    source port) are distinct flows: each must be exported under a flowId
    of its own, with its own counters and one final record. The kernel
    usually gives them one conntrack id: records pair with the DESTROY
    events by (netns, conntrack id, tuple) in time order."""
    chk = Check()
    flows = by_flow(load_jsonl(a.records))
    check_flow_ids(chk, flows)
    ends = [e for e in parse_ct(a.events) if e["event"] == "DESTROY" and e["sport"] == a.sport]
    ids = [e["id"] for e in ends]
    mine = {f: rs for f, rs in flows.items() if rs[0]["sport"] == a.sport}
    finals = sum(1 for rs in mine.values() for r in rs if r["end_reason"] != 2)
    chk.info.update(conntrack_entries=len(ends), distinct_conntrack_ids=len(set(ids)),
                    flow_ids=len(mine), final_records=finals,
                    records=[(f"{f:#x}", rs[0].get("ct_id"),
                              [(r["packets"], r["end_reason"]) for r in rs])
                             for f, rs in mine.items()])
    if finals != len(ends):
        chk.fail(f"{len(ends)} entries ended, {finals} final records", "hard")
    if len(mine) != len(ends):
        chk.fail(f"{len(ends)} successive entries of one 5-tuple (conntrack ids "
                 f"{sorted(set(ids))}) exported under {len(mine)} flowId(s): "
                 f"flowId is not unique")
    pairs, unpaired = pair_flows(mine, ends, a.ino)
    for n, (t, fid) in enumerate(pairs):
        if fid is None:
            chk.fail(f"entry {n + 1} of {len(ends)} (id={t['id']} {tuple_of(t)}) has no "
                     f"flowId of its own with netnsInode {a.ino}, conntrackId {t['id']}")
            continue
        compare_flow(chk, fid, t, mine[fid], f"reuse entry {n + 1}")
        if [r["end_reason"] for r in mine[fid]][-1] == 2:
            chk.fail(f"reuse entry {n + 1} flowId {fid:#x}: no final record")
    for f in unpaired:
        chk.fail(f"flowId {f:#x} (conntrackId {mine[f][0].get('ct_id')}) matches no "
                 f"conntrack entry: {mine[f][0]}")
    chk.done()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("decode")
    d.add_argument("--pen", type=int, default=32473)
    d.add_argument("files", nargs="+")
    x = sub.add_parser("ipfixdump")
    x.add_argument("dump")
    c = sub.add_parser("ct")
    c.add_argument("files", nargs="+")
    k = sub.add_parser("check")
    k.add_argument("scenario", choices=["nat", "nfdump", "burst", "startup", "active",
                                        "sigterm", "ownexport", "expired", "vanish", "reuse", "sighup"])
    k.add_argument("--records")
    k.add_argument("--snapshot", nargs="*", default=[])
    k.add_argument("--events", nargs="*", default=[])
    k.add_argument("--nfdump")
    k.add_argument("--ino", type=int, default=0)
    k.add_argument("--nat-addr")
    k.add_argument("--min-tcp", type=int, default=0)
    k.add_argument("--min-udp", type=int, default=0)
    k.add_argument("--min-icmp", type=int, default=0)
    k.add_argument("--created", type=int, default=0)
    k.add_argument("--dst", default="127.0.0.1")
    k.add_argument("--strict-counters", action="store_true")
    k.add_argument("--expect-loss", action="store_true")
    k.add_argument("--overruns", type=int, help="check the Reliability Statistics record")
    k.add_argument("--stop-ms", type=int, help="when SIGTERM was sent (ms since the epoch)")
    k.add_argument("--xfail", nargs="*", default=[], help="failure classes that are known bugs")
    k.add_argument("--expect", nargs="*", help="PROTO:SPORT:REASON[:MIN_INTERIM]")
    k.add_argument("--no-extra", action="store_true")
    k.add_argument("--sport", type=int)
    k.add_argument("--missing-class", default="hard", help="failure class of a flow not exported")
    k.add_argument("--lower", nargs="*", default=[])
    k.add_argument("--upper", nargs="*", default=[])
    k.add_argument("--no-port", type=int)
    a = ap.parse_args()
    Check.xfail = set(getattr(a, "xfail", []) or [])
    if a.cmd == "decode":
        for r in decode_files(a.files, a.pen):
            print(json.dumps(r))
    elif a.cmd == "ipfixdump":
        for r in decode_ipfixdump(a.dump):
            print(json.dumps(r))
    elif a.cmd == "ct":
        for e in parse_ct(a.files):
            print(json.dumps(e))
    elif a.scenario == "nat":
        check_nat(a)
    elif a.scenario == "nfdump":
        check_nfdump(a)
    elif a.scenario == "burst":
        check_burst(a)
    elif a.scenario == "vanish":
        check_vanish(a)
    elif a.scenario == "reuse":
        check_reuse(a)
    else:
        check_single(a)


if __name__ == "__main__":
    main()
