package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// linkPort is the port of the link tests: ptp4l's default announce interval
// (2 s), Sync and Delay_Req at 16 Hz, and the given fault_reset_interval.
func linkPort(name string, faultReset int8) PortConfig {
	p := fastPort(name)
	p.LogAnnounceInterval = 1
	p.FaultResetInterval = faultReset
	return p
}

// textLines formats the records other than the per-sample offset lines.
func textLines(recs []LogRecord) []string {
	var out []string
	for _, r := range recs {
		if r.Kind != LogOffset {
			out = append(out, r.String())
		}
	}
	return out
}

// logLines formats the log actions among acts.
func logLines(acts []Action) []string {
	var recs []LogRecord
	for _, a := range acts {
		if a.Kind == Log {
			recs = append(recs, a.Log)
		}
	}
	return textLines(recs)
}

// A client in SLAVE whose link goes down for 5 s, with a switch between it
// and the grandmaster (the grandmaster's link stays up): the port is
// FAULTY at once and stays FAULTY for the whole 5 s, also when the fault
// timer expires meanwhile; when the link is up it is LISTENING at once
// and SLAVE again after the next Announce, far sooner than
// fault_reset_interval (after the Announces that qualify the master, as
// in ptp4l). Repeated reports of either state do nothing.
func TestLinkDownUp(t *testing.T) {
	const downFor = 5 * sec
	for _, tc := range []struct {
		name       string
		faultReset int8
	}{
		{"fault_reset_interval 4 (16 s)", 4},
		{"fault_reset_interval 1 (2 s, expires while down)", 1},
		{"fault_reset_interval ASAP", FaultResetASAP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(t)
			gm := n.addNode("gm", gmConfig(1), []PortConfig{linkPort("gm0", tc.faultReset)}, &testPI{stepLimit: 20_000}, 0, 0)
			cl := n.addNode("cl", clientConfig(2), []PortConfig{linkPort("cl0", tc.faultReset)}, &testPI{stepLimit: 20_000}, 37e6, 40_000)
			seg := n.connect(gm, 0, cl, 0, 5000, 5000)
			n.start()
			n.run(40*sec, sec, nil)
			port := cl.clk.Port(0)
			require.Equal(t, Slave, port.State())
			require.True(t, port.LinkUp(), "a port believes its link up until told otherwise")

			// The link goes down.
			seg.cut = true
			acts := cl.clk.LinkChanged(0, false, n.now())
			assert.Equal(t, []string{
				"port 1 (cl0): link down",
				"port 1 (cl0): SLAVE to FAULTY on FAULT_DETECTED (FT_UNSPECIFIED)",
				"selected local clock 020000.fffe.000002 as best master",
				"port 1 (cl0): assuming the grand master role",
			}, logLines(acts))
			for _, a := range acts {
				if a.Kind == Log && (a.Log.Kind == LogLinkDown || a.Log.Kind == LogLinkUp) {
					assert.Equal(t, LevelNotice, a.Log.Level, "ptp4l prints link changes at NOTICE")
				}
			}
			cl.x.Apply(acts)
			n.schedule(cl)
			assert.Equal(t, Faulty, port.State(), "FAULTY at once")
			assert.False(t, port.LinkUp())
			assert.Equal(t, cl.clk.cfg.ClockIdentity, parentGM(cl), "the state decision made the local clock the best")
			deadline := cl.clk.Deadline()
			assert.Empty(t, cl.clk.LinkChanged(0, false, n.now()+ms), "a second down report does nothing")
			assert.Equal(t, deadline, cl.clk.Deadline(), "and leaves the fault timer as it was")

			downAt := n.now()
			n.run(downAt+downFor, 10*ms, func() {
				require.Equal(t, Faulty, port.State(), "%.2f s after the link went down", float64(n.now()-downAt)/1e9)
			})

			// The link is up again.
			seg.cut = false
			mark := len(cl.logs)
			acts = cl.clk.LinkChanged(0, true, n.now())
			assert.Equal(t, []string{
				"port 1 (cl0): link up",
				"port 1 (cl0): FAULTY to LISTENING on INIT_COMPLETE",
			}, logLines(acts))
			cl.x.Apply(acts)
			n.schedule(cl)
			assert.Equal(t, Listening, port.State(), "LISTENING at once")
			assert.True(t, port.LinkUp())
			assert.Empty(t, cl.clk.LinkChanged(0, true, n.now()), "a second up report does nothing")

			upAt := n.now()
			var back int64
			n.run(upAt+20*sec, 10*ms, func() {
				if back == 0 && port.State() == Slave {
					back = n.now() - upAt
				}
			})
			require.NotZero(t, back, "never SLAVE again")
			t.Logf("SLAVE again %.2f s after the link came up", float64(back)/1e9)
			// The first Announce after the link is up makes a new foreign
			// master that ptp4l does not count (9.5.3 b), two more qualify
			// it (FOREIGN_MASTER_THRESHOLD), then a Sync and a Delay_Req
			// exchange: within three announce intervals and a second.
			// (ptp4l 4.4 in namespaces with logAnnounceInterval 0: new
			// foreign master 0.77 s after "link up", RS_SLAVE 2.77 s.)
			assert.LessOrEqual(t, back, 3*logInterval(1)+sec)
			assert.Less(t, back, logInterval(4), "sooner than the default fault_reset_interval")
			assert.Contains(t, textLines(cl.logs[mark:]), "port 1 (cl0): UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")
			assert.Equal(t, gm.clk.cfg.ClockIdentity, parentGM(cl))
		})
	}
}

