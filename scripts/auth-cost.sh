#!/bin/sh
# What authentication (spp, IEEE 1588-2019 16.14) costs a roko-ptpd
# grandmaster: pairs side by side, each a grandmaster and a client in two
# namespaces of their own, Sync and Delay_Req at 2^LOGSYNC Hz (default -7:
# 128 Hz), UDPv4, software timestamps, virtual clocks (the client steered
# by linreg), for DURATION seconds (default 60), ROUNDS times (default 3).
# In pair "hmac" both sign and verify every message with HMAC-SHA256-128
# (spp 1), in pair "cmac" with AES-CMAC-128 (spp 2), in pair "plain" they
# do not authenticate. PAIRS="hmac plain" leaves cmac out. Like
# scripts/metrics-cost.sh the pairs run at the same time, so that each
# round they share the machine's conditions.
#
# Prints a markdown table: the grandmasters' CPU seconds (the run time of
# all their threads, startup included, from /proc/PID/task/*/schedstat)
# per round, each one's median, how much more CPU it took than the plain
# one (of the medians), and its peak RSS (VmHWM). After each round it
# checks with pmc that every client is SLAVE: a client whose key did not
# match would not be. Needs root and pmc (linuxptp). Nothing steers this
# machine's clock.
set -eu
DURATION=${DURATION:-60}
ROUNDS=${ROUNDS:-3}
LOGSYNC=${LOGSYNC:--7}
BIN=$(realpath "${BIN:-bin/roko-ptpd}")
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
command -v pmc >/dev/null || { echo "needs pmc (apt-get install linuxptp)" >&2; exit 1; }
PAIRS=${PAIRS:-"hmac cmac plain"}
PREFIX=acost
. "$(dirname "$0")/cost-pairs.sh"
base_conf
# The test keys of testdata/pcap/linuxptp-auth/sa.cfg.
cat >"$TMP/sa.cfg" <<C
[security_association]
spp 1
1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C
[security_association]
spp 2
1 AES128 HEX:FAF48EBA01E7C5966A76CB787AED4E7B
C
# spp pair: the pair's security association.
spp() { case $1 in hmac) echo 1 ;; cmac) echo 2 ;; esac; }
# roko-ptpd's command line for pair $1, side $2 (a: grandmaster on va, b:
# client on vb), with more options $3. An authenticating pair's config
# file names its association in the interface's section, not [global],
# so that the management socket stays open to pmc.
roko() {
	conf=$TMP/conf
	if [ "$1" != plain ]; then
		conf=$TMP/conf-$1-$2
		cp "$TMP/conf" "$conf"
		printf 'sa_file %s\n[v%s]\nspp %s\nactive_key_id 1\n' "$TMP/sa.cfg" "$2" "$(spp "$1")" >>"$conf"
	fi
	echo "exec $BIN -f $conf -i v$2 -4 -q --uds_address=$TMP/$1-$2 --uds_ro_address=$TMP/$1-${2}r $3"
}
gm() { roko "$1" a "--priority1=1 --serverOnly=1 --virtual_clock=1"; }
client() { roko "$1" b "-s --virtual_clock=1 --virtual_clock_offset=0.037 --virtual_clock_frequency=40000 --clock_servo=linreg"; }
# state pair: the client's port state, from pmc over its socket.
state() {
	pmc -u -b 0 -s "$TMP/$1-b" 'GET PORT_DATA_SET' 2>/dev/null | awk '/portState/ {s = $2} END {print (s == "" ? "none" : s)}'
}
hz=$(awk "BEGIN{print 2^-($LOGSYNC)}")
echo "$hz Hz Sync and Delay_Req, UDPv4, $DURATION s, $ROUNDS rounds side by side" >&2
for r in $(seq "$ROUNDS"); do
	for p in $PAIRS; do start "$p-gm-$r" "$PREFIX-$p-a" "$(gm "$p")"; done
	sleep 0.2
	for p in $PAIRS; do start "$p-client-$r" "$PREFIX-$p-b" "$(client "$p")"; done
	sleep "$DURATION"
	for p in $PAIRS; do measure "$p-gm-$r"; done
	for p in $PAIRS; do
		s=$(state "$p")
		[ "$s" = SLAVE ] || { echo "round $r: the $p client is $s, not SLAVE" >&2; exit 1; }
	done
	echo "round $r: every client SLAVE" >&2
	for p in $PAIRS; do for role in gm client; do kill -INT "$(cat "$TMP/$p-$role-$r.pid")"; done; done
	wait
done
head="| $hz Hz grandmaster |"
rule="|---|"
for r in $(seq "$ROUNDS"); do head="$head round $r CPU s |"; rule="$rule---:|"; done
echo "$head median CPU s | vs plain | peak RSS MiB |"
echo "$rule---:|---:|---:|"
for p in $PAIRS; do
	line="| $p |"
	for r in $(seq "$ROUNDS"); do line="$line $(awk '{printf "%.3f", $1}' "$TMP/$p-gm-$r") |"; done
	m=$(median "$p-gm")
	vs="–"
	case " $PAIRS " in
	*" plain "*) [ "$p" = plain ] || vs=$(awk "BEGIN{printf \"%+.1f%%\", ($m/$(median plain-gm)-1)*100}") ;;
	esac
	rss=$(for r in $(seq "$ROUNDS"); do awk '{print $2}' "$TMP/$p-gm-$r"; done | sort -n | tail -1)
	echo "$line $m | $vs | $(awk "BEGIN{printf \"%.1f\", $rss/1024}") |"
done
