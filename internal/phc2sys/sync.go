package phc2sys

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/servo"
)

// Sample is one update: the target's offset from the source (after the
// -O offset), the measurement window, and what the servo made of it.
type Sample struct {
	Offset int64
	Delay  int64
	State  servo.State
	PPB    float64 // the frequency set on the target
	Method phc.OffsetMethod
}

// Syncer keeps Target on Source. It is not safe for concurrent use.
type Syncer struct {
	Source, Target phc.Clock
	Servo          servo.Servo
	// Readings per update (phc2sys -N).
	Readings int
	// OffsetNs is what the target should read ahead of the source (-O in
	// nanoseconds; −currentUtcOffset for a PHC on TAI and a UTC target).
	OffsetNs int64
	// Metrics, when not nil, takes every update.
	Metrics *SinkMetrics
}

// measure returns target − source with the best method available.
func (s *Syncer) measure() (phc.SysOffset, error) {
	if dev, ok := s.Source.(*phc.Device); ok {
		if _, sys := s.Target.(*phc.System); sys {
			o, err := dev.SysOffset(s.Readings)
			if err != nil {
				return o, err
			}
			// SysOffset is phc − system; we want target − source.
			o.Offset = -o.Offset
			return o, nil
		}
		if v, ok := s.Target.(realtimeFollower); ok {
			// A clock that follows CLOCK_REALTIME (the virtual system
			// clock of tests and emulated hardware) is measured through
			// the PHC's own sys-offset method against CLOCK_REALTIME,
			// then converted exactly: target − source is (target −
			// realtime) − (phc − realtime) at the reading's instant.
			o, err := dev.SysOffset(s.Readings)
			if err != nil {
				return o, err
			}
			vt, err := v.FromRealtime(o.Time)
			if err != nil {
				return o, err
			}
			o.Offset = time.Duration(vt-o.Time) - o.Offset
			o.Time = vt
			return o, nil
		}
	}
	o, err := phc.CompareClocks(s.Target, s.Source, s.Readings)
	if err != nil {
		return o, err
	}
	o.Time += int64(o.Offset) // the target's time of the reading
	return o, nil
}

// realtimeFollower is a clock whose relation to CLOCK_REALTIME is known
// exactly (phc.Virtual).
type realtimeFollower interface {
	FromRealtime(rt int64) (int64, error)
}

// Update measures once, feeds the servo and steers the target.
func (s *Syncer) Update() (Sample, error) {
	smp, err := s.update()
	if err != nil {
		s.Metrics.Failed()
		return smp, err
	}
	s.Metrics.Record(smp)
	return smp, nil
}

func (s *Syncer) update() (Sample, error) {
	o, err := s.measure()
	if err != nil {
		return Sample{}, err
	}
	off := int64(o.Offset) - s.OffsetNs
	ppb, st := s.Servo.Sample(off, o.Time)
	if err := steer(s.Target, st, ppb, off); err != nil {
		return Sample{}, err
	}
	return Sample{Offset: off, Delay: int64(o.Delay), State: st, PPB: ppb, Method: o.Method}, nil
}

// steer applies what the servo made of offset off: a step with the new
// frequency, or just the frequency, or nothing while it is unlocked.
func steer(target phc.Clock, st servo.State, ppb float64, off int64) error {
	switch st {
	case servo.Jump:
		if err := target.AdjustFrequency(ppb); err != nil {
			return err
		}
		return target.Step(time.Duration(-off))
	case servo.Locked, servo.LockedStable:
		return target.AdjustFrequency(ppb)
	}
	return nil
}

// OpenClock opens a clock by phc2sys's names: CLOCK_REALTIME, a device
// path (/dev/ptp0, or an emulated PHC's state file such as
// /run/roko-ptpd/emulated/ptp0), or an interface (its PHC).
func OpenClock(name string) (phc.Clock, error) {
	switch {
	case name == "CLOCK_REALTIME":
		return phc.NewSystem()
	case strings.ContainsRune(name, '/'):
		return phc.Open(name)
	}
	return phc.OpenInterface(name)
}

// Logf prints one line at a syslog level.
type Logf func(level int, format string, args ...any)

