package tod

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakePeer listens on the loopback address and hands each connection it
// accepts, in order, to the next of serve.
func fakePeer(t *testing.T, serve ...func(net.Conn)) (host, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, s := range serve {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); s(c) }()
		}
	}()
	host, port, err = net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	return host, port
}

// holdOpen keeps a connection open until the reader closes it.
func holdOpen(c net.Conn) {
	var b [64]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			return
		}
	}
}

func TestNMEAOverTCPReconnects(t *testing.T) {
	host, port := fakePeer(t,
		func(c net.Conn) {
			c.Write([]byte(nmeaLine("GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,300625,,,A") +
				nmeaLine("GPZDA,120000.00,30,06,2025,00,00") +
				"$GPRMC,120001,A,48")) // cut off as the peer goes away
		},
		func(c net.Conn) {
			c.Write([]byte(nmeaLine("GPZDA,120001.00,30,06,2025,00,00")))
			holdOpen(c)
		},
	)
	r := DialNMEA(host, port)
	r.b.min = 10 * time.Millisecond
	var logged []string
	var mu sync.Mutex
	r.Log = func(err error) { mu.Lock(); logged = append(logged, err.Error()); mu.Unlock() }
	run := start(t, r)

	for _, want := range []struct {
		utc   time.Time
		valid bool
	}{
		{time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC), true},
		{time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC), true},
		// A new connection's ZDA before its first RMC: not vouched for.
		{time.Date(2025, 6, 30, 12, 0, 1, 0, time.UTC), false},
	} {
		got := run.next(t)
		assert.Equal(t, want.utc, got.UTC)
		assert.Equal(t, want.valid, got.Valid)
		assert.Equal(t, "nmea", got.Source)
		assert.NotZero(t, got.Received)
	}
	// The cut-off sentence is dropped with its connection: it neither
	// joins the next connection's first sentence nor counts as malformed.
	assert.Equal(t, Counters{Accepted: 3, ReadErrors: 1, Reconnects: 1}, r.Counters())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0], net.JoinHostPort(host, port))
	assert.Contains(t, logged[0], "closed")
}

func TestNMEAOverTCPRetriesARefusedConnection(t *testing.T) {
	// A port nothing listens on: bind one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(addr)

	r := DialNMEA(host, port)
	r.b.min, r.b.max = 5*time.Millisecond, 20*time.Millisecond
	errs := make(chan error, 100)
	r.Log = func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	start(t, r)
	eventually(t, func() bool { return r.Counters().ReadErrors >= 3 }, "three failed attempts")
	err = <-errs
	assert.True(t, strings.Contains(err.Error(), addr), "%v names the address", err)
	assert.Zero(t, r.Counters().Reconnects, "no connection was made")
}

func TestNMEAOverTCPCloseEndsRun(t *testing.T) {
	host, port := fakePeer(t, holdOpen)
	r := DialNMEA(host, port)
	done := make(chan error, 1)
	go func() { done <- r.Run(t.Context(), func(Report) {}) }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, r.Close())
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: time.Millisecond, max: 4 * time.Millisecond}
	var got []time.Duration
	for range 4 {
		got = append(got, b.next)
		require.True(t, b.wait(t.Context()))
	}
	assert.Equal(t, []time.Duration{0, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}, got)
	b.reset()
	assert.Equal(t, time.Millisecond, b.next)
}
