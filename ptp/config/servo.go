package config

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"

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

// servoSettings reads clock_servo, first_step_threshold, step_threshold,
// max_frequency, servo_offset_threshold, servo_num_offset_values, the pi_*
// options, sanity_freq_limit and roko-ptpd's servo options. ts is the
// effective time_stamping. MaxFrequency is max_frequency, 0 meaning the
// clock's own limit: ForClock settles it once the clock is open.
func (c *Config) servoSettings(ts ptp.Timestamping) (ServoSettings, error) {
	const g = "global"
	kind := servo.Kind(c.str(g, "clock_servo"))
	switch kind {
	case servo.KindPI, servo.KindLinReg:
	default:
		return ServoSettings{}, c.errorAt(g, "clock_servo", "clock_servo %s: roko-ptpd has the pi and linreg servos only", kind)
	}
	seconds := func(name string) time.Duration {
		return time.Duration(math.Round(c.float(g, name) * 1e9))
	}
	points := c.int(g, "linreg_max_points")
	order := bits.Len64(uint64(points)) - 1 // whole powers of two: 1000 gives 512
	sc := servo.Config{
		FirstStepThreshold: seconds("first_step_threshold"),
		StepThreshold:      seconds("step_threshold"),
		MaxFrequency:       float64(c.int(g, "max_frequency")),
		OffsetThreshold:    c.int(g, "servo_offset_threshold"),
		NumOffsetValues:    int(c.int(g, "servo_num_offset_values")),
		LinRegMaxOrder:     order,
		PI: servo.PIConfig{
			ProportionalConst:    c.float(g, "pi_proportional_const"),
			IntegralConst:        c.float(g, "pi_integral_const"),
			ProportionalScale:    c.float(g, "pi_proportional_scale"),
			ProportionalExponent: c.float(g, "pi_proportional_exponent"),
			ProportionalNormMax:  c.float(g, "pi_proportional_norm_max"),
			IntegralScale:        c.float(g, "pi_integral_scale"),
			IntegralExponent:     c.float(g, "pi_integral_exponent"),
			IntegralNormMax:      c.float(g, "pi_integral_norm_max"),
			SoftwareTimestamps:   ts == ptp.TimestampingSoftware,
		},
	}
	return ServoSettings{
		Kind:            kind,
		Config:          sc,
		SpikeFilter:     c.bool(g, "servo_spike_filter"),
		SanityFreqLimit: float64(c.int(g, "sanity_freq_limit")),
	}, nil
}

// ForClock settles the servo's frequency limit for a clock whose own limit
// is clockMaxAdj ppb: as in ptp4l, the smaller of it and max_frequency (0
// in max_frequency means the clock's).
func (s ServoSettings) ForClock(clockMaxAdj float64) (ServoSettings, error) {
	limit := clockMaxAdj
	if m := s.Config.MaxFrequency; m > 0 && (limit <= 0 || m < limit) {
		limit = m
	}
	if limit <= 0 {
		return ServoSettings{}, fmt.Errorf("max_frequency 0 and the clock reports no max_adj: set max_frequency to the clock's limit in ppb")
	}
	s.Config.MaxFrequency = limit
	return s, nil
}

// NewServo builds the servo the settings describe, starting from the
// frequency now set on the clock. Call it on the result of ForClock.
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

// servoFor is servoSettings settled for a clock whose limit is
// clockMaxAdj, with time_stamping as the file says.
func (c *Config) servoFor(clockMaxAdj float64) (ServoSettings, error) {
	ts, err := c.timestamping()
	if err != nil {
		return ServoSettings{}, err
	}
	s, err := c.servoSettings(ts)
	if err != nil {
		return ServoSettings{}, err
	}
	return s.ForClock(clockMaxAdj)
}
