package engine_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// TestPairedOffsets runs a client at 16 Hz Sync and Delay_Req with 5 ns
// of timestamp noise, with linuxptp's moving median of 10 and with
// roko-ptpd's windowed estimate, pairing each Sync with the Delay_Req
// before it. Paired, the offsets the servo sees carry half the timestamp
// noise's variance.
func TestPairedOffsets(t *testing.T) {
	run := func(window int, pairAge int64) (offsetRMS, delayErr float64) {
		n := newNetwork(t)
		n.Noise = 5
		gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
		cp := engine.FastPort("cl0")
		cp.DelayWindow, cp.DelayChangeCount, cp.DelayPairAge = window, 3, pairAge
		cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{cp}, engine.NewTestPI(20_000), 2e6, 5_000)
		n.Connect(gm, 0, cl, 0, 5000, 5000)
		n.Start()
		n.Run(60*sec, sec, nil)
		require.True(t, following(cl, gm))
		var sum2 float64
		var count int
		for _, l := range cl.Logs[len(cl.Logs)/2:] {
			if l.Kind == engine.LogOffset {
				sum2 += float64(l.Offset * l.Offset)
				count++
			}
		}
		require.Positive(t, count)
		_, delay := cl.Clock.Offset()
		return math.Sqrt(sum2 / float64(count)), math.Abs(float64(delay - 5000))
	}
	median, _ := run(0, 0)
	window, _ := run(1024, 0)
	paired, delayErr := run(1024, 250*ms)
	t.Logf("offset RMS: median of 10 %.2f ns, window alone %.2f ns, paired %.2f ns", median, window, paired)
	assert.Less(t, paired, 0.85*median)
	assert.Less(t, paired, 0.85*window, "the pairing, not the window, halves the noise")
	assert.LessOrEqual(t, delayErr, 20.0, "the pair or the estimate: within the noise of one pair")
}
