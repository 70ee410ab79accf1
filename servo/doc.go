// Package servo turns a stream of measured clock offsets into frequency
// settings and steps: the control loop between a PTP port's measurements
// and the clock it steers.
//
// Two servos are provided, both configured with linuxptp's options and
// defaults: PI (linuxptp's default) and LinReg (linear regression over an
// automatically sized window of recent points). A Sanity check compares a
// clock's uncorrected rate with a reference, as ptp4l's sanity_freq_limit
// does.
//
// The package is pure: it reads no clock, makes no syscall and keeps no
// goroutine. Time comes in with each sample, so the same servo runs on a
// real clock, in the simulator (internal/sim) and in replay.
//
// Sign convention: Sample returns the frequency to set on the clock, in
// ppb, positive making it run faster. (linuxptp's servos return the
// negation, which ptp4l negates again before calling clock_adjtime and
// prints as is; the engine prints ptp4l's sign.)
package servo
