#!/usr/bin/python3
"""Compare IPFIX files with the records export-driver pushed.

  ipfixcheck.py pyipfix  --expect EXP.json [opts] FILE...   decode with python3-ipfix
  ipfixcheck.py ipfixdump --expect EXP.json [opts] DUMP.txt  parse `ipfixDump --rfc5610` text

EXP.json is the exporter's JSON view (one record per line). Every data
record decoded must equal one pushed record in every field its template
carries, fields a template lacks must be zero in the pushed record, and
the template must be the one the record's flags select. Prints a JSON
summary; exits 1 on any mismatch (or, without --partial, on any record
not delivered).
"""
import argparse, collections, datetime, ipaddress, json, re, struct, sys

DATA_TIDS = range(0x120, 0x140)
TID_RELIABILITY, TID_FLOW_KEYS, TID_IE_TYPE = 0x200, 0x201, 0x202
V6, BIFLOW, NAT, LIVE, NAT_EVENT = 1, 2, 4, 8, 16

# IE name -> JSON key of the pushed record
FIELDS = {
    "flowStartMilliseconds": "start_ms", "flowEndMilliseconds": "end_ms",
    "octetDeltaCount": "octets", "packetDeltaCount": "packets",
    "reverseOctetDeltaCount": "rev_octets", "reversePacketDeltaCount": "rev_packets",
    "flowId": "flow_id",
    "sourceIPv4Address": "src", "destinationIPv4Address": "dst",
    "sourceIPv6Address": "src", "destinationIPv6Address": "dst",
    "postNATSourceIPv4Address": "post_src", "postNATDestinationIPv4Address": "post_dst",
    "postNATSourceIPv6Address": "post_src", "postNATDestinationIPv6Address": "post_dst",
    "flowLabelIPv6": "flow_label", "ingressInterface": "ingress_if",
    "egressInterface": "egress_if", "ctZone": "ct_zone", "ctMark": "ct_mark",
    "netnsInode": "netns_ino", "sourceTransportPort": "sport",
    "destinationTransportPort": "dport", "postNAPTSourceTransportPort": "post_sport",
    "postNAPTDestinationTransportPort": "post_dport",
    "icmpTypeCodeIPv4": "icmp_type_code", "icmpTypeCodeIPv6": "icmp_type_code",
    "tcpControlBits": "tcp_flags", "reverseTcpControlBits": "rev_tcp_flags",
    "vlanId": "vlan", "dot1qCustomerVlanId": "inner_vlan",
    "protocolIdentifier": "proto", "ipClassOfService": "tos",
    "flowEndReason": "end_reason", "natEvent": "nat_event",
}
ADDR_KEYS = {"src", "dst", "post_src", "post_dst"}
KEY_FIELDS = {"sourceIPv4Address", "destinationIPv4Address", "sourceIPv6Address",
              "destinationIPv6Address", "sourceTransportPort", "destinationTransportPort",
              "protocolIdentifier", "icmpTypeCodeIPv4", "icmpTypeCodeIPv6", "vlanId",
              "dot1qCustomerVlanId", "ctZone"}


def rec_key(r):
    return (r["flow_id"], r["src"], r["sport"], r["icmp_type_code"])


def norm(key, value):
    """Decoded value -> the JSON view's representation."""
    if key in ADDR_KEYS:
        return str(ipaddress.ip_address(value))
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return round(value.timestamp() * 1000)
    return int(value)


