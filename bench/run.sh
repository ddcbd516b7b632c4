#!/usr/bin/env bash
# ctflow convert vs softflowd vs a bare libpcap read loop, in one run.
#
#   bench/run.sh [PACKETS] [FLOWS] [CONCURRENT_FLOWS]   (ROUNDS=5, PAIRS=30, FULL=1 by default)
#
# Builds a release tree in build-bench/, generates the captures with
# tests/tools/gen-pcap, and prints a markdown table of packets/s, the ratios
# against the peers, and peak RSS per open flow. Results go to
# bench/out/results.md as well. Single-threaded everything; the page cache
# is warmed before every timed run so the disk is not measured. The bare
# loop and ctflow run in turn, ROUNDS times, and the best time of each
# counts: on a shared machine the load then changes under both alike
# (softflowd, twenty times slower, is timed three times after them).
# Then PAIRS back-to-back pairs of the two give the median ratio of their
# CPU times (bench/paired.py), the steadier statistic; the memory warm-up
# below runs before each command of a pair as well.
# Two captures of the same packets are converted: bench.pcap with frames
# cut at 128 octets (headers only, as `tcpdump -s 128` writes: the least
# reading per packet, so the hardest case for the ratio to the bare loop)
# and full.pcap with whole frames (tcpdump's default snaplen), each
# against the bare loop on the same file (FULL=0 skips the second).
# Before every timed run, after the page cache, MEM_WARM_MIB (default
# 512; 0: off) MiB of memory are faulted in and freed by bench/mem-warm:
# this VM hands free 2 MiB blocks back to its host 2 s after they are
# freed, and a process that then allocates them pays 2-3 ms per MiB for the
# host to back them again (a property of the VM, not of the program; see
# bench/mem-warm.c and docs/performance.md).
# Every contender runs pinned to the same CPU (CPU=N, default 0; the UDP
# sinks run on another one): the two vCPUs of the build VM differ by up to
# 1.5x in speed, so an unpinned run mostly measured which CPU each process
# landed on.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-5000000}
ROUNDS=${ROUNDS:-5}
FLOWS=${2:-500000}
CONC=${3:-1000000}
OUT=bench/out
CPU=${CPU:-0}
MEM_WARM_MIB=${MEM_WARM_MIB:-512}
PAIRS=${PAIRS:-30}
FULL=${FULL:-1}
SINK_CPU=$(( $(nproc) > 1 ? (CPU + 1) % $(nproc) : CPU ))
mkdir -p "$OUT"
: >"$OUT/rounds.txt"
scripts/deps.sh test

# release as shipped (docker/Dockerfile): optimised, link-time optimisation
BENCH_OPTS=(-Dbuildtype=release -Db_ndebug=true -Db_lto=true)
if [[ -f build-bench/build.ninja ]]; then
  meson configure build-bench "${BENCH_OPTS[@]}" >/dev/null
else
  meson setup build-bench "${BENCH_OPTS[@]}" >/dev/null
fi
ninja -C build-bench >/dev/null
CTFLOW=build-bench/src/ctflow
GEN=build-bench/tests/tools/gen-pcap
LOOP=build-bench/bench/pcap-loop
# ctflow convert as every timed run of it starts (rounds and pairs alike)
CONVERT=("$CTFLOW" convert -q --no-progress --idle-timeout 60)
MEM_WARM=""	# the memory warm-up command, empty when off
if ((MEM_WARM_MIB > 0)); then MEM_WARM="build-bench/bench/mem-warm $MEM_WARM_MIB"; fi

# The VM's DAMON reclaim drops page-cache pages it finds idle (tens of MB
# within seconds), so the captures are read through once before every
# timed run: no contender pays for the disk.
# Then memory is faulted in and freed, so that no contender pays the
# host for backing its pages (see the top of this file).
warm() {
  cat "${CAPTURES[@]}" >/dev/null
  if [[ -n $MEM_WARM ]]; then $MEM_WARM >/dev/null; fi
}

# time_cmd OUTVAR CMD...: elapsed seconds and max RSS (KiB) of CMD.
# softflowd exits 1 after a clean "shutting down on user request", so the
# status is not judged; a run that produced no timing is a failure.
time_cmd() {
  local -n _res=$1; shift
  warm
  taskset -c "$CPU" /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || true
  _res=$(tail -n 1 "$OUT/time.txt")
  [[ $_res =~ ^[0-9.]+\ [0-9]+$ ]] || { echo "bench: failed: $*" >&2; cat "$OUT/stderr.txt" >&2; return 1; }
}

