// Package ptpd is roko-ptpd, the ptp4l replacement, minus its command
// line: it opens the transports and the clock a configuration names, runs
// the engine's event loop over them, and prints linuxptp's log lines. The
// engine decides; this package only carries packets, timestamps, timers and
// clock actions between the engine and the kernel.
package ptpd
