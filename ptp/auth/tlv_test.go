package auth

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// TestAppendVerify signs each kind of message under each algorithm,
// checks the TLV's layout and that the message still decodes with the
// TLV last, and that Verify accepts it and refuses it once any octet of
// it changed.
func TestAppendVerify(t *testing.T) {
	sa := testSA(t, 5)
	types := []ptp.MessageType{ptp.MessageSync, ptp.MessageFollowUp, ptp.MessageAnnounce,
		ptp.MessageDelayResp, ptp.MessageManagement, ptp.MessageSignaling}
	for _, k := range sa.Keys {
		for _, typ := range types {
			t.Run(k.Algorithm.String()+"/"+typ.String(), func(t *testing.T) {
				plain := message(t, typ, 1, 7)
				signed, err := Append(slices.Clone(plain), sa, k)
				require.NoError(t, err)
				icvLen := k.Algorithm.ICVLen()
				require.Len(t, signed, len(plain)+TLVLen+icvLen)
				assert.Equal(t, uint16(len(signed)), binary.BigEndian.Uint16(signed[2:]), "messageLength counts the TLV")
				tlv := signed[len(plain):]
				assert.Equal(t, []byte{0x80, 0x09}, tlv[:2])
				assert.Equal(t, uint16(6+icvLen), binary.BigEndian.Uint16(tlv[2:]))
				assert.Equal(t, byte(5), tlv[4], "spp")
				assert.Equal(t, byte(0), tlv[5], "secParamIndicator")
				assert.Equal(t, k.ID, binary.BigEndian.Uint32(tlv[6:]))
				assert.Equal(t, plain[4:], signed[4:len(plain)], "the message itself is unchanged after messageLength")

				p, err := ptp.Decode(signed)
				require.NoError(t, err)
				var last ptp.TLVType
				for tl := range p.Suffix().All() {
					last = tl.Type
				}
				assert.Equal(t, ptp.TLVAuthentication, last)

				v := NewVerifier(sa)
				f, ok := v.Verify(append(slices.Clone(signed), 0, 0, 0, 0)) // padding after messageLength is ignored
				require.Equal(t, OK, f)
				require.True(t, ok)
				for i := range signed {
					bad := slices.Clone(signed)
					bad[i] ^= 0x10
					v.Reset()
					f, ok := v.Verify(bad)
					assert.False(t, ok, "octet %d flipped", i)
					assert.NotEqual(t, OK, f, "octet %d flipped", i)
				}
			})
		}
	}
}

