#!/usr/bin/python3
"""Scrape and check a Prometheus endpoint for the live tests (no curl needed).

  promcheck.py get HOST PORT PATH [METHOD]   status line to stderr, body to stdout;
                                              exit 0 on 200, 1 on another status
  promcheck.py stall HOST PORT SECONDS        connect, send nothing, hold SECONDS;
                                              prints how long until the server closed
  promcheck.py check FILE                     strict text format 0.0.4 check
  promcheck.py value FILE NAME [LABEL=VALUE...]  sum of the samples of NAME whose
                                              labels include those given

`check` is strict where Prometheus' own parser is: names, label syntax and
escapes, values, HELP/TYPE once per family and before its samples, one
block per family, no repeated series; and holds ctflow to the naming
conventions (counters end in _total and never go negative). Bounded: every
socket operation times out.
"""
import math
import re
import socket
import sys
import time

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def http(host, port, path, method="GET"):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
              "Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    if "content-length" in headers and int(headers["content-length"]) != len(body) \
            and method != "HEAD":
        sys.exit(f"Content-Length {headers['content-length']} but {len(body)} octets")
    return status, headers, body


def cmd_get(host, port, path, method="GET"):
    status, headers, body = http(host, port, path, method)
    print(f"{status} {headers.get('content-type', '')}", file=sys.stderr)
    sys.stdout.buffer.write(body)
    return 0 if status == 200 else 1


def cmd_stall(host, port, seconds):
    s = socket.create_connection((host, int(port)), timeout=float(seconds))
    t0 = time.monotonic()
    try:
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    print(f"{time.monotonic() - t0:.1f}" if closed else "open")
    return 0


def parse_labels(text, where):
    """'{a="x",b="y"}' body without braces -> tuple of (name, value)."""
    labels, i = [], 0
    while i < len(text):
        m = LABEL.match(text, i)
        if not m:
            raise ValueError(f"{where}: bad label name at {text[i:]!r}")
        name, i = m.group(0), m.end()
        if text[i:i + 2] != '="':
            raise ValueError(f"{where}: expected =\" after label {name}")
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise ValueError(f"{where}: unterminated value of {name}")
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise ValueError(f"{where}: bad escape \\{esc} in {name}")
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError(f"{where}: newline in value of {name}")
            else:
                value.append(c)
                i += 1
        if name in dict(labels):
            raise ValueError(f"{where}: label {name} twice")
        labels.append((name, "".join(value)))
        if i < len(text):
            if text[i] != ",":
                raise ValueError(f"{where}: expected , after label {name}")
            i += 1
            if i == len(text):
                break   # a trailing comma is allowed
    return tuple(sorted(labels))


def parse_value(s, where):
    if s in ("NaN", "+Inf", "-Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError(f"{where}: bad value {s!r}")
    return float(s)


def family_of(name, types):
    """The family a sample belongs to (histogram/summary suffixes)."""
    for suffix in ("_bucket", "_count", "_sum"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def sample_labels(rest, where):
    """'{...} VALUE': the label tuple and what follows the braces."""
    if not rest.startswith("{"):
        return (), rest
    i, inq = 1, False
    while i < len(rest):
        if inq and rest[i] == "\\":
            i += 2
            continue
        if rest[i] == '"':
            inq = not inq
        elif rest[i] == "}" and not inq:
            return parse_labels(rest[1:i], where), rest[i + 1:]
        i += 1
    raise ValueError(f"{where}: unterminated label set")


def parse(text):
    """Strict 0.0.4: returns {(name, labels): value}; raises ValueError."""
    if not text.endswith("\n"):
        raise ValueError("the exposition does not end with a newline")
    types, helps, series, started = {}, {}, {}, set()
    current = None

    def enter(fam, where):
        nonlocal current
        if fam != current:
            if fam in started:
                raise ValueError(f"{where}: family {fam} split in two")
            started.add(fam)
            current = fam

    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}"
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                continue    # a comment
            name, rest = parts[2], parts[3] if len(parts) == 4 else ""
            if not NAME.fullmatch(name):
                raise ValueError(f"{where}: bad metric name {name!r}")
            enter(name, where)
            if parts[1] == "TYPE":
                if name in types:
                    raise ValueError(f"{where}: second TYPE for {name}")
                if any(family_of(k[0], types) == name for k in series):
                    raise ValueError(f"{where}: TYPE of {name} after its samples")
                if rest not in TYPES:
                    raise ValueError(f"{where}: unknown type {rest!r}")
                types[name] = rest
            else:
                if name in helps:
                    raise ValueError(f"{where}: second HELP for {name}")
                if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    raise ValueError(f"{where}: bad escape in HELP of {name}")
                helps[name] = rest
            continue
        m = NAME.match(line)
        if not m:
            raise ValueError(f"{where}: bad sample {line!r}")
        name = m.group(0)
        labels, rest = sample_labels(line[m.end():], where)
        if not rest.startswith(" "):
            raise ValueError(f"{where}: no space before the value")
        fields = rest[1:].split(" ")
        if len(fields) not in (1, 2):
            raise ValueError(f"{where}: trailing text {rest!r}")
        value = parse_value(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise ValueError(f"{where}: bad timestamp {fields[1]!r}")
        fam = family_of(name, types)
        enter(fam, where)
        if (name, labels) in series:
            raise ValueError(f"{where}: series {name}{dict(labels)} twice")
        series[(name, labels)] = value
        # ctflow's conventions
        t = types.get(fam)
        if t is None:
            raise ValueError(f"{where}: {name} has no TYPE")
        if t == "counter" and not name.endswith("_total"):
            raise ValueError(f"{where}: counter {name} does not end in _total")
        if t == "counter" and (value < 0 or math.isnan(value)):
            raise ValueError(f"{where}: counter {name} is {value}")
        if name.endswith("_total") and t != "counter":
            raise ValueError(f"{where}: {name} ends in _total but is a {t}")
        if fam not in helps:
            raise ValueError(f"{where}: {name} has no HELP")
    return series


def load(path):
    with open(path, "rb") as f:
        return parse(f.read().decode("utf-8"))


def cmd_check(path):
    try:
        series = load(path)
    except (ValueError, UnicodeDecodeError) as e:
        print(f"promcheck: {path}: {e}", file=sys.stderr)
        return 1
    print(f"{len(series)} series, {len({k[0] for k in series})} names")
    return 0


def cmd_value(path, name, *want):
    pairs = [w.split("=", 1) for w in want]
    total, n = 0.0, 0
    for (sname, labels), v in load(path).items():
        lab = dict(labels)
        if sname == name and all(lab.get(k) == v2 for k, v2 in pairs):
            total += v
            n += 1
    if n == 0:
        print(f"promcheck: no sample {name} {' '.join(want)} in {path}", file=sys.stderr)
        return 1
    print(int(total) if total == int(total) else total)
    return 0


def main(argv):
    cmds = {"get": cmd_get, "stall": cmd_stall, "check": cmd_check, "value": cmd_value}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    return cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
