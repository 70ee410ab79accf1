#!/bin/sh
# Steady-state cost of a GPS grandmaster: roko-ptpd running the operator
# guide's testdata/seed/gm.conf as written (domain 24, Sync at 64 Hz,
# hardware timestamps on emulated hardware, its /dev/pps0 an emulated
# kernel PPS source fed by roko-ptpctl emulate-gps) next to linuxptp's
# ptp4l as a grandmaster at the same rates (software timestamps; ptp4l
# has no time source of its own, ts2phc would be a second process). Each
# grandmaster serves a ptp4l client (free_running 1, domain 24, software
# timestamps) in a namespace of its own, for DURATION seconds (default
# 30), ROUNDS times (default 3); like scripts/cost.sh all pairs run side
# by side, so that each round they share the machine's conditions.
#
# Pairs: roko-gps, gm.conf as written; roko-nogps, the same file without
# its [/dev/pps0] section (no time source: the difference is the time
# source's own cost); ptp4l, gm.conf's [global] section with
# time_stamping software (less its bmca line, which ptp4l 3.1 lacks).
# PAIRS picks some of them.
#
# Prints CPU seconds (all threads' run time from
# /proc/PID/task/*/schedstat, startup included) and peak RSS (VmHWM) of
# each process per round, each one's median, and the grandmasters' median
# as CPU seconds per minute. The emulated receiver's CPU is printed too:
# it is the test's, not the grandmaster's. After each round the script
# checks with pmc that every client has its grandmaster, and warns if
# roko-gps's is not yet at clockClass 6 (GPS-locked, about 20 s). Needs
# root and ptp4l/pmc. Nothing steers this machine's clock: the ptp4l
# grandmaster and clients run free.
set -eu
DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-3}
BIN=$(realpath "${BIN:-bin}")
CONF=$(realpath "${CONF:-testdata/seed/gm.conf}")
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
PAIRS=${PAIRS:-"roko-gps roko-nogps ptp4l"}
PREFIX=gmcost
. "$(dirname "$0")/cost-pairs.sh"
# gm.conf without its time source: everything before [/dev/pps0].
awk '/^\[\/dev\/pps0\]/ {exit} {print}' "$CONF" >"$TMP/gm-nogps.conf"
# ptp4l's grandmaster: the same [global], software timestamps, free;
# ptp4l 3.1 takes no comment after a value and has no bmca option (its
# only algorithm is bmca ptp's).
sed -e 's/[[:space:]]*#.*//' -e '/^bmca[[:space:]]/d' "$TMP/gm-nogps.conf" >"$TMP/ptp4l-gm.conf"
printf 'time_stamping software\nfree_running 1\nuds_address %s/ptp4l-gm\n' "$TMP" >>"$TMP/ptp4l-gm.conf"
# The clients (one per pair, each its own socket).
for p in $PAIRS; do
	cat >"$TMP/client-$p.conf" <<C
[global]
domainNumber 24
slaveOnly 1
time_stamping software
free_running 1
summary_interval 0
uds_address $TMP/client-$p
C
done
# roko-ptpd's grandmaster of pair $1 with config $2, round $3, on
# emulated hardware in $TMP/emu-$1-$3 (its PHC, its pps0). The PHC starts
# 0.2 s and -20 ppm off, as in TestSeedGMConf: with the emulation's
# default (exactly on time and frequency) the time source never
# converges (the PHC walks off at about 80 ppb after the step).
roko() {
	echo "exec $BIN/roko-ptpd -f $2 -i va -q --emulated_hardware=1 --emulated_hardware_dir=$TMP/emu-$1-$3 --emulated_phc_offset=0.2 --emulated_phc_frequency=-20000 --uds_address=$TMP/$1-gm --uds_ro_address=$TMP/$1-gmr"
}
gm() { # pair round
	case $1 in
	roko-gps) roko "$1" "$CONF" "$2" ;;
	roko-nogps) roko "$1" "$TMP/gm-nogps.conf" "$2" ;;
	ptp4l) echo "exec ptp4l -f $TMP/ptp4l-gm.conf -i va -q" ;;
	esac
}
# seen pair: the clockClass the pair's ptp4l client sees of its
# grandmaster (pmc over the client's socket), or "none".
seen() {
	pmc -u -b 0 -d 24 -s "$TMP/client-$1" 'GET PARENT_DATA_SET' 2>/dev/null |
		awk '/gm.ClockClass/ {c = $2} END {print (c == "" ? "none" : c)}'
}
echo "gm.conf's rates (Sync 64 Hz, Announce 1 Hz, Delay_Req 1 Hz), $DURATION s, $ROUNDS rounds side by side (CPU s, peak RSS MiB):"
for r in $(seq "$ROUNDS"); do
	for p in $PAIRS; do
		[ "$p" = roko-gps ] || continue
		# emulate-gps creates the PPS source's state file; the
		# grandmaster opens it at start, so wait for it.
		mkdir -p "$TMP/emu-$p-$r"
		start "$p-rx-$r" "gmcost-$p-a" "exec $BIN/roko-ptpctl emulate-gps --pps $TMP/emu-$p-$r/pps0 --jitter 50 --seed $r"
		for _ in $(seq 50); do [ -e "$TMP/emu-$p-$r/pps0" ] && break; sleep 0.1; done
		[ -e "$TMP/emu-$p-$r/pps0" ] || { echo "emulate-gps made no $TMP/emu-$p-$r/pps0" >&2; exit 1; }
	done
	for p in $PAIRS; do start "$p-gm-$r" "gmcost-$p-a" "$(gm "$p" "$r")"; done
	sleep 0.2
	for p in $PAIRS; do start "$p-client-$r" "gmcost-$p-b" "exec ptp4l -f $TMP/client-$p.conf -i vb -s -q"; done
	sleep "$DURATION"
	for p in $PAIRS; do
		for role in gm client; do measure "$p-$role-$r"; done
		[ "$p" != roko-gps ] || measure "$p-rx-$r"
	done
	line="round $r: clients see clockClass"
	for p in $PAIRS; do
		c=$(seen "$p")
		line="$line $p $c"
		case $p:$c in
		*:none) echo "$line: $p's client has no grandmaster" >&2; exit 1 ;;
		roko-gps:6) ;;
		roko-gps:*) echo "warning: roko-gps not locked yet after $DURATION s (it takes about 20 s)" >&2 ;;
		esac
	done
	echo "$line"
	for p in $PAIRS; do
		for role in gm client; do kill -INT "$(cat "$TMP/$p-$role-$r.pid")"; done
		[ "$p" != roko-gps ] || kill -TERM "$(cat "$TMP/$p-rx-$r.pid")"
	done
	wait
done
for p in $PAIRS; do
	roles="gm client"
	[ "$p" != roko-gps ] || roles="gm client rx"
	for role in $roles; do
		line=$(printf '%-18s' "$p $role")
		for r in $(seq "$ROUNDS"); do
			line="$line $(awk '{printf "%6.3f", $1}' "$TMP/$p-$role-$r")"
		done
		rss=$(for r in $(seq "$ROUNDS"); do awk '{print $2}' "$TMP/$p-$role-$r"; done | sort -n | tail -1)
		printf '%s   median %6.3f   peak RSS %5.1f\n' "$line" "$(median "$p-$role" 1)" "$(awk "BEGIN{print $rss/1024}")"
	done
done
echo "grandmasters, CPU seconds per minute (median):"
for p in $PAIRS; do
	printf '  %-12s %6.3f\n' "$p" "$(awk "BEGIN{print $(median "$p-gm" 1) * 60 / $DURATION}")"
done
