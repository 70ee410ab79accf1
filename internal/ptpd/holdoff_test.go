package ptpd

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The hold gathers about one recvmmsg's worth (32 messages) at the rate
// seen, but is never more than receive_holdoff, nor than half the
// interval of the fastest requests the clock answers, so an answer is
// back before its peer's next request.
func TestHoldoffLength(t *testing.T) {
	h := holdoff{max: 10e6}
	for _, tc := range []struct {
		rate   int64
		period int8
		ok     bool
		want   int64
	}{
		{1000, 0, true, 10e6},         // 32 ms to gather 32: the 10 ms cap
		{10_000, 0, true, 3_200_000},  // 3.2 ms gathers 32
		{16_000, -4, true, 2_000_000}, // 2 ms
		{1000, -4, true, 10e6},        // 62.5 ms requests: still 10 ms
		{1000, -6, true, 7_812_500},   // 15.6 ms: half
		{1000, -7, true, 3_906_250},   // 128 Hz: half of 7.8 ms
		{1000, 0, false, 10e6},        // no requests answered
		{0, 0, false, 10e6},           // nothing received
		{1000, -30, true, 1},          // absurdly fast: never zero
		{1e12, 0, true, 1},            // absurdly busy: never zero
	} {
		assert.Equal(t, tc.want, h.length(tc.rate, tc.period, tc.ok), "rate %d period %d ok %v", tc.rate, tc.period, tc.ok)
	}
}
