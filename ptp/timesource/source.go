package timesource

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

// Defaults of the bounds Source applies; Config documents each.
const (
	DefaultPulseWindow   = 10 * time.Microsecond
	DefaultQualification = 10 * time.Second
	DefaultStepThreshold = 20 * time.Microsecond
	DefaultHoldoverDrift = 1.0 // ns/s: an oscillator no better than 1 ppb
	// AcquireWindow bounds how far a pulse may sit from a whole number of
	// seconds after the previous one on the clock before it is
	// disciplined: wide enough for a clock 500 ppm off, far too narrow for
	// a pulse at the wrong phase (a falling edge, a glitch).
	AcquireWindow = time.Millisecond
	// PulseTimeout is how long without a pulse counts as losing it: the
	// next edge is due a second after the last, and half a second more
	// allows for a busy host reading it late; with a tick every 100 ms a
	// lost pulse is announced within 1.6 s.
	PulseTimeout = 1500 * time.Millisecond
	// FixTimeout is how long without a valid time-of-day report counts as
	// losing the fix (a receiver sends one every second).
	FixTimeout = 3 * time.Second
	// lockCount pulses in a row within a hundredth of the window after
	// qualification (the servo has converged: 100 ns for EXTTS, 1 µs for
	// a kernel PPS) make the source Locked; rejectRun bad pulses or sentences in a row
	// make a Locked source lose its lock.
	lockCount = 8
	rejectRun = 3
)

// LeapTable gives TAI − UTC at a UTC instant and the leap second pending
// at the end of its day (+1, −1 or 0); *leap.Table implements it.
type LeapTable interface {
	Offset(utc time.Time) int
	Pending(utc time.Time) int
}

// Config configures a Source.
type Config struct {
	// Name is the served clock's name in log lines ("/dev/ptp0").
	Name string
	// Servo disciplines the served clock from the pulse offsets; its
	// sync interval is set to one second.
	Servo servo.Servo
	// UTCClock says the served clock keeps UTC (CLOCK_REALTIME or the
	// virtual clock); otherwise it keeps PTP's timescale, TAI, as a PHC.
	UTCClock bool
	// Generic labels each pulse with the nearest whole second of the
	// system clock (Pulse.System), as ts2phc's generic source: no time
	// of day is read.
	Generic bool
	// Correction (ts2phc.extts_correction) is added to every edge's
	// timestamp: minus the cable and receiver delay.
	Correction time.Duration
	// NMEADelay (ts2phc.nmea_delay) is the least time a report arrives
	// after the pulse it names: see TimeOfDay for the pairing rule.
	NMEADelay time.Duration
	// BothEdges (ts2phc.extts_polarity both) timestamps both edges; the
	// one PulseWidth (ts2phc.pulsewidth) after another is the falling
	// edge and is skipped.
	BothEdges  bool
	PulseWidth time.Duration
	// PulseWindow bounds a locked source's pulse from the second the
	// clock expects it at: a pulse further off is counted and not
	// applied (default DefaultPulseWindow; a PPS stamped by the kernel in
	// software wants more).
	PulseWindow time.Duration
	// Qualification is how long the pulses and the time of day must
	// agree before they are applied (after a start or a loss) and the
	// clock may be stepped (default DefaultQualification).
	Qualification time.Duration
	// StepThreshold: after qualification an offset beyond it is stepped
	// rather than slewed (default DefaultStepThreshold).
	StepThreshold time.Duration
	// Holdover (ts2phc.holdover) is how long Holdover lasts before
	// FreeRun; zero goes straight to FreeRun.
	Holdover time.Duration
	// HoldoverDrift (ns/s) is the least drift assumed in holdover when
	// estimating clockAccuracy (default DefaultHoldoverDrift).
	HoldoverDrift float64
	// Profile picks the clock classes; TimeSource is announced while
	// locked and in holdover (default GNSS); Variance is
	// offsetScaledLogVariance while locked (default 0x4e5d).
	Profile    Profile
	TimeSource ptp.TimeSource
	Variance   uint16
	// Leap gives TAI − UTC and pending leap seconds; without it UTCOffset
	// is used. UTCOffsetValid says the table (or UTCOffset) is current;
	// a report that carries the offset (gpsd) makes it valid too.
	Leap           LeapTable
	UTCOffset      int
	UTCOffsetValid bool
	// EarliestUTC is the earliest time of day believed (default
	// DefaultEarliestUTC).
	EarliestUTC time.Time
	// Logf receives the source's log lines; nil discards them.
	Logf func(level engine.LogLevel, format string, args ...any)
}

