#!/usr/bin/python3
"""TCP sink: tcp-sink.py PORT FILE [RCVBUF]

Accepts connections on 127.0.0.1:PORT one at a time and writes every byte
of connection 1 to FILE, of connection k to FILE.k, unbuffered
(os.write), so a SIGKILL loses nothing it has read. A reset ends a
connection like a close. Prints "ready" once listening and "eof K" when
connection K has ended and all its bytes are in the file."""
import os, socket, sys

port, path = int(sys.argv[1]), sys.argv[2]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if len(sys.argv) > 3:
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[3]))
srv.bind(("127.0.0.1", port))
srv.listen(4)
print("ready", flush=True)
k = 0
while True:
    conn, _ = srv.accept()
    k += 1
    fd = os.open(path if k == 1 else f"{path}.{k}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            os.write(fd, data)
    except ConnectionError:
        pass
    os.close(fd)
    conn.close()
    print(f"eof {k}", flush=True)
