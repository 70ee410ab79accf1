#!/bin/sh
# Capacity of a unicast grandmaster: roko-ptpd and ptp4l (unicast_listen 1,
# software timestamps, serverOnly/masterOnly, no multicast service) in
# turn in one namespace, each loaded by `roko-ptpctl unicast-load` from a
# second namespace with N negotiated unicast clients (Announce every 2 s,
# Sync and Delay_Req at RATE), for every N in CLIENTS and RATE in RATES.
# Prints a markdown table: grants held at the window's end, Delay_Resp
# answered per second and per CPU-second of the grandmaster, its CPU as a
# share of one core, p50/p99 answer latency, what was lost, its RSS, and
# roko-ptpd's answers per CPU-second over ptp4l's in the same cell.
#
# The clients' addresses are 198.18.64.0/18 (up to 16,382 of them),
# local in the load's namespace (ip route add local … dev lo) and routed
# to it from the grandmaster's; the link is 198.18.0.1 - 198.18.0.2.
#
# Environment: CLIENTS (default "100 1000 10000"), RATES ("1 16"),
# DAEMONS ("roko ptp4l"), MEASURE (s, default 20), WARMUP (2), GRANT (the
# grant duration asked for, s, default 30: renewals at 15 s), BIN (bin),
# LOGDIR (keep each run's output and the daemons' logs there), ROKO_OPTIONS
# (more lines for roko-ptpd's [global], e.g. "receive_holdoff 0"), NAPI
# (see below). Needs root,
# ptp4l and `make build`. Run: sudo make capacity
set -eu
BIN=$(realpath "${BIN:-bin}")
CLIENTS=${CLIENTS:-"100 1000 10000"}
RATES=${RATES:-"1 16"}
DAEMONS=${DAEMONS:-"roko ptp4l"}
MEASURE=${MEASURE:-20}
WARMUP=${WARMUP:-2}
GRANT=${GRANT:-30}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
command -v ptp4l >/dev/null || case " $DAEMONS " in *" ptp4l "*) echo "ptp4l not found (apt-get install linuxptp)" >&2; exit 1 ;; esac
[ -x "$BIN/roko-ptpd" ] && [ -x "$BIN/roko-ptpctl" ] || { echo "no $BIN/roko-ptpd or roko-ptpctl: make build" >&2; exit 1; }
GM=capa-gm CL=capa-cl

cleanup() {
	for sig in TERM KILL; do
		for ns in $GM $CL; do
			pids=$(ip netns pids $ns 2>/dev/null || true)
			[ -z "$pids" ] || kill -$sig $pids 2>/dev/null || true
		done
		[ $sig = KILL ] || sleep 0.3
	done
	for ns in $GM $CL; do ip netns del $ns 2>/dev/null || true; done
	rm -rf "${TMP:-}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cleanup
TMP=$(mktemp -d)
OUT=${LOGDIR:-$TMP}
mkdir -p "$OUT"

ip netns add $GM
ip netns add $CL
ip -n $GM link add vgm type veth peer name vcl
ip -n $GM link set vcl netns $CL
ip -n $GM addr add 198.18.0.1/24 dev vgm
ip -n $CL addr add 198.18.0.2/24 dev vcl
for ns in $GM $CL; do ip -n $ns link set lo up; done
ip -n $GM link set vgm up
ip -n $CL link set vcl up
ip -n $CL route add local 198.18.64.0/18 dev lo
ip -n $GM route add 198.18.64.0/18 via 198.18.0.2
# NAPI=threaded: each veth end receives in a NAPI kthread of its own (GRO
# on gives a veth NAPI; threaded moves it out of softirq), so a sender no
# longer pays for its peer's receive path, as on two hosts with real NICs.
# The default (NAPI=off) charges the client's receive path to the
# grandmaster that sends to it.
if [ "${NAPI:-off}" = threaded ]; then
	command -v ethtool >/dev/null || { echo "NAPI=threaded needs ethtool (apt-get install ethtool)" >&2; exit 1; }
	for pair in "$GM vgm" "$CL vcl"; do
		set -- $pair
		ip netns exec "$1" ethtool -K "$2" gro on
		ip netns exec "$1" sh -c "echo 1 >/sys/class/net/$2/threaded"
	done
fi

# The grandmasters' settings: the same for both, in each one's spelling
# (ptp4l 3.1 knows only masterOnly). A short announce receipt timeout
# gets them to MASTER in a second; the clients ask their own rates.
common="domainNumber 0
priority1 1
unicast_listen 1
inhibit_multicast_service 1
time_stamping software
logAnnounceInterval -3
announceReceiptTimeout 2"
printf '[global]\n%s\nserverOnly 1\n%b\n' "$common" "${ROKO_OPTIONS:-}" >"$TMP/roko.conf"
printf '[global]\n%s\nmasterOnly 1\nuds_address %s/ptp4l\n' "$common" "$TMP" >"$TMP/ptp4l.conf"

start_gm() { # daemon log: starts it in $GM, its PID in $TMP/gm.pid
	case $1 in
	roko) cmd="exec $BIN/roko-ptpd -f $TMP/roko.conf -i vgm -m -q --uds_address=$TMP/roko --uds_ro_address=$TMP/roko-ro" ;;
	ptp4l) cmd="exec ptp4l -f $TMP/ptp4l.conf -i vgm -m -q" ;;
	esac
	ip netns exec $GM sh -c "$cmd" >"$2" 2>&1 &
	echo $! >"$TMP/gm.pid"
	for _ in $(seq 100); do
		grep -q "to MASTER" "$2" && return 0
		sleep 0.1
	done
	echo "$1 did not become MASTER in 10 s:" >&2
	cat "$2" >&2
	exit 1
}
stop_gm() {
	kill -INT "$(cat "$TMP/gm.pid")" 2>/dev/null || true
	wait "$(cat "$TMP/gm.pid")" 2>/dev/null || true
}
# val file key: a value of unicast-load's output
val() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

