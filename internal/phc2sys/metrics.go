package phc2sys

import (
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/roko-network/roko-ptpd/internal/prom"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/servo"
)

// Prometheus metrics (--metrics_address; in roko-ptpd, the [phc2sys]
// job's on the daemon's own endpoint). The servo loop writes each time
// sink's figures into atomics as it takes a sample, and a scrape reads
// them: the loop never waits for a scrape and allocates nothing per
// sample. A sequence number around each update (a seqlock with one
// writer) lets a scrape that read in the middle of one read again, so
// that the offset, frequency and state it reports are of one sample.

// Units are Prometheus's base units, as roko-ptpd's: seconds, and a ratio
// (ppb × 1e-9) for a frequency adjustment. Series are labelled with the
// source and the sink (linuxptp 4's name for the clock phc2sys steers) by
// the names phc2sys knows them by: CLOCK_REALTIME, a device, an interface.
var (
	descOffset = prom.NewGauge("roko_phc2sys_offset_seconds",
		"The sink's last measured offset from the source (sink − source, less the UTC offset between them).", "source", "sink")
	descAbsOffset = prom.NewHistogram("roko_phc2sys_abs_offset_seconds",
		"|offset| of every sample, in the operator guide's grades (EXCELLENT < 100 ns, GOOD < 500 ns, ACCEPTABLE < 1 µs).",
		absOffsetBuckets[:], "source", "sink")
	descFreq = prom.NewGauge("roko_phc2sys_frequency_adjustment_ratio",
		"The frequency adjustment the servo last set on the sink (ppb × 1e-9; positive runs faster).", "source", "sink")
	descServo = prom.NewGauge("roko_phc2sys_servo_state",
		"The sink's servo state: 0 UNLOCKED (s0), 1 JUMP (s1), 2 LOCKED (s2), 3 LOCKED_STABLE (s3).", "source", "sink")
	descDelay = prom.NewGauge("roko_phc2sys_measurement_delay_seconds",
		"The read window of the last offset measurement (the delay column of phc2sys's log line); absent for a PPS source.", "source", "sink")
	descSteps = prom.NewCounter("roko_phc2sys_clock_steps_total",
		"Steps of the sink the servo asked for.", "source", "sink")
	descSamples = prom.NewCounter("roko_phc2sys_samples_total",
		"Offset measurements fed to the servo.", "source", "sink")
	descErrors = prom.NewCounter("roko_phc2sys_measurement_errors_total",
		"Updates that failed: the clocks could not be read or steered, or no pulse came.", "source", "sink")
	descAge = prom.NewGauge("roko_phc2sys_last_sample_age_seconds",
		"How long ago the sink's last sample was taken; a loop that stops shows here.", "source", "sink")
	descPortState = prom.NewGauge("roko_phc2sys_port_state",
		"With -a: the daemon's port states as phc2sys last saw them, 1 for the current one.", "port", "interface", "state")
	descUTCOffset = prom.NewGauge("roko_phc2sys_utc_offset_seconds",
		"The daemon's currentUtcOffset (TIME_PROPERTIES_DATA_SET) as phc2sys last read it (-a, -w).")
	descTimescale = prom.NewGauge("roko_phc2sys_ptp_timescale",
		"Whether the daemon's grandmaster keeps the PTP timescale (TAI, 1) or an arbitrary one (0); with the UTC offset it decides the offset between a PHC and CLOCK_REALTIME.")

	// metricsDescs are the families phc2sys exports, for the tests that
	// hold dist/ to them.
	metricsDescs = []*prom.Desc{descOffset, descAbsOffset, descFreq, descServo, descDelay, descSteps, descSamples,
		descErrors, descAge, descPortState, descUTCOffset, descTimescale}
)

// absOffsetBuckets are roko_phc2sys_abs_offset_seconds's upper bounds.
var absOffsetBuckets = [...]float64{10e-9, 100e-9, 500e-9, 1e-6, 10e-6, 100e-6, 1e-3}

