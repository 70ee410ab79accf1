package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/servo"
)

func TestServoSettings(t *testing.T) {
	t.Run("defaults are linuxptp's", func(t *testing.T) {
		c, err := Parse(strings.NewReader("[global]\n"), "t.conf")
		require.NoError(t, err)
		s, err := c.servoFor(500_000)
		require.NoError(t, err)
		assert.Equal(t, servo.KindPI, s.Kind)
		assert.Equal(t, 20*time.Microsecond, s.Config.FirstStepThreshold)
		assert.Zero(t, s.Config.StepThreshold)
		assert.Equal(t, 500_000.0, s.Config.MaxFrequency, "the clock's max_adj is below max_frequency")
		assert.Equal(t, 10, s.Config.NumOffsetValues)
		assert.Equal(t, -0.3, s.Config.PI.ProportionalExponent)
		assert.False(t, s.Config.PI.SoftwareTimestamps)
		assert.Equal(t, 200_000_000.0, s.SanityFreqLimit)
		assert.True(t, s.SpikeFilter)
		assert.Equal(t, servo.LinRegMaxOrder, s.Config.LinRegMaxOrder)
		sv, err := s.NewServo(0)
		require.NoError(t, err)
		assert.IsType(t, &servo.Filter{}, sv)
	})
	t.Run("set", func(t *testing.T) {
		c, err := Parse(strings.NewReader(`[global]
clock_servo linreg
step_threshold 0.001
first_step_threshold 0.0001
max_frequency 100000
servo_offset_threshold 50
servo_num_offset_values 5
time_stamping software
pi_proportional_const 0.5
servo_spike_filter 0
linreg_max_points 64
`), "t.conf")
		require.NoError(t, err)
		s, err := c.servoFor(500_000)
		require.NoError(t, err)
		assert.Equal(t, servo.KindLinReg, s.Kind)
		assert.Equal(t, time.Millisecond, s.Config.StepThreshold)
		assert.Equal(t, 100*time.Microsecond, s.Config.FirstStepThreshold)
		assert.Equal(t, 100_000.0, s.Config.MaxFrequency)
		assert.Equal(t, int64(50), s.Config.OffsetThreshold)
		assert.Equal(t, 5, s.Config.NumOffsetValues)
		assert.True(t, s.Config.PI.SoftwareTimestamps)
		assert.Equal(t, 0.5, s.Config.PI.ProportionalConst)
		assert.Equal(t, servo.LinRegLinuxPTPOrder, s.Config.LinRegMaxOrder)
		sv, err := s.NewServo(0)
		require.NoError(t, err)
		assert.IsType(t, &servo.LinReg{}, sv)
	})
	t.Run("servos we do not have", func(t *testing.T) {
		c, err := Parse(strings.NewReader("[global]\nclock_servo ntpshm\n"), "t.conf")
		require.NoError(t, err)
		_, err = c.servoFor(500_000)
		assert.EqualError(t, err, "t.conf:2: clock_servo ntpshm: roko-ptpd has the pi and linreg servos only")
	})
}
