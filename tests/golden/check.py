#!/usr/bin/python3
"""Compare what a real reader decodes from ctflow's output with gen-pcap's
truth.

  check.py --truth T.json --reader R --input PATH [--uniflow] [--workdir D]
  check.py --agree R1:PATH1 R2:PATH2      (two readers, same export)

Readers: pyipfix, ipfixdump, tshark (IPFIX file), nfdump (nfcapd
directory), view-json, view-text (ctflow --format output). Exit 0 when
everything matches, 1 with one FAIL line per difference.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldenlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth")
    ap.add_argument("--reader", choices=sorted(goldenlib.READERS))
    ap.add_argument("--input")
    ap.add_argument("--uniflow", action="store_true")
    ap.add_argument("--workdir")
    ap.add_argument("--agree", nargs=2, metavar="READER:PATH")
    a = ap.parse_args()
    workdir = a.workdir or tempfile.mkdtemp(prefix="golden-check-")

    if a.agree:
        sides = []
        for spec in a.agree:
            reader, path = spec.split(":", 1)
            sides.append((reader, goldenlib.READERS[reader](path, workdir)))
        ok = goldenlib.compare_agree(sides[0][1], sides[1][1], sides[0][0], sides[1][0])
        return 0 if ok else 1

    if not (a.truth and a.reader and a.input):
        ap.error("--truth, --reader and --input are required")
    truth = goldenlib.load_truth(a.truth)
    try:
        got = goldenlib.READERS[a.reader](a.input, workdir)
    except Exception as e:  # a reader that cannot read is a failure, not a crash
        print("FAIL [%s] cannot read %s: %s" % (a.reader, a.input, e))
        return 1
    ok = goldenlib.run_compare(truth, got, a.reader, uniflow=a.uniflow,
                               **goldenlib.reader_options(a.reader))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
