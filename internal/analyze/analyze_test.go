package analyze

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

var update = flag.Bool("update", false, "rewrite the golden analyses in testdata/golden/analyze")

const goldenDir = "../../testdata/golden/analyze"

// TestGolden analyses every capture of the repository and compares the
// JSON with the committed golden file (go test ./internal/analyze -update
// rewrites them after a deliberate change).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../../testdata/pcap/*/*.pcap*")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 18)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rep, err := File(f)
			require.NoError(t, err)
			rep.File = filepath.Base(f)
			got, err := json.MarshalIndent(rep, "", "  ")
			require.NoError(t, err)
			golden := filepath.Join(goldenDir, filepath.Base(f)+".json")
			if *update {
				require.NoError(t, os.MkdirAll(goldenDir, 0o755))
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: go test ./internal/analyze -update")
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

// TestLinuxptpCaptures pins the facts of ptp4l's own captures: one
// grandmaster, its Sync and Follow_Up at 16/s all matched, every Delay_Req
// answered, and the offset of the capturing host (both ends ran on one
// machine) near zero against software-timestamp noise.
func TestLinuxptpCaptures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		delay bool // E2E path delays from Delay_Resp
	}{{"udp4-e2e.pcap", true}, {"l2-e2e.pcap", true}, {"l2-p2p.pcap", false}} {
		t.Run(tc.file, func(t *testing.T) {
			rep, err := File("../../testdata/pcap/linuxptp/" + tc.file)
			require.NoError(t, err)
			var gm *Port
			for _, p := range rep.Ports {
				if p.Grandmaster != "" {
					gm = p
				}
			}
			require.NotNil(t, gm)
			sync := gm.Messages["SYNC"]
			require.NotNil(t, sync)
			assert.InDelta(t, 16, sync.Rate, 0.5)
			assert.Zero(t, sync.Lost)
			assert.Zero(t, gm.SyncWithoutFollowUp+gm.FollowUpWithoutSync)
			assert.Greater(t, gm.Offset.N, 50)
			assert.Less(t, abs(gm.Offset.Mean), 10_000.0, "offset near zero: one machine, one clock")
			assert.Positive(t, gm.PathDelay.N)
			for _, p := range rep.Ports {
				assert.Zero(t, p.DelayReqUnanswered, p.Identity)
				assert.Zero(t, p.DelayRespUnmatched, p.Identity)
			}
			assert.Empty(t, rep.GMChanges)
			assert.Empty(t, rep.Problems)
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestDamagedCaptures: a truncated file, truncated packets and garbage
// frames are analysed as far as they go, with the damage reported.
func TestDamagedCaptures(t *testing.T) {
	src, err := os.ReadFile("../../testdata/pcap/linuxptp/udp4-e2e.pcap")
	require.NoError(t, err)
	t.Run("truncated file", func(t *testing.T) {
		r, err := capture.NewReader(bytes.NewReader(src[:len(src)/2+7]))
		require.NoError(t, err)
		rep := New("half")
		require.NoError(t, rep.Read(r))
		assert.True(t, rep.Truncated)
		assert.Positive(t, rep.PTP)
		var out strings.Builder
		rep.WriteText(&out)
		assert.Contains(t, out.String(), "file truncated")
	})
	t.Run("garbage and cut frames", func(t *testing.T) {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		require.NoError(t, w.WriteFileHeader(65535, layers.LinkTypeEthernet))
		good := ptpFrame(t, 1)
		for i, f := range [][]byte{
			good,                                  // 1: fine
			good[:20],                             // 2: a PTP message cut short
			udpFrame(t, []byte{0x12, 0x02, 0xff}), // 3: garbage to port 319
			udpFrame(t, good[14:])[:30],           // 4: cut inside its IP header
			ptpFrame(t, 2),                        // 5: fine
		} {
			ci := gopacketCI(time.Unix(1_700_000_000+int64(i), 0), len(f))
			require.NoError(t, w.WritePacket(ci, f))
		}
		r, err := capture.NewReader(&buf)
		require.NoError(t, err)
		rep := New("damaged")
		require.NoError(t, rep.Read(r))
		assert.Equal(t, 5, rep.Frames)
		assert.Equal(t, 1, rep.Damaged, "the frame cut inside IP")
		require.Len(t, rep.Problems, 2, "the short and the garbage PTP payloads")
		assert.Equal(t, 2, rep.Problems[0].Frame)
		assert.Equal(t, 3, rep.Problems[1].Frame)
		assert.Contains(t, rep.Problems[0].Error, "truncated")
		require.Len(t, rep.Ports, 1)
		assert.Equal(t, 2, rep.Ports[0].Messages["SYNC"].Count)
	})
}

// BenchmarkAnalyze reads a generated capture of Sync/Follow_Up pairs from
// memory: packets per second through capture reading, decoding and
// analysis.
func BenchmarkAnalyze(b *testing.B) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	for i := range n {
		f := ptpFrame(b, uint16(i))
		if err := w.WritePacket(gopacketCI(time.Unix(1_700_000_000, int64(i)*62_500_000), len(f)), f); err != nil {
			b.Fatal(err)
		}
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := capture.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		rep := New("bench")
		if err := rep.Read(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// ptpFrame is an Ethernet frame carrying a one-step Sync with sequence seq.
func ptpFrame(tb testing.TB, seq uint16) []byte {
	tb.Helper()
	s := &ptp.Sync{Header: ptp.Header{VersionPTP: 2, DomainNumber: 0, SequenceID: seq,
		SourcePortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{1, 2, 3, 0xff, 0xfe, 4, 5, 6}, PortNumber: 1}},
		OriginTimestamp: ptp.Timestamp{Seconds: 1_700_000_000}}
	msg, err := s.AppendBinary(nil)
	require.NoError(tb, err)
	f := make([]byte, 14, 14+len(msg))
	copy(f, []byte{0x01, 0x1b, 0x19, 0, 0, 0, 0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], capture.EtherTypePTP)
	return append(f, msg...)
}

// udpFrame is an Ethernet/IPv4/UDP frame to port 319 with payload.
func udpFrame(tb testing.TB, payload []byte) []byte {
	tb.Helper()
	f := make([]byte, 14+20+8+len(payload))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], []byte{198, 18, 0, 1})
	copy(ip[16:20], []byte{224, 0, 1, 129})
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 319)
	binary.BigEndian.PutUint16(udp[2:], 319)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(udp[8:], payload)
	return f
}
