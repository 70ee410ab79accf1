package phc2sys

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/mgmt/mgmttest"
	"github.com/roko-network/roko-ptpd/internal/prom"
	"github.com/roko-network/roko-ptpd/internal/prom/promtest"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/servo"
)

// scrape GETs url with c and parses the exposition.
func scrape(t *testing.T, c *http.Client, url string) map[string]*dto.MetricFamily {
	return promtest.Scrape(t, c, url)
}

// value returns the value of the family's series whose labels include
// want ("name=value" pairs) (a histogram's count), and whether there is
// one.
var value = promtest.Value

// standIn is a daemon's management socket that reports one port, eth0,
// in state, a grandmaster on TAI 37 s ahead of UTC, and refuses the
// subscription (phc2sys -a then asks every second).
func standIn(t *testing.T, state *ptp.PortState, mu *sync.Mutex) string {
	return mgmttest.Daemon(t, func(req *ptp.Management, id ptp.ManagementID, _ []byte) (ptp.ManagementData, bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case req.ActionField == ptp.ActionGet && id == ptp.MIDPortPropertiesNP:
			return &ptp.PortPropertiesNP{PortIdentity: mgmttest.Responder, PortState: *state,
				Timestamping: ptp.TimestampingHardware, Interface: "eth0"}, true
		case req.ActionField == ptp.ActionGet && id == ptp.MIDTimePropertiesDataSet:
			return &ptp.TimePropertiesDataSet{CurrentUTCOffset: 37, Flags: ptp.TimePropertiesPTPTimescale | ptp.TimePropertiesCurrentUTCOffsetValid}, true
		}
		return nil, true
	})
}

