package transport_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// TestPTP4LInterop puts linuxptp's ptp4l in one namespace as grandmaster
// and our transport in the other: we must see its Sync, Follow_Up and
// Announce, and it must answer the Delay_Req we send with a Delay_Resp
// whose receiveTimestamp agrees with our transmit timestamp.
func TestPTP4LInterop(t *testing.T) {
	testenv.Short(t)
	p := newPair(t)
	for _, tc := range []struct {
		flag string
		o    opener
	}{{"-2", openers[0]}, {"-4", openers[1]}} {
		t.Run(tc.o.name, func(t *testing.T) {
			linuxptp.StartPTP4L(t, p.la, linuxptp.Options{Flags: []string{tc.flag}, Config: "masterOnly 1\npriority1 1\n"})
			tr := openIn(t, p.lb, tc.o)
			ev, gen := chans(tr)
			seen := map[ptp.MessageType]int{}
			var dec ptp.Decoder
			deadline := time.After(15 * time.Second)
			take := func() (ptp.Packet, transport.RxInfo) {
				select {
				case r := <-ev:
					require.NoError(t, r.err)
					pk, err := dec.Decode(r.msg)
					require.NoError(t, err)
					return pk, r.info
				case r := <-gen:
					require.NoError(t, r.err)
					pk, err := dec.Decode(r.msg)
					require.NoError(t, err)
					return pk, r.info
				case <-deadline:
					t.Fatalf("ptp4l's messages did not all arrive: %v", seen)
				}
				return nil, transport.RxInfo{}
			}
			for seen[ptp.MessageSync] < 3 || seen[ptp.MessageFollowUp] < 3 || seen[ptp.MessageAnnounce] < 1 {
				pk, info := take()
				seen[pk.Type()]++
				assert.True(t, info.HasTime, "%s without a receive timestamp", pk.Type())
			}

			me := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x42}, PortNumber: 1}
			req := &ptp.DelayReq{Header: ptp.Header{
				VersionPTP: 2, SourcePortIdentity: me, SequenceID: 7,
				ControlField: 1, LogMessageInterval: ptp.LogIntervalUnspecified,
			}}
			b, err := req.AppendBinary(nil)
			require.NoError(t, err)
			t3, err := tr.Event.SendEvent(b, tr.Primary)
			require.NoError(t, err)
			for {
				pk, _ := take()
				resp, ok := pk.(*ptp.DelayResp)
				if !ok || resp.RequestingPortIdentity != me {
					continue
				}
				assert.Equal(t, uint16(7), resp.SequenceID)
				t4 := int64(resp.ReceiveTimestamp.Seconds)*1e9 + int64(resp.ReceiveTimestamp.Nanoseconds)
				// ptp4l timestamps on CLOCK_REALTIME in software, as we do,
				// on the same host: its receive time follows our send.
				d := t4 - t3
				assert.Positive(t, d, fmt.Sprintf("t4 %d after t3 %d", t4, t3))
				assert.Less(t, d, int64(time.Millisecond))
				break
			}
		})
	}
}