// TestVerifyFailures gives each reason its message.
func TestVerifyFailures(t *testing.T) {
	sa := testSA(t, 5)
	k := sa.Key(1)
	signed := func(t *testing.T) []byte {
		b, err := Append(message(t, ptp.MessageAnnounce, 1, 1), sa, k)
		require.NoError(t, err)
		return b
	}
	tlvAt := len(message(t, ptp.MessageAnnounce, 1, 1))
	for _, tc := range []struct {
		name string
		msg  func(t *testing.T) []byte
		want Failure
	}{
		{"no TLV", func(t *testing.T) []byte { return message(t, ptp.MessageAnnounce, 1, 1) }, FailMissing},
		{"other TLV only", func(t *testing.T) []byte { return message(t, ptp.MessageManagement, 1, 1) }, FailMissing},
		{"TLV not last", func(t *testing.T) []byte {
			// A good ICV over the final messageLength, and a PATH_TRACE
			// TLV after it.
			b := message(t, ptp.MessageAnnounce, 1, 1)
			b = append(b, 0x80, 0x09, 0, 22, 5, 0, 0, 0, 0, 1)
			icvAt := len(b)
			b = append(b, make([]byte, 16)...)
			b = append(b, 0x00, 0x08, 0x00, 0x00)
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
			copy(b[icvAt:], sa.icv(k, b[:icvAt]))
			return b
		}, FailMissing},
		{"wrong spp", func(t *testing.T) []byte { b := signed(t); b[tlvAt+4] = 6; return b }, FailSPP},
		{"delayed", func(t *testing.T) []byte { b := signed(t); b[tlvAt+5] = secParamDelayed; return b }, FailParameters},
		{"sequenceNo", func(t *testing.T) []byte { b := signed(t); b[tlvAt+5] = secParamSeqNo; return b }, FailParameters},
		{"unknown key", func(t *testing.T) []byte { b := signed(t); b[tlvAt+9] = 9; return b }, FailKey},
		{"length", func(t *testing.T) []byte {
			b := signed(t)
			b = append(b, 0, 0)
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
			binary.BigEndian.PutUint16(b[tlvAt+2:], 6+16+2)
			return b
		}, FailLength},
		{"short TLV", func(t *testing.T) []byte {
			b := append(message(t, ptp.MessageAnnounce, 1, 1), 0x80, 0x09, 0, 2, 5, 0)
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
			return b
		}, FailLength},
		{"icv", func(t *testing.T) []byte { b := signed(t); b[len(b)-1] ^= 1; return b }, FailICV},
		{"truncated", func(t *testing.T) []byte { return signed(t)[:20] }, FailMalformed},
		{"messageLength past the end", func(t *testing.T) []byte { b := signed(t); return b[:len(b)-1] }, FailMalformed},
		{"TLV overrun", func(t *testing.T) []byte {
			b := signed(t)
			binary.BigEndian.PutUint16(b[tlvAt+2:], 200)
			return b
		}, FailMalformed},
		{"unknown type", func(t *testing.T) []byte { b := signed(t); b[0] = 0x05; return b }, FailMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(sa)
			f, ok := v.Verify(tc.msg(t))
			assert.Equal(t, tc.want, f)
			assert.False(t, ok)
			assert.Equal(t, uint64(1), v.Failures(tc.want))
		})
	}
}

// TestAllowMutable: with allow_mutable the ICV leaves correctionField out
// (a transparent clock may change it); without, a changed correction is
// refused.
func TestAllowMutable(t *testing.T) {
	for _, mutable := range []bool{false, true} {
		sa := testSA(t, 1)
		sa.AllowMutable = mutable
		b, err := Append(message(t, ptp.MessageSync, 1, 1), sa, sa.Key(2))
		require.NoError(t, err)
		assert.Equal(t, uint64(0x1234), binary.BigEndian.Uint64(b[8:]), "correctionField is sent as it was")
		binary.BigEndian.PutUint64(b[8:], 0x999999)
		f, ok := NewVerifier(sa).Verify(b)
		assert.Equal(t, mutable, ok, "mutable %v", mutable)
		if !mutable {
			assert.Equal(t, FailICV, f)
		}
	}
}

// TestMultipleTLVs: linuxptp checks every AUTHENTICATION TLV of a
// message; two in a row, each over the message up to itself, pass.
func TestMultipleTLVs(t *testing.T) {
	sa := testSA(t, 1)
	b, err := Append(message(t, ptp.MessageAnnounce, 1, 1), sa, sa.Key(1))
	require.NoError(t, err)
	// The second TLV's ICV covers the first; the first's now covers a
	// messageLength that changed: refused, as linuxptp would.
	b2, err := Append(slices.Clone(b), sa, sa.Key(3))
	require.NoError(t, err)
	f, _ := NewVerifier(sa).Verify(b2)
	assert.Equal(t, FailICV, f)
}