// TestMetricsAuto: roko-phc2sys -a -r with metrics, against a stand-in
// daemon whose port eth0 is SLAVE: CLOCK_REALTIME (a virtual clock)
// follows the port's (virtual) PHC 37 s behind it, and a scrape over HTTP
// has every family with a sane value: the sink's offset within 20 µs once
// locked, one step (the 37 s), samples that go on increasing, the port's
// state and the UTC offset as phc2sys saw them. When the port leaves
// SLAVE, the sink's series go.
func TestMetricsAuto(t *testing.T) {
	var mu sync.Mutex
	state := ptp.PortStateSlave
	uds := standIn(t, &state, &mu)
	port, err := phc.NewVirtual(phc.VirtualConfig{Name: "eth0", Offset: 2 * time.Millisecond, FrequencyError: 30_000})
	require.NoError(t, err)
	realtime, err := phc.NewVirtual(phc.VirtualConfig{Name: "realtime", Offset: -3 * time.Millisecond, FrequencyError: -20_000})
	require.NoError(t, err)
	var log logLines
	met := NewMetrics()
	srv, err := met.Serve("127.0.0.1:0", log.logf)
	require.NoError(t, err)
	defer srv.Close()
	a := &Auto{Realtime: realtime, RealtimeTarget: true, Readings: 5, Logf: log.logf, Metrics: met,
		Redial:  func() (*mgmt.Client, error) { return mgmt.Dial(uds, 0) },
		Resolve: func(AutoPort) (phc.Clock, error) { return port, nil },
		NewServo: func(target phc.Clock) (servo.Servo, error) {
			cfg := servo.DefaultConfig()
			cfg.MaxFrequency = target.MaxFrequency()
			s := servo.NewLinReg(cfg, 0)
			s.SetSyncInterval(1.0 / 32)
			return s, nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); assert.NoError(t, a.Run(ctx, 32)) }()
	defer func() {
		cancel()
		<-done
		if a.Client != nil {
			a.Client.Close()
		}
		if t.Failed() {
			t.Logf("roko-phc2sys -a log:\n%s", log.String())
		}
	}()

	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + srv.Addr().String() + "/metrics"
	sink := []string{"source=eth0", "sink=CLOCK_REALTIME"}
	var fams map[string]*dto.MetricFamily
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		require.Less(t, time.Since(start), 20*time.Second, "CLOCK_REALTIME not locked within 20 µs in the metrics")
		fams = scrape(t, c, url)
		off, ok := value(fams, "roko_phc2sys_offset_seconds", sink...)
		st, _ := value(fams, "roko_phc2sys_servo_state", sink...)
		if ok && st >= 2 && math.Abs(off) < 20e-6 {
			break
		}
	}
	for _, tc := range []struct {
		name   string
		labels []string
		ok     func(v float64) bool
	}{
		{"roko_phc2sys_offset_seconds", sink, within(-20e-6, 20e-6)},
		// 50 ppm between the clocks: the servo's estimate is near it.
		{"roko_phc2sys_frequency_adjustment_ratio", sink, within(30e-6, 70e-6)},
		{"roko_phc2sys_servo_state", sink, within(2, 3)},
		{"roko_phc2sys_clock_steps_total", sink, eq(1)},
		{"roko_phc2sys_measurement_delay_seconds", sink, within(0, 1e-3)},
		{"roko_phc2sys_samples_total", sink, within(3, math.Inf(1))},
		{"roko_phc2sys_abs_offset_seconds", sink, within(3, math.Inf(1))},
		{"roko_phc2sys_measurement_errors_total", sink, eq(0)},
		{"roko_phc2sys_last_sample_age_seconds", sink, within(0, 1)},
		{"roko_phc2sys_port_state", []string{"port=1", "interface=eth0", "state=SLAVE"}, eq(1)},
		{"roko_phc2sys_port_state", []string{"port=1", "interface=eth0", "state=MASTER"}, eq(0)},
		{"roko_phc2sys_utc_offset_seconds", nil, eq(37)},
		{"roko_phc2sys_ptp_timescale", nil, eq(1)},
		{"process_cpu_seconds_total", nil, within(0, math.Inf(1))},
	} {
		t.Run(tc.name+"{"+strings.Join(tc.labels, ",")+"}", func(t *testing.T) {
			v, ok := value(fams, tc.name, tc.labels...)
			require.True(t, ok, "no such series")
			assert.True(t, tc.ok(v), "value %g", v)
		})
	}
	// The histogram counts every sample, the 37 s one in +Inf.
	h := fams["roko_phc2sys_abs_offset_seconds"].GetMetric()[0].GetHistogram()
	n, _ := value(fams, "roko_phc2sys_samples_total", sink...)
	assert.Equal(t, n, float64(h.GetSampleCount()))
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == 1e-3 {
			assert.Less(t, b.GetCumulativeCount(), h.GetSampleCount(), "the step's sample is above 1 ms")
		}
	}
	assert.Greater(t, h.GetSampleSum(), 36.0)

	time.Sleep(300 * time.Millisecond)
	later := scrape(t, c, url)
	m, _ := value(later, "roko_phc2sys_samples_total", sink...)
	assert.Greater(t, m, n, "samples go on")

	// The port goes LISTENING: nothing to synchronise, the sink's series
	// go, the port's state shows.
	mu.Lock()
	state = ptp.PortStateListening
	mu.Unlock()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		require.Less(t, time.Since(start), 10*time.Second, "the port's LISTENING not in the metrics")
		fams = scrape(t, c, url)
		if v, _ := value(fams, "roko_phc2sys_port_state", "state=LISTENING"); v == 1 {
			break
		}
	}
	_, ok := value(fams, "roko_phc2sys_offset_seconds", sink...)
	assert.False(t, ok, "no sink, no offset")
}

