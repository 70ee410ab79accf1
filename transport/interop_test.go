package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// startPTP4L runs linuxptp's ptp4l as a software-timestamping grandmaster
// in the namespace of link, with fast intervals, and stops it when the
// test ends. Its clock runs free: nothing here may steer the host's.
func startPTP4L(t *testing.T, ptp4l, iface string, ns interface {
	Command(string, ...string) *exec.Cmd
}, transportFlag string) *bytes.Buffer {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "gm.conf")
	require.NoError(t, os.WriteFile(conf, []byte(`[global]
masterOnly 1
priority1 1
domainNumber 0
logAnnounceInterval -2
logSyncInterval -3
announceReceiptTimeout 2
free_running 1
time_stamping software
`), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := ns.Command(ptp4l, "-f", conf, "-i", iface, transportFlag, "-m")
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ptp4l output:\n%s", out.String())
		}
	})
	return &out
}

// TestPTP4LInterop puts linuxptp's ptp4l in one namespace as grandmaster
// and our transport in the other: we must see its Sync, Follow_Up and
// Announce, and it must answer the Delay_Req we send with a Delay_Resp
// whose receiveTimestamp agrees with our transmit timestamp.
func TestPTP4LInterop(t *testing.T) {
	testenv.Short(t)
	ptp4l := testenv.RequireCommand(t, "ptp4l", "linuxptp")
	p := newPair(t)
	for _, tc := range []struct {
		flag string
		o    opener
	}{{"-2", openers[0]}, {"-4", openers[1]}} {
		t.Run(tc.o.name, func(t *testing.T) {
			startPTP4L(t, ptp4l, p.la.Name, p.la.NS, tc.flag)
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
