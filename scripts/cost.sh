#!/bin/sh
# Steady-state cost of roko-ptpd next to linuxptp's ptp4l: a grandmaster
# and a client in two namespaces, Sync and Delay_Req at 128 Hz, software
# timestamps, for DURATION seconds (default 30). Prints CPU seconds (user +
# system) and peak RSS of each process, from GNU time. Needs root, ptp4l and
# /usr/bin/time. The ptp4l client runs free (it must not steer this
# machine's clock); ours steers its virtual clock.
set -eu
DURATION=${DURATION:-30}
BIN=${BIN:-bin/roko-ptpd}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
A=rokocost-a B=rokocost-b
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "${TMP:-}"; }
trap cleanup EXIT INT TERM
cleanup
TMP=$(mktemp -d)
ip netns add $A; ip netns add $B
ip -n $A link add va type veth peer name vb
ip -n $A link set vb netns $B
ip -n $A addr add 198.18.0.1/24 dev va; ip -n $B addr add 198.18.0.2/24 dev vb
ip -n $A link set va up; ip -n $B link set vb up
cat >"$TMP/conf" <<C
[global]
logAnnounceInterval -2
logSyncInterval -7
logMinDelayReqInterval -7
time_stamping software
summary_interval 0
free_running 0
C
run() { # name namespace command...
	name=$1 ns=$2; shift 2
	ip netns exec "$ns" timeout -s INT "$DURATION" /usr/bin/time -f "$name %U %S %M" -o "$TMP/$name.time" "$@" >/dev/null 2>&1 || true
}
measure() { # label gm-command client-command (as strings)
	run "$1-gm" $A sh -c "$2" &
	sleep 0.2
	run "$1-client" $B sh -c "$3"
	wait
	for r in gm client; do
		awk -v r="$1 $r" '{printf "%-22s cpu %6.2f s   peak RSS %6.1f MiB\n", r, $2+$3, $4/1024}' "$TMP/$1-$r.time"
	done
}
echo "128 Hz Sync and Delay_Req, ${DURATION} s:"
# Like for like with the ptp4l pair below: both on CLOCK_REALTIME, the
# client running free.
measure roko-realtime "exec $BIN -f $TMP/conf -i va -4 --priority1=1 --serverOnly=1 -q --free_running=1 --uds_address=$TMP/xa --uds_ro_address=$TMP/xar" \
	"exec $BIN -f $TMP/conf -i vb -4 --uds_address=$TMP/xb --uds_ro_address=$TMP/xbr --free_running=1 -s -q"
# The same with the event loop parked on the Go runtime's poller instead
# of waiting in the kernel, to show what that wait saves.
measure roko-poller "ROKO_LOOP=poller exec $BIN -f $TMP/conf -i va -4 --priority1=1 --serverOnly=1 -q --free_running=1 --uds_address=$TMP/pa --uds_ro_address=$TMP/par" \
	"ROKO_LOOP=poller exec $BIN -f $TMP/conf -i vb -4 --uds_address=$TMP/pb --uds_ro_address=$TMP/pbr --free_running=1 -s -q"
# What the demo runs: virtual clocks, the client steered by linreg.
measure roko-ptpd "exec $BIN -f $TMP/conf -i va -4 --virtual_clock=1 --priority1=1 --serverOnly=1 -q --uds_address=$TMP/ra --uds_ro_address=$TMP/rar" \
	"exec $BIN -f $TMP/conf -i vb -4 --uds_address=$TMP/rb --uds_ro_address=$TMP/rbr --virtual_clock=1 --virtual_clock_offset=0.037 --virtual_clock_frequency=40000 --clock_servo=linreg -s -q"
cp "$TMP/conf" "$TMP/p.conf"; printf 'free_running 1\nuds_address %s/ptp4l-a\n' "$TMP" >>"$TMP/p.conf"
cp "$TMP/conf" "$TMP/q.conf"; printf 'free_running 1\nuds_address %s/ptp4l-b\n' "$TMP" >>"$TMP/q.conf"
measure ptp4l "exec ptp4l -f $TMP/p.conf -i va -4 --priority1=1 --masterOnly=1 -q" \
	"exec ptp4l -f $TMP/q.conf -i vb -4 -s -q"
