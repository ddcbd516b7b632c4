#!/usr/bin/env bash
# Issue 4's benchmark: CPU per flow of `ctflow run` with its enrichers on
# and off, at the same load, in one run.
#
#   bench/enrich.sh [FLOWS] [REPS]     (default 40000 and 5; root; ~2 min)
#
# Each run: a fresh network namespace (conntrack acct/timestamps on, UDP
# entries that outlive the run, an nft `ct state new` counter as ground
# truth), `ctflow run` inside it pinned to CPU 1 exporting IPFIX to a file,
# then bench/ct-loadgen pinned to CPU 0 creates FLOWS new UDP entries from
# one unconnected socket as fast as the kernel allows; once ctflow has
# drained, `conntrack -F` ends them all (the DESTROY burst); once it has
# drained again, its CPU time (utime+stime of the whole process, all
# threads, from /proc/PID/stat) is read and it is stopped. Variants, run
# interleaved (off, process, interfaces, both; REPS rounds) so that other
# load on the machine hits them alike:
#   off         --no-process --no-interfaces (the engine and export alone)
#   process     --no-interfaces (owner lookups at NEW)
#   interfaces  --no-process (pcap sampling on `any` + routing lookups)
#   both        the defaults
# Reported: per variant the median CPU (and min-max), µs per flow created,
# owners found, and each median against `off`. Printed and written to
# bench/out/enrich.md. BUILD=DIR: the build to use (default build-enrich-bench,
# release, set up when missing); CTFLOW=PATH LOADGEN=PATH: prebuilt binaries
# instead. BASELINE=PATH: another ctflow binary (an older version) whose off
# and both variants (base-off, base-both) run interleaved with the others,
# for a before/after in one run. ENRICH_PERF=VARIANT records `perf record -g` of that
# variant's last run into bench/out/enrich-VARIANT.perf.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
FLOWS=${1:-40000}
REPS=${2:-5}
OUT=$ROOT/bench/out
BUILD=${BUILD:-$ROOT/build-enrich-bench}
VARIANTS=(off process interfaces both)
[[ -n ${BASELINE:-} ]] && VARIANTS+=(base-off base-both)
mkdir -p "$OUT"
[[ $(id -u) == 0 ]] || { echo "bench/enrich.sh: needs root (namespaces, conntrack)" >&2; exit 1; }
if [[ -z ${CTFLOW:-} ]]; then	# CTFLOW=PATH (and LOADGEN=PATH): binaries built elsewhere
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" -Dbuildtype=release -Db_ndebug=true -Db_lto=true -Dtests=false >/dev/null || exit 1
	fi
	ninja -C "$BUILD" >/dev/null || { echo "bench/enrich.sh: build failed" >&2; exit 1; }
fi
CTFLOW=${CTFLOW:-$BUILD/src/ctflow}
LOADGEN=${LOADGEN:-$BUILD/bench/ct-loadgen}
TMP=$(mktemp -d /tmp/ctflow-bench-enrich-XXXXXX)
HZ=$(getconf CLK_TCK)
NS=""
PIDS=()

BENCH=bench/enrich.sh
. bench/lib-ns.sh

# thread_ticks PID: "engine=T enrich=T export=T" (clock ticks per thread)
thread_ticks() {
	local t comm
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm")
		case $comm in ctflow) comm=engine ;; ctflow-*) comm=${comm#ctflow-} ;; esac
		echo "$comm=$(awk '{ print $14 + $15 }' "$t/stat")"
	done | sort | tr '\n' ' '
}

new_ns() {
	NS=ctfbench-enrich-$$
	ip netns add "$NS" || exit 1
	in_ns ip link set lo up
	in_ns nft -f - <<-EOF || exit 1
	table inet bench {
		chain out {
			type filter hook output priority 0; policy accept;
			ct state new counter
		}
	}
	EOF
	ns_ct_sysctls
}


