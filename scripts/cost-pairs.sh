# Sourced by gm-cost.sh and metrics-cost.sh: pairs of namespaces joined by
# a veth (va 198.18.0.1 in PREFIX-PAIR-a, vb 198.18.0.2 in PREFIX-PAIR-b),
# processes started in them, and their CPU and peak RSS. The caller sets
# PAIRS and PREFIX before sourcing; TMP is made here, and everything is
# removed on exit, Ctrl-C or kill.

# cleanup ends every process in the namespaces (by PID, from ip netns
# pids: deleting a namespace leaves its processes running), then the
# namespaces and the temporary directory.
cleanup() {
	for sig in TERM KILL; do
		for p in $PAIRS; do
			for s in a b; do
				pids=$(ip netns pids "$PREFIX-$p-$s" 2>/dev/null || true)
				[ -z "$pids" ] || kill -$sig $pids 2>/dev/null || true
				[ $sig = TERM ] || ip netns del "$PREFIX-$p-$s" 2>/dev/null || true
			done
		done
		[ $sig = KILL ] || sleep 0.3
	done
	rm -rf "${TMP:-}"
}
# Ctrl-C and kill go through exit, so through cleanup.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cleanup
TMP=$(mktemp -d)
for p in $PAIRS; do
	a=$PREFIX-$p-a b=$PREFIX-$p-b
	ip netns add $a; ip netns add $b
	ip -n $a link add va type veth peer name vb
	ip -n $a link set vb netns $b
	ip -n $a addr add 198.18.0.1/24 dev va; ip -n $b addr add 198.18.0.2/24 dev vb
	ip -n $a link set lo up; ip -n $b link set lo up
	ip -n $a link set va up; ip -n $b link set vb up
done

start() { # name namespace command: starts it, its PID in $TMP/name.pid; output to $LOGDIR/name.log when LOGDIR is set
	out=/dev/null
	[ -z "${LOGDIR:-}" ] || out=$LOGDIR/$1.log
	ip netns exec "$2" sh -c "$3" >"$out" 2>&1 &
	echo $! >"$TMP/$1.pid"
}
# measure name: CPU seconds (all threads' run time from schedstat, in ns,
# startup included) and peak RSS in KiB of a process that is still running.
measure() {
	pid=$(cat "$TMP/$1.pid")
	[ -d "/proc/$pid" ] || { echo "$1 exited early" >&2; exit 1; }
	cpu=$(cat /proc/"$pid"/task/*/schedstat | awk '{s += $1} END {printf "%.3f", s / 1e9}')
	rss=$(awk '/^VmHWM:/ {print $2}' /proc/"$pid"/status)
	echo "$cpu $rss" >"$TMP/$1"
}

# median name [field]: the median over the rounds of field (1: CPU s, the
# default; 2: peak RSS KiB) of process name's measures ($TMP/name-ROUND).
median() { for r in $(seq "$ROUNDS"); do awk "{print \$${2:-1}}" "$TMP/$1-$r"; done | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }

# base_conf: the configuration every pair's daemons start from, into
# $TMP/conf: Sync and Delay_Req at 2^LOGSYNC s, software timestamps, no
# summary lines.
base_conf() {
	cat >"$TMP/conf" <<C
[global]
logAnnounceInterval -2
logSyncInterval $LOGSYNC
logMinDelayReqInterval $LOGSYNC
time_stamping software
summary_interval 0
C
}
