#!/bin/bash
# Process attribution with real processes. Two namespaces joined by a veth
# pair: "a" is the host whose flows are enriched, "b" the rest of the
# world. Programs with distinct names (copies of ctft-peer) in a make TCP
# and UDP flows, outgoing and incoming, IPv4, IPv6 and v4-mapped, connected
# and unconnected, long-lived (sockets held 1.5 s or 150 ms) and short
# (connect, send, close at once; also whole processes that live a few ms),
# one as user nobody, three in container-like cgroups. proc-lookup-check
# looks every NEW entry of a up at once; proc-compare.py matches the
# answers against what the programs printed about themselves.
# Asserts >= 99 % right (pid, comm, exe, user, container id) for sockets
# that live >= 100 ms; reports the short-lived share.
set -u
. "$(dirname "$0")/../root/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
A4=10.70.0.1 A6=fd00:70::1 B4=10.70.0.2 B6=fd00:70::2
HOLD=1500	# long-lived sockets, ms

# ---- run by proc-lookup-check, while it reads events -------------------

CGROUPS=()	# created here, removed on exit (deepest first)

traffic_cleanup() {
	local rc=$? i
	ctft_cleanup
	for ((i = ${#CGROUPS[@]} - 1; i >= 0; i--)); do
		rmdir "${CGROUPS[i]}" 2>/dev/null
	done
	return $rc
}

# cgroup_new VAR DIR: mkdir -p DIR, remembering each level created.
cgroup_new() {
	local -n _cg=$1
	local d=$2 parts=() p
	while [[ ! -d $d ]]; do parts=("$d" "${parts[@]}"); d=$(dirname "$d"); done
	for p in "${parts[@]}"; do
		mkdir "$p" 2>/dev/null || return 1
		CGROUPS+=("$p")
	done
	_cg=$2
}

hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# role NAME CLASS USER CONTAINER: a copy of ctft-peer called NAME, and one
# line in the roles file for the comparison.
role() {
	local name=$1 cls=$2 user=$3 cont=$4
	cp "$CTFT_PEER" "$T/bin/$name"
	echo "$name|$T/bin/$name|$user|$cont|$cls|$T/out/$name" >>"$T/roles"
}

# run_in NS NAME [--as-nobody] [--cgroup DIR] -- ARGS...: start NAME in
# the background inside NS, appending its output to out/NAME.
run_in() {
	local ns=$1 name=$2 pre=() cg=""
	shift 2
	while [[ $1 != -- ]]; do
		case $1 in
		--as-nobody) pre=(setpriv --reuid=65534 --regid=65534 --clear-groups) ;;
		--cgroup) cg=$2; shift ;;
		esac
		shift
	done
	shift
	# the shell moves itself into the cgroup, then becomes ip, then NAME
	ctft_bg sh -c 'cg=$1; shift; [ -z "$cg" ] || echo $$ >"$cg/cgroup.procs" || exit 1; exec "$@"' \
		sh "$cg" ip netns exec "$ns" "${pre[@]}" "$T/bin/$name" "$@" >>"$T/out/$name" 2>&1
}

# wait_ready NAME COUNT: until COUNT servers called NAME printed READY.
wait_ready() {
	local i
	for ((i = 0; i < 250; i++)); do
		(($(grep -c READY "$T/out/$1" 2>/dev/null) >= $2)) && return 0
		sleep 0.02
	done
	ctft_fail "$1: not all $2 servers started: $(cat "$T/out/$1")"
}

# clients: run_in for a program that ends by itself, waited for later
CLIENTS=()
client() {
	run_in "$@"
	CLIENTS+=($!)
}

wait_clients() {
	local p
	for p in "${CLIENTS[@]}"; do
		wait "$p" || ctft_fail "a client failed, see $T/out"
	done
	CLIENTS=()
}

traffic() {
	local a=$1 b=$2 p n i docker_cg="" k8s_cg="" v1_cg=""
	local id_docker id_k8s id_v1
	trap traffic_cleanup EXIT
	trap 'exit 143' TERM INT	# proc-lookup-check's timeout: clean up all the same
	mkdir -p "$T/bin" "$T/out"
	cp "$CTFT_PEER" "$T/bin/ctft-peer"

	# the world: one server per port of the outgoing scenarios
	for p in 7101 7102 7103 7104 7105 7106 7107 7108 7109 7110 7111 7120 7121 \
		7301 7302 7303 7304; do
		run_in "$b" ctft-peer -- tcp-server :: $p --hold 5000
		run_in "$b" ctft-peer -- udp-server :: $p
	done

	# a's servers, for the incoming scenarios
	role ctfi-tcp4 long root ""
	role ctfi-tcp6 long root ""
	role ctfi-udp4 long root ""
	role ctfi-udp6 long root ""
	role ctfi-dual-tcp long root ""
	role ctfi-dual-udp long root ""
	role ctfi-short short root ""
	run_in "$a" ctfi-tcp4 -- tcp-server 0.0.0.0 7201 --hold $HOLD
	run_in "$a" ctfi-tcp6 -- tcp-server $A6 7202 --hold $HOLD
	run_in "$a" ctfi-udp4 -- udp-server 0.0.0.0 7203
	run_in "$a" ctfi-udp6 -- udp-server $A6 7204
	run_in "$a" ctfi-dual-tcp -- tcp-server :: 7205 --hold $HOLD
	run_in "$a" ctfi-dual-udp -- udp-server :: 7206
	run_in "$a" ctfi-short -- tcp-server :: 7305 --hold 0
	wait_ready ctft-peer 34
	for n in ctfi-tcp4 ctfi-tcp6 ctfi-udp4 ctfi-udp6 ctfi-dual-tcp ctfi-dual-udp ctfi-short; do
		wait_ready $n 1
	done

	# container-like cgroups (skipped where cgroups are not writable)
	id_docker=$(hex64) id_k8s=$(hex64) id_v1=$(hex64)
	cgroup_new docker_cg /sys/fs/cgroup/unified/ctft-$$/system.slice/docker-$id_docker.scope ||
		cgroup_new docker_cg /sys/fs/cgroup/ctft-$$/system.slice/docker-$id_docker.scope ||
		ctft_log "no writable cgroup2: docker scenario skipped"
	cgroup_new k8s_cg /sys/fs/cgroup/unified/ctft-$$/kubepods/besteffort/pod6f1c2a4e-0d1b-4c6e-9a57-3b2f8e1d0c9a/$id_k8s ||
		cgroup_new k8s_cg /sys/fs/cgroup/ctft-$$/kubepods/besteffort/pod6f1c2a4e-0d1b-4c6e-9a57-3b2f8e1d0c9a/$id_k8s ||
		ctft_log "no writable cgroup2: kubernetes scenario skipped"
	cgroup_new v1_cg /sys/fs/cgroup/pids/ctft-$$/docker/$id_v1 ||
		ctft_log "no writable cgroup v1 pids hierarchy: docker (v1) scenario skipped"

	# long-lived and 150 ms sockets, all at once
	role ctfo-tcp4 long root ""
	role ctfo-tcp6 long root ""
	role ctfo-udp4c long root ""
	role ctfo-udp6u long root ""
	role ctfo-udp4u long root ""
	role ctfo-map-tcp long root ""
	role ctfo-map-udp long root ""
	command -v setpriv >/dev/null && role ctfo-nobody long nobody ""
	role ctfo-med-tcp long root ""
	role ctfo-med-udp long root ""
	local L=(--count 10 --gap 30 --hold $HOLD)
	client "$a" ctfo-tcp4 -- tcp-client $B4 7101 "${L[@]}"
	client "$a" ctfo-tcp6 -- tcp-client $B6 7102 "${L[@]}"
	client "$a" ctfo-udp4c -- udp-client $B4 7103 "${L[@]}"
	client "$a" ctfo-udp6u -- udp-client $B6 7104 "${L[@]}" --unconnected
	client "$a" ctfo-udp4u -- udp-client $B4 7105 "${L[@]}" --unconnected
	client "$a" ctfo-map-tcp -- tcp-client $B4 7106 "${L[@]}" --v6sock
	client "$a" ctfo-map-udp -- udp-client $B4 7107 "${L[@]}" --v6sock --unconnected
	if command -v setpriv >/dev/null; then
		client "$a" ctfo-nobody --as-nobody -- tcp-client $B4 7108 "${L[@]}"
	else
		ctft_log "setpriv not installed: user nobody scenario skipped"
	fi
	client "$a" ctfo-med-tcp -- tcp-client $B4 7120 --count 30 --gap 10 --hold 150
	client "$a" ctfo-med-udp -- udp-client $B6 7121 --count 30 --gap 10 --hold 150 --unconnected
	if [[ -n $docker_cg ]]; then
		role ctfo-docker long root "$id_docker"
		client "$a" ctfo-docker --cgroup "$docker_cg" -- udp-client $B4 7109 "${L[@]}"
	fi
	if [[ -n $k8s_cg ]]; then
		role ctfo-k8s long root "$id_k8s"
		client "$a" ctfo-k8s --cgroup "$k8s_cg" -- tcp-client $B6 7110 "${L[@]}"
	fi
	if [[ -n $v1_cg ]]; then
		role ctfo-dockv1 long root "$id_v1"
		client "$a" ctfo-dockv1 --cgroup "$v1_cg" -- tcp-client $B4 7111 "${L[@]}"
	fi
	# incoming: b's clients to a's servers
	client "$b" ctft-peer -- tcp-client $A4 7201 "${L[@]}"
	client "$b" ctft-peer -- tcp-client $A6 7202 "${L[@]}"
	client "$b" ctft-peer -- udp-client $A4 7203 "${L[@]}"
	client "$b" ctft-peer -- udp-client $A6 7204 "${L[@]}" --unconnected
	client "$b" ctft-peer -- tcp-client $A4 7205 "${L[@]}"
	client "$b" ctft-peer -- udp-client $A4 7206 "${L[@]}"
	wait_clients

	# short-lived: whole processes of a few ms, one flow each
	role ctfs-tcp4 short root ""
	role ctfs-udp4c short root ""
	role ctfs-udp6u short root ""
	role ctfs-loop short root ""
	for ((i = 0; i < 30; i++)); do
		ip netns exec "$a" "$T/bin/ctfs-tcp4" tcp-client $B4 7301 >>"$T/out/ctfs-tcp4" 2>&1
		ip netns exec "$a" "$T/bin/ctfs-udp4c" udp-client $B4 7302 >>"$T/out/ctfs-udp4c" 2>&1
		ip netns exec "$a" "$T/bin/ctfs-udp6u" udp-client $B6 7303 --unconnected \
			>>"$T/out/ctfs-udp6u" 2>&1
		sleep 0.02
	done
	# short sockets of a long-lived process; short accepted sockets
	client "$a" ctfs-loop -- tcp-client $B4 7304 --count 30 --gap 50
	client "$b" ctft-peer -- tcp-client $A6 7305 --count 30 --gap 30
	wait_clients
	sleep 0.3	# the last events
}

if [[ ${1:-} == --traffic ]]; then
	T=$4
	traffic "$2" "$3"
	exit 0
fi

# ---- the test ----------------------------------------------------------

ctft_require_root
: "${CTFT_PEER:?set by meson}" "${PROC_LOOKUP_CHECK:?set by meson}"
ctft_pair a b
ctft_ct_enable "$a"
ctft_tmpdir >/dev/null	# not in $(...): the cleanup must know it
T=$CTFT_TMP
chmod 755 "$T"	# user nobody runs a program from here
"$PROC_LOOKUP_CHECK" --netns "$a" --out "$T/flows" --timeout 150 -- \
	"$0" --traffic "$a" "$b" "$T" || ctft_fail "proc-lookup-check"
"$CTFT_PY" "$HERE/proc-compare.py" --flows "$T/flows" --roles "$T/roles" \
	--local $A4 $A6 --min-long 0.99
