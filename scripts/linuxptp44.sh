#!/usr/bin/env bash
# Builds linuxptp 4.4 (ptp4l, pmc, phc2sys, ts2phc, with the AUTHENTICATION
# TLV through nettle) from testdata/linuxptp/linuxptp-4.4.tar.gz, digest
# checked, into the same cache directory and under the same lock as the
# tests' internal/linuxptp.Build44, and prints the directory of the
# binaries. Needs gcc, make and nettle-dev (make deps installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tarball=${ROKO_LINUXPTP_TARBALL:-$here/../testdata/linuxptp/linuxptp-4.4.tar.gz}
sum=ee68b3814d8e592ae6d9f1650bd6af5b843cd13fb628e25c87a2f530743221ba
echo "$sum  $tarball" | sha256sum -c --quiet - >&2 || { echo "linuxptp44: $tarball is not linuxptp 4.4" >&2; exit 1; }
[ -f /usr/include/nettle/nettle-meta.h ] || { echo "linuxptp44: nettle-dev is missing (make deps)" >&2; exit 1; }
root=${XDG_CACHE_HOME:-$HOME/.cache}/roko-linuxptp-4.4-${sum:0:12}
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if [ ! -f "$root/.built" ]; then
  rm -rf "$root/linuxptp-4.4"
  tar xzf "$tarball" -C "$root"
  make -C "$root/linuxptp-4.4" -j"$(nproc)" ptp4l pmc phc2sys ts2phc >"$root/build.log" 2>&1 ||
    { echo "linuxptp44: build failed, see $root/build.log" >&2; exit 1; }
  touch "$root/.built"
fi
echo "$root/linuxptp-4.4"