// Pulse is one edge of the pulse per second, as the caller measured it.
type Pulse struct {
	// Edge is the served clock's time of the edge, ns on its own
	// timescale: the EXTTS timestamp of a PHC, or a PPS timestamp moved
	// onto the served clock.
	Edge int64
	// Host is CLOCK_MONOTONIC at the edge, ns; a few milliseconds off is
	// fine: it pairs pulses with reports and measures silences.
	Host int64
	// System is CLOCK_REALTIME at the edge, ns (for Config.Generic).
	System int64
}

// TimeOfDay is one report of the time of day from the receiver.
type TimeOfDay struct {
	// UTC names the second (the fraction is ignored).
	UTC time.Time
	// Leap: the report said 23:59:60 (UTC holds 23:59:59).
	Leap bool
	// Valid: the receiver has a fix and vouches for the time.
	Valid bool
	// Received is CLOCK_MONOTONIC when the report was complete, ns.
	Received int64
	// UTCOffset is TAI − UTC when the source knows it (gpsd).
	UTCOffset      int
	UTCOffsetKnown bool
}

// Action is what the caller must do to the served clock: step it by Step
// (when not zero), then set its frequency (when Adjust).
type Action struct {
	Step      time.Duration
	Adjust    bool
	Frequency float64
	// QualityChanged says Quality() differs from what it was; the caller
	// announces it.
	QualityChanged bool
}

// Counters count the pulses and reports seen and each reason one was not
// used.
type Counters struct {
	Pulses, PulsesApplied uint64
	// PulsesMissed counts seconds without a pulse between two pulses.
	PulsesMissed uint64
	// PulsesOutOfWindow: a locked source's pulse further than the window
	// (but under a millisecond) from its second; PulsesWrongPhase: further
	// than that, or not a whole number of seconds after the previous one.
	PulsesOutOfWindow, PulsesWrongPhase uint64
	// FallingEdges are skipped edges of a both-edge input.
	FallingEdges uint64
	// Reports counts time-of-day reports; NoFix those without a fix;
	// Unpaired those with no pulse to name; SecondMismatch those whose
	// second disagrees with the pulse count; TimeJumps those whose
	// second does not follow the previous report's.
	Reports, NoFix, Unpaired, SecondMismatch, TimeJumps uint64
	// Steps counts steps of the served clock; Locks and Losses count
	// entries to Locked and losses of the source.
	Steps, Locks, Losses uint64
}

// Status is the source's state for management and status displays.
type Status struct {
	State State
	// Since is CLOCK_MONOTONIC when the state was entered, ns.
	Since int64
	// Qualifying: the pulses and reports agree and have done so for
	// Qualified; Locked follows once Qualification has passed and the
	// clock has converged.
	Qualifying bool
	Qualified  time.Duration
	// Offset is the last pulse's offset, ns; RMS the RMS of the last
	// applied ones; Frequency the last frequency set, ppb.
	Offset    int64
	RMS       float64
	Frequency float64
	// Fix: the last report had a fix; LastUTC is the UTC second it named.
	Fix     bool
	LastUTC time.Time
	// LockTime is how long the first lock took from the first pulse.
	LockTime time.Duration
	Counters
}

type pulseRec struct {
	host, edge, system int64
}

