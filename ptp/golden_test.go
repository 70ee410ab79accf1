package ptp_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// goldenDir holds one TSV per capture, written by tshark through
// testdata/golden/gen.sh.
const goldenDir = "../testdata/golden"

// goldenRow is one message as Wireshark's dissector read it: tshark field
// name to its text.
type goldenRow map[string]string

// readGolden loads a tshark TSV keyed by frame number.
func readGolden(t *testing.T, path string) map[int]goldenRow {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err, "golden file missing: run testdata/golden/gen.sh")
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	require.True(t, sc.Scan(), "%s: empty (no header line)", path)
	names := strings.Split(sc.Text(), "\t")
	rows := map[int]goldenRow{}
	for line := 2; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		require.Len(t, cols, len(names), "%s:%d", path, line)
		row := goldenRow{}
		for i, n := range names {
			row[n] = cols[i]
		}
		frame, err := strconv.Atoi(row["frame.number"])
		require.NoError(t, err, "%s:%d", path, line)
		rows[frame] = row
	}
	require.NoError(t, sc.Err())
	return rows
}

// golden formats the values tshark prints, in tshark's own notation, so a
// mismatch reads like a diff of two dissector outputs.
type goldenCheck struct {
	field string
	ours  string
}

func hex8(v uint8) string   { return fmt.Sprintf("0x%02x", v) }
func hex16(v uint16) string { return fmt.Sprintf("0x%04x", v) }
func dec[T ~int8 | ~int16 | ~int32 | ~uint8 | ~uint16 | ~uint32 | ~uint64](v T) string {
	return strconv.FormatInt(int64(v), 10)
}
func clockID(c ptp.ClockIdentity) string { return fmt.Sprintf("0x%x", c[:]) }

// tsChecks compares a Timestamp under tshark's prefix (for example
// "ptp.v2.sdr.origintimestamp").
func tsChecks(prefix string, ts ptp.Timestamp) []goldenCheck {
	return []goldenCheck{
		{prefix + ".seconds", strconv.FormatUint(ts.Seconds, 10)},
		{prefix + ".nanoseconds", strconv.FormatUint(uint64(ts.Nanoseconds), 10)},
	}
}

