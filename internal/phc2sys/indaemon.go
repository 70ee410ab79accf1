package phc2sys

import (
	"context"
	"fmt"
	"time"

	"github.com/roko-network/roko-ptpd/internal/prom"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

// InDaemon is the phc2sys job that a [phc2sys] section of roko-ptpd's
// configuration runs inside the daemon, for operators who want one unit:
//
//	[phc2sys]
//	target          CLOCK_REALTIME
//	update_rate     16
//	clock_servo     linreg
//
// It does what `roko-phc2sys -s <the daemon's clock> -c <target> -w` does,
// without the UNIX socket: it asks the engine directly whether a port is
// SLAVE or MASTER and what the UTC offset is. It runs on its own goroutine
// and reaches the engine only through the daemon's Do queue, so the event
// loop never waits on a clock read.
type InDaemon struct {
	d        Daemon
	syncer   *Syncer
	rate     float64
	summary  int
	offsetOK bool // utc_offset was set: do not take it from the engine
	label    string
	// followDaemon: the source is the clock the daemon steers, which
	// boundary_clock_jbod changes when another port's PHC takes over.
	followDaemon bool
	logf         Logf
	metrics      *Metrics
	lastTP       ptp.TimePropertiesDataSet // the time properties last published in metrics
	tpPublished  bool
}

// metricsAdder is a daemon whose metrics endpoint (metrics_address) can
// serve the job's series too, as *ptpd.Daemon does.
type metricsAdder interface {
	AddMetrics(collect func(*prom.Sink))
}

// Daemon is what the job needs of the daemon it runs in (a
// *ptpd.Daemon): its engine, reached on its event loop, and its clock.
type Daemon interface {
	Do(ctx context.Context, f func(e *engine.Clock)) bool
	Clock() phc.Clock
}

// NewInDaemon opens the clocks of the [phc2sys] section, so that a bad
// setting stops roko-ptpd at start, naming the file and line. target,
// when not nil, replaces the section's target (tests pass a virtual clock).
func NewInDaemon(d Daemon, s *config.Phc2sysSettings, target phc.Clock, logf Logf) (*InDaemon, error) {
	var src phc.Clock
	label := "phc"
	if s.Source != "" {
		var err error
		if src, err = OpenClock(s.Source); err != nil {
			return nil, fmt.Errorf("%s %s: %w", s.SourceAt, s.Source, err)
		}
		label = Label(s.Source)
	} else {
		src = d.Clock()
	}
	if target == nil && s.Target == src.Name() {
		return nil, fmt.Errorf("%s: the source and the target are both %s (with software timestamping roko-ptpd steers CLOCK_REALTIME itself): drop the [phc2sys] section", s.TargetAt, src.Name())
	}
	if target == nil {
		if s.Target == "CLOCK_REALTIME" {
			if err := phc.CheckSteerable("/proc/self/status"); err != nil {
				return nil, fmt.Errorf("%s %s: %w", s.TargetAt, s.Target, err)
			}
		}
		var err error
		if target, err = OpenClock(s.Target); err != nil {
			return nil, fmt.Errorf("%s %s: %w", s.TargetAt, s.Target, err)
		}
	}
	o := &Options{Servo: s.Servo, KP: s.KP, KI: s.KI, StepThreshold: s.StepThreshold, FirstStep: s.FirstStepThreshold, Rate: s.UpdateRate}
	freq, err := target.Frequency()
	if err != nil {
		return nil, err
	}
	sv, err := servo.New(o.Servo, o.ServoConfig(target.MaxFrequency()), freq)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.ServoAt, err)
	}
	sv.SetSyncInterval(1 / o.Rate)
	j := &InDaemon{
		d: d, rate: o.Rate, summary: s.SummaryUpdates, offsetOK: s.UTCOffsetSet, label: label, logf: logf, followDaemon: s.Source == "",
		syncer: &Syncer{Source: src, Target: target, Servo: servo.NewFilter(sv, servo.DefaultFilterConfig()),
			Readings: s.Readings, OffsetNs: int64(s.UTCOffset) * 1e9},
	}
	// The job's series join the daemon's scrapes, on its metrics_address.
	if m, ok := d.(metricsAdder); ok {
		j.metrics = NewMetrics()
		j.setSource(src)
		m.AddMetrics(j.metrics.Collect)
	}
	return j, nil
}

// setSource makes the series of the sink under src the ones reported.
func (j *InDaemon) setSource(src phc.Clock) {
	if j.metrics == nil {
		return
	}
	j.syncer.Metrics = j.metrics.Sink(src.Name(), j.syncer.Target.Name())
	j.metrics.SetActive(j.syncer.Metrics)
}

// ready asks the engine whether a port is SLAVE or MASTER (phc2sys -w's
// test) and, when it is, what the UTC offset between the clocks is.
func (j *InDaemon) ready(ctx context.Context) bool {
	ok := false
	var tp ptp.TimePropertiesDataSet
	j.d.Do(ctx, func(e *engine.Clock) {
		for i := range e.NumPorts() {
			if st := e.Port(i).State().Wire(); st == ptp.PortStateSlave || st == ptp.PortStateMaster {
				ok = true
			}
		}
		tp = e.TimePropertiesDS()
	})
	if ok && !j.offsetOK {
		j.syncer.OffsetNs = j.syncOffset(tp)
	}
	if j.metrics != nil && (!j.tpPublished || tp != j.lastTP) {
		j.metrics.SetDaemon(nil, tp, true)
		j.lastTP, j.tpPublished = tp, true
	}
	return ok
}

// syncOffset is SyncOffset for the job's clocks, which it knows as clocks
// rather than names: the daemon's own is a PHC on the grandmaster's
// timescale, or a clock that keeps UTC (CLOCK_REALTIME, a virtual clock),
// which the daemon has already put on UTC.
func (j *InDaemon) syncOffset(tp ptp.TimePropertiesDataSet) int64 {
	return syncOffsetUTC(tp, phc.KeepsUTC(j.syncer.Source), phc.KeepsUTC(j.syncer.Target))
}

// Run updates the target rate times a second until ctx ends, while the
// daemon is synchronised.
func (j *InDaemon) Run(ctx context.Context) error {
	tk := time.NewTicker(time.Duration(float64(time.Second) / j.rate))
	defer tk.Stop()
	name := j.syncer.Target.Name()
	report := Reporter{Logf: j.logf, Target: name, Label: j.label, Every: j.summary}
	waiting, first := false, true
	for n := 0; ; n++ {
		// Like phc2sys, which asks again every minute, look at the ports
		// once a second, not at every update.
		if n%max(1, int(j.rate)) == 0 {
			ok := j.ready(ctx)
			if !ok && !waiting {
				j.logf(6, "phc2sys: waiting until a port is SLAVE or MASTER")
			}
			waiting = !ok
		}
		if !waiting {
			if j.followDaemon {
				if c := j.d.Clock(); c != j.syncer.Source {
					j.syncer.Source = c
					j.setSource(c)
				}
			}
			smp, err := j.syncer.Update()
			switch {
			case err != nil:
				j.logf(3, "phc2sys: %s: %v", name, err)
			case first:
				j.logf(6, "phc2sys: %s: offset measured by the %s method", name, smp.Method)
				first = false
				fallthrough
			default:
				report.Report(smp)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
	}
}
