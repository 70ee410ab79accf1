package ptpd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/phc2sys"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// The addresses the test's daemons serve metrics on, each in its own
// namespace, and the Prometheus server's, in the client's namespace.
const (
	promGM     = "198.18.0.1:9326"
	promClient = "198.18.0.2:9326"
	promListen = "127.0.0.1:9090"
)

// promFor is the `for:` every alerting rule gets in the test's copy of
// dist/prometheus/roko-ptpd.rules.yml. The file's own (15 s to 1 m) would
// make the test take minutes; the rules' expressions are the file's,
// unchanged, and promtool's unit tests (dist/prometheus) check the real
// durations.
const promFor = "2s"

// slewLimit is the client's virtual clock's max_adj in ppb, its servo's
// limit: a 20 µs step takes 20 s to slew out.
const slewLimit = 1000

// promRateInterval is what the test puts for Grafana's $__rate_interval:
// Grafana's max($__interval + scrape interval, 4 × scrape interval) with
// the test's 1 s scrape interval and a dashboard zoomed in.
const promRateInterval = "4s"

// promSample is one element of an instant vector from /api/v1/query.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// value is the sample's value (Prometheus sends it as a string).
func (s promSample) value() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// promAlert is an active alert from /api/v1/alerts.
type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"` // pending or firing
	Value  string            `json:"value"`
}

// promAPI reads a Prometheus server's HTTP API from inside a namespace.
type promAPI struct {
	c    *http.Client
	base string
}

// newPromAPI returns a client for the server at addr in ns: it dials
// each connection from a thread inside ns (net/http dials on goroutines
// of its own, which would be in the test's namespace).
func newPromAPI(t *testing.T, ns *netns.NS, addr string) *promAPI {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, a)
			return err
		})
		return c, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &promAPI{c: &http.Client{Timeout: 5 * time.Second, Transport: tr}, base: "http://" + addr}
}

