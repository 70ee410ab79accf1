// Package nmea decodes the NMEA 0183 sentences in which a GPS receiver
// tells the time of day, for a grandmaster that pairs them with the
// receiver's pulse per second: RMC (the recommended minimum: time, fix
// status and date) and ZDA (time and date). It checks every sentence's
// checksum and fields, and never trusts a sentence it cannot check: a
// grandmaster that served a wrong second would mislead a whole fleet.
//
// It only decodes bytes. It opens no device, sets no serial line and
// reads no clock; the caller reads the receiver (a serial port, TCP, a
// pty in tests) and says when each byte arrived.
package nmea

import (
	"errors"
	"fmt"
	"time"
)

// MaxSentence is the longest line Scanner keeps. NMEA 0183 allows 82
// characters; receivers' proprietary sentences run longer, and are
// skipped whole.
const MaxSentence = 128

// Errors that callers test for with errors.Is.
var (
	// ErrChecksum: the sentence's checksum does not match its contents.
	ErrChecksum = errors.New("nmea: checksum mismatch")
	// ErrMalformed: not a sentence, or a field that cannot be read.
	ErrMalformed = errors.New("nmea: malformed sentence")
	// ErrUnsupported: a well-formed sentence of a type that tells no time
	// (GGA, GSV, ...), which callers skip.
	ErrUnsupported = errors.New("nmea: sentence type without time of day")
)

// Sentence is the time of day one sentence gave.
type Sentence struct {
	// Talker is the sender ("GP" GPS, "GN" several systems, "GL"
	// GLONASS, "GA" Galileo, "GB"/"BD" BeiDou ...), Type "RMC" or "ZDA".
	Talker, Type string
	// Time is the UTC time the sentence names, to its fraction of a
	// second. In an inserted leap second (seconds field 60) it is
	// 23:59:59 of the day and Leap is set: the UTC second is ambiguous, as
	// ts2phc also treats it.
	Time time.Time
	Leap bool
	// Valid says the receiver vouches for the time: RMC status A (and no
	// mode indicator N or E, no fix or dead reckoning). ZDA carries no
	// status and is always Valid; a caller should also require a valid
	// RMC before it trusts a ZDA-only receiver.
	Valid bool
}

// Parse decodes one sentence, "$GPRMC,...*hh", with or without its line
// ending. Sentences of types without time of day give ErrUnsupported.
func Parse(line []byte) (Sentence, error) {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if len(line) < 1+5+3 || line[0] != '$' {
		return Sentence{}, fmt.Errorf("%w: %q does not start with $ and an address", ErrMalformed, line)
	}
	star := len(line) - 3
	if line[star] != '*' {
		return Sentence{}, fmt.Errorf("%w: %q has no *hh checksum", ErrMalformed, line)
	}
	want, ok := hexByte(line[star+1], line[star+2])
	if !ok {
		return Sentence{}, fmt.Errorf("%w: %q: checksum %q is not hexadecimal", ErrMalformed, line, line[star+1:])
	}
	body := line[1:star]
	var sum byte
	for _, c := range body {
		sum ^= c
	}
	if sum != want {
		return Sentence{}, fmt.Errorf("%w: %q: computed %02X", ErrChecksum, line, sum)
	}
	f := fields(body)
	if len(f[0]) != 5 {
		return Sentence{}, fmt.Errorf("%w: %q: address %q", ErrMalformed, line, f[0])
	}
	s := Sentence{Talker: string(f[0][:2]), Type: string(f[0][2:])}
	var err error
	switch s.Type {
	case "RMC":
		err = s.rmc(f)
	case "ZDA":
		err = s.zda(f)
	default:
		return s, fmt.Errorf("%w: %s", ErrUnsupported, f[0])
	}
	if err != nil {
		return Sentence{}, fmt.Errorf("%w: %q: %v", ErrMalformed, line, err)
	}
	return s, nil
}

