// Package monitor is the operator guide's monitoring jobs done right:
// a live table of offset, path delay and quality, an accuracy test over N
// samples, and a one-screen status, all read from a daemon's management
// socket (ptp4l's or roko-ptpd's). pmc prints offsetFromMaster in
// nanoseconds; the guide's script multiplied it by 1e9 again, so its
// figures were a billion times too large. These read the data set itself.
package monitor

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Source reads the daemon's state.
type Source interface {
	// Current returns currentDS.
	Current() (ptp.CurrentDataSet, error)
	// Port returns the first port's state and interface name.
	Port() (ptp.PortState, string, error)
}

// TimeSourceReader is a Source that can also read a grandmaster's time
// source (roko-ptpd's TIME_SOURCE_NP); *mgmt.Client is one. It is a
// separate interface because ptp4l, and roko-ptpd when it is not a
// grandmaster with a source, have none to report.
type TimeSourceReader interface {
	TimeSource() (ptp.TimeSourceNP, error)
}

// Quality grades an offset as the guide does: EXCELLENT under 100 ns, GOOD
// under 500 ns, ACCEPTABLE under 1 µs, POOR beyond.
func Quality(offsetNs float64) string {
	switch a := math.Abs(offsetNs); {
	case a < 100:
		return "EXCELLENT"
	case a < 500:
		return "GOOD"
	case a < 1000:
		return "ACCEPTABLE"
	}
	return "POOR"
}

func ns(t ptp.TimeInterval) float64 { return float64(t) / 65536 }

// Monitor prints a row every interval, count times (0: until the source
// fails), in the guide's columns.
func Monitor(w io.Writer, src Source, interval time.Duration, count int, now func() time.Time) error {
	fmt.Fprintf(w, "%-20s %-15s %-15s %-12s %s\n", "Timestamp", "Offset (ns)", "Delay (ns)", "Quality", "Steps")
	fmt.Fprintln(w, "--------------------------------------------------------------------------------")
	for i := 0; count == 0 || i < count; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		cds, err := src.Current()
		if err != nil {
			return err
		}
		off, delay := ns(cds.OffsetFromMaster), ns(cds.MeanPathDelay)
		fmt.Fprintf(w, "%-20s %-15.2f %-15.2f %-12s %d\n", now().Format("15:04:05"), off, delay, Quality(off), cds.StepsRemoved)
	}
	return nil
}

// Stats are the accuracy test's figures, ns.
type Stats struct {
	Samples                int
	Mean, StdDev, Min, Max float64
}

// Passed is the guide's verdict: a standard deviation under 100 ns.
func (s Stats) Passed() bool { return s.StdDev < 100 }

// Accuracy takes n samples of offsetFromMaster, interval apart.
func Accuracy(src Source, n int, interval time.Duration) (Stats, error) {
	var s Stats
	var sum, sumSq float64
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		cds, err := src.Current()
		if err != nil {
			return s, err
		}
		v := ns(cds.OffsetFromMaster)
		if i == 0 || v < s.Min {
			s.Min = v
		}
		if i == 0 || v > s.Max {
			s.Max = v
		}
		sum += v
		sumSq += v * v
		s.Samples++
	}
	if s.Samples > 0 {
		s.Mean = sum / float64(s.Samples)
	}
	if s.Samples > 1 {
		// The sample standard deviation, as the guide's awk computes it.
		s.StdDev = math.Sqrt(math.Max(0, (sumSq-sum*sum/float64(s.Samples))/float64(s.Samples-1)))
	}
	return s, nil
}

// WriteAccuracy prints the guide's report.
func WriteAccuracy(w io.Writer, s Stats) {
	fmt.Fprintf(w, "Samples: %d\nMean offset: %.1f ns\nStd deviation: %.1f ns\nMin offset: %.1f ns\nMax offset: %.1f ns\n",
		s.Samples, s.Mean, s.StdDev, s.Min, s.Max)
	if s.Passed() {
		fmt.Fprintln(w, "\nPASSED: Suitable for ROKO validator")
	} else {
		fmt.Fprintln(w, "\nFAILED: Improve PTP configuration")
	}
}

// Status prints the guide's roko-node time status lines from n samples
// taken interval apart: the current offset, the mean absolute offset
// ("mean deviation") and the grade of the latter.
//
// A grandmaster with a time source (src is a TimeSourceReader and the
// daemon answers TIME_SOURCE_NP) has no master to be offset from: its
// currentDS offset is always zero. Its status is the source's instead:
// see timeSourceStatus.
func Status(w io.Writer, src Source, n int, interval time.Duration) error {
	st, iface, err := src.Port()
	if err != nil {
		return err
	}
	if r, ok := src.(TimeSourceReader); ok {
		// An error answer means no time source here: carry on as for a
		// slave, whose status this has always been.
		if ts, err := r.TimeSource(); err == nil {
			timeSourceStatus(w, ts, st, iface)
			return nil
		}
	}
	var sumAbs, last float64
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		cds, err := src.Current()
		if err != nil {
			return err
		}
		last = ns(cds.OffsetFromMaster)
		sumAbs += math.Abs(last)
	}
	source := fmt.Sprintf("PTP (%s)", iface)
	if st != ptp.PortStateSlave {
		source = fmt.Sprintf("PTP (%s, port %s, not synchronised to a master)", iface, st)
	}
	mean := sumAbs / float64(max(n, 1))
	fmt.Fprintf(w, "Time Source: %s\nCurrent Offset: %.1f ns\nMean Deviation: %.1f ns\nSync Quality: %s\n", source, last, mean, Quality(mean))
	return nil
}

