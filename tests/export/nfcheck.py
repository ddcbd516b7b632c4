#!/usr/bin/python3
"""Compare nfdump output with the records export-driver pushed.

  TZ=UTC nfdump -R DIR -q -N -o 'fmt:%ts;%te;%pr;%sa;%da;%sp;%dp;%pkt;%byt;%opkt;%obyt;%in;%out;%xsa;%xda;%xsp;%xdp;%flg;%tos' \
      | nfcheck.py EXP.json

Every pushed record must appear exactly once with the same times,
protocol, addresses, ports (ICMP: type.code), packets and octets in both
directions, interfaces, NAT translation, initiator TCP flags and ToS.
"""
import collections, datetime, json, sys


def ts(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def flags(f):
    return "".join(c if f & (1 << (7 - i)) else "." for i, c in enumerate("CEUAPRSF"))


def expected_line(r):
    icmp = r["proto"] in (1, 58)
    nat = r["nat"] and r["family"] == 4     # nfdump 1.7.1 prints no IPv6 X-lation address
    return [ts(r["start_ms"]), ts(r["end_ms"]), str(r["proto"]), r["src"], r["dst"],
            "0" if icmp else str(r["sport"]),
            f"{r['icmp_type_code'] >> 8}.{r['icmp_type_code'] & 255}" if icmp else str(r["dport"]),
            str(r["packets"]), str(r["octets"]), str(r["rev_packets"]), str(r["rev_octets"]),
            str(r["ingress_if"]), str(r["egress_if"]),
            r["post_src"] if nat else "0.0.0.0", r["post_dst"] if nat else "0.0.0.0",
            str(r["post_sport"]) if r["nat"] else "0", str(r["post_dport"]) if r["nat"] else "0",
            flags(r["tcp_flags"]) if r["proto"] == 6 else "........", str(r["tos"])]


def main():
    want = collections.Counter()
    for line in open(sys.argv[1]):
        want[tuple(expected_line(json.loads(line)))] += 1
    got = collections.Counter()
    for line in sys.stdin:
        f = [x.strip() for x in line.rstrip("\n").split(";")]
        if len(f) == 19:
            got[tuple(f)] += 1
    missing = want - got
    extra = got - want
    out = {"pushed": sum(want.values()), "received": sum(got.values()),
           "missing": sum(missing.values()), "unexpected": sum(extra.values()),
           "examples_missing": [";".join(k) for k in list(missing)[:3]],
           "examples_unexpected": [";".join(k) for k in list(extra)[:3]]}
    print(json.dumps(out))
    sys.exit(1 if missing or extra else 0)


main()
