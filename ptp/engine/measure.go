package engine

import (
	"errors"
	"slices"
	"strconv"
)

// Timestamps and corrections here are signed nanoseconds (int64): local
// timestamps in the timebase of the clock being steered, remote ones in the
// master's. correctionField values are converted from scaled nanoseconds by
// the caller (ptp.TimeInterval.Duration); the 2^-16 fraction is below what
// any timestamp here resolves.

// E2ESample is one end-to-end exchange (IEEE 1588-2019 11.3): a Sync (and
// its Follow_Up) and a Delay_Req with its Delay_Resp.
type E2ESample struct {
	T1 int64 // Sync originTimestamp (or Follow_Up preciseOriginTimestamp): master
	C1 int64 // correctionField of Sync plus Follow_Up, plus delayAsymmetry
	T2 int64 // Sync reception: local
	T3 int64 // Delay_Req transmission: local
	T4 int64 // Delay_Resp receiveTimestamp: master
	// C4 is the Delay_Resp's correctionField, which echoes the Delay_Req's
	// (−delayAsymmetry) plus any transparent clock residence time.
	C4 int64
}

// MeanPathDelay returns the exchange's path delay (IEEE 1588-2019 11.3.2):
// ((t2 − t3) + (t4 − c4 − t1 − c1)) / 2. With the asymmetry carried in C1
// and C4 as the standard does, this is the mean of the two directions.
func (s E2ESample) MeanPathDelay() int64 {
	return ((s.T2 - s.T3) + (s.T4 - s.C4) - (s.T1 + s.C1)) / 2
}

// OffsetFromMaster returns the local clock's offset from the master given a
// path delay (raw or filtered): t2 − t1 − c1 − delay (IEEE 1588-2019 11.2).
func OffsetFromMaster(t1, c1, t2, meanPathDelay int64) int64 {
	return t2 - t1 - c1 - meanPathDelay
}

// PdelaySample is one peer delay exchange (IEEE 1588-2019 11.4).
type PdelaySample struct {
	T1 int64 // Pdelay_Req transmission: local
	T2 int64 // requestReceiptTimestamp: peer (0 with a one-step responder)
	T3 int64 // responseOriginTimestamp: peer (0 with a one-step responder)
	T4 int64 // Pdelay_Resp reception: local
	// C is the correctionField of Pdelay_Resp plus Pdelay_Resp_Follow_Up,
	// plus delayAsymmetry. A one-step responder puts its turnaround time
	// (t3 − t2) here and leaves T2 and T3 zero.
	C int64
}

// MeanLinkDelay returns the peer delay, ((t4 − t1)·r − (t3 + c − t2)) / 2,
// where r is the neighbor rate ratio (the peer's frequency over ours; 1 when
// unknown). Scaling the local interval by r keeps a frequency difference
// from biasing the result by (r − 1)·(t4 − t1)/2.
func (s PdelaySample) MeanLinkDelay(neighborRateRatio float64) int64 {
	local := float64(s.T4 - s.T1)
	if neighborRateRatio > 0 {
		local *= neighborRateRatio
	}
	remote := float64(s.T3 + s.C - s.T2)
	return int64((local - remote) / 2)
}

// DelayFilter smooths path delay samples, as linuxptp's delay_filter and
// delay_filter_length do.
type DelayFilter interface {
	// Sample adds a raw delay and returns the filtered one.
	Sample(d int64) int64
	// Reset forgets every sample.
	Reset()
}

// DelayFilterKind is delay_filter: how path delay samples are smoothed.
type DelayFilterKind uint8

// The delay filters linuxptp offers.
const (
	// MovingMedian is "moving_median", linuxptp's default.
	MovingMedian DelayFilterKind = iota
	// MovingAverage is "moving_average".
	MovingAverage
)

