// Package tod reads the time of day from a GNSS receiver or from gpsd, for
// a grandmaster that pairs it with the receiver's pulse per second: the
// pulse marks the edge of each second, a time-of-day report says which
// second that was.
//
// Three readers deliver the same Report: NMEA 0183 sentences (RMC, ZDA)
// on a serial device (Serial, ts2phc.nmea_serialport and
// ts2phc.nmea_baudrate), the same sentences over TCP (NMEAOverTCP,
// ts2phc.nmea_remote_host and ts2phc.nmea_remote_port, as linuxptp's
// ts2phc reads them), and gpsd's JSON protocol (GPSD).
//
// The package only reads, checks and stamps: every Report carries the
// CLOCK_MONOTONIC time at which its last byte was read, and nothing else
// is decided here. It never touches a clock, and it never decides which
// pulse a report labels: that pairing (a report arrives some hundreds of
// milliseconds after the pulse it names, or before the next one,
// depending on the receiver) belongs to the caller, which also knows the
// pulse's timestamps. Whatever cannot be checked (a bad checksum, a line
// that is not a sentence or not JSON) is counted and dropped, never
// delivered.
package tod