// Source is a grandmaster's time source. It is not safe for concurrent
// use: one goroutine feeds it pulses, reports and ticks in time order.
//
// # Pairing a pulse with the time of day
//
// A report received at time r (CLOCK_MONOTONIC) names the second that began
// at the pulse p for which NMEADelay ≤ r − p < NMEADelay + 1 s: by default
// the last pulse before the report, whether it came 50 ms after the pulse
// or 950 ms. A receiver that sends its sentence for a pulse more than a
// second late, or before the pulse, needs NMEADelay set (as ts2phc). A
// report with no pulse in that window is counted (Unpaired) and not used.
//
// # What is never applied
//
// Before anything touches the clock, the pulses must come a whole number
// of seconds apart (within AcquireWindow) and each paired report must name
// the second the pulse count predicts, for Qualification without a break;
// a report without a fix, a second that disagrees, a pulse at the wrong
// phase restart the count. Only then is the clock stepped (once, if it is
// further than StepThreshold) and disciplined. Once Locked, a pulse more
// than PulseWindow from the clock's second, or a report whose second is
// not the clock's, is counted and dropped; rejectRun of them in a row, a
// report without a fix, or a silence longer than PulseTimeout or
// FixTimeout drop the source to Holdover, from which it must qualify
// again. So a bogus second never steps the clock: only a second that the
// pulses and reports agreed on for the whole qualification can.
type Source struct {
	cfg Config

	state      State
	since, now int64
	everLocked bool
	firstPulse int64
	lockTime   time.Duration

	last    pulseRec // the last rising edge
	hasLast bool
	recent  [4]pulseRec // the last rising edges, for pairing
	nRecent int

	// The qualification run: since qualStart the pulses and reports have
	// agreed; anchor is its last labelled pulse.
	qualStart        int64
	anchorEdge       int64
	anchorLabel      int64
	hasAnchor        bool
	qualified        bool
	goodRun          int
	badPulses        int
	badReports       int
	lastValid        int64
	lastReportLabel  int64
	lastReportHost   int64
	fix              bool
	lastUTC          time.Time
	lastUTCHost      int64
	offset           int64
	freq             float64
	offsets          [16]float64
	nOffsets         int
	freqs            [64]float64
	nFreqs           int
	utcOffset        int
	utcOffsetFromSrc bool
	offsetDisputed   bool
	// clockOffset is the UTC offset a clock that keeps UTC was set on at
	// qualification, and moved by followLeap.
	clockOffset    int
	clockOffsetSet bool
	leapPending    int
	lastQuality    Quality
	acc            ptp.ClockAccuracy
	counters       Counters
}

// New returns a source in FreeRun that has seen nothing.
func New(cfg Config) (*Source, error) {
	if cfg.Servo == nil {
		return nil, errors.New("timesource: no servo")
	}
	if cfg.PulseWindow <= 0 {
		cfg.PulseWindow = DefaultPulseWindow
	}
	if cfg.Qualification <= 0 {
		cfg.Qualification = DefaultQualification
	}
	if cfg.StepThreshold <= 0 {
		cfg.StepThreshold = DefaultStepThreshold
	}
	if cfg.HoldoverDrift <= 0 {
		cfg.HoldoverDrift = DefaultHoldoverDrift
	}
	if cfg.TimeSource == 0 {
		cfg.TimeSource = ptp.TimeSourceGNSS
	}
	if cfg.EarliestUTC.IsZero() {
		cfg.EarliestUTC = DefaultEarliestUTC
	}
	if cfg.BothEdges && (cfg.PulseWidth <= 0 || cfg.PulseWidth >= time.Second) {
		return nil, fmt.Errorf("timesource: both edges need a pulse width between 0 and 1 s, not %v", cfg.PulseWidth)
	}
	cfg.Servo.SetSyncInterval(1)
	s := &Source{cfg: cfg, utcOffset: cfg.UTCOffset}
	s.lastQuality = s.quality()
	return s, nil
}

func (s *Source) logf(level engine.LogLevel, format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(level, format, args...)
	}
}

// State returns the state now.
func (s *Source) State() State { return s.state }

// Quality returns what the clock may announce now.
func (s *Source) Quality() Quality { return s.lastQuality }

