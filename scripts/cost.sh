#!/bin/sh
# Steady-state cost of roko-ptpd next to linuxptp's ptp4l: for each pair a
# grandmaster and a client in two namespaces of their own, Sync and
# Delay_Req at 2^LOGSYNC Hz (default -7: 128 Hz), software timestamps, for
# DURATION seconds (default 30), ROUNDS times (default 3). All pairs run at
# the same time, so that each round they share the machine's conditions: on
# a virtual machine the same pair's CPU time varies by half from one minute
# to the next, and only side by side figures compare. Prints CPU seconds
# (the run time of all its threads, startup included, from
# /proc/PID/task/*/schedstat, to the nanosecond) and peak RSS (VmHWM) of
# each process per round, then each process's median. Needs root and
# ptp4l. The ptp4l client runs free (it must not steer this machine's
# clock).
#
# Pairs: roko-realtime and ptp4l on CLOCK_REALTIME with the client free
# (like for like); roko-ptpd on virtual clocks with the client steered by
# linreg (what the demo runs); roko-emulated, the same grandmaster with a
# client in hardware mode on emulated hardware (emulated_hardware 1), its
# emulated PHC steered by linreg. PAIRS picks some of them.
set -eu
DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-3}
LOGSYNC=${LOGSYNC:--7}
BIN=$(realpath "${BIN:-bin/roko-ptpd}")
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
PAIRS=${PAIRS:-"roko-realtime roko-ptpd ptp4l roko-emulated"}
cleanup() {
	for p in $PAIRS; do ip netns del "cost-$p-a" 2>/dev/null || true; ip netns del "cost-$p-b" 2>/dev/null || true; done
	rm -rf "${TMP:-}"
}
trap cleanup EXIT INT TERM
cleanup
TMP=$(mktemp -d)
for p in $PAIRS; do
	a=cost-$p-a b=cost-$p-b
	ip netns add $a; ip netns add $b
	ip -n $a link add va type veth peer name vb
	ip -n $a link set vb netns $b
	ip -n $a addr add 198.18.0.1/24 dev va; ip -n $b addr add 198.18.0.2/24 dev vb
	ip -n $a link set va up; ip -n $b link set vb up
done
cat >"$TMP/conf" <<C
[global]
logAnnounceInterval -2
logSyncInterval $LOGSYNC
logMinDelayReqInterval $LOGSYNC
time_stamping software
summary_interval 0
free_running 0
C
for s in a b; do
	cp "$TMP/conf" "$TMP/ptp4l-$s.conf"
	printf 'free_running 1\nuds_address %s/ptp4l-%s\n' "$TMP" "$s" >>"$TMP/ptp4l-$s.conf"
done
# roko-ptpd's command line for pair $1, side $2 (a: grandmaster on va, b:
# client on vb), with more options $3
roko() { echo "exec $BIN -f $TMP/conf -i v$2 -4 -q --uds_address=$TMP/$1-$2 --uds_ro_address=$TMP/$1-${2}r $3"; }
# gm and client command lines of a pair
gm() {
	case $1 in
	roko-realtime) roko "$1" a "--priority1=1 --serverOnly=1 --free_running=1" ;;
	roko-ptpd | roko-emulated) roko "$1" a "--priority1=1 --serverOnly=1 --virtual_clock=1" ;;
	ptp4l) echo "exec ptp4l -f $TMP/ptp4l-a.conf -i va -4 --priority1=1 --masterOnly=1 -q" ;;
	esac
}
client() {
	case $1 in
	roko-realtime) roko "$1" b "-s --free_running=1" ;;
	roko-ptpd) roko "$1" b "-s --virtual_clock=1 --virtual_clock_offset=0.037 --virtual_clock_frequency=40000 --clock_servo=linreg" ;;
	ptp4l) echo "exec ptp4l -f $TMP/ptp4l-b.conf -i vb -4 -s -q" ;;
	roko-emulated) roko "$1" b "-s -H --emulated_hardware=1 --emulated_hardware_dir=$TMP/emulated --emulated_phc_offset=0.037 --emulated_phc_frequency=40000 --clock_servo=linreg" ;;
	esac
}
start() { # name namespace command: starts it, its PID in $TMP/name.pid
	ip netns exec "$2" sh -c "$3" >/dev/null 2>&1 &
	echo $! >"$TMP/$1.pid"
}
# measure name: CPU seconds (all threads' run time from schedstat, in ns,
# startup included) and peak RSS in KiB of a process that is still running.
measure() {
	pid=$(cat "$TMP/$1.pid")
	[ -d "/proc/$pid" ] || { echo "$1 exited early" >&2; exit 1; }
	cpu=$(cat /proc/"$pid"/task/*/schedstat | awk '{s += $1} END {printf "%.3f", s / 1e9}')
	rss=$(awk '/^VmHWM:/ {print $2}' /proc/"$pid"/status)
	echo "$cpu 0 $rss" >"$TMP/$1"
}
echo "$(awk "BEGIN{print 2^-($LOGSYNC)}") Hz Sync and Delay_Req, $DURATION s, $ROUNDS rounds side by side (CPU s, peak RSS MiB):"
for r in $(seq "$ROUNDS"); do
	for p in $PAIRS; do start "$p-gm-$r" "cost-$p-a" "$(gm $p)"; done
	sleep 0.2
	for p in $PAIRS; do start "$p-client-$r" "cost-$p-b" "$(client $p)"; done
	sleep "$DURATION"
	for p in $PAIRS; do for role in gm client; do measure "$p-$role-$r"; done; done
	for p in $PAIRS; do for role in gm client; do kill -INT "$(cat "$TMP/$p-$role-$r.pid")"; done; done
	wait
done
for p in $PAIRS; do
	for role in gm client; do
		line=$(printf '%-22s' "$p $role")
		for r in $(seq "$ROUNDS"); do
			line="$line $(awk '{printf "%6.3f", $1+$2}' "$TMP/$p-$role-$r")"
		done
		med=$(for r in $(seq "$ROUNDS"); do awk '{print $1+$2}' "$TMP/$p-$role-$r"; done | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
		rss=$(for r in $(seq "$ROUNDS"); do awk '{print $3}' "$TMP/$p-$role-$r"; done | sort -n | tail -1)
		printf '%s   median %6.3f   peak RSS %5.1f\n' "$line" "$med" "$(awk "BEGIN{print $rss/1024}")"
	done
done