// TestMetricsCheck: the families pass the registry's checks with a sink,
// a PPS sink (no delay) and the daemon's state.
func TestMetricsCheck(t *testing.T) {
	m := NewMetrics()
	a, p := m.Sink("eth0", "CLOCK_REALTIME"), m.Sink("/dev/pps0", "CLOCK_REALTIME")
	m.SetActive(a, p)
	a.Record(Sample{Offset: -40, Delay: 900, State: servo.Locked, PPB: 12})
	p.Record(Sample{Offset: 700, Delay: PPSNoDelay, State: servo.Jump})
	p.Failed()
	m.SetDaemon([]AutoPort{{Number: 1, Interface: "eth0", State: ptp.PortStateSlave}}, ptp.TimePropertiesDataSet{CurrentUTCOffset: 37}, true)
	g := prom.NewGatherer(m.Collect)
	require.NoError(t, g.Check())
	fams, done, err := g.Gather()
	require.NoError(t, err)
	defer done()
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	for _, d := range metricsDescs {
		assert.Contains(t, byName, d.Name())
	}
	assert.Len(t, byName["roko_phc2sys_measurement_delay_seconds"].GetMetric(), 1, "none for the PPS sink")
	v, _ := value(byName, "roko_phc2sys_abs_offset_seconds", "source=/dev/pps0")
	assert.Equal(t, 1.0, v)
	h := byName["roko_phc2sys_abs_offset_seconds"].GetMetric()
	for _, m := range h {
		for i, b := range m.GetHistogram().GetBucket() {
			// 40 ns is in every bucket from 100 ns; 700 ns from 1 µs.
			if strings.Contains(fmt.Sprint(m.GetLabel()), "pps0") {
				assert.Equal(t, uint64(b2f(b.GetUpperBound() >= 1e-6)), b.GetCumulativeCount(), "pps bucket %d", i)
			} else {
				assert.Equal(t, uint64(b2f(b.GetUpperBound() >= 100e-9)), b.GetCumulativeCount(), "bucket %d", i)
			}
		}
	}
}

// TestRecordConsistent: a scrape reading while the loop records sees the
// figures of one sample (run with -race).
func TestRecordConsistent(t *testing.T) {
	m := &SinkMetrics{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m.Record(Sample{Offset: i, Delay: i, PPB: float64(i)})
			// The loop records a sample at most a few hundred times a
			// second; a writer that never paused would have the reader
			// give up on it.
			time.Sleep(time.Microsecond)
		}
	})
	torn, changed := 0, 0
	last := int64(-1)
	for m.samples.Load() < 300 {
		v := m.read()
		if v.offset != v.delay || float64(v.offset) != v.freq {
			torn++
		}
		if v.offset != last {
			changed++
			last = v.offset
		}
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, torn, "torn reads")
	assert.Greater(t, changed, 10, "the reads saw the writer's samples")
}

// TestRecordAllocatesNothing: the per-sample path with metrics on.
func TestRecordAllocatesNothing(t *testing.T) {
	s := newBenchSyncer(true)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := s.Update(); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	assert.Equal(t, uint64(1001), s.Metrics.samples.Load())
}

// newBenchSyncer is BenchmarkUpdate's syncer, with metrics or without.
func newBenchSyncer(metrics bool) *Syncer {
	src, _ := phc.NewVirtual(phc.VirtualConfig{})
	dst, _ := phc.NewVirtual(phc.VirtualConfig{Offset: time.Microsecond})
	sv := servo.NewLinReg(servo.DefaultConfig(), 0)
	s := &Syncer{Source: src, Target: dst, Servo: sv, Readings: 5}
	if metrics {
		m := NewMetrics()
		s.Metrics = m.Sink("src", "dst")
		m.SetActive(s.Metrics)
	}
	return s
}

// BenchmarkUpdate: one update (measure, servo, steer) of a virtual clock,
// with and without metrics.
func BenchmarkUpdate(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			s := newBenchSyncer(on)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Update(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecord: what metrics add to a sample.
func BenchmarkRecord(b *testing.B) {
	m := &SinkMetrics{}
	smp := Sample{Offset: -40, Delay: 900, State: servo.Locked, PPB: 12}
	b.ReportAllocs()
	for b.Loop() {
		m.Record(smp)
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

func within(lo, hi float64) func(float64) bool {
	return func(v float64) bool { return v >= lo && v <= hi }
}
