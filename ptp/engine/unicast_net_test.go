package engine_test

import (
	"math"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Unicast negotiation on the simulated network: servers with
// unicast_listen and inhibit_multicast_service (so that nothing reaches a
// client it did not negotiate), clients with a unicast master table.

// ucAddr is 198.18.0.n as a socket reports a sender: with its port.
func ucAddr(n byte) engine.Addr {
	return engine.Addr{IP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, n}), 319)}
}

func ucServerPort(name string) engine.PortConfig {
	p := engine.FastPort(name)
	p.UnicastListen, p.InhibitMulticastService = true, true
	return p
}

func ucClientPort(name string, masters ...byte) engine.PortConfig {
	p := engine.FastPort(name)
	p.LogQueryInterval = 0
	p.UnicastReqDuration = 10 // the minimum unicast_req_duration
	for _, m := range masters {
		p.UnicastMasters = append(p.UnicastMasters, ucAddr(m))
	}
	return p
}

// ucNet is a bridge with servers at 198.18.0.1... and one client at
// 198.18.0.100 whose table lists table (addresses that may be absent).
func ucNet(t *testing.T, servers []engine.ClockConfig, table ...byte) (*simnet.Network, []*simnet.Node, *simnet.Node) {
	n := newNetwork(t)
	seg := &simnet.Segment{}
	var gms []*simnet.Node
	for i, cfg := range servers {
		gm := n.AddNode(cfg.ClockIdentity.String(), cfg, []engine.PortConfig{ucServerPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
		n.Attach(seg, gm, 0, 5000, 5000)
		n.SetAddr(gm, 0, ucAddr(byte(i+1)))
		gms = append(gms, gm)
	}
	cl := n.AddNode("cl", engine.ClientConfig(100), []engine.PortConfig{ucClientPort("cl0", table...)}, engine.NewTestPI(20_000), 37e6, 40_000)
	n.Attach(seg, cl, 0, 0, 0)
	n.SetAddr(cl, 0, ucAddr(100))
	n.Start()
	return n, gms, cl
}

func granted(m engine.UnicastMasterState) []ptp.MessageType { return m.Granted }

// A unicast client negotiates Announce, Sync and Delay_Resp from a
// unicast server, synchronises, and keeps its grants across six periods
// of the minimum unicast_req_duration (10 s) by renewing them; the server
// serves it at the granted rates and never lets a grant expire.
func TestUnicastClientKeepsGrants(t *testing.T) {
	n, gms, cl := ucNet(t, []engine.ClockConfig{engine.GMConfig(1)}, 1)
	gm := gms[0]
	var worst float64
	var syncsAt50 uint64
	n.Run(60*sec, 100*ms, func() {
		if n.Now() > 30*sec {
			worst = math.Max(worst, math.Abs(simnet.TrueError(cl, gm, n.Now())))
		}
		if n.Now() == 50*sec {
			syncsAt50 = gm.Clock.Port(0).Stats.Tx[ptp.MessageSync]
		}
	})
	assert.True(t, following(cl, gm), "client follows the unicast server")
	assert.Less(t, worst, 100.0, "true error after 30 s, ns")
	ms := cl.Clock.Port(0).UnicastMasters()
	require.Len(t, ms, 1)
	assert.Equal(t, "HAVE_SYDY", ms[0].State)
	assert.ElementsMatch(t, []ptp.MessageType{ptp.MessageAnnounce, ptp.MessageSync, ptp.MessageDelayResp}, granted(ms[0]))
	assert.Equal(t, gm.Clock.Port(0).Identity(), ms[0].ID)

	// UNICAST_MASTER_TABLE_NP shows the same, as ptp4l answers it.
	get := &ptp.Management{TargetPortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff},
		ActionField: ptp.ActionGet}
	get.VersionPTP, get.DomainNumber = 2, 24
	require.NoError(t, get.SetEmpty(ptp.MIDUnicastMasterTableNP))
	resps, _ := cl.Clock.Manage(get, engine.Via{UDS: true}, n.Now())
	require.Len(t, resps, 1)
	var umt ptp.UnicastMasterTableNP
	require.NoError(t, resps[0].Data(&umt))
	require.Len(t, umt.Entries, 1)
	e := umt.Entries[0]
	assert.True(t, e.Selected)
	assert.Equal(t, ptp.UnicastHaveSydy, e.State)
	assert.Equal(t, gm.Clock.Port(0).Identity(), e.PortIdentity)
	assert.EqualValues(t, 6, e.ClockQuality.ClockClass, "the master's Announce")
	assert.EqualValues(t, 1, e.Priority1)
	assert.Equal(t, []byte{198, 18, 0, 1}, e.Address.Address)

	st := gm.Clock.Port(0).UnicastServiceStats()
	assert.Equal(t, 1, gm.Clock.Port(0).UnicastClients())
	assert.Zero(t, st.Expired, "renewed before expiry")
	assert.Zero(t, st.Denied)
	// Three grants at first, then every 7.5 s (three quarters of 10 s)
	// all three again: 3 + 3×7 = 24 in 60 s.
	assert.InDelta(t, 24, st.Granted, 3, "grants")
	// 16 Syncs a second, all unicast (inhibit_multicast_service).
	sent := gm.Clock.Port(0).Stats.Tx[ptp.MessageSync] - syncsAt50
	assert.InDelta(t, 10*16, sent, 1, "Syncs sent in the last 10 s at the granted rate")
	assert.Zero(t, cl.Clock.Port(0).Stats.SyncMismatch)
}

// A client that goes silent stops renewing: the server's grants run out
// after their duration and it stops sending.
func TestUnicastGrantsExpire(t *testing.T) {
	n, gms, cl := ucNet(t, []engine.ClockConfig{engine.GMConfig(1)}, 1)
	gm := gms[0]
	n.Run(20*sec, sec, nil)
	require.True(t, following(cl, gm))
	cl.Down = true
	n.Run(40*sec, sec, nil)
	p := gm.Clock.Port(0)
	assert.Zero(t, p.UnicastClients(), "the silent client is forgotten")
	assert.EqualValues(t, 2, p.UnicastServiceStats().Expired, "its Announce and Sync grants expired")
	before := p.Stats.Tx[ptp.MessageSync]
	n.Run(45*sec, sec, nil)
	assert.Equal(t, before, p.Stats.Tx[ptp.MessageSync], "nothing sent after expiry")
}

// The first entry of the table is absent: the client asks it for
// Announce at every query and meanwhile follows the second.
func TestUnicastAbsentFirstMaster(t *testing.T) {
	n, gms, cl := ucNet(t, []engine.ClockConfig{engine.GMConfig(1)}, 9, 1)
	n.Run(30*sec, sec, nil)
	assert.True(t, following(cl, gms[0]))
	ms := cl.Clock.Port(0).UnicastMasters()
	require.Len(t, ms, 2)
	assert.Equal(t, "WAIT", ms[0].State)
	assert.Equal(t, "HAVE_SYDY", ms[1].State)
}

// Two servers grant Announce; the BMCA chooses the better one and only it
// is asked for Sync and Delay_Resp. When it stops answering, its Announce
// times out, the client moves to the other, and the silent one goes back
// to WAIT once its Announce grant has run out.
func TestUnicastBMCAAndFailover(t *testing.T) {
	worse := engine.GMConfig(2)
	worse.Priority1 = 2
	n, gms, cl := ucNet(t, []engine.ClockConfig{worse, engine.GMConfig(1)}, 1, 2)
	n.Run(30*sec, sec, nil)
	require.True(t, following(cl, gms[1]), "the better server is chosen")
	ms := cl.Clock.Port(0).UnicastMasters()
	assert.Equal(t, "HAVE_ANN", ms[0].State)
	assert.Equal(t, []ptp.MessageType{ptp.MessageAnnounce}, granted(ms[0]))
	assert.Equal(t, "HAVE_SYDY", ms[1].State)
	// The worse server sends Announce only.
	assert.Zero(t, gms[0].Clock.Port(0).Stats.Tx[ptp.MessageSync])

	gms[1].Down = true
	n.Run(60*sec, sec, nil)
	assert.True(t, following(cl, gms[0]), "the client moved to the other server")
	ms = cl.Clock.Port(0).UnicastMasters()
	assert.Equal(t, "HAVE_SYDY", ms[0].State)
	assert.Equal(t, "WAIT", ms[1].State)
	assert.Less(t, math.Abs(simnet.TrueError(cl, gms[0], n.Now())), 1000.0)

	// When it answers again, it is the better one again.
	gms[1].Down = false
	n.Run(90*sec, sec, nil)
	assert.True(t, following(cl, gms[1]))
	ms = cl.Clock.Port(0).UnicastMasters()
	assert.Equal(t, "HAVE_ANN", ms[0].State, "the deselected server's Sync and Delay_Resp were canceled")
	assert.Equal(t, []ptp.MessageType{ptp.MessageAnnounce}, granted(ms[0]))
	assert.Positive(t, gms[0].Clock.Port(0).UnicastServiceStats().Canceled)
}
