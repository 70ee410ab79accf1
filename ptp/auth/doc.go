// Package auth is the AUTHENTICATION TLV of IEEE 1588-2019 (16.14, Annex
// P) with immediate security processing, as linuxptp 4.x implements it:
// the security associations of an sa_file, the integrity check value (ICV)
// of a message under one of their keys, the TLV that carries it, and the
// sequenceId window that rejects replayed Sync and Follow_Up messages.
//
// A sender appends the TLV to a finished message (Append); a receiver
// checks every message against its port's association before anything
// else reads it (Verifier.Verify) and counts each failure by its reason.
// Both work on the message's octets as they are on the wire and allocate
// nothing once a key is set up: they run for every message a port sends
// and receives.
//
// This package must never do I/O beyond reading the sa_file it is handed,
// make a system call or read a clock, and it must never print or log a
// key. Hostile input gives a Failure or an error, never a panic.
package auth
