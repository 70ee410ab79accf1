// Package monitor is the operator guide's monitoring jobs done right:
// a live table of offset, path delay and quality, an accuracy test over N
// samples, and a one-screen status, all read from a daemon's management
// socket (ptp4l's or roko-ptpd's). pmc prints offsetFromMaster in
// nanoseconds; the guide's script multiplied it by 1e9 again, so its
// figures were a billion times too large. These read the data set itself.
package monitor

import (
	"encoding/json"
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
	r, err := ReadStatus(src, n, interval)
	if err != nil {
		return err
	}
	r.WriteText(w)
	return nil
}

// StatusReport is the status as facts: what Status prints, and what
// `roko-ptpctl status --json` gives, a stable object whose fields are only
// ever added to. Offsets are in nanoseconds.
type StatusReport struct {
	// TimeSource is where the clock's time comes from: "PTP" for a clock
	// that follows (or waits for) a master, else the grandmaster's time
	// source by the name Status prints ("GPS", "Atomic clock", …).
	TimeSource string `json:"time_source"`
	// Interface and PortState are the first port's.
	Interface string `json:"interface"`
	PortState string `json:"port_state"`
	// Synchronized: the port is SLAVE, or the grandmaster's time source
	// is LOCKED.
	Synchronized bool `json:"synchronized"`
	// CurrentOffsetNs is the last offsetFromMaster, or the time source's
	// last pulse offset.
	CurrentOffsetNs float64 `json:"current_offset_ns"`
	// MeanDeviationNs is the mean |offsetFromMaster| over Samples
	// samples, or the time source's pulse RMS; MeanDeviationOf says which
	// ("offset_from_master" or "pulse_rms").
	MeanDeviationNs float64 `json:"mean_deviation_ns"`
	MeanDeviationOf string  `json:"mean_deviation_of"`
	Samples         int     `json:"samples"`
	// SyncQuality is the guide's grade of MeanDeviationNs: EXCELLENT,
	// GOOD, ACCEPTABLE or POOR; POOR too for a time source not LOCKED.
	SyncQuality string `json:"sync_quality"`
	// GrandmasterTimeSource is the grandmaster's time source
	// (TIME_SOURCE_NP), absent when the daemon has none.
	GrandmasterTimeSource *TimeSourceReport `json:"grandmaster_time_source,omitempty"`
	// Attestation is the guide's last line, filled in by the caller (the
	// host's key is not the daemon's business): VALID, INVALID or NONE,
	// and AttestationDetail why; absent when not asked.
	Attestation       string `json:"attestation,omitempty"`
	AttestationDetail string `json:"attestation_detail,omitempty"`

	ts    *ptp.TimeSourceNP
	state ptp.PortState
}

// TimeSourceReport is a grandmaster's time source: TIME_SOURCE_NP with
// its units in the names.
type TimeSourceReport struct {
	Source            string  `json:"source"`
	State             string  `json:"state"`
	TimeInStateS      float64 `json:"time_in_state_s"`
	Qualifying        bool    `json:"qualifying"`
	QualifiedForS     float64 `json:"qualified_for_s"`
	Fix               bool    `json:"fix"`
	PulseInput        string  `json:"pulse_input"`
	OffsetNs          int64   `json:"offset_ns"`
	RMSNs             int64   `json:"rms_ns"`
	FrequencyPPB      float64 `json:"frequency_ppb"`
	LastReport        string  `json:"last_report,omitempty"` // RFC 3339, UTC
	FirstLockAfterS   float64 `json:"first_lock_after_s,omitempty"`
	Pulses            uint64  `json:"pulses"`
	PulsesApplied     uint64  `json:"pulses_applied"`
	PulsesMissed      uint64  `json:"pulses_missed"`
	Reports           uint64  `json:"reports"`
	ReportsWithoutFix uint64  `json:"reports_without_fix"`
	Rejected          uint64  `json:"rejected"`
	Steps             uint64  `json:"steps"`
	Locks             uint64  `json:"locks"`
	Losses            uint64  `json:"losses"`
	// What the clock announces because of the source.
	ClockClass     uint8  `json:"clock_class"`
	ClockAccuracy  string `json:"clock_accuracy"`   // "0x21"
	TimeSourceCode string `json:"time_source_code"` // timeSource, "0x20"
	UTCOffsetS     int16  `json:"current_utc_offset_s"`
}

