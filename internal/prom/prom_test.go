package prom

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	tGauge   = NewGauge("t_offset_seconds", "An offset.")
	tInfo    = NewGauge("t_parent_info", "The parent.", "parent", "port")
	tCounter = NewCounter("t_messages_total", "Messages.", "type")
	tHist    = NewHistogram("t_abs_offset_seconds", "|offset|.", []float64{1e-7, 1e-6}, "sink")
)

// state is what a test's collect function reads, as a daemon's collect
// reads its loop's snapshot.
type state struct {
	mu     sync.Mutex
	offset float64
	parent string
	types  []string
	n      uint64
	hist   []uint64
}

func (st *state) collect(s *Sink) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.Gauge(tGauge, st.offset)
	s.Gauge(tInfo, 1, st.parent, "1")
	for _, t := range st.types {
		s.Counter(tCounter, st.n, t)
	}
	if st.hist != nil {
		s.Histogram(tHist, st.hist, 3e-7, "CLOCK_REALTIME")
	}
	ProcessCPU(s)
}

// text gathers g once, checks the families as the registry checks its
// collectors' (Gatherers: names, label order, duplicates) and returns the
// text exposition.
func text(t *testing.T, g *Gatherer) string {
	t.Helper()
	require.NoError(t, g.Check())
	fams, done, err := g.Gather()
	require.NoError(t, err)
	defer done()
	var b bytes.Buffer
	for _, f := range fams {
		_, err := expfmt.MetricFamilyToText(&b, f)
		require.NoError(t, err)
	}
	return b.String()
}

// TestGatherer: the families a Gatherer makes, through the changes a
// daemon's series go through: values only (the fast path), a label value
// that changes (a new parent), a series that comes and one that goes.
func TestGatherer(t *testing.T) {
	st := &state{offset: 12e-9, parent: "aa", types: []string{"SYNC", "ANNOUNCE"}, n: 5}
	g := NewGatherer(st.collect)
	for _, tc := range []struct {
		name   string
		change func()
		want   []string
		absent []string
	}{
		{"first", func() {}, []string{
			"# TYPE t_offset_seconds gauge\nt_offset_seconds 1.2e-08\n",
			"t_parent_info{parent=\"aa\",port=\"1\"} 1\n",
			// By label value, as the registry orders them.
			"t_messages_total{type=\"ANNOUNCE\"} 5\nt_messages_total{type=\"SYNC\"} 5\n",
			"# TYPE process_cpu_seconds_total counter\n",
		}, []string{"t_abs_offset_seconds"}},
		{"values", func() { st.offset, st.n = -3e-9, 6 }, []string{
			"t_offset_seconds -3e-09\n", "t_messages_total{type=\"SYNC\"} 6\n",
		}, nil},
		{"new parent", func() { st.parent = "bb" }, []string{"t_parent_info{parent=\"bb\",port=\"1\"} 1\n"}, []string{"parent=\"aa\""}},
		{"a series comes", func() { st.types = append(st.types, "FOLLOW_UP") }, []string{"t_messages_total{type=\"FOLLOW_UP\"} 6\n"}, nil},
		{"a series goes", func() { st.types = st.types[:1] }, []string{"t_messages_total{type=\"SYNC\"} 6\n"}, []string{"ANNOUNCE", "FOLLOW_UP"}},
		{"histogram", func() { st.hist = []uint64{4, 2, 1} }, []string{
			"t_abs_offset_seconds_bucket{sink=\"CLOCK_REALTIME\",le=\"1e-07\"} 4\n",
			"t_abs_offset_seconds_bucket{sink=\"CLOCK_REALTIME\",le=\"1e-06\"} 6\n",
			"t_abs_offset_seconds_bucket{sink=\"CLOCK_REALTIME\",le=\"+Inf\"} 7\n",
			"t_abs_offset_seconds_sum{sink=\"CLOCK_REALTIME\"} 3e-07\n",
			"t_abs_offset_seconds_count{sink=\"CLOCK_REALTIME\"} 7\n",
		}, nil},
		{"histogram values", func() { st.hist = []uint64{5, 2, 1} }, []string{
			"t_abs_offset_seconds_bucket{sink=\"CLOCK_REALTIME\",le=\"+Inf\"} 8\n",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st.mu.Lock()
			tc.change()
			st.mu.Unlock()
			out := text(t, g)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			for _, a := range tc.absent {
				assert.NotContains(t, out, a)
			}
		})
	}
}

