#!/usr/bin/python3
"""Compare ctflow convert with a peer converter, nfpcapd (nfdump 1.7).

    check-peer.py CTFLOW_JSONL NFPCAPD_DIR [--skip-fragmented PCAP]

CTFLOW_JSONL is `ctflow convert --uniflow --format json` of a capture,
NFPCAPD_DIR what `nfpcapd -r` wrote for the same capture. Both are summed
per direction of each conversation (protocol, source address and port,
destination address and port; ICMP by addresses alone, since nfpcapd
keeps every ICMP message a flow of its own and keys it by type and code
where conntrack and ctflow pair echo request and reply by identifier).
Per key, packets, octets, first and last packet time (ms) and the OR of
the TCP flags must be equal: the two read the same packets, so any
difference is a counting bug in one of them.

nfpcapd does not count fragments the way conntrack does (it drops IPv6
fragments, and counts IPv4 datagrams at another fragment and length) and
reports the first IPv6 extension header as the protocol. Captures with
either are compared with --skip-fragmented PCAP: the conversations of
every address pair that tshark finds a fragment or an IPv6 extension
header between are left out (and counted).
"""
import collections
import datetime
import json
import os
import subprocess
import sys

# nfdump's %flg letters, in bit order from FIN upwards
FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20,
             "E": 0x40, "C": 0x80}
FIELDS = ("packets", "octets", "first_ms", "last_ms", "tcp_flags")


def conv_key(proto, src, sport, dst, dport):
    if proto in (1, 58):
        return (proto, src, 0, dst, 0)
    return (proto, src, sport, dst, dport)


def new_entry():
    return {"packets": 0, "octets": 0, "first_ms": None, "last_ms": None, "tcp_flags": 0}


def merge(e, packets, octets, first_ms, last_ms, flags):
    e["packets"] += packets
    e["octets"] += octets
    e["first_ms"] = first_ms if e["first_ms"] is None else min(e["first_ms"], first_ms)
    e["last_ms"] = last_ms if e["last_ms"] is None else max(e["last_ms"], last_ms)
    e["tcp_flags"] |= flags


def read_ctflow(path):
    table = collections.defaultdict(new_entry)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["packets"] == 0:
                continue
            key = conv_key(r["proto"], r["src"], r["sport"], r["dst"], r["dport"])
            flags = r["tcp_flags"] & 0xff if r["proto"] == 6 else 0
            merge(table[key], r["packets"], r["octets"], r["start_ms"], r["end_ms"], flags)
    return table


def utc_ms(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
    return round(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def read_nfpcapd(nfdir):
    # %ts/%te in UTC ("2024-01-01 00:00:08.973"); nfdump 1.7.1's %ter
    # prints another field's milliseconds, so the raw forms are not used
    fmt = "fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%ts|%te|%flg"
    out = subprocess.run(["nfdump", "-6", "-N", "-q", "-R", nfdir, "-o", fmt],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, TZ="UTC")).stdout
    table = collections.defaultdict(new_entry)
    for line in out.splitlines():
        f = [x.strip() for x in line.split("|")]
        if len(f) != 10 or not f[0].isdigit():
            continue
        proto = int(f[0])
        sport = int(f[2]) if f[2].isdigit() else 0
        dport = int(f[4]) if f[4].isdigit() else 0
        flags = 0
        if proto == 6:
            flags = sum(bit for ch, bit in FLAG_BITS.items() if ch in f[9])
        key = conv_key(proto, f[1], sport, f[3], dport)
        merge(table[key], int(f[5]), int(f[6]), utc_ms(f[7]), utc_ms(f[8]), flags)
    return table


def fragmented_pairs(pcap):
    """Address pairs (both orders) with a fragment or an IPv6 extension
    header between them, by tshark."""
    flt = ("ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fragment || ipv6.hopopts"
           " || ipv6.dstopts || ipv6.routing")
    out = subprocess.run(["tshark", "-r", pcap, "-Y", flt, "-T", "fields", "-e", "ip.src",
                          "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst"],
                         capture_output=True, text=True, check=True).stdout
    pairs = set()
    for line in out.splitlines():
        f = line.split("\t")
        # tunnelled packets list several addresses: each pair counts
        for a, b in ((f[0], f[1]), (f[2], f[3])):
            for x, y in zip(a.split(","), b.split(",")):
                if x and y:
                    pairs.update({(x, y), (y, x)})
    return pairs


def main():
    args = sys.argv[1:]
    skip = set()
    if len(args) == 4 and args[2] == "--skip-fragmented":
        skip = fragmented_pairs(args[3])
        args = args[:2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ours, peer = read_ctflow(args[0]), read_nfpcapd(args[1])
    if not peer:
        print("check-peer: nfpcapd wrote no flows", file=sys.stderr)
        return 1
    skipped = 0
    for table in (ours, peer):
        for key in [k for k in table if (k[1], k[3]) in skip]:
            del table[key]
            skipped += table is ours
    diffs = []
    for key in sorted(set(ours) | set(peer), key=repr):
        a, b = ours.get(key, new_entry()), peer.get(key, new_entry())
        bad = [f"{n} ctflow {a[n]} nfpcapd {b[n]}" for n in FIELDS if a[n] != b[n]]
        if bad:
            diffs.append(f"{key}: " + ", ".join(bad))
    total = {n: sum(e[n] for e in ours.values()) for n in ("packets", "octets")}
    print(f"check-peer: {len(set(ours) | set(peer))} directions of conversations, "
          f"ctflow {total['packets']} packets {total['octets']} octets, "
          f"nfpcapd {sum(e['packets'] for e in peer.values())} packets "
          f"{sum(e['octets'] for e in peer.values())} octets, {len(diffs)} differ"
          + (f" ({skipped} left out: fragments or IPv6 extension headers)" if skip else ""))
    for d in diffs[:20]:
        print("  " + d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
