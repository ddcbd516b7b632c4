#!/bin/bash
# Least privilege. ctflow started as root with -u USER (a system user made
# for the test, removed on exit) reads namespace a, where conntrack is
# idle: it adds its activation table and opens everything as root, then
# every one of its threads (/proc/PID/task/*/status) runs with the user's
# uid, gid and groups, CapPrm = CapEff = CapBnd = exactly NET_ADMIN,
# SYS_PTRACE and DAC_READ_SEARCH (process enrichment is on), nothing
# inheritable or ambient, NoNewPrivs 1. It still does everything: flows
# left alive are exported at SIGTERM (the final table dump needs
# NET_ADMIN) with conntrack's counters, their owning processes (root's)
# are found, the table is removed at exit (through the socket it kept),
# it exits 0 and tells systemd READY=1 and STOPPING=1 ($NOTIFY_SOCKET).
# Also: --no-process --no-interfaces keeps NET_ADMIN alone; an unknown
# user exits 2 before anything is opened; and started like the installed
# unit starts it (the user itself, ambient capabilities, no switch), it
# works too, and `ctflow check` probes with the capability, not uid 0.
. "$(dirname "$0")/lib-live.sh"
live_require
command -v useradd >/dev/null && command -v setpriv >/dev/null ||
	{ echo "SKIP: useradd and setpriv (util-linux) needed" >&2; exit 77; }

U=ctft-priv-$$
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group "$U" ||
	live_fail "useradd $U"
trap 'live_dump_logs; live_cleanup; userdel "$U" 2>/dev/null; groupdel "$U" 2>/dev/null' EXIT
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
GROUPS_U=$(id -G "$U" | tr ' ' '\n' | sort -n | tr '\n' ' ')

CAP_NAMES=(chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap
	linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner
	sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice
	sys_resource sys_time sys_tty_config mknod lease audit_write audit_control setfcap
	mac_override mac_admin syslog wake_alarm block_suspend audit_read perfmon bpf
	checkpoint_restore)
