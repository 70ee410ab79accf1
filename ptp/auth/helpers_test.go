package auth

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// testSA returns an association with one key of each algorithm: keyID 1
// to 4 in Algorithm order.
func testSA(t testing.TB, spp uint8) *SecurityAssociation {
	t.Helper()
	sa := &SecurityAssociation{SPP: spp, SeqIDWindow: DefaultSeqIDWindow}
	secrets := map[Algorithm]string{
		HMACSHA256_128: "F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C",
		HMACSHA256:     "EE91D469B3A8ADC6AC8EB28E21794C706E08FDE48863828A7B0281AFCA81B17D",
		CMACAES128:     "FAF48EBA01E7C5966A76CB787AED4E7B",
		CMACAES256:     "3CA4C5F55433F78A8F6A80335B8784DC9B45A10F0EBF5393412A236A55B231BB",
	}
	for a := HMACSHA256_128; a <= CMACAES256; a++ {
		k, err := NewKey(uint32(a), a, unhex(t, secrets[a]))
		require.NoError(t, err)
		sa.Keys = append(sa.Keys, k)
	}
	return sa
}

// message returns an encoded message of type typ from source port src
// with sequenceId seq, with room for a TLV after it.
func message(t testing.TB, typ ptp.MessageType, src byte, seq uint16) []byte {
	t.Helper()
	h := ptp.Header{VersionPTP: 2, MinorVersionPTP: 1, DomainNumber: 24, SequenceID: seq,
		CorrectionField:    0x1234,
		SourcePortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0, 1, 2, 3, 4, 5, 6, src}, PortNumber: 1}}
	var p ptp.Packet
	switch typ {
	case ptp.MessageSync:
		h.Flags = ptp.FlagTwoStep
		p = &ptp.Sync{Header: h}
	case ptp.MessageFollowUp:
		p = &ptp.FollowUp{Header: h, PreciseOriginTimestamp: ptp.Timestamp{Seconds: 1000, Nanoseconds: 5}}
	case ptp.MessageAnnounce:
		p = &ptp.Announce{Header: h, GrandmasterPriority1: 128}
	case ptp.MessageDelayResp:
		p = &ptp.DelayResp{Header: h}
	case ptp.MessageManagement:
		m := &ptp.Management{Header: h, ActionField: ptp.ActionResponse}
		require.NoError(t, m.TLVs.AddRaw(ptp.TLVManagement, []byte{0x20, 0x00}))
		p = m
	case ptp.MessageSignaling:
		p = &ptp.Signaling{Header: h}
	default:
		t.Fatalf("no test message of type %v", typ)
	}
	b, err := p.AppendBinary(make([]byte, 0, 256))
	require.NoError(t, err)
	return b
}

func setSeq(b []byte, seq uint16) { binary.BigEndian.PutUint16(b[offSequenceID:], seq) }