// epoch is what the loop's sample times count from, on the monotonic
// clock.
var epoch = time.Now()

// SinkMetrics is one time sink's figures under one source. Record and
// Failed are for the one goroutine that steers the sink; the scrape reads
// concurrently. A nil *SinkMetrics records nothing.
type SinkMetrics struct {
	source, sink string

	seq                    atomic.Uint64 // odd while Record writes
	offset, delay          atomic.Int64
	freq                   atomic.Uint64 // float64 bits, ppb
	state                  atomic.Uint32
	at                     atomic.Int64 // time since epoch of the last sample, ns
	samples, steps, errors atomic.Uint64
	buckets                [len(absOffsetBuckets) + 1]atomic.Uint64 // the last: +Inf
	absSum                 atomic.Uint64                            // float64 bits, seconds
}

// Record takes one sample. It allocates nothing.
func (m *SinkMetrics) Record(s Sample) {
	if m == nil {
		return
	}
	m.seq.Add(1)
	m.offset.Store(s.Offset)
	m.delay.Store(s.Delay)
	m.freq.Store(math.Float64bits(s.PPB))
	m.state.Store(uint32(s.State))
	m.at.Store(int64(time.Since(epoch)))
	m.samples.Add(1)
	if s.State == servo.Jump {
		m.steps.Add(1)
	}
	abs := math.Abs(float64(s.Offset)) * 1e-9
	i := 0
	for i < len(absOffsetBuckets) && abs > absOffsetBuckets[i] {
		i++
	}
	m.buckets[i].Add(1)
	m.absSum.Store(math.Float64bits(math.Float64frombits(m.absSum.Load()) + abs))
	m.seq.Add(1)
}

// Failed counts an update that failed.
func (m *SinkMetrics) Failed() {
	if m != nil {
		m.errors.Add(1)
	}
}

// sinkValues is what a scrape read of a SinkMetrics.
type sinkValues struct {
	offset, delay          int64
	freq, absSum           float64
	state                  uint32
	at                     int64
	samples, steps, errors uint64
	buckets                [len(absOffsetBuckets) + 1]uint64
}

// read returns the figures of one sample: it reads again while the loop
// is writing (some 100 ns a sample), yielding to it; after a thousand
// tries, against a loop that writes without pause, it takes what it read.
func (m *SinkMetrics) read() sinkValues {
	var v sinkValues
	for try := 0; ; try++ {
		s1 := m.seq.Load()
		v.offset, v.delay = m.offset.Load(), m.delay.Load()
		v.freq, v.state, v.at = math.Float64frombits(m.freq.Load()), m.state.Load(), m.at.Load()
		v.samples, v.steps, v.errors = m.samples.Load(), m.steps.Load(), m.errors.Load()
		for i := range m.buckets {
			v.buckets[i] = m.buckets[i].Load()
		}
		v.absSum = math.Float64frombits(m.absSum.Load())
		if (s1&1 == 0 && m.seq.Load() == s1) || try == 1000 {
			return v
		}
		runtime.Gosched()
	}
}

// Metrics is phc2sys's metrics: the sinks it steers now and, with -a or
// -w, the daemon as it sees it. Sink, SetActive and SetDaemon are for the
// loop, which calls them when its plan changes, not per sample; Collect is
// for scrapes. A nil *Metrics does nothing.
type Metrics struct {
	all    map[[2]string]*SinkMetrics // the loop's: every pair since start
	active atomic.Pointer[[]*SinkMetrics]
	daemon atomic.Pointer[daemonView]
}

// daemonView is the daemon's state as the loop last published it, its
// label values formatted once.
type daemonView struct {
	ports  []portView
	tp     ptp.TimePropertiesDataSet
	tpRead bool
}

type portView struct {
	number, name string
	state        ptp.PortState
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{all: map[[2]string]*SinkMetrics{}}
}

