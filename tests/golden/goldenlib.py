"""Golden suite library: expected records from gen-pcap's truth, readers
that turn real collectors' output into one normalized record shape, and a
comparison that names the flow and the field that differ.

Normalized record (dict): family, proto, src, dst, sport, dport, vlan,
itc (icmpTypeCode or None), start_ms, end_ms, packets, octets, rev_packets,
rev_octets, reason, flow_id, tcp_flags, rev_tcp_flags. A reader sets a
field to None when its output does not carry it; mandatory fields that
are None are failures, optional ones are skipped.

Runs under /usr/bin/python3 (Debian's python3-ipfix and python3-scapy).
"""

import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6"}
MANDATORY = ("start_ms", "end_ms", "packets", "octets", "rev_packets",
             "rev_octets", "reason")
OPTIONAL = ("itc", "tcp_flags", "rev_tcp_flags")
REASONS = {1: "idle", 2: "active", 3: "end", 4: "eof", 5: "table-full"}


def canon_addr(a):
    return str(ipaddress.ip_address(str(a).strip()))


def key_of(r):
    return (r["family"], r["proto"], r["src"], r["dst"], r["sport"], r["dport"],
            r["vlan"])


def reverse_key(k):
    fam, proto, src, dst, sport, dport, vlan = k
    return (fam, proto, dst, src, dport, sport, vlan)


def fmt_key(k):
    fam, proto, src, dst, sport, dport, vlan = k
    p = PROTO_NAMES.get(proto, str(proto))
    if fam == 6:
        src, dst = "[%s]" % src, "[%s]" % dst
    return "%s %s:%s -> %s:%s vlan %s" % (p, src, sport, dst, dport, vlan)


# ---------------------------------------------------------------- truth

def load_truth(path):
    with open(path) as f:
        return json.load(f)


# ICMP queries and their answers (the pairs conntrack tracks as one flow)
ICMP_PAIRS = {4: ((8, 0), (13, 14), (15, 16), (17, 18)), 6: ((128, 129), (139, 140))}


def reverse_itc(family, itc):
    """icmpTypeCode of a query flow's reply direction: the answer's type,
    code 0; other messages keep theirs."""
    if itc is None:
        return None
    for a, b in ICMP_PAIRS[family]:
        if itc >> 8 in (a, b):
            return (b if itc >> 8 == a else a) << 8
    return itc


def expected_records(truth, uniflow=False):
    """One dict per expected record, with 'label' naming its truth flow."""
    out = []
    for f in truth["flows"]:
        icmp = f["proto"] in (1, 58)
        base = dict(family=f["family"], proto=f["proto"],
                    src=canon_addr(f["src"]), dst=canon_addr(f["dst"]),
                    sport=f["sport"], dport=f["dport"], vlan=f["vlan"])
        n = len(f["records"])
        for i, r in enumerate(f["records"]):
            e = dict(base)
            e.update(start_ms=r["start_ms"], end_ms=r["end_ms"],
                     packets=r["packets"], octets=r["octets"],
                     rev_packets=r["rev_packets"], rev_octets=r["rev_octets"],
                     reason=r["end_reason"],
                     itc=f["icmp_type_code"] if icmp else None,
                     tcp_flags=r["tcp_flags"] if f["proto"] == 6 else None,
                     rev_tcp_flags=r["rev_tcp_flags"] if f["proto"] == 6 else None,
                     flow=f["flow"],
                     label="flow %d %s#%d, record %d of %d" % (
                         f["flow"], f["name"], f["instance"], i + 1, n))
            if not uniflow:
                out.append(e)
                continue
            # each direction with its own first and last packet; after an
            # active split only the responder may have sent packets
            if r["packets"] > 0 or r["rev_packets"] == 0:
                fwd = dict(e, rev_packets=0, rev_octets=0, rev_tcp_flags=None,
                           label=e["label"] + " (uniflow forward)")
                if r["packets"] > 0:
                    fwd.update(start_ms=r["fwd_start_ms"], end_ms=r["fwd_end_ms"])
                out.append(fwd)
            if r["rev_packets"] > 0:
                rev = dict(e, src=e["dst"], dst=e["src"], sport=e["dport"],
                           dport=e["sport"], packets=r["rev_packets"],
                           octets=r["rev_octets"], rev_packets=0, rev_octets=0,
                           tcp_flags=e["rev_tcp_flags"], rev_tcp_flags=None,
                           start_ms=r["rev_start_ms"], end_ms=r["rev_end_ms"],
                           itc=reverse_itc(f["family"], e["itc"]),
                           label=e["label"] + " (uniflow reverse)")
                out.append(rev)
    return out


