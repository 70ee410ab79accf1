package main

import (
	"bufio"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/prom/promtest"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
)

// TestMetrics: roko-phc2sys --metrics_address keeps one emulated PHC on
// another (opened by their state files, as it opens /dev/ptpN), and a
// scrape over HTTP has each family with a sane value once it has locked:
// the offset within 2 µs, as the clocks' true errors say too, one step,
// samples that go on increasing, the process's CPU time.
func TestMetrics(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	mk := func(name string, off time.Duration, ppb float64) *phc.Emulated {
		cfg := phc.DefaultEmulatedConfig()
		cfg.Offset, cfg.FrequencyError = off, ppb
		e, err := phc.CreateEmulated(filepath.Join(dir, name), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		return e
	}
	src, dst := mk("ptp0", 0, 20_000), mk("ptp1", 3*time.Millisecond, -30_000)
	// Two PHCs: nothing that needs a privilege, nothing of the host's
	// touched.
	cmd := exec.Command(bin, "-s", src.Path(), "-c", dst.Path(), "-R", "16", "-E", "linreg", "-m", "-q",
		"--metrics_address=127.0.0.1:0")
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("roko-phc2sys's stderr:\n%s", stderr.String())
		}
	})

	// The address comes in the first lines; the rest is read on so that
	// the pipe never fills.
	lines := bufio.NewScanner(out)
	addr := regexp.MustCompile(`serving metrics on (http://\S+/metrics)`)
	var url string
	for url == "" && lines.Scan() {
		if m := addr.FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	require.NotEmpty(t, url, "no 'serving metrics on' line")
	go func() {
		for lines.Scan() {
		}
	}()

	c := &http.Client{Timeout: 5 * time.Second}
	get := func() map[string]*dto.MetricFamily { return promtest.Scrape(t, c, url) }
	labels := map[string]string{"source": src.Path(), "sink": dst.Path()}
	val := func(fams map[string]*dto.MetricFamily, name string) float64 {
		f := fams[name]
		require.NotNil(t, f, "no %s", name)
		require.Len(t, f.GetMetric(), 1, name)
		m := f.GetMetric()[0]
		for _, l := range m.GetLabel() {
			assert.Equal(t, labels[l.GetName()], l.GetValue(), "%s's label %s", name, l.GetName())
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
		return m.GetUntyped().GetValue()
	}
	var fams map[string]*dto.MetricFamily
	good := 0
	for start := time.Now(); good < 5; time.Sleep(100 * time.Millisecond) {
		require.Less(t, time.Since(start), 20*time.Second, "not locked within 2 µs in the metrics")
		fams = get()
		if fams["roko_phc2sys_servo_state"] == nil {
			continue
		}
		if val(fams, "roko_phc2sys_servo_state") >= 2 && math.Abs(val(fams, "roko_phc2sys_offset_seconds")) < 2e-6 {
			good++
		} else {
			good = 0
		}
	}
	e1, err := src.TrueError()
	require.NoError(t, err)
	e2, err := dst.TrueError()
	require.NoError(t, err)
	assert.InDelta(t, 0, float64(e2-e1), 5000, "the true errors agree with the metrics (%v, %v)", e1, e2)
	for _, tc := range []struct {
		name string
		ok   func(float64) bool
	}{
		{"roko_phc2sys_offset_seconds", func(v float64) bool { return math.Abs(v) < 2e-6 }},
		// 50 ppm between the oscillators.
		{"roko_phc2sys_frequency_adjustment_ratio", func(v float64) bool { return v > 40e-6 && v < 60e-6 }},
		{"roko_phc2sys_servo_state", func(v float64) bool { return v >= 2 && v <= 3 }},
		{"roko_phc2sys_clock_steps_total", func(v float64) bool { return v == 1 }},
		{"roko_phc2sys_measurement_delay_seconds", func(v float64) bool { return v > 0 && v < 1e-3 }},
		{"roko_phc2sys_samples_total", func(v float64) bool { return v >= 5 }},
		{"roko_phc2sys_abs_offset_seconds", func(v float64) bool { return v >= 5 }},
		{"roko_phc2sys_measurement_errors_total", func(v float64) bool { return v == 0 }},
		{"roko_phc2sys_last_sample_age_seconds", func(v float64) bool { return v >= 0 && v < 1 }},
		{"process_cpu_seconds_total", func(v float64) bool { return v > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := val(fams, tc.name)
			assert.True(t, tc.ok(v), "%s %g", tc.name, v)
		})
	}
	assert.Nil(t, fams["roko_phc2sys_port_state"], "no -a, no port states")
	assert.Nil(t, fams["roko_phc2sys_utc_offset_seconds"], "no -w, no UTC offset")
	n := val(fams, "roko_phc2sys_samples_total")
	time.Sleep(300 * time.Millisecond)
	assert.Greater(t, val(get(), "roko_phc2sys_samples_total"), n, "samples go on")
}
