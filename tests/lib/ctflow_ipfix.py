"""What the test checkers know of ctflow's IPFIX layout, in one place.

Mirrors include/ctflow/ipfix-schema.h: the data Template IDs of the current
layout (CTF_IPFIX_LAYOUT) and ctflow's enterprise elements (CTF_IE_*).
Imported by tests/export/ipfixcheck.py and tests/live/livecheck.py.
"""

# Data Template IDs of layout 2: 0x140..0x15f, and 0x440..0x45f for records
# with an owning process (the same fields plus the process ones).
LAYOUT = 2
DATA_TIDS = set(range(0x100 | LAYOUT << 5, 0x120 | LAYOUT << 5)) | \
    set(range(0x400 | LAYOUT << 5, 0x420 | LAYOUT << 5))

# ctflow's enterprise elements: name, number, python3-ipfix type
ENTERPRISE_IES = [
    ("ctZone", 1, "unsigned32"), ("ctMark", 2, "unsigned32"), ("netnsInode", 3, "unsigned32"),
    ("processId", 4, "unsigned32"), ("processName", 5, "string"),
    ("processExecutable", 6, "string"), ("containerId", 7, "string"),
    ("tcpRttMicroseconds", 8, "unsigned32"), ("tcpRetransmissions", 9, "unsigned32"),
    ("conntrackId", 10, "unsigned32"), ("netnsName", 11, "string"),
]


def use_ctflow_ies(pen):
    """python3-ipfix: IANA and RFC 5103 elements, and ctflow's under @pen."""
    import ipfix.ie
    ipfix.ie.use_iana_default()
    ipfix.ie.use_5103_default()
    for name, num, typ in ENTERPRISE_IES:
        size = 65535 if typ == "string" else 4
        ipfix.ie.for_spec(f"{name}({pen}/{num})<{typ}>[{size}]")
