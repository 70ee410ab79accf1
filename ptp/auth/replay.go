package auth

import (
	"encoding/binary"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Replay protection (linuxptp's seqid_window). linuxptp keeps one
// sequenceId per association, set when a port synchronises to a Sync and
// Follow_Up pair and cleared when a port becomes UNCALIBRATED, MASTER,
// FAULTY or DISABLED; a Sync or Follow_Up is refused unless its
// sequenceId is 1 to seqid_window ahead of it (modulo 2^16, with slips at
// the wrap that this code does not copy). Here the last sequenceId is
// kept per sender (sourcePortIdentity) and per message type and set by
// every accepted message, so that two authenticated masters on one
// segment do not lock each other out and a Sync replayed before its
// Follow_Up is refused too. As in linuxptp, the receiver clears it on the
// same port state changes (Verifier.Reset).
//
// A gap longer than the window in one sender's messages (lost packets, a
// master's restart) would in linuxptp be refused until such a state
// change, which Announces keeping the port SLAVE may never bring. Here the
// window re-anchors instead: a message with a valid ICV that is ahead of
// the window (by less than half the sequenceId space) is refused but
// remembered, and the next one from that sender, of that type, whose
// sequenceId is exactly one more is accepted and moves the window. Only
// the key holder can make fresh messages ahead of the window; a replay is
// of older, lower sequenceIds and stays refused. The exception is a
// recording older than half a sequenceId cycle (32768 messages, over half
// an hour at 16 Syncs a second), which looks ahead; keys should be
// rotated well within that.

// maxSenders bounds the senders tracked; the least recently seen is
// forgotten first.
const maxSenders = 16

type sender struct {
	id   [10]byte
	last [2]int32 // Sync, Follow_Up; -1: none yet
	// ahead is, per type, the last ICV-valid sequenceId seen ahead of the
	// window: the candidate the window re-anchors on; -1: none.
	ahead [2]int32
	used  uint64
}

type replayWindow struct {
	senders [maxSenders]sender
	n       int
	tick    uint64
}

// slot returns the index into sender.last for message type t, or -1 when
// t is not checked.
func slot(t ptp.MessageType) int {
	switch t {
	case ptp.MessageSync:
		return 0
	case ptp.MessageFollowUp:
		return 1
	}
	return -1
}

func (w *replayWindow) find(id *[10]byte) *sender {
	for i := 0; i < w.n; i++ {
		if w.senders[i].id == *id {
			return &w.senders[i]
		}
	}
	return nil
}

// inWindow reports whether seq is 1 to size ahead of last.
func inWindow(last int32, seq, size uint16) bool {
	if last < 0 {
		return true
	}
	d := seq - uint16(last)
	return d >= 1 && d <= size
}

// check reports whether the Sync or Follow_Up in b, whose ICV is valid,
// may be accepted: within the window, or the second of two consecutive
// sequenceIds ahead of it (the re-anchor). A first one ahead is refused
// and remembered.
func (w *replayWindow) check(b []byte, size uint16) bool {
	s := slot(ptp.MessageType(b[0] & 0x0f))
	if s < 0 || size == 0 {
		return true
	}
	id := (*[10]byte)(b[offSourcePort : offSourcePort+10])
	snd := w.find(id)
	if snd == nil {
		return true
	}
	seq := binary.BigEndian.Uint16(b[offSequenceID:])
	if inWindow(snd.last[s], seq, size) {
		return true
	}
	if d := seq - uint16(snd.last[s]); d == 0 || d >= 1<<15 {
		return false // the same or older: a replay
	}
	if a := snd.ahead[s]; a >= 0 && seq == uint16(a)+1 {
		return true
	}
	snd.ahead[s] = int32(seq)
	return false
}

// accept records the sequenceId of an accepted Sync or Follow_Up.
func (w *replayWindow) accept(b []byte, size uint16) {
	s := slot(ptp.MessageType(b[0] & 0x0f))
	if s < 0 || size == 0 {
		return
	}
	id := (*[10]byte)(b[offSourcePort : offSourcePort+10])
	w.tick++
	snd := w.find(id)
	if snd == nil {
		snd = w.add(id)
	}
	snd.last[s] = int32(binary.BigEndian.Uint16(b[offSequenceID:]))
	snd.ahead[s] = -1
	snd.used = w.tick
}

func (w *replayWindow) add(id *[10]byte) *sender {
	i := w.n
	if i < maxSenders {
		w.n++
	} else {
		for j := 1; j < maxSenders; j++ {
			if w.senders[j].used < w.senders[i%maxSenders].used {
				i = j
			}
		}
		i %= maxSenders
	}
	w.senders[i] = sender{id: *id, last: [2]int32{-1, -1}, ahead: [2]int32{-1, -1}}
	return &w.senders[i]
}

func (w *replayWindow) reset() { w.n = 0 }
