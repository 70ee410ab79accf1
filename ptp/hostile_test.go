package ptp_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// withLength returns a copy of msg with messageLength set to n.
func withLength(msg []byte, n int) []byte {
	b := append([]byte(nil), msg...)
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	return b
}

// withTLVs returns a Signaling message (from the Announce fixture's
// header) carrying the raw TLV area tlvs, with messageLength covering it.
func signalingWith(tlvs []byte) []byte {
	b := make([]byte, ptp.SignalingLen, ptp.SignalingLen+len(tlvs))
	copy(b, fixture("Sync")[:ptp.HeaderLen])
	b[0] = b[0]&0xf0 | byte(ptp.MessageSignaling)
	b = append(b, tlvs...)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	return b
}

func TestHostileInput(t *testing.T) {
	sync := fixture("Sync")
	announce := fixture("Announce")
	for _, tc := range []struct {
		name  string
		in    []byte
		err   error
		field string
	}{
		{"empty", nil, ptp.ErrTruncated, "header"},
		{"one octet", []byte{0}, ptp.ErrTruncated, "header"},
		{"header cut", sync[:ptp.HeaderLen-1], ptp.ErrTruncated, "header"},
		{"messageLength beyond buffer", withLength(sync, 200), ptp.ErrTruncated, "messageLength"},
		{"messageLength below header", withLength(sync, 10), ptp.ErrShortMessage, "messageLength"},
		{"Sync shorter than its body", withLength(sync, ptp.HeaderLen+4)[:ptp.HeaderLen+4], ptp.ErrShortMessage, "messageLength"},
		{"Announce cut mid-body", withLength(announce, 50)[:50], ptp.ErrShortMessage, "messageLength"},
		{"version 1", append([]byte{0x00, 0x01}, sync[2:]...), ptp.ErrUnsupportedVersion, "versionPTP"},
		{"version 3", append([]byte{0x00, 0x03}, sync[2:]...), ptp.ErrUnsupportedVersion, "versionPTP"},
		{"messageType 4", append([]byte{0x04}, sync[1:]...), ptp.ErrUnknownMessageType, "messageType"},
		{"messageType 0xF", append([]byte{0x0f}, sync[1:]...), ptp.ErrUnknownMessageType, "messageType"},
		{"TLV header cut", signalingWith([]byte{0x00, 0x08, 0x00}), ptp.ErrTLVTruncated, "TLV header"},
		{"TLV overruns", signalingWith([]byte{0x00, 0x08, 0x00, 0x10, 1, 2, 3, 4}), ptp.ErrTLVOverrun, "PATH_TRACE"},
		{"TLV length 0xFFFF", signalingWith([]byte{0x00, 0x03, 0xff, 0xff, 1, 2}), ptp.ErrTLVOverrun, "ORGANIZATION_EXTENSION"},
		{"odd TLV length", signalingWith([]byte{0x00, 0x08, 0x00, 0x03, 1, 2, 3, 0}), ptp.ErrTLVOddLength, "PATH_TRACE"},
		{"second TLV bad", signalingWith([]byte{0x80, 0x08, 0x00, 0x02, 0, 0, 0x00, 0x08, 0x00, 0x09}), ptp.ErrTLVOverrun, "PATH_TRACE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p ptp.Packet
			require.NotPanics(t, func() {
				var err error
				p, err = ptp.Decode(tc.in)
				require.ErrorIs(t, err, tc.err)
				var fe *ptp.FormatError
				require.True(t, errors.As(err, &fe), "%v is not a *FormatError", err)
				assert.Equal(t, tc.field, fe.Field)
				assert.NotEmpty(t, err.Error())
			})
			assert.Nil(t, p)
			// The allocation-free paths refuse the same input the same way.
			var d ptp.Decoder
			_, err := d.Decode(tc.in)
			assert.ErrorIs(t, err, tc.err)
		})
	}
}

func TestDecodeIntoWrongType(t *testing.T) {
	var f ptp.FollowUp
	err := f.UnmarshalBinary(fixture("Sync"))
	require.ErrorIs(t, err, ptp.ErrWrongMessageType)
	var a ptp.Announce
	require.ErrorIs(t, a.UnmarshalBinary(fixture("Sync")), ptp.ErrWrongMessageType)
}

// Bytes after messageLength (Ethernet padding, the Annex E trailer) are
// not part of the message.
func TestTrailingBytesIgnored(t *testing.T) {
	msg := fixture("DelayResp")
	padded := append(append([]byte(nil), msg...), 0xde, 0xad, 0xbe, 0xef, 0, 0)
	var a, b ptp.DelayResp
	require.NoError(t, a.UnmarshalBinary(msg))
	require.NoError(t, b.UnmarshalBinary(padded))
	assert.Equal(t, a, b)
	out, err := b.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, msg, out)
}

