// Package timesource is a grandmaster's time source: it turns a pulse per
// second (a PHC's EXTTS timestamps, or a kernel PPS source's) and a time
// of day (NMEA sentences, gpsd, or the system clock's whole seconds) into
// corrections of the clock the grandmaster serves, and decides the quality
// that clock may announce.
//
// It is the part of a GPS grandmaster that must be right: which second a
// pulse marks, whether an input is believable, when the clock is LOCKED,
// in HOLDOVER or FREERUN, and what clockClass, clockAccuracy, timeSource
// and traceability flags follow from that. A grandmaster that announced
// clockClass 6 without a locked source would lead a whole fleet astray, so
// every input is checked before it is applied (see Source), and the
// quality only improves after a qualification period of good pulses.
//
// The package is pure, like the engine: it reads no device and no clock
// and steers nothing. The caller feeds it pulses, time-of-day reports and
// ticks, each with the times it measured, and carries out the steps and
// frequency changes it returns. That lets the same code run on a real
// receiver, on the emulated one, and in a simulation in virtual time.
package timesource
