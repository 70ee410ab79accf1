package phc

import (
	"errors"
	"time"
)

// Clock is a clock that can be read and steered: a PHC, CLOCK_REALTIME or
// a virtual clock. Frequencies are in parts per billion, positive making
// the clock run faster, and are absolute: AdjustFrequency(100) twice leaves
// the clock 100 ppb fast, not 200.
type Clock interface {
	// Name says which clock this is in messages, for example "/dev/ptp0"
	// or "CLOCK_REALTIME".
	Name() string
	// Now reads the clock.
	Now() (time.Time, error)
	// AdjustFrequency sets the frequency offset. A request beyond
	// MaxFrequency is refused with an error that wraps ErrFrequencyRange;
	// callers that want clamping clamp first.
	AdjustFrequency(ppb float64) error
	// Frequency returns the frequency offset now in effect.
	Frequency() (ppb float64, err error)
	// MaxFrequency is the largest |ppb| AdjustFrequency accepts.
	MaxFrequency() float64
	// Step moves the clock by d at once.
	Step(d time.Duration) error
}

// KeepsUTC reports whether c keeps UTC rather than PTP's timescale (TAI):
// CLOCK_REALTIME does, and so does the virtual clock, which follows it. A
// PHC keeps whatever its grandmaster keeps. roko-ptpd follows a master on
// PTP's timescale with such a clock at its time less the UTC offset, and
// phc2sys offsets one by the UTC offset against a PHC.
func KeepsUTC(c Clock) bool {
	switch c.(type) {
	case *System, *Virtual:
		return true
	}
	return false
}

// Errors that callers test for with errors.Is. The errors returned carry
// the device and the remedy around them.
var (
	// ErrNoDevice: the clock or device does not exist.
	ErrNoDevice = errors.New("no such clock")
	// ErrNotSupported: the device lacks the capability asked for.
	ErrNotSupported = errors.New("not supported by the device")
	// ErrPermission: the caller may not steer or configure the clock.
	ErrPermission = errors.New("permission denied")
	// ErrFrequencyRange: a frequency beyond the clock's maximum.
	ErrFrequencyRange = errors.New("frequency adjustment out of range")
)
