package ptpd

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/ucload"
	"github.com/roko-network/roko-ptpd/phc"
)

// TestUnicastLoad runs the capacity script's load generator
// (roko-ptpctl unicast-load, scripts/capacity.sh) small: 50 clients at
// 4 Hz from 198.18.64.0/26 against our unicast grandmaster, with grants
// of 4 s, so that every client renews during the run. Every client keeps
// its grants, every Delay_Req of the window is answered, Syncs and
// Follow_Ups come at the granted rate, and nothing is malformed: the
// tool and the service both work, so the script's figures mean something.
func TestUnicastLoad(t *testing.T) {
	t.Parallel()
	la, lb := pair(t)
	const clients = 50
	block := netip.MustParsePrefix("198.18.64.0/26")
	lb.NS.IP(t, "route", "add", "local", block.String(), "dev", "lo")
	la.NS.IP(t, "route", "add", block.String(), "via", lb.Addr)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	startDaemon(t, la, gmClock, append(ucConf(t, "unicast_listen 1\ninhibit_multicast_service 1\nserverOnly 1\npriority1 1\n"),
		"--domainNumber=24")...)

	cfg := ucload.RunConfig{
		Config: ucload.Config{Clients: clients, Domain: 24, LogSyncInterval: -2, LogAnnounceInterval: 0,
			Duration: 4 * time.Second, Ramp: 200 * time.Millisecond},
		Master: netip.MustParseAddr(la.Addr), Prefix: block,
		Negotiate: 10 * time.Second, Warmup: time.Second, Measure: 4 * time.Second, Grace: time.Second,
	}
	var res *ucload.Result
	require.NoError(t, lb.NS.Do(func() error {
		var err error
		res, err = ucload.Run(context.Background(), cfg, testWriter{t})
		return err
	}))
	c := res.Counts
	t.Logf("%d held, %d Delay_Req, %d answered, p50 %v p99 %v, %d Syncs, %d Follow_Ups, %d Announces, %d requests",
		res.Held, c.DelayReq, c.Answered, res.P50, res.P99, c.Sync, c.FollowUp, c.Announce, c.Requests)
	assert.Equal(t, clients, res.Held, "every client holds its grants, renewed")
	assert.Greater(t, c.Requests, uint64(2*clients), "grants of 4 s were renewed")
	assert.Zero(t, c.Refused)
	want := float64(clients) * 4 * res.Window.Seconds()
	assert.InDelta(t, want, float64(c.DelayReq), want/10, "Delay_Req at 4 Hz")
	assert.Equal(t, c.DelayReq, c.Answered, "every Delay_Req answered")
	assert.Zero(t, c.Lost)
	assert.Zero(t, c.Unmatched)
	assert.Positive(t, res.P50)
	assert.InDelta(t, want, float64(c.Sync), want/10, "Syncs at the granted 4 Hz")
	assert.LessOrEqual(t, c.SyncLost, uint64(want/20))
	assert.Zero(t, c.FupLost, "a Follow_Up for every Sync")
	assert.InDelta(t, float64(clients)*res.Window.Seconds(), float64(c.Announce), float64(clients)*res.Window.Seconds()/5, "Announce at 1 Hz")
	assert.Zero(t, c.Malformed)
	assert.Positive(t, res.TxStamped, "latencies from transmit timestamps")
}

// testWriter logs the generator's progress lines.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// TestReceiveHoldoff: a unicast grandmaster above receive_holdoff_rate
// (here 100 messages a second, under 50 clients × 16 Hz) moderates its
// loop: it says so, looks at its sockets at most every receive_holdoff
// (10 ms), and so wakes a few times for each Sync round instead of once
// for each of the 800 Delay_Req a second; every Delay_Req is still
// answered, Syncs and Follow_Ups keep their rate, and the answers wait
// (median latency over a millisecond, where an unheld loop answers in
// about a hundred microseconds).
func TestReceiveHoldoff(t *testing.T) {
	t.Parallel()
	la, lb := pair(t)
	const clients = 50
	block := netip.MustParsePrefix("198.18.64.0/26")
	lb.NS.IP(t, "route", "add", "local", block.String(), "dev", "lo")
	la.NS.IP(t, "route", "add", block.String(), "via", lb.Addr)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	d, out := startDaemon(t, la, gmClock, append(ucConf(t, "unicast_listen 1\ninhibit_multicast_service 1\nserverOnly 1\npriority1 1\n"+
		"receive_holdoff 10000\nreceive_holdoff_rate 100\n"), "--domainNumber=24")...)

	cfg := ucload.RunConfig{
		Config: ucload.Config{Clients: clients, Domain: 24, LogSyncInterval: -4, LogAnnounceInterval: 0,
			Duration: 10 * time.Second, Ramp: 200 * time.Millisecond},
		Master: netip.MustParseAddr(la.Addr), Prefix: block,
		Negotiate: 10 * time.Second, Warmup: 2 * time.Second, Measure: 3 * time.Second, Grace: time.Second,
	}
	var res *ucload.Result
	var wakeups int64
	require.NoError(t, lb.NS.Do(func() error {
		var err error
		cfg.OnWindow = func(start bool) {
			if start {
				wakeups = -d.wakeups.Load()
			} else {
				wakeups += d.wakeups.Load()
			}
		}
		res, err = ucload.Run(context.Background(), cfg, testWriter{t})
		return err
	}))
	c := res.Counts
	perSecond := float64(wakeups) / res.Window.Seconds()
	t.Logf("%d held, %d Delay_Req, %d answered, p50 %v p99 %v, %d Syncs; %.0f wake-ups a second",
		res.Held, c.DelayReq, c.Answered, res.P50, res.P99, c.Sync, perSecond)
	assert.Contains(t, out.String(), "receive hold-off on")
	assert.Equal(t, clients, res.Held)
	want := float64(clients) * 16 * res.Window.Seconds()
	assert.InDelta(t, want, float64(c.DelayReq), want/10, "Delay_Req at 16 Hz")
	assert.Equal(t, c.DelayReq, c.Answered, "every Delay_Req answered")
	assert.InDelta(t, want, float64(c.Sync), want/10, "Syncs at the granted 16 Hz")
	assert.Zero(t, c.FupLost)
	assert.Greater(t, res.P50, time.Millisecond, "answers wait for the hold to end")
	// At most one hold per 10 ms, plus the Sync and Announce rounds'
	// own deadlines: ~100 + 16 + 1; unheld it would be ~800.
	assert.Less(t, perSecond, 300.0, "the loop wakes per hold, not per message")
}