# run VARIANT REP: one ctflow run; appends "VARIANT cpu_s created owners" to $TMP/results
run() {
	local v=$1 rep=$2 opts=() bin=$CTFLOW pid perf_pid="" before created cpu owners line
	case $v in
	off) opts=(--no-process --no-interfaces) ;;
	process) opts=(--no-interfaces) ;;
	interfaces) opts=(--no-process) ;;
	base-off) opts=(--no-process --no-interfaces); bin=$BASELINE ;;
	base-both) bin=$BASELINE ;;
	esac
	new_ns
	ip netns exec "$NS" taskset -c 1 "$bin" run -C "file:$TMP/ctflow.ipfix" "${opts[@]}" \
		>"$TMP/ctflow.out" 2>"$TMP/ctflow.log" &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do grep -q 'reading conntrack events' "$TMP/ctflow.log" && break; sleep 0.1; done
	if [[ ${ENRICH_PERF:-} == "$v" && $rep == "$REPS" ]]; then
		perf record -g -o "$OUT/enrich-$v.perf" -p "$pid" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.3
	fi
	before=$(new_count)
	timeout 60 "$LOADGEN" --netns "$NS" --count "$FLOWS" --seconds 20 --cpu 0 --ports 1024-65535 \
		>"$TMP/loadgen.txt" 2>&1
	settle "$pid" 60
	created=$(($(new_count) - before))
	in_ns conntrack -F 2>/dev/null
	settle "$pid" 60
	cpu=$(ticks "$pid")
	threads=$(thread_ticks "$pid")
	[[ -n $perf_pid ]] && { kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null; }
	kill -TERM "$pid"
	wait_exit "$pid" 60 || echo "bench/enrich.sh: ctflow did not stop" >&2
	line=$(grep 'enrichment:' "$TMP/ctflow.log")
	owners=$(sed -n 's/.*owner found for \([0-9]*\).*/\1/p' <<<"$line")
	cpu=$(awk -v t="$cpu" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }')
	echo "$v $cpu $created ${owners:--}" >>"$TMP/results"
	log "round $rep $v: $cpu s CPU ($threads), $created entries, owners ${owners:--} ($(cat "$TMP/loadgen.txt"))"
	rm -f "$TMP/ctflow.ipfix"
	del_ns
}

for ((rep = 1; rep <= REPS; rep++)); do
	for v in "${VARIANTS[@]}"; do run "$v" "$rep"; done
done

# ---- report --------------------------------------------------------------
{
	echo "# Enrichment benchmark: ctflow run with enrichers on and off"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg);"
	echo "\`bench/enrich.sh $FLOWS $REPS\`: $FLOWS new UDP entries per run (bench/ct-loadgen, one unconnected"
	echo "socket, CPU 0), then \`conntrack -F\`; ctflow on CPU 1; variants interleaved, $REPS runs each."
	echo "CPU: utime+stime of the ctflow process (all threads), start to end of the DESTROY burst."
	[[ -n ${BASELINE:-} ]] && echo "base-*: the same with \`$BASELINE\` ($($BASELINE --version 2>/dev/null | head -1)); their ratios are ÷ base-off."
	echo
	echo "| variant | CPU s median (min–max) | µs per flow | median ÷ off's median | median of ÷ off in the same round | owners found |"
	echo "|---|---|---:|---:|---:|---|"
	awk -v vars="${VARIANTS[*]}" '
	{ n[$1]++; cpu[$1] = cpu[$1] " " $2; at[$1, n[$1]] = $2; cr[$1] += $3; own[$1] = own[$1] " " $4 }
	function median(s,    a, k, i, j, t) {
		k = split(s, a, " ")
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		lo = a[1]; hi = a[k]
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	# the median over rounds of VARIANT / BASE in the same round
	function pair_median(v, b,    r, i) {
		r = ""
		for (i = 1; i <= n[v] && i <= n[b]; i++)
			if (at[b, i] > 0) r = r " " at[v, i] / at[b, i]
		return r == "" ? 0 : median(r)
	}
	END {
		split(vars, vs, " ")
		for (i = 1; i in vs; i++) {
			v = vs[i]
			if (!n[v]) continue
			b = v ~ /^base-/ ? "base-off" : "off"
			mb = median(cpu[b])
			p = pair_median(v, b)
			m = median(cpu[v])	# last: sets lo and hi
			printf "| %s | %.3f (%.3f–%.3f) | %.2f | %.2f | %.2f | %s |\n", v, m, lo, hi,
				m * 1e6 / (cr[v] / n[v]), m / mb, p, own[v]
		}
	}' "$TMP/results"
} >"$OUT/enrich.md"
cat "$OUT/enrich.md"
