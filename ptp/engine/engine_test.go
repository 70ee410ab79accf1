package engine_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// One grandmaster, one slave-only client 37 ms and +40 ppm off: the client
// selects the grandmaster, steps once, locks, and its true error settles.
func TestGrandmasterAndClient(t *testing.T) {
	n := newNetwork(t)
	gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
	clServo := engine.NewTestPI(20_000)
	cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{engine.FastPort("cl0")}, clServo, 37e6, 40_000)
	n.Connect(gm, 0, cl, 0, 5000, 5000)
	n.Start()

	var worst float64
	n.Run(60*sec, 100*ms, func() {
		if n.Now() > 30*sec {
			worst = math.Max(worst, math.Abs(simnet.TrueError(cl, gm, n.Now())))
		}
	})

	// As in linuxptp, a port that became MASTER on the announce timeout
	// stays MASTER when the decision then names the local clock.
	assert.Equal(t, engine.Master, gm.Clock.Port(0).State(), "gm state")
	assert.Equal(t, engine.Slave, cl.Clock.Port(0).State(), "client state")
	assert.Equal(t, 1, cl.Steps(), "exactly one step")
	assert.Zero(t, gm.Steps())
	assert.Equal(t, math.Ldexp(1, int(engine.FastPort("x").LogSyncInterval)), clServo.Interval(),
		"the servo learns the master's logSyncInterval")
	assert.Less(t, worst, 100.0, "true error after 30 s, ns")
	off, delay := cl.Clock.Offset()
	assert.InDelta(t, 5000, delay, 1)
	assert.Less(t, math.Abs(float64(off)), 100.0)

	// The grandmaster logged linuxptp's lines in linuxptp's order.
	var lines []string
	for _, l := range gm.Logs {
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
	for _, l := range cl.Logs {
		if l.Kind != engine.LogOffset {
			cls = append(cls, l.String())
		}
	}
	assert.Contains(t, cls, "port 1 (cl0): new foreign master 020000.fffe.000001-1")
	assert.Contains(t, cls, "selected best master clock 020000.fffe.000001")
	assert.Contains(t, cls, "port 1 (cl0): LISTENING to UNCALIBRATED on RS_SLAVE")
	assert.Contains(t, cls, "port 1 (cl0): UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")
}