// Status returns the source's state, statistics and counters.
func (s *Source) Status() Status {
	st := Status{State: s.state, Since: s.since, Offset: s.offset, RMS: s.rms(), Frequency: s.freq,
		Fix: s.fix, LastUTC: s.lastUTC, LockTime: s.lockTime, Counters: s.counters}
	if s.hasAnchor && s.state != Locked {
		st.Qualifying = true
		st.Qualified = time.Duration(s.now - s.qualStart)
	}
	return st
}

// nearestSecond rounds ns to the nearest whole second.
func nearestSecond(ns int64) int64 {
	sec := ns / 1e9
	if r := ns - sec*1e9; r >= 5e8 {
		sec++
	} else if r < -5e8 {
		sec--
	}
	return sec
}

// Pulse feeds one edge.
func (s *Source) Pulse(p Pulse) Action {
	s.now = p.Host
	p.Edge += int64(s.cfg.Correction)
	if s.firstPulse == 0 {
		s.firstPulse = p.Host
	}
	if s.cfg.BothEdges && s.hasLast {
		if d := p.Edge - s.last.edge - int64(s.cfg.PulseWidth); d > -int64(AcquireWindow) && d < int64(AcquireWindow) {
			s.counters.FallingEdges++
			return s.finish(Action{})
		}
	}
	s.counters.Pulses++
	rec := pulseRec{p.Host, p.Edge, p.System}
	if s.state == Locked || s.qualified {
		var leap Action
		if s.cfg.Generic {
			s.lastUTC, s.lastValid, s.lastUTCHost = time.Unix(nearestSecond(p.System), 0).UTC(), p.Host, p.Host
			s.refreshOffset(s.lastUTC)
			if leap = s.followLeap(); leap.Step != 0 {
				rec.edge += int64(leap.Step)
			}
		}
		a := s.disciplinedPulse(rec)
		if leap.Step != 0 {
			a.Step += leap.Step
		}
		return s.finish(a)
	}
	// Acquiring: the pulses must come whole seconds apart on the clock.
	if s.hasLast {
		d := rec.edge - s.last.edge
		k := nearestSecond(d)
		if k < 1 || abs(d-k*1e9) > int64(AcquireWindow) {
			s.counters.PulsesWrongPhase++
			s.logf(engine.LevelWarning, "timesource: pulse %d ns after the previous one is not a whole number of seconds: restarting qualification", d)
			s.restartRun()
			s.nRecent = 0
		}
	}
	s.accept(rec)
	if s.cfg.Generic {
		// The system clock is the time of day: it always "has a fix".
		s.lastUTC, s.fix, s.lastValid, s.lastUTCHost = time.Unix(nearestSecond(p.System), 0).UTC(), true, p.Host, p.Host
		label, ok := s.label(s.lastUTC, false)
		if !ok {
			return s.finish(Action{})
		}
		return s.finish(s.acquirePair(s.last, label, p.Host))
	}
	return s.finish(Action{})
}

// accept makes rec the last pulse, counting the seconds missed since the
// one before, and keeps it for pairing with reports.
func (s *Source) accept(rec pulseRec) {
	if s.hasLast {
		if gap := nearestSecond(rec.host-s.last.host) - 1; gap > 0 {
			s.counters.PulsesMissed += uint64(gap)
		}
	}
	s.last, s.hasLast = rec, true
	copy(s.recent[1:], s.recent[:len(s.recent)-1])
	s.recent[0] = rec
	s.nRecent = min(s.nRecent+1, len(s.recent))
}

