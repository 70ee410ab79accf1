package ptpd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/ptp/leap"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
)

// systemLeapFile is tzdata's list, which roko-ptpd reads when leapfile is
// not set: with it a grandmaster can vouch for its UTC offset.
const systemLeapFile = "/usr/share/zoneinfo/leap-seconds.list"

// pulseInput reads the pulse per second: the first port's PHC's EXTTS
// channel, or a kernel PPS source.
type pulseInput interface {
	// next waits up to timeout and returns the pulses that came, each
	// with its time on the served clock.
	next(timeout time.Duration) ([]timesource.Pulse, error)
	// kind is TIME_SOURCE_NP's pulseInput: 1 EXTTS, 2 kernel PPS.
	kind() uint8
	close() error
}

// todInput reads the time of day.
type todInput interface {
	run(ctx context.Context, deliver func(timesource.TimeOfDay)) error
	// malformed counts what the reader could not use (bad checksums).
	malformed() uint64
	close() error
}

// gmSource runs a grandmaster's time source beside the event loop: one
// goroutine feeds the pure timesource.Source with the pulses and reports
// that two readers deliver, steers the served clock as it says, and hands
// each change of quality to the event loop, which announces it.
type gmSource struct {
	d      *Daemon
	src    *timesource.Source
	clk    phc.Clock
	pulses pulseInput
	tod    todInput // nil: the system clock's seconds (generic)

	// started is CLOCK_MONOTONIC when the source was opened: the start of
	// its first state.
	started int64

	ts *config.TimeSourceSettings

	mu     sync.Mutex
	status timesource.Status
	// inState is how long the source had been in its state when status
	// was taken, at statusAt: management adds the time since, without a
	// clock read on the event loop beyond the vDSO's.
	inState  time.Duration
	statusAt time.Time
}

// openTimeSource builds the time source the settings name, over the
// served clock.
func (d *Daemon) openTimeSource() (_ *gmSource, err error) {
	ts := d.set.TimeSource
	g := &gmSource{d: d, clk: d.clk, started: monoNow(), ts: ts}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	cfg := ts.Source
	cfg.Name = d.clk.Name()
	cfg.UTCClock = phc.KeepsUTC(d.clk)
	cfg.Logf = func(level engine.LogLevel, format string, args ...any) { d.log.Printf(level, format, args...) }
	if cfg.Leap, cfg.UTCOffsetValid, err = d.leapTable(ts.Leapfile); err != nil {
		return nil, err
	}
	// The source's servo: the clock's servo settings at one sample a
	// second, starting from the frequency the clock has now.
	settings, err := d.set.Servo.ForClock(d.clk.MaxFrequency())
	if err != nil {
		return nil, err
	}
	freq, err := d.clk.Frequency()
	if err != nil {
		return nil, err
	}
	if cfg.Servo, err = settings.NewServo(freq); err != nil {
		return nil, err
	}
	if g.src, err = timesource.New(cfg); err != nil {
		return nil, err
	}
	if cfg.Generic {
		// The second comes from the system clock, which nothing here
		// checks: say so when the kernel says it is not synchronised.
		if sys, err := phc.NewSystem(); err == nil {
			if st, err := sys.Status(); err == nil && st.Unsynchronized {
				d.log.Printf(engine.LevelWarning, "time source: ts2phc.tod_source generic takes each second from CLOCK_REALTIME, which the kernel says is not synchronised (maxerror %v): run NTP, or read the time of day from the receiver (nmea, gpsd)", st.MaxError)
			}
		}
	}
	if g.pulses, err = d.openPulseInput(ts); err != nil {
		return nil, err
	}
	if g.tod, err = openToD(ts, d.todLog); err != nil {
		return nil, err
	}
	g.status, g.statusAt = g.src.Status(), time.Now()
	return g, nil
}

// leapTable loads the leap-second table: leapfile, else tzdata's list if
// the machine has it, else the built-in table (whose offset is not
// vouched for: currentUtcOffsetValid stays false).
func (d *Daemon) leapTable(file string) (*leap.Table, bool, error) {
	if file == "" {
		if _, err := os.Stat(systemLeapFile); err == nil {
			file = systemLeapFile
		}
	}
	if file == "" {
		d.log.Printf(engine.LevelWarning, "time source: no leap-second file (leapfile, or tzdata's %s): currentUtcOffsetValid stays false unless the receiver gives the offset", systemLeapFile)
		return leap.Builtin(), false, nil
	}
	t, err := leap.Load(file)
	if err != nil {
		return nil, false, fmt.Errorf("leapfile: %w", err)
	}
	if t.Expired(time.Now()) {
		d.log.Printf(engine.LevelWarning, "time source: %s expired on %s: currentUtcOffsetValid stays false; update tzdata", file, t.Expires().Format(time.DateOnly))
		return t, false, nil
	}
	return t, true, nil
}

