package transport_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/transport"
)

// pair is two namespaces joined by a veth pair, 198.18.0.1 and .2.
type pair struct {
	a, b   *netns.NS
	la, lb netns.Link
}

func newPair(t *testing.T) pair {
	t.Helper()
	a, b := netns.New(t), netns.New(t)
	la, lb := netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
	return pair{a, b, la, lb}
}

type opener struct {
	name string
	open func(transport.Config) (*transport.Transport, error)
}

var openers = []opener{
	{"L2", transport.OpenL2},
	{"UDPv4", transport.OpenUDPv4},
	{"UDPv6", transport.OpenUDPv6},
}

// openIn opens a software-timestamping transport on link inside its
// namespace.
func openIn(t *testing.T, l netns.Link, o opener) *transport.Transport {
	t.Helper()
	var tr *transport.Transport
	err := l.NS.Do(func() error {
		var err error
		tr, err = o.open(transport.Config{Interface: l.Name, Timestamping: transport.Software})
		return err
	})
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// received is one message a reader goroutine got.
type received struct {
	msg  []byte
	info transport.RxInfo
	err  error
}

// reader receives on c until it is closed, sending what it gets.
func reader(c *transport.Conn) <-chan received {
	ch := make(chan received, 16384)
	go func() {
		buf := make([]byte, 1500)
		for {
			var info transport.RxInfo
			n, err := c.Receive(buf, &info)
			if err != nil {
				if !errors.Is(err, transport.ErrClosed) {
					ch <- received{err: err}
				}
				close(ch)
				return
			}
			ch <- received{msg: append([]byte(nil), buf[:n]...), info: info}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan received) received {
	t.Helper()
	select {
	case r, ok := <-ch:
		require.True(t, ok, "receiver closed")
		require.NoError(t, r.err)
		return r
	case <-time.After(2 * time.Second):
		t.Fatal("nothing received within 2 s")
	}
	return received{}
}

// message returns a PTP-shaped payload (the transport does not parse it).
func message(typ byte, seq uint16) []byte {
	b := make([]byte, 44)
	b[0], b[1] = typ, 2
	b[3] = 44
	b[30], b[31] = byte(seq>>8), byte(seq)
	return b
}

// chans returns a receiving channel for the event and the general
// connection of tr (the same one on L2).
func chans(tr *transport.Transport) (ev, gen <-chan received) {
	ev = reader(tr.Event)
	if tr.General == tr.Event {
		return ev, ev
	}
	return ev, reader(tr.General)
}

// TestTransportsBothWays sends event and general messages each way on
// every transport, to the primary and the peer delay destinations, and
// checks the timestamps: every event message gets a transmit timestamp,
// every message a receive timestamp, and the one-way delay on veth is
// positive and under a millisecond.
func TestTransportsBothWays(t *testing.T) {
	p := newPair(t)
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			ta, tb := openIn(t, p.la, o), openIn(t, p.lb, o)
			aEv, aGen := chans(ta)
			bEv, bGen := chans(tb)
			for _, dir := range []struct {
				name    string
				from    *transport.Transport
				ev, gen <-chan received
				srcV4   string
			}{{"a to b", ta, bEv, bGen, "198.18.0.1"}, {"b to a", tb, aEv, aGen, "198.18.0.2"}} {
				for i, dst := range []transport.Addr{dir.from.Primary, dir.from.PeerDelay} {
					msg := message(0x00, uint16(i))
					tx, err := dir.from.Event.SendEvent(msg, dst)
					require.NoError(t, err, dir.name)
					r := next(t, dir.ev)
					assert.Equal(t, msg, r.msg, dir.name)
					require.True(t, r.info.HasTime, "%s: receive timestamp", dir.name)
					d := r.info.Time - tx
					assert.Positive(t, d, "%s: RX after TX", dir.name)
					assert.Less(t, d, int64(time.Millisecond), "%s: one-way delay on veth", dir.name)
					switch o.name {
					case "L2":
						assert.True(t, r.info.Src.L2, dir.name)
					case "UDPv4":
						assert.Equal(t, dir.srcV4, r.info.Src.IP.String(), dir.name)
						assert.Equal(t, uint16(transport.EventPort), r.info.Src.Port)
					case "UDPv6":
						assert.True(t, r.info.Src.IP.IsLinkLocalUnicast(), "%s: %s", dir.name, r.info.Src)
					}

					gen := message(0x0b, uint16(i))
					require.NoError(t, dir.from.General.Send(gen, dst), dir.name)
					r = next(t, dir.gen)
					assert.Equal(t, gen, r.msg, dir.name)
					assert.True(t, r.info.HasTime, dir.name)
				}
				s := dir.from.Event.Stats()
				assert.Zero(t, s.TxTimeouts+s.TxMismatched, dir.name)
			}
			assert.Equal(t, uint64(2), ta.Event.Stats().TxTimestamps)
			assert.Equal(t, uint64(2), tb.Event.Stats().TxTimestamps)
		})
	}
}

