package gpsemu

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/nmea"
	"github.com/roko-network/roko-ptpd/phc"
)

// t0 is a true second in the tests: 2024-06-30 12:00:00 UTC.
const t0 = int64(1_719_748_800)

// newPHC makes an emulated i210 that is 3 s ahead and 12 ppm fast, with
// EXTTS channel 0 on pin 0 taking both edges, and a Device on it.
func newPHC(t *testing.T) (*phc.Emulated, *phc.Device) {
	t.Helper()
	cfg := phc.DefaultEmulatedConfig()
	cfg.Offset, cfg.FrequencyError = 3*time.Second, 12_000
	e, err := phc.CreateEmulated(filepath.Join(t.TempDir(), "ptp0"), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	d, err := phc.Open(e.Path())
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	require.NoError(t, d.SetPin(0, phc.PinExtTS, 0))
	require.NoError(t, d.EnableExtTS(0, phc.BothEdges))
	return e, d
}

func TestSecondAt(t *testing.T) {
	leapDay := time.Date(2016, 12, 31, 15, 0, 0, 0, time.UTC)
	end := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	// True time 1000 s is 2016-12-31 23:59:58 to the receiver.
	r, err := New(Config{TimeOffset: time.Duration(end-2-1000) * time.Second, LeapDays: []time.Time{leapDay}})
	require.NoError(t, err)
	for _, tc := range []struct {
		sec  int64
		want string
		leap bool
	}{
		{1000, "2016-12-31T23:59:58Z", false},
		{1001, "2016-12-31T23:59:59Z", false},
		{1002, "2016-12-31T23:59:59Z", true},
		{1003, "2017-01-01T00:00:00Z", false},
		{1004, "2017-01-01T00:00:01Z", false},
	} {
		s := r.SecondAt(tc.sec)
		assert.Equal(t, tc.want, s.UTC.Format(time.RFC3339), "second %d", tc.sec)
		assert.Equal(t, tc.leap, s.Leap, "second %d", tc.sec)
		assert.Equal(t, tc.sec, s.True)
	}
	_, err = New(Config{TimeOffset: 1500 * time.Millisecond})
	assert.ErrorContains(t, err, "whole seconds")
	_, err = New(Config{Sentences: []string{"GGA"}})
	assert.ErrorContains(t, err, `sentence type "GGA"`)
}

// TestPulsesIntoEXTTS: each pulse lands in the emulated PHC's EXTTS queue
// at the PHC time of its true edge, lost seconds leave no event, and the
// noise has the configured statistics, the same for the same seed.
func TestPulsesIntoEXTTS(t *testing.T) {
	e, d := newPHC(t)
	cfg := Config{PHC: e, Jitter: 100 * time.Nanosecond, Sawtooth: 20 * time.Nanosecond, CableDelay: 150 * time.Nanosecond,
		PulseWidth: 100 * time.Millisecond, Seed: 7, NoPulse: func(s Second) bool { return s.True%10 == 3 }}
	r, err := New(cfg)
	require.NoError(t, err)
	r2, err := New(cfg)
	require.NoError(t, err)

	const n = 400
	var sum, sumSq float64
	pulses := 0
	for sec := t0; sec < t0+n; sec++ {
		p := r.Plan(sec)
		assert.Equal(t, p, r2.Plan(sec), "the same seed, the same second")
		require.NoError(t, r.Deliver(p))
		evs, err := d.ReadExtTS(0)
		require.NoError(t, err)
		if sec%10 == 3 {
			assert.True(t, p.Dropped)
			assert.Empty(t, evs, "second %d has no pulse", sec)
			continue
		}
		rise, err := e.FromRealtime(sec*1e9 + int64(cfg.CableDelay+p.Jitter+p.Sawtooth))
		require.NoError(t, err)
		fall, err := e.FromRealtime(p.Rise + int64(cfg.PulseWidth))
		require.NoError(t, err)
		require.Equal(t, []phc.ExtTSEvent{{Channel: 0, Time: rise}, {Channel: 0, Time: fall}}, evs, "second %d", sec)
		assert.LessOrEqual(t, p.Sawtooth.Abs(), cfg.Sawtooth)
		j := float64(p.Jitter)
		sum, sumSq = sum+j, sumSq+j*j
		pulses++
	}
	assert.Equal(t, n-n/10, pulses)
	mean := sum / float64(pulses)
	rms := math.Sqrt(sumSq / float64(pulses))
	assert.InDelta(t, 0, mean, 15, "jitter mean, ns")
	assert.InDelta(t, 100, rms, 12, "jitter RMS, ns")
	assert.NotEqual(t, r.Plan(t0).Jitter, mustNew(t, Config{Jitter: cfg.Jitter, Seed: 8}).Plan(t0).Jitter, "another seed, other noise")
}

func mustNew(t *testing.T, cfg Config) *Receiver {
	t.Helper()
	r, err := New(cfg)
	require.NoError(t, err)
	return r
}

// TestPulsesIntoPPS: the pulse's edges are the emulated PPS source's
// assert and clear, with their sequence numbers.
func TestPulsesIntoPPS(t *testing.T) {
	src, err := phc.CreateEmulatedPPS(filepath.Join(t.TempDir(), "pps0"))
	require.NoError(t, err)
	defer src.Close()
	pps, err := phc.OpenPPS(src.Path())
	require.NoError(t, err)
	defer pps.Close()
	require.NoError(t, pps.SetParams(phc.PPSParams{Mode: phc.PPSCaptureAssert | phc.PPSCaptureClear}))
	r := mustNew(t, Config{PPS: src, CableDelay: 80 * time.Nanosecond, PulseWidth: 200 * time.Millisecond, Jitter: 30, Seed: 1})
	for i := range int64(3) {
		p := r.Plan(t0 + i)
		require.NoError(t, r.Deliver(p))
		ev, err := pps.Fetch(0)
		require.NoError(t, err)
		assert.Equal(t, uint32(i+1), ev.AssertSequence)
		assert.Equal(t, uint32(i+1), ev.ClearSequence)
		assert.Equal(t, (t0+i)*1e9+80+int64(p.Jitter), ev.Assert)
		assert.Equal(t, ev.Assert+int64(200*time.Millisecond), ev.Clear)
	}
}

// parseAll decodes every line of a second's NMEA bytes.
func parseAll(t *testing.T, b []byte) ([]nmea.Sentence, []error) {
	t.Helper()
	var ss []nmea.Sentence
	var errs []error
	for _, line := range strings.SplitAfter(string(b), "\r\n") {
		if line == "" {
			continue
		}
		require.True(t, strings.HasSuffix(line, "\r\n"), "%q", line)
		assert.LessOrEqual(t, len(line), 82, "NMEA 0183's longest sentence")
		s, err := nmea.Parse([]byte(line))
		ss, errs = append(ss, s), append(errs, err)
	}
	return ss, errs
}

// TestSentences: what internal/nmea makes of the receiver's sentences,
// good and corrupt.
func TestSentences(t *testing.T) {
	utc := time.Unix(t0, 0).UTC()
	for _, tc := range []struct {
		name    string
		cfg     Config
		types   []string
		valid   []bool
		second  time.Time
		errIs   error // every sentence fails so
		nothing bool
	}{
		{"RMC and ZDA", Config{}, []string{"RMC", "ZDA"}, []bool{true, true}, utc, nil, false},
		{"ZDA only, GN talker", Config{Sentences: []string{ZDA}, Talker: "GN"}, []string{"ZDA"}, []bool{true}, utc, nil, false},
		{"no fix", Config{NoFix: true}, []string{"RMC", "ZDA"}, []bool{false, true}, utc, nil, false},
		{"status V", Config{Corrupt: func(Second) Corruption { return Corruption{StatusV: true} }}, []string{"RMC", "ZDA"}, []bool{false, true}, utc, nil, false},
		{"a second late", Config{Corrupt: func(Second) Corruption { return Corruption{SecondOff: 1} }}, []string{"RMC", "ZDA"}, []bool{true, true}, utc.Add(time.Second), nil, false},
		{"two seconds early", Config{Corrupt: func(Second) Corruption { return Corruption{SecondOff: -2} }}, []string{"RMC", "ZDA"}, []bool{true, true}, utc.Add(-2 * time.Second), nil, false},
		{"bad checksum", Config{Corrupt: func(Second) Corruption { return Corruption{BadChecksum: true} }}, nil, nil, utc, nmea.ErrChecksum, false},
		{"garbage", Config{Corrupt: func(Second) Corruption { return Corruption{Garbage: true} }}, nil, nil, utc, nmea.ErrMalformed, false},
		{"no sentence", Config{NoSentence: func(s Second) bool { return s.True == t0 }}, nil, nil, utc, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.NMEA = []io.Writer{io.Discard}
			p := mustNew(t, tc.cfg).Plan(t0)
			if tc.nothing {
				assert.Nil(t, p.NMEA)
				return
			}
			assert.Equal(t, t0*1e9+int64(DefaultPhase), p.SentAt)
			ss, errs := parseAll(t, p.NMEA)
			var sc nmea.Scanner
			var scanned int
			sc.Write(p.NMEA, func(nmea.Sentence) { scanned++ })
			if tc.errIs != nil {
				require.Len(t, errs, 2)
				for _, err := range errs {
					assert.ErrorIs(t, err, tc.errIs)
				}
				assert.Zero(t, scanned)
				assert.Equal(t, uint64(2), sc.Malformed, "the scanner counts both")
				return
			}
			require.Len(t, ss, len(tc.types))
			for i, s := range ss {
				require.NoError(t, errs[i])
				assert.Equal(t, tc.types[i], s.Type)
				assert.Equal(t, tc.valid[i], s.Valid, s.Type)
				assert.Equal(t, tc.second, s.Time, s.Type)
				assert.False(t, s.Leap)
			}
			assert.Equal(t, len(ss), scanned)
		})
	}
}

