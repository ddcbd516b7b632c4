#!/bin/bash
# Golden suite driver: generate a capture with exact truth (gen-pcap), run
# `ctflow convert` on it, decode the output with real readers and compare
# (check.py). One CASE per meson test:
#
#   run-golden.sh CASE CTFLOW GEN_PCAP
#
#   pcap-valid  the generator's captures against scapy and tshark (no ctflow)
#   selftest    the checker against a python reference exporter, clean and
#               with planted mistakes (no ctflow)
#   file        -o FILE: pyipfix, ipfixDump, tshark; plus -o - and -C file:
#   nfdump      -C udp://127.0.0.1:PORT into nfcapd, read with nfdump
#               (biflow, then --uniflow)
#   tcp         -C tcp://127.0.0.1:PORT into a TCP sink, read with pyipfix
#   uniflow     --uniflow: two records per biflow with reply packets
#   views       --format json/text against the truth and against the IPFIX
#   inputs      Linux SLL and SLL2, raw IP, pcapng, nanosecond pcap, 128-octet
#               snaplen, and one capture split into two files
#   timeouts    default timeouts (no options) and short ones (5 s / 20 s)
#   evict       --max-flows: least recently active flow ends with reason 5
#   fragments   duplicated, interleaved, reversed, tiny fragments, options,
#               extension headers, the same IP id on two protocols
#   big         counters beyond 2^32 octets and 2^16 packets
#   random      random conversations (golden-random), several seeds and
#               timeouts, each with exact truth
#   random-evict  the same with --max-flows: who leaves, when, with reason 5
#               (3 for a lingering flow), ties included
#   exit-codes  0 ok, 1 runtime failure, 2 usage
#   peer-nfpcapd  against a peer converter, nfpcapd: per direction of each
#               conversation the same packets, octets, first and last times
#               and TCP flags (--uniflow), on bench captures over Ethernet,
#               Linux SLL and raw IP, and on random conversations
#   bench       1 M packets / 100 k flows and 200 k concurrent flows: totals
#   bench-udp   the same 100 k records over UDP into nfcapd: none lost
#
# Set GOLDEN_KEEP=1 to keep the work directory; it is kept on failure.
set -u -o pipefail

CASE=$1
CTFLOW=$2
GEN=$3
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
CHECK="$PY $HERE/check.py"
IDLE=30
ACTIVE=120

W=$(mktemp -d /tmp/ctflow-golden-"$CASE".XXXXXX)
NFCAPD_PID=
SINK_PID=
FAILED=0

cleanup() {
	# only the processes this script started, by pid
	for pid in $NFCAPD_PID $SINK_PID; do
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ "$FAILED" != 0 ] || [ "${GOLDEN_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'FAILED=1; exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	FAILED=1
}

# run a command with a time bound; its output goes to $W/NAME.log
run() {
	local name=$1
	shift
	local rc=0
	timeout 300 "$@" >"$W/$name.out" 2>"$W/$name.log" || rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name: '$*' exited with $rc ($(tail -3 "$W/$name.log" | tr '\n' ' '))"
		return 1
	fi
}

gen() {	# gen NAME [gen-pcap options]
	local name=$1
	shift
	run "gen-$name" "$GEN" --scenario golden --out "$W/$name.pcap" \
		--truth "$W/$name.json" "$@"
}

convert() {	# convert LOGNAME [ctflow convert arguments]
	local name=$1
	shift
	run "convert-$name" "$CTFLOW" convert "$@"
}

check() {	# check TRUTH READER INPUT [--uniflow]
	local truth=$1 reader=$2 input=$3
	shift 3
	timeout 300 $CHECK --truth "$truth" --reader "$reader" --input "$input" \
		--workdir "$W" "$@" || fail "$reader on $(basename "$input") differs from the truth"
}

