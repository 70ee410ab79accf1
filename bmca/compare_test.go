package bmca

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func cid(b ...byte) ptp.ClockIdentity {
	var c ptp.ClockIdentity
	copy(c[8-len(b):], b)
	return c
}

func pid(c ptp.ClockIdentity, port uint16) ptp.PortIdentity {
	return ptp.PortIdentity{ClockIdentity: c, PortNumber: port}
}

var (
	gmA = cid(0x0a)
	gmB = cid(0x0b)
	me  = cid(0x50)
)

// base is a data set from grandmaster gmA, one step away, received on our
// port 1 from a master whose identity is 0x40.
func base() Dataset {
	return Dataset{
		GrandmasterPriority1:    128,
		GrandmasterIdentity:     gmA,
		GrandmasterClockQuality: ptp.ClockQuality{ClockClass: 248, ClockAccuracy: 0xfe, OffsetScaledLogVariance: 0xffff},
		GrandmasterPriority2:    128,
		StepsRemoved:            1,
		Sender:                  pid(cid(0x40), 1),
		Receiver:                pid(me, 1),
	}
}

func TestIEEE1588DifferentGrandmasters(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    func(d *Dataset) // turns a copy of base (with gmB) into B
		want Result
	}{
		{"priority1 lower wins", func(d *Dataset) { d.GrandmasterPriority1 = 127 }, BBetter},
		{"priority1 higher loses", func(d *Dataset) { d.GrandmasterPriority1 = 129 }, ABetter},
		{"clockClass", func(d *Dataset) { d.GrandmasterClockQuality.ClockClass = 6 }, BBetter},
		{"clockAccuracy", func(d *Dataset) { d.GrandmasterClockQuality.ClockAccuracy = 0x21 }, BBetter},
		{"offsetScaledLogVariance", func(d *Dataset) { d.GrandmasterClockQuality.OffsetScaledLogVariance = 0x4e5d }, BBetter},
		{"priority2", func(d *Dataset) { d.GrandmasterPriority2 = 1 }, BBetter},
		{"identity breaks the tie", func(d *Dataset) {}, ABetter}, // gmA 0x0a < gmB 0x0b
		{"priority1 beats clockClass", func(d *Dataset) {
			d.GrandmasterPriority1 = 129
			d.GrandmasterClockQuality.ClockClass = 6
		}, ABetter},
		{"stepsRemoved is not compared across grandmasters", func(d *Dataset) { d.StepsRemoved = 0 }, ABetter},
		{"localPriority is ignored", func(d *Dataset) { d.LocalPriority = 1 }, ABetter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			b.GrandmasterIdentity = gmB
			tc.b(&b)
			assert.Equal(t, tc.want, IEEE1588(&a, &b))
			// The comparison is antisymmetric.
			assert.Equal(t, -tc.want, IEEE1588(&b, &a))
		})
	}
}

// Identities compare as unsigned octet strings (IEEE 1588-2019 7.5.2.4),
// including ones whose top bit is set: a signed 64-bit subtraction, as
// facebook/time's Dscmp does, gets these wrong.
func TestIEEE1588IdentityOrderIsUnsigned(t *testing.T) {
	for _, tc := range []struct{ lo, hi ptp.ClockIdentity }{
		{cid(0xaa), ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}},
		{cid(0x01), ptp.ClockIdentity{0x80, 0, 0, 0, 0, 0, 0, 0x02}},
		{ptp.ClockIdentity{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ptp.ClockIdentity{0x80}},
	} {
		a, b := base(), base()
		a.GrandmasterIdentity, b.GrandmasterIdentity = tc.lo, tc.hi
		assert.Equal(t, ABetter, IEEE1588(&a, &b), "%s vs %s", tc.lo, tc.hi)
		assert.Equal(t, BBetter, IEEE1588(&b, &a))
	}
}

