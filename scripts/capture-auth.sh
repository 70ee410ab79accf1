#!/usr/bin/env bash
# Records authenticated PTP traffic (IEEE 1588-2019 16.14 AUTHENTICATION TLV)
# between two linuxptp 4.4 ptp4l instances built by
# scripts/linuxptp44.sh, on veth pairs joined by a bridge in
# network namespaces, with software timestamps. The client runs with
# free_running 1, so no clock of the machine is adjusted. pmc 4.4 sends
# management GETs over the network with the same security association.
# Needs root, iproute2, tcpdump, gcc, make and nettle-dev.
#
#   capture-auth.sh OUTDIR            # all scenarios
#   capture-auth.sh OUTDIR SCENARIO   # one of them
#
# Scenarios: auth-udp4-e2e-sha256-128, auth-l2-p2p-aes128, auth-udp4-e2e-sha256-mutable
# OUTDIR also gets sa.cfg, the security associations the captures used.
set -euo pipefail
out=$(realpath "${1:?usage: capture-auth.sh OUTDIR [SCENARIO]}")
only=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/linuxptp44.sh")
work=$(mktemp -d)
ns_a=ptpauth-a.$$ ns_b=ptpauth-b.$$ ns_c=ptpauth-c.$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in $ns_a $ns_b $ns_c; do ip netns del "$n" 2>/dev/null || true; done
  [[ -n ${KEEP_LOG:-} ]] && cp "$work/log" "$out/capture-auth.log"; rm -rf "$work"
}
trap cleanup EXIT

# The keys are test keys, published here: never use them on a network.
cat >"$out/sa.cfg" <<'C'
# Security associations of the captures in this directory (test keys).
[security_association]
spp 1
1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C
2 SHA256 32 HEX:EE91D469B3A8ADC6AC8EB28E21794C706E08FDE48863828A7B0281AFCA81B17D

[security_association]
spp 2
seqid_window 20
1 AES128 HEX:FAF48EBA01E7C5966A76CB787AED4E7B
2 AES256 B64:PKTF9VQz94qPaoAzW4eE3JtFoQ8Ov1OTQSojalWyMbs=

[security_association]
spp 3
allow_mutable 1
7 SHA256 26 ASCII:abcdefghijklmnopqrstuvwxyz
C

setup() {
  ip netns add $ns_a; ip netns add $ns_b; ip netns add $ns_c
  ip -n $ns_c link add br0 type bridge
  ip -n $ns_c link set br0 type bridge mcast_snooping 0 group_fwd_mask 0x4000
  ip -n $ns_c link set br0 up
  local i=1
  for n in $ns_a $ns_b; do
    ip link add "p$i.$$" type veth peer name "e$i.$$"
    ip link set "p$i.$$" netns $ns_c; ip link set "e$i.$$" netns "$n"
    ip -n "$n" link set "e$i.$$" name eth0
    ip -n $ns_c link set "p$i.$$" master br0; ip -n $ns_c link set "p$i.$$" up
    ip -n "$n" addr add "198.18.0.$i/24" dev eth0
    ip -n "$n" link set eth0 up; ip -n "$n" link set lo up
    i=$((i+1))
  done
}

conf() { # $1 gm|client, $2 uds path, $3 spp, $4 key id
  echo "[global]"
  echo "domainNumber 24"
  echo "sa_file $out/sa.cfg"
  echo "spp $3"
  echo "active_key_id $4"
  echo "uds_address $2"
  echo "uds_ro_address $2.ro"
  echo "logAnnounceInterval 0"
  echo "logSyncInterval -2"
  echo "logMinDelayReqInterval -2"
  echo "logMinPdelayReqInterval -2"
  if [[ $1 == gm ]]; then
    echo "priority1 1"; echo "clockClass 6"
  else
    echo "slaveOnly 1"; echo "free_running 1"
  fi
}

run_bg() { "$@" >>"$work/log" 2>&1 & pids+=($!); }

scenario() { # $1 name, $2 ptp4l transport flags, $3 spp, $4 key, $5 filter
  local name=$1; [[ -z $only || $only == "$name" ]] || return 0
  echo "== $name"
  setup
  ip netns exec $ns_b timeout 16 tcpdump -Z root -U -n -i eth0 -w "$out/$name.pcap" $5 >>"$work/log" 2>&1 &
  pids+=($!)
  sleep 1
  conf gm "$work/a.sock" "$3" "$4" >"$work/a.conf"
  conf client "$work/b.sock" "$3" "$4" >"$work/b.conf"
  run_bg ip netns exec $ns_a "$bin/ptp4l" -f "$work/a.conf" -i eth0 -S $2 -m
  run_bg ip netns exec $ns_b "$bin/ptp4l" -f "$work/b.conf" -i eth0 -S $2 -m
  sleep 11
  # pmc reads spp, active_key_id and sa_file from its own config file.
  conf client "$work/pmc.sock" "$3" "$4" >"$work/pmc.conf"
  ip netns exec $ns_b timeout 3 "$bin/pmc" -f "$work/pmc.conf" ${2% -P} -i eth0 -b 1 -d 24 \
    'GET DEFAULT_DATA_SET' 'GET CURRENT_DATA_SET' 'GET PORT_DATA_SET' </dev/null >>"$work/log" 2>&1 || true
  wait "${pids[0]}" || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  for n in $ns_a $ns_b $ns_c; do ip netns del "$n" 2>/dev/null || true; done
  ls -l "$out/$name.pcap"
}

scenario auth-udp4-e2e-sha256-128 "-4" 1 1 'udp port 319 or udp port 320'
scenario auth-l2-p2p-aes128 "-2 -P" 2 1 'ether proto 0x88f7'
scenario auth-udp4-e2e-sha256-mutable "-4" 3 7 'udp port 319 or udp port 320'
