package phc2sys

import (
	"context"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
)

// TestInDaemon: a [phc2sys] section runs the phc2sys job inside roko-ptpd.
// The target (a virtual clock standing for CLOCK_REALTIME) is left alone
// until the client's port is SLAVE, then follows the client's clock; the
// true errors of the two clocks agree. The job's metrics join the
// daemon's own on its metrics_address.
func TestInDaemon(t *testing.T) {
	testenv.Short(t)
	gmLink, clLink := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	conf := filepath.Join(t.TempDir(), "roko-ptpd.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[global]\n[phc2sys]\nupdate_rate 16\nclock_servo linreg\n"), 0o644))
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 4 * time.Millisecond, FrequencyError: 25_000})
	require.NoError(t, err)
	target, err := phc.NewVirtual(phc.VirtualConfig{Name: "realtime", Offset: -7 * time.Millisecond, FrequencyError: -40_000})
	require.NoError(t, err)

	cl := startPtpd(t, clLink, clClock, "-f", conf, "-s", "--metrics_address=127.0.0.1:0")
	var log logLines
	job, err := NewInDaemon(cl.d, cl.set.Phc2sys, target, log.logf)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); assert.NoError(t, job.Run(ctx)) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("phc2sys job log:\n%s", log.String())
		}
	})

	// Without a grandmaster the slave-only client is LISTENING: the
	// target is left alone.
	time.Sleep(1500 * time.Millisecond)
	assert.Contains(t, log.String(), "phc2sys: waiting until a port is SLAVE or MASTER")
	assert.NotContains(t, log.String(), "phc offset")
	f, err := target.Frequency()
	require.NoError(t, err)
	assert.Zero(t, f, "the target is not touched while the daemon is not synchronised")

	startPtpd(t, gmLink, gmClock, "--priority1=10")
	var diff time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for good := 0; good < 10; time.Sleep(100 * time.Millisecond) {
		e1, err := clClock.TrueError()
		require.NoError(t, err)
		e2, err := target.TrueError()
		require.NoError(t, err)
		diff = e2 - e1
		if diff.Abs() < 5*time.Microsecond {
			good++
		} else {
			good = 0
		}
		require.True(t, time.Now().Before(deadline), "the target did not follow the client's clock: %v apart", diff)
	}
	t.Logf("target − client clock: %v", diff)
	assert.Contains(t, log.String(), "phc2sys: realtime: offset measured by the")
	assert.Regexp(t, `realtime phc offset +-?\d+ s2 freq`, log.String())
	assert.True(t, strings.Count(log.String(), "phc offset") > 10)

	// The daemon's scrape (in its namespace) has the job's sink, which
	// the loop has kept within 5 µs, and the daemon's own families.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		var c net.Conn
		err := clLink.NS.Do(func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, a)
			return err
		})
		return c, err
	}}}
	fams := scrape(t, c, "http://"+cl.d.MetricsAddr().String()+"/metrics")
	sink := []string{"source=client", "sink=realtime"}
	v, ok := value(fams, "roko_phc2sys_offset_seconds", sink...)
	require.True(t, ok, "no roko_phc2sys_offset_seconds{source=client,sink=realtime}")
	assert.Less(t, math.Abs(v), 5e-6)
	v, _ = value(fams, "roko_phc2sys_samples_total", sink...)
	assert.Greater(t, v, 10.0)
	v, _ = value(fams, "roko_phc2sys_servo_state", sink...)
	assert.GreaterOrEqual(t, v, 2.0)
	_, ok = value(fams, "roko_phc2sys_utc_offset_seconds")
	assert.True(t, ok, "the engine's time properties")
	v, _ = value(fams, "roko_ptp_port_state", "state=SLAVE")
	assert.Equal(t, 1.0, v, "the daemon's own families")
}

// A bad [phc2sys] clock stops the daemon at start, naming file and line.
func TestInDaemonErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[global]\n[phc2sys]\nsource CLOCK_REALTIME\ntarget /dev/ptp97\n", "test.conf:4: [phc2sys] target /dev/ptp97: /dev/ptp97: no such clock"},
		{"[global]\n[phc2sys]\n\nsource /dev/ptp96\n", "test.conf:4: [phc2sys] source /dev/ptp96: /dev/ptp96: no such clock"},
		{"[global]\n[phc2sys]\nsource CLOCK_REALTIME\ntarget CLOCK_REALTIME\n", "test.conf:4: [phc2sys] target: the source and the target are both CLOCK_REALTIME"},
	} {
		c, err := config.Parse(strings.NewReader(tc.conf), "test.conf")
		require.NoError(t, err)
		c.AddInterface("eth0")
		s, err := c.Resolve()
		require.NoError(t, err)
		_, err = NewInDaemon(nil, s.Phc2sys, nil, func(int, string, ...any) {})
		assert.ErrorContains(t, err, tc.want)
	}
}

// TestInDaemonSyncOffset: the job offsets its target by the UTC offset
// only against a source on PTP's timescale. A daemon on a clock that keeps
// UTC (a virtual one here) has already put its clock on UTC, whatever the
// grandmaster keeps: offsetting CLOCK_REALTIME again would put it 37 s off.
func TestInDaemonSyncOffset(t *testing.T) {
	tai := ptp.TimePropertiesDataSet{CurrentUTCOffset: 37, Flags: ptp.TimePropertiesPTPTimescale}
	virtual := func(name string) *phc.Virtual {
		v, err := phc.NewVirtual(phc.VirtualConfig{Name: name})
		require.NoError(t, err)
		return v
	}
	// phcStandIn is a clock of no UTC-keeping type, as a PHC is.
	type phcStandIn struct{ phc.Clock }
	realtime := virtual("CLOCK_REALTIME")
	for _, tc := range []struct {
		name   string
		source phc.Clock
		want   int64
	}{
		{"the daemon on a virtual clock", virtual("roko-ptpd"), 0},
		{"the daemon on a PHC", phcStandIn{virtual("/dev/ptp0")}, -37e9},
	} {
		j := &InDaemon{syncer: &Syncer{Source: tc.source, Target: realtime}}
		assert.Equal(t, tc.want, j.syncOffset(tai), tc.name)
	}
}
