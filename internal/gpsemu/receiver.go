package gpsemu

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roko-network/roko-ptpd/phc"
)

// DefaultPhase is when in the second the sentences are sent unless
// Config.Phase says otherwise: 50 ms after the pulse, as most receivers
// send soon after it.
const DefaultPhase = 50 * time.Millisecond

// Config describes a receiver. The zero value pulses nowhere and says
// nothing; give it at least one of PHC, PPS and NMEA.
type Config struct {
	// PHC, if set, takes the pulse on EXTTS channel PHCChannel: a rising
	// edge, and with PulseWidth a falling one.
	PHC        *phc.Emulated
	PHCChannel uint32
	// PPS, if set, takes the pulse as an assert edge, and with PulseWidth
	// a clear edge.
	PPS *phc.EmulatedPPS
	// NMEA are where the sentences go (a pty master, a TCPServer); each
	// is written on its own, so one that blocks loses its sentences
	// without holding up the others or the pulses.
	NMEA []io.Writer

	// TimeOffset is the receiver's UTC minus true time
	// (CLOCK_REALTIME), whole seconds: a test pretends it is another
	// moment. The leap seconds of LeapDays that fall between true time
	// plus TimeOffset and the epoch are not counted in it: after each,
	// the receiver names every second one second earlier than true time
	// plus TimeOffset, as UTC does.
	TimeOffset time.Duration
	// LeapDays are UTC days (any time on the day) that end with an
	// inserted leap second, 23:59:60.
	LeapDays []time.Time

	// Jitter is the pulse's Gaussian timing noise, RMS.
	Jitter time.Duration
	// Sawtooth is the pulse's quantisation error: uniform within
	// ±Sawtooth. Each Pulse carries it, as a receiver reports it (u-blox
	// TIM-TP qErr) for a consumer to correct.
	Sawtooth time.Duration
	// CableDelay is added to every edge: the antenna cable's and the
	// receiver's delay that a grandmaster must compensate.
	CableDelay time.Duration
	// PulseWidth is the pulse's length; 0 sends no falling edges.
	PulseWidth time.Duration

	// NoPulse and NoSentence, if set, say which seconds have no pulse
	// and which no sentences.
	NoPulse, NoSentence func(Second) bool
	// Corrupt, if set, says how each second's sentences go wrong.
	Corrupt func(Second) Corruption

	// Sentences are the types sent each second, in order: RMC and/or
	// ZDA. Nil sends both.
	Sentences []string
	// LeapS, when not zero, sends a u-blox UBX-NAV-TIMEGPS frame before
	// each second's sentences saying GPS − UTC is LeapS (18 since 2017):
	// gpsd reads the leap seconds from it.
	LeapS int8
	// Talker is the sentences' talker ID; "" is "GP".
	Talker string
	// Phase is when after the pulse the sentences are sent (0:
	// DefaultPhase), PhaseJitter its Gaussian noise, RMS; the send time
	// stays within the second.
	Phase, PhaseJitter time.Duration

	// NoFix starts the receiver without a fix (RMC status V); SetFix
	// changes it.
	NoFix bool
	// Seed makes the noise repeatable: a second's noise depends only on
	// Seed and the second.
	Seed uint64

	// OnPulse, if set, is called with each second's plan once Run has
	// delivered its pulse (dropped or not).
	OnPulse func(Pulse)
}

// Second is a second of the receiver's life.
type Second struct {
	// True is the second's start in true time (CLOCK_REALTIME), s since
	// the epoch.
	True int64
	// UTC is the second the receiver names for it. In a leap second it
	// is 23:59:59 of the leap day and Leap is set: the receiver says
	// 23:59:60.
	UTC  time.Time
	Leap bool
}

// Pulse is what a receiver does in one second: its plan, which Run
// carries out.
type Pulse struct {
	Second
	// Dropped: no pulse this second; Rise and Fall are then zero.
	Dropped bool
	// Rise and Fall are the edges' true times (CLOCK_REALTIME ns); Fall
	// is zero without a PulseWidth.
	Rise, Fall int64
	// Jitter and Sawtooth are the noise in Rise besides CableDelay.
	Jitter, Sawtooth time.Duration
	// NMEA are the bytes sent at SentAt (true time, ns); nil if the
	// second has none.
	NMEA   []byte
	SentAt int64
}

// Receiver is an emulated GPS receiver.
type Receiver struct {
	cfg   Config
	fix   atomic.Bool
	leaps []int64 // the ends of LeapDays, s since the epoch, ascending
}