// ReadStatus takes the status from src: n samples interval apart, or the
// grandmaster's time source when the daemon reports one.
func ReadStatus(src Source, n int, interval time.Duration) (*StatusReport, error) {
	st, iface, err := src.Port()
	if err != nil {
		return nil, err
	}
	r := &StatusReport{Interface: iface, PortState: st.String(), state: st}
	if tr, ok := src.(TimeSourceReader); ok {
		// An error answer means no time source here: carry on as for a
		// slave, whose status this has always been.
		if ts, err := tr.TimeSource(); err == nil {
			r.fromTimeSource(ts)
			return r, nil
		}
	}
	var sumAbs, last float64
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		cds, err := src.Current()
		if err != nil {
			return nil, err
		}
		last = ns(cds.OffsetFromMaster)
		sumAbs += math.Abs(last)
	}
	mean := sumAbs / float64(max(n, 1))
	r.TimeSource, r.Synchronized = "PTP", st == ptp.PortStateSlave
	r.CurrentOffsetNs, r.MeanDeviationNs, r.MeanDeviationOf, r.Samples = last, mean, "offset_from_master", n
	r.SyncQuality = Quality(mean)
	return r, nil
}

// fromTimeSource fills r from a grandmaster's time source.
func (r *StatusReport) fromTimeSource(ts ptp.TimeSourceNP) {
	r.ts = &ts
	name, ok := sourceNames[ts.TimeSource]
	if !ok {
		name = "timeSource " + ts.TimeSource.String()
	}
	r.TimeSource, r.Synchronized = name, ts.State == ptp.TimeSourceLocked
	r.CurrentOffsetNs, r.MeanDeviationNs, r.MeanDeviationOf = float64(ts.Offset), float64(ts.RMS), "pulse_rms"
	r.SyncQuality = Quality(float64(ts.RMS))
	if !r.Synchronized {
		r.SyncQuality = "POOR"
	}
	g := &TimeSourceReport{
		Source: name, State: ts.State.String(), TimeInStateS: float64(ts.TimeInState) / 1e9,
		Qualifying: ts.Qualifying != 0, QualifiedForS: float64(ts.Qualified) / 1e9, Fix: ts.Fix != 0,
		PulseInput: ts.PulseInput.String(), OffsetNs: ts.Offset, RMSNs: ts.RMS, FrequencyPPB: float64(ts.Frequency) / 1000,
		FirstLockAfterS: float64(ts.LockTime) / 1e9,
		Pulses:          ts.Pulses, PulsesApplied: ts.PulsesApplied, PulsesMissed: ts.PulsesMissed,
		Reports: ts.Reports, ReportsWithoutFix: ts.NoFix, Rejected: rejected(ts),
		Steps: ts.Steps, Locks: ts.Locks, Losses: ts.Losses,
		ClockClass: ts.ClockClass, ClockAccuracy: ts.ClockAccuracy.String(), TimeSourceCode: ts.TimeSource.String(),
		UTCOffsetS: ts.UTCOffset,
	}
	if ts.LastUTC > 0 {
		g.LastReport = time.Unix(ts.LastUTC, 0).UTC().Format(time.RFC3339)
	}
	r.GrandmasterTimeSource = g
}

// WriteText prints the guide's lines (and, for a grandmaster with a time
// source, two more on the source and what the clock announces).
func (r *StatusReport) WriteText(w io.Writer) {
	if r.ts != nil {
		timeSourceStatus(w, *r.ts, r.state, r.Interface)
	} else {
		source := fmt.Sprintf("PTP (%s)", r.Interface)
		if !r.Synchronized {
			source = fmt.Sprintf("PTP (%s, port %s, not synchronised to a master)", r.Interface, r.PortState)
		}
		fmt.Fprintf(w, "Time Source: %s\nCurrent Offset: %.1f ns\nMean Deviation: %.1f ns\nSync Quality: %s\n", source, r.CurrentOffsetNs, r.MeanDeviationNs, r.SyncQuality)
	}
	if r.Attestation != "" {
		fmt.Fprintf(w, "Attestation: %s (%s)\n", r.Attestation, r.AttestationDetail)
	}
}

// WriteJSON writes the report as one indented JSON object.
func (r *StatusReport) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
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