// Decoding must not allocate in proportion to any length an attacker sets:
// refusals cost one small error value whatever the claimed length, and a
// reused value absorbs TLVs without allocating once it has grown.
func TestDecodeAllocationsBounded(t *testing.T) {
	var d ptp.Decoder
	huge := withLength(fixture("Sync"), 0xffff)
	overrun := signalingWith([]byte{0x00, 0x03, 0xff, 0xfe, 1, 2})
	for name, in := range map[string][]byte{"messageLength 65535": huge, "TLV length 65534": overrun} {
		allocs := testing.AllocsPerRun(100, func() { _, _ = d.Decode(in) })
		assert.LessOrEqual(t, allocs, 1.0, name)
	}
	withPath := signalingWith([]byte{0x00, 0x08, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	_, err := d.Decode(withPath)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.Decode(withPath); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// Unknown TLVs, on any message, are kept and written back unchanged.
func TestUnknownTLVPassesThrough(t *testing.T) {
	var a ptp.Announce
	require.NoError(t, a.UnmarshalBinary(fixture("Announce")))
	require.NoError(t, a.TLVs.AddRaw(0x7ead, []byte{1, 2, 3})) // odd: padded
	require.NoError(t, a.TLVs.Add(&ptp.PathTrace{PathSequence: []ptp.ClockIdentity{{1}, {2}}}))
	b, err := a.MarshalBinary()
	require.NoError(t, err)
	assert.Len(t, b, ptp.AnnounceLen+4+4+4+16)

	var back ptp.Announce
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, a.TLVs.Bytes(), back.TLVs.Bytes())
	assert.Equal(t, 2, back.TLVs.Count())
	raw, ok := back.TLVs.Find(0x7ead)
	require.True(t, ok)
	assert.Equal(t, []byte{1, 2, 3, 0}, raw.Value)
	var pt ptp.PathTrace
	ok, err = back.TLVs.Decode(&pt)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []ptp.ClockIdentity{{1}, {2}}, pt.PathSequence)
	assert.Equal(t, "TLV_0x7ead", ptp.TLVType(0x7ead).String())
}

func TestEncodeRefusesUnrepresentable(t *testing.T) {
	var s ptp.Sync
	s.VersionPTP = 2
	s.OriginTimestamp.Seconds = ptp.MaxTimestampSeconds + 1
	_, err := s.MarshalBinary()
	require.ErrorIs(t, err, ptp.ErrValueRange)

	var m ptp.Signaling
	m.VersionPTP = 2
	for i := 0; i < 3; i++ {
		require.NoError(t, m.TLVs.AddRaw(ptp.TLVPad, make([]byte, 30000)))
	}
	_, err = m.MarshalBinary()
	require.ErrorIs(t, err, ptp.ErrMessageTooLong)
	require.ErrorIs(t, m.TLVs.AddRaw(ptp.TLVPad, make([]byte, 70000)), ptp.ErrValueRange)

	_, err = (&ptp.UserDescription{UserDescription: ptp.PTPText(make([]byte, 256))}).AppendData(nil)
	require.ErrorIs(t, err, ptp.ErrValueRange)
}

// Every typed TLV decoder refuses values too short for its fixed fields.
func TestTypedTLVsRefuseShortValues(t *testing.T) {
	for _, v := range []ptp.TLVValue{
		new(ptp.ManagementErrorStatus), new(ptp.OrganizationExtension), new(ptp.RequestUnicastTransmission),
		new(ptp.GrantUnicastTransmission), new(ptp.CancelUnicastTransmission),
		new(ptp.AcknowledgeCancelUnicastTransmission), new(ptp.AlternateTimeOffsetIndicator),
		new(ptp.Authentication), new(ptp.FollowUpInformation),
	} {
		t.Run(v.TLVType().String(), func(t *testing.T) {
			require.NotPanics(t, func() {
				assert.ErrorIs(t, v.UnmarshalValue([]byte{0}), ptp.ErrWrongLength)
			})
		})
	}
	assert.ErrorIs(t, new(ptp.PathTrace).UnmarshalValue(make([]byte, 9)), ptp.ErrWrongLength)
	for _, id := range append([]ptp.ManagementID{ptp.MIDClockDescription, ptp.MIDDefaultDataSet,
		ptp.MIDCurrentDataSet, ptp.MIDParentDataSet, ptp.MIDTimePropertiesDataSet, ptp.MIDPortDataSet,
		ptp.MIDTimeStatusNP, ptp.MIDGrandmasterSettingsNP, ptp.MIDPortDataSetNP, ptp.MIDSubscribeEventsNP,
		ptp.MIDPortPropertiesNP, ptp.MIDPortStatsNP, ptp.MIDPortServiceStatsNP, ptp.MIDPortHWClockNP,
		ptp.MIDUserDescription, ptp.MIDUTCProperties, ptp.MIDTimescaleProperties, ptp.MIDVirtualClockNP,
		ptp.MIDTimeSourceNP}, ptp.DatumIDs...) {
		d := ptp.NewManagementData(id)
		require.NotNil(t, d, "%s", id)
		require.NotPanics(t, func() {
			assert.ErrorIs(t, d.UnmarshalData(nil), ptp.ErrWrongLength, "%s", id)
		})
	}
}
