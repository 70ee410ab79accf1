package engine_test

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// TestUTCTimescale: a client whose clock keeps UTC follows a grandmaster
// on PTP's timescale at its time less the UTC offset, and a PHC follows it
// as it is (ptp4l's clock_utc_correct); the UTC offset is taken from the
// grandmaster by linuxptp's rule, with its log lines, and handed to the
// kernel once when valid and traceable.
func TestUTCTimescale(t *testing.T) {
	const tai = ptp.FlagPTPTimescale | ptp.FlagCurrentUTCOffsetValid | ptp.FlagTimeTraceable
	for _, tc := range []struct {
		name       string
		gmFlags    ptp.Flags
		gmUTC      bool  // the grandmaster's clock keeps UTC
		gmOffset   int16 // the currentUtcOffset it announces
		clUTC      bool
		clFree     bool
		wantBehind float64 // the client's time behind the grandmaster's, s
		wantTAI    []int16
		wantLines  []string // of these, the client logs exactly the ones listed
	}{
		{name: "UTC client of a TAI grandmaster", gmFlags: tai, gmOffset: 37, clUTC: true,
			wantBehind: 37, wantTAI: []int16{37}},
		{name: "PHC client of a TAI grandmaster", gmFlags: tai, gmOffset: 37},
		{name: "a new offset, valid and traceable", gmFlags: tai, gmOffset: 38, clUTC: true,
			wantBehind: 38, wantTAI: []int16{38}, wantLines: []string{"updating UTC offset to 38"}},
		{name: "a smaller offset, not valid", gmFlags: ptp.FlagPTPTimescale, gmOffset: 36, clUTC: true,
			wantBehind: 37, wantLines: []string{"running in a temporal vortex"}},
		{name: "a larger offset, not valid", gmFlags: ptp.FlagPTPTimescale, gmOffset: 38, clUTC: true,
			wantBehind: 38, wantLines: []string{"updating UTC offset to 38"}},
		{name: "UTC client of a UTC grandmaster", gmFlags: tai, gmUTC: true, gmOffset: 37, clUTC: true,
			wantTAI: []int16{37}, wantLines: []string{"foreign master not using PTP timescale"}},
		{name: "free-running UTC client", gmFlags: tai, gmOffset: 37, clUTC: true, clFree: true,
			wantBehind: 37},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(t)
			gcfg := engine.GMConfig(1)
			gcfg.TimeFlags, gcfg.UTCOffset, gcfg.UTCTimescale = tc.gmFlags, tc.gmOffset, tc.gmUTC
			gm := n.AddNode("gm", gcfg, []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
			ccfg := engine.ClientConfig(2)
			ccfg.UTCTimescale, ccfg.FreeRunning = tc.clUTC, tc.clFree
			// The client starts 2 ms off the time it should keep.
			start := -tc.wantBehind*1e9 + 2e6
			cl := n.AddNode("cl", ccfg, []engine.PortConfig{engine.FastPort("cl0")}, engine.NewTestPI(20_000), start, 0)
			n.Connect(gm, 0, cl, 0, 5000, 5000)
			n.Start()
			n.Run(30*sec, sec, nil)

			if tc.clFree {
				// Its servo never locks: the best a free-running client reports.
				assert.Equal(t, engine.Uncalibrated, cl.Clock.Port(0).State())
			} else {
				assert.Equal(t, engine.Slave, cl.Clock.Port(0).State())
			}
			behind := -simnet.TrueError(cl, gm, n.Now())
			off, _ := cl.Clock.Offset()
			if tc.clFree {
				assert.Zero(t, cl.Steps(), "a free-running clock is left alone")
				assert.InDelta(t, tc.wantBehind*1e9-2e6, behind, 1, "the clock did not move")
				assert.InDelta(t, 2e6, float64(off), 100, "the offset is measured on the clock's own timescale")
			} else {
				assert.Equal(t, 1, cl.Steps(), "one step, of 2 ms, not of the UTC offset")
				assert.InDelta(t, tc.wantBehind*1e9, behind, 100, "the client's time behind the grandmaster's, ns")
				assert.Less(t, math.Abs(float64(off)), 100.0, "offsetFromMaster is on the client's timescale")
			}
			assert.Equal(t, tc.wantTAI, cl.TAI, "TAI offsets handed to the kernel")
			for _, line := range []string{"updating UTC offset to 38", "running in a temporal vortex", "foreign master not using PTP timescale"} {
				var seen bool
				for _, l := range cl.Logs {
					seen = seen || l.String() == line
				}
				assert.Equal(t, slices.Contains(tc.wantLines, line), seen, "the client logged %q", line)
			}
			// The grandmaster announces what its clock keeps.
			if tc.gmUTC {
				assert.False(t, ptp.Flags(cl.Clock.TimePropertiesDS().Flags).Has(ptp.FlagPTPTimescale))
			}
		})
	}
}
