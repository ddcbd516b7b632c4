#!/bin/bash
# Shared by bench/live.sh and bench/enrich.sh (sourced): cleanup of what a
# run started (PIDS, the namespace NS, the directory TMP), and the helpers
# that watch a reader in the namespace. BENCH: the script's name for
# messages.

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[[ -n $NS ]] && ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }
in_ns() { ip netns exec "$NS" "$@"; }

# Conntrack in NS as the benches need it: counters and timestamps on, and
# UDP entries that outlive a whole run (ended by the flush, not by timeouts).
ns_ct_sysctls() {
	in_ns sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1 \
		net.netfilter.nf_conntrack_udp_timeout=600 \
		net.netfilter.nf_conntrack_udp_timeout_stream=600
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
new_count() {
	in_ns nft list chain inet bench out | awk '/ct state new counter/ {
		for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# settle PID MAX: until PID used no CPU for 1 s (it has drained), MAX s at most
settle() {
	local a b i
	a=$(ticks "$1")
	for ((i = 0; i < $2 * 2; i++)); do
		sleep 0.5
		b=$(ticks "$1")
		[[ -z $b ]] && return 0
		if [[ $a == "$b" ]]; then
			sleep 0.5
			[[ $(ticks "$1") == "$b" ]] && return 0
		fi
		a=$b
	done
	echo "$BENCH: reader still busy after $2 s" >&2
}

wait_exit() {	# wait_exit PID SECONDS
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 1
}

del_ns() { ip netns del "$NS"; NS=""; }
