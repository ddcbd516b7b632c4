#!/usr/bin/python3
"""Many short flows from one process, for the interface enricher's root test.

Run inside a client namespace against the echo server of tests/root/traffic.py
(`serve`). Each TCP flow is one connection with 1-4 echoed messages of random
size and content; each UDP flow is a fresh socket (a fresh source port, so a
conntrack entry of its own) with 1-6 echoed datagrams of random size and
content. Random content keeps the capture filter's 1-in-N choice honest.
Bounded: counts come from the command line, every wait has a timeout.
"""
import argparse
import os
import random
import socket
import sys


def family(dst):
    return socket.AF_INET6 if ":" in dst else socket.AF_INET


def tcp_flow(dst, port, rnd):
    s = socket.create_connection((dst, port), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(rnd.randint(1, 4)):
        data = os.urandom(rnd.randint(1, 1400))
        s.sendall(data)
        got = 0
        while got < len(data):
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("tcp: connection closed early")
            got += len(chunk)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()


def udp_flow(dst, port, rnd):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.settimeout(3)
    for _ in range(rnd.randint(1, 6)):
        data = os.urandom(rnd.randint(2, 1200))
        s.sendto(data, (dst, port))
        echo, _ = s.recvfrom(65535)
        if len(echo) != len(data):
            sys.exit("udp: short echo")
    s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=7000)
    p.add_argument("--tcp", type=int, default=0)
    p.add_argument("--udp", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rnd = random.Random(args.seed)
    kinds = ["tcp"] * args.tcp + ["udp"] * args.udp
    rnd.shuffle(kinds)
    for k in kinds:
        (tcp_flow if k == "tcp" else udp_flow)(args.dst, args.port, rnd)


if __name__ == "__main__":
    main()
