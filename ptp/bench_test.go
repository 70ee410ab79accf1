package ptp_test

import (
	"testing"

	"github.com/roko-network/roko-ptpd/ptp"
)

// The hot path: decoding into a value the caller owns and encoding into a
// buffer the caller owns must not allocate (0 allocs/op).

var benchMessages = []struct {
	name    string
	fixture string
	value   func() ptp.Packet
}{
	{"Sync", "Sync", func() ptp.Packet { return new(ptp.Sync) }},
	{"FollowUp", "FollowUp", func() ptp.Packet { return new(ptp.FollowUp) }},
	{"DelayReq", "DelayReq", func() ptp.Packet { return new(ptp.DelayReq) }},
	{"DelayResp", "DelayResp", func() ptp.Packet { return new(ptp.DelayResp) }},
	{"Announce", "Announce", func() ptp.Packet { return new(ptp.Announce) }},
	{"MgmtCurrentDataSet", "RespCurrentDataSet", func() ptp.Packet { return new(ptp.Management) }},
}

func BenchmarkDecode(b *testing.B) {
	for _, m := range benchMessages {
		buf := fixture(m.fixture)
		v := m.value()
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.UnmarshalBinary(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, m := range benchMessages {
		v := m.value()
		if err := v.UnmarshalBinary(fixture(m.fixture)); err != nil {
			b.Fatal(err)
		}
		out := make([]byte, 0, 512)
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if out, err = v.AppendBinary(out[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(out)))
		})
	}
}

// BenchmarkDecodeCurrentDataSet decodes a management response down to its
// data set, as a management client does.
func BenchmarkDecodeCurrentDataSet(b *testing.B) {
	buf := fixture("RespCurrentDataSet")
	var m ptp.Management
	var cds ptp.CurrentDataSet
	b.ReportAllocs()
	for b.Loop() {
		if err := m.UnmarshalBinary(buf); err != nil {
			b.Fatal(err)
		}
		if err := m.Data(&cds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCurrentDataSet builds a management response from a data
// set, as the management server does.
func BenchmarkEncodeCurrentDataSet(b *testing.B) {
	var m ptp.Management
	if err := m.UnmarshalBinary(fixture("RespCurrentDataSet")); err != nil {
		b.Fatal(err)
	}
	cds := ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: 12 << 16, MeanPathDelay: 612 << 16}
	out := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.SetData(&cds); err != nil {
			b.Fatal(err)
		}
		var err error
		if out, err = m.AppendBinary(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecoder measures the type switch of the generic Decoder over a
// mix of the common messages.
func BenchmarkDecoder(b *testing.B) {
	var msgs [][]byte
	for _, m := range benchMessages {
		msgs = append(msgs, fixture(m.fixture))
	}
	var d ptp.Decoder
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := d.Decode(msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
