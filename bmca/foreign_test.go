package bmca

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func announce(sender ptp.PortIdentity, priority1 uint8, logInterval int8) *ptp.Announce {
	a := &ptp.Announce{GrandmasterPriority1: priority1, GrandmasterPriority2: 128,
		GrandmasterIdentity:     sender.ClockIdentity,
		GrandmasterClockQuality: ptp.ClockQuality{ClockClass: 248, ClockAccuracy: 0xfe, OffsetScaledLogVariance: 0xffff}}
	a.SourcePortIdentity = sender
	a.LogMessageInterval = logInterval
	return a
}

func TestForeignMasterQualification(t *testing.T) {
	f := ForeignMasters{Receiver: pid(me, 1)}
	s := pid(gmA, 1)
	sec := time.Second
	// The first Announce creates the record but does not count (9.5.3 b).
	assert.False(t, f.Add(announce(s, 128, 0), 0))
	_, _, ok := f.Best(0, IEEE1588)
	assert.False(t, ok)
	assert.False(t, f.Add(announce(s, 128, 0), 1*sec))
	_, _, ok = f.Best(1*sec, IEEE1588)
	assert.False(t, ok, "one counted message is below the threshold")
	// The third makes two within the window: qualified, and news.
	assert.True(t, f.Add(announce(s, 128, 0), 2*sec))
	ds, a, ok := f.Best(2*sec, IEEE1588)
	require.True(t, ok)
	assert.Equal(t, gmA, ds.GrandmasterIdentity)
	assert.Equal(t, s, a.SourcePortIdentity)
	// Unchanged data from a qualified sender is not news; changed data is.
	assert.False(t, f.Add(announce(s, 128, 0), 3*sec))
	assert.True(t, f.Add(announce(s, 100, 0), 4*sec))
	// Qualification needs two messages inside 4 announce intervals (1 s
	// each): the ones at 3 s and 4 s carry it to just before 7 s.
	_, _, ok = f.Best(6900*time.Millisecond, IEEE1588)
	assert.True(t, ok, "both messages are inside the window")
	_, _, ok = f.Best(7100*time.Millisecond, IEEE1588)
	assert.False(t, ok, "the 3 s message has left the window")
	_, _, ok = f.Best(9*sec, IEEE1588)
	assert.False(t, ok)
	assert.Empty(t, f.Qualified(9*sec))
	f.Prune(20 * sec)
	assert.Zero(t, f.Len(), "a silent record is forgotten")
}

func TestForeignMasterWindowScalesWithInterval(t *testing.T) {
	assert.Equal(t, 4*time.Second, window(0))
	assert.Equal(t, 250*time.Millisecond, window(-4))
	assert.Equal(t, 16*time.Second, window(2))
	assert.Equal(t, time.Duration(0), window(-128))
	assert.Equal(t, time.Duration(1<<63-1), window(127))

	f := ForeignMasters{Receiver: pid(me, 1)}
	s := pid(gmA, 1)
	ms := time.Millisecond
	f.Add(announce(s, 128, -4), 0)
	f.Add(announce(s, 128, -4), 100*ms)
	assert.True(t, f.Add(announce(s, 128, -4), 300*ms), "messages 200 ms apart are inside a 250 ms window")
	f2 := ForeignMasters{Receiver: pid(me, 1)}
	f2.Add(announce(s, 128, -4), 0)
	f2.Add(announce(s, 128, -4), 100*ms)
	assert.False(t, f2.Add(announce(s, 128, -4), 400*ms), "300 ms apart is outside it")
}

func TestForeignMastersBestOfSeveral(t *testing.T) {
	f := ForeignMasters{Receiver: pid(me, 1)}
	for i, p1 := range []uint8{128, 50, 200} {
		s := pid(cid(byte(0x10+i)), 1)
		for k := 0; k < 3; k++ {
			f.Add(announce(s, p1, 0), time.Duration(k)*time.Second)
		}
	}
	ds, _, ok := f.Best(2*time.Second, IEEE1588)
	require.True(t, ok)
	assert.EqualValues(t, 50, ds.GrandmasterPriority1)
	assert.Len(t, f.Qualified(2*time.Second), 3)
	f.Clear()
	assert.Zero(t, f.Len())
}

// An Announce storm from 1,000 forged identities: memory stays bounded and
// the qualified real master keeps its record and stays the best.
func TestForeignMastersAnnounceStorm(t *testing.T) {
	f := ForeignMasters{Receiver: pid(me, 1)}
	real := pid(gmB, 1)
	for k := 0; k < 3; k++ {
		f.Add(announce(real, 128, 0), time.Duration(k)*time.Second)
	}
	now := 3 * time.Second
	for round := 0; round < 3; round++ {
		for i := 0; i < 1000; i++ {
			forged := pid(ptp.ClockIdentity{0xee, byte(i >> 8), byte(i)}, 1)
			f.Add(announce(forged, 200, 0), now)
			now += time.Millisecond
		}
		f.Add(announce(real, 128, 0), now)
		require.LessOrEqual(t, f.Len(), DefaultMaxForeignMasters)
	}
	ds, _, ok := f.Best(now, IEEE1588)
	require.True(t, ok)
	assert.Equal(t, gmB, ds.GrandmasterIdentity)
	assert.Positive(t, f.Evicted)

	// A full table of qualified masters refuses strangers and counts them.
	full := ForeignMasters{Receiver: pid(me, 1), Max: 2}
	for i := 0; i < 2; i++ {
		for k := 0; k < 3; k++ {
			full.Add(announce(pid(cid(byte(i+1)), 1), 128, 0), time.Duration(k)*time.Second)
		}
	}
	full.Add(announce(pid(cid(9), 1), 1, 0), 3*time.Second)
	assert.Equal(t, 2, full.Len())
	assert.EqualValues(t, 1, full.Dropped)
}

func BenchmarkForeignMastersAdd(b *testing.B) {
	f := ForeignMasters{Receiver: pid(me, 1)}
	a := announce(pid(gmA, 1), 128, 0)
	now := time.Duration(0)
	b.ReportAllocs()
	for b.Loop() {
		f.Add(a, now)
		now += time.Second
	}
}
