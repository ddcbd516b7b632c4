#!/usr/bin/python3
"""Count IPFIX data records arriving over UDP (a sink for bench/live.sh).

Parses each datagram's IPFIX message: template sets give each template's
record length (fixed-length fields only), data sets are divided by it.
Runs until SIGTERM, or --idle seconds of silence after the first datagram,
or --max-seconds; prints one JSON line: datagrams, bytes, records,
records by template, messages it could not parse.
"""
import argparse
import json
import signal
import socket
import struct


class Stop(Exception):
    pass


def on_term(*_):
    raise Stop()


def parse(msg, templates, st):
    if len(msg) < 16 or struct.unpack_from(">H", msg, 0)[0] != 10:
        st["bad"] += 1
        return
    length = min(struct.unpack_from(">H", msg, 2)[0], len(msg))
    off = 16
    while off + 4 <= length:
        sid, slen = struct.unpack_from(">HH", msg, off)
        if slen < 4:
            st["bad"] += 1
            return
        body, end = off + 4, min(off + slen, length)
        if sid == 2 or sid == 3:            # (options) template set
            p = body
            while p + 4 <= end:
                tid, n = struct.unpack_from(">HH", msg, p)
                p += 4
                if sid == 3:
                    p += 2                 # scope field count
                reclen = 0
                for _ in range(n):
                    ie, flen = struct.unpack_from(">HH", msg, p)
                    p += 4
                    if ie & 0x8000:
                        p += 4
                    reclen = None if flen == 65535 or reclen is None else reclen + flen
                templates[tid] = reclen
        elif sid >= 256:
            reclen = templates.get(sid)
            if reclen:
                n = (end - body) // reclen
                st["records"] += n
                st["by_template"][str(sid)] = st["by_template"].get(str(sid), 0) + n
            else:
                st["unknown_sets"] += 1
        off += slen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--idle", type=float, default=0)
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--out")
    ap.add_argument("--ready")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)      # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind((a.host, a.port))
    if a.ready:
        open(a.ready, "w").close()
    st = {"datagrams": 0, "bytes": 0, "records": 0, "by_template": {}, "bad": 0,
          "unknown_sets": 0}
    templates = {}
    signal.signal(signal.SIGTERM, on_term)
    s.settimeout(a.idle if a.idle else a.max_seconds)
    try:
        while True:
            try:
                d = s.recv(65535)
            except socket.timeout:
                if st["datagrams"] or not a.idle:
                    break
                continue
            st["datagrams"] += 1
            st["bytes"] += len(d)
            parse(d, templates, st)
    except Stop:
        pass
    out = json.dumps(st)
    if a.out:
        with open(a.out, "w") as f:
            f.write(out + "\n")
    print(out, flush=True)


main()
