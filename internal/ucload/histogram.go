package ucload

import (
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets: exact below 1,024 ns,
// then 512 buckets per power of two (0.2 % wide), so that p50 and p99 of
// millions of answers cost a fixed 115 KB and no sort.
type Histogram struct {
	b   [histBuckets]uint64
	n   uint64
	max int64
}

const (
	histLinear  = 1024 // values below are their own bucket
	histSub     = 512  // buckets per power of two above
	histBuckets = histLinear + (64-10)*histSub
)

func histBucket(v int64) int {
	if v < histLinear {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 10 // v>>e is in [512, 1024)
	return histLinear + (e-1)*histSub + int(uint64(v)>>e) - histSub
}

// histLower is the smallest value of bucket i.
func histLower(i int) int64 {
	if i < histLinear {
		return int64(i)
	}
	i -= histLinear
	e := i/histSub + 1
	return int64(i%histSub+histSub) << e
}

// Add counts d (negative counts as 0).
func (h *Histogram) Add(d int64) {
	h.b[histBucket(d)]++
	h.n++
	h.max = max(h.max, d)
}

// Count is how many durations were added.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest duration added.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the smallest bucket value at or below which a fraction
// q of the durations lie (0 when none were added).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.b {
		seen += c
		if seen >= rank {
			return time.Duration(min(histLower(i), h.max))
		}
	}
	return time.Duration(h.max)
}
