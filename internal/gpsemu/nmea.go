package gpsemu

import (
	"fmt"
	"time"
)

// Corruption says how a second's sentences go wrong, as a noisy serial
// line or a confused receiver makes them. The zero value is none.
type Corruption struct {
	// BadChecksum sends each sentence with a wrong checksum.
	BadChecksum bool
	// StatusV sends RMC with status V (no valid fix) even with a fix.
	StatusV bool
	// SecondOff names the second SecondOff seconds from the right one.
	SecondOff int
	// Garbage sends, instead of each sentence, a line of noise that
	// starts with '$' and has no checksum.
	Garbage bool
}

// Sentence types a receiver sends.
const (
	RMC = "RMC"
	ZDA = "ZDA"
)

// The fixed position in RMC: the receiver's antenna does not move.
const rmcPosition = "5230.1234,N,01324.5678,E"

// sentence builds one sentence, "$" body "*hh\r\n", with the checksum
// wrong if asked.
func sentence(body string, badSum bool) []byte {
	var sum byte
	for i := range len(body) {
		sum ^= body[i]
	}
	if badSum {
		sum ^= 0x5a
	}
	return fmt.Appendf(nil, "$%s*%02X\r\n", body, sum)
}

// sentences builds a second's sentences of the given types. utc is the
// second the sentences name; leap shows it as 23:59:60 (utc is then
// 23:59:59 of the leap day).
func sentences(types []string, talker string, utc time.Time, leap, fix bool, c Corruption, noise func() []byte) []byte {
	utc = utc.Add(time.Duration(c.SecondOff) * time.Second)
	sec := utc.Second()
	if leap && c.SecondOff == 0 {
		sec = 60
	}
	hms := fmt.Sprintf("%02d%02d%02d.00", utc.Hour(), utc.Minute(), sec)
	var out []byte
	for _, typ := range types {
		if c.Garbage {
			out = append(out, '$')
			out = append(out, noise()...)
			out = append(out, '\r', '\n')
			continue
		}
		var body string
		switch typ {
		case RMC:
			status, mode := "A", "A"
			if !fix || c.StatusV {
				status, mode = "V", "N"
			}
			body = fmt.Sprintf("%sRMC,%s,%s,%s,0.0,0.0,%02d%02d%02d,,,%s", talker, hms, status, rmcPosition,
				utc.Day(), int(utc.Month()), utc.Year()%100, mode)
		case ZDA:
			body = fmt.Sprintf("%sZDA,%s,%02d,%02d,%04d,00,00", talker, hms, utc.Day(), int(utc.Month()), utc.Year())
		}
		out = append(out, sentence(body, c.BadChecksum)...)
	}
	return out
}