// TestTxTimestampBurst sends 10,000 event messages back to back: every
// transmit timestamp must come back matched to its own packet, and every
// packet arrive.
func TestTxTimestampBurst(t *testing.T) {
	p := newPair(t)
	for _, o := range openers[:2] {
		t.Run(o.name, func(t *testing.T) {
			ta, tb := openIn(t, p.la, o), openIn(t, p.lb, o)
			// Room for the whole burst, so that a slow reader loses nothing.
			rc, err := tb.Event.SyscallConn()
			require.NoError(t, err)
			require.NoError(t, rc.Control(func(fd uintptr) {
				require.NoError(t, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20))
			}))
			ch := reader(tb.Event)
			const n = 10_000
			var last int64
			done := make(chan int)
			go func() {
				got := 0
				for r := range ch {
					if r.err != nil {
						break
					}
					got++
					if got == n {
						break
					}
				}
				done <- got
			}()
			for i := range n {
				tx, err := ta.Event.SendEvent(message(0x00, uint16(i)), ta.Primary)
				require.NoError(t, err, "message %d", i)
				require.GreaterOrEqual(t, tx, last, "message %d: timestamps go forward", i)
				last = tx
			}
			s := ta.Event.Stats()
			assert.Equal(t, uint64(n), s.TxTimestamps)
			assert.Zero(t, s.TxTimeouts)
			assert.Zero(t, s.TxMismatched)
			select {
			case got := <-done:
				assert.Equal(t, n, got, "all delivered")
			case <-time.After(10 * time.Second):
				t.Fatalf("receiver did not get all messages: %+v", tb.Event.Stats())
			}
		})
	}
}

// TestTxTimestampTimeout: with transmit timestamping switched off behind
// the transport's back, SendEvent times out after tx_timestamp_timeout with
// ptp4l's message, and the timeout is counted.
func TestTxTimestampTimeout(t *testing.T) {
	p := newPair(t)
	ta := openIn(t, p.la, openers[1])
	rc, err := ta.Event.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, rc.Control(func(fd uintptr) {
		require.NoError(t, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 0))
	}))
	start := time.Now()
	_, err = ta.Event.SendEvent(message(0, 1), ta.Primary)
	require.ErrorIs(t, err, transport.ErrTxTimestampTimeout)
	assert.Contains(t, err.Error(), "timed out while polling for tx timestamp")
	assert.GreaterOrEqual(t, time.Since(start), 10*time.Millisecond)
	assert.Equal(t, uint64(1), ta.Event.Stats().TxTimeouts)
}

// TestHardwareTimestampingOnVeth: veth has no hardware clock, and asking
// for hardware timestamps says so the way ptp4l does, with the way out.
func TestHardwareTimestampingOnVeth(t *testing.T) {
	p := newPair(t)
	for _, o := range openers {
		err := p.la.NS.Do(func() error {
			_, err := o.open(transport.Config{Interface: p.la.Name, Timestamping: transport.Hardware})
			return err
		})
		require.Error(t, err, o.name)
		assert.Contains(t, err.Error(), "interface '"+p.la.Name+"' does not support requested timestamping mode (hardware)", o.name)
		assert.Contains(t, err.Error(), "-S", o.name)
	}
	err := p.la.NS.Do(func() error {
		_, err := transport.OpenUDPv4(transport.Config{Interface: "nosuch0", Timestamping: transport.Software})
		return err
	})
	assert.ErrorContains(t, err, `interface "nosuch0" not found`)
}