// New makes a receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.TimeOffset%time.Second != 0 {
		return nil, fmt.Errorf("gpsemu: time offset %v: whole seconds only", cfg.TimeOffset)
	}
	if cfg.Sentences == nil {
		cfg.Sentences = []string{RMC, ZDA}
	}
	for _, s := range cfg.Sentences {
		if s != RMC && s != ZDA {
			return nil, fmt.Errorf("gpsemu: sentence type %q: RMC or ZDA", s)
		}
	}
	if cfg.Talker == "" {
		cfg.Talker = "GP"
	}
	if len(cfg.Talker) != 2 {
		return nil, fmt.Errorf("gpsemu: talker %q: two letters", cfg.Talker)
	}
	if cfg.Phase == 0 {
		cfg.Phase = DefaultPhase
	}
	if cfg.Phase < 0 || cfg.Phase >= time.Second || cfg.PulseWidth < 0 || cfg.PulseWidth >= time.Second {
		return nil, fmt.Errorf("gpsemu: phase %v and pulse width %v must be within the second", cfg.Phase, cfg.PulseWidth)
	}
	r := &Receiver{cfg: cfg}
	r.fix.Store(!cfg.NoFix)
	for _, d := range cfg.LeapDays {
		d = d.UTC()
		r.leaps = append(r.leaps, time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, time.UTC).Unix())
	}
	slices.Sort(r.leaps)
	r.leaps = slices.Compact(r.leaps)
	return r, nil
}

// SetFix makes the receiver have a fix (RMC status A) or not (V) from the
// next sentence on.
func (r *Receiver) SetFix(fix bool) { r.fix.Store(fix) }

// Fix reports whether the receiver has a fix.
func (r *Receiver) Fix() bool { return r.fix.Load() }

// SecondAt names the true second sec (s since the epoch): the UTC second
// the receiver gives it, counting LeapDays' leap seconds.
func (r *Receiver) SecondAt(sec int64) Second {
	v := sec + int64(r.cfg.TimeOffset/time.Second)
	for _, end := range r.leaps {
		if v == end {
			return Second{True: sec, UTC: time.Unix(end-1, 0).UTC(), Leap: true}
		}
		if v > end {
			v--
		}
	}
	return Second{True: sec, UTC: time.Unix(v, 0).UTC()}
}

// Plan is what the receiver does in true second sec: its edges' times,
// its sentences and when they are sent. It depends only on the
// configuration, the Seed, sec and whether the receiver has a fix now.
func (r *Receiver) Plan(sec int64) Pulse {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(sec)))
	// Every draw is made whatever the configuration, so that one
	// setting's noise does not change with another's.
	jitter := time.Duration(math.Round(rng.NormFloat64() * float64(r.cfg.Jitter)))
	saw := time.Duration(math.Round((2*rng.Float64() - 1) * float64(r.cfg.Sawtooth)))
	phaseNoise := time.Duration(math.Round(rng.NormFloat64() * float64(r.cfg.PhaseJitter)))
	p := Pulse{Second: r.SecondAt(sec), Jitter: jitter, Sawtooth: saw}
	t0 := sec * 1e9
	if r.cfg.NoPulse != nil && r.cfg.NoPulse(p.Second) {
		p.Dropped = true
	} else {
		p.Rise = t0 + int64(r.cfg.CableDelay+jitter+saw)
		if r.cfg.PulseWidth > 0 {
			p.Fall = p.Rise + int64(r.cfg.PulseWidth)
		}
	}
	if len(r.cfg.NMEA) == 0 || r.cfg.NoSentence != nil && r.cfg.NoSentence(p.Second) {
		return p
	}
	var c Corruption
	if r.cfg.Corrupt != nil {
		c = r.cfg.Corrupt(p.Second)
	}
	noise := func() []byte {
		// Printable, and never '*', '$' or a line end: a line the
		// scanner takes whole and cannot check.
		const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.-#@!"
		b := make([]byte, 20+rng.IntN(40))
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		return b
	}
	p.NMEA = sentences(r.cfg.Sentences, r.cfg.Talker, p.UTC, p.Leap, r.Fix(), c, noise)
	if r.cfg.LeapS != 0 && !p.Leap {
		p.NMEA = append(UBXTimeGPS(p.UTC, r.cfg.LeapS), p.NMEA...)
	}
	phase := min(max(r.cfg.Phase+phaseNoise, 0), time.Second-time.Millisecond)
	p.SentAt = t0 + int64(phase)
	return p
}

