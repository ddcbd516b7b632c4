#!/usr/bin/python3
"""Reference exporter for the checker's self-test: writes the truth's
expected records as IPFIX (python3-ipfix), optionally to a UDP collector,
optionally with deliberate mistakes so the self-test can prove that every
check fires and names the right flow and field.

  ref-export.py TRUTH.json (--out FILE | --udp HOST:PORT) [--uniflow]
                [--mutate KIND]...

Mutations: octets (one record +1 octet), reason (one end reason changed),
swap (one flow's initiator swapped), drop (one record missing), extra (one
record duplicated), flowid (one split record gets its own flowId), startms
(one start rounded up by 1 ms), vlan (one vlan dropped to 0).
"""

import argparse
import datetime
import ipaddress
import io
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldenlib  # noqa: E402

import ipfix.ie  # noqa: E402
import ipfix.template  # noqa: E402
import ipfix.writer  # noqa: E402

COMMON = ["flowStartMilliseconds", "flowEndMilliseconds", "octetDeltaCount",
          "packetDeltaCount", "reverseOctetDeltaCount", "reversePacketDeltaCount",
          "sourceTransportPort", "destinationTransportPort", "protocolIdentifier",
          "flowEndReason", "flowId", "vlanId", "tcpControlBits",
          "reverseTcpControlBits"]
V4 = ["sourceIPv4Address", "destinationIPv4Address", "icmpTypeCodeIPv4"] + COMMON
V6 = ["sourceIPv6Address", "destinationIPv6Address", "icmpTypeCodeIPv6"] + COMMON


def mutate(recs, kinds):
    def first(pred):
        for r in recs:
            if pred(r):
                return r
        raise SystemExit("no record to mutate")
    for k in kinds:
        if k == "octets":
            first(lambda r: r["proto"] == 6)["octets"] += 1
        elif k == "reason":
            first(lambda r: r["reason"] == 3)["reason"] = 4
        elif k == "swap":
            r = first(lambda r: r["proto"] == 17 and r["rev_packets"] > 0)
            r["src"], r["dst"] = r["dst"], r["src"]
            r["sport"], r["dport"] = r["dport"], r["sport"]
            r["packets"], r["rev_packets"] = r["rev_packets"], r["packets"]
            r["octets"], r["rev_octets"] = r["rev_octets"], r["octets"]
        elif k == "drop":
            recs.remove(first(lambda r: r["reason"] == 1))
        elif k == "extra":
            recs.append(dict(first(lambda r: r["proto"] == 1)))
        elif k == "flowid":
            first(lambda r: r["reason"] == 2)["flow_id"] += 1000000
        elif k == "startms":
            first(lambda r: r["proto"] == 6)["start_ms"] += 1
        elif k == "vlan":
            first(lambda r: r["vlan"] == 200)["vlan"] = 0
        else:
            raise SystemExit("unknown mutation " + k)


def to_dt(ms):
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)


def encode(recs):
    ipfix.ie.use_iana_default()
    ipfix.ie.use_5103_default()
    buf = io.BytesIO()
    w = ipfix.writer.to_stream(buf, mtu=1400)
    w.set_domain(1)
    w.add_template(ipfix.template.from_ielist(256, ipfix.ie.spec_list(V4)))
    w.add_template(ipfix.template.from_ielist(257, ipfix.ie.spec_list(V6)))
    for r in recs:
        v6 = r["family"] == 6
        w.set_export_template(257 if v6 else 256)
        d = {
            "flowStartMilliseconds": to_dt(r["start_ms"]),
            "flowEndMilliseconds": to_dt(r["end_ms"]),
            "octetDeltaCount": r["octets"], "packetDeltaCount": r["packets"],
            "reverseOctetDeltaCount": r["rev_octets"],
            "reversePacketDeltaCount": r["rev_packets"],
            "sourceTransportPort": r["sport"], "destinationTransportPort": r["dport"],
            "protocolIdentifier": r["proto"], "flowEndReason": r["reason"],
            "flowId": r["flow_id"], "vlanId": r["vlan"],
            "tcpControlBits": r["tcp_flags"] or 0,
            "reverseTcpControlBits": r["rev_tcp_flags"] or 0,
        }
        a = "IPv6" if v6 else "IPv4"
        d["source%sAddress" % a] = ipaddress.ip_address(r["src"])
        d["destination%sAddress" % a] = ipaddress.ip_address(r["dst"])
        d["icmpTypeCode%s" % a] = r["itc"] or 0
        w.export_namedict(d)
    w.flush()
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("--out")
    ap.add_argument("--udp")
    ap.add_argument("--uniflow", action="store_true")
    ap.add_argument("--mutate", action="append", default=[])
    a = ap.parse_args()
    truth = goldenlib.load_truth(a.truth)
    recs = goldenlib.expected_records(truth, a.uniflow)
    for r in recs:
        r["flow_id"] = 0x10000 + r["flow"]
    mutate(recs, a.mutate)
    data = encode(recs)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(data)
    if a.udp:
        host, port = a.udp.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for m in goldenlib.ipfix_messages_bytes(data):
            s.sendto(m, (host, int(port)))
        s.close()


if __name__ == "__main__":
    main()
