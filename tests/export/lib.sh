# Shared helpers for the export test scripts (sourced, not run).
# Every process a test starts is recorded in PIDS and killed by the trap;
# every wait is bounded.
set -eu -o pipefail

PY=/usr/bin/python3
DRIVER=${EXPORT_DRIVER:?set by meson}
HERE=${EXPORT_TESTS:?set by meson}
PIDS=""
T=$(mktemp -d /tmp/ctflow-export-test.XXXXXX)

cleanup() {
	# TERM first: tshark then stops its dumpcap child
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }
need_pyipfix() { $PY -c 'import ipfix.message' 2>/dev/null || skip "python3-ipfix not installed"; }

# A free port on 127.0.0.1 for @1 (tcp|udp); racy by nature, good enough.
free_port() {
	$PY - "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PYEOF
}

# wait_until SECONDS COMMAND...: poll every 0.1 s
wait_until() {
	local limit=$(( $1 * 10 )) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -lt $limit ] || return 1
		sleep 0.1
	done
}

# json FILE EXPR: evaluate a Python expression on parsed JSON `j`
json() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
