package leap

import (
	"bufio"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParseError is a problem with one line of a leap-seconds.list file.
type ParseError struct {
	Name string // the file's name as given to Parse
	Line int    // 1-based; 0 when the problem is the file as a whole
	Err  error
}

// Error names the file and, when there is one, the line.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s line %d: %v", e.Name, e.Line, e.Err)
}

// Unwrap gives the problem without its place, for errors.Is.
func (e *ParseError) Unwrap() error { return e.Err }

// ErrHash is wrapped by the error of a file whose #h line does not match
// its contents.
var ErrHash = errors.New("hash does not match the file's data")

// Limits that keep a hostile file from overflowing Unix seconds or
// time.Time: NTP timestamps run to 2036 in era 0, and TAI−UTC is tens of
// seconds.
const (
	maxNTP    = 1 << 40
	maxOffset = 1000
	maxLine   = 4096
)

// Parse reads tzdata's leap-seconds.list (the IERS list of leap seconds),
// named name in errors:
//
//	#$	3960835200           when the file was last updated (NTP seconds)
//	#@	3991593600           when it expires (NTP seconds)
//	2272060800	10	# 1 Jan 1972   from this NTP second, TAI−UTC is 10 s
//	#h	49db2447 571e5e1b ... SHA-1 of the data
//
// NTP seconds count from 1900-01-01 00:00 UTC. Other lines starting with #
// are comments. The #h line is required and checked as the file's comments
// describe: SHA-1 over the digits of the #$ and #@ values and of both
// fields of every data line, in file order, printed as five 32-bit words
// whose leading zeros may be dropped. A mismatch means the file was edited
// or damaged, and is an error naming the #h line. Entries must be UTC
// midnights in increasing order, each changing TAI−UTC by one second.
func Parse(r io.Reader, name string) (*Table, error) {
	t := &Table{name: name}
	p := parser{name: name, h: sha1.New()}
	var hashLine int
	var want [5]uint32
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	for sc.Scan() {
		p.line++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#$"):
			s, err := p.ntp(line[2:], "#$ (last update)")
			if err != nil {
				return nil, err
			}
			if !t.updated.IsZero() {
				return nil, p.errorf("a second #$ (last update) line")
			}
			t.updated = time.Unix(s, 0).UTC()
		case strings.HasPrefix(line, "#@"):
			s, err := p.ntp(line[2:], "#@ (expiry)")
			if err != nil {
				return nil, err
			}
			if !t.expires.IsZero() {
				return nil, p.errorf("a second #@ (expiry) line")
			}
			t.expires = time.Unix(s, 0).UTC()
		case strings.HasPrefix(line, "#h"):
			if hashLine != 0 {
				return nil, p.errorf("a second #h (hash) line; the first is line %d", hashLine)
			}
			hashLine = p.line
			f := strings.Fields(line[2:])
			if len(f) != len(want) {
				return nil, p.errorf("#h (hash): want 5 hexadecimal words, got %q", strings.TrimSpace(line[2:]))
			}
			for i, w := range f {
				v, err := strconv.ParseUint(w, 16, 32)
				if err != nil {
					return nil, p.errorf("#h (hash): %q is not a 32-bit hexadecimal word", w)
				}
				want[i] = uint32(v)
			}
		case strings.HasPrefix(line, "#"):
		default:
			if err := p.data(t, line); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{Name: name, Line: p.line + 1, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		}
		return nil, &ParseError{Name: name, Err: err}
	}
	if len(t.entries) == 0 {
		return nil, &ParseError{Name: name, Err: errors.New("no leap second entries")}
	}
	if hashLine == 0 {
		return nil, &ParseError{Name: name, Err: errors.New("no #h (hash) line, so the file cannot be checked")}
	}
	var got [5]uint32
	sum := p.h.Sum(nil)
	for i := range got {
		got[i] = binary.BigEndian.Uint32(sum[4*i:])
	}
	if got != want {
		return nil, &ParseError{Name: name, Line: hashLine, Err: fmt.Errorf("%w (the data hashes to %08x %08x %08x %08x %08x): the file was edited or damaged", ErrHash, got[0], got[1], got[2], got[3], got[4])}
	}
	return t, nil
}

// parser holds what Parse needs across lines.
type parser struct {
	name string
	line int
	h    hash.Hash
}

func (p *parser) errorf(format string, a ...any) error {
	return &ParseError{Name: p.name, Line: p.line, Err: fmt.Errorf(format, a...)}
}

// number parses a field of decimal digits and feeds it to the hash; the
// hash covers digits only, so a field with anything else is refused
// rather than hashed differently from what it means.
func (p *parser) number(field, what string, limit uint64) (uint64, error) {
	v, err := strconv.ParseUint(field, 10, 64)
	if err != nil || field[0] == '+' || v > limit {
		return 0, p.errorf("%s: %q is not a number of at most %d", what, field, limit)
	}
	_, _ = p.h.Write([]byte(field))
	return v, nil
}

// ntp parses the value of a #$ or #@ line as Unix seconds.
func (p *parser) ntp(rest, what string) (int64, error) {
	f := strings.Fields(rest)
	if len(f) != 1 {
		return 0, p.errorf("%s: want one NTP timestamp, got %q", what, strings.TrimSpace(rest))
	}
	v, err := p.number(f[0], what, maxNTP)
	if err != nil {
		return 0, err
	}
	return int64(v) - ntpEpochOffset, nil
}

// data parses "NTP-seconds TAI-UTC [# comment]" and appends the entry.
func (p *parser) data(t *Table, line string) error {
	if k := strings.IndexByte(line, '#'); k >= 0 {
		line = line[:k]
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	if len(f) != 2 {
		return p.errorf("want \"NTP-seconds TAI-UTC\", got %q", strings.TrimSpace(line))
	}
	ntp, err := p.number(f[0], "NTP seconds", maxNTP)
	if err != nil {
		return err
	}
	off, err := p.number(f[1], "TAI-UTC", maxOffset)
	if err != nil {
		return err
	}
	e := entry{start: int64(ntp) - ntpEpochOffset, offset: int(off)}
	if e.start%86400 != 0 {
		return p.errorf("NTP second %d is not a UTC midnight", ntp)
	}
	if n := len(t.entries); n > 0 {
		last := t.entries[n-1]
		if e.start <= last.start {
			return p.errorf("NTP second %d does not follow the entry before (%d)", ntp, last.start+ntpEpochOffset)
		}
		if d := e.offset - last.offset; d != 1 && d != -1 {
			return p.errorf("TAI-UTC goes from %d to %d; a leap second changes it by one", last.offset, e.offset)
		}
	}
	t.entries = append(t.entries, e)
	return nil
}
