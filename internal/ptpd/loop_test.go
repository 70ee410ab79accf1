package ptpd

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// onSegment is a daemon whose one port is a member of an in-process
// transport.Segment: the real event loop, engine, executor, servo and
// management sockets, with no root and no NIC.
type onSegment struct {
	d      *Daemon
	member *transport.Member
	log    *testenv.Buffer
	uds    string
	stop   func()
}

// startOnSegment runs roko-ptpd (ptp4l's command line in args) with clk as
// its clock and a member of seg as its port. hw makes the member stamp
// with clk itself, as a NIC stamps with its PHC, instead of with
// CLOCK_REALTIME, as the kernel's software timestamps are.
func startOnSegment(t *testing.T, seg *transport.Segment, clk *phc.Virtual, hw bool, args ...string) *onSegment {
	t.Helper()
	dir := t.TempDir()
	uds := filepath.Join(dir, "ptp4l")
	cmd, err := ParseArgs(append(append([]string{"-i", clk.Name(), "-m", "--uds_address=" + uds, "--uds_ro_address=" + uds + "ro"}, fast...), args...))
	require.NoError(t, err)
	set, err := cmd.Config.Resolve()
	require.NoError(t, err)
	mc := transport.MemberConfig{Name: clk.Name(), OneStep: set.Timestamping == ptp.TimestampingOneStep}
	if hw {
		mc.Clock = clk.NowNs
	}
	m, err := seg.Join(mc)
	require.NoError(t, err)
	out := &testenv.Buffer{}
	d, err := New(Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", out, out), Clock: clk, Ports: []transport.Endpoint{m}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	o := &onSegment{d: d, member: m, log: out, uds: uds}
	o.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(5 * time.Second):
				t.Errorf("%s: Run did not return within 5 s of cancel", clk.Name())
			}
			d.Close()
		})
	}
	t.Cleanup(func() {
		o.stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", clk.Name(), out.String())
		}
	})
	return o
}

func virtual(t *testing.T, name string, offset time.Duration, ppb float64) *phc.Virtual {
	t.Helper()
	v, err := phc.NewVirtual(phc.VirtualConfig{Name: name, Offset: offset, FrequencyError: ppb})
	require.NoError(t, err)
	return v
}

// apart is how far a's clock is from b's now.
func apart(t *testing.T, a, b *phc.Virtual) time.Duration {
	t.Helper()
	ea, err := a.TrueError()
	require.NoError(t, err)
	eb, err := b.TrueError()
	require.NoError(t, err)
	return ea - eb
}

