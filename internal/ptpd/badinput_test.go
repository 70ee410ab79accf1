package ptpd

import (
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// TestGrandmasterBadInputs: a locked grandmaster (emulated PHC, emulated
// receiver, NMEA on a pty) is fed each bad input of the issue in turn.
// Each is counted in TIME_SOURCE_NP, and the served time never moves: the
// PHC stays within a microsecond of GPS time throughout (the issue's
// bound is a millisecond). Between inputs the grandmaster locks again.
func TestGrandmasterBadInputs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ptp0")
	cfg := phc.DefaultEmulatedConfig()
	cfg.Offset, cfg.FrequencyError = 200*time.Millisecond, -30_000
	emu, err := phc.CreateEmulated(path, cfg)
	require.NoError(t, err)
	defer emu.Close()
	ptyMaster, ttyPath, err := gpsemu.OpenPTY()
	require.NoError(t, err)
	defer ptyMaster.Close()

	seg := transport.NewSegment()
	gm, _, uds := startGM(t, seg, path, "--priority1=1", "--serverOnly=1", "--pps_input=extts",
		"--ts2phc.tod_source=nmea", "--ts2phc.nmea_serialport="+ttyPath,
		"--time_source_qualification=2", "--ts2phc.holdover=60")

	var corrupt atomic.Pointer[gpsemu.Corruption]
	corrupt.Store(&gpsemu.Corruption{})
	runReceiver(t, gpsemu.Config{PHC: emu, NMEA: []io.Writer{gpsemu.PTYWriter{Master: ptyMaster}},
		Jitter: 20 * time.Nanosecond, Phase: 400 * time.Millisecond, Seed: 5,
		Corrupt: func(gpsemu.Second) gpsemu.Corruption { return *corrupt.Load() }})

	mc, err := mgmt.Dial(uds, 0)
	require.NoError(t, err)
	defer mc.Close()
	counters := func() ptp.TimeSourceNP {
		np, err := mc.TimeSource()
		require.NoError(t, err)
		return np
	}
	// watch samples the PHC's error from GPS time (TAI) for d and returns
	// the largest.
	watch := func(d time.Duration) time.Duration {
		var worst time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			te, err := emu.TrueError()
			require.NoError(t, err)
			worst = max(worst, (te - 37*time.Second).Abs())
		}
		return worst
	}
	// extraEdges puts an edge off after each of the next n whole seconds.
	extraEdges := func(off time.Duration, n int) {
		for range n {
			next := time.Now().Truncate(time.Second).Add(time.Second)
			time.Sleep(time.Until(next.Add(off)) + 10*time.Millisecond)
			_, err := emu.InjectEdge(0, phc.RisingEdge, next.Add(off).UnixNano())
			require.NoError(t, err)
		}
	}

	waitClass(t, gm, 6, 60*time.Second)
	for _, tc := range []struct {
		name    string
		feed    func()
		counter func(ptp.TimeSourceNP) uint64
		atLeast uint64
	}{
		{"bad checksum", func() {
			corrupt.Store(&gpsemu.Corruption{BadChecksum: true})
			time.Sleep(4 * time.Second)
		}, func(n ptp.TimeSourceNP) uint64 { return n.Malformed }, 6},
		{"no fix (RMC status V)", func() {
			corrupt.Store(&gpsemu.Corruption{StatusV: true})
			time.Sleep(3 * time.Second)
		}, func(n ptp.TimeSourceNP) uint64 { return n.NoFix }, 2},
		{"second disagrees with the pulse count", func() {
			corrupt.Store(&gpsemu.Corruption{SecondOff: 1})
			time.Sleep(time.Second)
		}, func(n ptp.TimeSourceNP) uint64 { return n.SecondMismatch }, 1},
		{"time jump", func() {
			corrupt.Store(&gpsemu.Corruption{SecondOff: 3600})
			time.Sleep(6 * time.Second)
		}, func(n ptp.TimeSourceNP) uint64 { return n.TimeJumps }, 1},
		{"pulse too far from the edge", func() { extraEdges(30*time.Microsecond, 2) },
			func(n ptp.TimeSourceNP) uint64 { return n.PulsesOutOfWindow }, 2},
		{"pulse at the wrong phase", func() { extraEdges(500*time.Millisecond, 2) },
			func(n ptp.TimeSourceNP) uint64 { return n.PulsesWrongPhase }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := counters()
			done := make(chan time.Duration)
			go func() { done <- watch(8 * time.Second) }()
			tc.feed()
			corrupt.Store(&gpsemu.Corruption{})
			worst := <-done
			after := counters()
			t.Logf("counter %d -> %d, state %s; PHC at most %v from GPS time", tc.counter(before), tc.counter(after), after.State, worst)
			assert.GreaterOrEqual(t, tc.counter(after)-tc.counter(before), tc.atLeast, "counted")
			assert.Less(t, worst, time.Microsecond, "the served time never moves")
			assert.Equal(t, before.Steps, after.Steps, "never stepped")
			waitClass(t, gm, 6, 40*time.Second)
		})
	}
}
