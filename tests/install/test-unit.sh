#!/bin/bash
# The generated ctflow.service passes `systemd-analyze verify` with no
# message at all (it only warns, exit 0, about an unknown key or value).
# The unit's ExecStart names the installed path, which need not exist
# here: the copy checked points at the built binary instead.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed" >&2; exit 77; }
T=$(mktemp -d /tmp/ctflow-unit-XXXXXX)
trap 'rm -rf "$T"' EXIT

grep -q "^ExecStart=$SBINDIR/ctflow " "$UNIT" || fail "ExecStart of $UNIT is not $SBINDIR/ctflow"
sed "s|^ExecStart=$SBINDIR/ctflow |ExecStart=$CTFLOW |" "$UNIT" >"$T/ctflow.service"
mkdir -p "$T/man/man8"
cp "$SOURCE_ROOT/docs/ctflow.8" "$T/man/man8/"	# Documentation=man:ctflow(8) is looked up
out=$(cd "$T" && MANPATH=$T/man: SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$T/ctflow.service" 2>&1)
rc=$?
((rc == 0)) || fail "systemd-analyze verify exited $rc: $out"
[[ -z $out ]] || fail "systemd-analyze verify complains: $out"

# the promises of the unit, one by one
for line in Type=notify User=ctflow DynamicUser=no NoNewPrivileges=yes ProtectSystem=strict \
	    ProtectHome=yes PrivateTmp=yes ProtectKernelModules=yes Restart=on-failure \
	    'ExecReload=/bin/kill -HUP $MAINPID' \
	    'RestrictAddressFamilies=AF_NETLINK AF_INET AF_INET6 AF_UNIX AF_PACKET' \
	    'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_PTRACE CAP_DAC_READ_SEARCH' \
	    'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_PTRACE CAP_DAC_READ_SEARCH'; do
	grep -qxF -- "$line" "$UNIT" || fail "$UNIT lacks $line"
done
grep -qx 'ProtectKernelTunables=.*' "$UNIT" && fail "ProtectKernelTunables would make /proc/sys read-only"
echo "# systemd-analyze verify: ctflow.service clean"
exit 0
