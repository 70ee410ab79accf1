package simnet_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

// tcRun is what one grandmaster — transparent clock — client run saw.
type tcRun struct {
	worst      float64 // the client's worst true error over the last 20 s, ns
	fupCorr    []float64
	respCorr   []float64
	tc, client *simnet.Node
}

// runThroughTC runs a grandmaster, a transparent clock of type typ that
// holds each forwarded event message 200–300 µs, and a client, on links of
// 5 µs each way with 5 ns RMS timestamp noise, for 60 s of virtual time.
// The transparent clock's own clock is 1 ms and +50 ppm off. It returns
// the client's worst true error over the last 20 s, and the
// correctionField of every Follow_Up and Delay_Resp the client received.
func runThroughTC(t *testing.T, typ engine.ClockType, freeRunning, oneStep bool) tcRun {
	n := simnet.New(t, 3)
	n.Noise = 5
	n.OneStepNIC = oneStep
	dm := ptp.DelayMechanismE2E
	if typ == engine.P2PTransparent {
		dm = ptp.DelayMechanismP2P
	}
	port := func(name string) engine.PortConfig {
		p := engine.DefaultPortConfig(name)
		p.LogSyncInterval, p.LogMinDelayReqInterval, p.LogMinPdelayReqInterval = -4, -4, -4
		p.DelayMechanism = dm
		return p
	}
	newServo := func() engine.Servo {
		s, err := servo.NewPI(servo.DefaultConfig(), 0)
		require.NoError(t, err)
		return s
	}
	gcfg := engine.DefaultClockConfig(ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 1})
	gcfg.Priority1 = 1
	gcfg.TwoStep = !oneStep
	tcfg := engine.DefaultClockConfig(ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 3})
	tcfg.Type, tcfg.FreeRunning = typ, freeRunning
	ccfg := engine.DefaultClockConfig(ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 2})
	ccfg.SlaveOnly = true
	gm := n.AddNode("gm", gcfg, []engine.PortConfig{port("gm0")}, newServo(), 0, 0)
	tc := n.AddNode("tc", tcfg, []engine.PortConfig{port("tc0"), port("tc1")}, newServo(), 1e6, 50_000)
	tc.Residence, tc.ResidenceJitter = 200_000, 100_000
	cl := n.AddNode("cl", ccfg, []engine.PortConfig{port("cl0")}, newServo(), 3e6, 20_000)
	n.Connect(gm, 0, tc, 0, 5000, 5000)
	n.Connect(tc, 1, cl, 0, 5000, 5000)
	run := tcRun{tc: tc, client: cl}
	n.Tap = func(to *simnet.Node, _ int, msg []byte) {
		if to != cl {
			return
		}
		var h ptp.Header
		if h.UnmarshalBinary(msg) != nil {
			return
		}
		switch h.MessageType {
		case ptp.MessageFollowUp:
			run.fupCorr = append(run.fupCorr, h.CorrectionField.Nanoseconds())
		case ptp.MessageDelayResp:
			run.respCorr = append(run.respCorr, h.CorrectionField.Nanoseconds())
		}
	}
	n.Start()
	var trace []float64
	n.Run(60*sec, sec/10, func() { trace = append(trace, simnet.TrueError(cl, gm, n.Now())) })
	require.Len(t, trace, 600)
	for _, e := range trace[400:] {
		run.worst = math.Max(run.worst, math.Abs(e))
	}
	assert.Equal(t, engine.Slave, cl.Clock.Port(0).State(), "client")
	// A free-running clock stays UNCALIBRATED, as ptp4l's does.
	assert.True(t, tc.Clock.Port(0).State().IsSlave(), "TC port to the grandmaster: %v", tc.Clock.Port(0).State())
	assert.Equal(t, engine.Master, tc.Clock.Port(1).State(), "TC port to the client")
	return run
}

// A grandmaster, a transparent clock that holds every event message
// 200–300 µs, and a client: the client synchronises within 100 ns (the
// residence time is 1000 times that), every Follow_Up it gets carries the
// residence time (plus, through a P2P clock, the 5 µs link delay to the
// grandmaster), and through an E2E clock every Delay_Resp carries its
// Delay_Req's.
func TestTransparentClockSimulated(t *testing.T) {
	for _, tt := range []struct {
		name         string
		typ          engine.ClockType
		freeRunning  bool
		oneStep      bool
		link         float64 // what the Follow_Up carries besides the residence time, ns
		wantDelayReq bool
	}{
		{"E2E steered", engine.E2ETransparent, false, false, 0, true},
		{"E2E free running", engine.E2ETransparent, true, false, 0, true},
		{"E2E one-step Sync", engine.E2ETransparent, true, true, 0, true},
		{"P2P steered", engine.P2PTransparent, false, false, 5000, false},
		{"P2P free running", engine.P2PTransparent, true, false, 5000, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runThroughTC(t, tt.typ, tt.freeRunning, tt.oneStep)
			t.Logf("worst true error over the last 20 s: %.1f ns; TC stats %+v", r.worst, r.tc.Clock.TCStats())
			assert.Less(t, r.worst, 100.0, "client's true error, ns")
			require.NotEmpty(t, r.fupCorr)
			// Skip the first seconds: the TC's own clock settles (its
			// rate ratio, its link delay measurement).
			for _, c := range r.fupCorr[len(r.fupCorr)/4:] {
				assert.InDelta(t, 250_000+tt.link, c, 50_100, "Follow_Up correctionField, ns")
			}
			if tt.wantDelayReq {
				require.NotEmpty(t, r.respCorr)
				for _, c := range r.respCorr[len(r.respCorr)/4:] {
					assert.InDelta(t, 250_000, c, 50_100, "Delay_Resp correctionField, ns")
				}
			} else {
				assert.Empty(t, r.respCorr, "a P2P clock forwards no Delay_Resp")
			}
			assert.Zero(t, r.tc.Clock.TCStats().Evicted)
			assert.Zero(t, r.tc.Clock.TCStats().Unmatched)
			if tt.freeRunning {
				assert.Zero(t, r.tc.Steps(), "free_running: the TC's clock is never stepped")
				assert.Zero(t, r.tc.FrequencyAdjustment())
			} else {
				assert.Equal(t, 1, r.tc.Steps(), "the TC synchronises its own clock, as ptp4l's does")
			}
		})
	}
}