// Deliver carries out a plan's edges at once, whatever the time: on the
// emulated PHC (an edge on a channel not enabled for it is lost, as in
// hardware) and the emulated PPS source, each with its planned
// timestamp. A test can deliver seconds faster than they pass.
func (r *Receiver) Deliver(p Pulse) error {
	if p.Dropped {
		return nil
	}
	if err := r.edge(p.Rise, true); err != nil {
		return err
	}
	if p.Fall != 0 {
		return r.edge(p.Fall, false)
	}
	return nil
}

// edge presents one edge at true time t on every output.
func (r *Receiver) edge(t int64, rising bool) error {
	var errs []error
	if r.cfg.PHC != nil {
		e := phc.RisingEdge
		if !rising {
			e = phc.FallingEdge
		}
		_, err := r.cfg.PHC.InjectEdge(r.cfg.PHCChannel, e, t)
		errs = append(errs, err)
	}
	if r.cfg.PPS != nil {
		present := r.cfg.PPS.Assert
		if !rising {
			present = r.cfg.PPS.Clear
		}
		_, err := present(t)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gpsemu: pulse at %d: %w", t, err)
	}
	return nil
}

// Say writes a plan's sentences to every NMEA writer at once, whatever
// the time.
func (r *Receiver) Say(p Pulse) error {
	var errs []error
	for _, w := range r.cfg.NMEA {
		if len(p.NMEA) > 0 {
			_, err := w.Write(p.NMEA)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run runs the receiver until ctx ends: before each true second it plans
// the second, and it presents each edge and sends the sentences as soon
// as their true time has passed (never before: a daemon must not see a
// pulse from its future). The timestamps are the plan's, exact however
// late the process runs. Seconds it falls more than a second behind on
// (a stopped process) are skipped, as a receiver's pulses are lost while
// nobody listens. It returns nil when ctx ends, or the first error of an
// output.
func (r *Receiver) Run(ctx context.Context) error {
	queues := make([]chan []byte, len(r.cfg.NMEA))
	var wg sync.WaitGroup
	for i, w := range r.cfg.NMEA {
		queues[i] = make(chan []byte, 4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range queues[i] {
				// A writer that fails (a closed pty, a TCP client
				// gone) loses this second's sentences; the
				// receiver goes on.
				_, _ = w.Write(b)
			}
		}()
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()

	now, err := phc.EmulatedRealtime()
	if err != nil {
		return err
	}
	for sec := now/1e9 + 1; ; sec++ {
		if now, err = phc.EmulatedRealtime(); err != nil {
			return err
		}
		if sec < now/1e9-1 {
			sec = now/1e9 + 1
		}
		p := r.Plan(sec)
		type action struct {
			at int64
			do func() error
		}
		var acts []action
		if !p.Dropped {
			acts = append(acts, action{p.Rise, func() error { return r.edge(p.Rise, true) }})
			if p.Fall != 0 {
				acts = append(acts, action{p.Fall, func() error { return r.edge(p.Fall, false) }})
			}
		}
		if p.NMEA != nil {
			acts = append(acts, action{p.SentAt, func() error {
				for _, q := range queues {
					select {
					case q <- p.NMEA:
					default: // the writer is stuck: the line loses it
					}
				}
				return nil
			}})
		}
		slices.SortStableFunc(acts, func(a, b action) int { return cmp.Compare(a.at, b.at) })
		for _, a := range acts {
			if err := sleepUntil(ctx, a.at); err != nil {
				return ignoreDone(ctx, err)
			}
			if err := a.do(); err != nil {
				return err
			}
		}
		if r.cfg.OnPulse != nil {
			r.cfg.OnPulse(p)
		}
		if len(acts) == 0 {
			if err := sleepUntil(ctx, (sec+1)*1e9-int64(time.Millisecond)); err != nil {
				return ignoreDone(ctx, err)
			}
		}
	}
}

// ignoreDone is nil for the end of ctx, which ends Run normally, and err
// otherwise.
func ignoreDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// sleepUntil waits until true time t has passed, or ctx ends.
func sleepUntil(ctx context.Context, t int64) error {
	for {
		now, err := phc.EmulatedRealtime()
		if err != nil {
			return err
		}
		if now >= t {
			return nil
		}
		timer := time.NewTimer(time.Duration(t - now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}
