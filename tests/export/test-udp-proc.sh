#!/bin/bash
# (d) UDP with owning processes and interface names, to a Python sink that
# keeps every datagram (nfcapd ignores both), decoded by python3-ipfix and
# ipfixDump --rfc5610:
#  - phase 1: records with and without a process at a steady rate for
#    ~3 s, template_refresh_s=1, an interface table set at start, changed
#    before record 3000 and set again unchanged on every tick: every record
#    and every process field decodes; every send of the templates (start
#    and each refresh) is followed by the whole current table; the changed
#    table leaves at once (right after record 2999); re-setting an
#    unchanged table sends nothing extra;
#  - phase 2: udp_mtu=512: no datagram above 512 octets, long executable
#    paths shortened to a prefix to fit, every other field exact.
. "$(dirname "$0")/lib.sh"
need ipfixDump
need_pyipfix

start_sink() {	# NAME -> SINK_PID
	$PY "$HERE/udp-sink.py" "$PORT" "$T/$1.ipfix" > "$T/$1.sink" 2>&1 &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	wait_until 10 grep -qs ready "$T/$1.sink" || fail "sink $1 did not start"
}

stop_sink() {	# NAME: after the datagrams in flight have arrived
	sleep 0.5
	kill -TERM $SINK_PID
	wait_until 10 grep -qs "^datagrams" "$T/$1.sink" || fail "sink $1 did not stop"
	echo "$1 sink: $(grep ^datagrams "$T/$1.sink")"
}

PORT=$(free_port udp)
start_sink refresh
"$DRIVER" -n 6000 -r 2000 --refresh 1 --proc --interfaces 12 --if-change-at 3000 \
	--if-json "$T/refresh.ifs" "udp://127.0.0.1:$PORT" --json "$T/refresh.json" \
	> "$T/refresh.stats" || fail "driver failed"
stop_sink refresh
[ "$(json "$T/refresh.stats" "j['outputs'][0]['records_sent']")" = 6000 ] || fail "not all sent"
$PY "$HERE/ipfixcheck.py" pyipfix --live --ifs "$T/refresh.ifs" --if-at-once \
	--expect "$T/refresh.json" "$T/refresh.ipfix" > "$T/refresh.chk" \
	|| fail "refresh python3-ipfix: $(cat "$T/refresh.chk")"
echo "refresh: $(cut -c1-200 "$T/refresh.chk")"
# the start, ~3 refreshes, the change: each table send is exactly one group
[ "$(json "$T/refresh.chk" "j['template_sends'] >= 3")" = True ] || fail "templates not refreshed"
[ "$(json "$T/refresh.chk" "j['if_groups'] == j['template_sends'] + 1")" = True ] \
	|| fail "interface name groups != template sends + 1 change: $(cut -c1-200 "$T/refresh.chk")"
ipfixDump --rfc5610 -i "$T/refresh.ipfix" > "$T/refresh.dump" 2> "$T/refresh.dump.err" \
	|| fail "ipfixDump failed: $(head -3 "$T/refresh.dump.err")"
[ ! -s "$T/refresh.dump.err" ] || fail "ipfixDump warned: $(head -3 "$T/refresh.dump.err")"
$PY "$HERE/ipfixcheck.py" ipfixdump --live --ifs "$T/refresh.ifs" --if-at-once \
	--expect "$T/refresh.json" "$T/refresh.dump" > "$T/refresh.chk2" \
	|| fail "refresh ipfixDump: $(cat "$T/refresh.chk2")"
echo "refresh ipfixDump: $(cut -c1-120 "$T/refresh.chk2")"

PORT=$(free_port udp)
start_sink mtu
"$DRIVER" -n 3000 --proc --interfaces 12 --udp-mtu 512 "udp://127.0.0.1:$PORT" \
	--json "$T/mtu.json" --if-json "$T/mtu.ifs" > "$T/mtu.stats" || fail "driver failed"
stop_sink mtu
LARGEST=$(awk '/^datagrams/ { print $4 }' "$T/mtu.sink")
[ "$LARGEST" -le 512 ] || fail "a datagram of $LARGEST octets with udp_mtu 512"
$PY "$HERE/ipfixcheck.py" pyipfix --live --ifs "$T/mtu.ifs" --shortened-exe-ok \
	--expect "$T/mtu.json" "$T/mtu.ipfix" > "$T/mtu.chk" \
	|| fail "mtu: $(cat "$T/mtu.chk")"
[ "$(json "$T/mtu.chk" "j['shortened_exe']")" -gt 0 ] || fail "mtu: nothing had to be shortened?"
echo "mtu 512: largest datagram $LARGEST, $(cut -c1-200 "$T/mtu.chk")"
