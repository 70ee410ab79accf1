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
					acts = c.LinkChanged(0, false, s.at*second)
				case "up":
					acts = c.LinkChanged(0, true, s.at*second)
				case fault:
					acts = c.Fault(0, s.at*second)
				case tick:
					d := c.Deadline()
					require.NotZero(t, d, "at %d s: the fault timer is set", s.at)
					require.LessOrEqual(t, d, s.at*second)
					acts = c.Tick(s.at * second)
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

// second is a second of the engine's time, ns.
const second = int64(1e9)

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
		stateLines(c.Fault(0, second)))
	reset := second + logInterval(c.Port(0).cfg.FaultResetInterval)
	assert.Equal(t, reset, c.Deadline(), "fault_reset_interval (2^4 s) after the fault")
	assert.Empty(t, stateLines(c.Tick(reset-1)))
	assert.Equal(t, []string{"port 1 (cl0): FAULTY to LISTENING on INIT_COMPLETE"}, stateLines(c.Tick(reset)))
	assert.Equal(t, Listening, c.Port(0).State())
}
