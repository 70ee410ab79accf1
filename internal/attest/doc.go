// Package attest makes and checks signed time attestations: a statement
// of what a host's PTP clock was doing over a window (its grandmaster and
// that grandmaster's quality, its port state, offset statistics), bound to
// a nonce chosen by the verifier and signed with the host's Ed25519 key.
//
// A validator hands one to whoever asks "was your clock right when you
// ordered those transactions?"; the asker checks the signature against the
// key it enrolled for that host, that its own nonce is inside (so the
// statement was made for this question, not replayed), and then judges
// the facts by its own policy.
//
// The statement is text: one "name: value" line per fact in a fixed order,
// so that people can read it and the signed bytes are exactly the bytes of
// the file (see Format). The package never reads the clock or talks to a
// daemon: the caller gathers the facts. It reads and writes only the key
// file it is given, and refuses a key that anyone but its owner could read.
package attest
