#!/usr/bin/python3
"""UDP sink: udp-sink.py PORT FILE

Receives IPFIX datagrams on 127.0.0.1:PORT and appends each one, whole,
to FILE (one datagram = one IPFIX message, so FILE is an RFC 5655 file
for ipfixDump and python3-ipfix). A 4 MiB receive buffer rides out
scheduling stalls. Prints "ready" once bound; on SIGTERM prints
"datagrams N largest L" and exits."""
import os, signal, socket, sys

port, path = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", port))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
count, largest = 0, 0


def stop(signum, frame):
    print(f"datagrams {count} largest {largest}", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    data = s.recv(65535)
    os.write(fd, data)
    count += 1
    largest = max(largest, len(data))
