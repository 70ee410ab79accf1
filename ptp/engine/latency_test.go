package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// TestTimestampLatencies: a NIC that stamps away from the wire biases the
// offset; egressLatency and ingressLatency, set to what the NIC does,
// cancel it, with linuxptp's sign convention (port.c: egressLatency is
// added to transmit timestamps, ingressLatency subtracted from receive
// timestamps; ptp4l(8): egressLatency is the actual transmission time at
// the reference plane minus the reported timestamp, ingressLatency the
// reported receive timestamp minus the actual reception time).
//
// On a symmetric link, a client whose NIC reports transmit timestamps E
// early and receive timestamps I late measures t3 − E and t2 + I, so its
// offset reads (I − E)/2 high and the servo, zeroing it, leaves the clock
// (E − I)/2 off true; on the grandmaster's side t1 − E and t4 + I leave
// it (I − E)/2 off. Each case runs with both delay mechanisms.
func TestTimestampLatencies(t *testing.T) {
	for _, tc := range []struct {
		name               string
		clE, clI, gmE, gmI int64 // what the NICs do, ns
		configured         bool  // egressLatency/ingressLatency set to it
		wantError          float64
	}{
		{"client ingress, unconfigured", 0, 1000, 0, 0, false, -500},
		{"client ingressLatency 1000", 0, 1000, 0, 0, true, 0},
		{"NICs that stamp at the wire", 0, 0, 0, 0, false, 0},
		{"client egress, unconfigured", 1000, 0, 0, 0, false, 500},
		{"client egressLatency 1000", 1000, 0, 0, 0, true, 0},
		{"client both, unconfigured", 600, 200, 0, 0, false, 200},
		{"client egressLatency 600 ingressLatency 200", 600, 200, 0, 0, true, 0},
		{"grandmaster ingress, unconfigured", 0, 0, 0, 1000, false, 500},
		{"grandmaster egress, unconfigured", 0, 0, 1000, 0, false, -500},
		{"grandmaster egressLatency 400 ingressLatency 1400", 0, 0, 400, 1400, true, 0},
		{"both ends", 300, 900, 400, 1400, true, 0},
	} {
		for mname, mech := range map[string]ptp.DelayMechanism{"E2E": ptp.DelayMechanismE2E, "P2P": ptp.DelayMechanismP2P} {
			t.Run(tc.name+"/"+mname, func(t *testing.T) {
				n := newNetwork(t)
				gp, cp := engine.FastPort("gm0"), engine.FastPort("cl0")
				gp.DelayMechanism, cp.DelayMechanism = mech, mech
				if tc.configured {
					gp.EgressLatency, gp.IngressLatency = tc.gmE, tc.gmI
					cp.EgressLatency, cp.IngressLatency = tc.clE, tc.clI
				}
				gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{gp}, engine.NewTestPI(20_000), 0, 0)
				cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{cp}, engine.NewTestPI(20_000), 1e6, 10_000)
				n.Connect(gm, 0, cl, 0, 10_000, 10_000)
				n.SetLatency(gm, 0, tc.gmE, tc.gmI)
				n.SetLatency(cl, 0, tc.clE, tc.clI)
				n.Start()
				var sum float64
				var k int
				n.Run(60*sec, 100*ms, func() {
					if n.Now() > 40*sec {
						sum += simnet.TrueError(cl, gm, n.Now())
						k++
					}
				})
				require.Equal(t, engine.Slave, cl.Clock.Port(0).State())
				assert.InDelta(t, tc.wantError, sum/float64(k), 20, "mean true error of the client, ns")
			})
		}
	}
}
