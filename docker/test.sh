#!/usr/bin/env bash
# docker/test.sh: build ctflow's container image with podman (no daemon)
# and run it against a network namespace with real traffic, asserting that
# records reach a real collector (nfcapd). Run as root, by hand; it is not
# part of the CI suite (it builds an image). See docs/container.md.
#
#   docker/test.sh                     # everything; exit 0 only if all passed
#
# What it does, in order:
#   1. installs podman, buildah, runc, debootstrap and the collector tools
#      if missing (scripts/deps.sh container);
#   2. checks the YAML of docker/compose.yaml and the Kubernetes example;
#   3. makes docker.io/library/debian:bookworm-slim locally with debootstrap
#      when podman does not have it (no registry is needed; the rootfs
#      tarball is cached in $CTFLOW_TEST_CACHE for the next run);
#   4. builds the image (multi-stage) and checks the runtime stage: its
#      size, every shared library found, no compiler, the health check;
#   5. two namespaces joined by a veth pair, conntrack on in the server one,
#      nfcapd on its loopback; the container joins that namespace
#      (--network ns:...: no setns, so no CAP_SYS_ADMIN) with --pid host,
#      --cap-drop all and only NET_ADMIN, NET_RAW, SYS_PTRACE and
#      DAC_READ_SEARCH, as the image's user ctflow (uid 10477), configured
#      by CTFLOW_* variables;
#   6. asserts, from outside, that every thread of ctflow runs as that user
#      with exactly those capabilities (/proc/PID/task/*/status);
#   7. drives UDP (IPv4, IPv6), TCP and ICMP flows, then asserts nfdump
#      shows one record per conntrack entry with the same addresses, ports
#      and packet and octet counts both ways as the kernel's DESTROY events;
#   8. the health check passes; podman stop ends ctflow with status 0 and
#      its nftables table gone;
#   9. once more the way Docker Engine and Kubernetes run it (started as
#      root with SETUID, SETGID and SETPCAP added; ctflow switches to the
#      ctflow user itself and keeps only NET_ADMIN, SYS_PTRACE and
#      DAC_READ_SEARCH), configured by a mounted file instead of variables
#      (a second collector port and a proto filter only the file sets).
#
# Environment: CTFLOW_IMAGE (tag, default localhost/ctflow:test),
# CTFLOW_TEST_CACHE (default /var/cache/ctflow-test), CTFLOW_BUILD_JOBS
# (compile jobs in the image build, default 1: the machine is shared),
# CTFLOW_MESON_OPTIONS (more meson setup options for the image build),
# CTFLOW_TEST_KEEP_IMAGE=0 removes the built image at the end.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${CTFLOW_IMAGE:-localhost/ctflow:test}
BASE=docker.io/library/debian:bookworm-slim
CACHE=${CTFLOW_TEST_CACHE:-/var/cache/ctflow-test}
BASE_TAR=$CACHE/debian-bookworm-slim-rootfs.tar
JOBS=${CTFLOW_BUILD_JOBS:-1}
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
# podman's flags verified on these machines (../shared TESTBED): runc, cgroupfs,
# rlimits no higher than the host's
RUN_FLAGS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
# What ctflow needs (docs/container.md): CAP_DAC_READ_SEARCH 2,
# CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_PTRACE 19
CAPS=NET_ADMIN,NET_RAW,SYS_PTRACE,DAC_READ_SEARCH
CAP_MASK=$(( (1 << 2) | (1 << 12) | (1 << 13) | (1 << 19) ))
# Started as root (Docker Engine, Kubernetes): also what the switch to the
# ctflow user takes (CAP_SETGID 6, CAP_SETUID 7, CAP_SETPCAP 8); after it
# ctflow keeps NET_ADMIN, SYS_PTRACE, DAC_READ_SEARCH (sampling sockets are
# open by then) and nothing else, not even in its bounding set.
CAPS_ROOT=$CAPS,SETUID,SETGID,SETPCAP
DROP_MASK=$(( (1 << 2) | (1 << 12) | (1 << 19) ))
CTFLOW_UID=10477	# docker/Dockerfile ARG CTFLOW_UID
PORT_ENV=47391
PORT_FILE=47392
CONTAINERS=(ctflow-test-env ctflow-test-file)
START=$SECONDS
PASSED=0
FAILED=0

