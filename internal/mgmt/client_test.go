package mgmt

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// daemon is an in-process responder on a UNIX socket in t.TempDir(): it
// answers each request with the datagrams answer returns and passes the
// request on to requests.
type daemon struct {
	path     string
	requests chan *ptp.Management
}

func newDaemon(t *testing.T, answer func(req *ptp.Management) [][]byte) *daemon {
	t.Helper()
	d := &daemon{path: filepath.Join(t.TempDir(), "ptp4l"), requests: make(chan *ptp.Management, 16)}
	s, err := transport.ListenUDS(d.path, 0o600)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1500)
		for {
			n, from, err := s.Receive(b)
			if err != nil {
				return
			}
			req := new(ptp.Management)
			if req.UnmarshalBinary(b[:n]) != nil {
				continue
			}
			select {
			case d.requests <- req:
			default:
			}
			for _, r := range answer(req) {
				_ = s.Reply(r, from)
			}
		}
	}()
	t.Cleanup(func() { s.Close(); <-done })
	return d
}

// answer returns req's RESPONSE from port with sequenceId seq carrying d,
// or a MANAGEMENT_ERROR_STATUS when d is nil.
func answer(t *testing.T, req *ptp.Management, seq, port uint16, d ptp.ManagementData) []byte {
	t.Helper()
	r := *req
	r.TLVs = ptp.TLVs{}
	r.ActionField = ptp.ActionResponse
	r.SequenceID = seq
	r.TargetPortIdentity = req.SourcePortIdentity
	r.SourcePortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{1, 2, 3, 0xff, 0xfe, 4, 5, 6}, PortNumber: port}
	if d != nil {
		require.NoError(t, r.SetData(d))
	} else {
		id, _, _, _ := req.ManagementTLV()
		require.NoError(t, r.TLVs.Add(&ptp.ManagementErrorStatus{ManagementErrorID: ptp.ErrorNoSuchID, ManagementID: id}))
	}
	b, err := r.AppendBinary(nil)
	require.NoError(t, err)
	return b
}

// portDS is port's PORT_DATA_SET answer to req.
func portDS(t *testing.T, req *ptp.Management, seq, port uint16) []byte {
	return answer(t, req, seq, port, &ptp.PortDataSet{PortIdentity: ptp.PortIdentity{PortNumber: port}, PortState: ptp.PortStateMaster, VersionNumber: 2})
}

// TestGet: Get matches answers to its question by sequenceId, collects
// every port's, keeps the rest as notifications, drops what it cannot
// decode and says clearly when nobody answers.
func TestGet(t *testing.T) {
	const timeout = 200 * time.Millisecond
	tests := []struct {
		name       string
		answer     func(t *testing.T, req *ptp.Management) [][]byte
		wantPorts  []uint16
		wantErr    []string // substrings of the error
		malformed  uint64
		notified   int
		noAnswerIs bool
	}{
		{name: "one port answers",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				return [][]byte{portDS(t, q, q.SequenceID, 1)}
			},
			wantPorts: []uint16{1}},
		{name: "every port answers one request",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				return [][]byte{portDS(t, q, q.SequenceID, 1), portDS(t, q, q.SequenceID, 2), portDS(t, q, q.SequenceID, 3)}
			},
			wantPorts: []uint16{1, 2, 3}},
		{name: "an answer with another sequenceId is kept as a notification",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				return [][]byte{portDS(t, q, q.SequenceID+7, 9), portDS(t, q, q.SequenceID, 1)}
			},
			wantPorts: []uint16{1}, notified: 1},
		{name: "a malformed answer is counted and dropped",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				good := portDS(t, q, q.SequenceID, 1)
				return [][]byte{good[:40], portDS(t, q, q.SequenceID, 2)}
			},
			wantPorts: []uint16{2}, malformed: 1},
		{name: "other PTP messages and requests are ignored, not counted",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				announce, err := (&ptp.Announce{Header: ptp.Header{VersionPTP: ptp.VersionPTP2}}).AppendBinary(nil)
				require.NoError(t, err)
				echo, err := q.AppendBinary(nil)
				require.NoError(t, err)
				return [][]byte{announce, echo, portDS(t, q, q.SequenceID, 1)}
			},
			wantPorts: []uint16{1}},
		{name: "silence is ErrNoAnswer with what, whom and how long",
			answer:     func(*testing.T, *ptp.Management) [][]byte { return nil },
			wantErr:    []string{"GET PORT_DATA_SET", "no answer from the daemon", "ptp4l", "within 200ms"},
			noAnswerIs: true},
		{name: "only malformed answers are silence",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				return [][]byte{portDS(t, q, q.SequenceID, 1)[:50]}
			},
			wantErr: []string{"no answer"}, malformed: 1, noAnswerIs: true},
		{name: "an error status is an error",
			answer: func(t *testing.T, q *ptp.Management) [][]byte {
				return [][]byte{answer(t, q, q.SequenceID, 1, nil)}
			},
			wantErr: []string{"GET PORT_DATA_SET: NO_SUCH_ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, func(q *ptp.Management) [][]byte { return tt.answer(t, q) })
			c, err := Dial(d.path, 0)
			require.NoError(t, err)
			defer c.Close()
			c.Timeout = timeout

			start := time.Now()
			rs, err := c.Get(ptp.MIDPortDataSet)
			took := time.Since(start)
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, s := range tt.wantErr {
					assert.ErrorContains(t, err, s)
				}
				assert.Equal(t, tt.noAnswerIs, errors.Is(err, ErrNoAnswer))
			} else {
				require.NoError(t, err)
				var ports []uint16
				for _, r := range rs {
					ports = append(ports, r.SourcePortIdentity.PortNumber)
				}
				assert.Equal(t, tt.wantPorts, ports)
			}
			if tt.noAnswerIs {
				assert.GreaterOrEqual(t, took, timeout, "waited the whole timeout")
				assert.Less(t, took, timeout+time.Second, "and not much longer")
			}
			assert.Equal(t, tt.malformed, c.Malformed())
			assert.Len(t, c.Notifications(0), tt.notified)
		})
	}
}

