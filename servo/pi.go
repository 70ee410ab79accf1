package servo

import (
	"fmt"
	"math"
)

// PIConfig holds the PI servo's options under linuxptp's names. With both
// ProportionalConst and IntegralConst set they are the gains; otherwise
// (one alone is ignored, as linuxptp ignores it) the gains come from the
// sync interval with the Scale/Exponent/NormMax rule, and a zero Scale
// gives both scales the defaults for the timestamping mode.
type PIConfig struct {
	ProportionalConst    float64 // pi_proportional_const
	IntegralConst        float64 // pi_integral_const
	ProportionalScale    float64 // pi_proportional_scale
	ProportionalExponent float64 // pi_proportional_exponent
	ProportionalNormMax  float64 // pi_proportional_norm_max
	IntegralScale        float64 // pi_integral_scale
	IntegralExponent     float64 // pi_integral_exponent
	IntegralNormMax      float64 // pi_integral_norm_max
	// SoftwareTimestamps selects the software-timestamping default scales
	// (kp 0.1, ki 0.001) instead of the hardware ones (0.7, 0.3).
	SoftwareTimestamps bool
}

// DefaultPIConfig returns linuxptp's PI defaults.
func DefaultPIConfig() PIConfig {
	return PIConfig{
		ProportionalExponent: -0.3,
		ProportionalNormMax:  0.7,
		IntegralExponent:     0.4,
		IntegralNormMax:      0.3,
	}
}

// Gain scales linuxptp uses when none is configured, and the caps that
// apply to explicitly configured constants.
const (
	hwKpScale      = 0.7
	hwKiScale      = 0.3
	swKpScale      = 0.1
	swKiScale      = 0.001
	kpConstNormMax = 1.0
	kiConstNormMax = 2.0
	// freqEstMargin lengthens the measured interval a little so that a
	// second sample arriving exactly on time counts as late enough.
	freqEstMargin = 0.001
	// maxFreqEstInterval caps how long the first frequency estimate waits.
	maxFreqEstInterval = 1000.0
)

// PI is a proportional-integral servo with linuxptp's gains and start-up:
// two samples estimate the frequency error (and decide on a step), after
// which each sample sets kp·offset + ki·Σoffset on top of that estimate.
type PI struct {
	common
	// gain rule after defaults are applied
	kpScale, kpExp, kpNormMax float64
	kiScale, kiExp, kiNormMax float64
	kp, ki                    float64

	count  int      // samples taken in the current start-up (0, 1, then 2 = running)
	offset [2]int64 // the two start-up offsets
	local  [2]int64 // and their local times
	// drift is the integral term in linuxptp's sign (ppb to slow the clock).
	drift float64
	// last is the last output in linuxptp's sign.
	last float64
}

// NewPI returns a PI servo starting from the frequency now set on the clock.
func NewPI(cfg Config, frequency float64) (*PI, error) {
	pc := cfg.PI
	s := &PI{
		common:  newCommon(cfg),
		kpScale: pc.ProportionalScale, kpExp: pc.ProportionalExponent, kpNormMax: pc.ProportionalNormMax,
		kiScale: pc.IntegralScale, kiExp: pc.IntegralExponent, kiNormMax: pc.IntegralNormMax,
		drift: -frequency,
		last:  -frequency,
	}
	for _, v := range []struct {
		name string
		v    float64
	}{
		{"pi_proportional_const", pc.ProportionalConst}, {"pi_integral_const", pc.IntegralConst},
		{"pi_proportional_scale", pc.ProportionalScale}, {"pi_integral_scale", pc.IntegralScale},
	} {
		if v.v < 0 || math.IsNaN(v.v) || math.IsInf(v.v, 0) {
			return nil, fmt.Errorf("servo: %s %v: must be zero or positive", v.name, v.v)
		}
	}
	// As linuxptp's pi.c: the constants count only as a pair, and a
	// missing scale gives both scales their defaults.
	switch {
	case pc.ProportionalConst > 0 && pc.IntegralConst > 0:
		// Configured constants are used as given, only capped so that the
		// loop cannot go unstable at long intervals.
		s.kpScale, s.kpExp, s.kpNormMax = pc.ProportionalConst, 0, kpConstNormMax
		s.kiScale, s.kiExp, s.kiNormMax = pc.IntegralConst, 0, kiConstNormMax
	case (s.kpScale == 0 || s.kiScale == 0) && pc.SoftwareTimestamps:
		s.kpScale, s.kiScale = swKpScale, swKiScale
	case s.kpScale == 0 || s.kiScale == 0:
		s.kpScale, s.kiScale = hwKpScale, hwKiScale
	}
	s.SetSyncInterval(1)
	return s, nil
}

// SetSyncInterval derives kp and ki for the interval: scale·interval^exponent,
// capped at norm_max/interval.
func (s *PI) SetSyncInterval(seconds float64) {
	if !(seconds > 0) {
		return
	}
	s.kp = min(s.kpScale*math.Pow(seconds, s.kpExp), s.kpNormMax/seconds)
	s.ki = min(s.kiScale*math.Pow(seconds, s.kiExp), s.kiNormMax/seconds)
}

// Gains returns the proportional and integral gains in effect.
func (s *PI) Gains() (kp, ki float64) { return s.kp, s.ki }

// Reset restarts the two-sample start-up; the frequency estimate is kept.
func (s *PI) Reset() { s.count = 0 }

// Sample implements Servo.
func (s *PI) Sample(offset, localTime int64) (float64, State) {
	st := s.sample(offset, localTime)
	return 0 - s.last, s.finish(offset, st)
}

func (s *PI) sample(offset, localTime int64) State {
	switch s.count {
	case 0:
		s.offset[0], s.local[0] = offset, localTime
		s.count = 1
		return Unlocked
	case 1:
		s.offset[1], s.local[1] = offset, localTime
		if s.local[0] >= s.local[1] {
			// Time went backwards (a step elsewhere): start again.
			s.count = 0
			return Unlocked
		}
		dt := float64(s.local[1]-s.local[0]) / 1e9
		dt += dt * freqEstMargin
		// The estimate must span long enough for the integral gain to
		// make sense of it: 16 ms/ki, which is 53 ms at the hardware
		// default and 16 s at the software one.
		if dt < min(0.016/s.ki, maxFreqEstInterval) {
			return Unlocked
		}
		s.drift += (1e9 - s.drift) * float64(s.offset[1]-s.offset[0]) / float64(s.local[1]-s.local[0])
		s.drift = s.clamp(s.drift)
		s.last = s.drift
		s.count = 2
		if s.shouldStep(math.Abs(float64(offset))) {
			return Jump
		}
		return Locked
	}
	if s.cfg.StepThreshold > 0 && math.Abs(float64(offset)) > float64(s.cfg.StepThreshold) {
		// Start over: the next two samples re-estimate the frequency and
		// the second of them steps.
		s.count = 0
		return Unlocked
	}
	ki := s.ki * float64(offset)
	ppb := s.kp*float64(offset) + s.drift + ki
	if c := s.clamp(ppb); c != ppb {
		ppb = c // saturated: do not wind the integrator up
	} else {
		s.drift += ki
	}
	s.last = ppb
	return Locked
}
