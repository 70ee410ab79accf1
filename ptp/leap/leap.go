// Package leap knows TAI−UTC, the offset a grandmaster announces as
// currentUtcOffset, and when a leap second is coming, which it announces
// with the leap61 and leap59 flags (IEEE 1588-2019 8.2.4). A GPS receiver
// gives TAI−UTC too, but only after it has downloaded the almanac (up to
// 12.5 minutes after a cold start), and some receivers never report an
// upcoming leap second; the table fills those gaps.
//
// The table comes from the IERS list tzdata ships as leap-seconds.list
// (Parse, Load) or, failing that, from the leap seconds compiled in
// (Builtin). Only a file can say how long it stays true: see Expired.
//
// The package does no I/O except Load, which reads a file for Parse.
package leap

import (
	"fmt"
	"os"
	"sort"
	"time"
)

// ntpEpochOffset is how many seconds the NTP epoch (1900-01-01 UTC), the
// origin of leap-seconds.list's timestamps, lies before the Unix epoch.
const ntpEpochOffset = 2208988800

// AnnounceWindow is how long before a leap second Pending reports it.
//
// IEEE 1588 leaves the lead time to the profile. linuxptp receivers (ptp4l's
// grandmaster path and phc2sys) take a leap flag only after 06:00 UTC of the
// day it applies to and drop it once midnight has passed; a flag raised
// earlier is treated as a late leftover of the previous day's event. Twelve
// hours (from 12:00 UTC) sits well inside that window and matches the
// common practice of announcing a leap second during the last half day.
const AnnounceWindow = 12 * time.Hour

// entry says that from Start (Unix seconds, a UTC midnight) TAI−UTC is
// Offset.
type entry struct {
	start  int64
	offset int
}

// Table is a list of TAI−UTC offsets and the instants they took effect.
// A Table is immutable; its methods are safe for concurrent use.
type Table struct {
	name    string
	entries []entry // sorted by start; never empty
	updated time.Time
	expires time.Time
}

// Load reads and checks a leap-seconds.list file (see Parse).
func Load(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Name is the file the table was read from, or "built-in".
func (t *Table) Name() string { return t.name }

// Updated is when the file says it was last updated (zero if it does not
// say).
func (t *Table) Updated() time.Time { return t.updated }

// Expires is the instant after which the file no longer vouches for its
// list: a leap second may have been scheduled that it does not show. It is
// zero when unknown, as for Builtin.
func (t *Table) Expires() time.Time { return t.expires }

// Expired reports whether the table can no longer vouch for the offset at
// now: now is at or past its expiry, or the table never claimed one
// (Builtin). A grandmaster should not announce currentUtcOffsetValid from
// an expired table alone.
func (t *Table) Expired(now time.Time) bool {
	return t.expires.IsZero() || !now.Before(t.expires)
}

// find returns the index of the entry in effect at Unix second s, or -1
// before the first entry.
func (t *Table) find(s int64) int {
	return sort.Search(len(t.entries), func(i int) bool { return t.entries[i].start > s }) - 1
}

// Offset is TAI−UTC in effect at the UTC instant utc. Before the first
// entry (1972, when UTC took its present form) it is the first entry's
// offset, 10 s in the real tables; earlier instants have no whole-second
// answer.
func (t *Table) Offset(utc time.Time) int {
	i := t.find(utc.Unix())
	if i < 0 {
		i = 0
	}
	return t.entries[i].offset
}

// OffsetAtTAI is TAI−UTC at taiSeconds, seconds of TAI since 1970-01-01
// 00:00:00 TAI (the PTP timescale's seconds), so that UTC (Unix seconds) is
// taiSeconds minus the result.
//
// During an inserted leap second (23:59:60) it already gives the new
// offset, so the UTC result reads 23:59:59 a second time, as the Linux
// kernel's clock does. After a deleted second it gives the new offset from
// the first TAI second that is 00:00:00 UTC.
func (t *Table) OffsetAtTAI(taiSeconds int64) int {
	// Entry i takes effect at TAI start+min(old, new): for an insertion
	// that is the leap second itself, for a deletion midnight.
	i := sort.Search(len(t.entries), func(i int) bool {
		e := t.entries[i]
		o := e.offset
		if i > 0 {
			o = min(o, t.entries[i-1].offset)
		}
		return e.start+int64(o) > taiSeconds
	}) - 1
	if i < 0 {
		i = 0
	}
	return t.entries[i].offset
}

// Next is the next change of TAI−UTC after utc: when it takes effect (a
// UTC midnight) and by how much (+1 for an inserted second). ok is false
// when the table knows of none, which for an expired table says nothing
// about the future.
func (t *Table) Next(utc time.Time) (when time.Time, delta int, ok bool) {
	i := t.find(utc.Unix()) + 1
	if i < 1 {
		// The first entry is where the table starts, not a leap second.
		i = 1
	}
	if i >= len(t.entries) {
		return time.Time{}, 0, false
	}
	e := t.entries[i]
	return time.Unix(e.start, 0).UTC(), e.offset - t.entries[i-1].offset, true
}

// Pending is the leap second at the end of the UTC day containing utc, as
// IEEE 1588's flags announce it: +1 (leap61, the last minute has 61
// seconds) or −1 (leap59), but only within AnnounceWindow before midnight;
// 0 otherwise.
func (t *Table) Pending(utc time.Time) (leap int) {
	s := utc.Unix()
	midnight := (floorDiv(s, 86400) + 1) * 86400
	if midnight-s > int64(AnnounceWindow/time.Second) {
		return 0
	}
	when, delta, ok := t.Next(utc)
	if !ok || when.Unix() != midnight {
		return 0
	}
	return delta
}

// WithLeap returns a copy of the table with a leap second of delta (+1 or
// −1) ending the UTC day before utcMidnight, shifting every later offset by
// delta. It is for simulating a leap second at a chosen date; the copy keeps
// the original expiry.
func (t *Table) WithLeap(utcMidnight time.Time, delta int) (*Table, error) {
	s := utcMidnight.Unix()
	switch {
	case delta != 1 && delta != -1:
		return nil, fmt.Errorf("leap second of %d s: a leap second is +1 or -1", delta)
	case s%86400 != 0 || utcMidnight.Nanosecond() != 0:
		return nil, fmt.Errorf("leap second at %s: not a UTC midnight", utcMidnight.UTC().Format(time.RFC3339Nano))
	case s <= t.entries[0].start:
		return nil, fmt.Errorf("leap second at %s: before the table starts", utcMidnight.UTC().Format(time.RFC3339))
	}
	i := t.find(s)
	if t.entries[i].start == s {
		return nil, fmt.Errorf("leap second at %s: the table has one there", utcMidnight.UTC().Format(time.RFC3339))
	}
	c := *t
	c.entries = make([]entry, 0, len(t.entries)+1)
	c.entries = append(c.entries, t.entries[:i+1]...)
	c.entries = append(c.entries, entry{start: s, offset: t.entries[i].offset + delta})
	for _, e := range t.entries[i+1:] {
		c.entries = append(c.entries, entry{start: e.start, offset: e.offset + delta})
	}
	return &c, nil
}

// floorDiv is a/b rounded towards minus infinity, so that instants before
// 1970 fall in the right day.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
