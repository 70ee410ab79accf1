// Package phc reads and steers clocks: a NIC's PTP hardware clock
// (/dev/ptpN), CLOCK_REALTIME, and a virtual software clock that behaves
// like a PHC and knows its own true error. It also measures the offset
// between a PHC and the system clock, drives a PHC's pins (external
// timestamps in, periodic output) and reads /dev/ppsN.
//
// Everything that touches the kernel for time lives here, behind the Clock
// interface that the engine and phc2sys steer. The package never decides
// how to steer (that is the servo's job) and never steps or slews a clock
// except when a caller asks it to.
package phc