class Checker:
    def __init__(self, expect_path, live, uniflow):
        self.expect = collections.defaultdict(list)
        for line in open(expect_path):
            r = json.loads(line)
            self.expect[rec_key(r)].append(r)
        self.n_expected = sum(len(v) for v in self.expect.values())
        self.base = (0 if uniflow else BIFLOW) | (LIVE if live else 0)
        self.seen = collections.Counter()
        self.errors = []
        self.decoded = 0
        self.templates = {}          # tid -> [names]
        self.flow_keys = {}          # tid -> indicator
        self.reliability = []        # dicts
        self.ie_types = []
        self.missing_template_sets = 0

    def err(self, msg):
        if len(self.errors) < 20:
            self.errors.append(msg)
        else:
            self.errors[-1] = "... more errors"

    def data_record(self, tid, names, values):
        self.decoded += 1
        got = {FIELDS[n]: norm(FIELDS[n], v) for n, v in zip(names, values)}
        k = (got.get("flow_id"), got.get("src"), got.get("sport"), got.get("icmp_type_code"))
        cands = self.expect.get(k)
        if not cands:
            self.err(f"record not pushed: {got}")
            return
        r = cands[0]
        flags = self.base | (V6 if r["family"] == 6 else 0) | (NAT if r["nat"] else 0)
        if r["nat"] and r["nat_event"]:
            flags |= NAT_EVENT
        if tid != 0x120 + flags:
            self.err(f"flow {r['flow_id']}: template {tid:#x}, expected {0x120 + flags:#x}")
        for key, val in got.items():
            if r[key] != val:
                self.err(f"flow {r['flow_id']}: {key} = {val}, pushed {r[key]}")
        for key in set(FIELDS.values()) - set(got):
            if r[key] not in (0, None):
                self.err(f"flow {r['flow_id']}: {key} = {r[key]} pushed but not in template")
        self.seen[k] += 1

    def options_record(self, tid, names, values):
        d = dict(zip(names, values)) if tid != TID_RELIABILITY else None
        if tid == TID_RELIABILITY:
            # two observationTimeMilliseconds: keep both
            d = {"exportingProcessId": values[0], "notSentFlowTotalCount": values[1],
                 "notSentPacketTotalCount": values[2], "notSentOctetTotalCount": values[3]}
            self.reliability.append(d)
        elif tid == TID_FLOW_KEYS:
            self.flow_keys[int(d["templateId"])] = int(d["flowKeyIndicator"])
        elif tid == TID_IE_TYPE:
            self.ie_types.append(d.get("informationElementName"))

    def summary(self, partial, dropped):
        dups = sum(c - 1 for c in self.seen.values() if c > 1)
        for tid, names in self.templates.items():
            if tid not in DATA_TIDS:
                continue
            want = sum(1 << i for i, n in enumerate(names) if n in KEY_FIELDS)
            if self.flow_keys.get(tid) != want:
                self.err(f"flow keys of {tid:#x}: {self.flow_keys.get(tid)} != {want}")
        if not self.reliability:
            self.err("no reliability statistics record")
        if sorted(set(self.ie_types)) != ["ctMark", "ctZone", "netnsInode"]:
            self.err(f"RFC 5610 records: {self.ie_types}")
        if self.missing_template_sets:
            self.err(f"{self.missing_template_sets} data sets before their template")
        unique = len(self.seen)
        missing = sorted(r["flow_id"] for k, rs in self.expect.items() if k not in self.seen
                         for r in rs)
        if not partial and unique != self.n_expected:
            self.err(f"{self.n_expected - unique} pushed records not decoded")
        if dropped is not None and unique + dropped != self.n_expected:
            self.err(f"decoded {unique} + dropped {dropped} != pushed {self.n_expected}")
        return {"pushed": self.n_expected, "decoded": self.decoded, "unique": unique,
                "missing": len(missing), "missing_flow_ids": missing[:5],
                "duplicates": dups, "reliability": self.reliability[-1:] or None,
                "templates": sorted(self.templates), "errors": self.errors}


def run_pyipfix(chk, files, pen):
    import ipfix.ie, ipfix.message
    ipfix.ie.use_iana_default()
    ipfix.ie.use_5103_default()
    for name, num in (("ctZone", 1), ("ctMark", 2), ("netnsInode", 3)):
        ipfix.ie.for_spec(f"{name}({pen}/{num})<unsigned32>[4]")
    trunc = 0
    for path in files:
        data = open(path, "rb").read()
        msg = ipfix.message.MessageBuffer()

        def on_tmpl(m, t):
            chk.templates[t.tid] = [ie.name for ie in t.ies]

        def on_unknown(m, setbytes):
            chk.missing_template_sets += 1

        def dec(tmpl, buf, offset, recinf=None):
            vals, offset = tmpl.decode_from(buf, offset)
            return (tmpl.tid, [ie.name for ie in tmpl.ies], vals), offset

        msg.template_record_hook = on_tmpl
        msg.unknown_data_set_hook = on_unknown
        first = True
        off = 0
        while off < len(data):
            if len(data) - off < 16 or struct.unpack_from(">H", data, off + 2)[0] > len(data) - off:
                trunc += len(data) - off      # a message cut short by a killed collector
                break
            length = struct.unpack_from(">H", data, off + 2)[0]
            msg.from_bytes(data[off:off + length])
            off += length
            if first:
                if any(setid >= 256 for (_, setid, _) in msg.setlist):
                    chk.err(f"{path}: first message carries data before templates")
                first = False
            for tid, names, vals in msg.record_iterator(decode_fn=dec):
                if tid in DATA_TIDS:
                    chk.data_record(tid, names, vals)
                else:
                    chk.options_record(tid, names, vals)
    return trunc


