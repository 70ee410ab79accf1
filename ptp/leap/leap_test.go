package leap

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const systemFile = "/usr/share/zoneinfo/leap-seconds.list"

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// systemText is tzdata's list, which every Debian machine has; CI must
// have it.
func systemText(t *testing.T) string {
	b, err := os.ReadFile(systemFile)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tzdata's leap-seconds.list: %v", err)
		}
		t.Skipf("tzdata's leap-seconds.list: %v (install tzdata)", err)
	}
	return string(b)
}

// synthetic writes a leap-seconds.list from NTP-second/offset pairs with
// its #h line, hashing as the IERS README describes, independently of
// Parse.
func synthetic(updated, expires uint64, pairs ...uint64) string {
	var b strings.Builder
	digits := fmt.Sprint(updated, expires)
	digits = strings.ReplaceAll(digits, " ", "")
	fmt.Fprintf(&b, "# a test list\n#$\t%d\n#@\t%d\n#\n", updated, expires)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "%d\t%d\t# entry %d\n", pairs[i], pairs[i+1], i/2)
		digits += fmt.Sprint(pairs[i]) + fmt.Sprint(pairs[i+1])
	}
	sum := sha1.Sum([]byte(digits))
	b.WriteString("#h\t")
	for i := 0; i < 20; i += 4 {
		// The IERS prints words without leading zeros.
		fmt.Fprintf(&b, "%x ", uint32(sum[i])<<24|uint32(sum[i+1])<<16|uint32(sum[i+2])<<8|uint32(sum[i+3]))
	}
	b.WriteString("\n")
	return b.String()
}

// builtinText is the built-in table as a file expiring 2026-06-28.
func builtinText() string {
	var pairs []uint64
	for _, e := range Builtin().entries {
		pairs = append(pairs, uint64(e.start+ntpEpochOffset), uint64(e.offset))
	}
	return synthetic(3960835200, 3991593600, pairs...)
}

func TestParseSystemFile(t *testing.T) {
	text := systemText(t)
	tab, err := Load(systemFile)
	require.NoError(t, err)
	assert.Equal(t, systemFile, tab.Name())
	assert.False(t, tab.Updated().IsZero())
	assert.False(t, tab.Expires().IsZero())
	// Every leap second the program knows is in the file, with the same
	// offset; a newer file may list more.
	require.GreaterOrEqual(t, len(tab.entries), len(Builtin().entries))
	assert.Equal(t, Builtin().entries, tab.entries[:len(Builtin().entries)])

	parsed, err := Parse(strings.NewReader(text), "leap-seconds.list")
	require.NoError(t, err)
	assert.Equal(t, tab.entries, parsed.entries)
}

func TestParse(t *testing.T) {
	tab, err := Parse(strings.NewReader(builtinText()), "x.list")
	require.NoError(t, err)
	assert.Equal(t, Builtin().entries, tab.entries)
	assert.Equal(t, utc("2026-06-28T00:00:00Z"), tab.Expires())
	assert.Equal(t, utc("2025-07-07T00:00:00Z"), tab.Updated())

	// Words of the hash without their leading zeros, CRLF line ends and
	// trailing blanks are what real files have had.
	crlf := strings.ReplaceAll(builtinText(), "\n", " \r\n")
	_, err = Parse(strings.NewReader(crlf), "crlf.list")
	assert.NoError(t, err)
}