// TestRequest: requests carry the Config's domain, boundary hops and
// transportSpecific, and sequenceIds from 0, as pmc's.
func TestRequest(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"phc2sys: domain 0, this clock only", Config{}},
		{"pmc -b 1 -d 24 -t 1", Config{Domain: 24, BoundaryHops: 1, TransportSpecific: 1}},
		{"pmc -b 255", Config{BoundaryHops: 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, func(*ptp.Management) [][]byte { return nil })
			cfg := tt.cfg
			cfg.Server = d.path
			c, err := Open(cfg)
			require.NoError(t, err)
			defer c.Close()
			for seq := uint16(0); seq < 3; seq++ {
				m := c.Request(ptp.ActionGet)
				require.NoError(t, m.SetEmpty(ptp.MIDDomain))
				require.NoError(t, c.Send(m))
				var q *ptp.Management
				select {
				case q = <-d.requests:
				case <-time.After(5 * time.Second):
					t.Fatal("the request did not arrive")
				}
				assert.Equal(t, seq, q.SequenceID)
				assert.Equal(t, ptp.ActionGet, q.ActionField)
				assert.Equal(t, tt.cfg.Domain, q.DomainNumber)
				assert.Equal(t, tt.cfg.TransportSpecific, q.MajorSdoID)
				assert.Equal(t, tt.cfg.BoundaryHops, q.StartingBoundaryHops)
				assert.Equal(t, tt.cfg.BoundaryHops, q.BoundaryHops)
				assert.Equal(t, ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}, q.TargetPortIdentity)
				id, _, ok, err := q.ManagementTLV()
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, ptp.MIDDomain, id)
			}
		})
	}
}

// TestReceive: pmc's way of asking. Several requests go out before any
// answer is read; Receive returns every answer in arrival order, several
// to one request (every port, or every clock within the boundary hops),
// then reports silence.
func TestReceive(t *testing.T) {
	d := newDaemon(t, func(q *ptp.Management) [][]byte {
		if q.SequenceID == 1 {
			return nil // no answer to this one
		}
		return [][]byte{portDS(t, q, q.SequenceID, 1), portDS(t, q, q.SequenceID, 2)}
	})
	c, err := Open(Config{Server: d.path, Local: filepath.Join(t.TempDir(), "pmc"), BoundaryHops: 1})
	require.NoError(t, err)
	defer c.Close()
	for range 3 {
		m := c.Request(ptp.ActionGet)
		require.NoError(t, m.SetEmpty(ptp.MIDPortDataSet))
		require.NoError(t, c.Send(m))
	}
	type got struct{ seq, port uint16 }
	var all []got
	for {
		m, err := c.Receive(100 * time.Millisecond)
		if err != nil {
			assert.ErrorIs(t, err, ErrNoAnswer)
			assert.ErrorContains(t, err, "waiting for an answer")
			break
		}
		all = append(all, got{m.SequenceID, m.SourcePortIdentity.PortNumber})
	}
	assert.Equal(t, []got{{0, 1}, {0, 2}, {2, 1}, {2, 2}}, all)
}

// TestOpen: what cannot be opened says why.
func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no daemon at the path", Config{Server: filepath.Join(t.TempDir(), "nobody")}, "no daemon listening"},
		{"network without an interface", Config{Network: ptp.ProtocolUDPIPv4}, "management over UDPv4 needs an interface"},
		{"a network mgmt cannot use", Config{Network: ptp.ProtocolDeviceNet, Interface: "lo"}, "management over DeviceNet: want IEEE 802.3, UDPv4 or UDPv6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.cfg)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TimeSource reads TIME_SOURCE_NP; a daemon without a time source answers
// with an error status, which is an error.
func TestTimeSource(t *testing.T) {
	want := ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Fix: 1, RMS: 18, TimeSource: ptp.TimeSourceGNSS, Pulses: 724}
	for _, tc := range []struct {
		name    string
		data    ptp.ManagementData
		want    ptp.TimeSourceNP
		wantErr string
	}{
		{name: "a grandmaster with a source answers", data: &want, want: want},
		{name: "anyone else answers an error", wantErr: "GET TIME_SOURCE_NP: NO_SUCH_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDaemon(t, func(q *ptp.Management) [][]byte { return [][]byte{answer(t, q, q.SequenceID, 0, tc.data)} })
			c, err := Open(Config{Server: d.path, Local: filepath.Join(t.TempDir(), "pmc"), Timeout: 200 * time.Millisecond})
			require.NoError(t, err)
			defer c.Close()
			got, err := c.TimeSource()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			req := <-d.requests
			id, data, _, _ := req.ManagementTLV()
			assert.Equal(t, ptp.MIDTimeSourceNP, id)
			assert.Empty(t, data, "Get sends the managementId alone")
		})
	}
}
