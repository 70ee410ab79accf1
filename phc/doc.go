// Package phc reads and steers clocks: a NIC's PTP hardware clock
// (/dev/ptpN), CLOCK_REALTIME, and a virtual software clock that behaves
// like a PHC and knows its own true error. It also measures the offset
// between a PHC and the system clock, drives a PHC's pins (external
// timestamps in, periodic output) and reads /dev/ppsN.
//
// A Device makes its kernel calls through one small seam (kernel.go), so
// that an emulated PHC (emulated.go, emustate.go) can stand in for
// /dev/ptpN on machines without one: Open on its state file returns a
// Device that runs the same code, with only the kernel's answers
// emulated, and several processes opening the file share one clock, as
// ptp4l and phc2sys share a NIC's. The emulation must never touch the
// real clocks: it reads CLOCK_MONOTONIC and CLOCK_REALTIME and never sets
// or slews either.
//
// Everything that touches the kernel for time lives here, behind the Clock
// interface that the engine and phc2sys steer. The package never decides
// how to steer (that is the servo's job) and never steps or slews a clock
// except when a caller asks it to.
package phc
