package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLogOffsetLine pins the per-sample line to ptp4l's layout and sign:
// ptp4l prints its servo output, the negation of the frequency it sets, so a
// clock being slowed by 1830 ppb reads "freq   +1830".
func TestLogOffsetLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  LogRecord
		want string
	}{
		{"slowed", LogRecord{Kind: LogOffset, Offset: -12, ServoState: ServoLocked, Freq: -1830, PathDelay: 612},
			"master offset        -12 s2 freq   +1830 path delay       612"},
		{"sped up", LogRecord{Kind: LogOffset, Offset: 26, ServoState: ServoUnlocked, Freq: 151, PathDelay: 1879},
			"master offset         26 s0 freq    -151 path delay      1879"},
		{"zero is +0", LogRecord{Kind: LogOffset, Offset: 0, ServoState: ServoJump, Freq: 0, PathDelay: 0},
			"master offset          0 s1 freq      +0 path delay         0"},
		{"negative zero is +0", LogRecord{Kind: LogOffset, ServoState: ServoLockedStable, Freq: negZero()},
			"master offset          0 s3 freq      +0 path delay         0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.rec.String())
		})
	}
}

func negZero() float64 {
	z := 0.0
	return -z
}
