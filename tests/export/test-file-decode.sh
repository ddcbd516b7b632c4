#!/bin/bash
# (a) File output decoded by real readers: ipfixDump and python3-ipfix.
# For biflow+live, uniflow and plain biflow records (IPv4, IPv6, NAT,
# ICMP): every field of every record equals what was pushed, templates
# come first, the reliability statistics and flow keys options records
# are present, and ipfixDump --rfc5610 names the enterprise elements.
# With owning processes (strings of 0, 1, 254, 255 octets, UTF-8) and an
# interface name table that changes mid-file: every process field
# decodes, and the interface options records are exactly the tables set,
# where they were set (at the start, then right after record 5000).
# Also "-" (standard output into a pipe).
. "$(dirname "$0")/lib.sh"
need ipfixDump
need_pyipfix
N=20000

run_variant() {	# NAME DRIVER-ARGS... ; checker args from CHK
	local name=$1; shift
	"$DRIVER" -n $N "$@" "file:$T/$name.ipfix" --json "$T/$name.json" > "$T/$name.stats" \
		|| fail "$name: driver failed"
	[ "$(json "$T/$name.stats" "j['outputs'][0]['records_dropped']")" = 0 ] || fail "$name: drops"
	ipfixDump --rfc5610 -i "$T/$name.ipfix" > "$T/$name.dump" 2> "$T/$name.dump.err" \
		|| fail "$name: ipfixDump failed: $(head -3 "$T/$name.dump.err")"
	[ ! -s "$T/$name.dump.err" ] || fail "$name: ipfixDump warned: $(head -3 "$T/$name.dump.err")"
	$PY "$HERE/ipfixcheck.py" ipfixdump $CHK --expect "$T/$name.json" "$T/$name.dump" \
		> "$T/$name.chk1" || fail "$name ipfixDump: $(cat "$T/$name.chk1")"
	$PY "$HERE/ipfixcheck.py" pyipfix $CHK --expect "$T/$name.json" "$T/$name.ipfix" \
		> "$T/$name.chk2" || fail "$name python3-ipfix: $(cat "$T/$name.chk2")"
	echo "$name: $(cut -c1-120 "$T/$name.chk2")"
}

CHK="--live" run_variant live --live
grep -q "ctZone : " "$T/live.dump" && grep -q "netnsInode : " "$T/live.dump" \
	|| fail "ipfixDump --rfc5610 did not name the enterprise elements"
CHK="--uniflow" run_variant uniflow --uniflow
CHK="" run_variant biflow --odid 7
grep -q "observation domain id: 7" "$T/biflow.dump" || fail "odid 7 not in message headers"
CHK="--live --ifs $T/proc.ifs --if-exact" run_variant proc --proc --interfaces 40 \
	--if-change-at 5000 --if-json "$T/proc.ifs"
for ie in processId processName processExecutable userName containerId tcpRttMicroseconds \
	tcpRetransmissions interfaceName interfaceDescription; do
	grep -q " $ie : " "$T/proc.dump" || fail "ipfixDump --rfc5610 shows no $ie"
done
CHK="--uniflow --live" run_variant proc-uniflow --uniflow --proc

# "-": standard output into a pipe
"$DRIVER" -n 1000 - --json "$T/stdout.json" 2>/dev/null | cat > "$T/stdout.ipfix"
$PY "$HERE/ipfixcheck.py" pyipfix --expect "$T/stdout.json" "$T/stdout.ipfix" > "$T/stdout.chk" \
	|| fail "stdout: $(cat "$T/stdout.chk")"
echo "stdout: ok"
