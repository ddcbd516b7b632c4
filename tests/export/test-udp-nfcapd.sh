#!/bin/bash
# (b) UDP to a real nfcapd on loopback.
#  - phase 1: N records pushed as fast as the driver can, so the exporter's
#    own pacing (default udp_rate) is what protects the collector;
#  - phase 2: records at a steady rate for ~4 s with template_refresh_s=1;
#  - phase 3: live records, two in three with an owning process (varlen
#    enterprise strings, userName), and interface name options records:
#    nfdump must still decode every flow field of the process templates.
# Every record of all phases arrives with exact times, addresses, ports,
# counters both ways, interfaces, NAT translation, flags and ToS (nfdump
# output), and a tshark capture of the stream shows the templates re-sent
# every second and no message above 1420 octets.
. "$(dirname "$0")/lib.sh"
need nfcapd
need nfdump
need tshark
N=${N:-60000}
PORT=$(free_port udp)
mkdir -p "$T/nf"

# tshark's stdout goes nowhere: its dumpcap child must not hold meson's pipe
tshark -q -n -i lo -f "udp port $PORT" -w "$T/cap.pcapng" > /dev/null 2> "$T/tshark.err" &
TSPID=$!
PIDS="$PIDS $TSPID"
wait_until 20 grep -qs "Capturing on" "$T/tshark.err" || fail "tshark did not start: $(cat "$T/tshark.err")"
sleep 1			# "Capturing on" comes a little before the capture does
# a 4 MiB socket buffer rides out scheduling stalls on a busy test host
nfcapd -b 127.0.0.1 -p "$PORT" -w "$T/nf" -t 3600 -B 4194304 > "$T/nfcapd.log" 2>&1 &
NFPID=$!
PIDS="$PIDS $NFPID"
wait_until 10 grep -qs "Startup" "$T/nfcapd.log" || fail "nfcapd did not start: $(cat "$T/nfcapd.log")"

"$DRIVER" -n $N "udp://127.0.0.1:$PORT" --json "$T/pushed1.json" > "$T/stats1.json" \
	|| fail "driver failed"
echo "phase 1 (paced by the exporter): $(cat "$T/stats1.json")"
[ "$(json "$T/stats1.json" "j['outputs'][0]['records_sent']")" = $N ] || fail "not all sent"
"$DRIVER" -n 20000 -r 5000 --refresh 1 "udp://127.0.0.1:$PORT" --json "$T/pushed2.json" \
	> "$T/stats2.json" || fail "driver failed"
echo "phase 2 (5000 records/s, refresh 1 s): $(cat "$T/stats2.json")"
"$DRIVER" -n 10000 --proc --interfaces 12 "udp://127.0.0.1:$PORT" --json "$T/pushed3.json" \
	> "$T/stats3.json" || fail "driver failed"
echo "phase 3 (processes, interface names): $(cat "$T/stats3.json")"
cat "$T/pushed1.json" "$T/pushed2.json" "$T/pushed3.json" > "$T/pushed.json"

sleep 1			# let nfcapd drain its socket, then stop it (the file is finished on exit)
kill -TERM $NFPID
wait_until 10 sh -c "! kill -0 $NFPID 2>/dev/null" || fail "nfcapd did not exit"
sleep 0.5
TZ=UTC nfdump -R "$T/nf" -q -N \
	-o 'fmt:%ts;%te;%pr;%sa;%da;%sp;%dp;%pkt;%byt;%opkt;%obyt;%in;%out;%xsa;%xda;%xsp;%xdp;%flg;%tos' \
	> "$T/nfdump.txt" || fail "nfdump failed"
$PY "$HERE/nfcheck.py" "$T/pushed.json" < "$T/nfdump.txt" > "$T/nfcheck.json" \
	|| fail "nfdump records differ: $(cat "$T/nfcheck.json")"
echo "nfdump: $(cat "$T/nfcheck.json")"

# template refresh and message size, as tshark decodes the capture
sleep 0.5
kill -INT $TSPID 2>/dev/null || true
wait_until 10 sh -c "! kill -0 $TSPID 2>/dev/null" || true
wait_until 10 sh -c "tshark -r '$T/cap.pcapng' -c 1 >/dev/null 2>&1" || fail "capture unreadable"
tshark -r "$T/cap.pcapng" -d "udp.port==$PORT,cflow" -Y cflow -T fields -E separator=';' \
	-e frame.time_epoch -e udp.srcport -e cflow.flowset_id -e udp.length \
	> "$T/tshark.txt" 2>/dev/null || fail "tshark decode failed"
$PY - "$T/tshark.txt" <<'PYEOF' || fail "capture check"
import collections, sys
tmpl = collections.defaultdict(list)      # exporter source port -> template times
msgs, biggest = collections.Counter(), 0
for line in open(sys.argv[1]):
    t, sport, sets, udplen = line.rstrip("\n").split(";")
    msgs[sport] += 1
    biggest = max(biggest, int(udplen) - 8)
    if "2" in sets.split(","):
        tmpl[sport].append(float(t))
if len(msgs) != 3:
    sys.exit(f"expected three exporters, saw {dict(msgs)}")
(p1, p2, p3) = sorted(msgs, key=lambda p: min(tmpl[p]))
t2 = tmpl[p2]
gaps = [b - a for a, b in zip(t2, t2[1:])]
print(f"tshark: phase 1 {msgs[p1]} messages, templates {len(tmpl[p1])}x; phase 2 "
      f"{msgs[p2]} messages, templates {len(t2)}x over {t2[-1] - t2[0]:.1f} s; "
      f"phase 3 {msgs[p3]} messages; largest message {biggest} octets")
if biggest > 1420:
    sys.exit(f"message of {biggest} octets > 1420")
if len(tmpl[p1]) != 1:
    sys.exit("phase 1: templates other than at start within 60 s")
if len(t2) < 4 or max(gaps) > 2.5:
    sys.exit(f"phase 2: templates not refreshed every second: {gaps}")
PYEOF
