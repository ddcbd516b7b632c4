#!/usr/bin/python3
"""Time two commands back to back, PAIRS times, pinned to one CPU, and
print the median and quartiles of the ratio of their CPU times (user +
system, from the kernel's accounting of each child, microseconds).

    paired.py --pairs N --cpu C --label-a A --label-b B [--prep CMD] -- CMD_A... -- CMD_B...

The ratio printed is time(A) / time(B): for A the bare loop and B the
converter, the converter's share of the bare loop's speed. Each pair runs
within a few seconds, so both commands see the same state of a shared
machine; on the build VM single runs spread by +-25 % within minutes,
while the median of 30 pairs moved by 0.01-0.03 between runs of this.
--prep CMD (split as the shell would) runs, untimed, before every timed command:
bench/run.sh passes bench/mem-warm there, so that each command starts with
the same memory state (see bench/mem-warm.c). Exits 1 when a command
fails."""
import argparse
import resource
import shlex
import statistics
import subprocess
import sys


def run(cmd):
    """Runs @cmd with its output discarded; exits 1, with its stderr, if it fails."""
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        sys.exit(f"paired: failed ({done.returncode}): {' '.join(cmd)}")


def cpu_seconds(cmd, cpu):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run(["taskset", "-c", str(cpu)] + cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    argv = sys.argv[1:]
    if argv.count("--") != 2:
        sys.exit("usage: paired.py [options] -- CMD_A... -- CMD_B...")
    first = argv.index("--")
    second = argv.index("--", first + 1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--prep", default="")
    opts = ap.parse_args(argv[:first])
    cmd_a, cmd_b = argv[first + 1:second], argv[second + 1:]
    prep = shlex.split(opts.prep)
    if opts.pairs < 4 or not cmd_a or not cmd_b:
        sys.exit("paired.py: need --pairs >= 4 and two commands")
    ta, tb = [], []
    for _ in range(opts.pairs):
        for cmd, times in ((cmd_a, ta), (cmd_b, tb)):
            if prep:
                run(prep)
            times.append(cpu_seconds(cmd, opts.cpu))
    ratios = [a / b for a, b in zip(ta, tb) if b > 0]
    q1, med, q3 = statistics.quantiles(ratios, n=4)
    print(f"{opts.pairs} back-to-back pairs, CPU time: {opts.label_a} "
          f"{statistics.median(ta):.3f} s, {opts.label_b} {statistics.median(tb):.3f} s "
          f"(medians); {opts.label_a} / {opts.label_b} per pair: median {med:.3f} "
          f"(quartiles {q1:.3f}-{q3:.3f}).")


if __name__ == "__main__":
    main()
