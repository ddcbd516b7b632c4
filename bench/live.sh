#!/usr/bin/env bash
# Issue 3's benchmark: conntrack readers under the kernel's fastest load.
#
#   bench/live.sh [FLOWS]        (default 150000; root; < 10 min)
#
# For each reader in turn, on the same load: a fresh network namespace
# (conntrack acct/timestamps on, UDP entries that outlive the run, an nft
# `ct state new` counter as ground truth, the IPFIX sink port `notrack`),
# the reader pinned to CPU 1, then bench/ct-loadgen pinned to CPU 0
# creates FLOWS new UDP entries as fast as the kernel allows, the reader is
# given time to drain, and `conntrack -F` deletes them all at once (the
# DESTROY burst). Readers:
#   bare     bench/ct-bare-reader: libmnl, 64 MiB buffer, counts messages
#   ctflow   ctflow run (default 64 MiB buffer) exporting to an IPFIX file,
#            with its default enrichment (owner process, interfaces) and
#            again without it (ctflow-noenrich: --no-process --no-interfaces)
#   conntrack  conntrack -E -e NEW,DESTROY -b 64 MiB, lines to a file
#   ulogd2   ulogd NFCT (64 MiB buffer) -> IPFIX over UDP to a counting sink
# Reported per reader: NEW and DESTROY messages received / flows created,
# flows exported / flows created (ctflow: distinct flows in the file, and
# those whose final record carries conntrack's counters; ulogd2: IPFIX
# records at the sink; conntrack -E: DESTROY lines; bare: DESTROY
# messages), CPU time (utime+stime of the reader process, all threads)
# per flow created, and that CPU against the bare reader's. The table is
# printed and written to bench/out/live.md.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FLOWS=${1:-150000}
OUT=$ROOT/bench/out
BUILD=$ROOT/build-live-bench
PY=/usr/bin/python3
PORT=4741
DEADLINE=$((SECONDS + 570))
mkdir -p "$OUT"
[[ $(id -u) == 0 ]] || { echo "bench/live.sh: needs root (namespaces, conntrack)" >&2; exit 1; }
scripts/deps.sh test || exit 1
if [[ ! -f $BUILD/build.ninja ]]; then
	meson setup "$BUILD" -Dbuildtype=release -Db_ndebug=true -Db_lto=true -Dtests=false >/dev/null || exit 1
fi
ninja -C "$BUILD" >/dev/null || { echo "bench/live.sh: build failed" >&2; exit 1; }
CTFLOW=$BUILD/src/ctflow
LOADGEN=$BUILD/bench/ct-loadgen
BARE=$BUILD/bench/ct-bare-reader
ULOGD_LIB=$(dirname "$(find /usr/lib -name ulogd_inpflow_NFCT.so 2>/dev/null | head -1)")
TMP=$(mktemp -d /tmp/ctflow-bench-live-XXXXXX)
NS=""
PIDS=()

BENCH=bench/live.sh
. bench/lib-ns.sh

new_ns() {
	NS=ctfbench-$$-$1
	ip netns add "$NS" || exit 1
	in_ns ip link set lo up
	in_ns sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1 \
		net.netfilter.nf_conntrack_udp_timeout=600 \
		net.netfilter.nf_conntrack_udp_timeout_stream=600 2>/dev/null
	in_ns nft -f - <<-EOF || exit 1
	table inet bench {
		chain raw_pre {
			type filter hook prerouting priority -300; policy accept;
			udp dport $PORT notrack
		}
		chain raw_out {
			type filter hook output priority -300; policy accept;
			udp dport $PORT notrack
		}
		chain out {
			type filter hook output priority 0; policy accept;
			ct state new counter
		}
	}
	EOF
	ns_ct_sysctls	# they need the conntrack module loaded: a rule uses it now
}


# load: ct-loadgen then (after the reader drained) the flush. Sets CREATED,
# RATE, FLUSH_S. $1 = reader pid, $2 = settle (0 for the bare reader,
# which stops by itself after a pause).
load() {
	local pid=$1 before t0 t1
	before=$(new_count)
	timeout 60 "$LOADGEN" --netns "$NS" --count "$FLOWS" --seconds 20 --cpu 0 --ports 1024-65535 \
		>"$TMP/loadgen.txt" 2>&1
	RATE=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' "$TMP/loadgen.txt")
	if [[ $2 == 1 ]]; then settle "$pid" 60; else sleep 1; fi
	CREATED=$(($(new_count) - before))
	t0=$(date +%s.%N)
	in_ns conntrack -F 2>/dev/null
	t1=$(date +%s.%N)
	FLUSH_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	log "$CREATED entries created at $RATE/s, flushed in $FLUSH_S s"
}

declare -A R_NEW R_DESTROY R_EXPORTED R_EXACT R_CPU R_CREATED R_RATE R_NOTE

