# Root test environment: network namespaces with real conntrack and real
# traffic. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   ctft_require_root            # exit 77 (skip) unless root with the tools
#   ctft_ns_new ns a             # ns="ctft-$$-a", loopback up, removed on exit
#
# Every namespace, background process and temporary directory created here
# is recorded and removed by ctft_cleanup, which an EXIT trap runs whatever
# happens. Addresses (10.x, fd00::) exist only inside these namespaces.
# Loops are bounded; waits take a timeout.

CTFT_PREFIX="ctft-$$-"
CTFT_NS=()
CTFT_PIDS=()
CTFT_TMP=""
CTFT_PY=/usr/bin/python3	# Debian's, not whatever python3 is on PATH
CTFT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ctft_log() { echo "# $*" >&2; }
ctft_fail() { echo "FAIL: $*" >&2; exit 1; }

# Skip (77) unless root and every tool the suite drives is installed.
ctft_require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: root tests need root (network namespaces, conntrack)" >&2
		exit 77
	fi
	local t
	for t in ip nft conntrack sysctl "$CTFT_PY" ping; do
		command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed" >&2; exit 77; }
	done
	ip netns add "${CTFT_PREFIX}probe" 2>/dev/null || {
		echo "SKIP: cannot create network namespaces here" >&2; exit 77; }
	ip netns del "${CTFT_PREFIX}probe"
	trap ctft_cleanup EXIT
	trap 'exit 130' INT TERM
	# made here, in the test's own shell: tmp=$(ctft_tmpdir) runs in a
	# subshell, which could not record a directory it created for cleanup
	CTFT_TMP=$(mktemp -d /tmp/ctft-$$-XXXXXX)
}

