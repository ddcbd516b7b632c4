#!/bin/bash
# `meson install --destdir` installs the five files of ctflow where the
# build was configured to put them: the binary, the configuration example,
# the systemd unit (with this prefix's paths in it), the sysusers.d entry
# and the man page.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v meson >/dev/null || { echo "SKIP: meson not on PATH" >&2; exit 77; }
T=$(mktemp -d /tmp/ctflow-install-XXXXXX)
trap 'rm -rf "$T"' EXIT

meson install -C "$BUILD_ROOT" --no-rebuild --destdir "$T" --quiet >"$T.log" 2>&1 ||
	fail "meson install failed: $(tail -5 "$T.log")"
rm -f "$T.log"

# where each file must be, and what it must be
[[ -x $T$SBINDIR/ctflow ]] || fail "no executable $SBINDIR/ctflow"
"$T$SBINDIR/ctflow" --version | grep -q '^ctflow ' || fail "installed ctflow does not run"
cmp -s "$T$SYSCONFDIR/ctflow/ctflow.conf" "$SOURCE_ROOT/conf/ctflow.conf" ||
	fail "$SYSCONFDIR/ctflow/ctflow.conf missing or not conf/ctflow.conf"
cmp -s "$T$SYSUSERSDIR/ctflow.conf" "$SOURCE_ROOT/conf/ctflow.sysusers" ||
	fail "$SYSUSERSDIR/ctflow.conf missing or not conf/ctflow.sysusers"
cmp -s "$T$MANDIR/man8/ctflow.8" "$SOURCE_ROOT/docs/ctflow.8" ||
	fail "$MANDIR/man8/ctflow.8 missing or not docs/ctflow.8"
unit=$T$UNITDIR/ctflow.service
[[ -f $unit ]] || fail "no $UNITDIR/ctflow.service"
[[ $UNITDIR == */lib/systemd/system ]] || fail "unit directory $UNITDIR is no .../lib/systemd/system"
[[ $SYSUSERSDIR == */lib/sysusers.d ]] || fail "sysusers directory $SYSUSERSDIR is no .../lib/sysusers.d"

# the unit names the installed binary and configuration, nothing left unfilled
grep -qxF "ExecStart=$SBINDIR/ctflow run -c $SYSCONFDIR/ctflow/ctflow.conf" "$unit" ||
	fail "ExecStart does not name $SBINDIR/ctflow and $SYSCONFDIR/ctflow/ctflow.conf: $(grep ExecStart= "$unit")"
grep -n '@[a-z]*@' "$unit" && fail "unfilled placeholders in the unit"
grep -qx 'User=ctflow' "$unit" || fail "unit does not run as User=ctflow"
grep -qx 'u ctflow .*' "$T$SYSUSERSDIR/ctflow.conf" || fail "sysusers.d entry does not create ctflow"

n=$(find "$T" -type f | wc -l)
((n == 5)) || echo "# note: $n files installed, 5 checked: $(cd "$T" && find . -type f | tr '\n' ' ')" >&2
echo "# installed under $T: $SBINDIR/ctflow $SYSCONFDIR/ctflow/ctflow.conf $UNITDIR/ctflow.service $SYSUSERSDIR/ctflow.conf $MANDIR/man8/ctflow.8"
exit 0
