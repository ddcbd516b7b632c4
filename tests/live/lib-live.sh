# Helpers for the live suite (`ctflow run` end to end). Builds on
# tests/root/lib.sh (namespaces, veths, NAT router, echo traffic, cleanup),
# which it sources; this file only adds what running ctflow itself needs.
#
#   . "$(dirname "$0")/lib-live.sh"
#   live_require                       # skip (77) unless root with the tools; $T = temp dir
#   live_ctflow_start LOG ARGS...      # ctflow run ARGS in the background, $LIVE_PID
#   live_ctflow_stop LOG               # SIGTERM, wait, $LIVE_RC = exit status
#
# LIVE_KEEP=DIR keeps a copy of the test's temporary directory for a post
# mortem. Everything started here is registered with ctft_bg, so ctft_cleanup (the
# EXIT trap) kills it; every wait is bounded.

LIVE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../root/lib.sh
. "$LIVE_DIR/../root/lib.sh"

CTFLOW=${CTFLOW:-$LIVE_DIR/../../build-live/src/ctflow}
CT_LOADGEN=${CT_LOADGEN:-$LIVE_DIR/../../build-live/bench/ct-loadgen}
LIVE_PY=/usr/bin/python3
LIVE_CHECK="$LIVE_DIR/livecheck.py"
LIVE_PID=""
LIVE_RC=""

live_require() {
	ctft_require_root
	[[ -x $CTFLOW ]] || { echo "SKIP: no ctflow binary at $CTFLOW" >&2; exit 77; }
	command -v ipfixDump >/dev/null || { echo "SKIP: ipfixDump not installed" >&2; exit 77; }
	"$LIVE_PY" -c 'import ipfix.reader' 2>/dev/null ||
		{ echo "SKIP: python3-ipfix not installed" >&2; exit 77; }
	trap 'live_dump_logs; live_cleanup' EXIT
	# not T=$(ctft_tmpdir): the directory must be recorded in this shell
	# for ctft_cleanup to remove it
	ctft_tmpdir >/dev/null
	T=$CTFT_TMP
}

# ctft_cleanup, then once more for namespaces it could not delete: `ip netns
# del` fails (EBUSY, silenced) when another `ip netns exec` copied the
# mount at that moment.
live_cleanup() {
	local rc=$? ns=("${CTFT_NS[@]}") n i
	ctft_cleanup
	for n in "${ns[@]}"; do
		for ((i = 0; i < 20; i++)); do
			[[ -e /run/netns/$n ]] || break
			ip netns del "$n" 2>/dev/null || sleep 0.2
		done
	done
	return $rc
}