DUMP_FIELD = re.compile(r"^\s*\((?:\d+/)?\d+\)(?: \(S\))?\s+(\S+) : (.*)$")


def dump_value(name, raw):
    raw = raw.strip()
    if name.endswith("Milliseconds"):
        dt = datetime.datetime.strptime(raw, "%Y-%m-%d %H:%M:%S.%f")
        return dt.replace(tzinfo=datetime.timezone.utc)
    if FIELDS.get(name) in ADDR_KEYS:
        return raw
    if raw.startswith("(len:"):
        return raw.split(") ", 1)[1] if ") " in raw else ""
    return int(raw)


def run_ipfixdump(chk, dump_path):
    """Parse `ipfixDump --rfc5610 -i FILE` output."""
    tid, names, vals, in_tmpl = None, [], [], False
    tmpl_names = []

    def flush():
        if tid is None or in_tmpl:
            return
        if tid in DATA_TIDS:
            if tid not in chk.templates:
                chk.missing_template_sets += 1
            chk.data_record(tid, names, vals)
        elif tid == TID_RELIABILITY:
            chk.options_record(tid, names, [int(v) if isinstance(v, int) else v for v in vals])
        else:
            chk.options_record(tid, names, vals)

    cur_tmpl_tid = None
    for line in open(dump_path, errors="replace"):
        m = re.match(r"^--- (options )?template record ---", line)
        if m:
            flush(); tid = None; in_tmpl = True; tmpl_names = []; continue
        m = re.match(r"^\s*tid:\s+(\d+)", line)
        if m and in_tmpl:
            cur_tmpl_tid = int(m.group(1)); chk.templates[cur_tmpl_tid] = tmpl_names; continue
        m = re.match(r"^\s*ent:\s+\d+\s+id:\s+\d+\s+type:.*len:\s+\d+(?: \(S\))?\s+(\S+)", line)
        if m and in_tmpl:
            tmpl_names.append(m.group(1)); continue
        if line.startswith("--- data record"):
            flush(); in_tmpl = False; tid, names, vals = None, [], []; continue
        m = re.match(r"^\s*count:\s+\d+\s+tid:\s+(\d+)", line)
        if m and not in_tmpl:
            tid = int(m.group(1)); continue
        if line.startswith("--- Message Header") or line.startswith("***"):
            flush(); tid = None; continue
        m = DUMP_FIELD.match(line)
        if m and tid is not None and not in_tmpl:
            if m.group(1) == "paddingOctets":
                continue
            names.append(m.group(1)); vals.append(dump_value(m.group(1), m.group(2)))
    flush()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["pyipfix", "ipfixdump"])
    ap.add_argument("--expect", required=True)
    ap.add_argument("--live", action="store_true")
    ap.add_argument("--uniflow", action="store_true")
    ap.add_argument("--pen", type=int, default=32473)
    ap.add_argument("--partial", action="store_true", help="not every record must arrive")
    ap.add_argument("--dropped", type=int, help="decoded + DROPPED must equal pushed")
    ap.add_argument("--max-duplicates", type=int, default=0)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    chk = Checker(a.expect, a.live, a.uniflow)
    if a.mode == "pyipfix":
        trunc = run_pyipfix(chk, a.files, a.pen)
    else:
        trunc = run_ipfixdump(chk, a.files[0])
    s = chk.summary(a.partial or a.dropped is not None, a.dropped)
    s["truncated_bytes"] = trunc
    if s["duplicates"] > a.max_duplicates:
        s["errors"].append(f"{s['duplicates']} duplicates > {a.max_duplicates}")
    print(json.dumps(s, default=str))
    sys.exit(1 if s["errors"] else 0)


if __name__ == "__main__":
    main()
