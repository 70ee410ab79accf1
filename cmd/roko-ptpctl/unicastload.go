package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/internal/ucload"
)

// unicastLoadCmd runs N negotiated unicast clients against a grandmaster
// (internal/ucload) and prints what they got, one "name value" line each
// (or JSON), for scripts/capacity.sh.
func unicastLoadCmd(args []string, w, progress io.Writer) error {
	cfg, asJSON, err := parseUnicastLoad(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := ucload.Run(ctx, cfg, progress)
	if err != nil {
		return err
	}
	return printUnicastLoad(w, res, asJSON)
}

// parseUnicastLoad reads unicast-load's options.
func parseUnicastLoad(args []string) (ucload.RunConfig, bool, error) {
	cfg := ucload.RunConfig{
		Config: ucload.Config{Clients: 100, LogAnnounceInterval: 1, Duration: 30 * time.Second},
		Prefix: ucload.DefaultPrefix, Negotiate: 10 * time.Second,
		Warmup: 2 * time.Second, Measure: 20 * time.Second, Grace: time.Second,
	}
	asJSON, rampSet := false, false
	secs := func(v string) (time.Duration, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e6 {
			return 0, fmt.Errorf("%q is not a number of seconds", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	err := getopt.Parse(args, getopt.Handlers{
		Flags: []string{"json"},
		Long: func(name, v string) error {
			var err error
			switch name {
			case "master":
				cfg.Master, err = netip.ParseAddr(v)
			case "clients":
				cfg.Clients, err = strconv.Atoi(v)
			case "rate":
				var hz float64
				if hz, err = strconv.ParseFloat(v, 64); err == nil {
					l := math.Log2(hz)
					if hz <= 0 || l != math.Trunc(l) {
						return fmt.Errorf("--rate %s: a power of two in Hz (1, 16, 0.5 …)", v)
					}
					cfg.LogSyncInterval = int8(-l)
				}
			case "announce-log":
				var n int
				n, err = strconv.Atoi(v)
				cfg.LogAnnounceInterval = int8(n)
			case "domain":
				var n uint64
				n, err = strconv.ParseUint(v, 10, 8)
				cfg.Domain = uint8(n)
			case "prefix":
				cfg.Prefix, err = netip.ParsePrefix(v)
			case "duration":
				cfg.Duration, err = secs(v)
			case "ramp":
				cfg.Ramp, err = secs(v)
				rampSet = true
			case "negotiate":
				cfg.Negotiate, err = secs(v)
			case "warmup":
				cfg.Warmup, err = secs(v)
			case "measure":
				cfg.Measure, err = secs(v)
			case "grace":
				cfg.Grace, err = secs(v)
			case "pid":
				cfg.PID, err = strconv.Atoi(v)
			case "json":
				asJSON = true
			default:
				return fmt.Errorf("unknown option --%s (see -h)", name)
			}
			if err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
			return nil
		},
		Positional: func(a string) error { return fmt.Errorf("unexpected argument %q", a) },
	})
	if err != nil {
		return cfg, false, err
	}
	if !cfg.Master.IsValid() {
		return cfg, false, fmt.Errorf("--master: the grandmaster's IPv4 address is needed")
	}
	if !rampSet {
		// 4,000 first requests a second at most: a burst beyond the
		// grandmaster's socket buffer would be lost and retried.
		cfg.Ramp = max(500*time.Millisecond, time.Duration(cfg.Clients)*time.Second/4000)
	}
	return cfg, asJSON, nil
}

// printUnicastLoad prints a result as "name value" lines (or JSON).
func printUnicastLoad(w io.Writer, r *ucload.Result, asJSON bool) error {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	c := r.Counts
	rows := []struct {
		name string
		v    any
	}{
		{"clients", r.Clients}, {"rate_hz", r.Rate}, {"window_s", r.Window.Seconds()},
		{"negotiated_s", r.Negotiated.Seconds()}, {"held", r.Held},
		{"delay_req", c.DelayReq}, {"answered", c.Answered}, {"lost", c.Lost}, {"answers", c.Answers},
		{"answers_per_s", float64(c.Answers) / r.Window.Seconds()},
		{"gm_cpu_s", r.GMCPU.Seconds()}, {"gm_cpu_pct", 100 * r.CPUShare()},
		{"answers_per_cpu_s", r.AnswersPerCPUSecond()},
		{"p50_us", us(r.P50)}, {"p99_us", us(r.P99)}, {"max_us", us(r.Max)},
		{"sync", c.Sync}, {"sync_lost", c.SyncLost}, {"follow_up", c.FollowUp}, {"fup_lost", c.FupLost},
		{"announce", c.Announce}, {"requests", c.Requests}, {"granted", c.Granted}, {"refused", c.Refused},
		{"unmatched", c.Unmatched}, {"no_grant", c.NoGrant}, {"skipped", c.Skipped}, {"max_lag_us", us(c.MaxLag)},
		{"malformed", c.Malformed}, {"gm_rss_kib", r.GMRSS}, {"gm_hwm_kib", r.GMHWM},
		{"self_cpu_s", r.SelfCPU.Seconds()}, {"rx_dropped", r.RxDropped}, {"send_failed", r.SendFailed},
		{"tx_stamped", r.TxStamped},
	}
	if asJSON {
		m := make(map[string]any, len(rows))
		for _, row := range rows {
			m[row.name] = row.v
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	for _, row := range rows {
		switch v := row.v.(type) {
		case float64:
			fmt.Fprintf(w, "%s %.3f\n", row.name, v)
		default:
			fmt.Fprintf(w, "%s %v\n", row.name, v)
		}
	}
	return nil
}
