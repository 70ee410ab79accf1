package leap

import "time"

// leapDays are the UTC dates from which each leap second so far counts:
// every one was inserted (+1) at the end of the day before, 30 June or
// 31 December, as IERS Bulletin C announced them.
var leapDays = []struct {
	year  int
	month time.Month
}{
	{1972, time.July}, {1973, time.January}, {1974, time.January},
	{1975, time.January}, {1976, time.January}, {1977, time.January},
	{1978, time.January}, {1979, time.January}, {1980, time.January},
	{1981, time.July}, {1982, time.July}, {1983, time.July},
	{1985, time.July}, {1988, time.January}, {1990, time.January},
	{1991, time.January}, {1992, time.July}, {1993, time.July},
	{1994, time.July}, {1996, time.January}, {1997, time.July},
	{1999, time.January}, {2006, time.January}, {2009, time.January},
	{2012, time.July}, {2015, time.July}, {2017, time.January},
}

// builtin is built once: a Table is immutable.
var builtin = func() *Table {
	// UTC as defined today began on 1 January 1972 with TAI−UTC = 10 s.
	t := &Table{name: "built-in", entries: []entry{{start: time.Date(1972, time.January, 1, 0, 0, 0, 0, time.UTC).Unix(), offset: 10}}}
	for i, d := range leapDays {
		t.entries = append(t.entries, entry{start: time.Date(d.year, d.month, 1, 0, 0, 0, 0, time.UTC).Unix(), offset: 11 + i})
	}
	return t
}()

// Builtin is the table of the leap seconds known when this was written,
// the last at the end of 2016 (TAI−UTC 37 s from 2017-01-01). It makes no
// expiry claim (Expires is zero, Expired is always true): a program cannot
// know the leap seconds announced after it was built, so callers should
// use its offset as a best guess, announced with currentUtcOffsetValid
// false, unless a current leap-seconds.list or the GPS receiver confirms
// it.
func Builtin() *Table { return builtin }
