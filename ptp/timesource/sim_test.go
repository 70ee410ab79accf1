package timesource_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp/timesource"
	"github.com/roko-network/roko-ptpd/servo"
)

// world simulates, in virtual time, a GPS receiver and the clock a Source
// disciplines. True time is GPS time on PTP's timescale (TAI); the host's
// CLOCK_MONOTONIC is true time too, and CLOCK_REALTIME is UTC.
type world struct {
	t   *testing.T
	src *timesource.Source
	rng *rand.Rand

	// The served clock: at true time anchor it read clk, and it runs at
	// 1 + (oscErr + adj) × 1e-9.
	anchor, clk int64
	oscErr, adj float64

	utcOffset int64
	// Receiver.
	jitter     float64 // ns RMS
	phase      time.Duration
	phaseJit   time.Duration
	pulses     func(sec int64) bool          // false: no pulse that second
	report     func(sec int64) *reportChange // nil: a good report
	extra      func(sec int64) []int64       // extra edges (true-time offsets from the second)
	leapAt     int64                         // UTC Unix second of a leap second's 23:59:60, or 0
	cable      time.Duration                 // added to every edge (cable and receiver delay)
	width      time.Duration                 // with both edges: the pulse's width
	utcClock   bool                          // the clock keeps UTC: its true error is against TAI − the UTC offset
	actions    []timesource.Action
	sec        int64 // next true second to emit
	stepsSeen  int
	trueErrors []float64
}

type reportChange struct {
	skip    bool
	invalid bool
	shift   int64 // seconds added to the named time
}

// worldStart is the true time the simulation starts at: 2026-09-21.
const worldStart = int64(1_790_000_000) * 1e9

func newWorld(t *testing.T, cfg timesource.Config, offset time.Duration, oscPPB float64, seed uint64) *world {
	return newWorldAt(t, worldStart, cfg, offset, oscPPB, seed)
}

func newWorldAt(t *testing.T, start int64, cfg timesource.Config, offset time.Duration, oscPPB float64, seed uint64) *world {
	t.Helper()
	if cfg.Servo == nil {
		sc := servo.DefaultConfig()
		sc.MaxFrequency = 62_499_999
		pi, err := servo.New(servo.KindPI, sc, 0)
		require.NoError(t, err)
		cfg.Servo = pi
	}
	if cfg.UTCOffset == 0 {
		cfg.UTCOffset = 37
	}
	src, err := timesource.New(cfg)
	require.NoError(t, err)
	return &world{t: t, src: src, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		anchor: start, clk: start + int64(offset), oscErr: oscPPB, utcOffset: 37,
		phase: 200 * time.Millisecond, sec: start/1e9 + 1}
}

// read is the served clock at true time tt.
func (w *world) read(tt int64) int64 {
	return w.clk + int64(math.Round(float64(tt-w.anchor)*(1+(w.oscErr+w.adj)*1e-9)))
}

// do carries out an action at true time tt.
func (w *world) do(tt int64, a timesource.Action) {
	w.clk, w.anchor = w.read(tt), tt
	if a.Step != 0 {
		w.clk += int64(a.Step)
		w.stepsSeen++
	}
	if a.Adjust {
		w.adj = a.Frequency
	}
	w.actions = append(w.actions, a)
}

// trueError is the served clock minus true time, ns: TAI, or UTC for a
// clock that keeps UTC.
func (w *world) trueError(tt int64) int64 {
	if !w.utcClock {
		return w.read(tt) - tt
	}
	off := w.utcOffset
	if w.leapAt != 0 && tt/1e9-w.utcOffset > w.leapAt {
		off++ // the sim names the leap second w.leapAt; UTC falls one behind after it
	}
	return w.read(tt) - (tt - off*1e9)
}

// run simulates n seconds: each second a pulse, a report at the phase,
// and ticks every 100 ms. It records the true error at every second.
func (w *world) run(n int) {
	for range n {
		sec := w.sec
		w.sec++
		base := sec * 1e9
		var evs []event
		if w.pulses == nil || w.pulses(sec) {
			e := base + int64(w.cable) + int64(w.rng.NormFloat64()*w.jitter)
			evs = append(evs, event{at: e, pulse: true})
			if w.width > 0 {
				evs = append(evs, event{at: e + int64(w.width), pulse: true})
			}
		}
		if w.extra != nil {
			for _, d := range w.extra(sec) {
				evs = append(evs, event{at: base + d, pulse: true})
			}
		}
		rc := &reportChange{}
		if w.report != nil && w.report(sec) != nil {
			rc = w.report(sec)
		}
		if !rc.skip {
			at := base + int64(w.phase)
			if w.phaseJit > 0 {
				at += int64(w.rng.NormFloat64() * float64(w.phaseJit))
			}
			evs = append(evs, event{at: at, rc: rc})
		}
		for k := int64(1); k < 10; k++ {
			evs = append(evs, event{at: base + k*1e8, tick: true})
		}
		sortEvents(evs)
		for _, ev := range evs {
			switch {
			case ev.pulse:
				w.do(ev.at, w.src.Pulse(timesource.Pulse{Edge: w.read(ev.at), Host: ev.at, System: ev.at - w.utcOffset*1e9}))
			case ev.tick:
				w.do(ev.at, w.src.Tick(ev.at))
			default:
				utcSec := sec - w.utcOffset + ev.rc.shift
				leap := false
				if w.leapAt != 0 {
					switch {
					case utcSec == w.leapAt:
						leap = true // 23:59:60 is shown as 23:59:59 with Leap
						utcSec = w.leapAt - 1
					case utcSec > w.leapAt:
						utcSec-- // after the leap, UTC is one second further behind
					}
				}
				w.do(ev.at, w.src.TimeOfDay(timesource.TimeOfDay{UTC: time.Unix(utcSec, 0).UTC(), Leap: leap,
					Valid: !ev.rc.invalid, Received: ev.at}))
			}
		}
		w.trueErrors = append(w.trueErrors, float64(w.trueError(base+999_000_000)))
	}
}

type event struct {
	at    int64
	pulse bool
	tick  bool
	rc    *reportChange
}

func sortEvents(evs []event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].at < evs[j-1].at; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func rmsOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// runUntil simulates until the source is in state st, at most n seconds,
// and returns how many it took.
func (w *world) runUntil(st timesource.State, n int) int {
	for i := range n {
		if w.src.State() == st {
			return i
		}
		w.run(1)
	}
	w.t.Fatalf("source still %s after %d s, want %s", w.src.State(), n, st)
	return n
}
