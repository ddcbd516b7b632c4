#!/usr/bin/python3
"""TCP sink: tcp-sink.py PORT FILE [RCVBUF]

Accepts connections on 127.0.0.1:PORT one at a time and writes every byte
of connection 1 to FILE, of connection k to FILE.k, unbuffered
(os.write). A reset ends a connection like a close. Prints "ready" once
listening and "eof K" when connection K has ended and all its bytes are
in the file.

SIGUSR1 is a crash that loses nothing the kernel acknowledged: the sink
reads what its socket holds (until the receive queue is empty), aborts
the connection with a reset (SO_LINGER 0) and exits at once. A SIGKILL
would also drop the bytes still in the receive buffer, which the
exporter's TCP saw acknowledged; no exporter can resend those (IPFIX has
no application-level acknowledgement), so a test of "nothing lost" must
not count them against it."""
import fcntl, os, signal, socket, struct, sys, termios


crashing = False


def on_usr1(signum, frame):
    global crashing
    crashing = True


def crash(conn, fd):
    """Read until the receive queue is empty, then reset and exit."""
    conn.setblocking(False)
    while True:
        try:
            data = conn.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            data = None
        except ConnectionError:
            break
        if data:
            os.write(fd, data)
            continue
        if data is not None:          # orderly close by the peer
            break
        inq = struct.unpack("i", fcntl.ioctl(conn.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        if inq == 0:
            break
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    os.close(fd)
    os._exit(0)


port, path = int(sys.argv[1]), sys.argv[2]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if len(sys.argv) > 3:
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[3]))
srv.bind(("127.0.0.1", port))
srv.listen(4)
signal.signal(signal.SIGUSR1, on_usr1)
print("ready", flush=True)
k = 0
while True:
    srv.settimeout(0.05)
    while not crashing:
        try:
            conn, _ = srv.accept()
            break
        except socket.timeout:
            pass
    if crashing:
        os._exit(0)
    k += 1
    fd = os.open(path if k == 1 else f"{path}.{k}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    conn.settimeout(0.05)    # the flag is checked between reads, never between read and write
    try:
        while True:
            if crashing:
                crash(conn, fd)
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if not data:
                break
            os.write(fd, data)
    except ConnectionError:
        pass
    os.close(fd)
    conn.close()
    print(f"eof {k}", flush=True)