# ---------------------------------------------------------------- compare

class Report:
    def __init__(self, reader):
        self.reader = reader
        self.failures = []
        self.notes = []

    def fail(self, msg):
        self.failures.append(msg)

    def note(self, msg):
        self.notes.append(msg)

    def print(self, out=sys.stdout):
        for n in self.notes:
            print("note [%s] %s" % (self.reader, n), file=out)
        for m in self.failures:
            print("FAIL [%s] %s" % (self.reader, m), file=out)


def _pair(exp, got):
    """Pair records of one key: exact start/end first, then by order."""
    pairs, exp_left, got_left = [], list(exp), list(got)
    for e in list(exp_left):
        for g in got_left:
            if g["start_ms"] == e["start_ms"] and g["end_ms"] == e["end_ms"]:
                pairs.append((e, g))
                exp_left.remove(e)
                got_left.remove(g)
                break
    if len(exp_left) == len(got_left):
        srt = lambda r: (r["start_ms"] or 0, r["end_ms"] or 0)
        pairs += list(zip(sorted(exp_left, key=srt), sorted(got_left, key=srt)))
        exp_left, got_left = [], []
    return pairs, exp_left, got_left


def _describe(r):
    return ("start %s end %s packets %s/%s octets %s/%s reason %s" % (
        r.get("start_ms"), r.get("end_ms"), r.get("packets"), r.get("rev_packets"),
        r.get("octets"), r.get("rev_octets"), r.get("reason")))


def compare(expected, got, reader, check_flow_id=True, optional=OPTIONAL,
            mandatory=MANDATORY):
    """Compare record lists; returns a Report and the matched pair count."""
    rep = Report(reader)
    by_key_e, by_key_g = {}, {}
    for e in expected:
        by_key_e.setdefault(key_of(e), []).append(e)
    for g in got:
        by_key_g.setdefault(key_of(g), []).append(g)

    pairs, missing, extra = [], [], []
    for k, exp in by_key_e.items():
        p, m, x = _pair(exp, by_key_g.get(k, []))
        pairs += p
        missing += m
        extra += x
    for k, g in by_key_g.items():
        if k not in by_key_e:
            extra += g

    exact = 0
    for e, g in pairs:
        diffs = []
        for fld in mandatory:
            if g.get(fld) is None:
                diffs.append("%s not exported (expected %s)" % (fld, e[fld]))
            elif g[fld] != e[fld]:
                diffs.append("%s expected %s, got %s" % (fld, e[fld], g[fld]))
        for fld in optional:
            if e.get(fld) is not None and g.get(fld) is not None and g[fld] != e[fld]:
                diffs.append("%s expected %s, got %s" % (fld, e[fld], g[fld]))
        if diffs:
            rep.fail("%s, %s: %s" % (e["label"], fmt_key(key_of(e)), "; ".join(diffs)))
        else:
            exact += 1

    # a missing record whose reversed key shows up as extra: say so
    extra_keys = {key_of(g) for g in extra}
    for e in missing:
        k = key_of(e)
        hint = ""
        if reverse_key(k) in extra_keys:
            hint = " (a record with src/dst swapped exists: initiator wrong?)"
        elif any(key_of(g)[:6] == k[:6] for g in extra):
            hint = " (same 5-tuple exists with another vlan)"
        rep.fail("%s, %s: MISSING, expected %s%s" % (e["label"], fmt_key(k), _describe(e), hint))
    for g in extra:
        k = key_of(g)
        same_hosts = sorted({e["label"].split(", record")[0] for e in expected
                             if {e["src"], e["dst"]} == {k[2], k[3]} and e["proto"] == k[1]})
        hint = ""
        if same_hosts:
            hint = " (same addresses and protocol as: %s)" % "; ".join(same_hosts[:3])
        rep.fail("EXTRA record %s: %s%s" % (fmt_key(k), _describe(g), hint))

    # per-key totals, both directions: the cheap summary behind the details
    for k in sorted(set(by_key_e) | set(by_key_g), key=str):
        diffs = []
        for fld in ("packets", "octets", "rev_packets", "rev_octets"):
            se = sum(e[fld] for e in by_key_e.get(k, []))
            sg = sum(g[fld] or 0 for g in by_key_g.get(k, []))
            if se != sg:
                diffs.append("%s expected %d, got %d" % (fld, se, sg))
        if diffs:
            rep.fail("TOTAL over all records of %s: %s" % (fmt_key(k), "; ".join(diffs)))

    if check_flow_id:
        _check_flow_ids(rep, pairs)
    return rep, len(pairs), exact


