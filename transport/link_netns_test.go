package transport_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/transport"
)

// linkWatch is a LinkMonitor watched by a Poller, as the daemon's event
// loop watches it.
type linkWatch struct {
	t    *testing.T
	mon  *transport.LinkMonitor
	poll *transport.Poller
}

func openLinkWatch(t *testing.T, ns *netns.NS) *linkWatch {
	t.Helper()
	var mon *transport.LinkMonitor
	require.NoError(t, ns.Do(func() error {
		var err error
		mon, err = transport.OpenLinkMonitor()
		return err
	}))
	poll, err := transport.NewPoller(1)
	require.NoError(t, err)
	require.NoError(t, poll.Add(mon.FD(), 0))
	t.Cleanup(func() {
		poll.Close()
		mon.Close()
	})
	return &linkWatch{t, mon, poll}
}

// wait returns the first state of the interface called name that is up
// (or down) as asked, reading every datagram that comes before it, and
// how long after start it came.
func (w *linkWatch) wait(name string, up bool, start time.Time, timeout time.Duration) time.Duration {
	w.t.Helper()
	deadline := start.Add(timeout)
	for {
		for {
			links, err := w.mon.TryReceive()
			if errors.Is(err, transport.ErrWouldBlock) {
				break
			}
			require.NoError(w.t, err)
			for _, l := range links {
				if l.Name == name && l.Up == up {
					return time.Since(start)
				}
			}
		}
		now := time.Now()
		if !now.Before(deadline) {
			w.t.Fatalf("%s: no link %s report within %v", name, map[bool]string{true: "up", false: "down"}[up], timeout)
		}
		require.NoError(w.t, w.poll.Arm(deadline.UnixNano(), now.UnixNano()))
		_, err := w.poll.Wait()
		require.NoError(w.t, err)
	}
}

// TestLinkMonitorNetns: on a veth pair in two namespaces, the monitor in
// one of them reports its end going down and up, both when the end itself
// is set down (administratively) and when the far end is (the carrier
// goes, as when a cable is pulled), each within 100 ms of the change.
// Query reports the current state, and an unknown name comes back ENODEV.
func TestLinkMonitorNetns(t *testing.T) {
	testenv.Short(t)
	a, b := netns.New(t), netns.New(t)
	la, lb := netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
	w := openLinkWatch(t, a)

	require.NoError(t, w.mon.Query(la.Name))
	w.wait(la.Name, true, time.Now(), time.Second)

	const limit = 100 * time.Millisecond
	for _, tc := range []struct {
		name string
		ns   *netns.NS
		dev  string
	}{
		{"own end set down", a, la.Name},
		{"far end set down (carrier lost)", b, lb.Name},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			for _, up := range []bool{false, true} {
				cmd := map[bool]string{true: "up", false: "down"}[up]
				start := time.Now()
				tc.ns.IP(t, "link", "set", tc.dev, cmd)
				done := time.Now()
				took := w.wait(la.Name, up, done, time.Second)
				t.Logf("%s %s: reported %v after ip returned (%v after it started)", tc.dev, cmd, took, time.Since(start))
				assert.Less(t, took, limit, "link %s report latency", cmd)
			}
		})
	}
	w.t = t

	require.NoError(t, w.mon.Query("rkno0such"))
	deadline := time.Now().Add(time.Second)
	for {
		_, err := w.mon.TryReceive()
		if errors.Is(err, transport.ErrWouldBlock) {
			require.True(t, time.Now().Before(deadline), "no answer to the query for an unknown interface")
			time.Sleep(time.Millisecond)
			continue
		}
		require.Error(t, err)
		assert.ErrorIs(t, err, unix.ENODEV)
		assert.Contains(t, err.Error(), "rkno0such")
		break
	}
	assert.Error(t, w.mon.Query("a-name-far-too-long"))

	st := w.mon.Stats()
	assert.Zero(t, st.Malformed)
	assert.Zero(t, st.Foreign)
	assert.Zero(t, st.Lost)
	assert.NotZero(t, st.Links)
	t.Logf("stats: %+v", st)
}