// TestLoopWithoutRoot: a grandmaster and a client, each the daemon's real
// event loop, on an in-process segment (go test -short, no root): the
// client converges on the grandmaster's clock, both answer management on
// their UNIX sockets, and both stop at once when asked, removing their
// sockets.
func TestLoopWithoutRoot(t *testing.T) {
	seg := transport.NewSegment()
	gmClock := virtual(t, "gm", 0, 0)
	clClock := virtual(t, "client", 37*time.Millisecond, 40_000)
	gm := startOnSegment(t, seg, gmClock, false, "-S", "--priority1=1", "--serverOnly=1")
	cl := startOnSegment(t, seg, clClock, false, "-S", "-s")

	start := time.Now()
	for state(t, cl.d) != engine.Slave || apart(t, clClock, gmClock).Abs() > 20*time.Microsecond {
		require.Less(t, time.Since(start), 20*time.Second, "no convergence: state %v, %v apart", state(t, cl.d), apart(t, clClock, gmClock))
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("SLAVE and within 20 µs of the grandmaster after %v", time.Since(start).Round(time.Millisecond))
	var worst time.Duration
	for range 20 {
		worst = max(worst, apart(t, clClock, gmClock).Abs())
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("then at most %v apart over 1 s", worst)
	assert.Less(t, worst, 50*time.Microsecond)
	assert.Contains(t, cl.log.String(), "UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")

	// Management, as pmc asks it.
	mc, err := mgmt.Dial(cl.uds, 0)
	require.NoError(t, err)
	defer mc.Close()
	cur, err := mc.Current()
	require.NoError(t, err)
	assert.Equal(t, uint16(1), cur.StepsRemoved)
	assert.Less(t, math.Abs(cur.OffsetFromMaster.Nanoseconds()), 50_000.0)
	st, iface, err := mc.Port()
	require.NoError(t, err)
	assert.Equal(t, ptp.PortStateSlave, st)
	assert.Equal(t, "client", iface)

	// Shutdown: prompt, and the sockets are gone.
	begin := time.Now()
	cl.stop()
	gm.stop()
	t.Logf("both stopped in %v", time.Since(begin))
	assert.Less(t, time.Since(begin), 2*time.Second)
	for _, p := range []string{cl.uds, cl.uds + "ro", gm.uds} {
		_, err := os.Stat(p)
		assert.ErrorIs(t, err, os.ErrNotExist, p)
	}
}

// TestUnstampedEventDropped: event messages that arrive without a receive
// timestamp (as the first ones do while the kernel switches software
// timestamps on) are dropped with ptp4l's message, not measured with a
// receive time of 0; the client converges with its one step.
func TestUnstampedEventDropped(t *testing.T) {
	seg := transport.NewSegment()
	gmClock := virtual(t, "gm", 0, 0)
	clClock := virtual(t, "client", 5*time.Millisecond, 10_000)
	startOnSegment(t, seg, gmClock, false, "-S", "--priority1=1", "--serverOnly=1")
	cl := startOnSegment(t, seg, clClock, false, "-S", "-s")
	cl.member.WithoutTimestamps(40)
	start := time.Now()
	for state(t, cl.d) != engine.Slave || apart(t, clClock, gmClock).Abs() > 20*time.Microsecond {
		require.Less(t, time.Since(start), 20*time.Second, "no convergence: state %v, %v apart", state(t, cl.d), apart(t, clClock, gmClock))
		time.Sleep(50 * time.Millisecond)
	}
	log := cl.log.String()
	assert.Contains(t, log, "port 1 (client): received SYNC without timestamp")
	assert.Equal(t, 1, strings.Count(log, " s1 freq "), "one step, from the first timestamped measurements")
	assert.NotContains(t, log, "master offset -17", "no offset from a receive time of 0")
}

// TestEngineToldTimestamping: the daemon tells the engine the timestamping
// the configuration asks for, and the wire shows it: with hardware
// timestamps PORT_PROPERTIES_NP says hardware and Sync is two-step with a
// Follow_Up; with onestep (or twoStepFlag 0 on hardware) Sync is one-step,
// carries its own time, and no Follow_Up is sent. The hardware ports here
// stamp with the grandmaster's clock, as a NIC stamps with its PHC.
func TestEngineToldTimestamping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		hw      bool
		want    ptp.Timestamping
		twoStep bool
	}{
		{"software", []string{"-S"}, false, ptp.TimestampingSoftware, true},
		{"hardware", []string{"-H"}, true, ptp.TimestampingHardware, true},
		{"onestep", []string{"--time_stamping=onestep"}, true, ptp.TimestampingOneStep, false},
		{"twoStepFlag 0", []string{"--twoStepFlag=0"}, true, ptp.TimestampingOneStep, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := transport.NewSegment()
			tap, err := seg.Join(transport.MemberConfig{Name: "tap"})
			require.NoError(t, err)
			defer tap.Close()
			gmClock := virtual(t, "gm", 0, 0)
			gm := startOnSegment(t, seg, gmClock, tc.hw, append([]string{"--priority1=1", "--serverOnly=1"}, tc.args...)...)

			var cfg engine.ClockConfig
			var dds ptp.DefaultDataSet
			require.True(t, gm.d.Do(context.Background(), func(e *engine.Clock) { cfg, dds = e.Config(), e.DefaultDS() }))
			assert.Equal(t, tc.want, cfg.Timestamping, "what the engine reports in PORT_PROPERTIES_NP")
			assert.Equal(t, tc.twoStep, cfg.TwoStep)
			assert.Equal(t, tc.twoStep, dds.Flags&ptp.DefaultDSTwoStep != 0, "defaultDS.twoStepFlag")

			mc, err := mgmt.Dial(gm.uds, 0)
			require.NoError(t, err)
			defer mc.Close()
			resps, err := mc.Get(ptp.MIDPortPropertiesNP)
			require.NoError(t, err)
			require.Len(t, resps, 1)
			var pp ptp.PortPropertiesNP
			require.NoError(t, resps[0].Data(&pp))
			assert.Equal(t, tc.want, pp.Timestamping)

			// What the grandmaster puts on the wire over a second, once it
			// is master.
			for start := time.Now(); !state(t, gm.d).IsMaster(); time.Sleep(20 * time.Millisecond) {
				require.Less(t, time.Since(start), 5*time.Second, "the grandmaster never became master")
			}
			drain(tap)
			var syncs, followUps, stamped int
			buf := make([]byte, 1500)
			var info transport.RxInfo
			for end := time.Now().Add(time.Second); time.Now().Before(end); {
				n, err := tap.TryReceive(buf, &info)
				if err == transport.ErrWouldBlock {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				require.NoError(t, err)
				p, err := ptp.Decode(buf[:n])
				require.NoError(t, err)
				switch m := p.(type) {
				case *ptp.Sync:
					syncs++
					assert.Equal(t, tc.twoStep, m.Flags.Has(ptp.FlagTwoStep), "Sync's twoStep flag")
					if m.OriginTimestamp != (ptp.Timestamp{}) {
						stamped++
					}
				case *ptp.FollowUp:
					followUps++
				}
			}
			t.Logf("%d Sync (%d with a time in them), %d Follow_Up", syncs, stamped, followUps)
			assert.Greater(t, syncs, 8, "16 Hz Sync")
			if tc.twoStep {
				assert.InDelta(t, syncs, followUps, 1, "a Follow_Up for each Sync")
				assert.Zero(t, stamped)
			} else {
				assert.Zero(t, followUps, "no Follow_Up with one-step Sync")
				assert.Equal(t, syncs, stamped, "the NIC writes each one-step Sync's time")
			}
		})
	}
}