keep_best() {  # keep_best VAR CMD...: run CMD once; VAR keeps the fastest "secs rss"
  local -n _best=$1
  local name=$1 r
  shift
  time_cmd r "$@"
  echo "$name ${r% *}" >>"$OUT/rounds.txt"
  if [[ -z $_best ]] || awk -v a="${r% *}" -v b="${_best% *}" 'BEGIN{exit !(a<b)}'; then _best=$r; fi
}

best_of3() {   # best elapsed of three runs; echoes "secs rss"
  local best=""
  for _ in 1 2 3; do keep_best best "$@"; done
  echo "$best"
}

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

echo "== generating $PACKETS packets over $FLOWS flows" >&2
[[ -f $OUT/bench.pcap ]] || $GEN --scenario bench --packets "$PACKETS" --flows "$FLOWS" \
  --out "$OUT/bench.pcap" --truth /dev/null
CAPTURES=("$OUT/bench.pcap" "$OUT/conc.pcap" "$OUT/tiny.pcap")	# what warm() reads
if ((FULL)); then
  [[ -f $OUT/full.pcap ]] || $GEN --scenario bench --packets "$PACKETS" --flows "$FLOWS" \
    --snaplen 262144 --out "$OUT/full.pcap" --truth /dev/null
  CAPTURES+=("$OUT/full.pcap")
fi
[[ -f $OUT/conc.pcap ]] || $GEN --scenario bench-concurrent --flows "$CONC" \
  --out "$OUT/conc.pcap" --truth /dev/null
[[ -f $OUT/tiny.pcap ]] || $GEN --scenario bench-concurrent --flows 10 \
  --out "$OUT/tiny.pcap" --truth /dev/null

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
port=$(free_port)
taskset -c "$SINK_CPU" /usr/bin/python3 bench/udp-sink.py --port "$port" --idle 120 >"$OUT/sink-ctflow.json" &
sink=$!; sleep 0.5
loop="" ct_file="" ct_udp="" loop_full="" ct_full=""
for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round/$ROUNDS: bare libpcap loop, ctflow convert -> /dev/null, -> UDP sink (unpaced)" >&2
  keep_best loop $LOOP "$OUT/bench.pcap"
  keep_best ct_file "${CONVERT[@]}" -o /dev/null "$OUT/bench.pcap"
  keep_best ct_udp "${CONVERT[@]}" --udp-rate 0 -C "udp://127.0.0.1:$port" "$OUT/bench.pcap"
  if ((FULL)); then
    keep_best loop_full $LOOP "$OUT/full.pcap"
    keep_best ct_full "${CONVERT[@]}" -o /dev/null "$OUT/full.pcap"
  fi
done
kill -TERM $sink 2>/dev/null || true; wait $sink || true

# Best-of and medians of a few long runs move with the shared machine's
# state; PAIRS back-to-back pairs (0: skip) are the steadier statistic.
pairs() {  # pairs CAPTURE: PAIRS back-to-back pairs on it, the summary on stdout
  echo "== $PAIRS back-to-back pairs on $1: bare loop, ctflow convert -o /dev/null (CPU time)" >&2
  warm
  /usr/bin/python3 bench/paired.py --pairs "$PAIRS" --cpu "$CPU" --prep "$MEM_WARM" \
    --label-a "bare loop" --label-b "ctflow convert" -- $LOOP "$1" -- \
    "${CONVERT[@]}" -o /dev/null "$1"
}
paired="(PAIRS=0: not run)" paired_full="(PAIRS=0 or FULL=0: not run)"
if ((PAIRS > 0)); then
  paired=$(pairs "$OUT/bench.pcap")
  if ((FULL)); then paired_full=$(pairs "$OUT/full.pcap"); fi
fi

port=$(free_port)
echo "== softflowd -r -> UDP sink" >&2
taskset -c "$SINK_CPU" /usr/bin/python3 bench/udp-sink.py --port "$port" --idle 120 >"$OUT/sink-softflowd.json" &
sink=$!; sleep 0.5
sf=$(best_of3 softflowd -d -r "$OUT/bench.pcap" -n "127.0.0.1:$port" -v 10 -b -A milli -6 \
  -c none -m $((FLOWS * 2)) -t general=60s)
kill -TERM $sink 2>/dev/null || true; wait $sink || true