run_bare() {
	new_ns bare
	taskset -c 1 "$BARE" --netns "$NS" --cpu 1 --idle 4 --seconds 240 --ready "$TMP/bare.ready" \
		>"$TMP/bare.txt" 2>&1 &
	local pid=$!
	PIDS+=($pid)
	for ((i = 0; i < 50; i++)); do [[ -e $TMP/bare.ready ]] && break; sleep 0.1; done
	load "$pid" 0
	wait_exit "$pid" 120 || echo "bench/live.sh: bare reader did not stop" >&2
	local line
	line=$(grep 'ct-bare-reader:' "$TMP/bare.txt")
	log "$line"
	R_NEW[bare]=$(sed -n 's/.* new=\([0-9]*\).*/\1/p' <<<"$line")
	R_DESTROY[bare]=$(sed -n 's/.* destroy=\([0-9]*\).*/\1/p' <<<"$line")
	R_EXPORTED[bare]=${R_DESTROY[bare]}
	R_EXACT[bare]=""
	R_CPU[bare]=$(sed -n 's/.* cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")
	R_NOTE[bare]="enobufs=$(sed -n 's/.* enobufs=\([0-9]*\).*/\1/p' <<<"$line")"
	R_CREATED[bare]=$CREATED R_RATE[bare]=$RATE
	del_ns
}

run_ctflow() {	# run_ctflow NAME [OPTIONS...]
	local name=$1
	shift
	new_ns ctflow
	ip netns exec "$NS" taskset -c 1 "$CTFLOW" run -C "file:$TMP/ctflow.ipfix" "$@" \
		>"$TMP/ctflow.out" 2>"$TMP/ctflow.log" &
	local pid=$!
	PIDS+=($pid)
	for ((i = 0; i < 100; i++)); do grep -q 'reading conntrack events' "$TMP/ctflow.log" && break; sleep 0.1; done
	load "$pid" 1
	settle "$pid" 60
	local cpu
	cpu=$(ticks "$pid")
	kill -TERM "$pid"
	wait_exit "$pid" 60 || echo "bench/live.sh: ctflow did not stop" >&2
	local line
	line=$(grep 'ctflow run: .* events' "$TMP/ctflow.log")
	log "$line"
	R_NEW[$name]=$(sed -n 's/.*: \([0-9]*\) new,.*/\1/p' <<<"$line")
	R_DESTROY[$name]=$(sed -n 's/.* \([0-9]*\) destroy events.*/\1/p' <<<"$line")
	R_CPU[$name]=$(awk -v t="$cpu" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }')
	R_NOTE[$name]="$(grep -o '[0-9]* overruns ([0-9]* resyncs)' <<<"$line")"
	$PY "$ROOT/tests/live/livecheck.py" decode "$TMP/ctflow.ipfix" 2>/dev/null | $PY -c '
import json, sys
flows = {}
for line in sys.stdin:
    r = json.loads(line)
    if "options" in r or r["proto"] != 17 or not r["dst"].startswith("127."):
        continue
    k = (r["src"], r["dst"], r["sport"], r["dport"])
    f = flows.setdefault(k, [0, 0])
    f[0] += r["packets"]
    f[1] += r["end_reason"] != 2
print(len(flows), sum(1 for p, n in flows.values() if p == 1 and n == 1))
' >"$TMP/ctflow.count"
	read -r "R_EXPORTED[$name]" "R_EXACT[$name]" <"$TMP/ctflow.count"
	R_CREATED[$name]=$CREATED R_RATE[$name]=$RATE
	rm -f "$TMP/ctflow.ipfix"
	del_ns
}

run_conntrack() {
	new_ns conntrack
	ip netns exec "$NS" taskset -c 1 conntrack -E -e NEW,DESTROY -b 67108864 \
		>"$TMP/ct-events.txt" 2>"$TMP/ct-events.err" &
	local pid=$!
	PIDS+=($pid)
	sleep 0.5
	load "$pid" 1
	settle "$pid" 60
	local cpu
	cpu=$(ticks "$pid")
	kill -INT "$pid"
	wait_exit "$pid" 30
	R_NEW[conntrack]=$(grep -c '\[NEW\]' "$TMP/ct-events.txt")
	R_DESTROY[conntrack]=$(grep -c '\[DESTROY\]' "$TMP/ct-events.txt")
	R_EXPORTED[conntrack]=${R_DESTROY[conntrack]}
	R_EXACT[conntrack]=""
	R_CPU[conntrack]=$(awk -v t="$cpu" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }')
	R_NOTE[conntrack]="$(grep -c ENOBUFS "$TMP/ct-events.err") ENOBUFS warnings"
	log "conntrack -E: ${R_NEW[conntrack]} NEW, ${R_DESTROY[conntrack]} DESTROY lines"
	R_CREATED[conntrack]=$CREATED R_RATE[conntrack]=$RATE
	del_ns
}

run_ulogd() {
	if [[ -z $ULOGD_LIB ]] || ! command -v ulogd >/dev/null; then
		log "ulogd2 not installed: skipped"
		return
	fi
	new_ns ulogd
	cat >"$TMP/ulogd.conf" <<-EOF
	[global]
	logfile="$TMP/ulogd.log"
	loglevel=5
	plugin="$ULOGD_LIB/ulogd_inpflow_NFCT.so"
	plugin="$ULOGD_LIB/ulogd_output_IPFIX.so"
	stack=ct1:NFCT,ipfix1:IPFIX

	[ct1]
	# the size is only applied when below maxsize
	netlink_socket_buffer_size=67108864
	netlink_socket_buffer_maxsize=134217728

	[ipfix1]
	oid=1
	host="127.0.0.1"
	port=$PORT
	proto="udp"
	EOF
	ip netns exec "$NS" $PY "$ROOT/bench/ipfix-count-sink.py" --port "$PORT" --max-seconds 300 \
		--out "$TMP/sink.json" --ready "$TMP/sink.ready" >/dev/null 2>&1 &
	local spid=$!
	PIDS+=($spid)
	for ((i = 0; i < 50; i++)); do [[ -e $TMP/sink.ready ]] && break; sleep 0.1; done
	ip netns exec "$NS" taskset -c 1 ulogd -c "$TMP/ulogd.conf" >"$TMP/ulogd.out" 2>&1 &
	local pid=$!
	PIDS+=($pid)
	for ((i = 0; i < 50; i++)); do grep -qs 'entering main loop' "$TMP/ulogd.log" && break; sleep 0.1; done
	load "$pid" 1
	settle "$pid" 60
	local cpu
	cpu=$(ticks "$pid")
	kill -TERM "$pid"
	wait_exit "$pid" 30
	sleep 1
	kill -TERM "$spid"
	wait_exit "$spid" 10
	R_NEW[ulogd2]=""
	R_DESTROY[ulogd2]=""
	R_EXPORTED[ulogd2]=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$TMP/sink.json")
	R_EXACT[ulogd2]=""
	R_CPU[ulogd2]=$(awk -v t="$cpu" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }')
	R_NOTE[ulogd2]="$(grep -c 'losing events' "$TMP/ulogd.log") 'losing events' logs"
	log "ulogd2: ${R_EXPORTED[ulogd2]} IPFIX records at the sink"
	R_CREATED[ulogd2]=$CREATED R_RATE[ulogd2]=$RATE
	del_ns
}

for r in bare ctflow ctflow-noenrich conntrack ulogd; do
	((SECONDS < DEADLINE)) || { log "time budget spent: $r skipped"; continue; }
	log "reader: $r"
	case $r in
	ctflow) run_ctflow ctflow ;;
	# the engine alone: no owner lookups, no interface enrichment (no capture)
	ctflow-noenrich) run_ctflow ctflow-noenrich --no-process --no-interfaces ;;
	*) "run_$r" ;;
	esac