// The engine alone, step by step: what each report does to the port's
// state and to the fault timer.
func TestLinkChanged(t *testing.T) {
	type step struct {
		at    int64 // s
		do    string
		state State
		lines []string
	}
	const fault = "fault"
	const tick = "tick"
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the fault timer expires while the link is down: spent, the port stays FAULTY", []step{
			{1, "down", Faulty, []string{"port 1 (p0): link down", "port 1 (p0): LISTENING to FAULTY on FAULT_DETECTED (FT_UNSPECIFIED)",
				"selected local clock 020000.fffe.000002 as best master", "port 1 (p0): assuming the grand master role"}},
			{17, tick, Faulty, nil},
			{60, "up", Listening, []string{"port 1 (p0): link up", "port 1 (p0): FAULTY to LISTENING on INIT_COMPLETE"}},
		}},
		{"up before the fault timer: re-initialised at once", []step{
			{1, "down", Faulty, nil},
			{2, "up", Listening, []string{"port 1 (p0): link up", "port 1 (p0): FAULTY to LISTENING on INIT_COMPLETE"}},
		}},
		{"repeated reports do nothing", []step{
			{1, "up", Listening, []string{}},
			{2, "down", Faulty, nil},
			{3, "down", Faulty, []string{}},
			{4, "up", Listening, nil},
			{5, "up", Listening, []string{}},
		}},
		{"a port FAULTY for another reason waits for the link, then comes back at once", []step{
			{1, fault, Faulty, nil},
			{2, "down", Faulty, []string{"port 1 (p0): link down",
				"selected local clock 020000.fffe.000002 as best master", "port 1 (p0): assuming the grand master role"}},
			{17, tick, Faulty, nil},
			{20, "up", Listening, []string{"port 1 (p0): link up", "port 1 (p0): FAULTY to LISTENING on INIT_COMPLETE"}},
		}},
		{"a fault while the link is down changes nothing", []step{
			{1, "down", Faulty, nil},
			{2, fault, Faulty, []string{}},
			{30, "up", Listening, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClock(clientConfig(2), []PortConfig{linkPort("p0", 4)}, &testPI{}, 1)
			require.NoError(t, err)
			c.Start(0)
			for _, s := range tc.steps {
				var acts []Action
				switch s.do {
				case "down":
					acts = c.LinkChanged(0, false, s.at*sec)
				case "up":
					acts = c.LinkChanged(0, true, s.at*sec)
				case fault:
					acts = c.Fault(0, s.at*sec)
				case tick:
					d := c.Deadline()
					require.NotZero(t, d, "at %d s: the fault timer is set", s.at)
					require.LessOrEqual(t, d, s.at*sec)
					acts = c.Tick(s.at * sec)
					assert.Zero(t, c.Deadline(), "at %d s: the expired fault timer is spent, not set again", s.at)
				}
				assert.Equal(t, s.state, c.Port(0).State(), "after %s at %d s", s.do, s.at)
				if s.lines != nil {
					got := logLines(acts)
					if len(s.lines) == 0 {
						assert.Empty(t, got, "after %s at %d s", s.do, s.at)
					} else {
						assert.Equal(t, s.lines, got, "after %s at %d s", s.do, s.at)
					}
				}
			}
		})
	}
}

