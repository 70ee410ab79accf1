package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exchange builds the timestamps a slave sees when its clock is offset ns
// ahead of the master, the path takes msToSlave and slaveToMs ns, and the
// slave configures delayAsymmetry asym (applied to C1, and −asym echoed in
// C4 as the master copies the Delay_Req's correctionField).
func exchange(offset, msToSlave, slaveToMs, asym, tcResidence int64) E2ESample {
	const t1 = 1_700_000_000_000_000_000
	t2 := t1 + tcResidence + msToSlave + offset
	t3 := t2 + 1_000_000
	t4 := t3 - offset + slaveToMs + tcResidence
	return E2ESample{T1: t1, C1: tcResidence + asym, T2: t2, T3: t3, T4: t4, C4: tcResidence - asym}
}

func TestE2EMeasurement(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		offset, ms, sm, asym, tc int64
		wantDelay, wantOffset    int64
	}{
		{"symmetric", 37_000_000, 600, 600, 0, 0, 600, 37_000_000},
		{"negative offset", -12, 612, 612, 0, 0, 612, -12},
		{"transparent clock residence is removed", 500, 1000, 1000, 0, 42_000, 1000, 500},
		// A 10 % asymmetry: master→slave 1100, slave→master 900. Left
		// uncorrected it appears as 100 ns of offset.
		{"uncorrected asymmetry biases offset", 0, 1100, 900, 0, 0, 1000, 100},
		{"delayAsymmetry cancels it", 0, 1100, 900, 100, 0, 1000, 0},
		{"delayAsymmetry with offset", -250, 1100, 900, 100, 7, 1000, -250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := exchange(tc.offset, tc.ms, tc.sm, tc.asym, tc.tc)
			d := s.MeanPathDelay()
			assert.Equal(t, tc.wantDelay, d)
			assert.Equal(t, tc.wantOffset, OffsetFromMaster(s.T1, s.C1, s.T2, d))
		})
	}
}

func TestPeerDelay(t *testing.T) {
	// Two-step: the peer stamps t2 and t3 with its own clock.
	s := PdelaySample{T1: 1000, T2: 5_000_500, T3: 5_010_500, T4: 1000 + 500 + 10_000 + 500}
	assert.EqualValues(t, 500, s.MeanLinkDelay(1))
	// One-step: the turnaround is in the correction.
	one := PdelaySample{T1: 1000, T4: 1000 + 500 + 10_000 + 500, C: 10_000}
	assert.EqualValues(t, 500, one.MeanLinkDelay(1))
	// The peer's clock runs 100 ppm fast. True link delay 500 µs, true
	// turnaround 10 ms, which the peer measures as 10.001 ms. Without the
	// rate ratio the mismatch biases the delay by 500 ns; with it the
	// result is the true delay in the peer's timebase (0.01 % larger).
	fast := PdelaySample{T1: 0, T2: 0, T3: 10_001_000, T4: 11_000_000}
	assert.InDelta(t, 500_000, fast.MeanLinkDelay(1.0001), 51)
	assert.InDelta(t, 499_500, fast.MeanLinkDelay(1), 1)
	assert.Equal(t, fast.MeanLinkDelay(1), fast.MeanLinkDelay(0), "a zero ratio means unknown: 1")
}

func TestMovingMedian(t *testing.T) {
	f, err := NewDelayFilter(MovingMedian, 5)
	require.NoError(t, err)
	var got []int64
	for _, d := range []int64{100, 102, 98, 50_000, 101, 99, 100, 50_000, 50_000} {
		got = append(got, f.Sample(d))
	}
	// A lone spike never moves the median; the window forgets old samples.
	assert.Equal(t, []int64{100, 101, 100, 101, 101, 101, 100, 101, 101}, got)
	f.Reset()
	assert.EqualValues(t, 7, f.Sample(7))
}

func TestMovingAverage(t *testing.T) {
	f, err := NewDelayFilter(MovingAverage, 3)
	require.NoError(t, err)
	assert.EqualValues(t, 30, f.Sample(30))
	assert.EqualValues(t, 45, f.Sample(60))
	assert.EqualValues(t, 50, f.Sample(60))
	assert.EqualValues(t, 70, f.Sample(90)) // 60, 60, 90
	f.Reset()
	assert.EqualValues(t, 3, f.Sample(3))

	_, err = NewDelayFilter(DelayFilterKind(9), 3)
	assert.ErrorContains(t, err, "moving_median")
	_, err = NewDelayFilter(MovingMedian, 0)
	assert.Error(t, err)
}

func TestSequenceTracker(t *testing.T) {
	var s SequenceTracker
	for _, id := range []uint16{10, 11, 12, 15, 15, 14, 16, 0xffff - 2000} {
		s.Observe(id)
	}
	assert.EqualValues(t, 2, s.Lost)       // 13, 14 skipped
	assert.EqualValues(t, 2, s.Duplicates) // 15 again, then 14 late
	assert.EqualValues(t, 1, s.Restarts)

	var w SequenceTracker
	w.Observe(0xfffe)
	assert.True(t, w.Observe(0xffff))
	assert.True(t, w.Observe(1)) // wraps, 0 lost
	assert.EqualValues(t, 1, w.Lost)
	w.Reset()
	assert.True(t, w.Observe(500))
	assert.EqualValues(t, 1, w.Lost)
}

func BenchmarkMovingMedian(b *testing.B) {
	f, _ := NewDelayFilter(MovingMedian, 10)
	b.ReportAllocs()
	d := int64(0)
	for b.Loop() {
		f.Sample(600 + d%17)
		d++
	}
}