// drain discards what m has received so far.
func drain(m *transport.Member) {
	buf := make([]byte, 1500)
	var info transport.RxInfo
	for {
		if _, err := m.TryReceive(buf, &info); err != nil {
			return
		}
	}
}

// TestUDSOwner: uds_owner, uds_group and the read-only pair give the
// management sockets to the configured user and group, with their modes,
// so that operators in a group manage the daemon without root.
func TestUDSOwner(t *testing.T) {
	testenv.RequireRoot(t) // giving a file away needs CAP_CHOWN
	seg := transport.NewSegment()
	clk := virtual(t, "gm", 0, 0)
	d := startOnSegment(t, seg, clk, false, "-S", "--uds_owner=65534", "--uds_group=65533",
		"--uds_ro_group=65532", "--uds_file_mode=0660", "--uds_ro_file_mode=0640")
	for _, tc := range []struct {
		path     string
		uid, gid uint32
		mode     os.FileMode
	}{{d.uds, 65534, 65533, 0o660}, {d.uds + "ro", 0, 65532, 0o640}} {
		fi, err := os.Stat(tc.path)
		require.NoError(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, tc.uid, st.Uid, tc.path)
		assert.Equal(t, tc.gid, st.Gid, tc.path)
		assert.Equal(t, tc.mode, fi.Mode().Perm(), tc.path)
		assert.NotZero(t, fi.Mode()&os.ModeSocket, tc.path)
	}
}
