#!/usr/bin/env bash
# with-realtime-freq.sh PPM -- CMD [ARG...]
#
# Runs CMD with CLOCK_REALTIME's frequency offset set to PPM parts per
# million (for example +10 or -10, as NTP or chrony leave a real host a
# few ppm off), then sets back the offset it found, to the kernel's
# resolution (2^-16 ppm), whatever way CMD ends: success, failure, Ctrl-C
# or SIGTERM. It sets the frequency only (tick and frequency words, as
# phc2sys does), never the time, with the project's own roko-ptpctl.
# Needs root (CAP_SYS_TIME). Tests never change the system clock
# themselves; this is how to run them on a clock that runs fast or slow:
#
#	sudo scripts/with-realtime-freq.sh +10 -- make test
#	sudo scripts/with-realtime-freq.sh -10 -- go test -race -count=1 ./internal/ptpd/
#
# A time daemon (chronyd, ntpd, systemd-timesyncd) would fight the
# setting; stop it first. The exit status is CMD's.
set -euo pipefail

usage() {
	echo "usage: $0 PPM -- CMD [ARG...]   (PPM within ±500, e.g. +10 or -10)" >&2
	exit 2
}
die() {
	echo "with-realtime-freq: $*" >&2
	exit 1
}

[ $# -ge 3 ] && [ "$2" = -- ] || usage
ppm=$1
shift 2
[[ $ppm =~ ^[+-]?[0-9]+(\.[0-9]+)?$ ]] || usage
ppb=$(awk -v p="$ppm" 'BEGIN { if (p > 500 || p < -500) exit 1; printf "%.6f", p * 1000 }') || usage
[ "$(id -u)" = 0 ] || die "needs root (CAP_SYS_TIME) to set CLOCK_REALTIME's frequency"
for d in chronyd ntpd systemd-timesyncd; do
	if pgrep -x "$d" >/dev/null 2>&1; then
		echo "with-realtime-freq: warning: $d is running and may change the frequency back" >&2
	fi
done

# Build roko-ptpctl before touching anything.
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/roko-ptpctl" ./cmd/roko-ptpctl)
ctl=$tmp/roko-ptpctl

# roko-ptpctl prints "clock frequency offset is -11800.000000ppb".
read_ppb() {
	"$ctl" CLOCK_REALTIME freq | sed -n 's/^clock frequency offset is \(.*\)ppb$/\1/p'
}
saved=$(read_ppb)
[ -n "$saved" ] || die "cannot read CLOCK_REALTIME's frequency"

restored=0
restore() {
	[ "$restored" = 0 ] || return 0
	restored=1
	if ! "$ctl" CLOCK_REALTIME freq "$saved" >/dev/null; then
		echo "with-realtime-freq: FAILED to restore CLOCK_REALTIME's frequency to $saved ppb; do it by hand: roko-ptpctl CLOCK_REALTIME freq $saved" >&2
		return 1
	fi
	now=$(read_ppb)
	if [ "$now" != "$saved" ]; then
		echo "with-realtime-freq: CLOCK_REALTIME's frequency is $now ppb after restoring $saved ppb" >&2
		return 1
	fi
	echo "with-realtime-freq: CLOCK_REALTIME's frequency restored to $saved ppb" >&2
}
trap 'status=$?; restore || status=1; rm -rf "$tmp"; exit $status' EXIT

"$ctl" CLOCK_REALTIME freq "$ppb" >/dev/null
echo "with-realtime-freq: CLOCK_REALTIME's frequency set to $(read_ppb) ppb (was $saved ppb)" >&2

# CMD runs as a job of its own (set -m: its own process group, SIGINT not
# ignored) so that Ctrl-C or SIGTERM to this script reaches all of it
# (go test and its test binaries), and the script waits for it to end
# before restoring the frequency.
set -m
"$@" &
child=$!
forward() {
	kill -"$1" -- "-$child" 2>/dev/null || true
	wait "$child" 2>/dev/null || true
}
trap 'forward INT; exit 130' INT
trap 'forward TERM; exit 143' TERM
trap 'forward HUP; exit 129' HUP
set +e
wait "$child"
status=$?
set -e
exit "$status"
