#!/bin/bash
# (c) TCP collector killed mid-stream and restarted on the same port.
#
# A Python sink writes every byte it receives to a file. The driver
# pushes N records at a moderate rate with reconnect_min_s=1; the sink is
# "crashed" (SIGUSR1: it reads what its kernel acknowledged,
# resets the connection and exits; see tcp-sink.py) while records flow
# and a new one (new file) starts on the same port. Then:
#  - file 2 decodes with ipfixDump without "Missing external template"
#    (a new session: templates first, sequence numbers from 0);
#  - decoded(file 1) + decoded(file 2) + records_dropped == N, no
#    duplicates (python3-ipfix, every field checked);
#  - with owning processes and an interface name table (changed before
#    the collector is killed): every process field of every record
#    decodes across both connections, and connection 2 carries the
#    current table after its templates and before any data;
#  - with a tiny queue_max and a longer outage, records_dropped > 0 and
#    the last reliability statistics record in file 2 carries
#    notSentFlowTotalCount == records_dropped;
#  - a collector that stops reading (SIGSTOP, small receive buffer) makes
#    a send time out: the connection is reset, the records the peer never
#    acknowledged (SIOCOUTQ) are sent again on a new connection, and after
#    SIGCONT every record is decoded exactly once with nothing dropped.
. "$(dirname "$0")/lib.sh"
need ipfixDump
need_pyipfix
N=20000
RATE=4000		# records/s: ~5 s of streaming

start_sink() {	# FILE [RCVBUF] -> SINK_PID
	: > "$T/$1.ready"
	$PY "$HERE/tcp-sink.py" "$PORT" "$T/$1" ${2:-} > "$T/$1.ready" 2>&1 &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	wait_until 10 grep -qs ready "$T/$1.ready" || fail "sink $1 did not start"
}

# CHK: extra ipfixcheck arguments; CHK2: more of them for connection 2 alone
scenario() {	# NAME OUTAGE_S DRIVER-ARGS...
	local name=$1 outage=$2
	shift 2
	PORT=$(free_port tcp)
	start_sink "$name.1"
	"$DRIVER" -n $N -r $RATE --reconnect-min 1 --reconnect-max 4 --shutdown-timeout 15 \
		"$@" "tcp://127.0.0.1:$PORT" --json "$T/$name.json" > "$T/$name.stats" 2> "$T/$name.log" &
	local drv=$!
	PIDS="$PIDS $drv"
	# kill the collector while records flow (>= 100 kB received)
	wait_until 10 sh -c "[ \$(stat -c %s '$T/$name.1' 2>/dev/null || echo 0) -ge 100000 ]" \
		|| fail "$name: no data reached sink 1"
	kill -USR1 $SINK_PID
	wait $SINK_PID 2>/dev/null || true	# it has read all its kernel acknowledged
	sleep "$outage"
	start_sink "$name.2"
	wait_until 40 sh -c "! kill -0 $drv 2>/dev/null" || fail "$name: driver did not finish"
	wait $drv || fail "$name: driver failed: $(cat "$T/$name.log")"
	# the sink must read all the collector's kernel acknowledged before it goes
	wait_until 10 grep -qs "^eof" "$T/$name.2.ready" || fail "$name: sink 2 saw no end of stream"
	kill -TERM $SINK_PID 2>/dev/null || true
	echo "$name driver: $(cat "$T/$name.stats")"
	echo "$name log: $(tr '\n' ' ' < "$T/$name.log" | cut -c1-400)"
	DROPPED=$(json "$T/$name.stats" "j['outputs'][0]['records_dropped']")
	[ "$(json "$T/$name.stats" "j['outputs'][0]['reconnects']")" -ge 1 ] || fail "$name: no reconnect"
	[ "$(json "$T/$name.stats" "j['outputs'][0]['records_sent'] + j['outputs'][0]['records_dropped'] == j['outputs'][0]['records_in'] == $N")" = True ] \
		|| fail "$name: counters do not add up"

	ipfixDump -i "$T/$name.2" > "$T/$name.2.dump" 2> "$T/$name.2.err" || fail "$name: ipfixDump file 2"
	! grep -q "Missing external template" "$T/$name.2.err" || fail "$name: file 2 has data before templates"
	[ ! -s "$T/$name.2.err" ] || fail "$name: ipfixDump warned on file 2: $(head -3 "$T/$name.2.err")"
	$PY "$HERE/ipfixcheck.py" pyipfix ${CHK:-} --expect "$T/$name.json" --dropped "$DROPPED" \
		"$T/$name.1" "$T/$name.2" > "$T/$name.chk" || fail "$name: $(cat "$T/$name.chk")"
	echo "$name decode: $(cat "$T/$name.chk")"
	# file 2 alone: its last reliability record
	$PY "$HERE/ipfixcheck.py" pyipfix ${CHK:-} ${CHK2:-} --expect "$T/$name.json" --partial \
		"$T/$name.2" > "$T/$name.2.chk" || fail "$name file 2: $(cat "$T/$name.2.chk")"
	REL=$(json "$T/$name.2.chk" "j['reliability'][0]['notSentFlowTotalCount']")
}

