package tod

import (
	"io"

	"github.com/roko-network/roko-ptpd/internal/nmea"
)

// nmeaStream turns bytes read from a receiver into Reports. One goroutine
// (Run's) uses it; its counts go to the shared atomics.
type nmeaStream struct {
	c       *counters
	sc      nmea.Scanner
	buf     []byte
	now     int64               // receipt time of the read being scanned
	deliver func(Report)        // Run's callback
	emit    func(nmea.Sentence) // s.sentence, bound once so a read allocates nothing
	// seen are the Scanner's counts already added to c.
	seenMalformed, seenSkipped uint64
	// rmcValid is when the last RMC with a fix arrived (0: none, or the
	// last RMC had none).
	rmcValid int64
}

// zdaTrust is how long after a valid RMC a ZDA is believed: ZDA has no
// status field, so a receiver that has lost its fix keeps sending it
// (ts2phc reads RMC alone for that reason).
const zdaTrust = 2e9

func newNMEAStream(c *counters) *nmeaStream {
	s := &nmeaStream{c: c, buf: make([]byte, 512)}
	s.emit = s.sentence
	return s
}

// read reads r until it fails, delivering every report it completes. It
// returns the read's error and whether any byte arrived.
func (s *nmeaStream) read(r io.Reader, deliver func(Report)) (got bool, err error) {
	s.deliver = deliver
	for {
		n, err := r.Read(s.buf)
		if n > 0 {
			got = true
			s.now = monotonic()
			s.sc.Write(s.buf[:n], s.emit)
			s.c.malformed.Add(s.sc.Malformed - s.seenMalformed)
			s.c.skipped.Add(s.sc.Skipped - s.seenSkipped)
			s.seenMalformed, s.seenSkipped = s.sc.Malformed, s.sc.Skipped
		}
		if err != nil {
			return got, err
		}
	}
}

func (s *nmeaStream) sentence(n nmea.Sentence) {
	s.c.accepted.Add(1)
	valid := n.Valid
	switch n.Type {
	case "RMC":
		s.rmcValid = 0
		if n.Valid {
			s.rmcValid = s.now
		}
	case "ZDA":
		valid = valid && s.rmcValid != 0 && s.now-s.rmcValid <= zdaTrust
	}
	s.deliver(Report{UTC: n.Time, Leap: n.Leap, Valid: valid, Received: s.now, Source: "nmea"})
}

// restart forgets a partial line, for a new connection: the old one's
// cut-off sentence must not join the new one's first.
func (s *nmeaStream) restart() {
	s.sc = nmea.Scanner{}
	s.seenMalformed, s.seenSkipped, s.rmcValid = 0, 0, 0
}
