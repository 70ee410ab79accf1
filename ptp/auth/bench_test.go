package auth

import (
	"testing"

	"github.com/roko-network/roko-ptpd/ptp"
)

// BenchmarkAppend signs a Follow_Up (go test -bench . -benchmem): the
// cost each sent message pays, per algorithm.
func BenchmarkAppend(b *testing.B) {
	sa := testSA(b, 1)
	plain := message(b, ptp.MessageFollowUp, 1, 1)
	buf := make([]byte, 0, 128)
	for _, k := range sa.Keys {
		b.Run(k.Algorithm.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Append(append(buf[:0], plain...), sa, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify checks a signed Follow_Up, window included.
func BenchmarkVerify(b *testing.B) {
	sa := testSA(b, 1)
	for _, k := range sa.Keys {
		signed, err := Append(message(b, ptp.MessageFollowUp, 1, 1), sa, k)
		if err != nil {
			b.Fatal(err)
		}
		v := NewVerifier(sa)
		b.Run(k.Algorithm.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// A new sequenceId each time would need a new ICV: the
				// window is forgotten instead, which costs the same.
				v.Reset()
				if _, ok := v.Verify(signed); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
