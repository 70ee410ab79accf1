package tod

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roko-network/roko-ptpd/phc"
)

// Report is one time-of-day report.
type Report struct {
	// UTC is the UTC second the report names, with the fraction the
	// source gave. In an inserted leap second (23:59:60) it holds
	// 23:59:59 of that day and Leap is set.
	UTC time.Time
	// Leap says the report named 23:59:60.
	Leap bool
	// Valid says the receiver vouches for the time: RMC status A (ZDA
	// carries no status and is always Valid), or gpsd mode 2 or 3 (a
	// fix) with a time.
	Valid bool
	// Received is the CLOCK_MONOTONIC time in nanoseconds at which the
	// read that completed the report returned.
	Received int64

	// UTCOffset is TAI−UTC in seconds, and UTCOffsetKnown says the source
	// told it (gpsd does when the receiver reports leap seconds); both
	// are zero otherwise. NMEA RMC and ZDA cannot say.
	UTCOffset      int
	UTCOffsetKnown bool

	// Source is "nmea" or "gpsd".
	Source string
}

// Counters are a reader's counts since it was made.
type Counters struct {
	// Accepted counts reports delivered.
	Accepted uint64
	// Malformed counts lines that could not be used: a bad NMEA checksum
	// or an unreadable sentence, a gpsd line that is not JSON or a TPV
	// with an unreadable time, a line too long to keep.
	Malformed uint64
	// Skipped counts well-formed lines that tell no time of day: NMEA
	// sentences of other types; gpsd's VERSION, DEVICES, WATCH, SKY ...
	// and TPVs without a time.
	Skipped uint64
	// ReadErrors counts failed reads and failed connection attempts,
	// and peers that closed the connection.
	ReadErrors uint64
	// Reconnects counts connections made after the first.
	Reconnects uint64
}

// Reader is a source of time-of-day reports.
type Reader interface {
	// Run reads until ctx ends (or Close is called) and calls deliver,
	// from Run's goroutine, with each report as it completes. deliver
	// must return promptly: the receiver does not wait.
	Run(ctx context.Context, deliver func(Report)) error
	// Counters returns the counts so far; any goroutine may call it.
	Counters() Counters
	// Close stops Run and releases the device or connection.
	Close() error
}

// counters is Counters kept with atomics, so that Counters may be read
// while Run counts.
type counters struct {
	accepted, malformed, skipped, readErrors, reconnects atomic.Uint64
}

func (c *counters) load() Counters {
	return Counters{
		Accepted:   c.accepted.Load(),
		Malformed:  c.malformed.Load(),
		Skipped:    c.skipped.Load(),
		ReadErrors: c.readErrors.Load(),
		Reconnects: c.reconnects.Load(),
	}
}

// monotonic returns CLOCK_MONOTONIC in nanoseconds.
func monotonic() int64 { return phc.Monotonic() }

// closer lets Close end a Run that is under way, whichever goroutine
// calls it, and makes Close idempotent.
type closer struct {
	once sync.Once
	done chan struct{}
}

func newCloser() closer { return closer{done: make(chan struct{})} }

func (c *closer) close() (first bool) {
	c.once.Do(func() { close(c.done); first = true })
	return first
}

// closed says Close has been called.
func (c *closer) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// runContext is ctx, also cancelled when Close is called.
func (c *closer) runContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