done

# ---- report --------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.3f", a / b }'; }
us_per() { awk -v c="$1" -v n="$2" 'BEGIN { if (c == "" || n == 0) print "–"; else printf "%.2f", c * 1e6 / n }'; }
{
	echo "# Live benchmark: conntrack readers under a burst of new UDP entries"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs; $FLOWS new UDP entries per run by"
	echo "bench/ct-loadgen on CPU 0, then \`conntrack -F\`; reader on CPU 1; 64 MiB receive buffers."
	echo "Ratios are over the entries created (nft \`ct state new\` counter) in that reader's run."
	echo "CPU: utime+stime of the reader process (all threads) from its start to the end of the"
	echo "DESTROY burst (bare reader: getrusage at its exit)."
	echo
	echo "| reader | created | load rate/s | NEW ÷ created | DESTROY ÷ created | exported ÷ created | exact ÷ created | CPU s | µs CPU per flow | CPU ÷ bare | notes |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	bare_us=$(us_per "${R_CPU[bare]:-}" "${R_CREATED[bare]:-0}")
	for r in bare ctflow ctflow-noenrich conntrack ulogd2; do
		[[ -n ${R_CREATED[$r]:-} ]] || continue
		c=${R_CREATED[$r]}
		us=$(us_per "${R_CPU[$r]}" "$c")
		echo "| $r | $c | ${R_RATE[$r]} | $(ratio "${R_NEW[$r]}" "$c") | $(ratio "${R_DESTROY[$r]}" "$c") | $(ratio "${R_EXPORTED[$r]}" "$c") | $(ratio "${R_EXACT[$r]}" "$c") | ${R_CPU[$r]} | $us | $(ratio "$us" "$bare_us") | ${R_NOTE[$r]} |"
	done
	echo
	echo "ctflow-noenrich: \`--no-process --no-interfaces\` (the engine and export alone)."
	echo "exported: bare = DESTROY messages, ctflow = distinct flows in its IPFIX file, conntrack -E ="
	echo "DESTROY lines, ulogd2 = IPFIX records at the sink. exact (ctflow): flows with exactly one"
	echo "final record whose counters equal conntrack's (1 packet)."
} >"$OUT/live.md"
cat "$OUT/live.md"
