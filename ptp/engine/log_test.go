package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestOffsetLineMatchesPrintf: the hand-written offset line is the line
// ptp4l's printf format gives, for ordinary and extreme values.
func TestOffsetLineMatchesPrintf(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := []int64{0, 1, -1, 9, -9, 999_999_999, -999_999_999, 12_345_678_901, math.MaxInt64, math.MinInt64}
	freqs := []float64{0, 0.4, 0.5, 1.5, -0.4, -0.5, -2.5, 99_999.5, -1e9, 1e12, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1)}
	for range 2000 {
		vals = append(vals, rng.Int64N(2e9)-1e9)
		freqs = append(freqs, (rng.Float64()-0.5)*2e6)
	}
	for i, off := range vals {
		r := LogRecord{Kind: LogOffset, Offset: off, PathDelay: vals[(i+3)%len(vals)], ServoState: 2, Freq: freqs[i%len(freqs)]}
		want := fmt.Sprintf("master offset %10d s%d freq %+7.0f path delay %9d", r.Offset, uint8(r.ServoState), 0-r.Freq, r.PathDelay)
		require.Equal(t, want, string(r.AppendFormat(nil, PortStyleV4)))
	}
	r := LogRecord{Kind: LogOffset, Offset: -123, PathDelay: 4567, ServoState: 2, Freq: 890}
	buf := make([]byte, 0, 128)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = r.AppendFormat(buf[:0], PortStyleV4) }), "no allocation into a buffer with room")
}