# On failure, show the tail of every log the test left, then clean up.
live_dump_logs() {
	local rc=$? f
	if [[ -n ${LIVE_KEEP:-} && -n $CTFT_TMP && -d $CTFT_TMP ]]; then
		rm -rf "$LIVE_KEEP"; cp -a "$CTFT_TMP" "$LIVE_KEEP"
		echo "# kept $CTFT_TMP in $LIVE_KEEP" >&2
	fi
	if [[ $rc -ne 0 && $rc -ne 77 && -n $CTFT_TMP && -d $CTFT_TMP ]]; then
		for f in "$CTFT_TMP"/*.log; do
			[[ -s $f ]] || continue
			echo "---- $(basename "$f") (last 15 lines)" >&2
			tail -n 15 "$f" >&2
		done
	fi
	return $rc
}

# A test that reproduces a known ctflow bug is registered with should_fail
# and sets LIVE_HARD_RC=99 first: failures of the known bug's checks exit 1
# (expected failure), anything else exits 99 (an error meson never
# inverts), and 0 means the bug is gone (meson: unexpected pass).
LIVE_HARD_RC=1
LIVE_WORST=0
live_fail() { echo "FAIL: $*" >&2; exit "$LIVE_HARD_RC"; }

# live_result RC: remember a livecheck verdict (0 ok, 1 known bug, 2 other).
live_result() { (($1 > LIVE_WORST)) && LIVE_WORST=$1; return 0; }

# live_exit: exit with the worst verdict remembered.
live_exit() {
	case $LIVE_WORST in
	0) exit 0 ;;
	1) echo "# known ctflow bug reproduced (see FAIL [known bug] lines)" >&2; exit 1 ;;
	*) exit "$LIVE_HARD_RC" ;;
	esac
}
live_log() { echo "# $*" >&2; }

# live_wait SECONDS CMD...: until CMD succeeds (every 0.1 s); 1 on timeout.
live_wait() {
	local limit=$1 i; shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# live_ino NS: inode of a named namespace (ctflow's netnsInode, flowId >> 32).
live_ino() { stat -L -c %i "/run/netns/$1"; }

# live_ctflow_start LOG ARGS...: start `ctflow run ARGS` (stdout to LOG.out),
# wait until it reads events in every namespace. Prefix with LIVE_WRAP
# (e.g. "ip netns exec NS" or "taskset -c 1") to run it elsewhere.
live_ctflow_start() {
	local log=$1 want n i; shift
	want=$(printf '%s\n' "$@" | grep -c -- '^--netns')
	((want == 0)) && want=1
	: >"$log"
	# shellcheck disable=SC2086
	ctft_bg $LIVE_WRAP "$CTFLOW" run "$@" >"$log.out" 2>"$log"
	LIVE_PID=$!
	for ((i = 0; i < 150; i++)); do
		n=$(grep -c 'reading conntrack events in' "$log")
		((n >= want)) && return 0
		kill -0 "$LIVE_PID" 2>/dev/null || live_fail "ctflow run exited at start: $(cat "$log")"
		sleep 0.1
	done
	live_fail "ctflow run did not start within 15 s: $(cat "$log")"
}

# live_ctflow_stop LOG [SIGNAL]: signal ctflow, wait (60 s at most) and set
# LIVE_RC to its exit status.
live_ctflow_stop() {
	local log=$1 sig=${2:-TERM} i
	kill -"$sig" "$LIVE_PID" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		kill -0 "$LIVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$LIVE_PID" 2>/dev/null; then
		kill -KILL "$LIVE_PID"
		live_fail "ctflow run did not exit within 60 s of SIG$sig"
	fi
	wait "$LIVE_PID"
	LIVE_RC=$?
	live_log "ctflow: $(grep 'ctflow run: .* events' "$log" | tail -1) (exit $LIVE_RC)"
}

# live_stat LOG WORD: a number from ctflow's summary line, e.g.
# live_stat LOG overruns; live_stat LOG resyncs; live_stat LOG records.
live_stat() {
	local line
	line=$(grep 'ctflow run: .* events' "$1" | tail -1)
	case $2 in
	resyncs) sed -n 's/.*(\([0-9]*\) resyncs).*/\1/p' <<<"$line" ;;
	*) grep -o "[0-9]* $2" <<<"$line" | head -1 | cut -d' ' -f1 ;;
	esac
}

# live_cpu_ticks PID: utime+stime of PID in clock ticks.
live_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# live_settle PID SECONDS: until PID used no CPU for a whole 0.5 s (it has
# drained what the kernel queued), at most SECONDS.
live_settle() {
	local pid=$1 limit=$2 a b i
	a=$(live_cpu_ticks "$pid")
	for ((i = 0; i < limit * 2; i++)); do
		sleep 0.5
		b=$(live_cpu_ticks "$pid")
		[[ -z $b || $a == "$b" ]] && return 0
		a=$b
	done
	return 1
}

# live_decode IPFIX OUT.jsonl: decode with python3-ipfix and, independently,
# with ipfixDump; both readers must see the same records.
live_decode() {
	local f=$1 out=$2
	"$LIVE_PY" "$LIVE_CHECK" decode "$f" >"$out" || live_fail "python3-ipfix cannot decode $f"
	ipfixDump -i "$f" >"$out.dump.txt" 2>"$out.dump.err" || live_fail "ipfixDump cannot read $f: $(head -3 "$out.dump.err")"
	"$LIVE_PY" "$LIVE_CHECK" ipfixdump "$out.dump.txt" >"$out.dump.jsonl" ||
		live_fail "parsing ipfixDump output of $f"
	"$LIVE_PY" - "$out" "$out.dump.jsonl" <<-'EOF' || live_fail "python3-ipfix and ipfixDump disagree on $f"
	import json, sys
	K = ("flow_id", "src", "dst", "sport", "dport", "proto", "packets", "octets",
	     "rev_packets", "rev_octets", "end_reason", "nat_event", "post_src", "post_sport")
	def load(p):
	    return sorted(tuple(str(r.get(k)) for k in K) for r in map(json.loads, open(p))
	                  if "options" not in r)
	a, b = load(sys.argv[1]), load(sys.argv[2])
	if a != b:
	    print(f"python3-ipfix {len(a)} records, ipfixDump {len(b)}; first differences:",
	          [x for x in a if x not in set(b)][:2], [x for x in b if x not in set(a)][:2],
	          file=sys.stderr)
	    sys.exit(1)
	EOF
	live_log "decoded $(grep -vc '"options"' "$out") data records from $(basename "$f") (python3-ipfix = ipfixDump)"
}

