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
// same port state changes (Verifier.Reset); a gap longer than the window
// in one sender's messages is refused until then.

// maxSenders bounds the senders tracked; the least recently seen is
// forgotten first.
const maxSenders = 16

type sender struct {
	id   [10]byte
	last [2]int32 // Sync, Follow_Up; -1: none yet
	used uint64
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

// check reports whether the Sync or Follow_Up in b may be accepted.
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
	return inWindow(snd.last[s], binary.BigEndian.Uint16(b[offSequenceID:]), size)
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
	w.senders[i] = sender{id: *id, last: [2]int32{-1, -1}}
	return &w.senders[i]
}

func (w *replayWindow) reset() { w.n = 0 }
