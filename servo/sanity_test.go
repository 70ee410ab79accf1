package servo

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSanity(t *testing.T) {
	const limit = 200_000_000 // 20%
	for _, tc := range []struct {
		name    string
		freq    float64
		elapsed int64 // clock ns over four reference seconds
		step    int64
		want    string
	}{
		{"normal", 100_000, 4_000_400_000, 0, ""},
		{"steered fast but explained", 150_000_000, 4_600_000_000, 0, ""},
		{"jumped forward", 0, 6_000_000_000, 0, "clock jumped forward or running faster than expected"},
		{"jumped backward", 0, 2_000_000_000, 0, "clock jumped backward or running slower than expected"},
		{"our own step is not a jump", 0, 6_000_000_000, 2_000_000_000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSanity(limit)
			s.SetFrequency(tc.freq)
			require.NoError(t, s.Check(10e9, 20e9))
			s.Step(tc.step)
			err := s.Check(10e9+tc.elapsed, 24e9)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			var se *SanityError
			require.ErrorAs(t, err, &se)
			assert.Contains(t, err.Error(), "clockcheck: "+tc.want)
			assert.Equal(t, float64(limit), se.Limit)
		})
	}
	t.Run("frequency unknown or disabled: no verdict", func(t *testing.T) {
		s := NewSanity(limit)
		assert.NoError(t, s.Check(0, 0))
		assert.NoError(t, s.Check(9e9, 1e9))
		d := NewSanity(0)
		d.SetFrequency(0)
		assert.NoError(t, d.Check(0, 0))
		assert.NoError(t, d.Check(9e9, 1e9))
	})
	t.Run("readings under a second apart are ignored", func(t *testing.T) {
		s := NewSanity(limit)
		s.SetFrequency(0)
		require.NoError(t, s.Check(0, 0))
		assert.NoError(t, s.Check(9e8, 5e8), "half a second: too soon to judge")
		assert.Error(t, s.Check(3e9, 1e9))
	})
}
