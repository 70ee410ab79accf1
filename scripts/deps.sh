#!/usr/bin/env bash
# Installs the Debian packages the tests (and the demo) need, when they are
# missing. It only installs when it can (root with apt-get); otherwise it
# prints what is missing and lets the tests decide: they skip with a reason
# on a laptop and fail under CI=true.
set -euo pipefail

want=()
need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || want+=("$2")
}
need ip iproute2
need cc gcc
need ptp4l linuxptp
need tcpdump tcpdump
need tshark tshark
need ethtool ethtool
need gpsd gpsd
need gpsfake gpsd-clients
need promtool prometheus
need openssl openssl
need systemd-analyze systemd
need make make
[ -f /usr/include/linux/ptp_clock.h ] || want+=(linux-libc-dev)
# linuxptp 4.4's authentication (built by the tests from testdata/linuxptp)
[ -f /usr/include/nettle/nettle-meta.h ] || want+=(nettle-dev)

if [ ${#want[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${want[*]}; install them (as root: apt-get install -y ${want[*]}); tests that need them will skip" >&2
  exit 0
fi
echo "deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
