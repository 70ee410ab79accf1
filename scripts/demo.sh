#!/bin/sh
# sudo make demo: a roko-ptpd grandmaster and a roko-ptpd client in two
# network namespaces joined by a veth pair (198.18.0.1 and .2), each on a
# virtual clock. The client's clock starts 37 ms ahead and 40 ppm fast;
# watch it step, lock and converge (one summary line a second, as ptp4l
# prints them), and read its true error against the grandmaster's time,
# then a one-line verdict. Nothing touches this machine's clock or
# leaves the namespaces, and everything is removed at the end.
#
# Environment: DURATION (seconds, default 30), SERVO (linreg or pi),
# TRANSPORT (-4, -6 or -2).
set -eu
DURATION=${DURATION:-30}
SERVO=${SERVO:-linreg}
TRANSPORT=${TRANSPORT:--4}
BIN=${BIN:-bin/roko-ptpd}

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root for network namespaces: run 'sudo make demo'" >&2
	exit 1
fi
command -v ip >/dev/null || { echo "ip (iproute2) is missing: apt-get install -y iproute2" >&2; exit 1; }

GM=rokodemo-gm
CL=rokodemo-client
cleanup() {
	[ -n "${GMPID:-}" ] && kill "$GMPID" 2>/dev/null || true
	ip netns del "$GM" 2>/dev/null || true
	ip netns del "$CL" 2>/dev/null || true
	rm -f "${CONF:-}" "${LOG:-}"
	if [ -n "${UDSDIR:-}" ]; then rm -rf "$UDSDIR"; fi
}
trap cleanup EXIT INT TERM
cleanup

ip netns add "$GM"
ip netns add "$CL"
ip -n "$GM" link add veth-gm type veth peer name veth-client
ip -n "$GM" link set veth-client netns "$CL"
ip -n "$GM" addr add 198.18.0.1/24 dev veth-gm
ip -n "$CL" addr add 198.18.0.2/24 dev veth-client
ip -n "$GM" link set veth-gm up
ip -n "$CL" link set veth-client up

CONF=$(mktemp /tmp/roko-demo.XXXXXX.conf)
# Management sockets of their own: never touch a running ptp4l's.
UDSDIR=$(mktemp -d /tmp/roko-demo.XXXXXX)
cat >"$CONF" <<CONF
# The demo's configuration: ptp4l.conf syntax, ptp4l's option names.
[global]
logAnnounceInterval     -2
announceReceiptTimeout  3
logSyncInterval         -4
logMinDelayReqInterval  -4
time_stamping           software
clock_servo             $SERVO
# roko-ptpd's own: steer a virtual clock, not this machine's.
virtual_clock           1
CONF

echo "== grandmaster: roko-ptpd -f $CONF -i veth-gm $TRANSPORT -m --priority1=1 --serverOnly=1 (namespace $GM)"
ip netns exec "$GM" "$BIN" -f "$CONF" -i veth-gm "$TRANSPORT" -m --priority1=1 --serverOnly=1 \
	--uds_address="$UDSDIR/gm" --uds_ro_address="$UDSDIR/gm-ro" >/dev/null 2>&1 &
GMPID=$!
echo "== client: roko-ptpd -f $CONF -i veth-client $TRANSPORT -m -s --virtual_clock_offset=0.037 --virtual_clock_frequency=40000 (namespace $CL)"
echo "== its clock starts 37 ms ahead and 40 ppm fast; ${DURATION}s"
LOG=$(mktemp /tmp/roko-demo.XXXXXX.log)
ip netns exec "$CL" timeout "$DURATION" "$BIN" -f "$CONF" -i veth-client "$TRANSPORT" -m -s \
	--uds_address="$UDSDIR/client" --uds_ro_address="$UDSDIR/client-ro" --virtual_clock_offset=0.037 --virtual_clock_frequency=40000 2>&1 | tee "$LOG" || true
# The verdict: the client's last true error against the grandmaster.
last=$(grep 'virtual clock true error' "$LOG" | tail -1 | sed 's/.*true error \([-+0-9]*\) ns.*/\1/')
if [ -z "$last" ]; then
	echo "== verdict: FAILED: the client never reported its true error" >&2
	exit 1
fi
abs=${last#[-+]}
if grep -q 'to SLAVE on MASTER_CLOCK_SELECTED' "$LOG" && [ "$abs" -lt 100000 ]; then
	echo "== verdict: synchronised: the client is SLAVE and its true error is ${last} ns after ${DURATION}s (it started 37 ms and 40 ppm off)"
else
	echo "== verdict: NOT synchronised: true error ${last} ns after ${DURATION}s" >&2
	exit 1
fi
