#!/bin/bash
# docs/ctflow.8 cannot drift from the binary: every option `--help` of
# run, convert, check and health prints, long and short, is in the page,
# and so is every command; groff renders it without a warning.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
PAGE=$SOURCE_ROOT/docs/ctflow.8
missing=()

# roff writes a minus as \- : "--template-refresh" is \-\-template\-refresh
in_page() { grep -qF -- "${1//-/\\-}" "$PAGE"; }

for cmd in run convert check health; do
	help=$("$CTFLOW" "$cmd" --help) || fail "ctflow $cmd --help failed"
	opts=$(grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' <<<"$help" | grep -oE -- '--?[a-zA-Z][a-zA-Z0-9-]*' |
	       grep -vxE -- '--help|-h' | sort -u)
	[[ -n $opts ]] || fail "no option found in ctflow $cmd --help"
	for o in $opts; do
		# short options stand as "\-C," or "\-C " in the page
		if [[ $o == --* ]]; then
			in_page "$o" || missing+=("$cmd $o")
		else
			grep -qE -- "\\\\${o}([^a-zA-Z0-9]|$)" "$PAGE" || missing+=("$cmd $o")
		fi
	done
	grep -qE "^\.B ctflow $cmd\$" "$PAGE" || missing+=("command $cmd in SYNOPSIS")
done
((${#missing[@]} == 0)) || fail "not in docs/ctflow.8: ${missing[*]}"

for s in NAME SYNOPSIS DESCRIPTION PRIVILEGES SIGNALS "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO"; do
	grep -q "^\.SH \"\?$s" "$PAGE" || fail "section $s missing"
done
grep -q 'CTFLOW_CONFIG' "$PAGE" || fail "CTFLOW_CONFIG not documented"
grep -q 'SIGHUP' "$PAGE" || fail "SIGHUP not documented"

command -v groff >/dev/null || { echo "SKIP: groff not installed (scripts/deps.sh test)" >&2; exit 77; }
warn=$(groff -man -Tutf8 -ww -z "$PAGE" 2>&1) || fail "groff failed: $warn"
[[ -z $warn ]] || fail "groff warns: $warn"
if command -v man >/dev/null; then
	out=$(MANWIDTH=80 man -l "$PAGE" 2>&1) || fail "man -l failed: $out"
	grep -q 'ctflow - export Linux conntrack flows' <<<"$out" || fail "man -l renders no NAME line"
fi
echo "# docs/ctflow.8: every option of run, convert, check and health; groff -ww quiet"
exit 0
