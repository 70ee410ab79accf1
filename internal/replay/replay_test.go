package replay

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/analyze"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// TestReplayAgreesWithAnalyser replays ptp4l's E2E and P2P captures
// through the engine: the client reaches SLAVE following the recorded grandmaster, and
// every offset and path delay it computes equals the analyser's
// independent computation from the same capture within 1 ns.
func TestReplayAgreesWithAnalyser(t *testing.T) {
	for _, name := range []string{"udp4-e2e.pcap", "l2-e2e.pcap", "udp4-mgmt.pcap", "l2-p2p.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := "../../testdata/pcap/linuxptp/" + name
			res, err := File(path, 24)
			require.NoError(t, err)

			type ref struct{ offset, delay float64 }
			want := map[int64]ref{}
			rep := analyze.New(name)
			rep.OnOffset = func(_ string, t2 int64, off, d float64) { want[t2] = ref{off, d} }
			require.NoError(t, rep.ReadFile(path))
			rep2 := rep

			assert.Equal(t, engine.Slave, res.State, "the client follows the recorded grandmaster")
			var gm string
			for _, p := range rep2.Ports {
				if p.Grandmaster != "" {
					gm = p.Grandmaster
				}
			}
			assert.Equal(t, gm, res.Grandmaster.String())

			matched := 0
			for _, s := range res.Samples {
				w, ok := want[s.IngressTime]
				if !ok {
					continue
				}
				matched++
				assert.LessOrEqual(t, math.Abs(float64(s.Offset)-w.offset), 1.0, "offset at t2=%d", s.IngressTime)
				assert.LessOrEqual(t, math.Abs(float64(s.PathDelay)-w.delay), 1.0, "delay at t2=%d", s.IngressTime)
			}
			t.Logf("%s: %d engine samples, %d analyser samples, %d equal within 1 ns; recorded exchanges before the client followed: %d",
				name, len(res.Samples), len(want), matched, res.Unanswered)
			assert.GreaterOrEqual(t, matched, 50)
			// The analyser starts as soon as it has a path delay; the engine
			// once its port follows the grandmaster (two Announces later).
			assert.GreaterOrEqual(t, len(res.Samples), len(want)*3/4, "nearly the same measurements")
			assert.Equal(t, len(res.Samples), matched, "every one of the engine's equal to the analyser's")
		})
	}
}
