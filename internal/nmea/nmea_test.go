package nmea

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sentence returns body framed as a receiver sends it: $body*hh.
func sentence(body string) string {
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X", body, sum)
}

// lowerChecksum writes a sentence's checksum in lower case, as some
// receivers do.
func lowerChecksum(s string) string { return s[:len(s)-2] + strings.ToLower(s[len(s)-2:]) }

func TestParse(t *testing.T) {
	at := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		name string
		line string
		want Sentence
		err  error
	}{
		{"RMC with a fix", sentence("GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"),
			Sentence{Talker: "GP", Type: "RMC", Time: at(2094, 3, 23, 12, 35, 19, 0), Valid: true}, nil},
		{"RMC without a fix", sentence("GNRMC,000001,V,,,,,,,011226,,"),
			Sentence{Talker: "GN", Type: "RMC", Time: at(2026, 12, 1, 0, 0, 1, 0)}, nil},
		{"RMC mode N is no fix", sentence("GPRMC,101500.250,A,,,,,,,011226,,,N"),
			Sentence{Talker: "GP", Type: "RMC", Time: at(2026, 12, 1, 10, 15, 0, 250_000_000)}, nil},
		{"RMC mode E is dead reckoning", sentence("GPRMC,101500,A,,,,,,,011226,,,E"),
			Sentence{Talker: "GP", Type: "RMC", Time: at(2026, 12, 1, 10, 15, 0, 0)}, nil},
		{"RMC mode A", sentence("GPRMC,101500,A,,,,,,,011226,,,A") + "\r\n",
			Sentence{Talker: "GP", Type: "RMC", Time: at(2026, 12, 1, 10, 15, 0, 0), Valid: true}, nil},
		{"ZDA", sentence("GPZDA,201530.00,04,07,2002,00,00"),
			Sentence{Talker: "GP", Type: "ZDA", Time: at(2002, 7, 4, 20, 15, 30, 0), Valid: true}, nil},
		{"leap second", sentence("GPZDA,235960,31,12,2016,00,00"),
			Sentence{Talker: "GP", Type: "ZDA", Time: at(2016, 12, 31, 23, 59, 59, 0), Leap: true, Valid: true}, nil},
		{"lower-case checksum", lowerChecksum(sentence("GPZDA,201548.00,04,07,2002,00,00")), // *6f
			Sentence{Talker: "GP", Type: "ZDA", Time: at(2002, 7, 4, 20, 15, 48, 0), Valid: true}, nil},
		{"bad checksum", "$GPZDA,201530.00,04,07,2002,00,00*00", Sentence{}, ErrChecksum},
		{"no checksum", "$GPZDA,201530.00,04,07,2002,00,00", Sentence{}, ErrMalformed},
		{"no dollar", "GPZDA,201530.00,04,07,2002,00,00*41", Sentence{}, ErrMalformed},
		{"other type", sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), Sentence{}, ErrUnsupported},
		{"31 February", sentence("GPZDA,120000,31,02,2024,00,00"), Sentence{}, ErrMalformed},
		{"hour 24", sentence("GPRMC,240000,A,,,,,,,011226,,"), Sentence{}, ErrMalformed},
		{"leap second not at midnight", sentence("GPZDA,120060,30,06,2015,00,00"), Sentence{}, ErrMalformed},
		{"short RMC", sentence("GPRMC,120000,A"), Sentence{}, ErrMalformed},
		{"RMC bad status", sentence("GPRMC,120000,X,,,,,,,011226,,"), Sentence{}, ErrMalformed},
		{"two-digit ZDA year", sentence("GPZDA,120000,01,12,26,00,00"), Sentence{}, ErrMalformed},
		{"bad fraction", sentence("GPRMC,120000.,A,,,,,,,011226,,"), Sentence{}, ErrMalformed},
		{"short address", sentence("GPRM,120000,A,,,,,,,011226,,"), Sentence{}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.line))
			if tc.err != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tc.err), "%v is not %v", err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestScanner: a receiver's stream, cut anywhere between writes, with
// line noise, a sentence cut short, a proprietary sentence too long to
// keep, and other types, gives exactly the time sentences, and counts the
// rest.
func TestScanner(t *testing.T) {
	rmc := sentence("GPRMC,101500,A,,,,,,,011226,,")
	zda := sentence("GPZDA,101501,01,12,2026,00,00")
	gga := sentence("GPGGA,101501,,,,,1,08,0.9,545.4,M,46.9,M,,")
	long := "$PUBX," + strings.Repeat("9", 200) + "*00"
	stream := "\x00\xffnoise" + rmc + "\r\n" + gga + "\r\n" + "$GPRMC,1015" + zda + "\r\n" + long + "\r\n" +
		"$GPZDA,101502,01,12,2026,00,00*00\r\n" + rmc + "\n"
	for _, chunk := range []int{1, 3, 7, len(stream)} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			var sc Scanner
			var got []string
			for i := 0; i < len(stream); i += chunk {
				sc.Write([]byte(stream[i:min(i+chunk, len(stream))]), func(s Sentence) {
					got = append(got, s.Type+" "+s.Time.Format("15:04:05"))
				})
			}
			assert.Equal(t, []string{"RMC 10:15:00", "ZDA 10:15:01", "RMC 10:15:00"}, got)
			assert.Equal(t, uint64(1), sc.Skipped, "GGA")
			assert.Equal(t, uint64(3), sc.Malformed, "the cut RMC, the long PUBX, the bad checksum")
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		sentence("GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"),
		sentence("GPZDA,235960,31,12,2016,00,00"),
		sentence("GNRMC,000001,V,,,,,,,011226,,,N"),
		"$GPZDA,201530.00,04,07,2002,00,00*00", "$", "$*", "$GPRMC*00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		if s.Type != "RMC" && s.Type != "ZDA" {
			t.Fatalf("type %q accepted", s.Type)
		}
		if s.Time.IsZero() || s.Time.Location() != time.UTC {
			t.Fatalf("time %v", s.Time)
		}
		var sc Scanner
		n := 0
		sc.Write(append(append([]byte(nil), b...), '\n'), func(Sentence) { n++ })
		if n != 1 && len(b) <= MaxSentence && b[0] == '$' && !strings.ContainsAny(string(b[1:]), "$\r\n") {
			t.Fatalf("Scanner found %d sentences in %q", n, b)
		}
	})
}
