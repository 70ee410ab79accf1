package timesource_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/roko-network/roko-ptpd/ptp/timesource"
	"github.com/roko-network/roko-ptpd/servo"
)

// FuzzSource feeds a source any sequence of pulses, reports and ticks,
// from any configuration: it must never panic (a servo's learning samples
// once made the lock read offsets it did not have), and it must never
// announce clockClass 6 without having locked.
func FuzzSource(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 1, 2, 0, 1, 2}, uint8(0))
	f.Add([]byte("\x00\x10\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x00\x00\x00"), uint8(7))
	f.Fuzz(func(t *testing.T, ops []byte, flags uint8) {
		sc := servo.DefaultConfig()
		sc.MaxFrequency = 62_499_999
		sv, err := servo.New(servo.KindPI, sc, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := timesource.Config{Servo: sv, Qualification: time.Second, Holdover: 2 * time.Second,
			Generic: flags&1 != 0, UTCClock: flags&2 != 0, BothEdges: flags&4 != 0, PulseWidth: 100 * time.Millisecond,
			Leap: &fakeLeap{at: time.Unix(1_790_000_000, 0)}, UTCOffset: 37}
		if flags&8 != 0 {
			cfg.Profile = timesource.ProfileG8275
		}
		src, err := timesource.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		host, edge := int64(1e9), int64(1_790_000_000e9)
		for len(ops) >= 3 {
			op, arg := ops[0]%4, int64(binary.LittleEndian.Uint16(ops[1:3]))
			ops = ops[3:]
			var a timesource.Action
			switch op {
			case 0: // a pulse about a second on, arg jittering it
				host += 1e9 + (arg-32768)*1000
				edge += 1e9 + (arg-32768)*10
				a = src.Pulse(timesource.Pulse{Edge: edge, Host: host, System: edge - 37e9})
			case 1: // a report, arg choosing its second and validity
				host += arg % 1e3 * 1e6
				utc := time.Unix(edge/1e9-37+arg%5-2, 0)
				a = src.TimeOfDay(timesource.TimeOfDay{UTC: utc, Valid: arg%7 != 0, Leap: arg%97 == 0, Received: host})
			case 2:
				host += arg * 1e5
				a = src.Tick(host)
			case 3: // the clock's steering as the source asked
				edge += arg - 32768
			}
			edge += int64(a.Step)
			if q := src.Quality(); q.ClockQuality.ClockClass == timesource.ClassLocked && src.Status().Locks == 0 {
				t.Fatalf("class 6 announced without a lock: %+v", src.Status())
			}
		}
	})
}
