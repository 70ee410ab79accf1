package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// FuzzAuthTLV: no input makes Verify panic or read past messageLength's
// octets, and whatever whole message Append signs, Verify accepts.
func FuzzAuthTLV(f *testing.F) {
	sa := testSA(f, 1)
	for _, file := range []string{"auth-udp4-e2e-sha256-128.pcap", "auth-l2-p2p-aes128.pcap"} {
		r, err := capture.Open(authCaptures + file)
		if err != nil {
			f.Fatal(err)
		}
		var p capture.Packet
		for i := 0; i < 12 && r.Next(&p) == nil; i++ {
			f.Add(bytes.Clone(p.Payload), uint8(i%4))
		}
		r.Close()
	}
	for _, typ := range []ptp.MessageType{ptp.MessageSync, ptp.MessageManagement, ptp.MessageSignaling} {
		b, _ := Append(message(f, typ, 1, 1), sa, sa.Keys[0])
		f.Add(b, uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, key uint8) {
		v := NewVerifier(sa)
		v.AllowUnauth = AllowUnauth(key % 3)
		v.Verify(b)
		// Sign whatever is one whole message of a known type.
		if len(b) < ptp.HeaderLen {
			return
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n > len(b) {
			return
		}
		b = b[:n:n]
		k := sa.Keys[int(key)%len(sa.Keys)]
		signed, err := Append(bytes.Clone(b), sa, k)
		if err != nil {
			if !errors.Is(err, ErrMessage) && !errors.Is(err, ptp.ErrMessageTooLong) {
				t.Fatalf("Append: %v", err)
			}
			return
		}
		// Verify walks the TLVs that were there: a message whose own
		// TLVs are not well formed stays refused, and an AUTHENTICATION
		// TLV already there covered the old messageLength.
		tlvs := b[ptp.MinLength(ptp.MessageType(b[0]&0x0f)):]
		if _, err := ptp.ParseTLVs(tlvs, 0, 0); err != nil {
			return
		}
		for len(tlvs) >= 4 {
			if ptp.TLVType(binary.BigEndian.Uint16(tlvs)) == ptp.TLVAuthentication {
				return
			}
			tlvs = tlvs[4+int(binary.BigEndian.Uint16(tlvs[2:])):]
		}
		v = NewVerifier(sa)
		if f, ok := v.Verify(signed); !ok {
			t.Fatalf("signed message refused: %v", f)
		}
		signed[len(signed)-1] ^= 0x80
		v.Reset()
		if f, _ := v.Verify(signed); f != FailICV {
			t.Fatalf("changed ICV: %v", f)
		}
	})
}

// FuzzSAFile: no file makes the parser panic; an error names the file and
// line; a file it accepts has associations with keys it can use.
func FuzzSAFile(f *testing.F) {
	for _, path := range []string{"testdata/linuxptp-sa.cfg", authCaptures + "sa.cfg"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[security_association]\nspp 1\nseqid_window 5\n1 AES256 B64:PKTF9VQz94qPaoAzW4eE3JtFoQ8Ov1OTQSojalWyMbs=\n"))
	f.Add([]byte("spp 3\n2 SHA256 4 HEX:00112233\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := ParseSAFile(bytes.NewReader(b), "fuzz.cfg")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.cfg") {
				t.Fatalf("error without the file's name: %v", err)
			}
			var fe *SAFileError
			if !errors.As(err, &fe) || fe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, sa := range db.All() {
			if len(sa.Keys) == 0 {
				t.Fatalf("spp %d without keys", sa.SPP)
			}
			if sa.SeqIDWindow > MaxSeqIDWindow {
				t.Fatalf("window %d", sa.SeqIDWindow)
			}
			seen := map[uint32]bool{}
			for _, k := range sa.Keys {
				if k.ID == 0 || seen[k.ID] {
					t.Fatalf("key id %d", k.ID)
				}
				seen[k.ID] = true
				if k.Algorithm.ICVLen() == 0 {
					t.Fatalf("key %d without algorithm", k.ID)
				}
			}
			// Every key signs and verifies.
			msg := message(t, ptp.MessageAnnounce, 1, 1)
			for _, k := range sa.Keys {
				signed, err := Append(bytes.Clone(msg), sa, k)
				if err != nil {
					t.Fatal(err)
				}
				if f, ok := NewVerifier(sa).Verify(signed); !ok {
					t.Fatalf("key %d: %v", k.ID, f)
				}
			}
		}
	})
}
