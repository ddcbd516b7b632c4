#!/usr/bin/python3
"""Compare IPFIX files with the records export-driver pushed.

  ipfixcheck.py pyipfix  --expect EXP.json [opts] FILE...   decode with python3-ipfix
  ipfixcheck.py ipfixdump --expect EXP.json [opts] DUMP.txt  parse `ipfixDump --rfc5610` text

EXP.json is the exporter's JSON view (one record per line). Every data
record decoded must equal one pushed record in every field its template
carries (the owning process's strings included), fields a template lacks
must be zero in the pushed record, and the template must be the one the
record's flags select. Prints a JSON summary; exits 1 on any mismatch
(or, without --partial, on any record not delivered).

--ifs IFS.json (export-driver --if-json) checks the interface name
options records: they come in groups (consecutive records), every group
is one whole table the driver set, every file (session) has one before
its first data record, and every template refresh is followed by one.
--if-at-once: the group of a changed table arrives right after the
records pushed before the change; --if-exact: the groups are exactly the
tables set, where they were set, and nothing else; --if-final: every
group is the last table set (a session that began after the change).
"""
import argparse, collections, datetime, ipaddress, json, os, re, struct, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ctflow_ipfix import DATA_TIDS, ENTERPRISE_IES, LAYOUT, use_ctflow_ies  # noqa: E402

TID_RELIABILITY, TID_FLOW_KEYS, TID_IE_TYPE, TID_IF_NAME = 0x200, 0x201, 0x202, 0x203
V6, BIFLOW, NAT, LIVE, NAT_EVENT, PROC = 1, 2, 4, 8, 16, 32


def data_tid(flags):
    return ((0x400 if flags & PROC else 0x100) | LAYOUT << 5) + (flags & 0x1f)

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
    "netnsInode": "netns_ino", "conntrackId": "ct_id", "sourceTransportPort": "sport",
    "destinationTransportPort": "dport", "postNAPTSourceTransportPort": "post_sport",
    "postNAPTDestinationTransportPort": "post_dport",
    "icmpTypeCodeIPv4": "icmp_type_code", "icmpTypeCodeIPv6": "icmp_type_code",
    "tcpControlBits": "tcp_flags", "reverseTcpControlBits": "rev_tcp_flags",
    "vlanId": "vlan", "dot1qCustomerVlanId": "inner_vlan",
    "protocolIdentifier": "proto", "ipClassOfService": "tos",
    "flowEndReason": "end_reason", "natEvent": "nat_event",
    # the owning process: keys of the JSON view's "proc" object
    "processId": "proc.pid", "processName": "proc.comm", "processExecutable": "proc.exe",
    "userName": "proc.user", "containerId": "proc.container_id",
    "tcpRttMicroseconds": "proc.tcp_rtt_us", "tcpRetransmissions": "proc.tcp_retrans",
}
STRING_KEYS = {"proc.comm", "proc.exe", "proc.user", "proc.container_id"}


def pushed(r, key):
    """The pushed record's value for a FIELDS key."""
    if key.startswith("proc."):
        return r["proc"][key[5:]] if r["proc"] else None
    return r[key]
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
    if key in STRING_KEYS:
        return value.decode() if isinstance(value, bytes) else str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return round(value.timestamp() * 1000)
    return int(value)


