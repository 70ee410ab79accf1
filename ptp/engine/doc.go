// Package engine is the protocol engine of a PTP ordinary or boundary clock:
// the port state machine (IEEE 1588-2019 9.2.5), and, as it grows, the
// ports' message handling and the clock that ties them to BMCA, the servo
// and the clock being steered.
//
// It lives apart from package ptp because it uses both the wire types and
// package bmca, which itself uses the wire types.
//
// The engine is pure: it takes received messages with their timestamps and
// the current time as inputs and returns what to send, which timers to set
// and what to do to the clock. It must never do I/O, read a clock, sleep or
// start a goroutine, so that the same engine runs on sockets, in a
// deterministic simulation and under capture replay.
package engine
