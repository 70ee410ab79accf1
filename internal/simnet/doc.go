// Package simnet is a small deterministic network of simulated PTP clocks
// for tests: nodes run the real engine (package ptp/engine) through its one
// Executor on an internal/vtime event queue, their clocks have an offset
// and a frequency error that the engine steers, and segments join their
// ports with per-direction delays, periodic loss and timestamp noise. A
// test can mute a node or some of its messages, inject forged messages,
// and read the true error between two nodes' clocks, which no node can
// see. It is exact enough to check protocol behaviour; the servo
// experiments use internal/sim.
//
// It must never read the wall clock, sleep, start a goroutine or do I/O:
// time is only the virtual time of its queue, and two runs with the same
// seed give the same results.
package simnet
