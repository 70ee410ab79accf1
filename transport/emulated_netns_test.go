package transport_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/transport"
)

// openEmulated opens a hardware-timestamping transport on link, inside its
// namespace, whose interface is the emulated card nic.
func openEmulated(t *testing.T, l netns.Link, o opener, mode transport.Timestamping, nic *transport.NIC) *transport.Transport {
	t.Helper()
	var tr *transport.Transport
	require.NoError(t, l.NS.Do(func() error {
		var err error
		tr, err = o.open(transport.Config{Interface: l.Name, Timestamping: mode, Emulated: nic, TxTimestampTimeout: 20 * time.Millisecond})
		return err
	}))
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestEmulatedNIC: on veth, which has no PHC, the emulated card gives the
// transport's unchanged hardware path its timestamps: transmit and receive
// timestamps on each card's PHC timescale (here 3 s and 5 s ahead of
// CLOCK_REALTIME), one-step Syncs that carry their transmit time, and lost
// transmit timestamps that time out as on a real card.
func TestEmulatedNIC(t *testing.T) {
	p := newPair(t)
	for _, o := range openers[:2] { // L2 and UDPv4
		t.Run(o.name, func(t *testing.T) {
			ahead := func(d time.Duration) func(int64) int64 { return func(rt int64) int64 { return rt + int64(d) } }
			a := openEmulated(t, p.la, o, transport.Hardware, &transport.NIC{Clock: ahead(3 * time.Second)})
			b := openEmulated(t, p.lb, o, transport.Hardware, &transport.NIC{Clock: ahead(5 * time.Second)})
			bEv, _ := chans(b)
			before := time.Now().UnixNano()
			tx, err := a.Event.SendEvent(message(0x00, 1), a.Primary)
			require.NoError(t, err)
			r := next(t, bEv)
			after := time.Now().UnixNano()
			require.True(t, r.info.HasTime)
			assert.GreaterOrEqual(t, tx, before+3e9, "transmit timestamp on the sender's PHC")
			assert.LessOrEqual(t, tx, after+3e9)
			assert.GreaterOrEqual(t, r.info.Time, before+5e9, "receive timestamp on the receiver's PHC")
			assert.LessOrEqual(t, r.info.Time, after+5e9)
			d := r.info.Time - tx - 2e9
			assert.True(t, d > 0 && d < int64(time.Millisecond), "one-way delay on veth %d ns", d)
		})
	}
	t.Run("one-step", func(t *testing.T) {
		a := openEmulated(t, p.la, openers[1], transport.OneStep, &transport.NIC{Clock: func(rt int64) int64 { return rt + 7e9 }})
		b := openIn(t, p.lb, openers[1])
		bEv, _ := chans(b)
		before := time.Now().UnixNano()
		_, err := a.Event.SendEvent(message(0x00, 2), a.Primary) // a Sync without the twoStep flag
		require.NoError(t, err)
		r := next(t, bEv)
		sec := int64(binary.BigEndian.Uint16(r.msg[34:]))<<32 | int64(binary.BigEndian.Uint32(r.msg[36:]))
		origin := sec*1e9 + int64(binary.BigEndian.Uint32(r.msg[40:]))
		assert.InDelta(t, before+7e9, origin, float64(10*time.Millisecond), "the card's transmit time in the Sync")
	})
	t.Run("late transmit timestamps", func(t *testing.T) {
		nic := &transport.NIC{Clock: func(rt int64) int64 { return rt }, TxLate: 1, TxLateBy: 30 * time.Millisecond}
		a := openEmulated(t, p.la, openers[1], transport.Hardware, nic)
		_, err := a.Event.SendEvent(message(0x00, 4), a.Primary)
		require.ErrorIs(t, err, transport.ErrTxTimestampTimeout, "held past tx_timestamp_timeout (20 ms)")
		time.Sleep(40 * time.Millisecond)
		nic.TxLate = 0
		_, err = a.Event.SendEvent(message(0x00, 5), a.Primary)
		require.NoError(t, err, "the next one is on time")
		st := a.Event.Stats()
		assert.Equal(t, uint64(1), st.TxLate, "the held one arrived late and was counted so")
		assert.Equal(t, uint64(1), st.TxTimeouts)
		assert.Equal(t, uint64(1), nic.LateTxTimestamps())
	})
	t.Run("lost transmit timestamps", func(t *testing.T) {
		nic := &transport.NIC{Clock: func(rt int64) int64 { return rt }, TxLoss: 1}
		a := openEmulated(t, p.la, openers[1], transport.Hardware, nic)
		_, err := a.Event.SendEvent(message(0x00, 3), a.Primary)
		require.Error(t, err)
		assert.True(t, errors.Is(err, transport.ErrTxTimestampTimeout), "%v", err)
		assert.Equal(t, uint64(1), nic.LostTxTimestamps())
		assert.Equal(t, uint64(1), a.Event.Stats().TxTimeouts)
	})
}
