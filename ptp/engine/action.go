package engine

import (
	"net/netip"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Addr is where a message came from or goes to when it is not multicast:
// an IP address and port for the UDP transports, or a MAC for L2. The
// engine only copies it from a request to its reply.
type Addr struct {
	IP  netip.AddrPort
	MAC [6]byte
}

// Dest says where a message goes.
type Dest uint8

// Destinations.
const (
	// DestPrimary is the primary multicast group (224.0.1.129,
	// ff0e::181 or 01:1B:19:00:00:00).
	DestPrimary Dest = iota
	// DestPeer is the peer delay group (224.0.0.107, ff02::6b or
	// 01:80:C2:00:00:0E).
	DestPeer
	// DestUnicast is Action.To.
	DestUnicast
)

// ActionKind says what an Action asks the driver to do.
type ActionKind uint8

// Action kinds.
const (
	// Send: transmit Msg on Port to Dest (and To). An event message
	// (Event set) wants its transmit timestamp back through
	// Clock.TxTimestamp with MessageType and SequenceID.
	Send ActionKind = iota + 1
	// AdjustFrequency: set the clock's frequency offset to PPB parts per
	// billion (an absolute setting, not an increment).
	AdjustFrequency
	// Step: step the clock by StepNs nanoseconds (added to its time).
	Step
	// Log: report Log.
	Log
	// Fault: the port could not do something it must (a missing transmit
	// timestamp, for one) and has gone FAULTY; Log says why.
	Fault
	// SetTAIOffset: tell the kernel that TAI is UTC + TAIOffset seconds
	// (adjtimex ADJ_TAI), so that CLOCK_TAI follows the grandmaster's
	// valid and traceable currentUtcOffset. Only a clock that keeps UTC
	// asks, and a driver applies it only to CLOCK_REALTIME.
	SetTAIOffset
	// ToUDS: relay Msg, a management response forwarded from the network
	// (boundaryHops), to the management client of the read-write UNIX
	// socket, as ptp4l's UDS port does.
	ToUDS
)

// Action is one thing the engine asks its driver to do. Msg aliases the
// engine's memory and is valid until the next call into the engine.
type Action struct {
	Kind  ActionKind
	Port  int // index of the port in the clock (0-based)
	Event bool
	// Forwarded marks an event message a transparent clock forwards: its
	// transmit timestamp goes back through Clock.ForwardedTxTimestamp.
	Forwarded   bool
	Dest        Dest
	To          Addr
	Msg         []byte
	MessageType ptp.MessageType
	SequenceID  uint16
	PPB         float64
	StepNs      int64
	TAIOffset   int16
	Log         LogRecord
}
