package ptpd

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The hold is receive_holdoff, or half the interval of the fastest
// requests the clock answers when that is shorter, so an answer is back
// before its peer's next request.
func TestHoldoffBound(t *testing.T) {
	h := holdoff{max: 10e6}
	for _, tc := range []struct {
		period int8
		ok     bool
		want   int64
	}{
		{0, true, 10e6},       // 1 s requests: the whole 10 ms
		{-4, true, 10e6},      // 62.5 ms: still 10 ms
		{-6, true, 7_812_500}, // 15.6 ms: half
		{-7, true, 3_906_250}, // 128 Hz: half of 7.8 ms
		{0, false, 10e6},      // no requests answered
		{-30, true, 1},        // absurdly fast: never zero
	} {
		assert.Equal(t, tc.want, h.bound(tc.period, tc.ok), "period %d ok %v", tc.period, tc.ok)
	}
}
