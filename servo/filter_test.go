package servo

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a servo that locks at once and remembers what reached it.
type recorder struct{ got []int64 }

func (r *recorder) Sample(offset, _ int64) (float64, State) {
	r.got = append(r.got, offset)
	return float64(len(r.got)), Locked
}
func (r *recorder) SetSyncInterval(float64) {}
func (r *recorder) Reset()                  { r.got = nil }

func TestFilter(t *testing.T) {
	rec := &recorder{}
	f := NewFilter(rec, DefaultFilterConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func() int64 { return int64(5 * rng.NormFloat64()) }
	local := int64(0)
	sample := func(o int64) (float64, State) { local += 62_500_000; return f.Sample(o, local) }
	for range 100 {
		sample(noise())
	}
	require.Len(t, rec.got, 100, "ordinary noise passes")
	require.Zero(t, f.Dropped)

	ppb, st := sample(50_000)
	assert.Equal(t, uint64(1), f.Dropped, "an isolated 50 µs spike is dropped")
	assert.Equal(t, 100.0, ppb, "and the servo's last answer repeated")
	assert.Equal(t, Locked, st)
	assert.Len(t, rec.got, 100)
	sample(noise())
	assert.Len(t, rec.got, 101)

	// A lasting change gets through after MaxRun samples.
	for range 4 {
		sample(80_000)
	}
	assert.Len(t, rec.got, 101, "four in a row are still held back")
	sample(80_000)
	assert.Equal(t, int64(80_000), rec.got[len(rec.got)-1], "the fifth is believed")
	assert.Equal(t, uint64(5), f.Dropped)
	sample(80_000)
	assert.Len(t, rec.got, 103, "and the filter learns the new normal")
}

func TestFilterJudgesOnlyLockedSamples(t *testing.T) {
	s := NewLinReg(DefaultConfig(), 0)
	f := NewFilter(s, DefaultFilterConfig())
	f.SetSyncInterval(1)
	// A clock starting far off: huge offsets while unlocked must pass.
	_, st := f.Sample(1_000_000, 100*sec)
	assert.Equal(t, Unlocked, st)
	for i := 1; i < 4; i++ {
		_, st = f.Sample(1_000_000, 100*sec+int64(i)*sec)
	}
	assert.Equal(t, Jump, st)
	assert.Zero(t, f.Dropped)
	f.Reset()
	_, st = f.Sample(5, 200*sec)
	assert.Equal(t, Unlocked, st)
}
