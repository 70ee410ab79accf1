// Package gpsemu is an emulated GPS receiver for machines without one: the
// pulse per second and the NMEA time of day a GPS grandmaster (issue 17)
// pairs, produced in software so that the daemon's real code can be
// tested against them.
//
// A Receiver keeps true time as the phc emulations do (CLOCK_REALTIME
// computed from CLOCK_MONOTONIC, phc.EmulatedRealtime), plus a whole
// number of seconds (Config.TimeOffset) so that a test can pretend it is
// any moment, such as the end of a leap-second day. At each true second
// it presents the pulse's edges, with their exact timestamps, on an
// emulated PHC's EXTTS input (phc.Emulated.InjectEdge) and/or an emulated
// PPS source (phc.EmulatedPPS), and a moment later writes RMC and ZDA
// sentences naming the second that began to any io.Writer: a pty
// (OpenPTY) that the daemon opens like /dev/ttyS0, or TCP clients
// (ListenTCP). It can misbehave as receivers do: pulse jitter, sawtooth,
// cable delay, lost pulses and sentences, losing the fix, corrupt
// sentences.
//
// It must never touch a real clock: it reads CLOCK_MONOTONIC and
// CLOCK_REALTIME and sets nothing. Its pulses exist only in emulated
// hardware's state files.
package gpsemu