// TestLeapDay: the receiver says 23:59:60 on a leap day, then 00:00:00.
func TestLeapDay(t *testing.T) {
	end := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	r := mustNew(t, Config{NMEA: []io.Writer{io.Discard}, TimeOffset: time.Duration(end.Unix()-2-t0) * time.Second,
		LeapDays: []time.Time{time.Date(2016, 12, 31, 0, 0, 0, 0, time.UTC)}})
	var fields []string
	var leaps []bool
	var times []string
	for sec := t0; sec < t0+4; sec++ {
		p := r.Plan(sec)
		ss, errs := parseAll(t, p.NMEA)
		for i, s := range ss {
			require.NoError(t, errs[i])
			times = append(times, s.Type+" "+s.Time.Format(time.TimeOnly))
			leaps = append(leaps, s.Leap)
		}
		fields = append(fields, strings.Split(string(p.NMEA), ",")[1])
	}
	assert.Equal(t, []string{"235958.00", "235959.00", "235960.00", "000000.00"}, fields)
	assert.Equal(t, []string{"RMC 23:59:58", "ZDA 23:59:58", "RMC 23:59:59", "ZDA 23:59:59", "RMC 23:59:59", "ZDA 23:59:59", "RMC 00:00:00", "ZDA 00:00:00"}, times)
	assert.Equal(t, []bool{false, false, false, false, true, true, false, false}, leaps)
}