// openPulseInput opens the EXTTS channel of the served PHC, or the PPS
// device (with emulated hardware, the emulated source of that name).
func (d *Daemon) openPulseInput(ts *config.TimeSourceSettings) (pulseInput, error) {
	if ts.PPSDevice != "" {
		path := ts.PPSDevice
		if d.set.EmulatedDir != "" {
			path = filepath.Join(d.set.EmulatedDir, filepath.Base(path))
		}
		p, err := phc.OpenPPS(path)
		if err != nil {
			return nil, err
		}
		return &ppsInput{pps: p, clk: d.clk}, nil
	}
	dev, ok := d.clk.(*phc.Device)
	if !ok {
		return nil, fmt.Errorf("pps_input extts: %s is not a PTP hardware clock", d.clk.Name())
	}
	// The device is opened again so that the EXTTS queue has a reader of
	// its own and closing it does not close the served clock.
	own, err := phc.Open(dev.Name())
	if err != nil {
		return nil, err
	}
	in := &exttsInput{dev: own, channel: ts.Channel}
	edges := phc.RisingEdge
	switch ts.Polarity {
	case config.PolarityFalling:
		edges = phc.FallingEdge
	case config.PolarityBoth:
		edges = phc.BothEdges
	}
	if own.Caps().NPins > 0 {
		if err := own.SetPin(ts.PinIndex, phc.PinExtTS, ts.Channel); err != nil {
			own.Close()
			return nil, fmt.Errorf("ts2phc.pin_index %d: %w", ts.PinIndex, err)
		}
	}
	if err := own.EnableExtTS(ts.Channel, edges); err != nil {
		own.Close()
		return nil, fmt.Errorf("ts2phc.channel %d: %w", ts.Channel, err)
	}
	return in, nil
}

// monoNow reads CLOCK_MONOTONIC, the time source's host timebase, which
// the time-of-day readers use too.
func monoNow() int64 { return phc.Monotonic() }

// realNow reads CLOCK_REALTIME, ns.
func realNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
	return ts.Nano()
}

// exttsInput reads a PHC's external timestamps.
type exttsInput struct {
	dev     *phc.Device
	channel uint32
}

func (e *exttsInput) kind() uint8 { return 1 }

func (e *exttsInput) next(timeout time.Duration) ([]timesource.Pulse, error) {
	evs, err := e.dev.ReadExtTS(timeout)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	now, err := e.dev.Now()
	if err != nil {
		return nil, err
	}
	mono, rt := monoNow(), realNow()
	out := make([]timesource.Pulse, 0, len(evs))
	for _, ev := range evs {
		if ev.Channel != e.channel {
			continue
		}
		// How long ago the edge was, by the PHC, dates it on the host's
		// clocks well enough for pairing (milliseconds).
		ago := now.UnixNano() - ev.Time
		out = append(out, timesource.Pulse{Edge: ev.Time, Host: mono - ago, System: rt - ago})
	}
	return out, nil
}

func (e *exttsInput) close() error {
	err := e.dev.DisableExtTS(e.channel)
	return errors.Join(err, e.dev.Close())
}

// ppsInput reads a kernel PPS source, whose edges are stamped on
// CLOCK_REALTIME, and moves each onto the served clock.
type ppsInput struct {
	pps     *phc.PPS
	clk     phc.Clock
	lastSeq uint32
	started bool
}

func (p *ppsInput) kind() uint8 { return 2 }