// TestGatherFastPathAllocatesNothing: once built, a scrape whose series
// are the same only stores values.
func TestGatherFastPathAllocatesNothing(t *testing.T) {
	st := &state{parent: "aa", types: []string{"SYNC", "ANNOUNCE"}, hist: []uint64{1, 2, 3}}
	g := NewGatherer(st.collect)
	_, done, _ := g.Gather()
	done()
	allocs := testing.AllocsPerRun(100, func() {
		st.offset++
		_, done, _ := g.Gather()
		done()
	})
	assert.Zero(t, allocs)
}

// TestGatherConcurrent: overlapping scrapes each get families of their
// own (run with -race), with consistent values.
func TestGatherConcurrent(t *testing.T) {
	st := &state{parent: "aa", types: []string{"SYNC"}}
	g := NewGatherer(st.collect)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				st.mu.Lock()
				st.n = uint64(i*1000 + j + 1)
				st.mu.Unlock()
				fams, done, err := g.Gather()
				if err != nil {
					bad.Add(1)
				}
				for _, f := range fams {
					if v := f.Metric[0].GetCounter().GetValue(); f.GetName() == "t_messages_total" && (v < 1 || v >= 8000) {
						bad.Add(1)
					}
				}
				done()
			}
		})
	}
	wg.Wait()
	assert.Zero(t, bad.Load())
	assert.LessOrEqual(t, len(g.free), 8, "a Sink per overlapping scrape, kept")
}

// TestServe: GET /metrics over HTTP in the text format; Close stops it.
func TestServe(t *testing.T) {
	st := &state{offset: 1, parent: "aa", types: []string{"SYNC"}}
	var errs []error
	s, err := Serve("127.0.0.1:0", NewGatherer(st.collect), func(err error) { errs = append(errs, err) })
	require.NoError(t, err)
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + s.Addr().String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), "t_offset_seconds 1\n")
	assert.Contains(t, string(body), "process_cpu_seconds_total ")
	s.Close()
	_, err = c.Get("http://" + s.Addr().String() + "/metrics")
	assert.Error(t, err)
	assert.Empty(t, errs)

	_, err = Serve(s.Addr().String()+"x", NewGatherer(st.collect), nil)
	assert.Error(t, err)
}

// TestWrongLabelCount: a collect function that passes the wrong number
// of label values is a programming error the first scrape finds.
func TestWrongLabelCount(t *testing.T) {
	g := NewGatherer(func(s *Sink) { s.Gauge(tInfo, 1, "only one") })
	assert.PanicsWithValue(t, "prom: t_parent_info: wrong number of label values", func() { _, _, _ = g.Gather() })
}

// TestCheck: Check finds what the registry would refuse.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		collect func(*Sink)
		err     string
	}{
		{"duplicate series", func(s *Sink) { s.Counter(tCounter, 1, "SYNC"); s.Counter(tCounter, 2, "SYNC") }, "was collected before with the same name and label values"},
		{"label value not UTF-8", func(s *Sink) { s.Counter(tCounter, 1, "\xff") }, "whose value is not utf8"},
		{"fine", func(s *Sink) { s.Counter(tCounter, 1, "SYNC"); s.Counter(tCounter, 2, "ANNOUNCE") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewGatherer(tc.collect).Check()
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.err)
		})
	}
}
