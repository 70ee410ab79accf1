package tod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// dialTimeout bounds one connection attempt of the network readers.
const dialTimeout = 5 * time.Second

// NMEAOverTCP reads NMEA sentences from a receiver (or a serial-to-network
// bridge) that serves them over TCP, as ts2phc does with
// ts2phc.nmea_remote_host and ts2phc.nmea_remote_port. It connects again,
// with backoff, whenever the peer goes away.
type NMEAOverTCP struct {
	addr string
	// Log, when set, is called from Run with each failed connection
	// attempt and each lost connection (the error names the address)
	// before Run waits to connect again.
	Log func(error)

	c  counters
	s  *nmeaStream
	b  backoff
	cl closer
}

var _ Reader = (*NMEAOverTCP)(nil)

// DialNMEA returns a reader of the NMEA stream at host:port. It connects
// when Run starts.
func DialNMEA(host, port string) *NMEAOverTCP {
	r := &NMEAOverTCP{
		addr: net.JoinHostPort(host, port),
		b:    backoff{min: minBackoff, max: maxBackoff},
		cl:   newCloser(),
	}
	r.s = newNMEAStream(&r.c)
	return r
}

// Run connects and reads until ctx ends or Close is called, then returns
// nil. Connection failures are counted, logged (Log) and retried.
func (r *NMEAOverTCP) Run(ctx context.Context, deliver func(Report)) error {
	ctx, cancel := r.cl.runContext(ctx)
	defer cancel()
	return reconnect(ctx, r.addr, &r.c, &r.b, r.Log, func(conn net.Conn) (bool, error) {
		r.s.restart()
		return r.s.read(conn, deliver)
	})
}

// Counters returns the counts so far.
func (r *NMEAOverTCP) Counters() Counters { return r.c.load() }

// Close stops Run, which closes the connection.
func (r *NMEAOverTCP) Close() error {
	r.cl.close()
	return nil
}

// reconnect is the network readers' loop: connect to addr, let serve read
// the connection until it fails, and connect again after the backoff,
// until ctx ends. serve says whether any data arrived: then the backoff
// starts over.
func reconnect(ctx context.Context, addr string, c *counters, b *backoff, log func(error),
	serve func(net.Conn) (bool, error)) error {
	d := net.Dialer{Timeout: dialTimeout}
	connected := false
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return nil
		}
		if err != nil {
			c.readErrors.Add(1)
			if log != nil {
				log(fmt.Errorf("tod: connecting to %s: %w", addr, err))
			}
		} else {
			if connected {
				c.reconnects.Add(1)
			}
			connected = true
			// A deadline in the past wakes the read when ctx ends.
			stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
			got, err := serve(conn)
			stop()
			conn.Close()
			if ctx.Err() != nil {
				return nil
			}
			c.readErrors.Add(1)
			if log != nil {
				if errors.Is(err, io.EOF) {
					err = errors.New("the peer closed the connection")
				}
				log(fmt.Errorf("tod: reading from %s: %w", addr, err))
			}
			if got {
				b.reset()
			}
		}
		if !b.wait(ctx) {
			return nil
		}
	}
}

// Backoff between connection attempts of the network readers: from
// minBackoff, doubled after each failure up to maxBackoff, and back to
// minBackoff once a connection has delivered data.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 8 * time.Second
)

// backoff is the wait before the next connection attempt.
type backoff struct {
	min, max, next time.Duration
}

func (b *backoff) reset() { b.next = b.min }

// wait sleeps for the current delay (false if ctx ends first) and doubles
// it for the next time.
func (b *backoff) wait(ctx context.Context) bool {
	if b.next < b.min {
		b.next = b.min
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.max)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
