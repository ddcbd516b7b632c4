#!/usr/bin/python3
"""Validate gen-pcap's output against its own truth with independent readers.

  validate-pcap.py PCAP TRUTH.json

scapy decodes every frame (Ethernet/802.1Q/QinQ, SLL2, raw IP), verifies the
IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums with scapy's own checksum code
(over the reassembled datagram for fragments), reassembles fragments, and
recomputes per flow key the packets and octets (IP total length) in both
directions: they must equal the sums of the truth's records. tshark must
read the same number of frames and report no checksum problem. Exit 0 when
the capture is what the truth says it is.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldenlib  # noqa: E402

from scapy.all import (IP, IPv6, Dot1Q, RawPcapReader,  # noqa: E402
                       Ether, CookedLinux, CookedLinuxV2, checksum)
from scapy.layers.inet6 import (IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,  # noqa: E402
                                IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, in6_chksum)
from scapy.layers.inet import in4_chksum  # noqa: E402

try:
    from scapy.all import Dot1AD
except ImportError:  # older scapy
    Dot1AD = None

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL [pcap] " + msg)


def decode_link(linktype, data):
    if linktype == 1:
        return Ether(data)
    if linktype == 276:
        return CookedLinuxV2(data)
    if linktype == 113:
        return CookedLinux(data)
    if linktype == 101:
        return IP(data) if data[0] >> 4 == 4 else IPv6(data)
    raise SystemExit("unsupported linktype %d" % linktype)


def outer_vlan(p):
    for layer in (Dot1AD, Dot1Q):
        if layer is not None and p.haslayer(layer):
            return p.getlayer(layer).vlan
    return 0


def l4_ok(fam, proto, iplayer, l4bytes):
    """True when the L4 checksum of the complete datagram verifies."""
    if proto == 1:
        return checksum(l4bytes) == 0
    if fam == 4:
        return in4_chksum(proto, iplayer, l4bytes) == 0
    return in6_chksum(proto, iplayer, l4bytes) == 0


def l4_key(fam, proto, l4bytes):
    """(sport, dport, icmp_id) from the start of an L4 header."""
    if proto in (6, 17):
        return int.from_bytes(l4bytes[0:2], "big"), int.from_bytes(l4bytes[2:4], "big"), None
    return 0, 0, int.from_bytes(l4bytes[4:6], "big")


class Datagrams:
    """Turns frames into datagrams: (ts, fam, proto, src, dst, sport, dport,
    icmp_id, vlan, ip_len)."""

    def __init__(self):
        self.pending = {}
        self.out = []

    def add_whole(self, ts, fam, proto, src, dst, vlan, ip_len, iplayer, l4bytes, truncated):
        if not truncated and not l4_ok(fam, proto, iplayer, l4bytes):
            fail("bad %s checksum at %.6f %s -> %s" % (goldenlib.PROTO_NAMES.get(proto), ts,
                                                       src, dst))
        sport, dport, icmp_id = l4_key(fam, proto, l4bytes)
        self.out.append((ts, fam, proto, src, dst, sport, dport, icmp_id, vlan, ip_len))

    def add_fragment(self, ts, fam, proto, src, dst, vlan, ident, offset, more, payload,
                     hdr_len, iplayer):
        k = (fam, src, dst, proto, ident)
        st = self.pending.setdefault(k, {"parts": {}, "end": None, "hdr": hdr_len})
        st["parts"][offset] = payload
        if not more:
            st["end"] = offset + len(payload)
        if offset == 0:
            # the pseudo header must use the reassembled length, not the
            # first fragment's (scapy takes it from IP.len when set)
            st["ip"] = iplayer.copy()
            if fam == 4:
                st["ip"].len = None
        if st["end"] is None:
            return
        have, pos = b"", 0
        while pos in st["parts"]:
            have += st["parts"][pos]
            pos += len(st["parts"][pos])
        if pos != st["end"] or "ip" not in st:
            return
        del self.pending[k]
        self.add_whole(ts, fam, proto, src, dst, vlan, st["hdr"] + len(have), st["ip"], have,
                       False)


def read_pcap(path):
    reader = RawPcapReader(path)
    linktype = reader.linktype
    dg = Datagrams()
    frames = 0
    for data, meta in reader:
        frames += 1
        ts = meta.sec + meta.usec / 1e6
        truncated = meta.caplen < meta.wirelen
        p = decode_link(linktype, data)
        vlan = outer_vlan(p)
        if p.haslayer(IP):
            ip = p[IP]
            ihl = ip.ihl * 4
            raw_ip = bytes(ip)
            hdr = raw_ip[:ihl]
            if checksum(hdr) != 0:
                fail("bad IPv4 header checksum at %.6f" % ts)
            payload = raw_ip[ihl:ip.len] if not truncated else raw_ip[ihl:]
            if ip.flags.MF or ip.frag:
                dg.add_fragment(ts, 4, ip.proto, ip.src, ip.dst, vlan, ip.id, ip.frag * 8,
                                bool(ip.flags.MF), payload, ihl, ip)
            else:
                dg.add_whole(ts, 4, ip.proto, ip.src, ip.dst, vlan, ip.len, ip, payload,
                             truncated)
        elif p.haslayer(IPv6):
            ip6 = p[IPv6]
            raw6 = bytes(ip6)
            ext = 0
            nh = ip6.nh
            layer = ip6.payload
            while isinstance(layer, (IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt,
                                     IPv6ExtHdrRouting)):
                ext += 8 * (layer.len + 1)
                nh = layer.nh
                layer = layer.payload
            if isinstance(layer, IPv6ExtHdrFragment):
                frag_payload = raw6[40 + ext + 8:40 + ip6.plen]
                dg.add_fragment(ts, 6, layer.nh, ip6.src, ip6.dst, vlan, layer.id,
                                layer.offset * 8, bool(layer.m), frag_payload, 40 + ext, ip6)
            else:
                dg.add_whole(ts, 6, nh, ip6.src, ip6.dst, vlan, 40 + ip6.plen, ip6,
                             raw6[40 + ext:40 + ip6.plen], truncated)
    if dg.pending:
        fail("%d fragmented datagrams never completed" % len(dg.pending))
    return frames, dg.out


def canon(fam, proto, src, dst, sport, dport, icmp_id, vlan):
    """Orientation-free key, and whether (src, sport) is its first end."""
    a, b = (src, sport), (dst, dport)
    first = a <= b
    lo, hi = (a, b) if first else (b, a)
    return (fam, proto, lo[0], lo[1], hi[0], hi[1], icmp_id, vlan), first


def truth_index(truth):
    """canonical key -> packets/octets sent by each end, over all truth flows
    (a conversation may appear as several flows, in either orientation)."""
    idx = {}
    for f in truth["flows"]:
        k, first = canon(f["family"], f["proto"], goldenlib.canon_addr(f["src"]),
                         goldenlib.canon_addr(f["dst"]), f["sport"], f["dport"],
                         f["icmp_id"], f["vlan"])
        s = idx.setdefault(k, {"lo_packets": 0, "lo_octets": 0, "hi_packets": 0,
                               "hi_octets": 0, "names": set()})
        s["names"].add(f["name"])
        ini, rsp = ("lo", "hi") if first else ("hi", "lo")
        for r in f["records"]:
            s[ini + "_packets"] += r["packets"]
            s[ini + "_octets"] += r["octets"]
            s[rsp + "_packets"] += r["rev_packets"]
            s[rsp + "_octets"] += r["rev_octets"]
    return idx


def tshark_check(path, frames):
    p = subprocess.run(["tshark", "-r", path, "-o", "ip.check_checksum:TRUE",
                        "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                        "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail("tshark cannot read %s: %s" % (path, p.stderr.strip()))
        return
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    if len(lines) != frames:
        fail("tshark read %d frames, scapy %d" % (len(lines), frames))
    bad = [ln for ln in lines if "checksum" in ln.lower() and "bad" in ln.lower()]
    for ln in bad[:10]:
        fail("tshark: %s" % ln)
    print("tshark: %d frames, %d checksum complaints" % (len(lines), len(bad)))


def main():
    pcap, truth_path = sys.argv[1], sys.argv[2]
    truth = goldenlib.load_truth(truth_path)
    frames, dgrams = read_pcap(pcap)
    if frames != truth["frames"]:
        fail("%d frames in the capture, the truth says %d" % (frames, truth["frames"]))
    if len(dgrams) != truth["totals"]["datagrams"]:
        fail("%d IP datagrams after reassembly, the truth says %d"
             % (len(dgrams), truth["totals"]["datagrams"]))
    idx = truth_index(truth)
    fields = ("lo_packets", "lo_octets", "hi_packets", "hi_octets")
    seen = {k: dict.fromkeys(fields, 0) for k in idx}
    for ts, fam, proto, src, dst, sport, dport, icmp_id, vlan, ip_len in dgrams:
        src, dst = goldenlib.canon_addr(src), goldenlib.canon_addr(dst)
        k, first = canon(fam, proto, src, dst, sport, dport, icmp_id, vlan)
        if k not in seen:
            fail("datagram at %.6f %s not in the truth" % (ts, k))
            continue
        end = "lo" if first else "hi"
        seen[k][end + "_packets"] += 1
        seen[k][end + "_octets"] += ip_len
    for k, s in idx.items():
        for fld in fields:
            if seen[k][fld] != s[fld]:
                fail("%s %s: %s in the capture %d, truth %d" % (
                    "/".join(sorted(s["names"])), k, fld, seen[k][fld], s[fld]))
    tshark_check(pcap, frames)
    print("pcap: %d frames, %d datagrams, %d flow keys checked, %d failures"
          % (frames, len(dgrams), len(idx), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
