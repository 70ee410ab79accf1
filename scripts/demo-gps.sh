#!/bin/sh
# sudo make demo-gps: a GPS grandmaster. roko-ptpd runs as grandmaster on
# emulated PTP hardware (its PHC starts 0.3 s and 50 ppm off) with an
# emulated GPS receiver: a pulse per second (20 ns of jitter) on the
# PHC's EXTTS input and NMEA over TCP, both inside the grandmaster's
# namespace. A roko-ptpd client on a virtual clock follows it. Watch the
# grandmaster announce 248 (free run) while the source qualifies, lock
# (clockClass 6, GNSS), then fall to holdover (7) and free run when the
# receiver is stopped. Nothing touches this machine's clock or leaves the
# namespaces, and everything is removed at the end.
#
# Environment: HOLDOVER (seconds, default 10).
set -eu
HOLDOVER=${HOLDOVER:-10}
BIN=${BIN:-bin}

if [ "$(id -u)" != 0 ]; then
	echo "make demo-gps needs root for network namespaces: run 'sudo make demo-gps'" >&2
	exit 1
fi
command -v ip >/dev/null || { echo "ip (iproute2) is missing: apt-get install -y iproute2" >&2; exit 1; }

GM=rokogps-gm
CL=rokogps-client
cleanup() {
	for p in ${RXPID:-} ${CLPID:-} ${GMPID:-}; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$GM" 2>/dev/null || true
	ip netns del "$CL" 2>/dev/null || true
	if [ -n "${TMP:-}" ] && [ -z "${KEEP:-}" ]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM
cleanup

ip netns add "$GM"
ip netns add "$CL"
ip -n "$GM" link set lo up
ip -n "$GM" link add veth-gm type veth peer name veth-client
ip -n "$GM" link set veth-client netns "$CL"
ip -n "$GM" addr add 198.18.0.1/24 dev veth-gm
ip -n "$CL" addr add 198.18.0.2/24 dev veth-client
ip -n "$GM" link set veth-gm up
ip -n "$CL" link set veth-client up

TMP=$(mktemp -d /tmp/roko-demo-gps.XXXXXX)
cat >"$TMP/gm.conf" <<CONF
# A GPS grandmaster: ptp4l.conf syntax, with ts2phc's options for the
# time source, which roko-ptpd runs itself.
[global]
priority1               1
serverOnly              1
clockClass              6
clockAccuracy           0x20
timeSource              0x20
logAnnounceInterval     -2
logSyncInterval         -4
# The pulse on the PHC's EXTTS channel 0, the time of day from NMEA.
pps_input               extts
ts2phc.tod_source       nmea
ts2phc.nmea_remote_host 127.0.0.1
ts2phc.nmea_remote_port 10110
ts2phc.holdover         $HOLDOVER
time_source_qualification 5
# roko-ptpd's own: emulated PTP hardware for machines without a PHC.
emulated_hardware       1
emulated_hardware_dir   $TMP/emu
emulated_phc_offset     0.3
emulated_phc_frequency  50000
[veth-gm]
ts2phc.pin_index        0
ts2phc.channel          0
CONF

echo "== grandmaster: roko-ptpd -f gm.conf -i veth-gm -4 (namespace $GM); its PHC starts 0.3 s and 50 ppm off"
ip netns exec "$GM" "$BIN/roko-ptpd" -f "$TMP/gm.conf" -i veth-gm -4 -m \
	--uds_address="$TMP/gm" --uds_ro_address="$TMP/gm-ro" >"$TMP/gm.log" 2>&1 &
GMPID=$!
i=0
while [ ! -e "$TMP/emu/veth-gm" ]; do
	i=$((i + 1)); [ $i -lt 50 ] || { cat "$TMP/gm.log" >&2; echo "== the grandmaster did not start" >&2; exit 1; }
	sleep 0.1
done
echo "== GPS receiver: roko-ptpctl emulate-gps --phc \$EMU/veth-gm --nmea-tcp 127.0.0.1:10110 --jitter 20"
ip netns exec "$GM" "$BIN/roko-ptpctl" emulate-gps --phc "$TMP/emu/veth-gm" --nmea-tcp 127.0.0.1:10110 --jitter 20 >"$TMP/rx.log" 2>&1 &
RXPID=$!

status() { ip netns exec "$GM" "$BIN/roko-ptpctl" status -s "$TMP/gm" 2>/dev/null | sed -n 's/^Time Source: /   /p'; }
locked=0
for t in $(seq 1 60); do
	sleep 1
	line=$(status)
	printf '%3ds %s\n' "$t" "$line"
	case "$line" in *LOCKED*) locked=$t; break ;; esac
done
if [ "$locked" = 0 ]; then
	grep timesource "$TMP/gm.log" | tail -20 >&2
	echo "== verdict: FAILED: the grandmaster did not lock in 60 s" >&2
	exit 1
fi
# The client starts once the grandmaster is on GPS time, as in a fleet
# whose grandmaster has booted (one that followed the free-running clock
# would then have to slew the 37 s step that qualification makes).
echo "== client: roko-ptpd -i veth-client -4 -s --clock_servo=linreg, virtual clock 37 ms and 40 ppm off (namespace $CL)"
ip netns exec "$CL" "$BIN/roko-ptpd" -i veth-client -4 -s -m --time_stamping=software --virtual_clock=1 \
	--virtual_clock_offset=0.037 --virtual_clock_frequency=40000 --clock_servo=linreg \
	--logAnnounceInterval=-2 --uds_address="$TMP/cl" --uds_ro_address="$TMP/cl-ro" >"$TMP/cl.log" 2>&1 &
CLPID=$!
sleep 15
grep -E 'to SLAVE|true error' "$TMP/cl.log" | tail -3 | sed 's/^/   client: /'
echo "== the grandmaster's own account (roko-ptpctl status):"
ip netns exec "$GM" "$BIN/roko-ptpctl" status -s "$TMP/gm" | sed 's/^/   /'
cl_err=$(grep 'virtual clock true error' "$TMP/cl.log" | tail -1 | sed 's/.*true error \([-+0-9]*\) ns.*/\1/')
echo "== client's clock against GPS time: ${cl_err:-?} ns"
echo "== stopping the GPS receiver: holdover for ${HOLDOVER}s, then free run"
kill "$RXPID"; RXPID=
for t in $(seq 1 $((HOLDOVER + 5))); do
	sleep 1
	printf '%3ds %s\n' "$t" "$(status)"
done
grep -E 'timesource: [A-Z]+ -> ' "$TMP/gm.log" | sed 's/^/   /'
abs=${cl_err#[-+]}
if [ -n "$abs" ] && [ "$abs" -lt 100000 ] && grep -q 'to SLAVE on MASTER_CLOCK_SELECTED' "$TMP/cl.log" && grep -q 'HOLDOVER -> FREERUN' "$TMP/gm.log"; then
	echo "== verdict: the grandmaster locked to GPS after ${locked}s, held over and fell to free run when the receiver stopped; the client followed it to ${cl_err} ns"
else
	echo "== verdict: NOT as expected (client ${cl_err:-?} ns)" >&2
	exit 1
fi
