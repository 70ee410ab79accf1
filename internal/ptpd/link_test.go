package ptpd

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// TestLinkDownUp: the client's link goes down for 5 s and comes back
// (ip link set): its port is FAULTY within 100 ms of down, and SLAVE again
// within 3 s of up, as ptp4l, which watches link state, manages; without
// the link monitor it waited for the Announce timeout going down and
// fault_reset_interval coming back (13.4 s measured).
func TestLinkDownUp(t *testing.T) {
	la, lb := pair(t)
	startDaemon(t, la, virtual(t, "gm", 0, 0), "--priority1=1", "--serverOnly=1")
	clClock := virtual(t, "client", time.Millisecond, 0)
	// fault_reset_interval 0 (1 s): a port that followed the fault timer
	// instead of its link would be back before the link is.
	cl, log := startDaemon(t, lb, clClock, "-s", "--fault_reset_interval=0")
	watchClient(t, cl, clClock, time.Second)

	// waitFor polls the client's port state every 5 ms until want.
	waitFor := func(want engine.State, limit time.Duration) time.Duration {
		start := time.Now()
		for state(t, cl) != want {
			require.Less(t, time.Since(start), limit, "not %v within %v: %v", want, limit, state(t, cl))
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}
	lb.NS.IP(t, "link", "set", "dev", lb.Name, "down")
	down := waitFor(engine.Faulty, 100*time.Millisecond)
	time.Sleep(5 * time.Second)
	assert.Equal(t, engine.Faulty, state(t, cl), "FAULTY while the link is down, whatever fault_reset_interval says")
	lb.NS.IP(t, "link", "set", "dev", lb.Name, "up")
	up := waitFor(engine.Slave, 3*time.Second)
	t.Logf("FAULTY %v after the link went down; SLAVE %v after it came back", down.Round(time.Millisecond), up.Round(time.Millisecond))
	assert.Contains(t, log.String(), "link down")
	assert.Contains(t, log.String(), "link up")
	assert.Equal(t, 1, strings.Count(log.String(), "link down"), "one report per change")
}