def _check_flow_ids(rep, pairs):
    by_flow, owner = {}, {}
    for e, g in pairs:
        by_flow.setdefault(e["flow"], []).append((e, g))
    for flow, lst in sorted(by_flow.items()):
        ids = {g.get("flow_id") for _, g in lst}
        label = lst[0][0]["label"].split(", record")[0]
        if None in ids:
            rep.fail("%s: flowId not exported" % label)
            continue
        if len(ids) > 1:
            rep.fail("%s: its %d records carry different flowIds %s (expected one shared flowId)"
                     % (label, len(lst), sorted(ids)))
        for i in ids:
            if i in owner and owner[i] != flow:
                rep.fail("%s: flowId %s also used by truth flow %d (distinct flows must "
                         "not share a flowId)" % (label, i, owner[i]))
            owner.setdefault(i, flow)


def run_compare(truth, got, reader, uniflow=False, **kw):
    exp = expected_records(truth, uniflow)
    rep, paired, exact = compare(exp, got, reader, **kw)
    rep.print()
    flows = len(truth["flows"])
    print("%s: %d flows, %d records expected, %d read, %d paired, %d exact, %d failures"
          % (reader, flows, len(exp), len(got), paired, exact, len(rep.failures)))
    return not rep.failures


# ---------------------------------------------------------------- readers

def _ms(v):
    if v is None:
        return None
    if isinstance(v, datetime.datetime):
        d = v.replace(tzinfo=None) - datetime.datetime(1970, 1, 1)
        return (d.days * 86400 + d.seconds) * 1000 + round(d.microseconds / 1000)
    return int(v)


def _norm(family, proto, src, dst, sport, dport, vlan, itc, start_ms, end_ms,
          packets, octets, rev_packets, rev_octets, reason, flow_id,
          tcp_flags=None, rev_tcp_flags=None):
    return dict(family=family, proto=proto, src=canon_addr(src), dst=canon_addr(dst),
                sport=sport or 0, dport=dport or 0, vlan=vlan or 0, itc=itc,
                start_ms=start_ms, end_ms=end_ms, packets=packets, octets=octets,
                rev_packets=rev_packets if rev_packets is not None else 0,
                rev_octets=rev_octets if rev_octets is not None else 0,
                reason=reason, flow_id=flow_id, tcp_flags=tcp_flags,
                rev_tcp_flags=rev_tcp_flags)


def norm_from_names(d):
    """A record as IPFIX IE name -> value; None for non-flow records."""
    if "sourceIPv4Address" in d and "destinationIPv4Address" in d:
        fam, src, dst = 4, d["sourceIPv4Address"], d["destinationIPv4Address"]
        itc = d.get("icmpTypeCodeIPv4")
    elif "sourceIPv6Address" in d and "destinationIPv6Address" in d:
        fam, src, dst = 6, d["sourceIPv6Address"], d["destinationIPv6Address"]
        itc = d.get("icmpTypeCodeIPv6")
    else:
        return None
    g = d.get
    return _norm(fam, g("protocolIdentifier"), src, dst, g("sourceTransportPort"),
                 g("destinationTransportPort"), g("vlanId"), itc,
                 _ms(g("flowStartMilliseconds")), _ms(g("flowEndMilliseconds")),
                 g("packetDeltaCount"), g("octetDeltaCount"),
                 g("reversePacketDeltaCount"), g("reverseOctetDeltaCount"),
                 g("flowEndReason"), g("flowId"), g("tcpControlBits"),
                 g("reverseTcpControlBits"))