for n in $CLIENTS; do
	for rate in $RATES; do
		for d in $DAEMONS; do
			cell=$d-$n-$rate
			echo "$cell ..." >&2
			start_gm "$d" "$OUT/$cell.gm.log"
			if ! ip netns exec $CL "$BIN/roko-ptpctl" unicast-load --master 198.18.0.1 --clients "$n" --rate "$rate" \
				--duration "$GRANT" --warmup "$WARMUP" --measure "$MEASURE" --pid "$(cat "$TMP/gm.pid")" \
				>"$OUT/$cell.out" 2>"$OUT/$cell.err"; then
				cat "$OUT/$cell.err" >&2
				exit 1
			fi
			stop_gm
		done
	done
done

cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
echo
echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($cpu), ${MEASURE} s windows after ${WARMUP} s of warm-up, grants of ${GRANT} s:"
echo
echo "| clients | rate | daemon | grants held | answers/s | answers per CPU-s | CPU (one core) | p50 | p99 | lost Delay_Resp / Sync / Follow_Up | port faults | RSS | roko ÷ ptp4l |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $CLIENTS; do
	for rate in $RATES; do
		for d in $DAEMONS; do
			f=$OUT/$d-$n-$rate.out
			faults=$(grep -c "to FAULTY" "$OUT/$d-$n-$rate.gm.log" || true)
			ratio=
			if [ "$d" = roko ] && [ -f "$OUT/ptp4l-$n-$rate.out" ]; then
				ratio=$(awk -v a="$(val "$f" answers_per_cpu_s)" -v b="$(val "$OUT/ptp4l-$n-$rate.out" answers_per_cpu_s)" \
					'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "ptp4l: none" }')
			fi
			awk -v n="$n" -v rate="$rate" -v d="$d" -v faults="$faults" -v ratio="$ratio" '
				{ v[$1] = $2 }
				END {
					name = (d == "roko") ? "roko-ptpd" : "ptp4l 3.1.1"
					printf "| %s | %s Hz | %s | %d | %.0f | %.0f | %.1f %% | %.0f µs | %.0f µs | %d / %d / %d | %d | %.1f MiB | %s |\n",
						n, rate, name, v["held"], v["answers_per_s"], v["answers_per_cpu_s"], v["gm_cpu_pct"],
						v["p50_us"], v["p99_us"], v["lost"], v["sync_lost"], v["fup_lost"], faults, v["gm_rss_kib"] / 1024, ratio
				}' "$f"
		done
	done
done
echo
echo "The load generator in each cell (its CPU as a share of one core; Delay_Req it skipped a period late; datagrams its sockets dropped):"
echo
for n in $CLIENTS; do
	for rate in $RATES; do
		for d in $DAEMONS; do
			f=$OUT/$d-$n-$rate.out
			printf '  %-18s CPU %5.1f %%  skipped %d  dropped %d  unmatched %d\n' "$d-$n-$rate" \
				"$(awk -v s="$(val "$f" self_cpu_s)" -v w="$(val "$f" window_s)" 'BEGIN {print 100 * s / w}')" \
				"$(val "$f" skipped)" "$(val "$f" rx_dropped)" "$(val "$f" unmatched)"
		done
	done
done