// A file that differs from what was hashed fails at its #h line, wherever
// the change is.
func TestParseTampered(t *testing.T) {
	text := systemText(t)
	lines := strings.Split(text, "\n")
	hashLine := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "#h") {
			hashLine = i + 1
		}
	}
	require.NotZero(t, hashLine)
	// An edit that Parse's own checks cannot see is caught by the hash; one
	// they can see fails at the edited line.
	for _, tc := range []struct {
		name string
		edit func(fields []string) []string // of a data, #@ or #$ line
		on   string                         // the line's first field
		drop bool
		err  string // instead of the hash mismatch, at the edited line
	}{
		{name: "offset", on: "3692217600", edit: func(f []string) []string { return []string{f[0], "38"} }, err: "TAI-UTC goes from 36 to 38"},
		{name: "date", on: "3692217600", edit: func(f []string) []string { return []string{"3692304000", f[1]} }},
		{name: "expiry", on: "#@", edit: func(f []string) []string { return []string{"#@", "4007404800"} }},
		{name: "dropped last entry", on: "3692217600", drop: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out []string
			found, want := false, hashLine
			for i, l := range lines {
				f := strings.Fields(l)
				if len(f) > 0 && f[0] == tc.on {
					found = true
					if tc.err != "" {
						want = i + 1
					}
					if tc.drop {
						want--
						continue
					}
					l = strings.Join(tc.edit(f), "\t")
				}
				out = append(out, l)
			}
			require.True(t, found, "the system file no longer has a %s line", tc.on)
			_, err := Parse(strings.NewReader(strings.Join(out, "\n")), "leap-seconds.list")
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "%v", err)
			assert.Equal(t, want, pe.Line)
			if tc.err != "" {
				assert.ErrorContains(t, err, fmt.Sprintf("leap-seconds.list line %d: %s", want, tc.err))
				return
			}
			require.ErrorIs(t, err, ErrHash)
			assert.ErrorContains(t, err, fmt.Sprintf("leap-seconds.list line %d: hash does not match", want))
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := builtinText()
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "x.list: no leap second entries"},
		{"no hash", strings.Split(good, "#h")[0], "x.list: no #h (hash) line"},
		{"short hash", "#h 1 2 3\n", "x.list line 1: #h (hash): want 5 hexadecimal words"},
		{"bad hash word", "#h 1 2 3 4 123456789\n", `x.list line 1: #h (hash): "123456789" is not a 32-bit`},
		{"two hashes", "#h 1 2 3 4 5\n#h 1 2 3 4 5\n", "x.list line 2: a second #h (hash) line; the first is line 1"},
		{"three fields", "#\n2272060800 10 11\n", `x.list line 2: want "NTP-seconds TAI-UTC", got "2272060800 10 11"`},
		{"signed", "2272060800 +10\n", `x.list line 1: TAI-UTC: "+10" is not a number`},
		{"negative", "2272060800 -10\n", `x.list line 1: TAI-UTC: "-10" is not a number`},
		{"huge", "99999999999999999999 10\n", "x.list line 1: NTP seconds:"},
		{"not midnight", "2272060801 10\n", "x.list line 1: NTP second 2272060801 is not a UTC midnight"},
		{"backwards", "2287785600 11\n2272060800 10\n", "x.list line 2: NTP second 2272060800 does not follow the entry before (2287785600)"},
		{"jump", "2272060800 10\n2287785600 12\n", "x.list line 2: TAI-UTC goes from 10 to 12"},
		{"two expiries", "#@ 3991593600\n#@ 3991593600\n", "x.list line 2: a second #@ (expiry) line"},
		{"bad expiry", "#@ soon\n", `x.list line 1: #@ (expiry): "soon" is not a number`},
		{"bad update", "#$ 1 2\n", `x.list line 1: #$ (last update): want one NTP timestamp`},
		{"long line", "#" + strings.Repeat("x", maxLine+10) + "\n", "x.list line 1: line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.text), "x.list")
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestOffset(t *testing.T) {
	b := Builtin()
	for _, tc := range []struct {
		at   string
		want int
	}{
		{"1960-01-01T00:00:00Z", 10},
		{"1972-01-01T00:00:00Z", 10},
		{"1972-06-30T23:59:59Z", 10},
		{"1972-07-01T00:00:00Z", 11},
		{"2015-06-30T23:59:59Z", 35},
		{"2016-12-31T23:59:59Z", 36},
		{"2017-01-01T00:00:00Z", 37},
		{"2025-01-01T00:00:00Z", 37},
	} {
		assert.Equal(t, tc.want, b.Offset(utc(tc.at)), tc.at)
	}
	assert.Equal(t, 36, b.Offset(utc("2016-12-31T23:59:59Z").Add(999*time.Millisecond)))
}

func TestOffsetAtTAI(t *testing.T) {
	m := utc("2017-01-01T00:00:00Z").Unix()
	b := Builtin()
	for _, tc := range []struct {
		name string
		tai  int64
		want int
	}{
		{"23:59:59 UTC", m - 1 + 36, 36},
		{"23:59:60, the leap second, reads 23:59:59 again", m + 36, 37},
		{"00:00:00 UTC", m + 37, 37},
		{"before 1972", 0, 10},
	} {
		assert.Equal(t, tc.want, b.OffsetAtTAI(tc.tai), tc.name)
	}

	// A deleted second: 23:59:58 is followed by 00:00:00.
	m = utc("2030-07-01T00:00:00Z").Unix()
	del, err := b.WithLeap(time.Unix(m, 0), -1)
	require.NoError(t, err)
	assert.Equal(t, int64(m-2), m-2+37-int64(del.OffsetAtTAI(m-2+37)), "23:59:58")
	assert.Equal(t, int64(m), m-1+37-int64(del.OffsetAtTAI(m-1+37)), "the next TAI second is midnight")
}

func TestPending(t *testing.T) {
	b := Builtin()
	del, err := b.WithLeap(utc("2030-07-01T00:00:00Z"), -1)
	require.NoError(t, err)
	for _, tc := range []struct {
		tab  *Table
		at   string
		want int
	}{
		{b, "2016-12-30T23:00:00Z", 0},
		{b, "2016-12-31T00:00:00Z", 0},
		{b, "2016-12-31T11:59:59Z", 0},
		{b, "2016-12-31T12:00:00Z", 1},
		{b, "2016-12-31T23:59:59Z", 1},
		{b, "2017-01-01T00:00:00Z", 0},
		{b, "2017-06-30T18:00:00Z", 0},
		{b, "2015-06-30T20:00:00Z", 1},
		{del, "2030-06-30T11:00:00Z", 0},
		{del, "2030-06-30T18:00:00Z", -1},
		{del, "2030-07-01T00:00:01Z", 0},
	} {
		assert.Equal(t, tc.want, tc.tab.Pending(utc(tc.at)), "%s at %s", tc.tab.Name(), tc.at)
	}
}

func TestNext(t *testing.T) {
	b := Builtin()
	ins, err := b.WithLeap(utc("2027-01-01T00:00:00Z"), 1)
	require.NoError(t, err)
	for _, tc := range []struct {
		tab   *Table
		at    string
		when  string
		delta int
		ok    bool
	}{
		{b, "1960-01-01T00:00:00Z", "1972-07-01T00:00:00Z", 1, true},
		{b, "1972-01-01T00:00:00Z", "1972-07-01T00:00:00Z", 1, true},
		{b, "2016-06-01T00:00:00Z", "2017-01-01T00:00:00Z", 1, true},
		{b, "2017-01-01T00:00:00Z", "", 0, false},
		{ins, "2017-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 1, true},
	} {
		when, delta, ok := tc.tab.Next(utc(tc.at))
		require.Equal(t, tc.ok, ok, tc.at)
		if ok {
			assert.Equal(t, utc(tc.when), when, tc.at)
		}
		assert.Equal(t, tc.delta, delta, tc.at)
	}
	assert.Equal(t, 37, ins.Offset(utc("2026-12-31T23:59:59Z")))
	assert.Equal(t, 38, ins.Offset(utc("2027-01-01T00:00:00Z")))
}

func TestExpiry(t *testing.T) {
	tab, err := Parse(strings.NewReader(builtinText()), "x.list")
	require.NoError(t, err)
	assert.False(t, tab.Expired(utc("2026-06-27T23:59:59Z")))
	assert.True(t, tab.Expired(utc("2026-06-28T00:00:00Z")))

	// The built-in table claims nothing about the future.
	assert.True(t, Builtin().Expires().IsZero())
	assert.True(t, Builtin().Expired(utc("2017-01-01T00:00:00Z")))

	leapt, err := tab.WithLeap(utc("2027-01-01T00:00:00Z"), 1)
	require.NoError(t, err)
	assert.Equal(t, tab.Expires(), leapt.Expires(), "a simulated leap keeps the expiry")
}

func TestWithLeap(t *testing.T) {
	b := Builtin()
	for _, tc := range []struct {
		name  string
		at    time.Time
		delta int
		want  string
	}{
		{"two seconds", utc("2027-01-01T00:00:00Z"), 2, "a leap second is +1 or -1"},
		{"not midnight", utc("2027-01-01T12:00:00Z"), 1, "not a UTC midnight"},
		{"fraction", utc("2027-01-01T00:00:00Z").Add(time.Millisecond), 1, "not a UTC midnight"},
		{"before 1972", utc("1970-01-01T00:00:00Z"), 1, "before the table starts"},
		{"taken", utc("2017-01-01T00:00:00Z"), 1, "the table has one there"},
	} {
		_, err := b.WithLeap(tc.at, tc.delta)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}

	// In the middle of the table, later offsets move too.
	mid, err := b.WithLeap(utc("2000-01-01T00:00:00Z"), 1)
	require.NoError(t, err)
	assert.Equal(t, 33, mid.Offset(utc("2000-01-01T00:00:00Z")))
	assert.Equal(t, 38, mid.Offset(utc("2017-01-01T00:00:00Z")))
	assert.Equal(t, 37, b.Offset(utc("2017-01-01T00:00:00Z")), "the original is unchanged")
}

// FuzzParse: no input makes Parse panic, and an accepted table answers.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(systemFile); err == nil {
		f.Add(string(b))
	}
	f.Add(builtinText())
	f.Add(synthetic(1, 2, 2272060800, 10))
	f.Add("#h 0 0 0 0 0\n2272060800 10\n")
	f.Fuzz(func(t *testing.T, text string) {
		tab, err := Parse(strings.NewReader(text), "fuzz.list")
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		now := utc("2020-01-01T00:00:00Z")
		tab.Offset(now)
		tab.Pending(now)
		tab.Next(now)
		tab.Expired(now)
		tab.OffsetAtTAI(now.Unix())
	})
}
