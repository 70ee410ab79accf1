package auth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func signedMsg(t *testing.T, sa *SecurityAssociation, typ ptp.MessageType, src byte, seq uint16) []byte {
	t.Helper()
	b, err := Append(message(t, typ, src, seq), sa, sa.Keys[0])
	require.NoError(t, err)
	return b
}

// TestReplayWindow walks one sender's Syncs and Follow_Ups through the
// window of 3: ahead by 1 to 3 passes; the same, older or further ahead
// is a replay; the wrap at 65535 is no gap; Reset forgets.
func TestReplayWindow(t *testing.T) {
	sa := testSA(t, 1)
	v := NewVerifier(sa)
	steps := []struct {
		typ  ptp.MessageType
		seq  uint16
		pass bool
	}{
		{ptp.MessageSync, 100, true}, // first from this sender
		{ptp.MessageFollowUp, 100, true},
		{ptp.MessageSync, 100, false}, // the same Sync again
		{ptp.MessageFollowUp, 100, false},
		{ptp.MessageSync, 101, true},
		{ptp.MessageFollowUp, 101, true},
		{ptp.MessageSync, 99, false},  // older
		{ptp.MessageSync, 104, true},  // two lost: within 3
		{ptp.MessageSync, 108, false}, // four ahead
		{ptp.MessageFollowUp, 104, true},
		{ptp.MessageAnnounce, 3, true}, // only Sync and Follow_Up are checked
		{ptp.MessageAnnounce, 3, true},
		{ptp.MessageDelayResp, 50, true},
		{ptp.MessageDelayResp, 50, true},
	}
	for i, s := range steps {
		f, ok := v.Verify(signedMsg(t, sa, s.typ, 1, s.seq))
		require.Equal(t, s.pass, ok, "step %d: %v %d", i, s.typ, s.seq)
		if !s.pass {
			assert.Equal(t, FailReplay, f)
		}
	}
	assert.Equal(t, uint64(4), v.Failures(FailReplay))
	assert.Equal(t, uint64(len(steps)-4), v.Verified(), "the messages that passed")

	// The wrap.
	v.Reset()
	for _, seq := range []uint16{65534, 65535, 0, 2} {
		_, ok := v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, seq))
		assert.True(t, ok, "seq %d", seq)
	}
	_, ok := v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 65535))
	assert.False(t, ok, "65535 after 2 is a replay")

	// Reset (a port state change) accepts anything once.
	v.Reset()
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 100))
	assert.True(t, ok)

	// A refused (forged) message does not move the window.
	bad := signedMsg(t, sa, ptp.MessageSync, 1, 102)
	bad[len(bad)-1] ^= 1
	_, ok = v.Verify(bad)
	assert.False(t, ok)
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 101))
	assert.True(t, ok)
}

// TestReplayWindowReanchor: after a gap longer than the window, two
// consecutive genuine sequenceIds ahead of it move the window (the first
// is refused), so a sender is not locked out until a port state change;
// replays of old messages stay refused, and ahead-of-window messages that
// are not consecutive do not move it.
func TestReplayWindowReanchor(t *testing.T) {
	sa := testSA(t, 1)
	require.Equal(t, uint16(3), sa.SeqIDWindow)
	v := NewVerifier(sa)
	type step struct {
		typ  ptp.MessageType
		seq  uint16
		pass bool
	}
	steps := []step{
		{ptp.MessageSync, 100, true},
		{ptp.MessageFollowUp, 100, true},
		{ptp.MessageSync, 101, true},
		{ptp.MessageFollowUp, 101, true},
		// A gap of 4 (102 to 105 lost): 106 is ahead of the window.
		{ptp.MessageSync, 106, false},
		{ptp.MessageFollowUp, 106, false},
		{ptp.MessageSync, 107, true}, // consecutive to 106: re-anchored
		{ptp.MessageFollowUp, 107, true},
		{ptp.MessageSync, 108, true},
		{ptp.MessageFollowUp, 108, true},
		// Replays of old messages, also two consecutive ones.
		{ptp.MessageSync, 100, false},
		{ptp.MessageSync, 101, false},
		{ptp.MessageSync, 106, false},
		{ptp.MessageSync, 107, false},
		{ptp.MessageFollowUp, 107, false},
		// Ahead but not consecutive: no re-anchor.
		{ptp.MessageSync, 200, false},
		{ptp.MessageSync, 202, false},
		{ptp.MessageSync, 200, false},
		{ptp.MessageSync, 109, true}, // the window has not moved
		// A Sync ahead does not re-anchor Follow_Ups.
		{ptp.MessageSync, 300, false},
		{ptp.MessageFollowUp, 301, false},
		{ptp.MessageFollowUp, 109, true},
	}
	refused := 0
	for i, s := range steps {
		f, ok := v.Verify(signedMsg(t, sa, s.typ, 1, s.seq))
		require.Equal(t, s.pass, ok, "step %d: %v %d", i, s.typ, s.seq)
		if !s.pass {
			refused++
			assert.Equal(t, FailReplay, f, "step %d", i)
		}
	}
	assert.Equal(t, uint64(refused), v.Failures(FailReplay))

	// A forged message ahead is no candidate: its ICV fails first.
	bad := signedMsg(t, sa, ptp.MessageSync, 1, 500)
	bad[len(bad)-1] ^= 1
	_, ok := v.Verify(bad)
	require.False(t, ok)
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 501))
	assert.False(t, ok, "501 after a forged 500 does not re-anchor")
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 502))
	assert.True(t, ok, "502 after a genuine 501 does")
}

