#!/usr/bin/env bash
# The conntrack event ceiling on this machine: ct-loadgen (CPU 0) creates
# ENTRIES new UDP entries in a fresh namespace while ct-bare-reader (CPU 1)
# counts the events; then `conntrack -F` flushes the table, the worst-case
# DESTROY burst. Prints the generator's rate, messages received against the
# nft `ct state new` counter, and the reader's CPU per message.
#
#   bench/ct-reader-bench.sh [ENTRIES] [lo|veth] [BUILD_DIR]
#
# lo (default) sends to closed ports on the namespace's loopback, so every
# datagram also crosses the receive path on the generator's core. veth
# sends to a veth whose peer is down: the entry is confirmed in
# postrouting and the packet dropped at once, closer to the kernel's own
# ceiling for creating entries.
#
# Needs root; uses tests/root/lib.sh, which removes the namespace on exit.
set -u
cd "$(dirname "$0")/.."
ENTRIES=${1:-200000}
SINK=${2:-lo}
BUILD=${3:-build-ct}
. tests/root/lib.sh
ctft_require_root
ninja -C "$BUILD" bench/ct-loadgen bench/ct-bare-reader >/dev/null || exit 1
ctft_ns_new n bench
ctft_ct_enable "$n"
ctft_in "$n" sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
dst=127.0.0.1
if [[ $SINK == veth ]]; then
	ip -n "$n" link add v0 type veth peer name v1	# v1 stays down
	ip -n "$n" link set v0 arp off
	ip -n "$n" link set v0 up
	ip -n "$n" addr add 10.99.0.1/16 dev v0
	dst=10.99.1.0
fi
tmp=$(ctft_tmpdir)
"$BUILD/bench/ct-bare-reader" --netns "$n" --cpu 1 --idle 3 --ready "$tmp/ready" >"$tmp/reader" &
reader=$!
CTFT_PIDS+=("$reader")
for ((i = 0; i < 100; i++)); do [[ -e $tmp/ready ]] && break; sleep 0.05; done
"$BUILD/bench/ct-loadgen" --netns "$n" --count "$ENTRIES" --cpu 0 --dst "$dst"
created=$(ctft_ct_new_count "$n")
sleep 1
ctft_in "$n" conntrack -F 2>/dev/null
wait "$reader"
cat "$tmp/reader"
echo "nft ct state new: $created"
