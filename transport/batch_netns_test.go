package transport_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/transport"
)

// TestBatches sends, on every transport, a batch of event messages with
// one FlushEvents and a queue of general messages with one Flush, and
// reads them with TryReceive and Buffered: every event message gets its
// own transmit timestamp, in the order sent, every message arrives with
// its own receive timestamp and in order, and one read takes several.
func TestBatches(t *testing.T) {
	p := newPair(t)
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			ta, tb := openIn(t, p.la, o), openIn(t, p.lb, o)
			const n = transport.EventBatchLen
			for i := range n {
				require.NoError(t, ta.QueueEvent(message(0x00, uint16(i)), ta.Primary))
			}
			require.Error(t, ta.QueueEvent(message(0x00, 0), ta.Primary), "the event queue holds EventBatchLen")
			ts, errs := make([]int64, n), make([]error, n)
			ta.FlushEvents(ts, errs)
			for i := range n {
				require.NoError(t, errs[i], "message %d", i)
				require.Positive(t, ts[i], "message %d", i)
				if i > 0 {
					assert.GreaterOrEqual(t, ts[i], ts[i-1], "message %d: in the order sent", i)
				}
			}
			assert.EqualValues(t, n, ta.Event.Stats().TxTimestamps)
			fail := func(tag uint64, err error) { t.Errorf("message %d: %v", tag, err) }
			for i := range 2 * n { // a full queue goes at once
				require.NoError(t, ta.QueueGeneral(message(0x08, uint16(i)), ta.Primary, uint64(i), fail))
			}
			ta.Flush(fail)

			// The event messages, then (on L2, where one socket takes both)
			// the general ones.
			want := n
			if tb.General == tb.Event {
				want = 3 * n
			}
			got := readAll(t, tb.Event, want)
			for i := range n {
				assert.Equal(t, message(0x00, uint16(i)), got[i].msg, "event message %d", i)
				assert.True(t, got[i].info.HasTime, "event message %d", i)
				assert.InDelta(t, ts[i], got[i].info.Time, float64(time.Second), "event message %d", i)
			}
			if tb.General != tb.Event {
				got = readAll(t, tb.General, 2*n)
			} else {
				got = got[n:]
			}
			for i := range 2 * n {
				assert.Equal(t, message(0x08, uint16(i)), got[i].msg, "general message %d", i)
				assert.True(t, got[i].info.HasTime, "general message %d", i)
			}

			// Neither batched path allocates.
			msg := message(0x00, 1)
			assert.Zero(t, testing.AllocsPerRun(50, func() {
				_ = ta.QueueEvent(msg, ta.Primary)
				ta.FlushEvents(ts, errs)
				_ = ta.QueueGeneral(msg, ta.Primary, 0, fail)
				ta.Flush(fail)
			}))
		})
	}
}

// readAll reads n messages from c with TryReceive, taking what one read
// buffered before it reads again; at least one read delivers several.
func readAll(t *testing.T, c *transport.Conn, n int) []received {
	t.Helper()
	var out []received
	most := 0
	buf := make([]byte, 1500)
	deadline := time.Now().Add(2 * time.Second)
	for len(out) < n {
		var info transport.RxInfo
		k, err := c.TryReceive(buf, &info)
		if errors.Is(err, transport.ErrWouldBlock) {
			require.True(t, time.Now().Before(deadline), "%d of %d messages in 2 s", len(out), n)
			time.Sleep(time.Millisecond)
			continue
		}
		require.NoError(t, err)
		out = append(out, received{msg: append([]byte(nil), buf[:k]...), info: info})
		most = max(most, c.Buffered()+1)
	}
	assert.Greater(t, most, 1, "one recvmmsg read several")
	assert.Zero(t, c.Buffered())
	var info transport.RxInfo
	assert.Zero(t, testing.AllocsPerRun(50, func() { _, _ = c.TryReceive(buf, &info) }), "a read allocates nothing")
	return out
}

// A message the kernel refuses in the middle of a batch (a broadcast
// address without SO_BROADCAST: EACCES, nothing leaves the host) takes no
// OPT_ID key; the messages after it still get their own timestamps. (They
// timed out once, every round, the search for their keys looking the
// wrong way.)
func TestBatchRefusedMiddle(t *testing.T) {
	p := newPair(t)
	ta := openIn(t, p.la, openers[1])
	dst := transport.Addr{IP: netip.MustParseAddr(p.lb.Addr)}
	bcast := transport.Addr{IP: netip.MustParseAddr("255.255.255.255")}
	to := []transport.Addr{dst, bcast, dst, dst, bcast, dst}
	for i, a := range to {
		require.NoError(t, ta.QueueEvent(message(0x00, uint16(i)), a))
	}
	ts, errs := make([]int64, len(to)), make([]error, len(to))
	ta.FlushEvents(ts, errs)
	for i, a := range to {
		if a == bcast {
			assert.Error(t, errs[i], "message %d to the broadcast address is refused", i)
			assert.Zero(t, ts[i], i)
			continue
		}
		require.NoError(t, errs[i], "message %d", i)
		assert.Positive(t, ts[i], "message %d", i)
	}
	s := ta.Event.Stats()
	assert.EqualValues(t, 4, s.TxTimestamps)
	assert.Zero(t, s.TxMismatched)
	assert.Zero(t, s.TxTimeouts)
}
