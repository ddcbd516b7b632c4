#!/usr/bin/python3
"""Check ctflow's output for a gen-pcap bench capture against its summary.

  check-bench.py TRUTH.json READER INPUT

READER: pyipfix or view-json (an IPFIX file / ctflow --format json output)
or nfdump (an nfcapd directory). With the default timeouts every flow is
one record ending at end of input, so: records == flows, every key once,
all reasons 4, packets and octets (both directions) summing to the
capture's, IPv6 flows and per-protocol packets as generated.
"""

import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldenlib  # noqa: E402


def main():
    truth = goldenlib.load_truth(sys.argv[1])
    reader, path = sys.argv[2], sys.argv[3]
    recs = goldenlib.READERS[reader](path, os.path.dirname(os.path.abspath(path)))
    exp = truth["default_timeouts"]
    fails = []
    if exp is None:
        raise SystemExit("capture longer than the default idle timeout: no summary truth")
    if len(recs) != exp["records"]:
        fails.append("records: expected %d, got %d (%+d)"
                     % (exp["records"], len(recs), len(recs) - exp["records"]))
    keys = collections.Counter(goldenlib.key_of(r) for r in recs)
    dup = sum(n - 1 for n in keys.values() if n > 1)
    if dup:
        fails.append("%d records repeat a key already seen (split flows?)" % dup)
    if reader != "nfdump":
        reasons = collections.Counter(r["reason"] for r in recs)
        if set(reasons) != {exp["end_reason"]}:
            fails.append("end reasons: expected all %d, got %s" % (exp["end_reason"],
                                                                  dict(reasons)))
    pk = sum(r["packets"] + r["rev_packets"] for r in recs)
    oc = sum(r["octets"] + r["rev_octets"] for r in recs)
    if pk != truth["packets"]:
        fails.append("packets: expected %d, got %d" % (truth["packets"], pk))
    if oc != truth["octets"]:
        fails.append("octets: expected %d, got %d" % (truth["octets"], oc))
    v6 = sum(1 for r in recs if r["family"] == 6)
    if v6 != truth["ipv6_flows"]:
        fails.append("IPv6 flows: expected %d, got %d" % (truth["ipv6_flows"], v6))
    by_proto = collections.Counter()
    for r in recs:
        by_proto[goldenlib.PROTO_NAMES.get(r["proto"], str(r["proto"]))] += \
            r["packets"] + r["rev_packets"]
    for p, n in truth["packets_by_proto"].items():
        if by_proto.get(p, 0) != n:
            fails.append("%s packets: expected %d, got %d" % (p, n, by_proto.get(p, 0)))
    for f in fails:
        print("FAIL [%s] %s" % (reader, f))
    print("%s: %d records for %d flows, %d packets, %d octets, %d failures"
          % (reader, len(recs), truth["flows"], pk, oc, len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
