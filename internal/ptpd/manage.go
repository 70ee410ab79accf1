package ptpd

import (
	"math"
	"net"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// udsServer is one management socket: uds_address (read-write) or
// uds_ro_address (read-only).
type udsServer struct {
	sock     *transport.UDS
	readOnly bool
}

// virtualStatus answers GET VIRTUAL_CLOCK_NP when the clock is virtual:
// the status query for its true error (the engine refuses it otherwise).
func (d *Daemon) virtualStatus(e *engine.Clock, req *ptp.Management) (*ptp.Management, bool) {
	id, _, ok, err := req.ManagementTLV()
	v, virtual := d.clk.(*phc.Virtual)
	if !ok || err != nil || id != ptp.MIDVirtualClockNP || req.ActionField != ptp.ActionGet || !virtual {
		return nil, false
	}
	te, err := v.TrueError()
	if err != nil {
		return nil, false
	}
	f, _ := v.Frequency()
	return e.Reply(req, &ptp.VirtualClockNP{TrueError: te.Nanoseconds(), Frequency: int64(math.Round(f))}), true
}

// manageUDS answers one management request from a UNIX socket. It runs on
// the event loop.
func (d *Daemon) manageUDS(e *engine.Clock, u *udsServer, from *net.UnixAddr, req *ptp.Management) []*ptp.Management {
	if !u.readOnly && from != nil {
		d.udsClient = &subscriber{sock: u, addr: from}
	}
	if r, handled := d.subscribe(e, u, from, req); handled {
		return []*ptp.Management{r}
	}
	if r, handled := d.virtualStatus(e, req); handled {
		return []*ptp.Management{r}
	}
	resps, acts := e.Manage(req, engine.Via{UDS: true, ReadOnly: u.readOnly}, now())
	d.exec.Apply(acts)
	return resps
}

// replyUDS sends the responses to the client, reusing out.
func replyUDS(u *udsServer, from *net.UnixAddr, resps []*ptp.Management, out []byte) []byte {
	for _, r := range resps {
		var err error
		if out, err = r.AppendBinary(out[:0]); err == nil {
			_ = u.sock.Reply(out, from)
		}
	}
	return out
}

// serveUDSInLoop reads what is queued on a UNIX socket and answers it,
// on the event loop.
func (d *Daemon) serveUDSInLoop(u *udsServer, buf, out []byte) []byte {
	for {
		n, from, ok, err := u.sock.TryReceive(buf)
		if err != nil || !ok {
			return out
		}
		var req ptp.Management
		if err := req.UnmarshalBinary(buf[:n]); err != nil {
			d.log.Printf(engine.LevelDebug, "management: dropped a malformed message: %v", err)
			continue
		}
		out = replyUDS(u, from, d.manageUDS(d.eng, u, from, &req), out)
	}
}
