package phc2sys

import (
	"errors"
	"fmt"
	"time"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/servo"
	"golang.org/x/sys/unix"
)

// PPSSource delivers pulses: a /dev/ppsN (phc.PPS) in production.
type PPSSource interface {
	// Fetch waits up to timeout for the next pulse and returns the
	// latest edges, timestamped on the system clock.
	Fetch(timeout time.Duration) (phc.PPSEvent, error)
}

// PPSSyncer is phc2sys -d: it keeps the system clock on a pulse per
// second whose assert edge marks a whole second of the reference (a GPS
// receiver's PPS, or a PHC's periodic output wired to a PPS input). The
// pulse gives the offset within the second, to the kernel's timestamping
// accuracy; the whole seconds must come from elsewhere: from Source (-s, a
// PHC on the same time) when given, or else the system clock must already
// be within half a second of the reference.
type PPSSyncer struct {
	PPS PPSSource
	// Target is the clock the kernel timestamps the pulses on
	// (CLOCK_REALTIME; a simulated clock in tests).
	Target phc.Clock
	// Source, optional, supplies the whole seconds.
	Source   phc.Clock
	Servo    servo.Servo
	Readings int
	// OffsetNs is what the target should read ahead of the reference.
	OffsetNs int64
	// Timeout bounds the wait for a pulse (default 2 s).
	Timeout time.Duration
	// Metrics, when not nil, takes every update.
	Metrics *SinkMetrics

	lastSeq uint32
	seen    bool
}

// ErrNoPulse: no new pulse came within the timeout. The loop warns and
// waits on; any other error of Update is not a passing one.
var ErrNoPulse = errors.New("no new pulse")

// PPSNoDelay is Sample.Delay for a PPS measurement, which has no read
// window; the log line then leaves the delay out, as phc2sys's does.
const PPSNoDelay = -1

// Update waits for the next pulse, feeds the servo and steers the target.
func (s *PPSSyncer) Update() (Sample, error) {
	smp, err := s.update()
	if err != nil {
		s.Metrics.Failed()
		return smp, err
	}
	s.Metrics.Record(smp)
	return smp, nil
}

func (s *PPSSyncer) update() (Sample, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	ev, err := s.PPS.Fetch(timeout)
	if errors.Is(err, unix.ETIMEDOUT) {
		return Sample{}, fmt.Errorf("%w: %v: is the PPS signal connected?", ErrNoPulse, err)
	}
	if err != nil {
		return Sample{}, err
	}
	if s.seen && ev.AssertSequence == s.lastSeq {
		return Sample{}, fmt.Errorf("%w within %v (assert sequence still %d): is the PPS signal connected?", ErrNoPulse, timeout, ev.AssertSequence)
	}
	s.seen, s.lastSeq = true, ev.AssertSequence
	// The reference read a whole second at the pulse; the target read
	// ev.Assert. Within the second, the offset is the distance to the
	// nearest whole second of the target's reading, taking OffsetNs out
	// first so that a −37 s offset is not mistaken for a fraction.
	ts := ev.Assert - s.OffsetNs
	fine := ts - roundSecond(ts)
	off := fine
	if s.Source != nil {
		// The whole seconds: the coarse target − source offset, which a
		// read of both clocks knows to microseconds, rounded to the
		// seconds that make it agree with the pulse.
		o, err := phc.CompareClocks(s.Target, s.Source, s.Readings)
		if err != nil {
			return Sample{}, err
		}
		coarse := int64(o.Offset) - s.OffsetNs
		off = fine + roundSecond(coarse-fine)
	}
	ppb, st := s.Servo.Sample(off, ev.Assert)
	if err := steer(s.Target, st, ppb, off); err != nil {
		return Sample{}, err
	}
	return Sample{Offset: off, Delay: PPSNoDelay, State: st, PPB: ppb}, nil
}

// roundSecond rounds ns to the nearest whole second (halves away from
// zero).
func roundSecond(ns int64) int64 {
	const sec = int64(time.Second)
	if ns >= 0 {
		return (ns + sec/2) / sec * sec
	}
	return -((-ns + sec/2) / sec * sec)
}
