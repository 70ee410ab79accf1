#!/bin/sh
# Regenerates the tshark golden files that ptp/golden_test.go compares our
# decoder against. Wireshark's PTP dissector is an implementation written
# independently of ours, so agreement on every field of every message is
# evidence that both read the standard the same way.
#
# Usage: testdata/golden/gen.sh        (from the repository root)
# Needs: tshark 4.0 or later (Debian: apt-get install tshark).
#
# One TSV per capture under testdata/pcap, named after it. The first line
# names the tshark fields; a field that does not apply to a message is empty.
# Only the first occurrence of a field in a frame is kept (-E occurrence=f).
set -eu
cd "$(dirname "$0")/../.."

fields="frame.number
ptp.v2.messagetype
ptp.v2.versionptp
ptp.v2.minorversionptp
ptp.v2.messagelength
ptp.v2.domainnumber
ptp.v2.majorsdoid
ptp.v2.minorsdoid
ptp.v2.flags
ptp.v2.correction.ns
ptp.v2.correction.subns
ptp.v2.clockidentity
ptp.v2.sourceportid
ptp.v2.sequenceid
ptp.v2.controlfield
ptp.v2.logmessageperiod
ptp.v2.sdr.origintimestamp.seconds
ptp.v2.sdr.origintimestamp.nanoseconds
ptp.v2.fu.preciseorigintimestamp.seconds
ptp.v2.fu.preciseorigintimestamp.nanoseconds
ptp.v2.dr.receivetimestamp.seconds
ptp.v2.dr.receivetimestamp.nanoseconds
ptp.v2.dr.requestingsourceportidentity
ptp.v2.dr.requestingsourceportid
ptp.v2.pdrq.origintimestamp.seconds
ptp.v2.pdrq.origintimestamp.nanoseconds
ptp.v2.pdrs.requestreceipttimestamp.seconds
ptp.v2.pdrs.requestreceipttimestamp.nanoseconds
ptp.v2.pdrs.requestingportidentity
ptp.v2.pdrs.requestingsourceportid
ptp.v2.pdfu.responseorigintimestamp.seconds
ptp.v2.pdfu.responseorigintimestamp.nanoseconds
ptp.v2.pdfu.requestingportidentity
ptp.v2.pdfu.requestingsourceportid
ptp.v2.an.origintimestamp.seconds
ptp.v2.an.origintimestamp.nanoseconds
ptp.v2.an.origincurrentutcoffset
ptp.v2.timesource
ptp.v2.an.localstepsremoved
ptp.v2.an.grandmasterclockidentity
ptp.v2.an.grandmasterclockclass
ptp.v2.an.grandmasterclockaccuracy
ptp.v2.an.grandmasterclockvariance
ptp.v2.an.priority1
ptp.v2.an.priority2
ptp.v2.sig.targetportidentity
ptp.v2.sig.targetportid
ptp.v2.sig.tlv.tlvType
ptp.v2.mm.targetportidentity
ptp.v2.mm.targetportid
ptp.v2.mm.startingboundaryhops
ptp.v2.mm.boundaryhops
ptp.v2.mm.action
ptp.v2.mm.tlvType
ptp.v2.mm.managementId"

args=""
for f in $fields; do args="$args -e $f"; done

find testdata/pcap -name '*.pcap' -o -name '*.pcapng' | sort | while read -r pcap; do
	out="testdata/golden/$(basename "$pcap").tsv"
	# -o: decode PTP on its ports even where a heuristic would pick another
	# protocol; -Y ptp.v2.messagetype keeps PTPv2 frames only.
	# shellcheck disable=SC2086
	tshark -n -r "$pcap" -Y ptp.v2.messagetype -T fields -E header=y \
		-E separator=/t -E occurrence=f $args >"$out" 2>/dev/null
	echo "$out: $(($(wc -l <"$out") - 1)) messages"
done
