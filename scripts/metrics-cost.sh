#!/bin/sh
# What Prometheus metrics cost a roko-ptpd grandmaster: pairs side by
# side, each a grandmaster and a client in two namespaces of their own,
# Sync and Delay_Req at 2^LOGSYNC Hz (default -7: 128 Hz), software
# timestamps, virtual clocks (the client steered by linreg), for DURATION
# seconds (default 60), ROUNDS times (default 3). In pair "metrics" the
# grandmaster serves metrics_address 198.18.0.1:9326 and a Prometheus
# server (Debian's, in the client's namespace) scrapes it every second;
# in pair "unscraped" it serves metrics that nobody scrapes (what the
# event loop's snapshots cost without the scrapes); in pair "plain" it
# has no metrics. PAIRS="metrics plain" leaves unscraped out. Like
# scripts/cost.sh the pairs run at the same time, so that each round they
# share the machine's conditions.
#
# Prints the grandmasters' CPU seconds (the run time of all their threads,
# startup included, from /proc/PID/task/*/schedstat) and peak RSS (VmHWM)
# per round, each one's median, and how much more CPU each grandmaster
# with metrics took than the plain one, per round and of the medians.
# After each round it checks that Prometheus had the grandmaster up and
# scraped. Needs root and prometheus (apt-get install prometheus).
set -eu
DURATION=${DURATION:-60}
ROUNDS=${ROUNDS:-3}
LOGSYNC=${LOGSYNC:--7}
BIN=$(realpath "${BIN:-bin/roko-ptpd}")
PROMETHEUS=${PROMETHEUS:-prometheus}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
command -v "$PROMETHEUS" >/dev/null || { echo "needs prometheus (apt-get install prometheus)" >&2; exit 1; }
PAIRS=${PAIRS:-"metrics unscraped plain"}
PREFIX=mcost
. "$(dirname "$0")/cost-pairs.sh"
base_conf
cat >"$TMP/prometheus.yml" <<C
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: roko-ptpd
    static_configs:
      - targets: ['198.18.0.1:9326']
C
# roko-ptpd's command line for pair $1, side $2 (a: grandmaster on va, b:
# client on vb), with more options $3
roko() { echo "exec $BIN -f $TMP/conf -i v$2 -4 -q --uds_address=$TMP/$1-$2 --uds_ro_address=$TMP/$1-${2}r $3"; }
gm() {
	case $1 in
	metrics | unscraped) roko "$1" a "--priority1=1 --serverOnly=1 --virtual_clock=1 --metrics_address=198.18.0.1:9326" ;;
	plain) roko "$1" a "--priority1=1 --serverOnly=1 --virtual_clock=1" ;;
	esac
}
client() { roko "$1" b "-s --virtual_clock=1 --virtual_clock_offset=0.037 --virtual_clock_frequency=40000 --clock_servo=linreg"; }
# scrapes: how many scrapes of the grandmaster Prometheus made over the
# round and whether the last one was up, from its HTTP API.
scrapes() {
	q=$(printf 'count_over_time(up[%ss])' "$DURATION")
	n=$(ip netns exec mcost-metrics-b curl -sf --get --data-urlencode "query=$q" http://127.0.0.1:9090/api/v1/query |
		sed -n 's/.*"value":\[[0-9.]*,"\([0-9]*\)"\].*/\1/p')
	up=$(ip netns exec mcost-metrics-b curl -sf --get --data-urlencode "query=up" http://127.0.0.1:9090/api/v1/query |
		sed -n 's/.*"value":\[[0-9.]*,"\([0-9]*\)"\].*/\1/p')
	echo "${n:-none} ${up:-none}"
}
echo "$(awk "BEGIN{print 2^-($LOGSYNC)}") Hz Sync and Delay_Req, $DURATION s, $ROUNDS rounds side by side; grandmaster CPU s, peak RSS MiB:"
for r in $(seq "$ROUNDS"); do
	rm -rf "$TMP/tsdb"
	start "prom-$r" mcost-metrics-b "exec $PROMETHEUS --config.file=$TMP/prometheus.yml --storage.tsdb.path=$TMP/tsdb --web.listen-address=127.0.0.1:9090"
	for p in $PAIRS; do start "$p-gm-$r" "mcost-$p-a" "$(gm $p)"; done
	sleep 0.2
	for p in $PAIRS; do start "$p-client-$r" "mcost-$p-b" "$(client $p)"; done
	sleep "$DURATION"
	for p in $PAIRS; do measure "$p-gm-$r"; done
	set -- $(scrapes)
	echo "round $r: Prometheus scraped the metrics grandmaster $1 times in ${DURATION} s, up=$2"
	[ "$2" = 1 ] || { echo "Prometheus does not have the grandmaster up (its first scrape comes some 5 s after start: give DURATION 15 or more)" >&2; exit 1; }
	for p in $PAIRS; do for role in gm client; do kill -INT "$(cat "$TMP/$p-$role-$r.pid")"; done; done
	kill -TERM "$(cat "$TMP/prom-$r.pid")"
	wait
done
for p in $PAIRS; do
	line=$(printf '%-12s' "$p gm")
	for r in $(seq "$ROUNDS"); do line="$line $(awk '{printf "%6.3f", $1}' "$TMP/$p-gm-$r")"; done
	rss=$(for r in $(seq "$ROUNDS"); do awk '{print $2}' "$TMP/$p-gm-$r"; done | sort -n | tail -1)
	printf '%s   median %6.3f   peak RSS %5.1f\n' "$line" "$(median "$p-gm" 1)" "$(awk "BEGIN{print $rss/1024}")"
done
for p in $PAIRS; do
	[ "$p" != plain ] || continue
	line=$(printf '%-16s' "$p/plain")
	for r in $(seq "$ROUNDS"); do
		line="$line $(awk -v m="$(awk '{print $1}' "$TMP/$p-gm-$r")" -v p="$(awk '{print $1}' "$TMP/plain-gm-$r")" 'BEGIN{printf "%+5.1f%%", (m/p-1)*100}')"
	done
	printf '%s   medians %+5.1f%%\n' "$line" "$(awk "BEGIN{print ($(median "$p-gm" 1)/$(median plain-gm 1)-1)*100}")"
done
