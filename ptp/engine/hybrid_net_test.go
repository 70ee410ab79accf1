package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// hybridCount counts, for one phase of TestHybridE2E, the client's
// Delay_Req by the node they reached and the Delay_Resp answering it.
type hybridCount struct {
	reqTo          map[string]int // Delay_Req from the client, by recipient
	reqMulticast   int            // of those, without the unicastFlag
	respTo         map[string]int // Delay_Resp to the client, by recipient
	respMulticast  int            // of those, without the unicastFlag
	respInterval7F int            // of those, with logMessageInterval 0x7F
}

// hybrid_e2e (linuxptp's port_delay_request and process_delay_req): a
// client on a multicast network sends its Delay_Req by unicast, with the
// unicastFlag, to where the Announce of the master it follows came from,
// and after a failover to the new master's address; the master answers
// them by unicast with logMessageInterval 0x7F. Without it, both go to
// every member. The client synchronises either way.
func TestHybridE2E(t *testing.T) {
	for _, hybrid := range []bool{false, true} {
		t.Run(map[bool]string{false: "multicast", true: "hybrid"}[hybrid], func(t *testing.T) {
			n := newNetwork(t)
			seg := &simnet.Segment{}
			gm1 := n.AddNode("gm1", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
			cfg2 := engine.GMConfig(2)
			cfg2.Priority1 = 2
			gm2 := n.AddNode("gm2", cfg2, []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
			port := engine.FastPort("cl0")
			port.HybridE2E = hybrid
			cl := n.AddNode("cl", engine.ClientConfig(100), []engine.PortConfig{port}, engine.NewTestPI(20_000), 37e6, 40_000)
			for i, nd := range []*simnet.Node{gm1, gm2, cl} {
				n.Attach(seg, nd, 0, 5000, 5000)
				n.SetAddr(nd, 0, ucAddr([]byte{1, 2, 100}[i]))
			}
			clID := cl.Clock.Port(0).Identity()

			// Phase 0 (from 10 s, once the masters have settled) follows
			// gm1; at 30 s gm1 falls silent, and phase 1 (from 40 s)
			// follows gm2.
			var counts [2]hybridCount
			for i := range counts {
				counts[i] = hybridCount{reqTo: map[string]int{}, respTo: map[string]int{}}
			}
			n.Tap = func(to *simnet.Node, _ int, msg []byte) {
				phase := 0
				switch {
				case n.Now() >= 40*sec:
					phase = 1
				case n.Now() >= 30*sec || n.Now() < 10*sec:
					return
				}
				c := &counts[phase]
				pk, err := ptp.Decode(msg)
				require.NoError(t, err)
				switch m := pk.(type) {
				case *ptp.DelayReq:
					if m.SourcePortIdentity != clID {
						return
					}
					c.reqTo[to.Name]++
					if !m.Flags.Has(ptp.FlagUnicast) {
						c.reqMulticast++
					}
				case *ptp.DelayResp:
					if m.RequestingPortIdentity != clID {
						return
					}
					c.respTo[to.Name]++
					if !m.Flags.Has(ptp.FlagUnicast) {
						c.respMulticast++
					}
					if m.LogMessageInterval == ptp.LogIntervalUnspecified {
						c.respInterval7F++
					}
				}
			}
			n.Start()
			n.At(30*sec, func() { gm1.Down = true })
			n.Run(70*sec, 100*ms, nil)

			require.True(t, following(cl, gm2), "the client follows gm2 after gm1 fell silent")
			off, _ := cl.Clock.Offset()
			assert.InDelta(t, 0, off, 100, "the client is synchronised to gm2, ns")
			for phase, master := range []string{"gm1", "gm2"} {
				c := counts[phase]
				other := map[string]string{"gm1": "gm2", "gm2": "gm1"}[master]
				assert.Greater(t, c.reqTo[master], 100, "phase %d: Delay_Req reach %s", phase, master)
				assert.Greater(t, c.respTo["cl"], 100, "phase %d: Delay_Resp reach the client", phase)
				if hybrid {
					assert.Zero(t, c.reqTo[other], "phase %d: no Delay_Req reach %s", phase, other)
					assert.Zero(t, c.reqMulticast, "phase %d: every Delay_Req has the unicastFlag", phase)
					assert.Equal(t, map[string]int{"cl": c.respTo["cl"]}, c.respTo, "phase %d: Delay_Resp reach only the client", phase)
					assert.Zero(t, c.respMulticast, "phase %d: every Delay_Resp has the unicastFlag", phase)
					assert.Equal(t, c.respTo["cl"], c.respInterval7F, "phase %d: unicast Delay_Resp carry logMessageInterval 0x7F", phase)
					continue
				}
				assert.Equal(t, c.reqTo[master], c.reqTo[other], "phase %d: Delay_Req reach both masters", phase)
				assert.Equal(t, c.reqTo[master]+c.reqTo[other], c.reqMulticast, "phase %d: no Delay_Req has the unicastFlag", phase)
				// (give or take the few in flight at a phase's edges)
				assert.InDelta(t, c.respTo["cl"], c.respTo[other], 10, "phase %d: Delay_Resp reach every member", phase)
				assert.Zero(t, c.respInterval7F, "phase %d: multicast Delay_Resp carry logMinDelayReqInterval", phase)
			}
		})
	}
}