class Checker:
    def __init__(self, expect_path, live, uniflow, ifs_path=None, if_mode=None):
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
        # interface names: the tables the driver set, and what arrived
        self.if_tables = []          # [(at, [(ifindex, name, description)])]
        if ifs_path:
            for line in open(ifs_path):
                t = json.loads(line)
                self.if_tables.append((t["at"], [(i["ifindex"], i["name"], i["description"])
                                                 for i in t["ifs"]]))
        self.if_mode = if_mode      # None, "at-once", "exact", "final"
        self.if_groups = []          # [(file, data records before it in that file, [rows])]
        self.if_records = 0
        self.file = None
        self.file_decoded = 0
        self.refreshes = 0
        self.refresh_pending = False
        self.last = None             # kind of the previous record: "if" or other
        self.shortened_exe_ok = False
        self.shortened = 0

    def new_file(self, path):
        if self.if_tables and self.file is not None and self.file_decoded and \
                not any(g[0] == self.file for g in self.if_groups):
            self.err(f"{self.file}: no interface names")
        self.file, self.file_decoded, self.last = path, 0, None

    def template(self, tid):
        """A template record arrived; the RFC 5610 options template opens
        every send of the templates (start and each UDP refresh)."""
        self.last = "tmpl"
        if tid != TID_IE_TYPE or not self.if_tables:
            return
        if self.refresh_pending:
            self.err(f"{self.file}: templates sent again without interface names in between")
        self.refreshes += 1
        self.refresh_pending = True

    def if_record(self, ifindex, name, description):
        self.if_records += 1
        row = (int(ifindex), name, description)
        if self.last != "if":
            self.if_groups.append((self.file, self.file_decoded, []))
            self.refresh_pending = False
        self.if_groups[-1][2].append(row)
        self.last = "if"
    def err(self, msg):
        if len(self.errors) < 20:
            self.errors.append(msg)
        else:
            self.errors[-1] = "... more errors"

    def data_record(self, tid, names, values):
        self.decoded += 1
        self.last = "data"
        if self.if_tables and self.file_decoded == 0 and \
                not any(g[0] == self.file for g in self.if_groups):
            self.err(f"{self.file}: data before the interface names")
        self.file_decoded += 1
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
        if r.get("proc") and flags & LIVE:
            flags |= PROC
        if tid != data_tid(flags):
            self.err(f"flow {r['flow_id']}: template {tid:#x}, expected {data_tid(flags):#x}")
        if self.shortened_exe_ok and "proc.exe" in got and got["proc.exe"] != pushed(r, "proc.exe") \
                and pushed(r, "proc.exe").startswith(got["proc.exe"]):
            self.shortened += 1
            got["proc.exe"] = pushed(r, "proc.exe")
        for key, val in got.items():
            if pushed(r, key) != val:
                self.err(f"flow {r['flow_id']}: {key} = {val!r}, pushed {pushed(r, key)!r}")
        for key in set(FIELDS.values()) - set(got):
            if key in STRING_KEYS and pushed(r, key) == "":
                continue
            if pushed(r, key) not in (0, None):
                self.err(f"flow {r['flow_id']}: {key} = {pushed(r, key)} pushed but not in template")
        self.seen[k] += 1

    def options_record(self, tid, names, values):
        d = dict(zip(names, values)) if tid != TID_RELIABILITY else None
        if tid == TID_IF_NAME:
            desc = d["interfaceDescription"]
            name = d["interfaceName"]
            self.if_record(d["ingressInterface"], name.decode() if isinstance(name, bytes) else name,
                           desc.decode() if isinstance(desc, bytes) else desc)
            return
        self.last = "opt"
        if tid == TID_RELIABILITY:
            # two observationTimeMilliseconds: keep both
            d = {"exportingProcessId": values[0], "notSentFlowTotalCount": values[1],
                 "notSentPacketTotalCount": values[2], "notSentOctetTotalCount": values[3]}
            self.reliability.append(d)
        elif tid == TID_FLOW_KEYS:
            self.flow_keys[int(d["templateId"])] = int(d["flowKeyIndicator"])
        elif tid == TID_IE_TYPE:
            self.ie_types.append(d.get("informationElementName"))

    def check_if_groups(self):
        if not self.if_tables:
            if self.if_groups:
                self.err(f"{len(self.if_groups)} interface name groups, no table was set")
            return
        tables = [rows for _, rows in self.if_tables]
        for f, before, rows in self.if_groups:
            if rows not in tables:
                self.err(f"{f}: interface names after {before} records are no table set: "
                         f"{rows[:3]}...")
        if self.refresh_pending:
            self.err("the last send of the templates had no interface names after it")
        if not self.if_groups:
            self.err("no interface names")
        if self.if_mode == "exact":
            want = [(at, rows) for at, rows in self.if_tables]
            got = [(before, rows) for _, before, rows in self.if_groups]
            if got != want:
                self.err(f"interface name groups at {[b for b, _ in got]}, "
                         f"tables set at {[a for a, _ in want]}")
        elif self.if_mode == "at-once":
            # a changed table goes out at once: right after the records pushed before
            for at, rows in self.if_tables[1:]:
                if not any(before == at and r == rows for _, before, r in self.if_groups):
                    self.err(f"table set before record {at} not sent at once")
        elif self.if_mode == "final":
            if any(rows != self.if_tables[-1][1] for _, _, rows in self.if_groups):
                self.err("an interface name group other than the last table")

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
        if sorted(set(self.ie_types)) != sorted(n for n, _, _ in ENTERPRISE_IES):
            self.err(f"RFC 5610 records: {self.ie_types}")
        self.check_if_groups()
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
                "if_records": self.if_records, "if_groups": len(self.if_groups),
                "template_sends": self.refreshes, "shortened_exe": self.shortened,
                "missing": len(missing), "missing_flow_ids": missing[:5],
                "duplicates": dups, "reliability": self.reliability[-1:] or None,
                "templates": sorted(self.templates), "errors": self.errors}


def run_pyipfix(chk, files, pen):
    import ipfix.message
    use_ctflow_ies(pen)
    trunc = 0
    for path in files:
        data = open(path, "rb").read()
        msg = ipfix.message.MessageBuffer()
        chk.new_file(path)

        def on_tmpl(m, t):
            chk.templates[t.tid] = [ie.name for ie in t.ies]
            chk.template(t.tid)

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
    chk.new_file(dump_path)
    for line in open(dump_path, errors="replace"):
        m = re.match(r"^--- (options )?template record ---", line)
        if m:
            flush(); tid = None; in_tmpl = True; tmpl_names = []; continue
        m = re.match(r"^\s*tid:\s+(\d+)", line)
        if m and in_tmpl:
            cur_tmpl_tid = int(m.group(1)); chk.templates[cur_tmpl_tid] = tmpl_names
            chk.template(cur_tmpl_tid); continue
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
    ap.add_argument("--ifs", help="interface tables the driver set (--if-json)")
    ap.add_argument("--if-exact", dest="if_mode", action="store_const", const="exact")
    ap.add_argument("--if-at-once", dest="if_mode", action="store_const", const="at-once")
    ap.add_argument("--if-final", dest="if_mode", action="store_const", const="final")
    ap.add_argument("--shortened-exe-ok", action="store_true",
                    help="a decoded processExecutable may be a prefix (small UDP MTU)")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    chk = Checker(a.expect, a.live, a.uniflow, a.ifs, a.if_mode)
    chk.shortened_exe_ok = a.shortened_exe_ok
    if a.mode == "pyipfix":
        trunc = run_pyipfix(chk, a.files, a.pen)
    else:
        trunc = run_ipfixdump(chk, a.files[0])
    chk.new_file(None)
    s = chk.summary(a.partial or a.dropped is not None, a.dropped)
    s["truncated_bytes"] = trunc
    if s["duplicates"] > a.max_duplicates:
        s["errors"].append(f"{s['duplicates']} duplicates > {a.max_duplicates}")
    print(json.dumps(s, default=str))
    sys.exit(1 if s["errors"] else 0)


if __name__ == "__main__":
    main()
