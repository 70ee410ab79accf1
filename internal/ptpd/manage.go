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

// timeSourceStatus answers GET TIME_SOURCE_NP on a grandmaster with a
// time source, and refuses SET GRANDMASTER_SETTINGS_NP there: the source
// alone decides what the clock announces (with linuxptp an operator's
// script sets it through pmc when GPS is lost; here a SET would announce
// a quality the source does not vouch for until its next change).
func (d *Daemon) timeSourceStatus(e *engine.Clock, req *ptp.Management) (*ptp.Management, bool) {
	id, _, ok, err := req.ManagementTLV()
	if !ok || err != nil || d.gm == nil {
		return nil, false
	}
	switch {
	case id == ptp.MIDGrandmasterSettingsNP && req.ActionField == ptp.ActionSet:
		d.log.Printf(engine.LevelWarning, "SET GRANDMASTER_SETTINGS_NP refused: the time source sets what this grandmaster announces")
		return e.ReplyError(req, ptp.ErrorNotSetable), true
	case id != ptp.MIDTimeSourceNP || req.ActionField != ptp.ActionGet:
		return nil, false
	}
	st, inState, malformed := d.gm.snapshot()
	cfg := e.Config()
	np := &ptp.TimeSourceNP{
		State: ptp.TimeSourceState(st.State), PulseInput: ptp.PulseInput(d.gm.pulses.kind()),
		TimeInState: int64(inState), Qualified: int64(st.Qualified), Malformed: malformed,
		Offset: st.Offset, RMS: int64(math.Round(st.RMS)), Frequency: int64(math.Round(st.Frequency * 1000)),
		LockTime:   int64(st.LockTime),
		ClockClass: cfg.ClockQuality.ClockClass, ClockAccuracy: cfg.ClockQuality.ClockAccuracy, TimeSource: cfg.TimeSource,
		UTCOffset: cfg.UTCOffset, Flags: uint8(cfg.TimeFlags),
		Pulses: st.Pulses, PulsesApplied: st.PulsesApplied, PulsesMissed: st.PulsesMissed,
		PulsesOutOfWindow: st.PulsesOutOfWindow, PulsesWrongPhase: st.PulsesWrongPhase, FallingEdges: st.FallingEdges,
		Reports: st.Reports, NoFix: st.NoFix, Unpaired: st.Unpaired, SecondMismatch: st.SecondMismatch,
		TimeJumps: st.TimeJumps, Steps: st.Steps, Locks: st.Locks, Losses: st.Losses,
	}
	if st.Qualifying {
		np.Qualifying = 1
	}
	if st.Fix {
		np.Fix = 1
	}
	if !st.LastUTC.IsZero() {
		np.LastUTC = st.LastUTC.Unix()
	}
	return e.Reply(req, np), true
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
	if r, handled := d.timeSourceStatus(e, req); handled {
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
func (d *Daemon) replyUDS(u *udsServer, from *net.UnixAddr, resps []*ptp.Management, out []byte) []byte {
	for _, r := range resps {
		var err error
		if out, err = r.AppendBinary(out[:0]); err == nil {
			if msg := d.udsSigned(out); msg != nil {
				_ = u.sock.Reply(msg, from)
			}
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
		msg, ok := d.verifyUDS(buf[:n])
		if !ok {
			continue
		}
		var req ptp.Management
		if err := req.UnmarshalBinary(msg); err != nil {
			d.log.Printf(engine.LevelDebug, "management: dropped a malformed message: %v", err)
			continue
		}
		out = d.replyUDS(u, from, d.manageUDS(d.eng, u, from, &req), out)
	}
}