ctft_cleanup() {
	local rc=$? p n
	for p in "${CTFT_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${CTFT_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for n in "${CTFT_NS[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	[[ -n $CTFT_TMP && -d $CTFT_TMP ]] && rm -rf "$CTFT_TMP"
	CTFT_PIDS=()
	CTFT_NS=()
	return $rc
}

# ctft_tmpdir: the test's temporary directory (removed on exit); needs
# ctft_require_root first.
ctft_tmpdir() {
	[[ -n $CTFT_TMP ]] || ctft_fail "ctft_tmpdir before ctft_require_root"
	echo "$CTFT_TMP"
}

# Remember a background process for cleanup: ctft_bg CMD...; pid in $!
ctft_bg() {
	"$@" &
	CTFT_PIDS+=($!)
}

# ctft_ns_new VAR SUFFIX: create ${CTFT_PREFIX}SUFFIX with loopback up and
# store its name in VAR (not a $(...) call: the record of namespaces to
# clean up lives in this shell).
ctft_ns_new() {
	local -n _out=$1
	local name="${CTFT_PREFIX}$2"
	ip netns add "$name" || ctft_fail "ip netns add $name"
	CTFT_NS+=("$name")
	ip -n "$name" link set lo up
	# no DAD delays for the fd00:: addresses added later
	ip netns exec "$name" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	_out=$name
}

ctft_ns_del() {
	local n=$1 i
	ip netns del "$n" 2>/dev/null
	for i in "${!CTFT_NS[@]}"; do
		[[ ${CTFT_NS[$i]} == "$n" ]] && unset 'CTFT_NS[i]'
	done
}

ctft_in() {	# ctft_in NS CMD...: run inside a namespace
	local ns=$1; shift
	ip netns exec "$ns" "$@"
}

# ctft_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both up.
ctft_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" ||
		ctft_fail "veth $1/$2 -- $3/$4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# ctft_addr NS IF ADDR/PREFIX...
ctft_addr() {
	local ns=$1 dev=$2 a; shift 2
	for a in "$@"; do
		ip -n "$ns" addr add "$a" dev "$dev" nodad 2>/dev/null ||
			ip -n "$ns" addr add "$a" dev "$dev" || ctft_fail "addr $a on $ns/$dev"
	done
}

# ctft_ct_enable NS: make conntrack track in NS (any rule with a ct
# expression does, since Linux 4.14) with a counter of new entries that is
# the ground truth of how many were created. Loopback packets pass both
# output and prerouting still in state new, so prerouting skips lo.
ctft_ct_enable() {
	ctft_in "$1" nft -f - <<-'EOF' || ctft_fail "nft ct table in $1"
	table inet ctft {
		chain pre {
			type filter hook prerouting priority 0; policy accept;
			iifname != "lo" ct state new counter
		}
		chain out {
			type filter hook output priority 0; policy accept;
			ct state new counter
		}
	}
	EOF
}

# ctft_ct_new_count NS: entries created since ctft_ct_enable
ctft_ct_new_count() {
	ctft_in "$1" nft list table inet ctft |
		awk '/ct state new counter/ { for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) }
		     END { print s + 0 }'
}

# ctft_ct_sysctls NS TIMEOUT: counters and timestamps on, every timeout
# that ends a finished flow set to TIMEOUT seconds so DESTROY comes soon.
ctft_ct_sysctls() {
	local ns=$1 t=${2:-1} k
	ctft_in "$ns" sysctl -qw net.netfilter.nf_conntrack_acct=1 \
		net.netfilter.nf_conntrack_timestamp=1 || ctft_fail "sysctl acct/timestamp in $ns"
	for k in udp_timeout udp_timeout_stream icmp_timeout icmpv6_timeout \
		tcp_timeout_time_wait tcp_timeout_close tcp_timeout_fin_wait \
		tcp_timeout_last_ack tcp_timeout_close_wait; do
		ctft_in "$ns" sysctl -qw "net.netfilter.nf_conntrack_$k=$t" ||
			ctft_fail "sysctl $k in $ns"
	done
}

# ctft_pair VAR_A VAR_B: two namespaces joined by a veth pair,
# a: 10.70.0.1/24 fd00:70::1/64 on "va", b: 10.70.0.2/24 fd00:70::2/64 on "vb".
ctft_pair() {
	local -n _a=$1 _b=$2
	ctft_ns_new _a a
	ctft_ns_new _b b
	ctft_veth "$_a" va "$_b" vb
	ctft_addr "$_a" va 10.70.0.1/24 fd00:70::1/64
	ctft_addr "$_b" vb 10.70.0.2/24 fd00:70::2/64
}

# ctft_router VAR_CLIENT VAR_ROUTER VAR_SERVER:
#   client c0 10.71.1.2 fd00:71:1::2 -- r0 10.71.1.1 fd00:71:1::1 router
#   router r1 10.71.2.1 fd00:71:2::1 -- s0 10.71.2.2 fd00:71:2::2 server
# The router forwards IPv4 and IPv6; client and server route through it.
ctft_router() {
	local -n _c=$1 _r=$2 _s=$3
	ctft_ns_new _c client
	ctft_ns_new _r router
	ctft_ns_new _s server
	ctft_veth "$_c" c0 "$_r" r0
	ctft_veth "$_r" r1 "$_s" s0
	ctft_addr "$_c" c0 10.71.1.2/24 fd00:71:1::2/64
	ctft_addr "$_r" r0 10.71.1.1/24 fd00:71:1::1/64
	ctft_addr "$_r" r1 10.71.2.1/24 fd00:71:2::1/64
	ctft_addr "$_s" s0 10.71.2.2/24 fd00:71:2::2/64
	ip -n "$_c" route add default via 10.71.1.1 || ctft_fail "route in $_c"
	ip -n "$_c" -6 route add default via fd00:71:1::1 || ctft_fail "route6 in $_c"
	ip -n "$_s" route add default via 10.71.2.1 || ctft_fail "route in $_s"
	ip -n "$_s" -6 route add default via fd00:71:2::1 || ctft_fail "route6 in $_s"
	ctft_in "$_r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# ctft_nat_router VAR_CLIENT VAR_ROUTER VAR_SERVER: ctft_router, and the
# router masquerades IPv4 and IPv6 out of its server side, so the server
# sees the router's address.
ctft_nat_router() {
	ctft_router "$1" "$2" "$3"
	local -n _r=$2
	ctft_in "$_r" nft -f - <<-'EOF' || ctft_fail "nat table in $_r"
	table inet ctft_nat {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "r1" masquerade
		}
	}
	EOF
}

# ---- traffic ------------------------------------------------------------

# ctft_server NS: UDP and TCP echo servers on every address of NS, port
# 7000 (and ICMP needs none). Waits until they listen.
ctft_server() {
	local ns=$1 ready i
	ready=$(ctft_tmpdir)/server-ready-$ns
	rm -f "$ready"
	ctft_bg ip netns exec "$ns" "$CTFT_PY" "$CTFT_DIR/traffic.py" serve --port 7000 \
		--ready "$ready"
	for ((i = 0; i < 100; i++)); do
		[[ -e $ready ]] && return 0
		sleep 0.05
	done
	ctft_fail "echo server in $ns did not start"
}

# ctft_udp NS DST COUNT SIZE [SPORT]: COUNT datagrams of SIZE bytes to
# DST:7000, each echoed: one conntrack entry, COUNT packets each way.
ctft_udp() {
	ctft_in "$1" "$CTFT_PY" "$CTFT_DIR/traffic.py" udp --dst "$2" --port 7000 \
		--count "$3" --size "$4" ${5:+--sport "$5"} || ctft_fail "udp flow $1 -> $2"
}

# ctft_tcp NS DST COUNT SIZE: one connection, COUNT messages of SIZE bytes
# echoed, then closed by the client.
ctft_tcp() {
	ctft_in "$1" "$CTFT_PY" "$CTFT_DIR/traffic.py" tcp --dst "$2" --port 7000 \
		--count "$3" --size "$4" || ctft_fail "tcp flow $1 -> $2"
}

# ctft_ping NS DST COUNT: one ICMP(v6) echo flow of COUNT requests.
ctft_ping() {
	ctft_in "$1" ping -q -n -c "$3" -i 0.01 -W 1 "$2" >/dev/null ||
		ctft_fail "ping $1 -> $2"
}

# ctft_truth NS FILE: append a snapshot of the live table to FILE, one
# entry per line (conntrack -L -o extended,id: counters need acct on), then
# "# nft-new N" with the ct-state-new counter. Take one after each flow
# ends: an entry then only has to outlive the snapshot, not the whole
# traffic phase; readers keep the last line per id.
ctft_truth() {
	sleep 0.05	# packets still crossing a router
	ctft_in "$1" conntrack -L -o extended,id >>"$2" 2>/dev/null
	echo "# nft-new $(ctft_ct_new_count "$1")" >>"$2"
}

# ctft_wait_empty NS SECONDS: until the conntrack table of NS is empty.
ctft_wait_empty() {
	local i n
	for ((i = 0; i < $2 * 10; i++)); do
		n=$(ctft_in "$1" conntrack -C 2>/dev/null)
		[[ $n == 0 ]] && return 0
		sleep 0.1
	done
	return 1
}