// disciplinedPulse disciplines the clock from a pulse of a qualified
// source, whose second the clock now keeps. A pulse further from that
// second than the window (PulseWindow once Locked; AcquireWindow while the
// servo converges) is counted and not applied, and is not taken as the
// last pulse; rejectRun of them in a row lose the source.
func (s *Source) disciplinedPulse(rec pulseRec) Action {
	off := rec.edge - nearestSecond(rec.edge)*1e9
	window := s.cfg.PulseWindow
	if s.state != Locked {
		window = AcquireWindow
	}
	if abs(off) > int64(window) {
		if abs(off) > int64(AcquireWindow) {
			s.counters.PulsesWrongPhase++
		} else {
			s.counters.PulsesOutOfWindow++
		}
		s.badPulses++
		s.logf(engine.LevelWarning, "timesource: pulse %+d ns from the second, outside ±%v: not applied", off, window)
		if s.badPulses >= rejectRun {
			why := fmt.Sprintf("%d pulses in a row outside the window", s.badPulses)
			if s.state == Locked {
				return s.lose(why)
			}
			s.logf(engine.LevelWarning, "timesource: %s: restarting qualification", why)
			s.restartRun()
			s.badPulses = 0
		}
		return Action{}
	}
	s.badPulses = 0
	s.offset = off
	s.accept(rec)
	a := s.apply(off)
	if s.state == Locked {
		return a
	}
	// Converging after qualification: Locked once the servo has settled
	// and the time of day still agrees. Only offsets the servo acted on
	// count: one it is still learning from (s0) says nothing about
	// convergence.
	if a.Adjust && a.Step == 0 && abs(off) <= int64(s.cfg.PulseWindow)/100 {
		s.goodRun++
	} else {
		s.goodRun = 0
	}
	if s.goodRun >= lockCount && (s.cfg.Generic || s.now-s.lastValid <= int64(FixTimeout)) {
		// The accuracy announced is the converged pulses' error, not the
		// convergence's.
		keep := make([]float64, 0, lockCount)
		for i := max(s.nOffsets-lockCount, 0); i < s.nOffsets; i++ {
			keep = append(keep, s.offsets[i%len(s.offsets)])
		}
		s.nOffsets = copy(s.offsets[:], keep)
		s.enter(Locked, "qualified and converged")
		s.badPulses, s.badReports = 0, 0
		if !s.everLocked {
			s.everLocked = true
			s.lockTime = time.Duration(s.now - s.firstPulse)
			s.logf(engine.LevelNotice, "timesource: first lock %v after the first pulse", s.lockTime.Round(time.Millisecond))
		}
		s.counters.Locks++
	}
	return a
}

// apply hands one offset to the servo.
func (s *Source) apply(off int64) Action {
	ppb, st := s.cfg.Servo.Sample(off, s.last.edge)
	a := Action{}
	switch st {
	case servo.Unlocked:
		s.logf(engine.LevelInfo, "%s offset %10d s%d", s.cfg.Name, off, st)
		return a
	case servo.Jump:
		a.Step = -time.Duration(off)
		s.counters.Steps++
		s.shift(-off)
	}
	s.counters.PulsesApplied++
	a.Adjust, a.Frequency = true, ppb
	s.freq = ppb
	s.offsets[s.nOffsets%len(s.offsets)] = float64(off)
	s.nOffsets++
	if s.state == Locked {
		s.freqs[s.nFreqs%len(s.freqs)] = ppb
		s.nFreqs++
	}
	s.logf(engine.LevelInfo, "%s offset %10d s%d freq %+7.0f", s.cfg.Name, off, st, ppb)
	return a
}

