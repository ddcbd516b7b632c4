#!/bin/bash
# corpus-convert.sh CTFLOW DATADIR
#
# Runs `ctflow convert -o /dev/null FILE` on every capture in DATADIR.
# Rejecting a capture is fine (exit 1, with a message naming the file);
# crashing, hanging, any other exit status, or a sanitizer report on
# stderr is a failure. Exits 0 when every run behaved, 1 otherwise.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 CTFLOW DATADIR" >&2
	exit 2
fi
ctflow=$1
datadir=$2
per_file_timeout=${CORPUS_CONVERT_TIMEOUT:-120}

if [ ! -x "$ctflow" ]; then
	echo "$ctflow: not an executable" >&2
	exit 1
fi

shopt -s nullglob
files=("$datadir"/*.pcap "$datadir"/*.pcapng)
if [ ${#files[@]} -eq 0 ]; then
	echo "$datadir: no captures found" >&2
	exit 1
fi

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

converted=0 rejected=0 failed=0

fail() {
	echo "FAIL $1: $2" >&2
	sed 's/^/    | /' "$errfile" | head -n 20 >&2
	failed=$((failed + 1))
}

check_one() {
	local f=$1 name rc

	name=$(basename "$f")
	timeout -s KILL "$per_file_timeout" "$ctflow" convert -o /dev/null "$f" \
		>/dev/null 2>"$errfile" </dev/null
	rc=$?
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$errfile"; then
		fail "$f" "sanitizer report (exit $rc)"
	elif [ $rc -eq 137 ]; then
		fail "$f" "killed after ${per_file_timeout} s (hang?)"
	elif [ $rc -gt 128 ]; then
		fail "$f" "killed by signal $((rc - 128))"
	elif [ $rc -eq 0 ]; then
		converted=$((converted + 1))
	elif [ $rc -ne 1 ]; then
		fail "$f" "exit status $rc (expected 0 or 1)"
	elif ! grep -qF -- "$name" "$errfile"; then
		fail "$f" "exit 1 without an error message naming the file"
	else
		rejected=$((rejected + 1))
	fi
}

for f in "${files[@]}"; do
	check_one "$f"
done

echo "captures ${#files[@]}: converted $converted, rejected $rejected, failed $failed"
[ $failed -eq 0 ]
