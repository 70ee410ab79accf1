package timesource

import (
	"fmt"
	"math"

	"github.com/roko-network/roko-ptpd/ptp"
)

// State is where the time source stands, and so what the clock may
// announce.
type State uint8

// States. A source starts in FreeRun, reaches Locked after a
// qualification period of good pulses, falls to Holdover when the pulse
// or the fix is lost, and to FreeRun when holdover runs out.
const (
	// FreeRun: no qualified source; the clock runs on its own.
	FreeRun State = iota
	// Locked: the clock follows a qualified pulse and time of day.
	Locked
	// Holdover: the source was lost; the clock keeps the frequency it
	// had while locked.
	Holdover
)

var stateNames = [...]string{"FREERUN", "LOCKED", "HOLDOVER"}

// String returns the state's name as logs and status print it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Profile chooses the clockClass values announced in each state.
type Profile uint8

// Profiles.
const (
	// ProfileDefault is IEEE 1588-2019's default profile (Table 4):
	// 6 locked to a primary reference, 7 in holdover within
	// specification, 248 otherwise.
	ProfileDefault Profile = iota
	// ProfileG8275 is ITU-T G.8275.1/G.8275.2's telecom grandmaster
	// (dataset_comparison G.8275.x): 6 locked, 7 in holdover within
	// specification, 140 once holdover is out of specification
	// (category 1), and 248 for a clock that has never locked.
	ProfileG8275
)

// Clock classes used by the state machine.
const (
	ClassLocked           uint8 = 6
	ClassHoldover         uint8 = 7
	ClassG8275OutOfSpec   uint8 = 140
	ClassDefaultFreeRun   uint8 = 248
	varianceUnknown             = 0xffff
	defaultLockedVariance       = 0x4e5d // linuxptp's and the guide's: roughly 25 ns
)

// Quality is what the clock announces as grandmaster: its clockQuality
// and the timePropertiesDS fields a grandmaster sets itself.
type Quality struct {
	State        State
	ClockQuality ptp.ClockQuality
	TimeSource   ptp.TimeSource
	// Flags holds timeTraceable, frequencyTraceable,
	// currentUtcOffsetValid, leap61, leap59 and ptpTimescale.
	Flags ptp.Flags
	// UTCOffset is currentUtcOffset, TAI − UTC in seconds.
	UTCOffset int16
}

// AccuracyFor returns the smallest clockAccuracy (IEEE 1588-2019 Table 5)
// whose bound covers an error of e ns; a negative or NaN error is
// unknown.
func AccuracyFor(e float64) ptp.ClockAccuracy {
	if !(e >= 0) {
		return ptp.AccuracyUnknown
	}
	// Table 5 runs from 1 ps (0x17) by 2.5 ps, 10 ps, 25 ps, 100 ps ...
	// up to 1 s (0x2f), then 10 s (0x30).
	bound := 1e-3 // ns
	for a, i := ptp.AccuracyWithin1ps, 0; a <= ptp.AccuracyWithin10s; a, i = a+1, i+1 {
		if e <= bound*(1+1e-9) {
			return a
		}
		switch {
		case a == ptp.AccuracyWithin1s:
			bound *= 10
		case i%2 == 0:
			bound *= 2.5
		default:
			bound *= 4
		}
	}
	return ptp.AccuracyBeyond10s
}

// quality computes what the clock announces now. rms is the measured
// pulse error while locked; drift is how far the clock may have wandered
// since the source was lost.
func (s *Source) quality() Quality {
	q := Quality{State: s.state, UTCOffset: int16(s.utcOffset)}
	if s.cfg.UTCOffsetValid || s.utcOffsetFromSrc {
		q.Flags |= ptp.FlagCurrentUTCOffsetValid
	}
	if !s.cfg.UTCClock {
		q.Flags |= ptp.FlagPTPTimescale
	}
	switch s.leapPending {
	case 1:
		q.Flags |= ptp.FlagLeap61
	case -1:
		q.Flags |= ptp.FlagLeap59
	}
	variance := s.cfg.Variance
	if variance == 0 {
		variance = defaultLockedVariance
	}
	switch s.state {
	case Locked:
		q.ClockQuality = ptp.ClockQuality{ClockClass: ClassLocked, ClockAccuracy: s.accuracy(s.errorEstimate(0)), OffsetScaledLogVariance: variance}
		q.TimeSource = s.cfg.TimeSource
		q.Flags |= ptp.FlagTimeTraceable | ptp.FlagFrequencyTraceable
	case Holdover:
		// Still traceable in time to the last lock, within the holdover
		// specification; no longer to a frequency reference.
		q.ClockQuality = ptp.ClockQuality{ClockClass: ClassHoldover, ClockAccuracy: s.accuracy(s.errorEstimate(s.now - s.since)), OffsetScaledLogVariance: variance}
		q.TimeSource = s.cfg.TimeSource
		q.Flags |= ptp.FlagTimeTraceable
	default:
		class := ClassDefaultFreeRun
		if s.cfg.Profile == ProfileG8275 && s.everLocked {
			class = ClassG8275OutOfSpec
		}
		q.ClockQuality = ptp.ClockQuality{ClockClass: class, ClockAccuracy: ptp.AccuracyUnknown, OffsetScaledLogVariance: varianceUnknown}
		q.TimeSource = ptp.TimeSourceInternalOscillator
		// A clock that has never locked knows no UTC offset but the one it
		// was configured with; it says nothing about the leap flags.
		q.Flags &^= ptp.FlagLeap61 | ptp.FlagLeap59
	}
	return q
}

// errorEstimate is the clock's likely error after being without its
// source for elapsed ns: the RMS pulse error it had while locked, plus the
// drift that the frequency noise seen while locked (at least HoldoverDrift)
// builds up, linearly.
func (s *Source) errorEstimate(elapsed int64) float64 {
	drift := math.Max(s.freqSpread(), s.cfg.HoldoverDrift)
	return s.rms() + drift*float64(elapsed)/1e9
}

// accuracy is AccuracyFor(e) with hysteresis: the announced accuracy
// changes only when e has left its class by half as much again, so that
// an error near a class boundary does not make the grandmaster announce a
// new quality every second.
func (s *Source) accuracy(e float64) ptp.ClockAccuracy {
	better, worse := AccuracyFor(e/1.5), AccuracyFor(e*1.5)
	if s.acc == 0 || s.acc < better || s.acc > worse {
		s.acc = AccuracyFor(e)
	}
	return s.acc
}
