#!/bin/bash
# (b) UDP to a real nfcapd on loopback, paced at the default udp_rate:
# all N records arrive with exact times, addresses, ports, counters both
# ways, interfaces, NAT translation, flags and ToS (nfdump output). A
# tshark capture of the same stream shows the templates re-sent every
# template_refresh_s (1 s here).
. "$(dirname "$0")/lib.sh"
need nfcapd
need nfdump
need tshark
N=${N:-60000}
RATE=12000		# records/s: the run lasts ~5 s, so ~5 refreshes
PORT=$(free_port udp)
mkdir -p "$T/nf"

tshark -q -n -i lo -f "udp port $PORT" -w "$T/cap.pcapng" 2> "$T/tshark.err" &
TSPID=$!
PIDS="$PIDS $TSPID"
wait_until 20 grep -qs "Capturing on" "$T/tshark.err" || fail "tshark did not start: $(cat "$T/tshark.err")"
sleep 1			# "Capturing on" comes a little before the capture does
nfcapd -b 127.0.0.1 -p "$PORT" -w "$T/nf" -t 3600 > "$T/nfcapd.log" 2>&1 &
NFPID=$!
PIDS="$PIDS $NFPID"
wait_until 10 grep -qs "Startup" "$T/nfcapd.log" || fail "nfcapd did not start: $(cat "$T/nfcapd.log")"

"$DRIVER" -n $N -r $RATE --refresh 1 "udp://127.0.0.1:$PORT" --json "$T/pushed.json" \
	> "$T/stats.json" || fail "driver failed"
echo "driver: $(cat "$T/stats.json")"
[ "$(json "$T/stats.json" "j['outputs'][0]['records_sent']")" = $N ] || fail "not all sent"

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

# template refresh and sequence numbers, as tshark decodes the capture
sleep 0.5
kill -INT $TSPID 2>/dev/null || true
wait_until 10 sh -c "! kill -0 $TSPID 2>/dev/null" || true
wait_until 10 sh -c "tshark -r '$T/cap.pcapng' -c 1 >/dev/null 2>&1" || fail "capture unreadable"
tshark -r "$T/cap.pcapng" -d "udp.port==$PORT,cflow" -Y cflow -T fields -E separator=';' \
	-e frame.time_epoch -e cflow.sequence -e cflow.flowset_id -e udp.length \
	> "$T/tshark.txt" 2>/dev/null || fail "tshark decode failed"
$PY - "$T/tshark.txt" <<'PYEOF' || fail "capture check"
import sys
tmpl_times, msgs, biggest = [], 0, 0
for line in open(sys.argv[1]):
    t, seq, sets, udplen = line.rstrip("\n").split(";")
    msgs += 1
    biggest = max(biggest, int(udplen) - 8)
    if "2" in sets.split(","):
        tmpl_times.append(float(t))
span = tmpl_times[-1] - tmpl_times[0] if tmpl_times else 0
print(f"tshark: {msgs} messages (largest {biggest} octets), template sets at "
      f"{len(tmpl_times)} times over {span:.1f} s")
if biggest > 1420:
    sys.exit(f"message of {biggest} octets > 1420")
if len(tmpl_times) < 4:
    sys.exit("templates not refreshed")
gaps = [b - a for a, b in zip(tmpl_times, tmpl_times[1:])]
if max(gaps) > 2.5:
    sys.exit(f"refresh gap {max(gaps):.1f} s > 2.5 s")
PYEOF
