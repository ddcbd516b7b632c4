#!/usr/bin/python3
"""decode-vs-tshark.py DECODE_DUMP DATADIR [-v] [FILE...]

Compares ctflow's packet decoder (through decode-dump) with tshark, frame
by frame, on every capture whose link type ctflow decodes: addresses,
protocol, IP length, fragment fields, ports, TCP flags, ICMP
type/code/identifier and VLAN ids of the outermost IP header.

Differences that are by design are classified and counted, not failed:
 - agree-not-decoded: tshark finds IP behind a layer ctflow does not open
   (MPLS, PPPoE, ...) or finds none; ctflow says not-ip or refuses it;
 - damaged-refused / damaged-differs: tshark reports a malformed packet or
   an error expert item, and ctflow refuses the frame or reads it
   differently (e.g. IPv6 payload length 0 taken as the captured length);
 - snaplen-refused: the capture cut the frame inside a header ctflow
   needs whole (an ICMP echo without its identifier, ...);
 - link-mismatch-refused: DLT_IPV4/DLT_IPV6 carrying the other version.
Fields tshark decodes further than ctflow (ICMP error payloads, tunnels,
node-information and RFC 8335 identifiers) are not compared. Every other
difference fails the test. Exits 77 when tshark is missing.

-v prints every classified frame, not only the failures.

To keep tshark's start-up cost down, the captures of one link type are
concatenated with mergecap and read by a single tshark; the frames are
split back by count and checked against each file's captured lengths, and
a group that does not line up is compared file by file instead.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

TSHARK_FIELDS = [
    "frame.number", "frame.len", "frame.cap_len", "frame.protocols",
    "_ws.malformed", "_ws.expert.severity",
    "ip.src", "ip.dst", "ip.proto", "ip.len", "ip.hdr_len", "ip.flags.mf",
    "ip.frag_offset", "ip.id", "ip.dsfield",
    "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.tclass", "ipv6.flow",
    "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "tcp.flags",
    "udp.srcport", "udp.dstport", "sctp.srcport", "sctp.dstport",
    "dccp.srcport", "dccp.dstport",
    "icmp.type", "icmp.code", "icmp.ident",
    "icmpv6.type", "icmpv6.code", "icmpv6.echo.identifier",
    "vlan.id", "ieee8021ad.id",
]
DUMP_FIELDS = [
    "frame", "caplen", "status", "family", "proto", "src", "dst", "sport", "dport",
    "ip_len", "l3_hdr_len", "frag", "frag_offset", "more_frags", "frag_id",
    "tcp_flags", "icmp_type", "icmp_code", "icmp_id", "vlan_outer",
    "vlan_inner", "tos", "flow_label",
]
# protocol layers that may sit in front of the outer IP header for ctflow
LINK_LAYERS = {"eth", "ethertype", "vlan", "ieee8021ad", "llc", "snap",
               "sll", "null", "loop", "raw", "ip_over_ib"}
EXPERT_ERROR = 0x00800000     # PI_ERROR
# query types whose identifier tshark shows in icmp.ident / icmpv6.echo.identifier
ID_TYPES = {1: (0, 8, 13, 14, 15, 16, 17, 18), 58: (128, 129)}
DUMP_CANNOT_OPEN = 3        # decode-dump's exit status for "libpcap refused it"
PORT_PROTOS = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udp"}


def tshark_rows(path):
    """tshark's view of every frame of @path, in order."""
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-o", "ip.check_checksum:FALSE",
           "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
           "-E", "separator=/t"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         errors="replace").stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(TSHARK_FIELDS) - len(cols))
        rows.append({f: (c.split("|") if c else []) for f, c in zip(TSHARK_FIELDS, cols)})
    return rows


def dump_frames(dump, path):
    """ctflow's view: (link type or None when not decoded, [frame fields])."""
    out = subprocess.run([dump, path], capture_output=True, text=True)
    if out.returncode == DUMP_CANNOT_OPEN:
        return None, []
    if out.returncode != 0:
        raise RuntimeError("decode-dump exited %d on %s: %s"
                           % (out.returncode, path, out.stderr[-2000:]))
    lines = out.stdout.splitlines()
    head = lines[0].split("\t") if lines else []
    if len(head) != 3 or head[2] != "supported":
        return None, []
    return int(head[1]), [dict(zip(DUMP_FIELDS, line.split("\t"))) for line in lines[1:]]


def first(row, field):
    v = row.get(field) or []
    return v[0] if v else None


def as_int(s):
    return int(s, 0) if s is not None else None


def outer_ip(row):
    """Family of the outer IP header and whether only link layers precede it."""
    layers = (first(row, "frame.protocols") or "").split(":")
    for i, layer in enumerate(layers):
        if layer in ("ip", "ipv6"):
            return (4 if layer == "ip" else 6), set(layers[:i]) <= LINK_LAYERS
    return None, False


