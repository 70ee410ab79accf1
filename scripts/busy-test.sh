#!/usr/bin/env bash
# busy-test.sh [N] [-- CMD [ARG...]]
#
# Runs `make test` (or CMD) N times (default 3) with a process burning one
# CPU core beside it, stopping at the first failure: the suite must hold
# on a busy machine, where scheduling noise reaches every software
# timestamp. The burner is pinned to the first CPU when taskset is there,
# and is killed at the end, on failure, and on Ctrl-C or SIGTERM.
#
#	sudo scripts/busy-test.sh
#	sudo scripts/busy-test.sh 5 -- go test -race -count=1 ./internal/ptpd/ ./internal/phc2sys/
#
# The exit status is the failing run's, or 0.
set -euo pipefail

n=3
if [ $# -gt 0 ] && [ "$1" != -- ]; then
	n=$1
	shift
fi
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N] [-- CMD [ARG...]]" >&2; exit 2; }
if [ $# -gt 0 ]; then
	[ "$1" = -- ] && [ $# -ge 2 ] || { echo "usage: $0 [N] [-- CMD [ARG...]]" >&2; exit 2; }
	shift
	cmd=("$@")
else
	cmd=(make test)
fi
cd "$(dirname "$0")/.."

pin=()
if command -v taskset >/dev/null 2>&1; then
	pin=(taskset -c 0)
fi
"${pin[@]}" bash -c 'while :; do :; done' &
burner=$!
stop() {
	kill "$burner" 2>/dev/null || true
	wait "$burner" 2>/dev/null || true
}
trap 'status=$?; stop; exit $status' EXIT

# Each run is a job of its own (its own process group) that a signal to
# this script is passed on to, as a whole, before the burner is stopped.
set -m
child=
forward() {
	[ -z "$child" ] || kill -"$1" -- "-$child" 2>/dev/null || true
	[ -z "$child" ] || wait "$child" 2>/dev/null || true
}
trap 'forward INT; exit 130' INT
trap 'forward TERM; exit 143' TERM

for i in $(seq 1 "$n"); do
	echo "busy-test: run $i of $n of '${cmd[*]}' beside a CPU burner (pid $burner)" >&2
	start=$SECONDS
	"${cmd[@]}" &
	child=$!
	status=0
	wait "$child" || status=$?
	child=
	if [ "$status" != 0 ]; then
		echo "busy-test: run $i FAILED (status $status) after $((SECONDS - start)) s" >&2
		exit "$status"
	fi
	echo "busy-test: run $i passed in $((SECONDS - start)) s" >&2
done
echo "busy-test: all $n runs passed" >&2