// A boundary clock whose upstream link goes down reselects at once, as
// ptp4l's state decision on link down does: it becomes the grandmaster of
// its downstream port's clients instead of announcing a grandmaster it no
// longer hears until timers run out.
func TestLinkDownBoundaryClock(t *testing.T) {
	n := newNetwork(t)
	gm := n.addNode("gm", gmConfig(1), []PortConfig{linkPort("gm0", 4)}, &testPI{stepLimit: 20_000}, 0, 0)
	bcCfg := DefaultClockConfig(cid(5))
	bcCfg.DomainNumber = 24
	bc := n.addNode("bc", bcCfg, []PortConfig{linkPort("bc0", 4), linkPort("bc1", 4)}, &testPI{stepLimit: 20_000}, 5e6, 20_000)
	cl := n.addNode("cl", clientConfig(9), []PortConfig{linkPort("cl0", 4)}, &testPI{stepLimit: 20_000}, -3e6, -15_000)
	up := n.connect(gm, 0, bc, 0, 3000, 3000)
	n.connect(bc, 1, cl, 0, 4000, 4000)
	n.start()
	n.run(60*sec, sec, nil)
	require.Equal(t, Slave, bc.clk.Port(0).State())
	require.Equal(t, gm.clk.cfg.ClockIdentity, parentGM(cl))

	up.cut = true
	acts := bc.clk.LinkChanged(0, false, n.now())
	assert.Contains(t, logLines(acts), "selected local clock 020000.fffe.000005 as best master")
	bc.x.Apply(acts)
	n.schedule(bc)
	assert.Equal(t, Faulty, bc.clk.Port(0).State())
	assert.True(t, bc.clk.Port(1).State().IsMaster(), "the downstream port keeps serving")
	assert.Equal(t, bc.clk.cfg.ClockIdentity, parentGM(bc), "the boundary clock is its own grandmaster at once")

	downAt := n.now()
	var moved int64
	n.run(downAt+10*sec, 10*ms, func() {
		if moved == 0 && parentGM(cl) == bc.clk.cfg.ClockIdentity {
			moved = n.now() - downAt
		}
	})
	require.NotZero(t, moved, "the client never heard of the new grandmaster")
	t.Logf("the client followed the boundary clock as grandmaster %.2f s after the link went down", float64(moved)/1e9)
	assert.LessOrEqual(t, moved, logInterval(1)+sec, "by the boundary clock's next Announce")
}

// The link lines in both of linuxptp's port styles (4.x "port 1 (eth0):",
// 3.1.1 "port 1:", whose binary has the format "port %hu: link %s"),
// formatted without allocating.
func TestLinkLogLines(t *testing.T) {
	for _, tc := range []struct {
		kind   LogKind
		style  PortStyle
		expect string
	}{
		{LogLinkDown, PortStyleV4, "port 1 (eth0): link down"},
		{LogLinkUp, PortStyleV4, "port 1 (eth0): link up"},
		{LogLinkDown, PortStyleV3, "port 1: link down"},
		{LogLinkUp, PortStyleV3, "port 1: link up"},
	} {
		r := LogRecord{Kind: tc.kind, Level: LevelNotice, PortNumber: 1, PortName: "eth0"}
		assert.Equal(t, tc.expect, string(r.AppendFormat(nil, tc.style)))
		buf := make([]byte, 0, 64)
		assert.Zero(t, testing.AllocsPerRun(100, func() { buf = r.AppendFormat(buf[:0], tc.style) }))
	}
}