// TestRun runs the receiver for two seconds of real time into an emulated
// PHC, an emulated PPS source, a pty and a TCP client: each pulse lands
// with its planned timestamp, and each sentence read from the pty's slave
// or the socket names the second of the pulse before it. It asserts on
// the timestamps, never on how late the process ran.
func TestRun(t *testing.T) {
	e, d := newPHC(t)
	src, err := phc.CreateEmulatedPPS(filepath.Join(t.TempDir(), "pps0"))
	require.NoError(t, err)
	defer src.Close()
	master, slavePath, err := OpenPTY()
	require.NoError(t, err)
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	defer slave.Close()
	srv, err := ListenTCP("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.Eventually(t, func() bool { return srv.Clients() == 1 }, 5*time.Second, time.Millisecond)

	var mu sync.Mutex
	plans := map[int64]Pulse{} // by the second the sentences name
	r := mustNew(t, Config{PHC: e, PPS: src, NMEA: []io.Writer{PTYWriter{Master: master}, srv}, Jitter: 50, Seed: 3,
		Phase: 10 * time.Millisecond, OnPulse: func(p Pulse) {
			mu.Lock()
			plans[p.UTC.Unix()] = p
			mu.Unlock()
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// Two seconds' sentences from each line.
	read := func(name string, rd io.Reader) []nmea.Sentence {
		var got []nmea.Sentence
		br := bufio.NewReader(rd)
		for len(got) < 4 {
			line, err := br.ReadString('\n')
			require.NoError(t, err, name)
			s, err := nmea.Parse([]byte(line))
			require.NoError(t, err, "%s: %q", name, line)
			got = append(got, s)
		}
		return got
	}
	require.NoError(t, slave.SetReadDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	fromPTY := read("pty", slave)
	fromTCP := read("tcp", conn)
	cancel()
	require.NoError(t, <-done)

	mu.Lock()
	defer mu.Unlock()
	evs, err := d.ReadExtTS(0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(evs), 2)
	for _, got := range [][]nmea.Sentence{fromPTY, fromTCP} {
		for _, s := range got {
			p, ok := plans[s.Time.Unix()]
			require.True(t, ok, "a sentence for %v, a second with no pulse", s.Time)
			assert.Equal(t, s.Time.Unix(), p.True, "no time offset: the sentence names the pulse's true second")
			want, err := e.FromRealtime(p.Rise)
			require.NoError(t, err)
			assert.Contains(t, evs, phc.ExtTSEvent{Channel: 0, Time: want}, "the pulse before the sentence is in the PHC's queue")
		}
	}
	last, err := phc.OpenPPS(src.Path())
	require.NoError(t, err)
	defer last.Close()
	ev, err := last.Fetch(0)
	require.NoError(t, err)
	// Its second, rounded: the jitter may put it just before.
	assert.Equal(t, r.Plan((ev.Assert+5e8)/1e9).Rise, ev.Assert, "the PPS source's last assert is a planned pulse")
}