# caps_decode HEX: "net_admin,sys_ptrace" ("none" for 0)
caps_decode() {
	local v=$((16#$1)) i out=()
	for ((i = 0; i < 64; i++)); do
		((v >> i & 1)) && out+=("${CAP_NAMES[i]:-cap_$i}")
	done
	((${#out[@]})) || out=(none)
	local IFS=,; echo "${out[*]}"
}

# expect_creds PID WANT_CAPS_HEX: every thread of PID runs as $U with
# exactly these capabilities (permitted, effective, bounding), none
# inheritable or ambient, no_new_privs set.
expect_creds() {
	local pid=$1 want=$2 st f v n=0 grp
	for st in /proc/"$pid"/task/*/status; do
		n=$((n + 1))
		local who="thread $(basename "$(dirname "$st")") ($(cat "$(dirname "$st")/comm"))"
		[[ $(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st") == "$UID_U $UID_U $UID_U $UID_U" ]] ||
			live_fail "$who: $(grep ^Uid: "$st"), expected uid $UID_U ($U) four times"
		[[ $(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st") == "$GID_U $GID_U $GID_U $GID_U" ]] ||
			live_fail "$who: $(grep ^Gid: "$st"), expected gid $GID_U four times"
		grp=$(awk '/^Groups:/ { for (i = 2; i <= NF; i++) print $i }' "$st" | sort -n | tr '\n' ' ')
		[[ $grp == "$GROUPS_U" ]] || live_fail "$who: groups '$grp', expected '$GROUPS_U'"
		for f in CapPrm CapEff CapBnd; do
			v=$(awk -v f="$f:" '$1 == f { print $2 }' "$st")
			((16#$v == 16#$want)) ||
				live_fail "$who: $f $(caps_decode "$v"), expected $(caps_decode "$want")"
		done
		for f in CapInh CapAmb; do
			v=$(awk -v f="$f:" '$1 == f { print $2 }' "$st")
			((16#$v == 0)) || live_fail "$who: $f $(caps_decode "$v"), expected none"
		done
		[[ $(awk '/^NoNewPrivs:/ { print $2 }' "$st") == 1 ]] || live_fail "$who: NoNewPrivs not set"
	done
	((n >= 2)) || live_fail "ctflow has $n threads, expected the export thread besides the main one"
	live_log "$n threads of ctflow: uid $UID_U ($U), gid $GID_U, capabilities $(caps_decode "$want"), none ambient, no_new_privs"
}

# $T is root's (0700): let the user pass through it to what is its own
chmod 0711 "$T"
mkdir -m 0755 "$T/notify" "$T/unit"
chown "$U:$U" "$T/unit"

# NOTIFY_SOCKET: a datagram socket the switched user can write to
"$LIVE_PY" - "$T/notify/sock" "$T/notify.txt" <<-'EOF' &
	import os, socket, sys, time
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
	s.settimeout(1)
	end = time.time() + 60
	with open(sys.argv[2], "a") as out:
	    while time.time() < end:
	        try:
	            out.write(s.recv(4096).decode() + "\n"); out.flush()
	        except socket.timeout:
	            pass
EOF
CTFT_PIDS+=($!)
live_wait 5 test -S "$T/notify/sock" || live_fail "notify listener did not start"

ctft_pair A B
ctft_server "$B"
INO=$(live_ino "$A")
if ctft_in "$A" nft list tables | grep -q .; then live_fail "namespace a has rules already"; fi

# --- an unknown user: exit 2 at start, nothing opened -----------------------
"$CTFLOW" run --netns "$A" -u "ctft-no-such-user-$$" -C "file:$T/none.ipfix" >"$T/unknown.log" 2>&1
rc=$?
[[ $rc == 2 ]] || live_fail "unknown user: exit $rc, expected 2: $(cat "$T/unknown.log")"
grep -q "no user named 'ctft-no-such-user-$$'" "$T/unknown.log" ||
	live_fail "unknown user: no clear message: $(cat "$T/unknown.log")"
[[ ! -e $T/none.ipfix ]] || live_fail "unknown user: the output was opened"
if ctft_in "$A" nft list tables | grep -q .; then
	live_fail "unknown user: ctflow touched namespace a before failing"
fi
live_log "unknown user: exit 2, '$(head -1 "$T/unknown.log")'"

# --- root with -u: the switch, then the same export as ever ----------------
NOTIFY_SOCKET=$T/notify/sock live_ctflow_start "$T/ctflow.log" --netns "$A" -u "$U" \
	-C "file:$T/priv.ipfix"
P=$LIVE_PID
WANT=$(printf '%x' $(((1 << 12) | (1 << 19) | (1 << 2))))	# net_admin sys_ptrace dac_read_search
expect_creds "$P" "$WANT"
grep -q "running as $U (uid $UID_U), capabilities: cap_dac_read_search,cap_net_admin,cap_sys_ptrace$" \
	"$T/ctflow.log" || live_fail "no 'running as $U' line: $(grep -i running "$T/ctflow.log")"
ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1 ||
	live_fail "conntrack was idle in $A but ctflow added no table inet ctflow_activate"
live_wait 5 grep -qx 'READY=1' "$T/notify.txt" || live_fail "no READY=1 on \$NOTIFY_SOCKET"

H=$T/hold
live_flow_bg "$A" tcp 10.70.0.2 41001 10 500 "" "$H-1"
live_flow_bg "$A" tcp 10.70.0.2 41002 3 20000 "" "$H-2"
live_flow_bg "$A" udp 10.70.0.2 41003 5 200 "" "$H-3"
live_flow_bg "$A" tcp fd00:70::2 41005 4 300 "" "$H-5"
ctft_ping "$A" 10.70.0.2 3
live_wait 30 eval '[[ $(ls "$H"-*.ready 2>/dev/null | wc -l) == 4 ]]' ||
	live_fail "flows did not reach their hold point"
ctft_in "$A" conntrack -L -o extended,id >"$T/snapshot.txt" 2>/dev/null
live_log "table of a before SIGTERM: $(grep -c src= "$T/snapshot.txt") entries"
expect_creds "$P" "$WANT"	# still, after the traffic

live_ctflow_stop "$T/ctflow.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run -u $U exited $LIVE_RC after SIGTERM, expected 0"
touch "$H"-{1,2,3,5}
if ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1; then
	live_fail "table inet ctflow_activate still in $A after ctflow (as $U) exited"
fi
grep -qx 'STOPPING=1' "$T/notify.txt" || live_fail "no STOPPING=1 on \$NOTIFY_SOCKET"
owners=$(sed -n 's/.*owner found for \([0-9]*\),.*/\1/p' "$T/ctflow.log" | tail -1)
((owners >= 4)) || live_fail "process owners found for ${owners:-0} flows, expected the 4 TCP/UDP ones: $(grep enrichment: "$T/ctflow.log")"
grep -qi 'warn\|critical' "$T/ctflow.log" && live_fail "warnings: $(grep -i 'warn\|critical' "$T/ctflow.log")"
live_decode "$T/priv.ipfix" "$T/priv.jsonl"
live_check sigterm --records "$T/priv.jsonl" --snapshot "$T/snapshot.txt" --ino "$INO" \
	--no-extra --expect 6:41001:4 6:41002:4 17:41003:4 6:41005:4 1:0:4

# --- no enrichment: NET_ADMIN alone ------------------------------------------
live_ctflow_start "$T/bare.log" --netns "$A" -u "$U" --no-process --no-interfaces \
	-C "file:$T/bare.ipfix"
expect_creds "$LIVE_PID" 1000	# net_admin
live_ctflow_stop "$T/bare.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run -u $U --no-process --no-interfaces exited $LIVE_RC"

# --- started like ctflow.service: the user itself, ambient capabilities ----
CAPS=+net_admin,+sys_admin	# sys_admin: entering namespace a
LIVE_WRAP="setpriv --reuid=$U --regid=$U --init-groups --inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS --bounding-set=-all,$CAPS" \
	live_ctflow_start "$T/unit.log" --netns "$A" -u "$U" --no-process --no-interfaces \
	-C "file:$T/unit/out.ipfix"
[[ $(awk '/^Uid:/ { print $3 }' "/proc/$LIVE_PID/status") == "$UID_U" ]] ||
	live_fail "started as $U: not running as uid $UID_U"
ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1 ||
	live_fail "started as $U with CAP_NET_ADMIN: no table inet ctflow_activate in $A"
live_ctflow_stop "$T/unit.log"
[[ $LIVE_RC == 0 ]] || live_fail "ctflow run as $U (ambient capabilities) exited $LIVE_RC"
if ctft_in "$A" nft list table inet ctflow_activate >/dev/null 2>&1; then
	live_fail "started as $U: table inet ctflow_activate left in $A"
fi
grep -q "running as" "$T/unit.log" && live_fail "started as $U: ctflow switched users anyway"
out=$(setpriv --reuid="$U" --regid="$U" --init-groups --inh-caps=-all,$CAPS \
	--ambient-caps=-all,$CAPS "$CTFLOW" check --netns "$A" 2>&1)
grep -q 'conntrack active (IPv4)' <<<"$out" ||
	live_fail "ctflow check as $U with CAP_NET_ADMIN did not probe conntrack: $out"
live_log "as $U with ambient net_admin,sys_admin: exported, table added and removed; check probes"
live_exit