# live_check SCENARIO ARGS...: livecheck.py check, summary echoed, verdict
# remembered (live_exit); returns livecheck's status.
live_check() {
	local out rc
	out=$("$LIVE_PY" "$LIVE_CHECK" check "$@")
	rc=$?
	((rc > 2)) && rc=2	# a crash of the checker is no known bug
	live_log "check $1: $out"
	live_result $rc
	return $rc
}

# live_flow NS PROTO DST SPORT COUNT SIZE [INTERVAL] [HOLD]: tests/live/flowgen.py
live_flow() {
	ctft_in "$1" "$LIVE_PY" "$LIVE_DIR/flowgen.py" "$2" --dst "$3" --sport "$4" \
		--count "$5" --size "$6" ${7:+--interval "$7"} ${8:+--hold "$8"}
}

# live_flow_bg ...: the same in the background (registered for cleanup).
live_flow_bg() {
	ctft_bg ip netns exec "$1" "$LIVE_PY" "$LIVE_DIR/flowgen.py" "$2" --dst "$3" --sport "$4" \
		--count "$5" --size "$6" ${7:+--interval "$7"} ${8:+--hold "$8"}
}

# live_events NS FILE: `conntrack -E -o extended,id,timestamp` in NS into
# FILE (background, registered); the listener exists before the traffic,
# so the kernel delivers events for every entry created afterwards.
live_events() {
	ctft_bg ip netns exec "$1" conntrack -E -o extended,id,timestamp >"$2" 2>/dev/null
	LIVE_EV_PID=$!
	sleep 0.3
}

# live_reap NS: list NS's table, which makes the kernel kill (and send the
# DESTROY of) every entry that has expired. The gc worker is shared by all
# namespaces and, with long-lived entries anywhere, may idle up to 60 s
# before it reaps: a test that waits for a DESTROY reaps itself.
live_reap() { ctft_in "$1" conntrack -L >/dev/null 2>&1; return 0; }

# live_wait_destroy NS FILE SECONDS PATTERN COUNT: until FILE (conntrack -E)
# holds COUNT DESTROY lines matching the extended regex PATTERN, reaping.
live_wait_destroy() {
	local ns=$1 file=$2 limit=$3 pat=$4 want=$5 i
	for ((i = 0; i < limit * 2; i++)); do
		(($(grep -E '\[DESTROY\]' "$file" | grep -cE -- "$pat") >= want)) && return 0
		live_reap "$ns"
		sleep 0.5
	done
	return 1
}

# live_wait_empty NS SECONDS: until NS's table is empty, reaping.
live_wait_empty() {
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		[[ $(ctft_in "$1" conntrack -C 2>/dev/null) == 0 ]] && return 0
		live_reap "$1"
		sleep 0.5
	done
	return 1
}

# live_count_destroy FILE: DESTROY events seen so far.
live_count_destroy() { grep -c '\[DESTROY\]' "$1" 2>/dev/null || true; }

# live_free_udp_port: a UDP port free on the host's loopback.
live_free_udp_port() {
	"$LIVE_PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# live_nfcapd DIR PORT [NS]: nfcapd on 127.0.0.1:PORT (inside NS if given),
# waits until it listens; pid in $LIVE_NF_PID.
live_nfcapd() {
	local dir=$1 port=$2 ns=${3:-}
	mkdir -p "$dir"
	if [[ -n $ns ]]; then
		ctft_bg ip netns exec "$ns" nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 >"$dir.log" 2>&1
	else
		ctft_bg nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 >"$dir.log" 2>&1
	fi
	LIVE_NF_PID=$!
	live_wait 10 grep -qs Startup "$dir.log" || live_fail "nfcapd did not start: $(cat "$dir.log")"
}

# live_nfcapd_stop DIR: stop nfcapd (the file is finished on exit).
live_nfcapd_stop() {
	sleep 1
	kill -TERM "$LIVE_NF_PID" 2>/dev/null
	live_wait 10 eval "! kill -0 $LIVE_NF_PID 2>/dev/null" || live_fail "nfcapd did not exit"
	wait "$LIVE_NF_PID" 2>/dev/null
}