// Plausible times of day: a report outside [Config.EarliestUTC,
// latestUTC) is refused before anything else is done with it. A GPS
// receiver after a week-number rollover names a day 19.6 years back; a
// time past 2262 would not fit the clock's nanoseconds.
var (
	DefaultEarliestUTC = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	latestUTC          = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// refreshOffset sets the UTC offset in effect at utc from the leap table,
// unless a source that knows it better said otherwise, and the leap second
// pending at the end of that day.
func (s *Source) refreshOffset(utc time.Time) {
	if s.cfg.Leap == nil {
		return
	}
	if !s.utcOffsetFromSrc {
		s.utcOffset = s.cfg.Leap.Offset(utc)
	}
	s.leapPending = s.cfg.Leap.Pending(utc)
}

// label is the served clock's second for a pulse that a report named utc
// (23:59:60 when leap), and false for a time that cannot be believed.
func (s *Source) label(utc time.Time, leap bool) (int64, bool) {
	if utc.Before(s.cfg.EarliestUTC) || !utc.Before(latestUTC) {
		s.counters.TimeJumps++
		s.logf(engine.LevelErr, "timesource: time of day %s is before %s or after %s: refused (a receiver's week-number rollover?)",
			utc.Format(time.RFC3339), s.cfg.EarliestUTC.Format(time.DateOnly), latestUTC.Format(time.DateOnly))
		return 0, false
	}
	s.refreshOffset(utc)
	sec := utc.Unix()
	if leap {
		sec++ // 23:59:60 is the second after 23:59:59, on the old offset
	}
	tai := sec + int64(s.utcOffset)
	if !s.cfg.UTCClock {
		return tai, true
	}
	// A clock that keeps UTC is on the offset it was qualified with until
	// followLeap steps it onto a new one.
	if s.clockOffsetSet {
		return tai - int64(s.clockOffset), true
	}
	return tai - int64(s.utcOffset), true
}

// followLeap steps a clock that keeps UTC when the UTC offset has changed
// since it was set: the leap second that CLOCK_REALTIME's kernel makes by
// itself, made here for the clock the source serves (the virtual clock, or
// CLOCK_REALTIME steered by roko-ptpd).
func (s *Source) followLeap() Action {
	if !s.cfg.UTCClock || !s.clockOffsetSet || s.utcOffset == s.clockOffset {
		return Action{}
	}
	d := int64(s.clockOffset-s.utcOffset) * 1e9
	s.logf(engine.LevelNotice, "timesource: UTC offset %d -> %d s: stepping %s by %+d s", s.clockOffset, s.utcOffset, s.cfg.Name, d/1e9)
	s.clockOffset = s.utcOffset
	s.counters.Steps++
	s.shift(d)
	return Action{Step: time.Duration(d)}
}

// TimeOfDay feeds one report.
func (s *Source) TimeOfDay(t TimeOfDay) Action {
	s.now = t.Received
	s.counters.Reports++
	if !t.Valid {
		s.counters.NoFix++
		s.fix = false
		s.logf(engine.LevelWarning, "timesource: report without a fix (%s): not applied", t.UTC.Format(time.TimeOnly))
		s.restartRun()
		if s.state == Locked {
			return s.finish(s.lose("the receiver has no fix"))
		}
		return s.finish(Action{})
	}
	s.fix, s.lastUTC, s.lastUTCHost = true, t.UTC.Truncate(time.Second), t.Received
	if t.UTCOffsetKnown {
		switch {
		case s.cfg.Leap != nil && s.cfg.UTCOffsetValid:
			// A current leap table is believed over a receiver, whose
			// offset is a firmware default until it has read the almanac.
			if want := s.cfg.Leap.Offset(s.lastUTC); t.UTCOffset != want && !s.offsetDisputed {
				s.offsetDisputed = true
				s.logf(engine.LevelWarning, "timesource: the receiver says UTC offset %d s, the leap table %d s: keeping the table's", t.UTCOffset, want)
			}
		default:
			if !s.utcOffsetFromSrc || s.utcOffset != t.UTCOffset {
				s.logf(engine.LevelInfo, "timesource: UTC offset %d s from the receiver", t.UTCOffset)
			}
			s.utcOffset, s.utcOffsetFromSrc = t.UTCOffset, true
		}
	}
	p, ok := s.pair(t.Received)
	if !ok {
		s.counters.Unpaired++
		s.logf(engine.LevelWarning, "timesource: report %s has no pulse to name: not applied", t.UTC.Format(time.TimeOnly))
		return s.finish(Action{})
	}
	label, ok := s.label(s.lastUTC, t.Leap)
	if !ok {
		return s.finish(Action{})
	}
	if s.lastReportHost != 0 {
		if want := s.lastReportLabel + nearestSecond(p.host-s.lastReportHost); label != want {
			s.counters.TimeJumps++
			s.logf(engine.LevelWarning, "timesource: the time of day jumped by %+d s", label-want)
		}
	}
	s.lastReportLabel, s.lastReportHost = label, p.host
	if s.state == Locked || s.qualified {
		a := s.followLeap()
		if a.Step != 0 {
			label, _ = s.label(s.lastUTC, t.Leap)
			p.edge += int64(a.Step)
			s.lastReportLabel = label
		}
		if want := nearestSecond(p.edge); label != want {
			s.counters.SecondMismatch++
			s.badReports++
			s.logf(engine.LevelWarning, "timesource: report names second %d, the pulse count says %d: not applied", label, want)
			switch {
			case s.state != Locked:
				s.restartRun()
			case s.badReports >= rejectRun:
				lost := s.lose(fmt.Sprintf("%d reports in a row disagree with the pulse count", s.badReports))
				lost.Step = a.Step
				return s.finish(lost)
			}
		} else {
			s.badReports, s.lastValid = 0, t.Received
		}
		return s.finish(a)
	}
	return s.finish(s.acquirePair(p, label, t.Received))
}

// pair finds the pulse a report received at r names.
func (s *Source) pair(r int64) (pulseRec, bool) {
	lo, hi := r-int64(s.cfg.NMEADelay)-int64(time.Second), r-int64(s.cfg.NMEADelay)
	for _, p := range s.recent[:s.nRecent] {
		if p.host > lo && p.host <= hi {
			return p, true
		}
	}
	return pulseRec{}, false
}

// acquirePair qualifies a source that is not locked with one labelled
// pulse, and disciplines the clock once it has qualified.
func (s *Source) acquirePair(p pulseRec, label, now int64) Action {
	if s.hasAnchor {
		if want := s.anchorLabel + nearestSecond(p.edge-s.anchorEdge); label != want {
			s.counters.SecondMismatch++
			s.logf(engine.LevelWarning, "timesource: second %d disagrees with the pulse count (%d): restarting qualification", label, want)
			s.restartRun()
		}
	}
	if s.everLocked {
		// The clock kept the second through holdover: a source that comes
		// back naming another is not believed (a receiver's week-number
		// rollover, a spoofer), however long it insists.
		if want := nearestSecond(p.edge); label != want {
			s.counters.SecondMismatch++
			s.logf(engine.LevelErr, "timesource: the source names second %d, the clock kept %d (%+d s): refusing it; restart roko-ptpd to accept the source's time", label, want, label-want)
			s.restartRun()
			return Action{}
		}
	}
	if !s.hasAnchor {
		s.qualStart, s.hasAnchor, s.goodRun = p.host, true, 0
		s.logf(engine.LevelInfo, "timesource: qualifying the source for %v", s.cfg.Qualification)
	}
	s.anchorEdge, s.anchorLabel = p.edge, label
	s.lastValid = now
	if time.Duration(now-s.qualStart) < s.cfg.Qualification {
		return Action{}
	}
	// Qualified: the clock takes the second the source named, once.
	off := p.edge - label*1e9
	s.offset = off
	s.qualified, s.goodRun = true, 0
	if !s.clockOffsetSet {
		s.clockOffset, s.clockOffsetSet = s.utcOffset, true
	}
	if abs(off) > int64(s.cfg.StepThreshold) {
		s.counters.Steps++
		s.cfg.Servo.Reset()
		s.logf(engine.LevelNotice, "timesource: qualified; stepping %s by %+d ns", s.cfg.Name, -off)
		s.shift(-off)
		return Action{Step: -time.Duration(off)}
	}
	s.logf(engine.LevelInfo, "timesource: qualified")
	return Action{}
}

// shift moves the remembered edges by a step of the clock, d ns.
func (s *Source) shift(d int64) {
	s.anchorEdge += d
	s.last.edge += d
	for i := range s.recent[:s.nRecent] {
		s.recent[i].edge += d
	}
}

// restartRun forgets the qualification run.
func (s *Source) restartRun() {
	s.hasAnchor, s.qualified, s.goodRun = false, false, 0
}

// lose leaves Locked for Holdover (or FreeRun without holdover), holding
// the mean frequency of the lock.
func (s *Source) lose(why string) Action {
	s.counters.Losses++
	s.restartRun()
	s.badPulses, s.badReports = 0, 0
	a := Action{}
	if n := min(s.nFreqs, len(s.freqs)); n > 0 {
		var sum float64
		for _, f := range s.freqs[:n] {
			sum += f
		}
		a.Adjust, a.Frequency = true, sum/float64(n)
		s.freq = a.Frequency
	}
	if s.cfg.Holdover > 0 {
		s.enter(Holdover, why)
	} else {
		s.enter(FreeRun, why+" (no holdover configured)")
	}
	return a
}

// enter changes state and logs why.
func (s *Source) enter(st State, why string) {
	s.logf(engine.LevelNotice, "timesource: %s -> %s: %s", s.state, st, why)
	s.state, s.since = st, s.now
	if st == Locked {
		s.nFreqs = 0
	}
}

// Tick lets time pass: silences and the end of holdover are noticed here.
// Call it at least every few hundred milliseconds.
func (s *Source) Tick(host int64) Action {
	s.now = host
	a := Action{}
	switch s.state {
	case Locked:
		switch {
		case s.hasLast && host-s.last.host > int64(PulseTimeout):
			a = s.lose(fmt.Sprintf("no pulse for %v", time.Duration(host-s.last.host).Round(time.Millisecond)))
		case !s.cfg.Generic && host-s.lastValid > int64(FixTimeout):
			a = s.lose(fmt.Sprintf("no time of day for %v", time.Duration(host-s.lastValid).Round(time.Millisecond)))
		}
	case Holdover:
		if time.Duration(host-s.since) >= s.cfg.Holdover {
			s.enter(FreeRun, fmt.Sprintf("holdover of %v ended", s.cfg.Holdover))
		}
	}
	if s.state != Locked && s.hasAnchor && host-s.last.host > int64(PulseTimeout) {
		s.restartRun()
	}
	if s.cfg.Leap != nil && !s.lastUTC.IsZero() {
		// The flags go as the day ends, whether or not a report came.
		s.leapPending = s.cfg.Leap.Pending(s.lastUTC.Add(time.Duration(host - s.lastUTCHost)))
	}
	return s.finish(a)
}

// finish notes a change of quality.
func (s *Source) finish(a Action) Action {
	q := s.quality()
	if q != s.lastQuality {
		a.QualityChanged = true
		if q.ClockQuality != s.lastQuality.ClockQuality || q.TimeSource != s.lastQuality.TimeSource {
			s.logf(engine.LevelNotice, "timesource: %s: announcing clockClass %d clockAccuracy %s offsetScaledLogVariance 0x%04x timeSource %s",
				q.State, q.ClockQuality.ClockClass, q.ClockQuality.ClockAccuracy, q.ClockQuality.OffsetScaledLogVariance, q.TimeSource)
		}
		s.lastQuality = q
	}
	return a
}

// rms is the RMS of the last applied offsets, ns.
func (s *Source) rms() float64 {
	n := min(s.nOffsets, len(s.offsets))
	if n == 0 {
		return 0
	}
	var sum float64
	for _, o := range s.offsets[:n] {
		sum += o * o
	}
	return math.Sqrt(sum / float64(n))
}

// freqSpread is the standard deviation of the frequencies set while
// locked, ppb (= ns/s of drift it implies).
func (s *Source) freqSpread() float64 {
	n := min(s.nFreqs, len(s.freqs))
	if n < 2 {
		return 0
	}
	var sum, sq float64
	for _, f := range s.freqs[:n] {
		sum += f
	}
	mean := sum / float64(n)
	for _, f := range s.freqs[:n] {
		sq += (f - mean) * (f - mean)
	}
	return math.Sqrt(sq / float64(n-1))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
