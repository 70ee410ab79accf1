package config

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/roko-network/roko-ptpd/servo"
)

// ServoSettings is what the servo options of a config say.
type ServoSettings struct {
	Kind   servo.Kind
	Config servo.Config
	// SpikeFilter (servo_spike_filter, roko-ptpd's own, on by default) puts
	// servo.Filter in front of the servo.
	SpikeFilter bool
	// SanityFreqLimit (sanity_freq_limit) in ppb; 0 disables the check.
	SanityFreqLimit float64
}

// Servo reads clock_servo, first_step_threshold, step_threshold,
// max_frequency, servo_offset_threshold, servo_num_offset_values, the pi_*
// options, time_stamping, sanity_freq_limit and roko-ptpd's servo options.
// clockMaxAdj is the steered clock's own limit in ppb: as in ptp4l, the
// servo's limit is the smaller of it and max_frequency (0 in max_frequency
// means the clock's).
func (c *Config) Servo(clockMaxAdj float64) (ServoSettings, error) {
	kind := servo.Kind(c.String("global", "clock_servo"))
	switch kind {
	case servo.KindPI, servo.KindLinReg:
	default:
		return ServoSettings{}, fmt.Errorf("clock_servo %s: roko-ptpd has the pi and linreg servos only", kind)
	}
	seconds := func(name string) time.Duration {
		return time.Duration(math.Round(c.Float("global", name) * 1e9))
	}
	maxFreq := clockMaxAdj
	if m := float64(c.Int("global", "max_frequency")); m > 0 && (maxFreq <= 0 || m < maxFreq) {
		maxFreq = m
	}
	if maxFreq <= 0 {
		return ServoSettings{}, fmt.Errorf("max_frequency: no limit from the config or the clock")
	}
	points := c.Int("global", "linreg_max_points")
	order := bits.Len64(uint64(points)) - 1 // whole powers of two: 1000 gives 512
	sc := servo.Config{
		FirstStepThreshold: seconds("first_step_threshold"),
		StepThreshold:      seconds("step_threshold"),
		MaxFrequency:       maxFreq,
		OffsetThreshold:    c.Int("global", "servo_offset_threshold"),
		NumOffsetValues:    int(c.Int("global", "servo_num_offset_values")),
		LinRegMaxOrder:     order,
		PI: servo.PIConfig{
			ProportionalConst:    c.Float("global", "pi_proportional_const"),
			IntegralConst:        c.Float("global", "pi_integral_const"),
			ProportionalScale:    c.Float("global", "pi_proportional_scale"),
			ProportionalExponent: c.Float("global", "pi_proportional_exponent"),
			ProportionalNormMax:  c.Float("global", "pi_proportional_norm_max"),
			IntegralScale:        c.Float("global", "pi_integral_scale"),
			IntegralExponent:     c.Float("global", "pi_integral_exponent"),
			IntegralNormMax:      c.Float("global", "pi_integral_norm_max"),
			SoftwareTimestamps:   c.String("global", "time_stamping") == "software",
		},
	}
	return ServoSettings{
		Kind:            kind,
		Config:          sc,
		SpikeFilter:     c.Bool("global", "servo_spike_filter"),
		SanityFreqLimit: float64(c.Int("global", "sanity_freq_limit")),
	}, nil
}

// NewServo builds the servo the settings describe, starting from the
// frequency now set on the clock.
func (s ServoSettings) NewServo(frequency float64) (servo.Servo, error) {
	sv, err := servo.New(s.Kind, s.Config, frequency)
	if err != nil {
		return nil, err
	}
	if s.SpikeFilter {
		sv = servo.NewFilter(sv, servo.DefaultFilterConfig())
	}
	return sv, nil
}
