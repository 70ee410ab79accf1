package transport_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/transport"
)

func openPair(tb testing.TB, o opener) (*transport.Transport, *transport.Transport) {
	tb.Helper()
	a, b := netns.New(tb), netns.New(tb)
	la, lb := netns.Veth(tb, a, "198.18.0.1", b, "198.18.0.2")
	open := func(l netns.Link) *transport.Transport {
		var tr *transport.Transport
		require.NoError(tb, l.NS.Do(func() error {
			var err error
			tr, err = o.open(transport.Config{Interface: l.Name, Timestamping: transport.Software})
			return err
		}))
		tb.Cleanup(func() { tr.Close() })
		return tr
	}
	return open(la), open(lb)
}

// TestReceiveAllocatesNothing: with messages waiting, Receive (with its
// receive timestamp and source address) allocates nothing, on every
// transport.
func TestReceiveAllocatesNothing(t *testing.T) {
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			ta, tb := openPair(t, o)
			rc, err := tb.Event.SyscallConn()
			require.NoError(t, err)
			require.NoError(t, rc.Control(func(fd uintptr) {
				require.NoError(t, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20))
			}))
			const runs = 200
			msg := message(0, 1)
			for range runs + 10 {
				_, err := ta.Event.SendEvent(msg, ta.Primary)
				require.NoError(t, err)
			}
			buf := make([]byte, 1500)
			var info transport.RxInfo
			allocs := testing.AllocsPerRun(runs, func() {
				if _, err := tb.Event.Receive(buf, &info); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs)
			assert.True(t, info.HasTime)
		})
	}
}

// BenchmarkEventRoundTrip sends an event message with its transmit
// timestamp from one namespace and receives it with its receive timestamp
// in the other, over veth: one op is one message both ways through the
// kernel.
func BenchmarkEventRoundTrip(b *testing.B) {
	for _, o := range openers {
		b.Run(o.name, func(b *testing.B) {
			ta, tb := openPair(b, o)
			msg := message(0, 1)
			buf := make([]byte, 1500)
			var info transport.RxInfo
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ta.Event.SendEvent(msg, ta.Primary); err != nil {
					b.Fatal(err)
				}
				if _, err := tb.Event.Receive(buf, &info); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