def read_pyipfix(path):
    import ipfix.ie
    import ipfix.reader
    ipfix.ie.use_iana_default()
    ipfix.ie.use_5103_default()
    recs = []
    with open(path, "rb") as f:
        for d in ipfix.reader.from_stream(f).namedict_iterator():
            n = norm_from_names(d)
            if n:
                recs.append(n)
    return recs


_DUMP_FIELD = re.compile(r"^\s*\((\d+)(?:/(\d+))?\)\s+(\S+)\s*:\s*(.*?)\s*$")
_DUMP_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$")


def _ipfixdump_value(text):
    if re.fullmatch(r"\d+", text):
        return int(text)
    if _DUMP_TIME.match(text):
        # ipfixDump prints dateTime* in UTC: "2024-01-01 00:00:00.500"
        fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
        return _ms(datetime.datetime.strptime(text, fmt))
    return text


def parse_ipfixdump(text):
    """Data records from ipfixDump's text output, as IE name -> value."""
    recs, cur = [], None
    for line in text.splitlines():
        if line.startswith("--- data record"):
            cur = {}
            recs.append(cur)
            continue
        if line.startswith("---"):
            cur = None
            continue
        if cur is None:
            continue
        m = _DUMP_FIELD.match(line)
        if m:
            cur[m.group(3)] = _ipfixdump_value(m.group(4))
    return recs


