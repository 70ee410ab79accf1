// Package mgmttest is a stand-in for a PTP daemon's management socket, for
// the tests of management clients (roko-pmc, roko-ptpctl): it answers
// requests on a UNIX socket as the test says. It is for tests only and
// never opens anything but a socket in the test's temporary directory.
package mgmttest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// Responder is the identity the stand-in answers from.
var Responder = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{1, 2, 3, 0xff, 0xfe, 4, 5, 6}, PortNumber: 1}

// Daemon answers each management request on a UNIX socket, until the
// test ends, with what answer returns for its managementId and dataField:
// data, or nil for a NOT_SUPPORTED error status, as roko-ptpd's engine
// answers an ID it has no data for; ok false sends no reply. It returns
// the socket's path.
func Daemon(t *testing.T, answer func(req *ptp.Management, id ptp.ManagementID, data []byte) (d ptp.ManagementData, ok bool)) string {
	t.Helper()
	return Ports(t, func(req *ptp.Management, id ptp.ManagementID, data []byte) ([]ptp.ManagementData, bool) {
		d, ok := answer(req, id, data)
		return []ptp.ManagementData{d}, ok
	})
}

// Ports is Daemon for a clock of several ports: answer returns one data
// set per response, sent from port 1, 2, ... of Responder's clock in
// that order, as a daemon answers a port data set once per port.
func Ports(t *testing.T, answer func(req *ptp.Management, id ptp.ManagementID, data []byte) (ds []ptp.ManagementData, ok bool)) string {
	t.Helper()
	srv, err := transport.ListenUDS(filepath.Join(t.TempDir(), "ptp4l"), 0o600)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1500)
		for {
			n, from, err := srv.Receive(b)
			if err != nil {
				return
			}
			var req ptp.Management
			if req.UnmarshalBinary(b[:n]) != nil {
				continue
			}
			id, data, ok, _ := req.ManagementTLV()
			if !ok {
				continue
			}
			ds, ok := answer(&req, id, data)
			if !ok {
				continue
			}
			for i, d := range ds {
				r := req
				r.TLVs = ptp.TLVs{}
				r.ActionField = ptp.ActionResponse
				r.TargetPortIdentity = req.SourcePortIdentity
				r.SourcePortIdentity = Responder
				r.SourcePortIdentity.PortNumber = uint16(i + 1)
				if d != nil {
					err = r.SetData(d)
				} else {
					err = r.TLVs.Add(&ptp.ManagementErrorStatus{ManagementErrorID: ptp.ErrorNotSupported, ManagementID: id})
				}
				if err != nil {
					continue
				}
				if out, err := r.AppendBinary(nil); err == nil {
					_ = srv.Reply(out, from)
				}
			}
		}
	}()
	t.Cleanup(func() { srv.Close(); <-done })
	return srv.Path()
}
