// Package sim is a deterministic simulator of a PTP client's clock loop in
// virtual time: a master with a perfect clock sends Sync messages over a
// simulated network to a client whose oscillator has a frequency error,
// wanders, jumps and follows the temperature, and whose frequency register
// may be coarse; timestamps carry white noise; the path may queue, lose,
// delay or reroute messages, and the grandmaster may change; a servo steers
// the client's clock from E2E measurements, as roko-ptpd or ptp4l runs it. The simulator knows the client's
// true time error at every instant, which is what servos are judged by.
//
// Runs are reproducible from their seed, and ten simulated minutes take
// milliseconds. The package is for tests and reports; nothing in the
// daemon imports it.
package sim