say() { echo "== [$((SECONDS - START))s] $*" >&2; }
pass() { PASSED=$((PASSED + 1)); echo "ok: $*" >&2; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
check() {	# check DESCRIPTION CMD...: one assertion, counted
	local what=$1; shift
	if "$@"; then pass "$what"; else bad "$what"; fi
}
die() { echo "FAIL: $*" >&2; FAILED=$((FAILED + 1)); exit 1; }

if [[ $(id -u) -ne 0 ]]; then
	echo "SKIP: docker/test.sh needs root (podman, network namespaces)" >&2
	exit 77
fi

summary() {
	echo "docker/test.sh: image $IMAGE, $((SECONDS - START)) s" >&2
	echo "$PASSED passed, $FAILED failed"
}

say "packages (scripts/deps.sh container)"
"$ROOT/scripts/deps.sh" container || die "scripts/deps.sh container"

# Namespaces, background processes, temporary directory: tests/root/lib.sh
# records them and removes them on exit.
# shellcheck source-path=SCRIPTDIR/.. source=tests/root/lib.sh
. "$ROOT/tests/root/lib.sh"
ctft_require_root
TMP=$(ctft_tmpdir)

# pm ARGS...: podman, without the errors podman 4.3 prints on every start
# and stop of a container with a health check where systemd does not run
# (it schedules health checks with systemd timers; `podman healthcheck run`
# works without them).
pm() {
	local rc
	"${PODMAN[@]}" "$@" 2>"$TMP/podman.err"
	rc=$?
	grep -v "unable to get systemd connection" "$TMP/podman.err" >&2
	return $rc
}

remove_containers() {
	local c
	for c in "${CONTAINERS[@]}"; do
		"${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1
	done
}
on_exit() {
	local rc=$?
	remove_containers
	if [[ ${CTFLOW_TEST_KEEP_IMAGE:-1} == 0 ]]; then
		"${PODMAN[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
	fi
	ctft_cleanup
	summary
	[[ $FAILED -eq 0 && $rc -eq 0 ]] && exit 0
	exit 1
}
trap on_exit EXIT
remove_containers	# leftovers of an interrupted run

# ---- 2. YAML of the examples ---------------------------------------------

say "compose and Kubernetes examples"
check "docker/compose.yaml and docker/kubernetes/*.yaml parse and say what they must" \
	"$CTFT_PY" - "$ROOT/docker/compose.yaml" "$ROOT"/docker/kubernetes/*.yaml <<'EOF'
import sys
import yaml

compose = yaml.safe_load(open(sys.argv[1]))
svc = compose["services"]["ctflow"]
assert svc["network_mode"] == "host" and svc["pid"] == "host", "host network and pid"
want = sorted(["NET_ADMIN", "NET_RAW", "SYS_PTRACE", "DAC_READ_SEARCH",
               "SETUID", "SETGID", "SETPCAP"])
assert svc["cap_drop"] == ["ALL"], svc["cap_drop"]
assert sorted(svc["cap_add"]) == want, svc["cap_add"]
assert str(svc["user"]) == "0", "ctflow switches users itself"
assert "CTFLOW_EXPORT_COLLECTOR" in svc["environment"]
assert len(compose["services"]) >= 2, "a collector next to ctflow"
kinds = {}
for path in sys.argv[2:]:
    for doc in yaml.safe_load_all(open(path)):
        if doc:
            kinds[doc["kind"]] = doc
ds = kinds["DaemonSet"]["spec"]["template"]["spec"]
assert ds["hostNetwork"] and ds["hostPID"]
c = ds["containers"][0]
caps = c["securityContext"]["capabilities"]
assert caps["drop"] == ["ALL"] and sorted(caps["add"]) == want, caps
assert c["securityContext"]["runAsUser"] == 0
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert "resources" in c
assert "ctflow.conf" in kinds["ConfigMap"]["data"]
EOF

# ---- 3. base image -------------------------------------------------------

# The Debian mirror this machine's apt uses (deb822 or one-line format).
apt_mirror() {
	local m=""
	if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
		m=$(awk 'function flush() { if (suite && uri != "") print uri; uri = ""; suite = 0 }
			/^[ \t]*$/ { flush(); next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite = 1 }
			END { flush() }' /etc/apt/sources.list.d/debian.sources | head -1)
	fi
	if [[ -z $m && -r /etc/apt/sources.list ]]; then
		m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\// &&
			$(i + 1) == "bookworm") { print $i; exit } }' /etc/apt/sources.list)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

# Trim a debootstrap minbase tree the way Debian's -slim images are: no
# documentation, manual pages or translations, now or from later installs;
# no apt lists or caches; the host's apt sources (the only reachable ones).
slim_rootfs() {
	local r=$1
	cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<-'EOF'
	path-exclude /usr/share/doc/*
	path-include /usr/share/doc/*/copyright
	path-exclude /usr/share/man/*
	path-exclude /usr/share/groff/*
	path-exclude /usr/share/info/*
	path-exclude /usr/share/lintian/*
	path-exclude /usr/share/linda/*
	path-exclude /usr/share/locale/*
	EOF
	cat >"$r/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
	DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	Dir::Cache::pkgcache "";
	Dir::Cache::srcpkgcache "";
	EOF
	echo 'Acquire::GzipIndexes "true";' >"$r/etc/apt/apt.conf.d/docker-gzip-indexes"
	if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
		cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/debian.sources"
		rm -f "$r/etc/apt/sources.list"
	fi
	find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* \
		"$r"/usr/share/lintian "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
		"$r"/var/cache/apt/archives/*.deb "$r"/var/cache/debconf/*-old \
		"$r"/var/log/* "$r"/tmp/* "$r"/root/.bash_history
	: >"$r/etc/resolv.conf"
	: >"$r/etc/hostname"
	rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
}

make_base_tar() {
	local mirror rootfs
	mirror=$(apt_mirror)
	rootfs=$CACHE/rootfs.$$
	mkdir -p "$CACHE" || return 1
	rm -rf "$CACHE"/rootfs.*
	say "debootstrap --variant=minbase bookworm from $mirror (log: $CACHE/debootstrap.log)"
	if ! timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" \
		>"$CACHE/debootstrap.log" 2>&1; then
		tail -5 "$CACHE/debootstrap.log" >&2
		rm -rf "$rootfs"
		return 1
	fi
	slim_rootfs "$rootfs"
	tar --numeric-owner --xattrs -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' \
		--exclude='./sys/*' -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
	local rc=$?
	rm -rf "$rootfs"
	return $rc
}

say "base image $BASE"
if "${PODMAN[@]}" image exists "$BASE"; then
	pass "base image $BASE present"
else
	if [[ ! -s $BASE_TAR ]]; then
		make_base_tar || die "making the base image rootfs with debootstrap"
	fi
	"${PODMAN[@]}" import -q --change 'CMD ["bash"]' "$BASE_TAR" "$BASE" >/dev/null ||
		die "podman import $BASE_TAR"
	pass "base image $BASE imported from $BASE_TAR"
fi

# ---- 4. the image --------------------------------------------------------

say "podman build $IMAGE (log: $CACHE/build.log)"
mkdir -p "$CACHE"
# --format docker: the OCI format has no HEALTHCHECK
if ! "${PODMAN[@]}" build --isolation=chroot --pull=never --format docker \
	--ignorefile "$ROOT/docker/Dockerfile.dockerignore" --build-arg "JOBS=$JOBS" \
	--build-arg "MESON_OPTIONS=${CTFLOW_MESON_OPTIONS:-}" \
	-t "$IMAGE" -f "$ROOT/docker/Dockerfile" "$ROOT" >"$CACHE/build.log" 2>&1; then
	tail -30 "$CACHE/build.log" >&2
	die "podman build"
fi
pass "image built"

SIZE=$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE")
BASE_SIZE=$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$BASE")
say "image size $((SIZE / 1000000)) MB (base $((BASE_SIZE / 1000000)) MB)"
img() {	# img PROGRAM ARGS...: run a program of the image once
	"${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --network none --no-healthcheck \
		--entrypoint "$1" "$IMAGE" "${@:2}"
}
libs_ok() {
	local libs
	libs=$(img ldd /usr/sbin/ctflow 2>&1)
	[[ -n $libs && $libs != *"not found"* ]] && return 0
	echo "$libs" >&2
	return 1
}
check "every library of ctflow is in the runtime image" libs_ok
no_toolchain() {
	! img sh -c 'command -v cc gcc meson ninja; ls -d /usr/include/glib-2.0' 2>/dev/null | grep -q .
}
check "no compiler or -dev package in the runtime image" no_toolchain
check "nft is in the runtime image" img sh -c 'command -v nft >/dev/null'
check "ctflow --version runs in the image" img ctflow --version
healthcheck_ok() {
	"${PODMAN[@]}" image inspect -f '{{.Config.Healthcheck.Test}}' "$IMAGE" |
		grep -q "ctflow health"
}
check "image has a HEALTHCHECK running ctflow health" healthcheck_ok
image_user_ok() {
	[[ $(img id -u) == "$CTFLOW_UID" && $(img id -un) == ctflow ]]
}
check "the image runs as ctflow (uid $CTFLOW_UID), not root" image_user_ok

# ---- 5. namespaces, collector, container --------------------------------

say "namespaces a -- b (conntrack in b), nfcapd in b"
ctft_pair NS_A NS_B
ctft_ct_enable "$NS_B"
ctft_ct_sysctls "$NS_B" 1
ctft_server "$NS_B"

# nfcapd PORT DIR: a real IPFIX collector on b's loopback
start_nfcapd() {
	local port=$1 dir=$2 i
	mkdir -p "$dir"
	ctft_bg ip netns exec "$NS_B" nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 \
		>"$dir.log" 2>&1
	NFCAPD_PID=$!
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$NS_B" ss -Huln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	cat "$dir.log" >&2
	die "nfcapd did not listen on 127.0.0.1:$port in $NS_B"
}

# stop_pid PID: TERM, bounded wait (nfcapd finishes its file on exit)
stop_pid() {
	local i
	kill "$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	return 1
}

# run_ctflow NAME CAPS ARGS...: the container in b's network namespace,
# the host's PID namespace, --cap-drop all and only CAPS; waits until
# ctflow reads conntrack events.
run_ctflow() {
	local name=$1 caps=$2 i; shift 2
	pm run -d --name "$name" "${RUN_FLAGS[@]}" \
		--network "ns:/run/netns/$NS_B" --pid host \
		--cap-drop all --cap-add "$caps" \
		-e CTFLOW_DAEMON_LOG_LEVEL=info "$@" "$IMAGE" >/dev/null ||
		die "podman run $name"
	for ((i = 0; i < 100; i++)); do
		"${PODMAN[@]}" logs "$name" 2>&1 | grep -q "reading conntrack events" && return 0
		[[ $("${PODMAN[@]}" inspect -f '{{.State.Running}}' "$name") == true ]] || break
		sleep 0.1
	done
	"${PODMAN[@]}" logs "$name" >&2
	die "ctflow in $name did not start"
}

# caps_ok NAME MASK AMBIENT: every thread of the container's main process
# (seen from the host, /proc/PID/task/*/status) runs as the ctflow user
# (real, effective, saved and filesystem uid) with exactly MASK effective,
# permitted and bounding, and exactly AMBIENT inheritable and ambient.
caps_ok() {
	local pid t ok=0 n=0 uid eff prm bnd inh amb
	pid=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$1")
	[[ $pid =~ ^[0-9]+$ && $pid -gt 0 ]] || { echo "no pid for $1" >&2; return 1; }
	for t in /proc/"$pid"/task/*; do
		uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$t/status")
		eff=$(awk '/^CapEff:/ { print $2 }' "$t/status")
		prm=$(awk '/^CapPrm:/ { print $2 }' "$t/status")
		bnd=$(awk '/^CapBnd:/ { print $2 }' "$t/status")
		inh=$(awk '/^CapInh:/ { print $2 }' "$t/status")
		amb=$(awk '/^CapAmb:/ { print $2 }' "$t/status")
		n=$((n + 1))
		echo "#   task ${t##*/} ($(cat "$t/comm")): Uid $uid CapEff $eff CapPrm $prm" \
			"CapBnd $bnd CapInh $inh CapAmb $amb" >&2
		if [[ $uid != "$CTFLOW_UID $CTFLOW_UID $CTFLOW_UID $CTFLOW_UID" ]] ||
			((16#$eff != $2 || 16#$prm != $2 || 16#$bnd != $2)) ||
			((16#$inh != $3 || 16#$amb != $3)); then
			ok=1
		fi
	done
	printf '#   %d threads of pid %d; wanted Uid %d, CapEff/Prm/Bnd %016x, CapInh/Amb %016x\n' \
		"$n" "$pid" "$CTFLOW_UID" "$2" "$3" >&2
	[[ $n -gt 1 ]] || { echo "#   expected ctflow's threads" >&2; ok=1; }
	return $ok
}

# health_ok NAME: the image's HEALTHCHECK (ctflow health: GET /healthz of
# the metrics endpoint) passes and podman records the container healthy;
# asked at a port where nothing listens, ctflow health fails.
health_ok() {
	local st
	if ! pm healthcheck run "$1" >&2; then
		"${PODMAN[@]}" exec "$1" ctflow health >&2
		return 1
	fi
	st=$("${PODMAN[@]}" inspect -f '{{.State.Health.Status}}' "$1")
	echo "#   health: $st" >&2
	[[ $st == healthy ]] || return 1
	if "${PODMAN[@]}" exec "$1" ctflow health 127.0.0.1:1 >/dev/null 2>&1; then
		echo "#   ctflow health 127.0.0.1:1 passed with nothing listening" >&2
		return 1
	fi
}

# notrack_ok: ctflow's nft (run by ctflow inside the container) exempted
# the export traffic in b: the table is there while it runs.
notrack_ok() {
	ip netns exec "$NS_B" nft list tables | grep -q "inet ctflow_notrack"
}

# stop_ctflow NAME: SIGTERM (ctflow exports every open flow), exit 0,
# nothing of ctflow's left in b's nftables ruleset
stop_ctflow() {
	local rc
	pm stop -t 15 "$1" >/dev/null || return 1
	rc=$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$1")
	"${PODMAN[@]}" logs "$1" >"$TMP/$1.log" 2>&1
	sed 's/^/#   /' "$TMP/$1.log" | tail -25 >&2
	[[ $rc == 0 ]] || { echo "exit status $rc" >&2; return 1; }
	! ip netns exec "$NS_B" nft list tables | grep -q ctflow_
}

# nfdump_records DIR: one line per record, '|'-separated
nfdump_records() {
	nfdump -R "$1" -q -N -o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%opkt|%obyt' 2>/dev/null |
		tr -d ' '
}

# has_record FILE REGEX: a UDP record of FILE (nfdump_records) matches the
# '|'-separated REGEX after the protocol; else FILE is shown
has_record() {
	grep -Eq "^(UDP|17)\|$2" "$1" && return 0
	sed 's/^/#     /' "$1" >&2
	return 1
}

# compare TRUTH RECORDS [PROTOS]: every DESTROY event between a and b (of
# PROTOS, default all) has one record with its addresses, ports, packets
# and octets both ways; no record of another protocol.
compare() {
	"$CTFT_PY" - "$@" <<-'EOF'
	import re
	import sys

	truth, records = sys.argv[1], sys.argv[2]
	protos = sys.argv[3].split(",") if len(sys.argv) > 3 else None
	num = {"tcp": "6", "udp": "17", "icmp": "1", "ipv6-icmp": "58"}
	ends = ("10.70.0.1", "10.70.0.2", "fd00:70::1", "fd00:70::2")
	want = []
	for line in open(truth):
	    f = line.split()
	    if "[DESTROY]" not in f:
	        continue
	    fam = [i for i, x in enumerate(f) if x in ("ipv4", "ipv6")]
	    proto = f[fam[0] + 2] if fam else f[1]
	    kv = [x.split("=", 1) for x in f if "=" in x]
	    src = [v for k, v in kv if k == "src"]
	    dst = [v for k, v in kv if k == "dst"]
	    sp = [v for k, v in kv if k == "sport"]
	    dp = [v for k, v in kv if k == "dport"]
	    pk = [v for k, v in kv if k == "packets"]
	    by = [v for k, v in kv if k == "bytes"]
	    if src[0] not in ends or dst[0] not in ends:
	        continue
	    if protos and proto not in protos:
	        continue
	    want.append((num.get(proto, proto), src[0], sp[0] if sp else None, dst[0],
	                 dp[0] if dp else None, pk[0], by[0], pk[1], by[1]))
	got = []
	for line in open(records):
	    r = line.strip().split("|")
	    if len(r) < 9:
	        continue
	    p = {"TCP": "6", "UDP": "17", "ICMP": "1", "ICMP6": "58"}.get(r[0].upper(), r[0])
	    got.append((p,) + tuple(r[1:]))
	print(f"#   conntrack DESTROY events: {len(want)}, nfdump records: {len(got)}", file=sys.stderr)
	bad = 0
	for w in want:
	    match = [g for g in got if g[0] == w[0] and g[1] == w[1] and g[3] == w[3] and
	             (w[2] is None or (g[2] == w[2] and g[4] == w[4])) and
	             g[5:9] == w[5:9]]
	    state = "ok" if len(match) == 1 else f"{len(match)} records"
	    print(f"#   {state}: proto {w[0]} {w[1]} {w[2]} -> {w[3]} {w[4]} "
	          f"packets {w[5]}/{w[7]} octets {w[6]}/{w[8]}", file=sys.stderr)
	    bad += len(match) != 1
	if protos:
	    allowed = {num.get(p, p) for p in protos}
	    other = [g for g in got if g[0] not in allowed]
	    for g in other:
	        print(f"#   unexpected record: {g}", file=sys.stderr)
	    bad += len(other)
	if bad or not want:
	    print("#   records:", file=sys.stderr)
	    for g in got:
	        print(f"#     {'|'.join(g)}", file=sys.stderr)
	    sys.exit(1)
	EOF
}

# ---- 6-8. configuration by environment ------------------------------------

say "container ${CONTAINERS[0]}: image user (uid $CTFLOW_UID), configuration by environment"
start_nfcapd "$PORT_ENV" "$TMP/nf-env"
NF_ENV=$NFCAPD_PID
ctft_bg ip netns exec "$NS_B" conntrack -E -e DESTROY -o extended,id >"$TMP/truth-env" 2>/dev/null
CT_ENV=$!
run_ctflow "${CONTAINERS[0]}" "$CAPS" -e "CTFLOW_EXPORT_COLLECTOR=udp://127.0.0.1:$PORT_ENV"
check "image user: ctflow runs as uid $CTFLOW_UID with exactly $CAPS (every thread)" \
	caps_ok "${CONTAINERS[0]}" "$CAP_MASK" "$CAP_MASK"

check "nft in the container installed table inet ctflow_notrack in b" notrack_ok
say "traffic a -> b: UDP over IPv4 and IPv6, TCP, ICMP"
ctft_udp "$NS_A" 10.70.0.2 5 100 40001
ctft_udp "$NS_A" fd00:70::2 3 300 40002
ctft_tcp "$NS_A" 10.70.0.2 4 200
ctft_ping "$NS_A" 10.70.0.2 3
ctft_wait_empty "$NS_B" 20 || bad "conntrack table of $NS_B did not empty in 20 s"
sleep 1	# DESTROY events to ctflow, records to nfcapd

check "health check passes" health_ok "${CONTAINERS[0]}"
check "podman stop: ctflow exits 0 and removes its nftables table" \
	stop_ctflow "${CONTAINERS[0]}"
stop_pid "$CT_ENV"
stop_pid "$NF_ENV" || bad "nfcapd did not stop"
nfdump_records "$TMP/nf-env" >"$TMP/records-env"
check "records at nfcapd match conntrack (UDP v4+v6, TCP, ICMP)" \
	compare "$TMP/truth-env" "$TMP/records-env"
check "UDP 10.70.0.1:40001 -> 10.70.0.2:7000 has 5 packets each way" \
	has_record "$TMP/records-env" '10\.70\.0\.1\|40001\|10\.70\.0\.2\|7000\|5\|[0-9]+\|5\|' 

# ---- 9. configuration by a mounted file -----------------------------------

say "container ${CONTAINERS[1]}: started as root (Docker, Kubernetes), configuration by a mounted file"
cat >"$TMP/ctflow.conf" <<EOF
# docker/test.sh: mounted over /etc/ctflow/ctflow.conf
[export]
collector = udp://127.0.0.1:$PORT_FILE
[filter]
proto = udp
EOF
chmod 0644 "$TMP/ctflow.conf"
start_nfcapd "$PORT_FILE" "$TMP/nf-file"
NF_FILE=$NFCAPD_PID
ctft_bg ip netns exec "$NS_B" conntrack -E -e DESTROY -o extended,id >"$TMP/truth-file" 2>/dev/null
CT_FILE=$!
run_ctflow "${CONTAINERS[1]}" "$CAPS_ROOT" --user 0 \
	-v "$TMP/ctflow.conf:/etc/ctflow/ctflow.conf:ro"
check "started as root: ctflow switched to uid $CTFLOW_UID keeping exactly NET_ADMIN, SYS_PTRACE, DAC_READ_SEARCH" \
	caps_ok "${CONTAINERS[1]}" "$DROP_MASK" 0
nnp_ok() {
	local pid
	pid=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$1")
	grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$pid/status"
}
check "started as root: no_new_privs set" nnp_ok "${CONTAINERS[1]}"
check "started as root: nft table inet ctflow_notrack installed" notrack_ok
ctft_udp "$NS_A" 10.70.0.2 7 64 40011
ctft_tcp "$NS_A" 10.70.0.2 2 50
ctft_wait_empty "$NS_B" 20 || bad "conntrack table of $NS_B did not empty in 20 s"
sleep 1
check "podman stop (file): ctflow exits 0 and removes its nftables table" \
	stop_ctflow "${CONTAINERS[1]}"
stop_pid "$CT_FILE"
stop_pid "$NF_FILE" || bad "nfcapd did not stop"
nfdump_records "$TMP/nf-file" >"$TMP/records-file"
check "file config: the UDP flow reaches the file's collector, the TCP flow is filtered" \
	compare "$TMP/truth-file" "$TMP/records-file" udp
check "file config: UDP 10.70.0.1:40011 -> 10.70.0.2:7000 has 7 packets each way" \
	has_record "$TMP/records-file" '10\.70\.0\.1\|40011\|10\.70\.0\.2\|7000\|7\|[0-9]+\|7\|' 

say "image $IMAGE: $((SIZE / 1000000)) MB"