// TestBridgeMulticast: three ports on one bridge. A message to the primary
// and to the peer delay destination reaches both other ports, on L2 (the
// bridge forwards 01:80:C2:00:00:0E only with group_fwd_mask) and UDPv4.
func TestBridgeMulticast(t *testing.T) {
	sw := netns.New(t)
	var hosts, bridgePorts []netns.Link
	for i := range 3 {
		h, p := netns.Veth(t, netns.New(t), fmt.Sprintf("198.18.0.%d", i+1), sw, "")
		hosts, bridgePorts = append(hosts, h), append(bridgePorts, p)
	}
	netns.Bridge(t, sw, bridgePorts...)
	for _, o := range openers[:2] {
		t.Run(o.name, func(t *testing.T) {
			var trs []*transport.Transport
			var evs []<-chan received
			for _, h := range hosts {
				tr := openIn(t, h, o)
				trs = append(trs, tr)
				ev, _ := chans(tr)
				evs = append(evs, ev)
			}
			for i, dst := range []transport.Addr{trs[0].Primary, trs[0].PeerDelay} {
				msg := message(0x02, uint16(i))
				_, err := trs[0].Event.SendEvent(msg, dst)
				require.NoError(t, err)
				for _, ch := range evs[1:] {
					r := next(t, ch)
					assert.Equal(t, msg, r.msg, "to %s", dst)
				}
			}
		})
	}
}

// TestOversizedDatagramDropped: a datagram larger than the receive buffer
// is counted and dropped, and the next message still arrives.
func TestOversizedDatagramDropped(t *testing.T) {
	p := newPair(t)
	ta, tb := openIn(t, p.la, openers[1]), openIn(t, p.lb, openers[1])
	buf := make([]byte, 1500)
	var info transport.RxInfo
	// A fresh veth can drop what is sent while its carrier comes up (on a
	// busy host, for a while): send the pair until the small one arrives,
	// never blocking in Receive.
	deadline := time.Now().Add(10 * time.Second)
	for got := false; !got; {
		require.True(t, time.Now().Before(deadline), "nothing arrived in 10 s")
		require.NoError(t, ta.SendGeneral(make([]byte, 2000), ta.Primary))
		require.NoError(t, ta.SendGeneral(message(0x0b, 9), ta.Primary))
		for wait := time.Now().Add(200 * time.Millisecond); time.Now().Before(wait); {
			n, err := tb.General.TryReceive(buf, &info)
			if errors.Is(err, transport.ErrWouldBlock) {
				time.Sleep(time.Millisecond)
				continue
			}
			require.NoError(t, err)
			// Only the small message is ever returned, never a cut one.
			require.Equal(t, message(0x0b, 9), buf[:n])
			got = true
		}
	}
	s := tb.General.Stats()
	assert.GreaterOrEqual(t, s.Dropped, uint64(1), "the 2000-byte datagram is counted as dropped")
	assert.GreaterOrEqual(t, s.Received, uint64(1))
	assert.LessOrEqual(t, s.Dropped, s.Received, "one oversized datagram went before each small one")
}

// TestTryReceive: without waiting, an empty socket says ErrWouldBlock and a
// queued message is returned with its timestamp.
func TestTryReceive(t *testing.T) {
	p := newPair(t)
	ta, tb := openIn(t, p.la, openers[1]), openIn(t, p.lb, openers[1])
	buf := make([]byte, 1500)
	var info transport.RxInfo
	_, err := tb.Event.TryReceive(buf, &info)
	require.ErrorIs(t, err, transport.ErrWouldBlock)
	fd, err := tb.Event.FD()
	require.NoError(t, err)
	assert.Positive(t, fd)
	_, err = ta.SendEvent(message(0, 3), ta.Primary)
	require.NoError(t, err)
	deadline := time.Now().Add(time.Second)
	for {
		n, err := tb.Event.TryReceive(buf, &info)
		if errors.Is(err, transport.ErrWouldBlock) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, message(0, 3), buf[:n])
		assert.True(t, info.HasTime)
		break
	}
}
