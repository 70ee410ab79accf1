// Package prom serves the daemons' Prometheus metrics: GET /metrics in
// the exposition formats client_golang's promhttp negotiates, from a
// collect function that reads what the daemon last published.
//
// It is built for a daemon whose loop must never wait on a scrape and a
// scrape that should cost the host next to nothing: the collect function
// runs on the scraping goroutine and reads only snapshots or atomics the
// loop published, never the loop itself; and a scrape reuses the metric
// families of the one before (Gatherer, a prometheus.TransactionalGatherer),
// rebuilding them only when the set of series changes, so that in the
// steady state a scrape allocates little beyond what net/http and the
// encoder need. It never formats the exposition itself (expfmt does) and
// never starts a goroutine of its own beyond the HTTP server's.
package prom

import (
	"cmp"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Desc describes a metric family: its name, help, type and label names.
// Descs are made once, at package initialisation; a Sink compares them by
// pointer.
type Desc struct {
	name, help string
	typ        dto.MetricType
	labels     []string
	// buckets are a histogram's upper bounds, ascending, +Inf left out.
	buckets []float64
}

// NewGauge describes a gauge family.
func NewGauge(name, help string, labels ...string) *Desc {
	return &Desc{name: name, help: help, typ: dto.MetricType_GAUGE, labels: labels}
}

// NewCounter describes a counter family; its name ends in _total.
func NewCounter(name, help string, labels ...string) *Desc {
	return &Desc{name: name, help: help, typ: dto.MetricType_COUNTER, labels: labels}
}

// NewHistogram describes a histogram family with the given upper bounds
// (ascending; the +Inf bucket is implied).
func NewHistogram(name, help string, buckets []float64, labels ...string) *Desc {
	return &Desc{name: name, help: help, typ: dto.MetricType_HISTOGRAM, labels: labels, buckets: buckets}
}

// Name returns the family's name.
func (d *Desc) Name() string { return d.name }

// Buckets returns a histogram's upper bounds, +Inf left out.
func (d *Desc) Buckets() []float64 { return d.buckets }

// series is one time series of a scrape, built once and then only given
// new values: its dto.Metric points at val (or at the histogram's fields)
// and at label pairs made from labelValues.
type series struct {
	desc        *Desc
	labelValues []string
	m           dto.Metric
	val         float64
	gauge       dto.Gauge
	counter     dto.Counter
	hist        dto.Histogram
	count       uint64
	sum         float64
	cumulative  []uint64
}

// Sink takes one scrape's series from a collect function, in the same
// order at every scrape. After the first scrape a call only stores its
// value in the series made for it; a call that does not match the series
// at its place (another family, other label values: a new grandmaster, a
// port that came) makes the Gatherer collect again and build the families
// anew.
type Sink struct {
	series   []*series
	fams     []*dto.MetricFamily
	next     int  // the series the next call fills
	building bool // making series instead of filling them
	mismatch bool // a call did not match its series
	// release gives the Sink back to its Gatherer: made once, so that a
	// scrape does not allocate the closure.
	release func()
}

func (s *Sink) begin(building bool) {
	s.next, s.building, s.mismatch = 0, building, false
	if building {
		s.series = s.series[:0]
	}
}

// at returns the series for a call with d and labelValues, or nil when
// the call does not match (the scrape is then collected again, building).
func (s *Sink) at(d *Desc, labelValues []string) *series {
	if s.mismatch {
		return nil
	}
	if s.building {
		if len(labelValues) != len(d.labels) {
			panic("prom: " + d.name + ": wrong number of label values") // a programming error, caught by the tests
		}
		sr := &series{desc: d, labelValues: slices.Clone(labelValues)}
		s.series = append(s.series, sr)
		return sr
	}
	if s.next < len(s.series) {
		sr := s.series[s.next]
		if sr.desc == d && slices.Equal(sr.labelValues, labelValues) {
			s.next++
			return sr
		}
	}
	s.mismatch = true
	return nil
}

// Gauge sets a gauge's value.
func (s *Sink) Gauge(d *Desc, v float64, labelValues ...string) {
	if sr := s.at(d, labelValues); sr != nil {
		sr.val = v
	}
}

// Counter sets a counter's value.
func (s *Sink) Counter(d *Desc, v uint64, labelValues ...string) {
	if sr := s.at(d, labelValues); sr != nil {
		sr.val = float64(v)
	}
}

// Histogram sets a histogram from per-bucket (not cumulative) counts, one
// per upper bound and a last one for +Inf, and the sum of the
// observations. The count is the sum of the buckets, so that it always
// equals the +Inf bucket.
func (s *Sink) Histogram(d *Desc, buckets []uint64, sum float64, labelValues ...string) {
	sr := s.at(d, labelValues)
	if sr == nil {
		return
	}
	if sr.cumulative == nil {
		sr.cumulative = make([]uint64, len(d.buckets))
	}
	var n uint64
	for i := range sr.cumulative {
		if i < len(buckets) {
			n += buckets[i]
		}
		sr.cumulative[i] = n
	}
	if len(buckets) > len(d.buckets) {
		n += buckets[len(d.buckets)]
	}
	sr.count, sr.sum = n, sum
}

// build makes the metric families from the series the build collected:
// families by name, series by label values, as the registry orders them.
func (s *Sink) build() {
	byDesc := map[*Desc]*dto.MetricFamily{}
	s.fams = s.fams[:0]
	for _, sr := range s.series {
		d := sr.desc
		f := byDesc[d]
		if f == nil {
			f = &dto.MetricFamily{Name: &d.name, Help: &d.help, Type: d.typ.Enum()}
			byDesc[d] = f
			s.fams = append(s.fams, f)
		}
		sr.m.Label = make([]*dto.LabelPair, len(d.labels))
		for i := range d.labels {
			sr.m.Label[i] = &dto.LabelPair{Name: &d.labels[i], Value: &sr.labelValues[i]}
		}
		slices.SortFunc(sr.m.Label, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
		switch d.typ {
		case dto.MetricType_GAUGE:
			sr.gauge.Value = &sr.val
			sr.m.Gauge = &sr.gauge
		case dto.MetricType_COUNTER:
			sr.counter.Value = &sr.val
			sr.m.Counter = &sr.counter
		case dto.MetricType_HISTOGRAM:
			sr.hist.SampleCount, sr.hist.SampleSum = &sr.count, &sr.sum
			if sr.cumulative == nil {
				sr.cumulative = make([]uint64, len(d.buckets))
			}
			sr.hist.Bucket = make([]*dto.Bucket, len(d.buckets))
			for i := range d.buckets {
				sr.hist.Bucket[i] = &dto.Bucket{UpperBound: &d.buckets[i], CumulativeCount: &sr.cumulative[i]}
			}
			sr.m.Histogram = &sr.hist
		}
		f.Metric = append(f.Metric, &sr.m)
	}
	slices.SortFunc(s.fams, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	for _, f := range s.fams {
		slices.SortStableFunc(f.Metric, func(a, b *dto.Metric) int {
			for i := range min(len(a.Label), len(b.Label)) {
				if c := cmp.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
					return c
				}
			}
			return 0
		})
	}
}

// Gatherer is a prometheus.TransactionalGatherer over a collect function.
// Each scrape takes a Sink from a free list (a new one only when scrapes
// overlap) and gives it back when promhttp has encoded it, so the metric
// families a scrape returns are its own until then.
type Gatherer struct {
	collect func(*Sink)
	mu      sync.Mutex
	free    []*Sink
}

// NewGatherer returns a Gatherer over collect, which must make the same
// calls in the same order for as long as the series stay the same.
func NewGatherer(collect func(*Sink)) *Gatherer {
	return &Gatherer{collect: collect}
}

// Gather implements prometheus.TransactionalGatherer: it collects into a
// Sink, again and building when the series changed, and returns its
// families and the function that frees it.
func (g *Gatherer) Gather() ([]*dto.MetricFamily, func(), error) {
	g.mu.Lock()
	var s *Sink
	if n := len(g.free); n > 0 {
		s, g.free = g.free[n-1], g.free[:n-1]
	} else {
		s = &Sink{}
		s.release = func() {
			g.mu.Lock()
			g.free = append(g.free, s)
			g.mu.Unlock()
		}
	}
	g.mu.Unlock()
	built := len(s.fams) > 0 || len(s.series) > 0
	if built {
		s.begin(false)
		g.collect(s)
	}
	if !built || s.mismatch || s.next != len(s.series) {
		s.begin(true)
		g.collect(s)
		s.build()
	}
	return s.fams, s.release, nil
}

// Check gathers once and checks the families as client_golang's registry
// checks what its collectors give (valid names, sorted labels, no
// duplicate series, the right type for each family), for tests.
func (g *Gatherer) Check() error {
	fams, done, err := g.Gather()
	defer done()
	if err != nil {
		return err
	}
	_, err = prometheus.Gatherers{prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil })}.Gather()
	return err
}