// sourceNames names the announced timeSource for people; GNSS is what
// the operator guide calls GPS.
var sourceNames = map[ptp.TimeSource]string{
	ptp.TimeSourceAtomicClock:        "Atomic clock",
	ptp.TimeSourceGNSS:               "GPS",
	ptp.TimeSourceTerrestrialRadio:   "Terrestrial radio",
	ptp.TimeSourceSerialTimeCode:     "Serial time code",
	ptp.TimeSourcePTP:                "PTP",
	ptp.TimeSourceNTP:                "NTP",
	ptp.TimeSourceHandSet:            "Hand set",
	ptp.TimeSourceOther:              "Other",
	ptp.TimeSourceInternalOscillator: "Internal oscillator",
}

// rejected is how many pulses and time-of-day reports a time source
// refused as wrong: off the window or the phase, unpaired, naming the
// wrong second, jumping, or unreadable. Missed pulses, reports without a
// fix and the falling edges of a both-edge input are not wrong, only
// absent or expected, and are left out.
func rejected(ts ptp.TimeSourceNP) uint64 {
	return ts.PulsesOutOfWindow + ts.PulsesWrongPhase + ts.Unpaired + ts.SecondMismatch + ts.TimeJumps + ts.Malformed
}

// timeSourceStatus prints a grandmaster's status from its time source:
// the guide's four lines, with the source's state in "Time Source" and
// two more lines on the source and what the clock announces. The current
// offset is the last pulse's, the deviation the pulses' RMS, graded only
// while locked: a source in holdover or free running is not checked
// against anything, so its clock is POOR whatever it last measured.
func timeSourceStatus(w io.Writer, ts ptp.TimeSourceNP, st ptp.PortState, iface string) {
	name, ok := sourceNames[ts.TimeSource]
	if !ok {
		name = "timeSource " + ts.TimeSource.String()
	}
	parts := []string{fmt.Sprintf("%s %v", ts.State, round(ts.TimeInState))}
	if ts.Qualifying != 0 {
		parts = append(parts, fmt.Sprintf("qualifying %v", round(ts.Qualified)))
	}
	if ts.State == ptp.TimeSourceLocked {
		parts = append(parts, fmt.Sprintf("pulse RMS %d ns", ts.RMS))
	}
	if ts.Fix != 0 {
		parts = append(parts, "fix")
	} else {
		parts = append(parts, "no fix")
	}
	parts = append(parts, fmt.Sprintf("%d rejected", rejected(ts)))
	fmt.Fprintf(w, "Time Source: %s (%s)\n", name, strings.Join(parts, ", "))

	detail := fmt.Sprintf("pulse %s, offset %d ns, frequency %.3f ppb", ts.PulseInput, ts.Offset, float64(ts.Frequency)/1000)
	if ts.LastUTC > 0 {
		detail += ", last report " + time.Unix(ts.LastUTC, 0).UTC().Format(time.RFC3339)
	}
	if ts.LockTime > 0 {
		detail += fmt.Sprintf(", first lock after %v", round(ts.LockTime))
	}
	fmt.Fprintf(w, "Source State: %s; %d pulses, %d applied, %d missed; %d reports, %d without fix; %d steps, %d locks, %d losses\n",
		detail, ts.Pulses, ts.PulsesApplied, ts.PulsesMissed, ts.Reports, ts.NoFix, ts.Steps, ts.Locks, ts.Losses)
	fmt.Fprintf(w, "Announcing: clockClass %d, clockAccuracy %s, timeSource %s, currentUtcOffset %d on %s (port %s)\n",
		ts.ClockClass, ts.ClockAccuracy, ts.TimeSource, ts.UTCOffset, iface, st)

	grade := Quality(float64(ts.RMS))
	if ts.State != ptp.TimeSourceLocked {
		grade = "POOR (not locked to the time source)"
	}
	fmt.Fprintf(w, "Current Offset: %.1f ns\nMean Deviation: %.1f ns (pulse RMS)\nSync Quality: %s\n", float64(ts.Offset), float64(ts.RMS), grade)
}

// round gives a duration in ns to the second, as people read it
// ("12m3s").
func round(ns int64) time.Duration { return time.Duration(ns).Round(time.Second) }
