package engine

// ServoState is the state a servo reports with each sample, numbered as
// linuxptp prints it in "s%d".
type ServoState uint8

// Servo states.
const (
	ServoUnlocked     ServoState = 0 // s0: still learning; nothing to apply yet
	ServoJump         ServoState = 1 // s1: step the clock, then set the frequency
	ServoLocked       ServoState = 2 // s2: set the frequency
	ServoLockedStable ServoState = 3 // s3: locked, and the offset has stayed small
)

// Servo is what the engine needs of a clock servo. Package servo's servos
// satisfy it through a small adapter; tests use simple ones.
type Servo interface {
	// Sample takes the measured offset of the local clock from its master
	// (local minus master, in nanoseconds) and the local time of the
	// measurement, and returns the frequency adjustment to set on the
	// clock, in ppb (an absolute setting: positive speeds the clock up),
	// and the servo's state. On ServoJump the engine steps the clock by
	// −offset and then sets the frequency.
	Sample(offset int64, localTime int64) (ppb float64, state ServoState)
	// SetSyncInterval tells the servo the sample interval in seconds.
	SetSyncInterval(seconds float64)
	// Reset forgets everything learned (a new master, an external step).
	Reset()
}