def outer_has_fraghdr(row):
    """True when a fragment header belongs to the outer IPv6 header chain
    (not to a packet quoted by an ICMPv6 error or carried in a tunnel)."""
    layers = (first(row, "frame.protocols") or "").split(":")
    start = layers.index("ipv6") + 1 if "ipv6" in layers else len(layers)
    for layer in layers[start:]:
        if layer == "ipv6.fraghdr":
            return True
        if not layer.startswith("ipv6."):
            return False
    return False


def damaged(row):
    sev = [as_int(s) for s in row.get("_ws.expert.severity", [])]
    return bool(row.get("_ws.malformed")) or EXPERT_ERROR in sev


def offset_pair(tshark_value, ours):
    """(expected, ours) for a fragment offset: tshark 4.0 gives 8-octet
    units, other versions octets; ctflow gives octets."""
    fo = as_int(tshark_value or "0")
    return (ours if int(ours) in (fo, 8 * fo) else str(8 * fo)), ours


def compare_ip(t, d, fam):
    """Yields (field, tshark, ctflow) for the IP layer."""
    p = "ip." if fam == 4 else "ipv6."
    yield "src", first(t, p + "src"), d["src"]
    yield "dst", first(t, p + "dst"), d["dst"]
    if fam == 4:
        yield "proto", first(t, "ip.proto"), d["proto"]
        tl = as_int(first(t, "ip.len"))
        if tl:
            yield "ip_len", str(tl), d["ip_len"]
        yield "tos", str(as_int(first(t, "ip.dsfield"))), d["tos"]
        mf = first(t, "ip.flags.mf")
        yield "more_frags", "1" if mf in ("1", "True") else "0", d["more_frags"]
        yield ("frag_offset",) + offset_pair(first(t, "ip.frag_offset"), d["frag_offset"])
        yield "frag_id", str(as_int(first(t, "ip.id"))), d["frag_id"]
        return
    plen = as_int(first(t, "ipv6.plen"))
    if plen:
        yield "ip_len", str(40 + plen), d["ip_len"]
    yield "tos", str(as_int(first(t, "ipv6.tclass"))), d["tos"]
    yield "flow_label", str(as_int(first(t, "ipv6.flow"))), d["flow_label"]
    if d["frag"] != "0" or outer_has_fraghdr(t):
        yield ("frag_offset",) + offset_pair(first(t, "ipv6.fraghdr.offset"),
                                             d["frag_offset"])
        yield "frag_id", str(as_int(first(t, "ipv6.fraghdr.ident") or "0")), d["frag_id"]


def compare_l4(t, d):
    """Yields (field, tshark, ctflow) for the transport header."""
    proto = int(d["proto"])
    name = PORT_PROTOS.get(proto)
    if name and d["sport"] != "-":
        yield "sport", first(t, name + ".srcport"), d["sport"]
        yield "dport", first(t, name + ".dstport"), d["dport"]
    if proto == 6 and d["sport"] != "-":
        flags = as_int(first(t, "tcp.flags"))
        yield "tcp_flags", str(flags & 0x1ff if flags is not None else None), \
            str(int(d["tcp_flags"], 16))
    icmp = {1: "icmp.", 58: "icmpv6."}.get(proto)
    if icmp and d["icmp_type"] != "-":
        yield "icmp_type", first(t, icmp + "type"), d["icmp_type"]
        yield "icmp_code", first(t, icmp + "code"), d["icmp_code"]
        # Other types: tshark's identifiers belong to packets quoted by
        # ICMP errors, it shows none for node information (ctflow takes the
        # Qtype there, as conntrack does), and conntrack does not pair
        # RFC 8335 extended echo.
        if int(d["icmp_type"]) in ID_TYPES[proto]:
            ident = first(t, "icmp.ident" if proto == 1 else "icmpv6.echo.identifier")
            yield "icmp_id", str(as_int(ident)), d["icmp_id"]


def compare_vlan(t, d):
    """Yields the VLAN ids in front of the outer IP header (ERSPAN and
    other tunnels carry more)."""
    layers = (first(t, "frame.protocols") or "").split(":")
    link = layers[:min(i for i, x in enumerate(layers + ["ip"]) if x in ("ip", "ipv6"))]
    tags = t.get("ieee8021ad.id", [])[:link.count("ieee8021ad")] + \
        t.get("vlan.id", [])[:link.count("vlan")]
    tags = [as_int(v) for v in tags] + [0, 0]
    yield "vlan_outer", str(tags[0]), d["vlan_outer"]
    yield "vlan_inner", str(tags[1]), d["vlan_inner"]


