package auth

import "github.com/roko-network/roko-ptpd/ptp"

// AllowUnauth is linuxptp's allow_unauth: what pmc accepts that fails
// authentication. ptp4l reads the option but never applies it; its ports
// always authenticate every message.
type AllowUnauth uint8

// The three levels of pmc(8).
const (
	// AuthenticateAll accepts only authenticated messages (0).
	AuthenticateAll AllowUnauth = iota
	// AcceptUnauthResponses also accepts management responses and
	// signaling messages that carry no AUTHENTICATION TLV (1); one that
	// carries one must pass.
	AcceptUnauthResponses
	// AcceptFailedResponses accepts every message, whatever its
	// authentication says (2); the failure is still counted.
	AcceptFailedResponses
)

// Verifier authenticates the messages a port receives under one security
// association, keeps the replay window of its senders and counts each
// failure. It is not safe for concurrent use: one event loop owns it.
type Verifier struct {
	// SA is the port's security association.
	SA *SecurityAssociation
	// AllowUnauth is the pmc's allow_unauth; a daemon's port leaves it
	// AuthenticateAll.
	AllowUnauth AllowUnauth

	window   replayWindow
	failures [NumFailures]uint64
	verified uint64
	unauth   uint64
}

// NewVerifier returns a Verifier for sa.
func NewVerifier(sa *SecurityAssociation) *Verifier { return &Verifier{SA: sa} }

// Verify authenticates the message at the start of b (a received
// datagram: octets after messageLength are ignored). accept says whether
// the message may be processed; f is why it failed authentication (OK when
// it passed, or when allow_unauth let a message without a TLV through).
// Every failure is counted, also one that allow_unauth accepts.
func (v *Verifier) Verify(b []byte) (f Failure, accept bool) {
	f, hasTLV := v.SA.check(b)
	if f == OK && !v.window.check(b, v.SA.SeqIDWindow) {
		f = FailReplay
	}
	if f == OK {
		v.window.accept(b, v.SA.SeqIDWindow)
		v.verified++
		return OK, true
	}
	if !hasTLV && v.AllowUnauth >= AcceptUnauthResponses && isResponse(b) {
		v.unauth++
		return OK, true
	}
	v.failures[f]++
	return f, v.AllowUnauth == AcceptFailedResponses
}

// isResponse reports whether b is a signaling message or a management
// RESPONSE, which allow_unauth 1 lets through without a TLV.
func isResponse(b []byte) bool {
	if len(b) < ptp.HeaderLen {
		return false
	}
	switch ptp.MessageType(b[0] & 0x0f) {
	case ptp.MessageSignaling:
		return true
	case ptp.MessageManagement:
		return len(b) > offAction && ptp.ManagementAction(b[offAction]&0x0f) == ptp.ActionResponse
	}
	return false
}

// Failures returns how many messages failed for reason f.
func (v *Verifier) Failures(f Failure) uint64 {
	if f >= NumFailures {
		return 0
	}
	return v.failures[f]
}

// Verified returns how many messages passed authentication.
func (v *Verifier) Verified() uint64 { return v.verified }

// Unauthenticated returns how many messages allow_unauth let through
// without an AUTHENTICATION TLV.
func (v *Verifier) Unauthenticated() uint64 { return v.unauth }

// Reset forgets the sequenceIds of every sender, as linuxptp does when a
// port becomes UNCALIBRATED, MASTER, FAULTY or DISABLED.
func (v *Verifier) Reset() { v.window.reset() }