func TestAppendRefuses(t *testing.T) {
	sa := testSA(t, 1)
	k := sa.Key(1)
	_, err := Append([]byte{1, 2, 3}, sa, k)
	assert.ErrorIs(t, err, ErrMessage)
	b := message(t, ptp.MessageSync, 1, 1)
	_, err = Append(b[:len(b)-1], sa, k)
	assert.ErrorIs(t, err, ErrMessage, "messageLength must be the slice's length")
	b[0] = 0x04
	_, err = Append(b, sa, k)
	assert.ErrorIs(t, err, ErrMessage, "unknown message type")
	big := message(t, ptp.MessageSignaling, 1, 1)
	big = append(big, make([]byte, 0xffff-len(big)-10)...)
	binary.BigEndian.PutUint16(big[2:], uint16(len(big)))
	_, err = Append(big, sa, k)
	assert.ErrorIs(t, err, ptp.ErrMessageTooLong)
}

func TestAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		name           string
		alg            Algorithm
		icvLen, keyLen int
	}{
		{"SHA256-128", HMACSHA256_128, 16, 0},
		{"sha256", HMACSHA256, 32, 0},
		{"AES128", CMACAES128, 16, 16},
		{"aes256", CMACAES256, 16, 32},
	} {
		a, ok := ParseAlgorithm(tc.name)
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.alg, a)
		assert.Equal(t, tc.icvLen, a.ICVLen())
		assert.Equal(t, tc.keyLen, a.KeyLen())
	}
	_, ok := ParseAlgorithm("SHA1")
	assert.False(t, ok)
	assert.Equal(t, "Algorithm(9)", Algorithm(9).String())
	assert.Equal(t, 0, Algorithm(9).ICVLen())
	_, err := NewKey(1, CMACAES128, make([]byte, 15))
	assert.ErrorIs(t, err, ErrKeyLength)
	_, err = NewKey(1, HMACSHA256, nil)
	assert.ErrorIs(t, err, ErrKeyLength)
	_, err = NewKey(0, HMACSHA256, []byte("k"))
	assert.Error(t, err)
	_, err = NewKey(1, 0, []byte("k"))
	assert.Error(t, err)
}

// TestAllocations: signing and verifying allocate nothing once a key is
// set up (see also the benchmarks).
func TestAllocations(t *testing.T) {
	sa := testSA(t, 1)
	for _, k := range sa.Keys {
		plain := message(t, ptp.MessageFollowUp, 1, 1)
		buf := make([]byte, 0, 128)
		v := NewVerifier(sa)
		seq := uint16(1)
		allocs := testing.AllocsPerRun(100, func() {
			b, err := Append(append(buf[:0], plain...), sa, k)
			if err != nil {
				t.Fatal(err)
			}
			seq++
			setSeq(b, seq) // a changed ICV input: refused, counted
			if _, ok := v.Verify(b); ok {
				t.Fatal("changed message accepted")
			}
		})
		assert.Zero(t, allocs, k.Algorithm.String())
		b, _ := Append(append(buf[:0], plain...), sa, k)
		allocs = testing.AllocsPerRun(100, func() {
			v.Reset()
			if _, ok := v.Verify(b); !ok {
				t.Fatal("refused")
			}
		})
		assert.Zero(t, allocs, k.Algorithm.String())
	}
}

func TestFailureNames(t *testing.T) {
	assert.Equal(t, "bad_icv", FailICV.String())
	assert.Equal(t, "replay", FailReplay.String())
	assert.Equal(t, "Failure(99)", Failure(99).String())
	for f := OK; f < NumFailures; f++ {
		assert.NotEmpty(t, f.String())
	}
}

// TestStrip: a verified message without its TLV is the message as its
// sender built it; TLVs before it stay.
func TestStrip(t *testing.T) {
	sa := testSA(t, 1)
	for _, typ := range []ptp.MessageType{ptp.MessageSync, ptp.MessageManagement} {
		plain := message(t, typ, 1, 1)
		signed, err := Append(slices.Clone(plain), sa, sa.Key(2))
		require.NoError(t, err)
		assert.Equal(t, plain, Strip(append(signed, 0, 0)))
	}
	assert.Equal(t, []byte{1, 2}, Strip([]byte{1, 2}))
}
