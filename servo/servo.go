package servo

import (
	"fmt"
	"math"
	"time"
)

// State is the state a servo reports with each sample, numbered as
// linuxptp prints it after "s" in its offset lines.
type State uint8

// Servo states.
const (
	Unlocked     State = 0 // s0: still learning; apply nothing
	Jump         State = 1 // s1: step the clock by −offset, then set the frequency
	Locked       State = 2 // s2: set the frequency
	LockedStable State = 3 // s3: locked, and the offset has stayed under servo_offset_threshold
)

var stateNames = [...]string{"UNLOCKED", "JUMP", "LOCKED", "LOCKED_STABLE"}

// String returns linuxptp's name for the state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Servo is a clock servo. It is not safe for concurrent use.
type Servo interface {
	// Sample takes the measured offset of the clock from its reference
	// (clock minus reference, ns) and the clock's own time of the
	// measurement (ns), and returns the frequency to set, in ppb (absolute,
	// positive runs faster), with the servo's state. On Jump the caller
	// steps the clock by −offset and then sets the frequency.
	Sample(offset, localTime int64) (ppb float64, state State)
	// SetSyncInterval tells the servo the mean time between samples in
	// seconds; call it before the first sample and when the interval
	// changes.
	SetSyncInterval(seconds float64)
	// Reset forgets what the servo learned, as after a change of master or
	// an external step. The frequency it last returned stays its starting
	// point.
	Reset()
}

// Config holds the options every servo shares, under linuxptp's names.
type Config struct {
	// FirstStepThreshold (first_step_threshold): before the first
	// correction, an offset beyond this is stepped. Zero disables.
	FirstStepThreshold time.Duration
	// StepThreshold (step_threshold): at any time, an offset beyond this is
	// stepped. Zero (linuxptp's default) disables.
	StepThreshold time.Duration
	// MaxFrequency is the largest |ppb| the servo returns: the smaller of
	// max_frequency and the clock's own limit.
	MaxFrequency float64
	// OffsetThreshold (servo_offset_threshold, ns) and NumOffsetValues
	// (servo_num_offset_values): after NumOffsetValues consecutive offsets
	// below OffsetThreshold, Locked becomes LockedStable. Zero disables.
	OffsetThreshold int64
	NumOffsetValues int
	// LinRegMaxOrder limits the linreg servo's largest window to
	// 2^LinRegMaxOrder points: 6 is linuxptp's 64; zero means this
	// package's LinRegMaxOrder.
	LinRegMaxOrder int
	// PI configures the PI servo; the other servos ignore it.
	PI PIConfig
}

// DefaultConfig returns linuxptp's defaults: first_step_threshold 20 µs,
// step_threshold 0, max_frequency 900000000 ppb, servo_offset_threshold 0,
// servo_num_offset_values 10, and the PI defaults.
func DefaultConfig() Config {
	return Config{
		FirstStepThreshold: 20 * time.Microsecond,
		MaxFrequency:       900000000,
		NumOffsetValues:    10,
		PI:                 DefaultPIConfig(),
	}
}

// Kind names a servo as clock_servo does.
type Kind string

// Servo kinds.
const (
	KindPI     Kind = "pi"
	KindLinReg Kind = "linreg"
)

// New returns a servo of the given kind (clock_servo), starting from the
// frequency now set on the clock (ppb, positive runs faster), which it keeps
// until it has learned better.
func New(kind Kind, cfg Config, frequency float64) (Servo, error) {
	if cfg.MaxFrequency <= 0 || math.IsNaN(cfg.MaxFrequency) {
		return nil, fmt.Errorf("servo: max_frequency %v: must be positive", cfg.MaxFrequency)
	}
	switch kind {
	case KindPI:
		return NewPI(cfg, frequency)
	case KindLinReg:
		return NewLinReg(cfg, frequency), nil
	}
	return nil, fmt.Errorf("servo: clock_servo %q: not one of pi, linreg", string(kind))
}

// common is the bookkeeping linuxptp's servo.c does around every servo:
// whether a correction has been made yet (for first_step_threshold) and
// the count of small offsets that earns LockedStable.
type common struct {
	cfg        Config
	corrected  bool // a Jump or Locked was returned since creation
	smallCount int  // offsets still needed below OffsetThreshold
}

func newCommon(cfg Config) common {
	return common{cfg: cfg, smallCount: cfg.NumOffsetValues}
}

// shouldStep applies first_step_threshold (until the first correction) and
// step_threshold to the magnitude of an offset.
func (c *common) shouldStep(magnitude float64) bool {
	if !c.corrected && c.cfg.FirstStepThreshold > 0 && magnitude > float64(c.cfg.FirstStepThreshold) {
		return true
	}
	return c.cfg.StepThreshold > 0 && magnitude > float64(c.cfg.StepThreshold)
}

// finish records the outcome of a sample and upgrades Locked to
// LockedStable once the offsets have stayed small for long enough.
func (c *common) finish(offset int64, s State) State {
	switch s {
	case Unlocked:
		c.smallCount = c.cfg.NumOffsetValues
	case Jump:
		c.smallCount = c.cfg.NumOffsetValues
		c.corrected = true
	case Locked:
		c.corrected = true
		if c.cfg.OffsetThreshold > 0 {
			if abs64(offset) < c.cfg.OffsetThreshold {
				if c.smallCount > 0 {
					c.smallCount--
				}
			} else {
				c.smallCount = c.cfg.NumOffsetValues
			}
			if c.smallCount == 0 {
				return LockedStable
			}
		}
	}
	return s
}

func (c *common) clamp(ppb float64) float64 {
	return max(-c.cfg.MaxFrequency, min(c.cfg.MaxFrequency, ppb))
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
