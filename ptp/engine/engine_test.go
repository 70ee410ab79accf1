package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func gmConfig(id byte) ClockConfig {
	c := DefaultClockConfig(cid(id))
	c.Priority1 = 1
	c.ClockQuality = ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x20, OffsetScaledLogVariance: 0x4e5d}
	c.DomainNumber = 24
	return c
}

func clientConfig(id byte) ClockConfig {
	c := DefaultClockConfig(cid(id))
	c.SlaveOnly = true
	c.DomainNumber = 24
	return c
}

func fastPort(name string) PortConfig {
	p := DefaultPortConfig(name)
	p.LogAnnounceInterval = 0
	p.LogSyncInterval = -4
	p.LogMinDelayReqInterval = -4
	return p
}

// One grandmaster, one slave-only client 37 ms and +40 ppm off: the client
// selects the grandmaster, steps once, locks, and its true error settles.
func TestGrandmasterAndClient(t *testing.T) {
	n := newNetwork(t)
	gm := n.addNode("gm", gmConfig(1), []PortConfig{fastPort("gm0")}, &testPI{stepLimit: 20_000}, 0, 0)
	clServo := &testPI{stepLimit: 20_000}
	cl := n.addNode("cl", clientConfig(2), []PortConfig{fastPort("cl0")}, clServo, 37e6, 40_000)
	n.connect(gm, 0, cl, 0, 5000, 5000)
	n.start()

	var worst float64
	n.run(60*sec, 100*ms, func() {
		if n.now() > 30*sec {
			worst = math.Max(worst, math.Abs(trueError(cl, gm, n.now())))
		}
	})

	// As in linuxptp, a port that became MASTER on the announce timeout
	// stays MASTER when the decision then names the local clock.
	assert.Equal(t, Master, gm.clk.Port(0).State(), "gm state")
	assert.Equal(t, Slave, cl.clk.Port(0).State(), "client state")
	assert.Equal(t, 1, cl.sim.steps, "exactly one step")
	assert.Zero(t, gm.sim.steps)
	assert.Equal(t, math.Ldexp(1, int(fastPort("x").LogSyncInterval)), clServo.interval,
		"the servo learns the master's logSyncInterval")
	assert.Less(t, worst, 100.0, "true error after 30 s, ns")
	off, delay := cl.clk.Offset()
	assert.InDelta(t, 5000, delay, 1)
	assert.Less(t, math.Abs(float64(off)), 100.0)

	// The grandmaster logged linuxptp's lines in linuxptp's order.
	var lines []string
	for _, l := range gm.logs {
		lines = append(lines, l.String())
	}
	require.GreaterOrEqual(t, len(lines), 4)
	assert.Equal(t, []string{
		"port 1 (gm0): INITIALIZING to LISTENING on INIT_COMPLETE",
		"port 1 (gm0): LISTENING to MASTER on ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES",
		"selected local clock 020000.fffe.000001 as best master",
		"port 1 (gm0): assuming the grand master role",
	}, lines[:4])
	var cls []string
	for _, l := range cl.logs {
		if l.Kind != LogOffset {
			cls = append(cls, l.String())
		}
	}
	assert.Contains(t, cls, "port 1 (cl0): new foreign master 020000.fffe.000001-1")
	assert.Contains(t, cls, "selected best master clock 020000.fffe.000001")
	assert.Contains(t, cls, "port 1 (cl0): LISTENING to UNCALIBRATED on RS_SLAVE")
	assert.Contains(t, cls, "port 1 (cl0): UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")
}

// stateLines returns the state change lines among acts.
func stateLines(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if a.Kind == Log && a.Log.Kind == LogStateChange {
			out = append(out, a.Log.String())
		}
	}
	return out
}

// A port that recovers from a fault re-initialises in one step, logged as
// ptp4l logs it: one line from FAULTY to LISTENING on INIT_COMPLETE (not
// two through INITIALIZING), so a SUBSCRIBE_EVENTS_NP subscriber gets one
// notification.
func TestFaultResetLogsOneLine(t *testing.T) {
	c, err := NewClock(clientConfig(2), []PortConfig{fastPort("cl0")}, &testPI{}, 1)
	require.NoError(t, err)
	c.Start(0)
	assert.Equal(t, []string{"port 1 (cl0): LISTENING to FAULTY on FAULT_DETECTED (FT_UNSPECIFIED)"},
		stateLines(c.Fault(0, sec)))
	reset := sec + logInterval(c.Port(0).cfg.FaultResetInterval)
	assert.Equal(t, reset, c.Deadline(), "fault_reset_interval (2^4 s) after the fault")
	assert.Empty(t, stateLines(c.Tick(reset-1)))
	assert.Equal(t, []string{"port 1 (cl0): FAULTY to LISTENING on INIT_COMPLETE"}, stateLines(c.Tick(reset)))
	assert.Equal(t, Listening, c.Port(0).State())
}