// Sink returns the figures of sink under source: the same as before when
// the pair was seen before, so that its counters carry on.
func (m *Metrics) Sink(source, sink string) *SinkMetrics {
	if m == nil {
		return nil
	}
	k := [2]string{source, sink}
	s := m.all[k]
	if s == nil {
		s = &SinkMetrics{source: source, sink: sink}
		m.all[k] = s
	}
	return s
}

// SetActive makes sinks the ones scrapes report.
func (m *Metrics) SetActive(sinks ...*SinkMetrics) {
	if m == nil {
		return
	}
	m.active.Store(&sinks)
}

// SetDaemon publishes the daemon's ports (nil when unknown: without -a)
// and time properties (tpRead false: not read).
func (m *Metrics) SetDaemon(ports []AutoPort, tp ptp.TimePropertiesDataSet, tpRead bool) {
	if m == nil {
		return
	}
	v := &daemonView{tp: tp, tpRead: tpRead, ports: make([]portView, len(ports))}
	for i, p := range ports {
		v.ports[i] = portView{number: strconv.Itoa(int(p.Number)), name: p.Interface, state: p.State}
	}
	m.daemon.Store(v)
}

// autoPortStates are the states roko_phc2sys_port_state enumerates, as
// roko-ptpd's roko_ptp_port_state.
var autoPortStates = []ptp.PortState{ptp.PortStateInitializing, ptp.PortStateFaulty, ptp.PortStateDisabled,
	ptp.PortStateListening, ptp.PortStatePreMaster, ptp.PortStateMaster, ptp.PortStatePassive,
	ptp.PortStateUncalibrated, ptp.PortStateSlave}

// Collect gives a scrape the series. It runs on the scraping goroutine.
func (m *Metrics) Collect(s *prom.Sink) {
	if m == nil {
		return
	}
	now := int64(time.Since(epoch))
	if p := m.active.Load(); p != nil {
		for _, sm := range *p {
			v := sm.read()
			src, snk := sm.source, sm.sink
			s.Counter(descSamples, v.samples, src, snk)
			s.Counter(descErrors, v.errors, src, snk)
			if v.samples == 0 {
				continue // no figures yet
			}
			s.Gauge(descOffset, float64(v.offset)*1e-9, src, snk)
			s.Histogram(descAbsOffset, v.buckets[:], v.absSum, src, snk)
			s.Gauge(descFreq, v.freq*1e-9, src, snk)
			s.Gauge(descServo, float64(v.state), src, snk)
			if v.delay != PPSNoDelay {
				s.Gauge(descDelay, float64(v.delay)*1e-9, src, snk)
			}
			s.Counter(descSteps, v.steps, src, snk)
			s.Gauge(descAge, float64(now-v.at)*1e-9, src, snk)
		}
	}
	d := m.daemon.Load()
	if d == nil {
		return
	}
	for _, p := range d.ports {
		for _, st := range autoPortStates {
			s.Gauge(descPortState, b2f(p.state == st), p.number, p.name, st.String())
		}
	}
	if d.tpRead {
		s.Gauge(descUTCOffset, float64(d.tp.CurrentUTCOffset))
		s.Gauge(descTimescale, b2f(d.tp.Flags&ptp.TimePropertiesPTPTimescale != 0))
	}
}

// Serve serves the metrics, and process_cpu_seconds_total, at addr
// (roko-phc2sys --metrics_address).
func (m *Metrics) Serve(addr string, logf Logf) (*prom.Server, error) {
	srv, err := prom.Serve(addr, prom.NewGatherer(func(s *prom.Sink) {
		m.Collect(s)
		prom.ProcessCPU(s)
	}), func(err error) { logf(3, "metrics: %v", err) })
	if err != nil {
		return nil, err
	}
	logf(6, "serving metrics on http://%s/metrics", srv.Addr())
	return srv, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