// goldenChecks lists what tshark printed for p, field by field.
func goldenChecks(p ptp.Packet) []goldenCheck {
	h := p.Hdr()
	cf := int64(h.CorrectionField)
	cs := []goldenCheck{
		{"ptp.v2.messagetype", hex8(uint8(h.MessageType))},
		{"ptp.v2.versionptp", dec(h.VersionPTP)},
		{"ptp.v2.minorversionptp", dec(h.MinorVersionPTP)},
		{"ptp.v2.messagelength", dec(h.MessageLength)},
		{"ptp.v2.domainnumber", dec(h.DomainNumber)},
		{"ptp.v2.majorsdoid", hex8(h.MajorSdoID)},
		{"ptp.v2.minorsdoid", dec(h.MinorSdoID)},
		{"ptp.v2.flags", hex16(uint16(h.Flags))},
		// Wireshark splits correctionField into whole nanoseconds (an
		// arithmetic shift, so negative values floor) and the 2^-16 rest.
		{"ptp.v2.correction.ns", strconv.FormatUint(uint64(cf>>16), 10)},
		{"ptp.v2.correction.subns", strconv.FormatFloat(float64(cf&0xffff)/65536, 'g', -1, 64)},
		{"ptp.v2.clockidentity", clockID(h.SourcePortIdentity.ClockIdentity)},
		{"ptp.v2.sourceportid", dec(h.SourcePortIdentity.PortNumber)},
		{"ptp.v2.sequenceid", dec(h.SequenceID)},
		{"ptp.v2.controlfield", dec(h.ControlField)},
		{"ptp.v2.logmessageperiod", dec(h.LogMessageInterval)},
	}
	// Under majorSdoId 1 (IEEE 802.1AS) Wireshark shows the ten octets
	// after the header of Sync and Pdelay_Req as reserved, not as a
	// timestamp, so there is nothing of its to compare ours with.
	gptp := h.MajorSdoID == 1
	switch m := p.(type) {
	case *ptp.Sync:
		if !gptp {
			cs = append(cs, tsChecks("ptp.v2.sdr.origintimestamp", m.OriginTimestamp)...)
		}
	case *ptp.DelayReq:
		cs = append(cs, tsChecks("ptp.v2.sdr.origintimestamp", m.OriginTimestamp)...)
	case *ptp.FollowUp:
		cs = append(cs, tsChecks("ptp.v2.fu.preciseorigintimestamp", m.PreciseOriginTimestamp)...)
	case *ptp.DelayResp:
		cs = append(cs, tsChecks("ptp.v2.dr.receivetimestamp", m.ReceiveTimestamp)...)
		cs = append(cs,
			goldenCheck{"ptp.v2.dr.requestingsourceportidentity", clockID(m.RequestingPortIdentity.ClockIdentity)},
			goldenCheck{"ptp.v2.dr.requestingsourceportid", dec(m.RequestingPortIdentity.PortNumber)})
	case *ptp.PdelayReq:
		if !gptp {
			cs = append(cs, tsChecks("ptp.v2.pdrq.origintimestamp", m.OriginTimestamp)...)
		}
	case *ptp.PdelayResp:
		cs = append(cs, tsChecks("ptp.v2.pdrs.requestreceipttimestamp", m.RequestReceiptTimestamp)...)
		cs = append(cs,
			goldenCheck{"ptp.v2.pdrs.requestingportidentity", clockID(m.RequestingPortIdentity.ClockIdentity)},
			goldenCheck{"ptp.v2.pdrs.requestingsourceportid", dec(m.RequestingPortIdentity.PortNumber)})
	case *ptp.PdelayRespFollowUp:
		cs = append(cs, tsChecks("ptp.v2.pdfu.responseorigintimestamp", m.ResponseOriginTimestamp)...)
		cs = append(cs,
			goldenCheck{"ptp.v2.pdfu.requestingportidentity", clockID(m.RequestingPortIdentity.ClockIdentity)},
			goldenCheck{"ptp.v2.pdfu.requestingsourceportid", dec(m.RequestingPortIdentity.PortNumber)})
	case *ptp.Announce:
		q := m.GrandmasterClockQuality
		cs = append(cs, tsChecks("ptp.v2.an.origintimestamp", m.OriginTimestamp)...)
		cs = append(cs,
			goldenCheck{"ptp.v2.an.origincurrentutcoffset", dec(m.CurrentUTCOffset)},
			goldenCheck{"ptp.v2.timesource", hex8(uint8(m.TimeSource))},
			goldenCheck{"ptp.v2.an.localstepsremoved", dec(m.StepsRemoved)},
			goldenCheck{"ptp.v2.an.grandmasterclockidentity", clockID(m.GrandmasterIdentity)},
			goldenCheck{"ptp.v2.an.grandmasterclockclass", dec(q.ClockClass)},
			goldenCheck{"ptp.v2.an.grandmasterclockaccuracy", hex8(uint8(q.ClockAccuracy))},
			goldenCheck{"ptp.v2.an.grandmasterclockvariance", dec(q.OffsetScaledLogVariance)},
			goldenCheck{"ptp.v2.an.priority1", dec(m.GrandmasterPriority1)},
			goldenCheck{"ptp.v2.an.priority2", dec(m.GrandmasterPriority2)})
	case *ptp.Signaling:
		cs = append(cs,
			goldenCheck{"ptp.v2.sig.targetportidentity", clockID(m.TargetPortIdentity.ClockIdentity)},
			goldenCheck{"ptp.v2.sig.targetportid", dec(m.TargetPortIdentity.PortNumber)})
		for tlv := range m.TLVs.All() {
			cs = append(cs, goldenCheck{"ptp.v2.sig.tlv.tlvType", dec(uint16(tlv.Type))})
			break
		}
	case *ptp.Management:
		cs = append(cs,
			goldenCheck{"ptp.v2.mm.targetportidentity", clockID(m.TargetPortIdentity.ClockIdentity)},
			goldenCheck{"ptp.v2.mm.targetportid", dec(m.TargetPortIdentity.PortNumber)},
			goldenCheck{"ptp.v2.mm.startingboundaryhops", dec(m.StartingBoundaryHops)},
			goldenCheck{"ptp.v2.mm.boundaryhops", dec(m.BoundaryHops)},
			goldenCheck{"ptp.v2.mm.action", dec(uint8(m.ActionField))})
		for tlv := range m.TLVs.All() {
			cs = append(cs, goldenCheck{"ptp.v2.mm.tlvType", dec(uint16(tlv.Type))})
			break
		}
		if id, _, ok, err := m.ManagementTLV(); ok && err == nil {
			cs = append(cs, goldenCheck{"ptp.v2.mm.managementId", dec(uint16(id))})
		}
	}
	return cs
}

// TestCapturesAgreeWithTshark decodes every PTPv2 message of every capture
// in testdata/pcap and checks each header field, timestamp, identity,
// Announce data set and management/signaling addressing against what
// Wireshark's dissector printed for the same frame. It also checks that
// both saw the same set of frames, so neither can skip messages silently.
func TestCapturesAgreeWithTshark(t *testing.T) {
	files, err := filepath.Glob("../testdata/pcap/*/*.pcap*")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 18, "the repository's captures are missing")
	total := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			rows := readGolden(t, filepath.Join(goldenDir, filepath.Base(path)+".tsv"))
			r, err := capture.Open(path)
			require.NoError(t, err)
			defer r.Close()
			seen := map[int]bool{}
			var pkt capture.Packet
			for {
				err := r.Next(&pkt)
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				p, err := ptp.Decode(pkt.Payload)
				if err != nil {
					// Only the PTPv1 capture may be refused; tshark must not
					// have a v2 row for such a frame.
					require.ErrorIs(t, err, ptp.ErrUnsupportedVersion, "frame %d", pkt.Frame)
					assert.NotContains(t, rows, pkt.Frame, "tshark read frame %d as PTPv2", pkt.Frame)
					continue
				}
				row, ok := rows[pkt.Frame]
				require.True(t, ok, "frame %d (%s): decoded by us, absent from tshark's output", pkt.Frame, p.Type())
				seen[pkt.Frame] = true
				for _, c := range goldenChecks(p) {
					want, ok := row[c.field]
					require.True(t, ok, "golden file lacks column %s: regenerate it", c.field)
					if !assert.Equal(t, want, c.ours, "frame %d (%s) %s", pkt.Frame, p.Type(), c.field) {
						return
					}
				}
			}
			for frame := range rows {
				assert.True(t, seen[frame], "frame %d: tshark decoded PTPv2 that we did not", frame)
			}
			total += len(seen)
		})
	}
	t.Logf("%d messages agree with tshark", total)
}