free_port() {	# a free port on 127.0.0.1 for PROTO (udp|tcp)
	$PY - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# wait until something listens on PROTO PORT (bounded)
wait_listen() {
	local proto=$1 port=$2
	for _ in $(seq 1 100); do
		if ss -H -ln --"$proto" "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait until the UDP socket on PORT has nothing queued (bounded)
wait_drained() {
	local port=$1 q
	for _ in $(seq 1 100); do
		q=$(ss -H -ln -u "sport = :$port" | awk '{print $2}')
		[ "${q:-0}" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

start_nfcapd() {	# start_nfcapd DIR -> sets NF_PORT
	mkdir -p "$1"
	NF_PORT=$(free_port udp)
	# a 4 MiB receive buffer (net.core.rmem_max here): nfcapd is one thread
	# and the other tests compete for the two cores
	nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$1" -t 3600 -B 4194304 >"$W/nfcapd.log" 2>&1 &
	NFCAPD_PID=$!
	wait_listen udp "$NF_PORT" || { fail "nfcapd did not listen on udp $NF_PORT"; return 1; }
}

stop_nfcapd() {
	wait_drained "$NF_PORT" || echo "note: nfcapd socket still had data queued"
	sleep 0.3
	kill -TERM "$NFCAPD_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$NFCAPD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$NFCAPD_PID" 2>/dev/null; then
		kill -KILL "$NFCAPD_PID" 2>/dev/null
		fail "nfcapd did not stop within 10 s of SIGTERM"
	fi
	wait "$NFCAPD_PID" 2>/dev/null
	NFCAPD_PID=
	grep -h "Flows:" "$W/nfcapd.log" || true
}

timeouts=(--idle-timeout "$IDLE" --active-timeout "$ACTIVE")

case_pcap_valid() {
	local l
	for l in eth sll sll2 raw; do
		gen "g-$l" --link "$l" || return
		$PY "$HERE/validate-pcap.py" "$W/g-$l.pcap" "$W/g-$l.json" ||
			fail "gen-pcap --link $l: capture and truth disagree"
	done
	# same seed, same bytes; another seed, same truth
	gen again --link eth || return
	cmp -s "$W/g-eth.pcap" "$W/again.pcap" || fail "gen-pcap is not deterministic"
	gen seed7 --seed 7 || return
	cmp -s "$W/g-eth.json" <(sed 's/"seed": 7/"seed": 1/' "$W/seed7.json") ||
		fail "the truth depends on the seed"
}

case_selftest() {
	gen g || return
	local r m
	run ref-clean $PY "$HERE/ref-export.py" "$W/g.json" --out "$W/ref.ipfix" || return
	for r in pyipfix ipfixdump tshark; do
		check "$W/g.json" "$r" "$W/ref.ipfix"
	done
	run ref-uniflow $PY "$HERE/ref-export.py" "$W/g.json" --uniflow --out "$W/refu.ipfix" &&
		check "$W/g.json" pyipfix "$W/refu.ipfix" --uniflow
	start_nfcapd "$W/nf" || return
	run ref-udp $PY "$HERE/ref-export.py" "$W/g.json" --udp "127.0.0.1:$NF_PORT"
	stop_nfcapd
	check "$W/g.json" nfdump "$W/nf"
	# each planted mistake must be reported, naming the flow and the field
	declare -A expect=(
		[octets]='tcp4-fin#0, record 1 of 1.*octets expected [0-9]+, got [0-9]+'
		[reason]='reason expected 3, got 4'
		[swap]='MISSING.*src/dst swapped'
		[drop]='MISSING'
		[extra]='EXTRA record icmp'
		[flowid]='different flowIds'
		[startms]='tcp4-fin#0.*start_ms expected [0-9]+, got [0-9]+'
		[vlan]='vlan200.*MISSING.*another vlan'
	)
	for m in "${!expect[@]}"; do
		$PY "$HERE/ref-export.py" "$W/g.json" --out "$W/mut-$m.ipfix" --mutate "$m" || {
			fail "ref-export --mutate $m"
			continue
		}
		for r in pyipfix ipfixdump; do
			if $CHECK --truth "$W/g.json" --reader $r --input "$W/mut-$m.ipfix" \
				>"$W/mut-$m-$r.out" 2>&1; then
				fail "checker ($r) accepted planted mistake '$m'"
			elif ! grep -Eq "${expect[$m]}" "$W/mut-$m-$r.out"; then
				fail "checker ($r) reported mistake '$m' without /${expect[$m]}/:"
				head -5 "$W/mut-$m-$r.out"
			fi
		done
	done
	echo "selftest: ${#expect[@]} planted mistakes checked"
}

case_file() {
	gen g || return
	convert file -o "$W/out.ipfix" "${timeouts[@]}" "$W/g.pcap" || return
	local r
	for r in pyipfix ipfixdump tshark; do
		check "$W/g.json" "$r" "$W/out.ipfix"
	done
	# IPFIX on stdout, and the file: URL scheme, two outputs in one run
	if run convert-stdout "$CTFLOW" convert -o - -C "file:$W/url.ipfix" "${timeouts[@]}" \
		"$W/g.pcap"; then
		cp "$W/convert-stdout.out" "$W/stdout.ipfix"
		check "$W/g.json" pyipfix "$W/stdout.ipfix"
		check "$W/g.json" pyipfix "$W/url.ipfix"
	fi
}

case_nfdump() {
	gen g || return
	start_nfcapd "$W/nf" || return
	convert udp -C "udp://127.0.0.1:$NF_PORT" "${timeouts[@]}" "$W/g.pcap"
	stop_nfcapd
	check "$W/g.json" nfdump "$W/nf"
	start_nfcapd "$W/nfu" || return
	convert udp-uniflow --uniflow -C "udp://127.0.0.1:$NF_PORT" "${timeouts[@]}" "$W/g.pcap"
	stop_nfcapd
	check "$W/g.json" nfdump "$W/nfu" --uniflow
}

# nfpcapd (nfdump 1.7) reads the same captures: check-peer.py compares per
# direction of each conversation. Its flows split differently (it ends
# every ICMP message at once), so sums per direction are compared, not
# records; conversations with fragments or IPv6 extension headers, which
# nfpcapd counts otherwise, are left out of the random captures.
case_peer_nfpcapd() {
	local name skip
	command -v nfpcapd >/dev/null || { echo "SKIP: nfpcapd not installed"; exit 77; }
	for name in eth sll raw random-3 random-11; do
		skip=()
		case $name in
		random-*)
			run "gen-$name" "$GEN" --scenario golden-random --flows 300 --seed "${name#random-}" \
				--out "$W/$name.pcap" --truth "$W/$name.json" || return
			skip=(--skip-fragmented "$W/$name.pcap") ;;
		*)
			run "gen-$name" "$GEN" --scenario bench --packets 100000 --flows 10000 \
				--link "$name" --out "$W/$name.pcap" --truth "$W/$name.json" || return ;;
		esac
		mkdir -p "$W/nf-$name"
		run "nfpcapd-$name" nfpcapd -r "$W/$name.pcap" -w "$W/nf-$name" || return
		convert "$name" --uniflow --format json "${timeouts[@]}" "$W/$name.pcap" || return
		$PY "$HERE/check-peer.py" "$W/convert-$name.out" "$W/nf-$name" "${skip[@]}" ||
			fail "nfpcapd and ctflow differ on $name"
	done
}

# bench captures: totals only (every flow one record at the default timeouts)
case_bench() {
	run gen-bench "$GEN" --scenario bench --packets 1000000 --flows 100000 \
		--out "$W/b.pcap" --truth "$W/b.json" || return
	convert bench -o "$W/b.ipfix" --format json "$W/b.pcap" || return
	cp "$W/convert-bench.out" "$W/b.jsonl"
	$PY "$HERE/check-bench.py" "$W/b.json" view-json "$W/b.jsonl" || fail "bench: view"
	$PY "$HERE/check-bench.py" "$W/b.json" pyipfix "$W/b.ipfix" || fail "bench: IPFIX"
	run gen-conc "$GEN" --scenario bench-concurrent --flows 200000 \
		--out "$W/c.pcap" --truth "$W/c.json" || return
	convert conc -o "$W/c.ipfix" "$W/c.pcap" &&
		{ $PY "$HERE/check-bench.py" "$W/c.json" pyipfix "$W/c.ipfix" ||
			fail "bench-concurrent: IPFIX"; }
}

# 100,000 records over UDP into nfcapd: none may be lost
case_bench_udp() {
	run gen-bench "$GEN" --scenario bench --packets 1000000 --flows 100000 \
		--out "$W/b.pcap" --truth "$W/b.json" || return
	start_nfcapd "$W/nf" || return
	convert bench-udp -C "udp://127.0.0.1:$NF_PORT" "$W/b.pcap"
	stop_nfcapd
	$PY "$HERE/check-bench.py" "$W/b.json" nfdump "$W/nf" || fail "bench over UDP"
}

case_tcp() {
	gen g || return
	local port
	port=$(free_port tcp)
	# accept one connection, store the byte stream until the peer closes
	timeout 120 $PY - "$port" "$W/tcp.ipfix" >"$W/sink.log" 2>&1 <<'EOF' &
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
c, _ = srv.accept()
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
EOF
	SINK_PID=$!
	wait_listen tcp "$port" || { fail "tcp sink did not listen"; return; }
	convert tcp -C "tcp://127.0.0.1:$port" "${timeouts[@]}" "$W/g.pcap"
	wait "$SINK_PID" || fail "tcp sink: connection not closed by ctflow within 120 s"
	SINK_PID=
	check "$W/g.json" pyipfix "$W/tcp.ipfix"
	check "$W/g.json" ipfixdump "$W/tcp.ipfix"
}

case_uniflow() {
	gen g || return
	convert uniflow --uniflow -o "$W/uni.ipfix" --format json "${timeouts[@]}" "$W/g.pcap" ||
		return
	check "$W/g.json" pyipfix "$W/uni.ipfix" --uniflow
	check "$W/g.json" ipfixdump "$W/uni.ipfix" --uniflow
	cp "$W/convert-uniflow.out" "$W/uni.jsonl"
	check "$W/g.json" view-json "$W/uni.jsonl" --uniflow
}

case_views() {
	gen g || return
	local f
	for f in json text; do
		convert "view-$f" -o "$W/v-$f.ipfix" --format "$f" "${timeouts[@]}" "$W/g.pcap" ||
			continue
		cp "$W/convert-view-$f.out" "$W/view.$f"
		check "$W/g.json" "view-$f" "$W/view.$f"
		timeout 120 $CHECK --agree "view-$f:$W/view.$f" "pyipfix:$W/v-$f.ipfix" ||
			fail "--format $f and the IPFIX of the same run disagree"
	done
	# with no output option at all, text goes to stdout
	convert view-default "${timeouts[@]}" "$W/g.pcap" &&
		cp "$W/convert-view-default.out" "$W/default.text" &&
		check "$W/g.json" view-text "$W/default.text"
}

case_inputs() {
	local l
	for l in sll sll2 raw; do
		gen "g-$l" --link "$l" || continue
		convert "$l" -o "$W/$l.ipfix" "${timeouts[@]}" "$W/g-$l.pcap" &&
			check "$W/g-$l.json" pyipfix "$W/$l.ipfix"
	done
	gen g || return
	editcap -F pcapng "$W/g.pcap" "$W/g.pcapng" && convert pcapng -o "$W/ng.ipfix" \
		"${timeouts[@]}" "$W/g.pcapng" && check "$W/g.json" pyipfix "$W/ng.ipfix"
	editcap -F nsecpcap "$W/g.pcap" "$W/g-ns.pcap" && convert nsec -o "$W/ns.ipfix" \
		"${timeouts[@]}" "$W/g-ns.pcap" && check "$W/g.json" pyipfix "$W/ns.ipfix"
	# every frame cut at 128 octets: the same records (IP lengths, not captured)
	gen snap --snaplen 128 && convert snap -o "$W/snap.ipfix" "${timeouts[@]}" \
		"$W/snap.pcap" && check "$W/snap.json" pyipfix "$W/snap.ipfix"
	# a capture rotated into two files (split at 100 s) is one timeline
	editcap -B "2024-01-01 00:01:40" "$W/g.pcap" "$W/part1.pcap" &&
		editcap -A "2024-01-01 00:01:40" "$W/g.pcap" "$W/part2.pcap" &&
		convert parts -o "$W/parts.ipfix" "${timeouts[@]}" "$W/part1.pcap" \
			"$W/part2.pcap" && check "$W/g.json" pyipfix "$W/parts.ipfix"
}

case_timeouts() {
	# defaults: no timeout options at all (idle 60 s, active 300 s)
	gen def --idle-timeout 60 --active-timeout 300 || return
	convert default -o "$W/def.ipfix" "$W/def.pcap" && check "$W/def.json" pyipfix "$W/def.ipfix"
	gen short --idle-timeout 5 --active-timeout 20 || return
	convert short -o "$W/short.ipfix" --idle-timeout 5 --active-timeout 20 "$W/short.pcap" &&
		check "$W/short.json" pyipfix "$W/short.ipfix"
}

# fragments beyond the basics; validated against scapy first
case_fragments() {
	local l r
	for l in eth raw; do
		run "gen-frag-$l" "$GEN" --scenario golden-frag --link "$l" \
			--out "$W/f-$l.pcap" --truth "$W/f-$l.json" || return
		$PY "$HERE/validate-pcap.py" "$W/f-$l.pcap" "$W/f-$l.json" >"$W/valid-$l.log" ||
			{ fail "golden-frag capture and truth disagree"; cat "$W/valid-$l.log"; }
		convert "frag-$l" -o "$W/f-$l.ipfix" "${timeouts[@]}" "$W/f-$l.pcap" || continue
		for r in pyipfix ipfixdump; do
			check "$W/f-$l.json" "$r" "$W/f-$l.ipfix"
		done
	done
}

# random conversations: one capture per seed, exact truth for each
random_run() {	# random_run NAME GEN-OPTIONS... -- CONVERT-OPTIONS...
	local name=$1 gopts=() copts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do gopts+=("$1"); shift; done
	shift
	copts=("$@")
	run "gen-$name" "$GEN" --scenario golden-random "${gopts[@]}" --out "$W/$name.pcap" \
		--truth "$W/$name.json" || return
	convert "$name" -o "$W/$name.ipfix" "${copts[@]}" "$W/$name.pcap" &&
		check "$W/$name.json" pyipfix "$W/$name.ipfix"
}

case_random() {
	local seed
	for seed in 1 2 3; do
		random_run "r$seed" --seed "$seed" -- "${timeouts[@]}"
	done
	random_run r4-short --seed 4 --flows 1000 --idle-timeout 5 --active-timeout 20 -- \
		--idle-timeout 5 --active-timeout 20
	# large enough for an active split followed by a close in the next
	# record, whose lingering ACK must count in that record's TCP flags
	random_run r5-big --seed 5 --flows 3000 --idle-timeout 5 --active-timeout 20 -- \
		--idle-timeout 5 --active-timeout 20
}

case_random_evict() {
	# the smallest capture that showed a wrong victim, then larger ones
	random_run e-small --seed 7 --flows 5 --max-flows 2 -- --max-flows 2 "${timeouts[@]}"
	random_run e40 --seed 3 --flows 300 --max-flows 40 -- --max-flows 40 "${timeouts[@]}"
	random_run e100 --seed 3 --flows 1000 --max-flows 100 --idle-timeout 10 \
		--active-timeout 45 -- --max-flows 100 --idle-timeout 10 --active-timeout 45
	# a full table with short timeouts: many lingering flows are the
	# victims, and flows whose last packets share a time tie for it
	random_run e50-short --seed 1 --flows 2000 --max-flows 50 --idle-timeout 3 \
		--active-timeout 7 -- --max-flows 50 --idle-timeout 3 --active-timeout 7
}

case_big() {
	run gen-big "$GEN" --scenario golden-big --out "$W/big.pcap" --truth "$W/big.json" ||
		return
	convert big -o "$W/big.ipfix" "${timeouts[@]}" "$W/big.pcap" || return
	local r
	for r in pyipfix ipfixdump tshark; do
		check "$W/big.json" "$r" "$W/big.ipfix"
	done
}

case_evict() {
	run gen-evict "$GEN" --scenario golden-evict --max-flows 4 --out "$W/e.pcap" \
		--truth "$W/e.json" || return
	convert evict -o "$W/e.ipfix" --max-flows 4 "${timeouts[@]}" "$W/e.pcap" &&
		check "$W/e.json" pyipfix "$W/e.ipfix"
}

# exit status: 0 ok, 1 runtime failure, 2 usage
expect_rc() {	# expect_rc RC DESCRIPTION ctflow-convert-arguments...
	local want=$1 what=$2 rc=0
	shift 2
	timeout 120 "$CTFLOW" convert "$@" >"$W/rc.out" 2>"$W/rc.log" || rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$what: 'ctflow convert $*' exited $rc, expected $want ($(head -2 "$W/rc.log" | tr '\n' ' '))"
	else
		echo "ok: $what -> $rc"
	fi
}

case_exit_codes() {
	gen g || return
	local port
	printf 'not a capture\n' >"$W/text.txt"
	# a capture with a header and no packets
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x01\0\0\0' >"$W/empty.pcap"
	expect_rc 2 "no input file"
	expect_rc 2 "unknown option" --no-such-option "$W/g.pcap"
	expect_rc 2 "unknown URL scheme" -C "ftp://127.0.0.1:21" "$W/g.pcap"
	expect_rc 2 "URL without port" -C "udp://127.0.0.1" "$W/g.pcap"
	expect_rc 2 "unparsable timeout" --idle-timeout abc "$W/g.pcap"
	expect_rc 2 "negative idle timeout" --idle-timeout -5 "$W/g.pcap"
	expect_rc 2 "zero idle timeout" --idle-timeout 0 "$W/g.pcap"
	expect_rc 2 "zero active timeout" --active-timeout 0 "$W/g.pcap"
	expect_rc 2 "zero max flows" --max-flows 0 "$W/g.pcap"
	expect_rc 2 "unknown view format" --format xml "$W/g.pcap"
	expect_rc 1 "missing input file" -o "$W/x.ipfix" "$W/does-not-exist.pcap"
	expect_rc 1 "input is not a capture" -o "$W/x.ipfix" "$W/text.txt"
	port=$(free_port tcp)
	expect_rc 1 "TCP collector refuses: records undeliverable" -C "tcp://127.0.0.1:$port" \
		"$W/g.pcap"
	# a capture cut in the middle of a packet: converted up to the cut, exit 0,
	# and the summary says so
	head -c 3000 "$W/g.pcap" >"$W/cut.pcap"
	expect_rc 0 "capture cut short" -o "$W/cut.ipfix" "$W/cut.pcap"
	grep -q "cut.pcap: stopped reading at byte [0-9]*: " "$W/rc.log" &&
		grep -q "files: 1 damaged (read up to the damage), 0 unreadable" "$W/rc.log" ||
		fail "capture cut short: no warning or no damaged file in the summary: $(cat "$W/rc.log")"
	expect_rc 1 "one unreadable file among good ones" -o "$W/x.ipfix" "$W/g.pcap" \
		"$W/does-not-exist.pcap" "$W/cut.pcap"
	grep -q "files: 1 damaged (read up to the damage), 1 unreadable" "$W/rc.log" ||
		fail "unreadable file: not in the summary: $(cat "$W/rc.log")"
	expect_rc 0 "capture without packets" -o "$W/empty.ipfix" "$W/empty.pcap"
	if [ -s "$W/empty.ipfix" ]; then
		local n
		n=$($PY -c "import sys; sys.path.insert(0, '$HERE'); import goldenlib; print(len(goldenlib.read_pyipfix('$W/empty.ipfix')))")
		[ "$n" = 0 ] || fail "capture without packets: $n flow records"
	else
		fail "capture without packets: no IPFIX file (templates expected)"
	fi
}

fn="case_${CASE//-/_}"
if ! declare -F "$fn" >/dev/null; then
	echo "unknown case '$CASE'"
	exit 2
fi
"$fn"
if [ "$FAILED" != 0 ]; then
	echo "golden $CASE: FAILED"
	exit 1
fi
echo "golden $CASE: ok"
exit 0