// WaitForDaemon waits, as phc2sys -w does, until the daemon that cfg
// asks has a port in SLAVE (or is the grandmaster: MASTER), and returns
// its time properties.
func WaitForDaemon(ctx context.Context, cfg mgmt.Config, logf Logf) (ptp.TimePropertiesDataSet, error) {
	c, err := mgmt.Open(cfg)
	if err != nil {
		return ptp.TimePropertiesDataSet{}, err
	}
	defer c.Close()
	c.Timeout = 500 * time.Millisecond
	said := false
	for {
		states, err := c.PortStates()
		if err == nil {
			for _, st := range states {
				if st == ptp.PortStateSlave || st == ptp.PortStateMaster {
					return c.TimeProperties()
				}
			}
		}
		if !said {
			logf(6, "Waiting for ptp4l...")
			said = true
		}
		select {
		case <-ctx.Done():
			return ptp.TimePropertiesDataSet{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Label names a clock as phc2sys's log lines do: "phc" for a PHC source,
// "sys" for CLOCK_REALTIME.
func Label(name string) string {
	if name == "CLOCK_REALTIME" {
		return "sys"
	}
	return "phc"
}

// Line formats phc2sys's per-update line. The freq printed is phc2sys's
// servo output, the negation of the frequency set.
// A PPS sample (Delay PPSNoDelay) has no delay column.
func Line(target, label string, s Sample) string {
	if s.Delay == PPSNoDelay {
		return fmt.Sprintf("%s %s offset %9d s%d freq %+7.0f", target, label, s.Offset, uint8(s.State), 0-s.PPB)
	}
	return fmt.Sprintf("%s %s offset %9d s%d freq %+7.0f delay %6d", target, label, s.Offset, uint8(s.State), 0-s.PPB, s.Delay)
}

// Reporter prints phc2sys's lines for one target: a line per update, or
// with Every > 1 (-u) a summary line every Every updates.
type Reporter struct {
	Logf          Logf
	Target, Label string // the target's name, the source's label ("phc", "sys", "pps")
	Every         int
	stats         Stats
}

// Report takes one update.
func (r *Reporter) Report(s Sample) {
	if r.Every <= 1 {
		r.Logf(6, "%s", Line(r.Target, r.Label, s))
		return
	}
	r.stats.Add(s)
	if r.stats.Len() >= r.Every {
		r.Logf(6, "%s", r.stats.Line(r.Target))
	}
}

// Stats accumulates -u summaries.
type Stats struct {
	n                 int
	offSq, offMax     float64
	freqSum, freqSq   float64
	delaySum, delaySq float64
}

// Add records one update.
func (st *Stats) Add(s Sample) {
	o, f, d := float64(s.Offset), 0-s.PPB, float64(s.Delay)
	st.n++
	st.offSq += o * o
	st.offMax = math.Max(st.offMax, math.Abs(o))
	st.freqSum += f
	st.freqSq += f * f
	st.delaySum += d
	st.delaySq += d * d
}

// Len returns the updates recorded since the last Line.
func (st *Stats) Len() int { return st.n }

// Line returns phc2sys's summary line and starts over.
func (st *Stats) Line(target string) string {
	n := float64(st.n)
	fm := st.freqSum / n
	dm := st.delaySum / n
	line := fmt.Sprintf("%s rms %4.0f max %4.0f freq %+6.0f +/- %3.0f delay %5.0f +/- %3.0f", target,
		math.Sqrt(st.offSq/n), st.offMax, fm, math.Sqrt(math.Max(0, st.freqSq/n-fm*fm)), dm, math.Sqrt(math.Max(0, st.delaySq/n-dm*dm)))
	*st = Stats{}
	return line
}

// SyncOffset returns what the target should read ahead of the source
// (Syncer.OffsetNs) given the daemon's time properties: PHCs keep the PTP
// timescale (TAI) when the grandmaster announces it, and CLOCK_REALTIME
// keeps UTC, currentUtcOffset seconds behind. On the arbitrary timescale,
// or between two PHCs, it is 0.
func SyncOffset(tp ptp.TimePropertiesDataSet, source, target string) int64 {
	return syncOffsetUTC(tp, source == "CLOCK_REALTIME", target == "CLOCK_REALTIME")
}

// syncOffsetUTC is SyncOffset for a source and a target that keep UTC
// (sourceUTC, targetUTC) or else the grandmaster's timescale.
func syncOffsetUTC(tp ptp.TimePropertiesDataSet, sourceUTC, targetUTC bool) int64 {
	if tp.Flags&ptp.TimePropertiesPTPTimescale == 0 {
		return 0
	}
	utc := int64(tp.CurrentUTCOffset) * 1e9
	var off int64
	if targetUTC {
		off -= utc
	}
	if sourceUTC {
		off += utc
	}
	return off
}

// DaemonSyncOffset asks the daemon that cfg asks for its time properties
// and returns SyncOffset of them: phc2sys -w's offset, re-read every
// minute so that a leap second is taken up.
func DaemonSyncOffset(cfg mgmt.Config, source, target string) (int64, error) {
	c, err := mgmt.Open(cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	tp, err := c.TimeProperties()
	if err != nil {
		return 0, err
	}
	return SyncOffset(tp, source, target), nil
}