scenario kill 0.3
[ "$DROPPED" = 0 ] || fail "kill: $DROPPED records dropped with a 0.3 s outage"

# processes and interface names; the table changes at record 200, long
# before connection 1 has its 100 kB, so connection 2 must carry the new one
CHK="--live --ifs $T/procif.ifs" CHK2="--if-final" scenario procif 0.3 --proc \
	--interfaces 12 --if-change-at 200 --if-json "$T/procif.ifs"
[ "$DROPPED" = 0 ] || fail "procif: $DROPPED records dropped with a 0.3 s outage"
[ "$(json "$T/procif.2.chk" "j['if_groups']")" = 1 ] || fail "procif: connection 2 names"

# tiny queue, outage longer than the first retry (1 s): drops, reported
scenario tinyq 2 --queue-max 100
[ "$DROPPED" -gt 0 ] || fail "tinyq: no drops"
[ "$REL" = "$DROPPED" ] || fail "tinyq: notSentFlowTotalCount $REL != dropped $DROPPED"
echo "tinyq: dropped $DROPPED, reliability record says $REL"

# stalled collector: send timeout, reset, requeue of unacknowledged records
PORT=$(free_port tcp)
start_sink stall 65536
"$DRIVER" -n $N -r $RATE --reconnect-min 1 --reconnect-max 2 --shutdown-timeout 20 \
	"tcp://127.0.0.1:$PORT" --json "$T/stall.json" > "$T/stall.stats" 2> "$T/stall.log" &
DRV=$!
PIDS="$PIDS $DRV"
wait_until 10 sh -c "[ \$(stat -c %s '$T/stall' 2>/dev/null || echo 0) -ge 100000 ]" \
	|| fail "stall: no data reached the sink"
kill -STOP $SINK_PID
wait_until 30 grep -qs "send timed out" "$T/stall.log" || fail "stall: no send timeout"
sleep 1.5		# it reconnects into the stopped sink's backlog
kill -CONT $SINK_PID
wait_until 60 sh -c "! kill -0 $DRV 2>/dev/null" || fail "stall: driver did not finish"
wait $DRV || fail "stall: driver failed"
all_eof() {	# one "eof" per connection file
	[ "$(grep -c '^eof' "$T/stall.ready")" -ge "$(ls "$T"/stall "$T"/stall.[0-9]* 2>/dev/null | wc -l)" ]
}
wait_until 10 all_eof || fail "stall: sink saw no end of every stream"
kill -TERM $SINK_PID 2>/dev/null || true
echo "stall driver: $(cat "$T/stall.stats")"
echo "stall log: $(tr '\n' ' ' < "$T/stall.log" | cut -c1-600)"
[ "$(json "$T/stall.stats" "j['outputs'][0]['records_dropped']")" = 0 ] || fail "stall: drops"
for f in "$T"/stall.[0-9]*; do
	ipfixDump -i "$f" > /dev/null 2> "$f.err" || true
	! grep -q "Missing external template" "$f.err" || fail "stall: $f has data before templates"
done
$PY "$HERE/ipfixcheck.py" pyipfix --expect "$T/stall.json" --dropped 0 \
	"$T/stall" "$T"/stall.[0-9]* > "$T/stall.chk" || fail "stall: $(cat "$T/stall.chk")"
echo "stall decode: $(cat "$T/stall.chk")"