echo "== peak RSS with $CONC concurrent flows" >&2
time_cmd base $CTFLOW convert -q --no-progress --max-flows $((CONC * 2)) -o /dev/null "$OUT/tiny.pcap"
time_cmd conc $CTFLOW convert -q --no-progress --max-flows $((CONC * 2)) -o /dev/null "$OUT/conc.pcap"
port=$(free_port)
time_cmd sfbase softflowd -d -r "$OUT/tiny.pcap" -n "127.0.0.1:$port" -v 10 -b -A milli -6 -c none -m $((CONC * 2))
time_cmd sfconc softflowd -d -r "$OUT/conc.pcap" -n "127.0.0.1:$port" -v 10 -b -A milli -6 -c none -m $((CONC * 2))

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$PACKETS" "$CONC" "$loop" "$ct_file" "$ct_udp" "$sf" "$base" "$conc" "$sfbase" "$sfconc" \
  "$ROUNDS" "$load_before" "$load_after" "$CPU" "$OUT/rounds.txt" "$MEM_WARM_MIB" "$paired" \
  "${loop_full:-0 0}" "${ct_full:-0 0}" "$paired_full" \
  <<'PY' | tee "$OUT/results.md"
import statistics
import sys
pk, conc = int(sys.argv[1]), int(sys.argv[2])
rounds, load_before, load_after, cpu, rounds_file, mem_warm, paired = sys.argv[11:18]
paired_full = sys.argv[20]
per_round = {}
for line in open(rounds_file):
    name, secs = line.split()
    per_round.setdefault(name, []).append(float(secs))
def sr(s): a, b = s.split(); return float(a), int(b)
loop, ctf, ctu, sf = (sr(x) for x in sys.argv[3:7])
loopf, ctff = sr(sys.argv[18]), sr(sys.argv[19])
base, cc, sfb, sfc = (sr(x) for x in sys.argv[7:11])
pps = lambda t: pk / max(t[0], 1e-9)
print("Frames cut at 128 octets (bench.pcap):")
print()
print(f"| run | seconds | packets/s | vs bare loop | vs softflowd |")
print(f"|---|---:|---:|---:|---:|")
for name, t in (("bare libpcap loop", loop), ("ctflow convert -o /dev/null", ctf),
                ("ctflow convert -C udp (unpaced)", ctu), ("softflowd -r (UDP)", sf)):
    print(f"| {name} | {t[0]:.2f} | {pps(t):,.0f} | {pps(t)/pps(loop):.2f} | {pps(t)/pps(sf):.2f} |")
print()
if loopf[0] > 0:
    print("The same packets, whole frames (full.pcap):")
    print()
    print(f"| run | seconds | packets/s | vs bare loop |")
    print(f"|---|---:|---:|---:|")
    for name, t in (("bare libpcap loop", loopf), ("ctflow convert -o /dev/null", ctff)):
        print(f"| {name} | {t[0]:.2f} | {pps(t):,.0f} | {pps(t)/pps(loopf):.2f} |")
else:
    print("FULL=0: the whole-frame capture was not run.")
per = (cc[1] - base[1]) * 1024 / conc
sfper = (sfc[1] - sfb[1]) * 1024 / conc
print()
print(f"| peak RSS, {conc:,} concurrent flows | KiB | bytes per open flow |")
print(f"|---|---:|---:|")
print(f"| ctflow convert | {cc[1]:,} (baseline {base[1]:,}) | {per:.0f} |")
print(f"| softflowd | {sfc[1]:,} (baseline {sfb[1]:,}) | {sfper:.0f} |")
print()
print(f"Best of {rounds} interleaved rounds (softflowd: of 3), all on CPU {cpu}; load average "
      f"{load_before} before, {load_after} after; page cache warmed and "
      + (f"{mem_warm} MiB of memory faulted in before every run." if int(mem_warm) > 0
         else "memory not pre-faulted (MEM_WARM_MIB=0)."))
def round_ratios(a, b):
    r = [x / y for x, y in zip(per_round[a], per_round[b])]
    return " ".join(f"{x:.2f}" for x in r) + f" (median {statistics.median(r):.2f})"
print(f"ctflow convert -o /dev/null vs bare loop, round by round: "
      f"{round_ratios('loop', 'ct_file')}.")
# best-of picks each side's luckiest run; the medians' ratio is steadier
mloop, mct = statistics.median(per_round["loop"]), statistics.median(per_round["ct_file"])
print(f"Median times: bare loop {mloop:.2f} s, ctflow convert -o /dev/null {mct:.2f} s "
      f"({mloop / mct:.2f} of the bare loop).")
print(f"Bare loop vs ctflow convert -o /dev/null, {paired}")
if loopf[0] > 0:
    print(f"Whole frames (the same packets, not cut at 128 octets), ctflow convert -o /dev/null vs "
          f"the bare loop on that file, round by round: {round_ratios('loop_full', 'ct_full')}.")
    print(f"Whole frames, bare loop vs ctflow convert -o /dev/null, {paired_full}")
PY
