package ptp_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// seedFromCaptures adds up to perFile messages of every capture to the fuzz
// corpus, one of each message type first so that every decoder is seeded.
func seedFromCaptures(f *testing.F, add func(msg []byte)) {
	f.Helper()
	for _, root := range []string{repoCaptures} {
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
				return nil
			}
			r, err := capture.Open(path)
			if err != nil {
				return nil
			}
			defer r.Close()
			seen := map[byte]int{}
			var p capture.Packet
			for r.Next(&p) == nil {
				if len(p.Payload) == 0 || seen[p.Payload[0]] >= 3 {
					continue
				}
				seen[p.Payload[0]]++
				add(bytes.Clone(p.Payload))
			}
			return nil
		})
	}
}

// FuzzDecode feeds arbitrary bytes to the message decoder. It must never
// panic; whatever it accepts must encode, and decoding that encoding must
// give the same message again: decode(encode(decode(b))) == decode(b).
func FuzzDecode(f *testing.F) {
	seedFromCaptures(f, func(msg []byte) { f.Add(msg) })
	f.Add([]byte{})
	f.Add(make([]byte, ptp.HeaderLen))
	// roko-ptpd's own management data appear in no capture of linuxptp's.
	for _, d := range []ptp.ManagementData{timeSourceNP(), &ptp.VirtualClockNP{TrueError: -31, Frequency: 12}} {
		var m ptp.Management
		m.VersionPTP, m.ActionField = 2, ptp.ActionResponse
		require.NoError(f, m.SetData(d))
		b, err := m.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	var dec ptp.Decoder
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ptp.Decode(b)
		q, derr := dec.Decode(b)
		require.Equal(t, err == nil, derr == nil, "Decode and Decoder disagree: %v / %v", err, derr)
		if err != nil {
			return
		}
		enc, err := p.AppendBinary(nil)
		require.NoError(t, err)
		require.Equal(t, b[:p.Hdr().MessageLength], enc, "re-encoding changed the message")
		again, err := ptp.Decode(enc)
		require.NoError(t, err)
		require.Equal(t, p, again)
		// The Decoder reuses storage, so compare what it decoded by encoding.
		qenc, err := q.AppendBinary(nil)
		require.NoError(t, err)
		require.Equal(t, enc, qenc, "Decoder decoded differently")
		exerciseTLVs(t, p.Suffix())
		if m, ok := p.(*ptp.Management); ok {
			exerciseManagement(t, m)
		}
	})
}

// FuzzTLVs feeds arbitrary bytes to the TLV walker and to every typed TLV
// decoder. Accepted TLV areas must rebuild byte for byte from their parts,
// and every typed value that decodes must encode and decode to itself.
func FuzzTLVs(f *testing.F) {
	seedFromCaptures(f, func(msg []byte) {
		if p, err := ptp.Decode(msg); err == nil && p.Suffix().Len() > 0 {
			f.Add(bytes.Clone(p.Suffix().Bytes()))
		}
	})
	f.Add([]byte{0x00, 0x08, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x00, 0x01, 0x00, 0x03, 0x20})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ptp.ParseTLVs(b, ptp.MessageSignaling, ptp.SignalingLen)
		if err != nil {
			return
		}
		var m ptp.Signaling
		m.Header.VersionPTP = 2
		for _, tlv := range splitTLVs(b) {
			require.NoError(t, m.TLVs.AddRaw(tlv.Type, tlv.Value))
		}
		require.True(t, bytes.Equal(b, m.TLVs.Bytes()), "TLVs did not rebuild from their parts")
		require.Equal(t, n, m.TLVs.Count())
		exerciseTLVs(t, &m.TLVs)
		enc, err := m.MarshalBinary()
		require.NoError(t, err)
		var back ptp.Signaling
		require.NoError(t, back.UnmarshalBinary(enc))
		require.True(t, bytes.Equal(b, back.TLVs.Bytes()), "TLVs changed in a Signaling round trip")
	})
}

// splitTLVs walks a checked TLV area by hand, independently of TLVs.All.
func splitTLVs(b []byte) []ptp.TLV {
	var out []ptp.TLV
	for len(b) >= 4 {
		l := int(b[2])<<8 | int(b[3])
		out = append(out, ptp.TLV{Type: ptp.TLVType(int(b[0])<<8 | int(b[1])), Value: b[4 : 4+l]})
		b = b[4+l:]
	}
	return out
}

// typedTLV returns a fresh typed value for the TLV types the codec decodes.
func typedTLV(t ptp.TLVType) ptp.TLVValue {
	switch t {
	case ptp.TLVManagementErrorStatus:
		return new(ptp.ManagementErrorStatus)
	case ptp.TLVOrganizationExtension:
		return new(ptp.OrganizationExtension)
	case ptp.TLVRequestUnicastTransmission:
		return new(ptp.RequestUnicastTransmission)
	case ptp.TLVGrantUnicastTransmission:
		return new(ptp.GrantUnicastTransmission)
	case ptp.TLVCancelUnicastTransmission:
		return new(ptp.CancelUnicastTransmission)
	case ptp.TLVAcknowledgeCancelUnicastTransmission:
		return new(ptp.AcknowledgeCancelUnicastTransmission)
	case ptp.TLVPathTrace:
		return new(ptp.PathTrace)
	case ptp.TLVAlternateTimeOffsetIndicator:
		return new(ptp.AlternateTimeOffsetIndicator)
	case ptp.TLVPad:
		return new(ptp.Pad)
	case ptp.TLVAuthentication:
		return new(ptp.Authentication)
	}
	return nil
}

// exerciseTLVs decodes every TLV it has a type for and checks that what
// decodes survives an encode/decode round trip unchanged.
func exerciseTLVs(t *testing.T, ts *ptp.TLVs) {
	t.Helper()
	for tlv := range ts.All() {
		v := typedTLV(tlv.Type)
		if v == nil {
			continue
		}
		if v.UnmarshalValue(tlv.Value) != nil {
			continue
		}
		enc, err := v.AppendValue(nil)
		require.NoError(t, err, "%s", tlv.Type)
		w := typedTLV(tlv.Type)
		require.NoError(t, w.UnmarshalValue(enc), "%s", tlv.Type)
		require.Equal(t, v, w, "%s round trip", tlv.Type)
		if tlv.Type == ptp.TLVOrganizationExtension {
			var fi ptp.FollowUpInformation
			if fi.UnmarshalValue(tlv.Value) == nil {
				enc, err := fi.AppendValue(nil)
				require.NoError(t, err)
				require.Equal(t, tlv.Value[:28], enc)
			}
		}
	}
}

// exerciseManagement decodes the management data of a message with the
// type its managementId names, when the codec has one.
func exerciseManagement(t *testing.T, m *ptp.Management) {
	t.Helper()
	id, data, ok, err := m.ManagementTLV()
	if !ok || err != nil {
		return
	}
	d := ptp.NewManagementData(id)
	if d == nil || d.UnmarshalData(data) != nil {
		return
	}
	enc, err := d.AppendData(nil)
	require.NoError(t, err, "%s", id)
	e := ptp.NewManagementData(id)
	require.NoError(t, e.UnmarshalData(enc), "%s", id)
	require.Equal(t, d, e, "%s round trip", id)
}