// get GETs path with the query parameters and decodes the "data" of a
// successful response into data.
func (p *promAPI) get(path string, params url.Values, data any) error {
	resp, err := p.c.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %s: %w", path, b, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s %v: %s: %s", path, params, r.Status, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// query runs an instant query now and returns its vector.
func (p *promAPI) query(q string) ([]promSample, error) {
	var d struct {
		ResultType string       `json:"resultType"`
		Result     []promSample `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &d); err != nil {
		return nil, err
	}
	if d.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, not a vector", q, d.ResultType)
	}
	return d.Result, nil
}

// alerts returns the active (pending or firing) alerts.
func (p *promAPI) alerts() ([]promAlert, error) {
	var d struct {
		Alerts []promAlert `json:"alerts"`
	}
	err := p.get("/api/v1/alerts", nil, &d)
	return d.Alerts, err
}

// alertState is the state of the named alert for instance: "pending",
// "firing", or "" when it is not active.
func alertState(as []promAlert, name, instance string) string {
	state := ""
	for _, a := range as {
		if a.Labels["alertname"] == name && a.Labels["instance"] == instance {
			if state != "firing" {
				state = a.State
			}
		}
	}
	return state
}

// waitProm polls fn every 250 ms until it returns "", or fails the test
// with fn's last reason after limit.
func waitProm(t *testing.T, limit time.Duration, what string, fn func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		why := fn()
		if why == "" {
			return time.Since(start)
		}
		require.Less(t, time.Since(start), limit, "%s: not within %v: %s", what, limit, why)
		time.Sleep(250 * time.Millisecond)
	}
}

// startPhc2sysJob runs a [phc2sys] job (8 Hz, linreg) in d, keeping a
// virtual clock named realtime on d's clock, until the test ends.
func startPhc2sysJob(t *testing.T, d *Daemon) {
	t.Helper()
	c, err := config.Parse(strings.NewReader("[phc2sys]\nupdate_rate 8\nclock_servo linreg\n"), "phc2sys.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	set, err := c.Resolve()
	require.NoError(t, err)
	target := virtual(t, "realtime", -2*time.Millisecond, 20_000)
	out := &testenv.Buffer{}
	job, err := phc2sys.NewInDaemon(d, set.Phc2sys, target, func(_ int, f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); assert.NoError(t, job.Run(ctx)) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("phc2sys job:\n%s", out.String())
		}
	})
}

// startPrometheus runs Debian's prometheus in ns, scraping targets every
// second and evaluating the test's copy of the repository's alerting rules
// every second, until the test ends. It returns its API client.
func startPrometheus(t *testing.T, ns *netns.NS, targets ...string) *promAPI {
	t.Helper()
	bin := testenv.RequireCommand(t, "prometheus", "prometheus")
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join("..", "..", "dist", "prometheus", "roko-ptpd.rules.yml"))
	require.NoError(t, err)
	forLine := regexp.MustCompile(`(?m)^(\s+for:\s*)\S+\s*$`)
	require.Len(t, forLine.FindAll(rules, -1), 7, "the rules file's for: lines changed; check promFor's comment")
	rules = forLine.ReplaceAll(rules, []byte("${1}"+promFor))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644))
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = "'" + tg + "'"
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: roko-ptpd
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644))

	cmd := ns.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promListen)
	testenv.StartGroup(t, "prometheus", cmd)
	return newPromAPI(t, ns, promListen)
}

// exportedNames are the metric families roko-ptpd exports (allDescs).
func exportedNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, d := range allDescs {
		names = append(names, d.Name())
	}
	return names
}

// dashboardQueries returns every target expression in the Grafana
// dashboard, in order, with the panel titles.
func dashboardQueries(t *testing.T) (titles, exprs []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "dist", "grafana", "roko-ptpd-fleet.json"))
	require.NoError(t, err)
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var walk func(raw []json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			require.NoError(t, json.Unmarshal(r, &p))
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					titles = append(titles, p.Title)
					exprs = append(exprs, tg.Expr)
				}
			}
			walk(p.Panels)
		}
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	walk(d.Panels)
	return titles, exprs
}

// grafanaVars expands the dashboard's variables as Grafana would with
// every instance selected ("All", whose allValue is .*) and a dashboard
// over the last few minutes of a 1 s scrape.
var grafanaVars = strings.NewReplacer(
	"${instance}", ".*", "$instance", ".*", "${phc2sys}", ".*", "$phc2sys", ".*",
	"${__rate_interval}", promRateInterval, "$__rate_interval", promRateInterval,
	"${__interval}", "1s", "$__interval", "1s",
	"${__range}", "5m", "$__range", "5m",
)

// TestPrometheusServer is issue 19's acceptance with a real Prometheus
// server (Debian's, started by the test in the client's namespace, 1 s
// scrape and rule evaluation, the repository's alerting rules with their
// `for:` shortened to promFor): it scrapes a roko-ptpd grandmaster and a
// client on virtual clocks in two namespaces, and the test reads its HTTP
// API. Every metric roko-ptpd exports (bar the time source's and
// authentication's: there are none here) exists with a sane value, and so
// do the client's [phc2sys] job's (a virtual clock for CLOCK_REALTIME);
// every query of the Grafana dashboard returns data; no alert is active
// once the client is locked; a forced 20 µs offset of the client (a step
// of its virtual clock, which slews at most slewLimit) fires
// PTPOffsetCritical; stopping the grandmaster makes PTPGrandmasterChange
// and PTPLinkDown pending or firing on the client.
func TestPrometheusServer(t *testing.T) {
	testenv.Short(t)
	testenv.RequireCommand(t, "prometheus", "prometheus")
	la, lb := pair(t)
	gmClock := virtual(t, "gm", 0, 0)
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 3 * time.Millisecond, MaxFrequency: slewLimit})
	require.NoError(t, err)
	gm, _, stopGM := startStoppable(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--clockClass=6",
		"--clockAccuracy=0x21", "--metrics_address="+promGM)
	cl, _ := startDaemon(t, lb, clClock, "-s", "--metrics_address="+promClient)
	startPhc2sysJob(t, cl)
	api := startPrometheus(t, lb.NS, promGM, promClient)

	var gmID string
	require.True(t, gm.Do(t.Context(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() }))

	// Both targets up, the client SLAVE and locked in Prometheus's eyes,
	// and enough scrapes for the dashboard's rates. Prometheus's discovery
	// hands it its targets about 5 s after start.
	took := waitProm(t, 60*time.Second, "targets up, client locked, 6 scrapes", func() string {
		for _, c := range []struct{ q, want string }{
			{`count(up == 1)`, "2"},
			{`roko_ptp_port_state{instance="` + promClient + `", state="SLAVE"}`, "1"},
			{`roko_ptp_servo_state{instance="` + promClient + `"} >= 2`, "any"},
			{`min(count_over_time(up[1m])) >= 6`, "any"},
			{`abs(roko_ptp_offset_from_master_seconds{instance="` + promClient + `"}) < 1e-6`, "any"},
			{`abs(roko_phc2sys_offset_seconds{instance="` + promClient + `"}) < 1e-6`, "any"},
		} {
			v, err := api.query(c.q)
			if err != nil {
				return err.Error()
			}
			if len(v) == 0 || (c.want != "any" && v[0].Value[1] != c.want) {
				return fmt.Sprintf("%s: %v", c.q, v)
			}
		}
		return ""
	})
	t.Logf("Prometheus has both targets up and the client locked after %v", took.Round(time.Millisecond))

	t.Run("metrics", func(t *testing.T) {
		// Every family, from one instance or both, each value finite (NaN
		// only where a rate has nothing to divide).
		for _, name := range exportedNames(t) {
			v, err := api.query(name)
			require.NoError(t, err)
			if strings.HasPrefix(name, "roko_ptp_timesource_") {
				assert.Empty(t, v, "%s: no time source here", name)
				continue
			}
			if strings.HasPrefix(name, "roko_ptp_auth_") {
				assert.Empty(t, v, "%s: no spp here (TestAuthMetrics has them)", name)
				continue
			}
			assert.NotEmpty(t, v, "%s: not in Prometheus", name)
			for _, s := range v {
				x := s.value()
				assert.False(t, math.IsNaN(x) || math.IsInf(x, 0), "%s %v: %g", name, s.Metric, x)
				if strings.HasSuffix(name, "_total") {
					assert.GreaterOrEqual(t, x, 0.0, "%s %v", name, s.Metric)
				}
			}
		}
		for _, tc := range []struct {
			q  string
			ok func(float64) bool
		}{
			{`up`, eq(1)},
			{`roko_ptp_clock_info{instance="` + promGM + `", clock_identity="` + gmID + `", slave_only="0"}`, eq(1)},
			{`roko_ptp_clock_info{instance="` + promClient + `", slave_only="1"}`, eq(1)},
			{`roko_ptp_metrics_snapshot_age_seconds`, within(0, 2)},
			{`roko_ptp_port_state{instance="` + promGM + `", state="MASTER"}`, eq(1)},
			{`roko_ptp_port_state{instance="` + promClient + `", state="SLAVE"}`, eq(1)},
			{`sum by (instance) (roko_ptp_port_state)`, eq(1)}, // one state a port
			{`roko_ptp_port_link_up`, eq(1)},
			{`roko_ptp_offset_from_master_seconds{instance="` + promClient + `"}`, within(-1e-6, 1e-6)},
			{`roko_ptp_mean_path_delay_seconds{instance="` + promClient + `"}`, within(1e-9, 1e-3)},
			{`roko_ptp_frequency_adjustment_ratio{instance="` + promClient + `"}`, func(v float64) bool { return v != 0 && math.Abs(v) < 100e-6 }},
			{`roko_ptp_clock_steps_total{instance="` + promClient + `"}`, eq(1)},
			{`roko_ptp_clock_steps_total{instance="` + promGM + `"}`, eq(0)},
			{`roko_ptp_servo_state{instance="` + promClient + `"}`, within(2, 3)},
			{`roko_ptp_parent_info{grandmaster_identity="` + gmID + `"}`, eq(1)}, // both instances: checked by count below
			{`count(roko_ptp_parent_info{grandmaster_identity="` + gmID + `"})`, eq(2)},
			{`roko_ptp_grandmaster_clock_class`, eq(6)},
			{`roko_ptp_grandmaster_clock_accuracy`, eq(0x21)},
			{`roko_ptp_grandmaster_offset_scaled_log_variance`, eq(0xffff)},
			{`roko_ptp_steps_removed{instance="` + promClient + `"}`, eq(1)},
			{`roko_ptp_steps_removed{instance="` + promGM + `"}`, eq(0)},
			{`roko_ptp_grandmaster_present{instance="` + promClient + `"}`, eq(1)},
			{`roko_ptp_grandmaster_present{instance="` + promGM + `"}`, eq(0)},
			{`roko_ptp_grandmaster_changes_total`, eq(0)},
			{`roko_ptp_messages_received_total{instance="` + promClient + `", type="SYNC"}`, within(20, math.Inf(1))},
			{`roko_ptp_messages_received_total{instance="` + promGM + `", type="DELAY_REQ"}`, within(20, math.Inf(1))},
			{`roko_ptp_messages_sent_total{instance="` + promGM + `", type="SYNC"}`, within(20, math.Inf(1))},
			{`roko_ptp_messages_sent_total{instance="` + promClient + `", type="DELAY_REQ"}`, within(20, math.Inf(1))},
			{`rate(roko_ptp_messages_sent_total{instance="` + promGM + `", type="SYNC"}[5s])`, within(12, 20)}, // 16 Hz
			{`roko_ptp_messages_dropped_total{reason="rejected"}`, eq(0)},
			{`roko_ptp_clock_messages_dropped_total{reason="malformed"}`, eq(0)},
			{`roko_ptp_sync_lost_total`, eq(0)},
			{`roko_ptp_sync_sequence_restarts_total`, eq(0)},
			{`roko_ptp_tx_timestamp_timeouts_total`, eq(0)},
			{`roko_ptp_announce_receipt_timeouts_total{instance="` + promClient + `"}`, within(0, 1)}, // LISTENING before the grandmaster came
			{`roko_ptp_port_faults_total`, eq(0)},
			{`process_cpu_seconds_total`, within(0, math.Inf(1))},
			// The [phc2sys] job's sink, on the client's address.
			{`roko_phc2sys_offset_seconds{instance="` + promClient + `", source="client", sink="realtime"}`, within(-1e-6, 1e-6)},
			{`roko_phc2sys_servo_state{instance="` + promClient + `"}`, within(2, 3)},
			{`roko_phc2sys_clock_steps_total{instance="` + promClient + `"}`, eq(1)},
			{`rate(roko_phc2sys_samples_total{instance="` + promClient + `"}[5s])`, within(5, 11)}, // 8 Hz
			{`roko_phc2sys_abs_offset_seconds_count{instance="` + promClient + `"} - roko_phc2sys_samples_total{instance="` + promClient + `"}`, eq(0)},
			{`roko_phc2sys_measurement_errors_total`, eq(0)},
			{`roko_phc2sys_utc_offset_seconds{instance="` + promClient + `"}`, within(0, 100)},
		} {
			v, err := api.query(tc.q)
			require.NoError(t, err)
			if assert.NotEmpty(t, v, "%s: no data", tc.q) {
				for _, s := range v {
					assert.True(t, tc.ok(s.value()), "%s %v: %g", tc.q, s.Metric, s.value())
				}
			}
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		var instances []string
		require.NoError(t, api.get("/api/v1/label/instance/values", url.Values{"match[]": {"roko_ptp_clock_info"}}, &instances))
		sort.Strings(instances)
		assert.Equal(t, []string{promGM, promClient}, instances, "the $instance variable's query, label_values(roko_ptp_clock_info, instance)")
		require.NoError(t, api.get("/api/v1/label/instance/values", url.Values{"match[]": {"roko_phc2sys_samples_total"}}, &instances))
		assert.Equal(t, []string{promClient}, instances, "the $phc2sys variable's query, label_values(roko_phc2sys_samples_total, instance)")
		titles, exprs := dashboardQueries(t)
		require.NotEmpty(t, exprs)
		for i, e := range exprs {
			q := grafanaVars.Replace(e)
			require.NotContains(t, q, "$", "%q: a variable the test does not expand", e)
			v, err := api.query(q)
			if assert.NoError(t, err, "%s: %s", titles[i], q) {
				assert.NotEmpty(t, v, "%s: %s returns no data", titles[i], q)
			}
		}
		t.Logf("%d dashboard queries return data", len(exprs))
	})

	// Nothing is active once the client is locked (PTPOffsetCritical may
	// have been pending while it converged: wait for it to resolve).
	waitProm(t, 20*time.Second, "no alert active", func() string {
		as, err := api.alerts()
		if err != nil {
			return err.Error()
		}
		if len(as) > 0 {
			return fmt.Sprintf("%+v", as)
		}
		return ""
	})

	t.Run("offset 20 µs", func(t *testing.T) {
		// One step of the client's clock by 20 µs. Its servo may slew at
		// most slewLimit, so the offset stays above 10 µs for 10 s: long
		// enough for promFor at a 1 s scrape and evaluation, wherever the
		// step falls between them.
		require.NoError(t, clClock.Step(20*time.Microsecond))
		var seen []string
		took := waitProm(t, 30*time.Second, "PTPOffsetCritical firing", func() string {
			as, err := api.alerts()
			if err != nil {
				return err.Error()
			}
			st := alertState(as, "PTPOffsetCritical", promClient)
			if len(seen) == 0 || seen[len(seen)-1] != st {
				seen = append(seen, st)
			}
			if st != "firing" {
				return fmt.Sprintf("PTPOffsetCritical %q; active: %+v", st, as)
			}
			return ""
		})
		t.Logf("PTPOffsetCritical firing %v after the offset was forced (states seen: %q)", took.Round(time.Millisecond), seen)
		v, err := api.query(`roko_ptp_offset_from_master_seconds{instance="` + promClient + `"}`)
		require.NoError(t, err)
		require.NotEmpty(t, v)
		assert.Greater(t, math.Abs(v[0].value()), 10e-6, "the offset Prometheus has")
		as, err := api.alerts()
		require.NoError(t, err)
		assert.NotEmpty(t, alertState(as, "PTPOffsetHigh", promClient), "PTPOffsetHigh (> 1 µs) pending or firing too")
		assert.Empty(t, alertState(as, "PTPOffsetCritical", promGM), "not on the grandmaster")
	})

	t.Run("grandmaster stops", func(t *testing.T) {
		stopGM()
		var seen []string
		took := waitProm(t, 30*time.Second, "PTPGrandmasterChange and PTPLinkDown pending or firing", func() string {
			as, err := api.alerts()
			if err != nil {
				return err.Error()
			}
			gc, ld := alertState(as, "PTPGrandmasterChange", promClient), alertState(as, "PTPLinkDown", promClient)
			st := "change " + gc + ", link down " + ld
			if len(seen) == 0 || seen[len(seen)-1] != st {
				seen = append(seen, st)
			}
			if gc == "" || ld == "" {
				return st
			}
			return ""
		})
		t.Logf("after the grandmaster stopped, %v: %q", took.Round(time.Millisecond), seen)
		v, err := api.query(`up{instance="` + promGM + `"}`)
		require.NoError(t, err)
		if assert.NotEmpty(t, v) {
			assert.Equal(t, 0.0, v[0].value(), "the grandmaster's target is down")
		}
	})
}
