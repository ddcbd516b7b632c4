#!/usr/bin/python3
"""Flows of known shape and timing for the live tests (run inside a namespace).

  flowgen.py tcp --dst A --port P --sport S --count N --size B [--interval I] [--hold FILE]
  flowgen.py udp --dst A --port P --sport S --count N --size B [--interval I] [--hold FILE]

Each message of B bytes is echoed by tests/root/traffic.py's server before
the next is sent, so when the command returns (or --ready appears) the
flow's counters no longer move. --interval spaces the messages (long
flows for active timeouts). --hold FILE: after the last echo, write
FILE.ready and keep the socket open (TCP established, no FIN) until FILE
exists, then close; the flow stays alive and quiescent meanwhile.
Bounded: every wait has a timeout.
"""
import argparse
import os
import socket
import sys
import time


def wait_file(path, limit=170):
    t0 = time.monotonic()
    while not os.path.exists(path):
        if time.monotonic() - t0 > limit:
            sys.exit(f"flowgen: {path} never appeared")
        time.sleep(0.05)


def family(dst):
    return socket.AF_INET6 if ":" in dst else socket.AF_INET


def run(a):
    fam = family(a.dst)
    if a.proto == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    if a.sport:
        s.bind(("", a.sport))
    if a.proto == "tcp":
        s.connect((a.dst, a.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = (a.proto[0] * a.size).encode()
    for i in range(a.count):
        if i and a.interval:
            time.sleep(a.interval)
        if a.proto == "tcp":
            s.sendall(payload)
            got = 0
            while got < a.size:
                d = s.recv(a.size - got)
                if not d:
                    sys.exit("flowgen: connection closed early")
                got += len(d)
        else:
            s.sendto(payload, (a.dst, a.port))
            d, _ = s.recvfrom(65535)
            if len(d) != a.size:
                sys.exit("flowgen: short echo")
    if a.hold:
        time.sleep(0.2)         # the last ACK has left
        open(a.hold + ".ready", "w").close()
        wait_file(a.hold)
    if a.proto == "tcp":
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("proto", choices=["tcp", "udp"])
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=7000)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0)
    ap.add_argument("--hold")
    run(ap.parse_args())


main()