// rmc reads $xxRMC,hhmmss.ss,A,lat,N,lon,E,speed,course,ddmmyy,var,E[,mode].
func (s *Sentence) rmc(f [][]byte) error {
	if len(f) < 10 {
		return fmt.Errorf("RMC has %d fields, want at least 10", len(f))
	}
	if len(f[9]) != 6 {
		return fmt.Errorf("RMC date %q: want ddmmyy", f[9])
	}
	day, ok1 := digits(f[9][0:2])
	month, ok2 := digits(f[9][2:4])
	yy, ok3 := digits(f[9][4:6])
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("RMC date %q: want ddmmyy", f[9])
	}
	// Two-digit years: a receiver on this side of 2080 means 20yy, as
	// ts2phc takes it.
	if err := s.setTime(2000+yy, month, day, f[1]); err != nil {
		return err
	}
	switch string(f[2]) {
	case "A":
		s.Valid = true
	case "V":
	default:
		return fmt.Errorf("RMC status %q: want A or V", f[2])
	}
	if len(f) >= 13 && len(f[12]) > 0 && (f[12][0] == 'N' || f[12][0] == 'E') {
		s.Valid = false // no fix, or dead reckoning
	}
	return nil
}

// zda reads $xxZDA,hhmmss.ss,dd,mm,yyyy,zh,zm.
func (s *Sentence) zda(f [][]byte) error {
	if len(f) < 5 {
		return fmt.Errorf("ZDA has %d fields, want at least 5", len(f))
	}
	day, ok1 := digits(f[2])
	month, ok2 := digits(f[3])
	year, ok3 := digits(f[4])
	if !ok1 || !ok2 || !ok3 || len(f[4]) != 4 {
		return fmt.Errorf("ZDA date %q,%q,%q: want dd,mm,yyyy", f[2], f[3], f[4])
	}
	if err := s.setTime(year, month, day, f[1]); err != nil {
		return err
	}
	s.Valid = true
	return nil
}

// setTime reads hhmmss[.fff] on the given date.
func (s *Sentence) setTime(year, month, day int, hms []byte) error {
	if len(hms) < 6 {
		return fmt.Errorf("time %q: want hhmmss[.ss]", hms)
	}
	h, ok1 := digits(hms[0:2])
	m, ok2 := digits(hms[2:4])
	sec, ok3 := digits(hms[4:6])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return fmt.Errorf("time %q: want hhmmss[.ss]", hms)
	}
	var ns int
	if len(hms) > 6 {
		if hms[6] != '.' || len(hms) == 7 || len(hms) > 16 {
			return fmt.Errorf("time %q: bad fraction", hms)
		}
		frac, ok := digits(hms[7:])
		if !ok {
			return fmt.Errorf("time %q: bad fraction", hms)
		}
		ns = frac
		for i := len(hms) - 7; i < 9; i++ {
			ns *= 10
		}
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return fmt.Errorf("date %04d-%02d-%02d does not exist", year, month, day)
	}
	if sec == 60 {
		if h != 23 || m != 59 {
			return fmt.Errorf("time %q: a leap second only ends a day", hms)
		}
		s.Leap, sec = true, 59
	}
	s.Time = time.Date(year, time.Month(month), day, h, m, sec, ns, time.UTC)
	return nil
}

// daysIn is the number of days of month in year.
func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// fields splits a sentence body at its commas.
func fields(body []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range body {
		if c == ',' {
			out = append(out, body[start:i])
			start = i + 1
		}
	}
	return append(out, body[start:])
}

// digits reads a decimal number of at most nine digits.
func digits(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// hexByte reads two hexadecimal digits, either case.
func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// Scanner splits a receiver's byte stream into sentences: it keeps at
// most MaxSentence bytes of a line, drops what does not fit, and counts
// what it could not use.
type Scanner struct {
	line    []byte
	tooLong bool
	// Malformed counts lines that were not sentences or failed their
	// checksum; Skipped counts well-formed sentences of other types.
	Malformed, Skipped uint64
}

// Write feeds bytes as they arrive and calls f for every RMC or ZDA
// sentence that they complete. It never fails: bad input is counted.
func (sc *Scanner) Write(b []byte, f func(Sentence)) {
	for _, c := range b {
		switch {
		case c == '\n' || c == '\r':
			if len(sc.line) > 0 && !sc.tooLong {
				s, err := Parse(sc.line)
				switch {
				case err == nil:
					f(s)
				case errors.Is(err, ErrUnsupported):
					sc.Skipped++
				default:
					sc.Malformed++
				}
			} else if sc.tooLong {
				sc.Malformed++
			}
			sc.line, sc.tooLong = sc.line[:0], false
		case c == '$':
			// A new sentence starts, even over a line the receiver cut
			// short.
			if len(sc.line) > 0 {
				sc.Malformed++
			}
			sc.line, sc.tooLong = append(sc.line[:0], c), false
		case len(sc.line) >= MaxSentence:
			sc.tooLong = true
		case len(sc.line) > 0:
			sc.line = append(sc.line, c)
		}
	}
}