def read_ipfixdump(path):
    p = subprocess.run(["ipfixDump", "-i", path], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise RuntimeError("ipfixDump failed (%d): %s" % (p.returncode, p.stderr.strip()))
    out = []
    for d in parse_ipfixdump(p.stdout):
        n = norm_from_names(d)
        if n:
            out.append(n)
    return out


def ipfix_messages(path):
    """Split an IPFIX file (RFC 5655) into its messages."""
    with open(path, "rb") as f:
        return ipfix_messages_bytes(f.read(), path)


def ipfix_messages_bytes(data, path="stream"):
    msgs, off = [], 0
    while off + 16 <= len(data):
        ver = int.from_bytes(data[off:off + 2], "big")
        ln = int.from_bytes(data[off + 2:off + 4], "big")
        if ver != 10 or ln < 16 or off + ln > len(data):
            raise RuntimeError("%s: bad IPFIX message header at offset %d" % (path, off))
        msgs.append(data[off:off + ln])
        off += ln
    if off != len(data):
        raise RuntimeError("%s: %d trailing octets" % (path, len(data) - off))
    return msgs


def read_tshark(path, workdir):
    """Wrap each message in a UDP datagram to 4739 and let tshark decode it.

    The verbose text is parsed, not -T json: in JSON the reverse (RFC 5103)
    counters reuse the forward field names and duplicate keys collide."""
    from scapy.all import Ether, IP, UDP, wrpcap
    pkts = [Ether() / IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40000, dport=4739) / m
            for m in ipfix_messages(path)]
    pcap = os.path.join(workdir, "ipfix-as-udp.pcap")
    wrpcap(pcap, pkts)
    p = subprocess.run(["tshark", "-r", pcap, "-V", "-Y", "cflow"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("tshark failed: %s" % p.stderr.strip())
    return parse_tshark_verbose(p.stdout)


_TS_FLOW = re.compile(r"^ {8}Flow \d+$")
_TS_FIELD = re.compile(r"^ {12,16}([A-Za-z][A-Za-z0-9 ]*?): (.*)$")
_TS_TIME = re.compile(r"(\w+)\s+(\d+), (\d+) (\d+):(\d+):(\d+)\.(\d+) UTC")


def _tshark_ms(text):
    m = _TS_TIME.match(text)
    if not m:
        return None
    dt = datetime.datetime.strptime("%s %s %s %s:%s:%s" % m.groups()[:6], "%b %d %Y %H:%M:%S")
    return _ms(dt) + int(m.group(7)[:3].ljust(3, "0"))


def _ts_int(v):
    m = re.match(r"^(0x[0-9a-fA-F]+|\d+)", v)
    return int(m.group(1), 0) if m else None


def parse_tshark_verbose(text):
    recs, cur = [], None
    for line in text.splitlines():
        if _TS_FLOW.match(line):
            cur = {}
            recs.append(cur)
            continue
        if cur is None:
            continue
        if not line.startswith("            "):
            cur = None
            continue
        m = _TS_FIELD.match(line)
        if not m:
            continue
        name, val = m.group(1), m.group(2)
        if "(Reverse Type" in val:
            name = "Reverse " + name
        cur.setdefault(name, val)
    out = []
    for d in recs:
        if "SrcAddr" not in d or "DstAddr" not in d:
            continue
        g = d.get
        fam = 6 if ":" in d["SrcAddr"] else 4
        itc = None
        if g("ICMP Type") is not None:
            itc = _ts_int(g("ICMP Type"))
        elif g("IPv6 ICMP Type") is not None:
            itc = _ts_int(g("IPv6 ICMP Type")) * 256 + (_ts_int(g("IPv6 ICMP Code") or "0") or 0)
        proto = re.search(r"\((\d+)\)$", g("Protocol", "")) or re.match(r"(\d+)", g("Protocol", ""))
        reason = re.search(r"\((\d+)\)$", g("Flow End Reason", ""))
        ti = lambda k: _ts_int(g(k)) if g(k) is not None else None
        out.append(_norm(fam, int(proto.group(1)) if proto else None, d["SrcAddr"], d["DstAddr"],
                         ti("SrcPort"), ti("DstPort"), ti("Vlan Id"), itc,
                         _tshark_ms(g("StartTime", "")), _tshark_ms(g("EndTime", "")),
                         ti("Packets"), ti("Octets"), ti("Reverse Packets"),
                         ti("Reverse Octets"), int(reason.group(1)) if reason else None,
                         ti("Flow Id"), ti("TCP Flags"), ti("Reverse TCP Flags")))
    return out


def read_nfdump(nfdir):
    env = dict(os.environ, TZ="UTC")
    p = subprocess.run(["nfdump", "-R", nfdir, "-q", "-N", "-o", "json"],
                       capture_output=True, text=True, timeout=120, env=env)
    if p.returncode != 0:
        raise RuntimeError("nfdump failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return parse_nfdump_json(p.stdout)


def _nf_ms(text):
    # "2024-01-01T00:00:00.500", local time: read_nfdump runs nfdump with TZ=UTC
    return _ms(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f"))


def _json_objects(text):
    """nfdump -q -o json prints objects separated by commas, no array."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i] in " \t\r\n,[]":
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def parse_nfdump_json(text):
    out = []
    for d in _json_objects(text):
        g = d.get
        fam = 6 if "src6_addr" in d else 4
        src = g("src6_addr") if fam == 6 else g("src4_addr")
        dst = g("dst6_addr") if fam == 6 else g("dst4_addr")
        if src is None or dst is None:
            continue
        proto = int(g("proto"))
        itc = None
        if g("icmp_type") is not None:
            itc = int(g("icmp_type")) * 256 + int(g("icmp_code") or 0)
        # nfdump 1.7.1 keeps neither flowEndReason nor flowId
        out.append(_norm(fam, proto, src, dst, int(g("src_port") or 0),
                         int(g("dst_port") or 0), int(g("src_vlan") or 0), itc,
                         _nf_ms(g("first")), _nf_ms(g("last")),
                         int(g("in_packets")), int(g("in_bytes")),
                         int(g("out_packets") or 0), int(g("out_bytes") or 0),
                         None, None, _nf_flags(g("tcp_flags")) if proto == 6 else None,
                         None))
    return out


def _nf_flags(v):
    if v is None:
        return None
    if isinstance(v, int):
        return v
    bits = {"C": 0x80, "E": 0x40, "U": 0x20, "A": 0x10, "P": 0x08, "R": 0x04, "S": 0x02,
            "F": 0x01}
    s = str(v)
    if s.startswith("0x"):
        return int(s, 16)
    return sum(bits[c] for c in s if c in bits)


# ctflow's own view: one JSON object per line. Accept the obvious spellings.
_VIEW_KEYS = {
    "src": ("src", "src_addr", "sourceIPAddress", "saddr"),
    "dst": ("dst", "dst_addr", "destinationIPAddress", "daddr"),
    "sport": ("sport", "src_port", "sourceTransportPort"),
    "dport": ("dport", "dst_port", "destinationTransportPort"),
    "proto": ("proto", "protocol", "protocolIdentifier"),
    "vlan": ("vlan", "vlan_id", "vlanId"),
    "start_ms": ("start_ms", "flowStartMilliseconds", "start"),
    "end_ms": ("end_ms", "flowEndMilliseconds", "end"),
    "packets": ("packets", "pkts", "packetDeltaCount"),
    "octets": ("octets", "bytes", "octetDeltaCount"),
    "rev_packets": ("rev_packets", "reverse_packets", "reversePacketDeltaCount"),
    "rev_octets": ("rev_octets", "reverse_octets", "reverseOctetDeltaCount"),
    "reason": ("end_reason", "reason", "flowEndReason"),
    "flow_id": ("flow_id", "flowId", "id"),
    "itc": ("icmp_type_code", "icmpTypeCode"),
    "tcp_flags": ("tcp_flags", "tcpControlBits"),
    "rev_tcp_flags": ("rev_tcp_flags", "reverseTcpControlBits"),
    "family": ("family", "ip_version"),
}
_PROTO_BY_NAME = {"icmp": 1, "tcp": 6, "udp": 17, "icmp6": 58, "ipv6-icmp": 58,
                  "icmpv6": 58}


def _view_get(d, field):
    for k in _VIEW_KEYS[field]:
        if k in d:
            return d[k]
    return None


def parse_view_json(text):
    out = []
    for ln, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        d = json.loads(line)
        if not isinstance(d, dict) or _view_get(d, "src") is None:
            continue
        proto = _view_get(d, "proto")
        if isinstance(proto, str):
            proto = _PROTO_BY_NAME.get(proto.lower(), None) or int(proto)
        src = canon_addr(_view_get(d, "src"))
        fam = _view_get(d, "family")
        if fam not in (4, 6):
            fam = 6 if ":" in src else 4
        reason = _view_get(d, "reason")
        if isinstance(reason, str) and not reason.isdigit():
            inv = {v: k for k, v in REASONS.items()}
            reason = inv.get(reason, reason)
        itc = _view_get(d, "itc")
        if itc is None and _view_get(d, "proto") in (1, 58, "icmp", "icmp6") \
                and "icmp_type" in d:
            itc = int(d["icmp_type"]) * 256 + int(d.get("icmp_code", 0))
        ms = lambda v: v if v is None or isinstance(v, int) else _iso_ms(v)
        rec = _norm(fam, proto, src, _view_get(d, "dst"), _view_get(d, "sport"),
                    _view_get(d, "dport"), _view_get(d, "vlan"), itc,
                    ms(_view_get(d, "start_ms")), ms(_view_get(d, "end_ms")),
                    _view_get(d, "packets"), _view_get(d, "octets"),
                    _view_get(d, "rev_packets"), _view_get(d, "rev_octets"),
                    int(reason) if reason is not None else None,
                    _view_get(d, "flow_id"), _view_get(d, "tcp_flags"),
                    _view_get(d, "rev_tcp_flags"))
        out.append(rec)
    return out


def _iso_ms(s):
    s = str(s).rstrip("Z").replace("T", " ")
    if "+" in s[10:]:
        s = s[:10] + s[10:].split("+")[0]
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in s else "%Y-%m-%d %H:%M:%S"
    return _ms(datetime.datetime.strptime(s, fmt))


# ctflow's text view: "START END PROTO SRC -> DST [icmp T/C] pkts A/B
# bytes A/B [flags F/F] end REASON flow ID [vlan O/I] ...", endpoints as
# "10.0.0.1:80", "[2001:db8::1]:80", or without a port for ICMP.
_TEXT_REST = re.compile(
    r"^(?:icmp (?P<it>\d+)/(?P<ic>\d+) )?"
    r"pkts (?P<pk>\d+)/(?P<rpk>\d+) bytes (?P<oc>\d+)/(?P<roc>\d+)"
    r"(?: flags (?P<fl>\S+)/(?P<rfl>\S+))? end (?P<reason>\S+) flow (?P<fid>\d+)"
    r"(?: vlan (?P<vlan>\d+)/(?P<ivlan>\d+))?")
_TEXT_REASONS = {"idle": 1, "active": 2, "eof": 3, "end": 3, "detected": 3, "forced": 4,
                 "resources": 5, "full": 5}
_FLAG_LETTERS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20,
                 "E": 0x40, "C": 0x80, "N": 0x100}


def _letters(s):
    if s is None:
        return None
    return sum(_FLAG_LETTERS.get(c, 0) for c in s if c != "-")


def _endpoint(tok):
    """'10.0.0.1:80' / '[2001:db8::1]:80' / '10.0.0.1' / '2001:db8::1'."""
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", tok)
    if m:
        return m.group(1), int(m.group(2) or 0)
    m = re.fullmatch(r"([0-9.]+)(?::(\d+))?", tok)
    if m:
        return m.group(1), int(m.group(2) or 0)
    return tok, 0	# a bare IPv6 address


def parse_view_text(text):
    out = []
    for ln, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        tok = line.split(" ", 6)
        m = _TEXT_REST.match(tok[6]) if len(tok) == 7 and tok[4] == "->" else None
        if not m:
            raise RuntimeError("text view line %d not understood: %r" % (ln, line))
        g = m.group
        (src, sport), (dst, dport) = _endpoint(tok[3]), _endpoint(tok[5])
        proto = _PROTO_BY_NAME.get(tok[2])
        if proto is None:
            proto = int(tok[2])
        itc = int(g("it")) * 256 + int(g("ic")) if g("it") is not None else None
        reason = _TEXT_REASONS.get(g("reason"))
        if reason is None and g("reason").isdigit():
            reason = int(g("reason"))
        out.append(_norm(6 if ":" in src else 4, proto, src, dst, sport, dport,
                         int(g("vlan") or 0), itc, _iso_ms(tok[0]), _iso_ms(tok[1]),
                         int(g("pk")), int(g("oc")), int(g("rpk")), int(g("roc")),
                         reason, int(g("fid")), _letters(g("fl")), _letters(g("rfl"))))
    return out


READERS = {
    "pyipfix": lambda path, workdir: read_pyipfix(path),
    "ipfixdump": lambda path, workdir: read_ipfixdump(path),
    "tshark": read_tshark,
    "nfdump": lambda path, workdir: read_nfdump(path),
    "view-json": lambda path, workdir: parse_view_json(open(path).read()),
    "view-text": lambda path, workdir: parse_view_text(open(path).read()),
}


def reader_options(reader):
    """What each reader can be held to."""
    if reader == "nfdump":
        # nfdump 1.7.1 stores neither flowEndReason nor flowId, and maps the
        # forward and reverse tcpControlBits onto one field
        return dict(check_flow_id=False, optional=("itc",),
                    mandatory=tuple(f for f in MANDATORY if f != "reason"))
    return {}


def compare_agree(a, b, name_a, name_b):
    """Two readers' views of the same export must agree field by field,
    flowId included. Records pair by key and start/end."""
    rep = Report("%s=%s" % (name_a, name_b))
    fields = ("start_ms", "end_ms", "packets", "octets", "rev_packets", "rev_octets",
              "reason", "flow_id", "itc", "tcp_flags", "rev_tcp_flags")
    idx = {}
    for r in b:
        idx.setdefault((key_of(r), r["start_ms"], r["end_ms"]), []).append(r)
    for r in a:
        k = (key_of(r), r["start_ms"], r["end_ms"])
        lst = idx.get(k)
        if not lst:
            rep.fail("%s record %s start %s end %s has no counterpart in %s"
                     % (name_a, fmt_key(k[0]), k[1], k[2], name_b))
            continue
        o = lst.pop(0)
        diffs = ["%s %s=%s %s=%s" % (f, name_a, r[f], name_b, o[f]) for f in fields
                 if r.get(f) is not None and o.get(f) is not None and r[f] != o[f]]
        if diffs:
            rep.fail("%s start %s: %s" % (fmt_key(k[0]), k[1], "; ".join(diffs)))
    for k, lst in idx.items():
        for r in lst:
            rep.fail("%s record %s start %s end %s has no counterpart in %s"
                     % (name_b, fmt_key(k[0]), k[1], k[2], name_a))
    rep.print()
    print("%s vs %s: %d and %d records, %d disagreements"
          % (name_a, name_b, len(a), len(b), len(rep.failures)))
    return not rep.failures