// String returns the filter's name as delay_filter spells it.
func (k DelayFilterKind) String() string {
	switch k {
	case MovingMedian:
		return "moving_median"
	case MovingAverage:
		return "moving_average"
	}
	return "DelayFilterKind(" + strconv.Itoa(int(k)) + ")"
}

// NewDelayFilter returns the filter of kind over the last length samples.
func NewDelayFilter(kind DelayFilterKind, length int) (DelayFilter, error) {
	if length < 1 {
		return nil, errors.New("engine: delay_filter_length must be at least 1")
	}
	switch kind {
	case MovingMedian:
		return &movingMedian{ring: make([]int64, length), sorted: make([]int64, 0, length)}, nil
	case MovingAverage:
		return &movingAverage{ring: make([]int64, length)}, nil
	}
	return nil, errors.New("engine: delay filter " + kind.String() + ": want moving_median or moving_average")
}

// movingMedian is the median of the last len(ring) samples. A median
// ignores the occasional delay spike (a queued frame) that would drag a mean
// for a whole window.
type movingMedian struct {
	ring   []int64 // samples in arrival order, circular
	sorted []int64 // the same samples, ascending
	next   int
}

// Sample adds a raw delay and returns the median of the window; with an
// even count, the mean of the two middle samples.
func (m *movingMedian) Sample(d int64) int64 {
	if len(m.sorted) == len(m.ring) {
		old := m.ring[m.next]
		i, _ := slices.BinarySearch(m.sorted, old)
		m.sorted = slices.Delete(m.sorted, i, i+1)
	}
	m.ring[m.next] = d
	m.next = (m.next + 1) % len(m.ring)
	i, _ := slices.BinarySearch(m.sorted, d)
	m.sorted = slices.Insert(m.sorted, i, d)
	n := len(m.sorted)
	if n%2 == 1 {
		return m.sorted[n/2]
	}
	return (m.sorted[n/2-1] + m.sorted[n/2]) / 2
}

// Reset forgets every sample.
func (m *movingMedian) Reset() { m.sorted, m.next = m.sorted[:0], 0 }

// movingAverage is the mean of the last len(ring) samples.
type movingAverage struct {
	ring []int64
	n    int
	next int
	sum  int64
}

// Sample adds a raw delay and returns the mean of the window.
func (m *movingAverage) Sample(d int64) int64 {
	if m.n == len(m.ring) {
		m.sum -= m.ring[m.next]
	} else {
		m.n++
	}
	m.ring[m.next] = d
	m.sum += d
	m.next = (m.next + 1) % len(m.ring)
	return m.sum / int64(m.n)
}

// Reset forgets every sample.
func (m *movingAverage) Reset() { m.n, m.next, m.sum = 0, 0, 0 }

// SequenceTracker counts messages lost from one sender's sequenceId series
// (IEEE 1588-2019 7.3.7: each message type counts up by one, modulo 2^16).
type SequenceTracker struct {
	last    uint16
	started bool
	// Lost counts sequenceIds skipped over.
	Lost uint64
	// Duplicates counts messages that repeated, or went back to, one of the
	// last maxGap sequenceIds.
	Duplicates uint64
	// Restarts counts jumps too large to be loss (the sender restarted).
	Restarts uint64
}

// maxGap is the largest jump forwards still counted as loss, and the
// largest jump backwards still counted as a late duplicate; anything else is
// a sender that restarted its numbering.
const maxGap = 1024

// Observe records a sequenceId and reports whether it is new (not a
// duplicate or stale one).
func (s *SequenceTracker) Observe(id uint16) bool {
	if !s.started {
		s.started, s.last = true, id
		return true
	}
	gap := id - s.last // modulo 2^16
	switch {
	case gap == 0 || gap >= 1<<16-maxGap: // the same, or a little behind
		s.Duplicates++
		return false
	case gap > maxGap:
		s.Restarts++
	default:
		s.Lost += uint64(gap - 1)
	}
	s.last = id
	return true
}

// Reset forgets the series (a new master).
func (s *SequenceTracker) Reset() { s.started = false }
