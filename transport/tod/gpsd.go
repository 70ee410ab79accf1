package tod

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// DefaultGPSD is gpsd's address when none is given.
const DefaultGPSD = "127.0.0.1:2947"

// watchCommand asks gpsd for its JSON reports of every device. It does
// not ask for PPS (pps:true): gpsd's PPS and TOFF reports pair a pulse or
// a sentence with CLOCK_REALTIME, the clock a grandmaster may be
// steering, and the pulse itself is read by the caller, not through gpsd.
// If gpsd sends them anyway (another client's settings do not leak, but a
// newer gpsd might), they are skipped.
const watchCommand = `?WATCH={"enable":true,"json":true};` + "\n"

// maxGPSDLine is the longest gpsd line kept; gpsd's own limit for one
// report is a few kilobytes (a SKY with many satellites). Longer lines
// are counted as malformed and skipped whole.
const maxGPSDLine = 16 << 10

// GPSD reads the time of day from gpsd's TPV reports over its JSON
// protocol. It connects again, with backoff, whenever gpsd goes away.
//
// A report's Received is when gpsd's line arrived, which is later than
// the receiver's sentence by gpsd's own processing. gpsd's TOFF and PPS
// reports are not used (nor asked for): they pair a sentence or a pulse
// with CLOCK_REALTIME, which a grandmaster may itself be steering, and
// the grandmaster reads its pulse directly. TAI−UTC is known only when
// the receiver tells gpsd (u-blox UBX-NAV-TIMEGPS/TIMELS, SiRF, Trimble
// and other binary protocols); from NMEA RMC/ZDA alone gpsd cannot learn
// it and prints no leapseconds.
type GPSD struct {
	addr string
	// Log, when set, is called from Run with each failed connection
	// attempt, each lost connection and each ERROR gpsd reports.
	Log func(error)

	c  counters
	b  backoff
	cl closer
	br *bufio.Reader
}

var _ Reader = (*GPSD)(nil)

// DialGPSD returns a reader of gpsd at addr ("host:port"; "" means
// DefaultGPSD). It connects when Run starts.
func DialGPSD(addr string) *GPSD {
	if addr == "" {
		addr = DefaultGPSD
	}
	return &GPSD{addr: addr, b: backoff{min: minBackoff, max: maxBackoff}, cl: newCloser()}
}

// Run connects, asks gpsd to watch, and reads until ctx ends or Close is
// called, then returns nil. Every TPV with a time is delivered; failures
// are counted, logged (Log) and retried.
func (g *GPSD) Run(ctx context.Context, deliver func(Report)) error {
	ctx, cancel := g.cl.runContext(ctx)
	defer cancel()
	return reconnect(ctx, g.addr, &g.c, &g.b, g.Log, func(conn net.Conn) (bool, error) {
		if _, err := conn.Write([]byte(watchCommand)); err != nil {
			return false, fmt.Errorf("sending ?WATCH: %w", err)
		}
		return g.serve(conn, deliver)
	})
}

// serve reads gpsd's lines from conn until it fails.
func (g *GPSD) serve(conn net.Conn, deliver func(Report)) (got bool, err error) {
	if g.br == nil {
		g.br = bufio.NewReaderSize(conn, maxGPSDLine)
	} else {
		g.br.Reset(conn)
	}
	long := false // within a line too long to keep
	for {
		line, err := g.br.ReadSlice('\n')
		now := monotonic()
		if len(line) > 0 {
			got = true
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !long {
				g.c.malformed.Add(1)
			}
			long = true
			continue
		case err != nil:
			return got, err
		case long:
			long = false // the end of the line too long
			continue
		}
		rep, ok, err := decodeGPSD(line)
		switch {
		case errors.Is(err, errGPSDError):
			g.c.skipped.Add(1)
			if g.Log != nil {
				g.Log(fmt.Errorf("tod: gpsd %s: %w", g.addr, err))
			}
		case err != nil:
			g.c.malformed.Add(1)
		case !ok:
			g.c.skipped.Add(1)
		default:
			rep.Received = now
			g.c.accepted.Add(1)
			deliver(rep)
		}
	}
}

// Counters returns the counts so far.
func (g *GPSD) Counters() Counters { return g.c.load() }

// Close stops Run, which closes the connection.
func (g *GPSD) Close() error {
	g.cl.close()
	return nil
}

// errGPSDError marks gpsd's own ERROR reports.
var errGPSDError = errors.New("gpsd reports an error")

// gpsdLine holds the fields of a gpsd report that this package reads;
// encoding/json skips the rest.
type gpsdLine struct {
	Class string `json:"class"`
	// TPV: the time (ISO 8601, UTC), the fix mode (0 unknown, 1 no fix,
	// 2 2D, 3 3D), and GPS−UTC in seconds when the receiver said it
	// (gpsd 3.20 and later print it only then).
	Time        string `json:"time"`
	Mode        int    `json:"mode"`
	Leapseconds *int   `json:"leapseconds"`
	// ERROR
	Message string `json:"message"`
}

// gpsToTAI is TAI−GPS: GPS time started in 1980 at TAI−19 s.
const gpsToTAI = 19

// decodeGPSD decodes one line of gpsd's JSON protocol. A TPV with a time
// gives a Report (ok) without its Received; other reports give !ok and
// no error (ERROR gives errGPSDError); a line that is not a JSON object
// with a class, or a TPV whose time cannot be read, gives an error.
func decodeGPSD(line []byte) (rep Report, ok bool, err error) {
	var m gpsdLine
	if err := json.Unmarshal(line, &m); err != nil {
		return Report{}, false, fmt.Errorf("gpsd line: %w", err)
	}
	switch m.Class {
	case "":
		return Report{}, false, errors.New("gpsd line without class")
	case "ERROR":
		return Report{}, false, fmt.Errorf("%w: %q", errGPSDError, m.Message)
	case "TPV":
	default:
		// VERSION, DEVICES, DEVICE, WATCH, SKY, TOFF, PPS, ...
		return Report{}, false, nil
	}
	if m.Time == "" {
		return Report{}, false, nil // no time yet
	}
	t, leap, err := parseGPSDTime(m.Time)
	if err != nil {
		return Report{}, false, err
	}
	rep = Report{UTC: t, Leap: leap, Valid: m.Mode >= 2, Source: "gpsd"}
	if m.Leapseconds != nil {
		rep.UTCOffset, rep.UTCOffsetKnown = *m.Leapseconds+gpsToTAI, true
	}
	return rep, true, nil
}

// parseGPSDTime reads a TPV time, "2024-06-30T12:00:00.000Z". gpsd prints
// UTC from a struct tm and so never prints a second 60, but should one
// come, it is read as ts2phc and package nmea read it: 23:59:59 with Leap.
func parseGPSDTime(s string) (time.Time, bool, error) {
	leap := false
	if len(s) >= 19 && s[10] == 'T' && s[17:19] == "60" {
		if s[11:16] != "23:59" {
			return time.Time{}, false, fmt.Errorf("gpsd TPV time %q: a leap second only ends a day", s)
		}
		var b [40]byte
		if len(s) > len(b) {
			return time.Time{}, false, fmt.Errorf("gpsd TPV time %q: too long", s)
		}
		n := copy(b[:], s)
		b[17], b[18] = '5', '9'
		s, leap = string(b[:n]), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("gpsd TPV time %q: %w", s, err)
	}
	return t.UTC(), leap, nil
}
