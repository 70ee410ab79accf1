package engine_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// peer_address (linuxptp's unicast_client_peer_renew, port_pdelay_request
// and process_pdelay_req): a P2P unicast client whose table names its
// peer sends its Pdelay_Req to the peer by unicast, with the unicastFlag,
// asks it for Pdelay_Resp and renews the grant, and the peer answers by
// unicast. A silent bystander on the bridge hears none of it; without
// peer_address it hears every Pdelay_Req. The client synchronises either
// way.
func TestUnicastPeerAddress(t *testing.T) {
	for _, withPeer := range []bool{false, true} {
		t.Run(map[bool]string{false: "multicast", true: "peer_address"}[withPeer], func(t *testing.T) {
			n := newNetwork(t)
			seg := &simnet.Segment{}
			gmPort := ucServerPort("gm0")
			gmPort.DelayMechanism = ptp.DelayMechanismP2P
			gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{gmPort}, engine.NewTestPI(20_000), 0, 0)
			clPort := ucClientPort("cl0", 1)
			clPort.DelayMechanism = ptp.DelayMechanismP2P
			if withPeer {
				clPort.UnicastPeer = ucAddr(1)
			}
			cl := n.AddNode("cl", engine.ClientConfig(100), []engine.PortConfig{clPort}, engine.NewTestPI(20_000), 37e6, 40_000)
			by := n.AddNode("by", engine.ClientConfig(101), []engine.PortConfig{engine.FastPort("by0")}, engine.NewTestPI(20_000), 0, 0)
			by.Down = true
			for i, nd := range []*simnet.Node{gm, cl, by} {
				n.Attach(seg, nd, 0, 5000, 5000)
				n.SetAddr(nd, 0, ucAddr([]byte{1, 100, 101}[i]))
			}
			clID := cl.Clock.Port(0).Identity()

			reqTo := map[string]int{}  // the client's Pdelay_Req, by recipient
			respTo := map[string]int{} // Pdelay_Resp and Follow_Up answering it
			var multicast, grants int  // of those without the unicastFlag; Pdelay_Resp grants to the client
			n.Tap = func(to *simnet.Node, _ int, msg []byte) {
				pk, err := ptp.Decode(msg)
				require.NoError(t, err)
				var h *ptp.Header
				switch m := pk.(type) {
				case *ptp.PdelayReq:
					if m.SourcePortIdentity != clID {
						return
					}
					reqTo[to.Name]++
					h = &m.Header
				case *ptp.PdelayResp:
					if m.RequestingPortIdentity != clID {
						return
					}
					respTo[to.Name]++
					h = &m.Header
				case *ptp.PdelayRespFollowUp:
					if m.RequestingPortIdentity != clID {
						return
					}
					respTo[to.Name]++
					h = &m.Header
				case *ptp.Signaling:
					if to == cl {
						for _, g := range grantsOf(t, m) {
							if g.MessageType == ptp.MessagePdelayResp && g.DurationField > 0 {
								grants++
							}
						}
					}
					return
				default:
					return
				}
				if !h.Flags.Has(ptp.FlagUnicast) {
					multicast++
				}
			}
			n.Start()
			var worst float64
			n.Run(60*sec, 100*ms, func() {
				if n.Now() > 30*sec {
					worst = math.Max(worst, math.Abs(simnet.TrueError(cl, gm, n.Now())))
				}
			})

			require.True(t, following(cl, gm), "the client follows gm")
			assert.Less(t, worst, 100.0, "true error after 30 s, ns")
			_, delay := cl.Clock.Offset()
			assert.InDelta(t, 10_000, delay, 1, "peer delay, ns")
			assert.Greater(t, reqTo["gm"], 50, "Pdelay_Req reach gm")
			assert.Greater(t, respTo["cl"], 100, "Pdelay_Resp and Follow_Up reach the client")
			if !withPeer {
				assert.Equal(t, reqTo["gm"], reqTo["by"], "multicast Pdelay_Req reach the bystander")
				assert.Equal(t, reqTo["gm"]+reqTo["by"]+respTo["cl"]+respTo["by"], multicast, "none has the unicastFlag")
				assert.Zero(t, grants, "no Pdelay_Resp asked for")
				return
			}
			assert.Zero(t, reqTo["by"], "no Pdelay_Req reach the bystander")
			assert.Zero(t, respTo["by"], "no Pdelay_Resp reach the bystander")
			assert.Zero(t, multicast, "every Pdelay_Req, Pdelay_Resp and Follow_Up has the unicastFlag")
			// unicast_req_duration 10: the first grant, then one every 7.5 s.
			assert.InDelta(t, 1+60/7.5, grants, 1, "Pdelay_Resp granted and renewed")
		})
	}
}
