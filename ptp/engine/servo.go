package engine

import "github.com/roko-network/roko-ptpd/servo"

// ServoState is the state a servo reports with each sample, numbered as
// linuxptp prints it in "s%d". It is package servo's State, so that servo's
// servos satisfy Servo as they are.
type ServoState = servo.State

// Servo states.
const (
	ServoUnlocked     = servo.Unlocked     // s0: still learning; nothing to apply yet
	ServoJump         = servo.Jump         // s1: step the clock, then set the frequency
	ServoLocked       = servo.Locked       // s2: set the frequency
	ServoLockedStable = servo.LockedStable // s3: locked, and the offset has stayed small
)

// Servo is what the engine needs of a clock servo. Package servo's servos
// satisfy it; tests also use simple ones.
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

// The servo package's servos plug into the engine as they are.
var (
	_ Servo = (*servo.LinReg)(nil)
	_ Servo = (*servo.PI)(nil)
	_ Servo = (*servo.Filter)(nil)
)
