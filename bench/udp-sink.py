#!/usr/bin/python3
"""Count UDP datagrams and bytes on a loopback port until SIGTERM, or until
--idle seconds of silence after the first datagram; print one JSON line."""
import argparse, json, signal, socket


class Stop(Exception):
    pass


def on_term(*_):
    raise Stop()


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--idle", type=float, default=3.0)
ap.add_argument("--max-seconds", type=float, default=600.0)
a = ap.parse_args()

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind(("127.0.0.1", a.port))
stats = {"datagrams": 0, "bytes": 0}
signal.signal(signal.SIGTERM, on_term)
s.settimeout(a.max_seconds)
try:
    while True:
        d = s.recv(65535)
        stats["datagrams"] += 1
        stats["bytes"] += len(d)
        s.settimeout(a.idle)
except (Stop, socket.timeout):
    pass
print(json.dumps(stats), flush=True)