// TestReplayWindowSenders: each sender has its own window, so that two
// masters on a segment do not refuse each other's messages; the least
// recently seen is forgotten when the table is full.
func TestReplayWindowSenders(t *testing.T) {
	sa := testSA(t, 1)
	v := NewVerifier(sa)
	for i := range 3 {
		for src := byte(1); src <= 2; src++ {
			seq := uint16(1000*int(src) + i)
			_, ok := v.Verify(signedMsg(t, sa, ptp.MessageSync, src, seq))
			require.True(t, ok, "sender %d seq %d", src, seq)
		}
	}
	_, ok := v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 1001))
	assert.False(t, ok, "sender 1's old Sync")

	// Fill the table; sender 1 (seen last at the start) is forgotten.
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 2, 2003))
	require.True(t, ok)
	for src := byte(3); src < 3+maxSenders-1; src++ {
		_, ok := v.Verify(signedMsg(t, sa, ptp.MessageSync, src, 5))
		require.True(t, ok)
	}
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 1001))
	assert.True(t, ok, "sender 1 was forgotten")
	_, ok = v.Verify(signedMsg(t, sa, ptp.MessageSync, 3, 5))
	assert.False(t, ok, "sender 3 is still known")
}

// TestSeqIDWindowZero: seqid_window 0 turns the check off.
func TestSeqIDWindowZero(t *testing.T) {
	sa := testSA(t, 1)
	sa.SeqIDWindow = 0
	v := NewVerifier(sa)
	for range 3 {
		_, ok := v.Verify(signedMsg(t, sa, ptp.MessageSync, 1, 7))
		assert.True(t, ok)
	}
}

// TestAllowUnauth follows pmc(8): 0 authenticates everything; 1 also
// takes management responses and signaling without a TLV (one with a TLV
// must pass); 2 takes everything. Failures are counted at every level.
func TestAllowUnauth(t *testing.T) {
	sa := testSA(t, 1)
	plainResp := func(t *testing.T) []byte { return message(t, ptp.MessageManagement, 1, 1) }
	plainSig := func(t *testing.T) []byte { return message(t, ptp.MessageSignaling, 1, 1) }
	plainGet := func(t *testing.T) []byte {
		b := message(t, ptp.MessageManagement, 1, 1)
		b[offAction] = byte(ptp.ActionGet)
		return b
	}
	plainAnnounce := func(t *testing.T) []byte { return message(t, ptp.MessageAnnounce, 1, 1) }
	badResp := func(t *testing.T) []byte {
		b := signedMsg(t, sa, ptp.MessageManagement, 1, 1)
		b[len(b)-1] ^= 1
		return b
	}
	for _, tc := range []struct {
		name  string
		msg   func(*testing.T) []byte
		level AllowUnauth
		pass  bool
		f     Failure
	}{
		{"0 response", plainResp, AuthenticateAll, false, FailMissing},
		{"1 response", plainResp, AcceptUnauthResponses, true, OK},
		{"1 signaling", plainSig, AcceptUnauthResponses, true, OK},
		{"1 GET", plainGet, AcceptUnauthResponses, false, FailMissing},
		{"1 Announce", plainAnnounce, AcceptUnauthResponses, false, FailMissing},
		{"1 bad response", badResp, AcceptUnauthResponses, false, FailICV},
		{"2 bad response", badResp, AcceptFailedResponses, true, FailICV},
		{"2 Announce", plainAnnounce, AcceptFailedResponses, true, FailMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(sa)
			v.AllowUnauth = tc.level
			f, ok := v.Verify(tc.msg(t))
			assert.Equal(t, tc.pass, ok)
			assert.Equal(t, tc.f, f)
			if tc.f != OK {
				assert.Equal(t, uint64(1), v.Failures(tc.f))
			} else {
				assert.Equal(t, uint64(1), v.Unauthenticated())
			}
		})
	}
	assert.Zero(t, NewVerifier(sa).Failures(NumFailures))
}