func (p *ppsInput) next(timeout time.Duration) ([]timesource.Pulse, error) {
	ev, err := p.pps.Fetch(timeout)
	if errors.Is(err, unix.ETIMEDOUT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.started && ev.AssertSequence == p.lastSeq {
		return nil, nil
	}
	first := !p.started
	p.started, p.lastSeq = true, ev.AssertSequence
	if first && ev.Assert == 0 {
		return nil, nil
	}
	edge, err := p.onClock(ev.Assert)
	if err != nil {
		return nil, err
	}
	mono, rt := monoNow(), realNow()
	return []timesource.Pulse{{Edge: edge, Host: mono - (rt - ev.Assert), System: ev.Assert}}, nil
}

// onClock moves a CLOCK_REALTIME time onto the served clock.
func (p *ppsInput) onClock(rt int64) (int64, error) {
	switch c := p.clk.(type) {
	case *phc.System:
		return rt, nil
	case interface{ FromRealtime(int64) (int64, error) }:
		return c.FromRealtime(rt)
	case *phc.Device:
		o, err := c.SysOffset(5)
		if err != nil {
			return 0, err
		}
		return rt + int64(o.Offset), nil
	}
	return 0, fmt.Errorf("PPS input: cannot move CLOCK_REALTIME onto %s", p.clk.Name())
}

func (p *ppsInput) close() error { return p.pps.Close() }

// run feeds the source until ctx ends.
func (g *gmSource) run(ctx context.Context) {
	type item struct {
		pulse *timesource.Pulse
		tod   *timesource.TimeOfDay
	}
	items := make(chan item, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		failures := 0
		for ctx.Err() == nil {
			ps, err := g.pulses.next(250 * time.Millisecond)
			if err != nil {
				// Once, then once a minute while it lasts.
				if failures%60 == 0 {
					g.d.log.Printf(engine.LevelErr, "time source: reading the pulse: %v", err)
				}
				failures++
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			failures = 0
			for i := range ps {
				select {
				case items <- item{pulse: &ps[i]}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	if g.tod != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliver := func(t timesource.TimeOfDay) {
				select {
				case items <- item{tod: &t}:
				case <-ctx.Done():
				}
			}
			for {
				err := g.tod.run(ctx, deliver)
				if ctx.Err() != nil {
					return
				}
				// A serial line that failed (a USB receiver unplugged) is
				// opened again every few seconds until it comes back.
				g.d.log.Printf(engine.LevelErr, "time source: reading the time of day: %v; opening it again in 5 s", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Second):
				}
				if t, err := openToD(g.ts, g.d.todLog); err == nil {
					g.mu.Lock()
					old := g.tod
					g.tod = t
					g.mu.Unlock()
					old.close()
				}
			}
		}()
	}
	defer wg.Wait()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	// The clock announces what the source allows from the start.
	g.announce(ctx)
	for {
		var a timesource.Action
		select {
		case <-ctx.Done():
			return
		case it := <-items:
			if it.pulse != nil {
				a = g.src.Pulse(*it.pulse)
			} else {
				a = g.src.TimeOfDay(*it.tod)
			}
		case <-tick.C:
			a = g.src.Tick(monoNow())
		}
		g.apply(ctx, a)
	}
}

// apply carries out one action of the source.
func (g *gmSource) apply(ctx context.Context, a timesource.Action) {
	if a.Step != 0 {
		if err := g.clk.Step(a.Step); err != nil {
			g.d.log.Printf(engine.LevelErr, "time source: stepping %s: %v", g.clk.Name(), err)
		}
	}
	if a.Adjust {
		f := math.Max(-g.clk.MaxFrequency(), math.Min(g.clk.MaxFrequency(), a.Frequency))
		if err := g.clk.AdjustFrequency(f); err != nil {
			g.d.log.Printf(engine.LevelErr, "time source: adjusting %s: %v", g.clk.Name(), err)
		}
	}
	st := g.src.Status()
	inState := time.Duration(monoNow() - max(st.Since, g.started))
	g.mu.Lock()
	g.status, g.inState, g.statusAt = st, inState, time.Now()
	g.mu.Unlock()
	if a.QualityChanged {
		g.announce(ctx)
	}
}

// announce hands the source's quality to the event loop.
func (g *gmSource) announce(ctx context.Context) {
	q := g.src.Quality()
	gs := ptp.GrandmasterSettingsNP{ClockQuality: q.ClockQuality, UTCOffset: q.UTCOffset, TimeFlags: uint8(q.Flags), TimeSource: q.TimeSource}
	g.d.Do(ctx, func(e *engine.Clock) { g.d.exec.Apply(e.SetGrandmasterSettings(gs, now())) })
}

// snapshot returns the source's status as the source goroutine last left
// it, how long it has been in its state now, and the time-of-day reader's
// malformed count: safe from the event loop.
func (g *gmSource) snapshot() (timesource.Status, time.Duration, uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var malformed uint64
	if g.tod != nil {
		malformed = g.tod.malformed()
	}
	return g.status, g.inState + time.Since(g.statusAt), malformed
}

func (g *gmSource) close() error {
	var err error
	if g.pulses != nil {
		err = g.pulses.close()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tod != nil {
		err = errors.Join(err, g.tod.close())
	}
	return err
}

// todLog reports a time-of-day connection's failures (NMEA over TCP,
// gpsd), which it retries by itself.
func (d *Daemon) todLog(err error) {
	d.log.Printf(engine.LevelWarning, "time source: %v", err)
}
