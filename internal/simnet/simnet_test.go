package simnet_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

const sec = int64(1e9)

// pair runs a grandmaster and a slave-only client 3 ms and +20 ppm off,
// on a link of 5 µs each way with 5 ns RMS timestamp noise, for 60 s of
// virtual time, and returns the client's true error every 100 ms.
func pair(t *testing.T, seed uint64) (gm, cl *simnet.Node, trace []float64) {
	n := simnet.New(t, seed)
	n.Noise = 5
	port := func(name string) engine.PortConfig {
		p := engine.DefaultPortConfig(name)
		p.LogSyncInterval, p.LogMinDelayReqInterval = -4, -4
		return p
	}
	newPI := func() engine.Servo {
		s, err := servo.NewPI(servo.DefaultConfig(), 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	gcfg := engine.DefaultClockConfig(ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 1})
	gcfg.Priority1 = 1
	ccfg := engine.DefaultClockConfig(ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 2})
	ccfg.SlaveOnly = true
	gm = n.AddNode("gm", gcfg, []engine.PortConfig{port("gm0")}, newPI(), 0, 0)
	cl = n.AddNode("cl", ccfg, []engine.PortConfig{port("cl0")}, newPI(), 3e6, 20_000)
	n.Connect(gm, 0, cl, 0, 5000, 5000)
	n.Start()
	n.Run(60*sec, sec/10, func() { trace = append(trace, simnet.TrueError(cl, gm, n.Now())) })
	return gm, cl, trace
}

// A grandmaster and a client converge: the client follows, steps once,
// and its true error stays within 100 ns over the last 20 s.
func TestGrandmasterAndClientConverge(t *testing.T) {
	gm, cl, trace := pair(t, 1)
	assert.Equal(t, engine.Master, gm.Clock.Port(0).State())
	assert.Equal(t, engine.Slave, cl.Clock.Port(0).State())
	assert.Equal(t, 1, cl.Steps())
	assert.Zero(t, gm.Steps())
	if !assert.Len(t, trace, 600) {
		return
	}
	var worst float64
	for _, e := range trace[400:] {
		worst = math.Max(worst, math.Abs(e))
	}
	t.Logf("worst true error over the last 20 s: %.1f ns", worst)
	assert.Less(t, worst, 100.0, "true error, ns")
}

// Two runs with the same seed give identical results; another seed gives
// other noise.
func TestDeterministic(t *testing.T) {
	_, _, a := pair(t, 7)
	_, _, b := pair(t, 7)
	_, _, c := pair(t, 8)
	assert.Equal(t, a, b, "same seed, same run")
	assert.NotEqual(t, a, c, "the seed drives the noise")
}