// Figure 35: the same grandmaster by two paths.
func TestIEEE1588SameGrandmaster(t *testing.T) {
	upstream := pid(cid(0x40), 1) // sorts below me (0x50)
	downstream := pid(cid(0x60), 1)
	for _, tc := range []struct {
		name string
		a, b func(d *Dataset)
		want Result
	}{
		{"A two steps shorter", func(d *Dataset) { d.StepsRemoved = 1 }, func(d *Dataset) { d.StepsRemoved = 3 }, ABetter},
		{"B two steps shorter", func(d *Dataset) { d.StepsRemoved = 4 }, func(d *Dataset) { d.StepsRemoved = 2 }, BBetter},
		{"B one longer, B's receiver below its sender", func(d *Dataset) {},
			func(d *Dataset) { d.StepsRemoved = 2; d.Sender = downstream }, ABetter},
		{"B one longer, B's receiver above its sender", func(d *Dataset) {},
			func(d *Dataset) { d.StepsRemoved = 2; d.Sender = upstream }, ABetterByTopology},
		{"B one longer and sent by its receiver (error-1)", func(d *Dataset) {},
			func(d *Dataset) { d.StepsRemoved = 2; d.Sender = d.Receiver }, Error1},
		{"A one longer, A's receiver below its sender", func(d *Dataset) { d.StepsRemoved = 2; d.Sender = downstream },
			func(d *Dataset) {}, BBetter},
		{"A one longer, A's receiver above its sender", func(d *Dataset) { d.StepsRemoved = 2; d.Sender = upstream },
			func(d *Dataset) {}, BBetterByTopology},
		{"equal steps, lower sender wins", func(d *Dataset) { d.Sender = pid(cid(0x41), 1) },
			func(d *Dataset) { d.Sender = pid(cid(0x42), 1) }, ABetterByTopology},
		{"equal steps, sender port number decides", func(d *Dataset) { d.Sender = pid(cid(0x41), 2) },
			func(d *Dataset) { d.Sender = pid(cid(0x41), 1) }, BBetterByTopology},
		{"same sender, lower receiver port wins", func(d *Dataset) { d.Receiver = pid(me, 1) },
			func(d *Dataset) { d.Receiver = pid(me, 2) }, ABetterByTopology},
		{"same sender and receiver port (error-2)", func(d *Dataset) {}, func(d *Dataset) {}, Error2},
		{"priority1 is not compared for the same grandmaster", func(d *Dataset) { d.GrandmasterPriority1 = 255 },
			func(d *Dataset) { d.StepsRemoved = 3 }, ABetter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.a(&a)
			tc.b(&b)
			assert.Equal(t, tc.want, IEEE1588(&a, &b))
		})
	}
}

func TestG8275(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b func(d *Dataset)
		want Result
	}{
		{"priority1 is ignored", func(d *Dataset) { d.GrandmasterPriority1 = 255 },
			func(d *Dataset) { d.GrandmasterIdentity = gmB; d.GrandmasterPriority1 = 1 }, ABetter},
		{"clockClass first", func(d *Dataset) { d.GrandmasterClockQuality.ClockClass = 6 },
			func(d *Dataset) { d.GrandmasterIdentity = gmB; d.GrandmasterPriority2 = 1 }, ABetter},
		{"localPriority after priority2", func(d *Dataset) { d.LocalPriority = 200 },
			func(d *Dataset) { d.GrandmasterIdentity = gmB; d.LocalPriority = 100 }, BBetter},
		{"priority2 before localPriority", func(d *Dataset) { d.LocalPriority = 200; d.GrandmasterPriority2 = 1 },
			func(d *Dataset) { d.GrandmasterIdentity = gmB; d.LocalPriority = 100 }, ABetter},
		{"class 6 grandmasters: topology, not identity", func(d *Dataset) {
			d.GrandmasterClockQuality.ClockClass = 6
			d.GrandmasterIdentity = gmB
			d.StepsRemoved = 1
		}, func(d *Dataset) {
			d.GrandmasterClockQuality.ClockClass = 6
			d.StepsRemoved = 3
		}, ABetter},
		{"class 248: identity breaks the tie", func(d *Dataset) { d.GrandmasterIdentity = gmB; d.StepsRemoved = 1 },
			func(d *Dataset) { d.StepsRemoved = 5 }, BBetter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.a(&a)
			tc.b(&b)
			assert.Equal(t, tc.want, G8275(&a, &b))
		})
	}
}

func TestParseComparison(t *testing.T) {
	for _, name := range []string{"ieee1588", "IEEE1588", "G.8275.x", "g.8275.X"} {
		c, err := ParseComparison(name)
		require.NoError(t, err, name)
		require.NotNil(t, c)
	}
	_, err := ParseComparison("G.8275")
	require.ErrorContains(t, err, "dataset_comparison")
}

func TestResultStrings(t *testing.T) {
	assert.Equal(t, "A better by topology", ABetterByTopology.String())
	assert.Equal(t, "error-2", Error2.String())
	assert.True(t, ABetterByTopology.AWins())
	assert.False(t, Error1.AWins())
	assert.False(t, Error1.BWins())
	assert.True(t, BBetter.BWins())
}

func BenchmarkIEEE1588(b *testing.B) {
	x, y := base(), base()
	y.GrandmasterIdentity = gmB
	y.GrandmasterPriority2 = 127
	b.ReportAllocs()
	for b.Loop() {
		if IEEE1588(&x, &y) != BBetter {
			b.Fatal("wrong")
		}
	}
}
