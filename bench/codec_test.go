package bench

import (
	"bytes"
	"io"
	"testing"

	fb "github.com/facebook/time/ptp/protocol"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// message is one captured message both codecs decode and encode.
type message struct {
	name  string
	bytes []byte
}

// capturedMessages takes the first Sync, Follow_Up, Delay_Req, Delay_Resp and
// Announce ptp4l sent in the UDPv4 E2E capture, and the first
// CURRENT_DATA_SET response from the management capture.
func capturedMessages(tb testing.TB) []message {
	tb.Helper()
	first := map[string][]byte{}
	walk := func(path string, keep func(b []byte) string) {
		r, err := capture.Open(path)
		require.NoError(tb, err)
		defer r.Close()
		var p capture.Packet
		for {
			err := r.Next(&p)
			if err == io.EOF {
				return
			}
			require.NoError(tb, err)
			if name := keep(p.Payload); name != "" && first[name] == nil {
				pk, err := ptp.Decode(p.Payload)
				require.NoError(tb, err)
				h := *pk.Hdr()
				first[name] = bytes.Clone(p.Payload[:h.MessageLength])
			}
		}
	}
	walk("../testdata/pcap/linuxptp/udp4-e2e.pcap", func(b []byte) string {
		t, err := ptp.PeekMessageType(b)
		if err != nil {
			return ""
		}
		switch t {
		case ptp.MessageSync:
			return "Sync"
		case ptp.MessageFollowUp:
			return "FollowUp"
		case ptp.MessageDelayReq:
			return "DelayReq"
		case ptp.MessageDelayResp:
			return "DelayResp"
		case ptp.MessageAnnounce:
			return "Announce"
		}
		return ""
	})
	walk("../testdata/pcap/linuxptp/udp4-mgmt.pcap", func(b []byte) string {
		p, err := ptp.Decode(b)
		if err != nil {
			return ""
		}
		m, ok := p.(*ptp.Management)
		if !ok || m.ActionField != ptp.ActionResponse {
			return ""
		}
		if id, _, ok, _ := m.ManagementTLV(); ok && id == ptp.MIDCurrentDataSet {
			return "MgmtCurrentDataSet"
		}
		return ""
	})
	var out []message
	for _, n := range []string{"Sync", "FollowUp", "DelayReq", "DelayResp", "Announce", "MgmtCurrentDataSet"} {
		require.NotNil(tb, first[n], "no %s in the captures", n)
		out = append(out, message{n, first[n]})
	}
	return out
}

// codec is one implementation's way of decoding a message into a value it
// keeps and encoding that value into a buffer it keeps.
type codec struct {
	decode func(b []byte) error
	encode func(buf []byte) ([]byte, error)
}

// roko decodes into a caller-owned value and appends into a caller-owned
// buffer. The management message is decoded down to its CurrentDataSet and
// encoded from it, as facebook/time's Management does.
func roko(name string) codec {
	var p ptp.Packet
	switch name {
	case "Sync":
		p = new(ptp.Sync)
	case "FollowUp":
		p = new(ptp.FollowUp)
	case "DelayReq":
		p = new(ptp.DelayReq)
	case "DelayResp":
		p = new(ptp.DelayResp)
	case "Announce":
		p = new(ptp.Announce)
	case "MgmtCurrentDataSet":
		m := new(ptp.Management)
		var cds ptp.CurrentDataSet
		return codec{
			decode: func(b []byte) error {
				if err := m.UnmarshalBinary(b); err != nil {
					return err
				}
				return m.Data(&cds)
			},
			encode: func(buf []byte) ([]byte, error) {
				if err := m.SetData(&cds); err != nil {
					return nil, err
				}
				return m.AppendBinary(buf[:0])
			},
		}
	}
	return codec{
		decode: p.UnmarshalBinary,
		encode: func(buf []byte) ([]byte, error) { return p.AppendBinary(buf[:0]) },
	}
}

// facebook uses ptp/protocol's fastest calls: UnmarshalBinary into a value,
// MarshalBinaryTo into a buffer, and for Management (which has no
// MarshalBinaryTo) MarshalBinaryToBuf into a reused bytes.Buffer.
func facebook(name string) codec {
	type fbPacket interface {
		UnmarshalBinary([]byte) error
		MarshalBinaryTo([]byte) (int, error)
	}
	var p fbPacket
	switch name {
	case "Sync", "DelayReq":
		p = new(fb.SyncDelayReq)
	case "FollowUp":
		p = new(fb.FollowUp)
	case "DelayResp":
		p = new(fb.DelayResp)
	case "Announce":
		p = new(fb.Announce)
	case "MgmtCurrentDataSet":
		m := new(fb.Management)
		var w bytes.Buffer
		return codec{
			decode: m.UnmarshalBinary,
			encode: func(buf []byte) ([]byte, error) {
				w.Reset()
				if err := m.MarshalBinaryToBuf(&w); err != nil {
					return nil, err
				}
				return append(buf[:0], w.Bytes()...), nil
			},
		}
	}
	return codec{
		decode: p.UnmarshalBinary,
		encode: func(buf []byte) ([]byte, error) {
			n, err := p.MarshalBinaryTo(buf[:cap(buf)])
			return buf[:n], err
		},
	}
}

var impls = []struct {
	name string
	new  func(string) codec
}{{"roko", roko}, {"facebook", facebook}}

// TestSameBytes guards the comparison: both codecs must decode each message
// and encode it back to the captured bytes, or the benchmark would time
// different work.
func TestSameBytes(t *testing.T) {
	for _, m := range capturedMessages(t) {
		for _, impl := range impls {
			c := impl.new(m.name)
			require.NoError(t, c.decode(m.bytes), "%s %s", impl.name, m.name)
			out, err := c.encode(make([]byte, 0, 512))
			require.NoError(t, err, "%s %s", impl.name, m.name)
			require.Equal(t, m.bytes, out, "%s %s: re-encoding differs", impl.name, m.name)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, m := range capturedMessages(b) {
		for _, impl := range impls {
			c := impl.new(m.name)
			b.Run("msg="+m.name+"/impl="+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(m.bytes)))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.decode(m.bytes); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, m := range capturedMessages(b) {
		for _, impl := range impls {
			c := impl.new(m.name)
			if err := c.decode(m.bytes); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 0, 512)
			b.Run("msg="+m.name+"/impl="+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(m.bytes)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = c.encode(buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