def compare_frame(t, d):
    """Returns (category, detail); category 'bad' fails the test."""
    fam, plain = outer_ip(t)
    ok = d["status"] == "ok"
    if not ok and (fam is None or not plain):
        return "agree-not-decoded", None
    if not ok:
        if damaged(t):
            return "damaged-refused", d["status"]
        if d["status"].endswith("-truncated") and \
                int(d["caplen"]) < as_int(first(t, "frame.len")):
            return "snaplen-refused", d["status"]
        if d["status"] == "ip-version" and (first(t, "frame.protocols") or "").startswith("ip:"):
            # DLT_IPV4/DLT_IPV6 carrying the other version: tshark follows
            # the version nibble, ctflow holds the link type to its word
            return "link-mismatch-refused", d["status"]
        return "bad", "tshark decodes IPv%d, ctflow says %s" % (fam, d["status"])
    if fam is None:
        return "bad", "ctflow decodes, tshark finds no IP"
    if not plain:
        return "bad", "ctflow decodes, tshark sees %s" % first(t, "frame.protocols")
    if int(d["family"]) != fam:
        return "bad", "family %s vs tshark %d" % (d["family"], fam)
    diffs = [(f, tv, dv) for gen in (compare_ip(t, d, fam), compare_l4(t, d),
                                     compare_vlan(t, d))
             for f, tv, dv in gen if tv != dv]
    if not diffs:
        return "agree", None
    detail = ", ".join("%s tshark=%s ctflow=%s" % x for x in diffs)
    return ("damaged-differs" if damaged(t) else "bad"), detail


def compare_frames(path, dumped, rows):
    """Classifies each frame of @path: list of (category, path, n, detail)."""
    results = []
    for i, d in enumerate(dumped):
        t = rows[i] if i < len(rows) else None
        if t is None:
            results.append(("no-tshark-frame", path, i + 1, None))
            continue
        cat, detail = compare_frame(t, d)
        results.append((cat, path, i + 1, detail))
    return results


def lines_up(dumped, rows):
    """True when tshark's frames are ctflow's, frame for frame. libpcap
    cuts a captured length beyond the file's snapshot length to it, so
    ctflow may see fewer bytes than tshark, never more."""
    return len(dumped) == len(rows) and all(
        int(d["caplen"]) <= as_int(first(t, "frame.cap_len") or "-1")
        for d, t in zip(dumped, rows))


def compare_group(files, tmpdir, dlt):
    """Compares the captures of one link type through one tshark run;
    @files is a list of (path, dumped frames)."""
    merged = os.path.join(tmpdir, "dlt%d.pcapng" % dlt)
    rows = []
    if len(files) > 1:
        r = subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", merged] +
                           [p for p, _ in files], capture_output=True)
        if r.returncode == 0:
            rows = tshark_rows(merged)
    if not lines_up([d for _, ds in files for d in ds], rows):
        # one file wireshark reads differently throws the split off
        if len(files) > 1:
            print("link type %d: merged capture does not line up, comparing %d files "
                  "one by one" % (dlt, len(files)))
        return [r for p, ds in files for r in compare_frames(p, ds, tshark_rows(p))]
    results = []
    for path, dumped in files:
        results += compare_frames(path, dumped, rows[:len(dumped)])
        rows = rows[len(dumped):]
    return results


def run(dump, paths):
    """All results for @paths, and the number of captures compared."""
    groups = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, (dlt, dumped) in zip(paths, pool.map(lambda p: dump_frames(dump, p), paths)):
            if dlt is not None and dumped:
                groups.setdefault(dlt, []).append((path, dumped))
        with tempfile.TemporaryDirectory(prefix="decode-vs-tshark-") as tmpdir:
            per_group = list(pool.map(lambda kv: compare_group(kv[1], tmpdir, kv[0]),
                                      groups.items()))
    return [r for rs in per_group for r in rs], sum(len(g) for g in groups.values())


def main(argv):
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    if not shutil.which("tshark") or not shutil.which("mergecap"):
        print("tshark/mergecap not installed: skipped")
        return 77
    dump, datadir = argv[1], argv[2]
    paths = argv[3:] or sorted(
        os.path.join(datadir, f) for f in os.listdir(datadir)
        if f.endswith((".pcap", ".pcapng")))
    try:
        results, compared = run(dump, paths)
    except RuntimeError as e:
        print("FAIL: %s" % e)
        return 1
    counts = {}
    for cat, path, n, detail in results:
        counts[cat] = counts.get(cat, 0) + 1
        if cat == "bad" or (verbose and detail):
            print("%s %s#%d: %s" % (cat.upper() if cat == "bad" else cat,
                                    os.path.basename(path), n, detail))
    print("files %d, frames %d: %s" % (
        compared, len(results),
        ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    return 1 if counts.get("bad") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
