package auth

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

const authCaptures = "../../testdata/pcap/linuxptp-auth/"

// TestLinuxptpCaptures verifies every message that linuxptp 4.4's ptp4l
// and pmc signed (testdata/pcap/linuxptp-auth/SOURCES.md) with the
// associations of that capture's sa.cfg: HMAC-SHA256-128, AES-CMAC-128
// over L2 with peer delay, and HMAC-SHA256 with allow_mutable. Each
// message is refused once an octet of it changed, and re-signing it
// without its TLV gives linuxptp's octets back.
func TestLinuxptpCaptures(t *testing.T) {
	db, err := LoadSAFile(authCaptures + "sa.cfg")
	require.NoError(t, err)
	for _, tc := range []struct {
		file    string
		spp     uint8
		keyID   uint32
		minMsgs int
	}{
		{"auth-udp4-e2e-sha256-128.pcap", 1, 1, 100},
		{"auth-l2-p2p-aes128.pcap", 2, 1, 300},
		{"auth-udp4-e2e-sha256-mutable.pcap", 3, 7, 100},
	} {
		t.Run(tc.file, func(t *testing.T) {
			sa := db.Lookup(tc.spp)
			require.NotNil(t, sa)
			k := sa.Key(tc.keyID)
			require.NotNil(t, k)
			r, err := capture.Open(authCaptures + tc.file)
			require.NoError(t, err)
			defer r.Close()
			v := NewVerifier(sa)
			types := map[ptp.MessageType]int{}
			var p capture.Packet
			for {
				err := r.Next(&p)
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				msg := p.Payload
				typ := ptp.MessageType(msg[0] & 0x0f)
				f, ok := v.Verify(msg)
				require.True(t, ok, "frame %d (%v): %v", p.Frame, typ, f)
				types[typ]++

				n := int(binary.BigEndian.Uint16(msg[2:]))
				tlvAt := n - TLVLen - k.Algorithm.ICVLen()
				assert.Equal(t, []byte{0x80, 0x09}, msg[tlvAt:tlvAt+2], "frame %d: the TLV is last", p.Frame)
				plain := slices.Clone(msg[:tlvAt])
				binary.BigEndian.PutUint16(plain[2:], uint16(tlvAt))
				resigned, err := Append(plain, sa, k)
				require.NoError(t, err)
				assert.Equal(t, msg[:n], resigned, "frame %d: our ICV is linuxptp's", p.Frame)

				if types[typ] > 2 {
					continue
				}
				for i := 0; i < n; i++ {
					bad := slices.Clone(msg[:n])
					bad[i] ^= 0x01
					v.Reset()
					_, ok := v.Verify(bad)
					if sa.AllowMutable && i >= offCorrection && i < offCorrection+8 {
						assert.True(t, ok, "frame %d: correctionField octet %d is mutable", p.Frame, i)
						continue
					}
					assert.False(t, ok, "frame %d: octet %d flipped", p.Frame, i)
				}
				v.Reset()
			}
			total := 0
			for _, c := range types {
				total += c
			}
			assert.GreaterOrEqual(t, total, tc.minMsgs)
			assert.Positive(t, types[ptp.MessageSync])
			assert.Positive(t, types[ptp.MessageFollowUp])
			assert.Positive(t, types[ptp.MessageAnnounce])
			assert.Positive(t, types[ptp.MessageManagement], "pmc's GETs and ptp4l's RESPONSEs")
			t.Logf("%v", types)
		})
	}
}

// TestLinuxptpCaptureWrongKey: the same capture under a key of the same
// ID but another secret is refused message by message.
func TestLinuxptpCaptureWrongKey(t *testing.T) {
	sa := &SecurityAssociation{SPP: 1, SeqIDWindow: 3}
	k, err := NewKey(1, HMACSHA256_128, []byte("not the key"))
	require.NoError(t, err)
	sa.Keys = []*Key{k}
	r, err := capture.Open(authCaptures + "auth-udp4-e2e-sha256-128.pcap")
	require.NoError(t, err)
	defer r.Close()
	v := NewVerifier(sa)
	var p capture.Packet
	n := 0
	for r.Next(&p) == nil {
		f, ok := v.Verify(p.Payload)
		require.False(t, ok)
		require.Equal(t, FailICV, f)
		n++
	}
	assert.Equal(t, uint64(n), v.Failures(FailICV))
}
