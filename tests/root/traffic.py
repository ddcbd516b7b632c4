#!/usr/bin/python3
"""Traffic with known shape for the root tests (run inside a namespace).

serve: UDP and TCP echo on [::]:PORT (dual stack). udp: one flow of COUNT
datagrams of SIZE bytes, each waited for. tcp: one connection, COUNT
messages of SIZE bytes echoed, closed by the client after the last echo.
"""
import argparse
import os
import selectors
import socket
import sys


def serve(args):
    sel = selectors.DefaultSelector()
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", args.port))
    t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("::", args.port))
    t.listen(64)
    sel.register(u, selectors.EVENT_READ, "udp")
    sel.register(t, selectors.EVENT_READ, "listen")
    if args.ready:
        open(args.ready, "w").close()
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "udp":
                data, peer = s.recvfrom(65535)
                s.sendto(data, peer)
            elif key.data == "listen":
                c, _ = s.accept()
                sel.register(c, selectors.EVENT_READ, "tcp")
            else:
                data = s.recv(65536)
                if data:
                    s.sendall(data)
                else:
                    sel.unregister(s)
                    s.close()


def family(dst):
    return socket.AF_INET6 if ":" in dst else socket.AF_INET


def udp(args):
    s = socket.socket(family(args.dst), socket.SOCK_DGRAM)
    s.settimeout(2)
    if args.sport:
        s.bind(("", args.sport))
    payload = b"u" * args.size
    for _ in range(args.count):
        s.sendto(payload, (args.dst, args.port))
        data, _ = s.recvfrom(65535)
        if len(data) != args.size:
            sys.exit("short echo")
    s.close()


def tcp(args):
    s = socket.create_connection((args.dst, args.port), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = b"t" * args.size
    for _ in range(args.count):
        s.sendall(payload)
        got = 0
        while got < args.size:
            data = s.recv(args.size - got)
            if not data:
                sys.exit("connection closed early")
            got += len(data)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "udp", "tcp"])
    p.add_argument("--dst")
    p.add_argument("--port", type=int, default=7000)
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--ready")
    args = p.parse_args()
    {"serve": serve, "udp": udp, "tcp": tcp}[args.mode](args)


if __name__ == "__main__":
    main()
