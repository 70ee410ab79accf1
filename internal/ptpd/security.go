package ptpd

import (
	"fmt"
	"strings"

	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Authentication (spp, active_key_id, sa_file) sits between the sockets
// and the engine, as linuxptp's does between its transport and its port
// code: a received message is verified before the engine sees it and is
// dropped, counted and logged when it fails; the engine gets it without
// its AUTHENTICATION TLV. Every message sent gets the TLV appended after
// the engine built it, so the engine never knows.

// secured reports whether any port authenticates.
func (d *Daemon) secured() bool {
	for _, p := range d.set.Ports {
		if p.Security != nil {
			return true
		}
	}
	return false
}

// verifyReceived authenticates a message received on port i and returns
// it without its TLV; ok is false when it is to be dropped.
func (d *Daemon) verifyReceived(i int, b []byte) (msg []byte, ok bool) {
	p := &d.ports[i]
	if p.verify == nil {
		return b, true
	}
	f, ok := p.verify.Verify(b)
	if !ok {
		p.authLog.failed(d.log, f, now())
		return nil, false
	}
	return auth.Strip(b), true
}

// authFailureLog rate-limits the lines about messages that fail
// authentication, which anyone on the segment can send as fast as the
// link allows: the first failure of each reason is logged in ptp4l's
// words ("auth: bad message: bad_icv"), later ones are counted and
// summed up at most once a second, as the unstamped-Sync warning is
// (execute.go). The Verifier counts every failure for the metrics.
type authFailureLog struct {
	// who names the verifier in the lines: "port 1 (eth0)", or the
	// management socket as port 0; set once, not formatted per message.
	who     string
	seen    [auth.NumFailures]bool
	pending [auth.NumFailures]uint64 // failures since the last line, by reason
	last    int64                    // now() of the last summary, or of the first line
}

// failed logs (or counts) one failure f at t, a now() reading.
func (l *authFailureLog) failed(lg *ptplog.Logger, f auth.Failure, t int64) {
	if f >= auth.NumFailures {
		f = auth.FailMalformed
	}
	if !l.seen[f] {
		l.seen[f] = true
		lg.Printf(engine.LevelErr, "%s: auth: bad message: %s", l.who, f)
		if l.last == 0 {
			l.last = t
		}
		return
	}
	l.pending[f]++
	if t-l.last < 1e9 {
		return
	}
	var total uint64
	var by []string
	for r, n := range l.pending {
		if n > 0 {
			total += n
			by = append(by, fmt.Sprintf("%s %d", auth.Failure(r), n))
		}
	}
	lg.Printf(engine.LevelErr, "%s: auth: %d more bad messages in %.1f s: %s", l.who, total, float64(t-l.last)/1e9, strings.Join(by, ", "))
	l.pending = [auth.NumFailures]uint64{}
	l.last = t
}

// sign appends the port's AUTHENTICATION TLV to msg, in the port's own
// buffer (msg aliases engine memory).
func (d *Daemon) sign(i int, msg []byte) ([]byte, error) {
	p := &d.ports[i]
	if p.sec == nil {
		return msg, nil
	}
	var err error
	p.out, err = auth.Append(append(p.out[:0], msg...), p.sec.SA, p.sec.Key)
	return p.out, err
}

// resetReplayWindows forgets the senders' sequenceIds of a port that
// became UNCALIBRATED, MASTER, FAULTY or DISABLED, where linuxptp resets
// its seqid_window.
func (d *Daemon) resetReplayWindows(acts []engine.Action) {
	for i := range acts {
		a := &acts[i]
		if a.Kind != engine.Log || a.Log.Kind != engine.LogStateChange || a.Log.Port >= len(d.ports) {
			continue
		}
		switch a.Log.To {
		case engine.Uncalibrated, engine.Master, engine.Faulty, engine.Disabled:
			if v := d.ports[a.Log.Port].verify; v != nil {
				v.Reset()
			}
		}
	}
}

// AuthFailures returns how many messages port i dropped for failing
// authentication for reason f. Only the event loop may call it (Do).
func (d *Daemon) AuthFailures(i int, f auth.Failure) uint64 {
	if i >= len(d.ports) || d.ports[i].verify == nil {
		return 0
	}
	return d.ports[i].verify.Failures(f)
}

// verifyUDS authenticates a request on a management socket when
// [global] has spp, as ptp4l's UNIX port does, and returns it without
// its TLV.
func (d *Daemon) verifyUDS(b []byte) (msg []byte, ok bool) {
	if d.udsVerify == nil {
		return b, true
	}
	if f, ok := d.udsVerify.Verify(b); !ok {
		d.udsAuthLog.failed(d.log, f, now())
		return nil, false
	}
	return auth.Strip(b), true
}

// udsSigned returns msg with the management socket's AUTHENTICATION TLV
// when [global] has spp (in a buffer of the daemon's, valid until the
// next call), msg itself otherwise, and nil when it cannot be signed.
func (d *Daemon) udsSigned(msg []byte) []byte {
	s := d.set.UDSSecurity
	if s == nil {
		return msg
	}
	var err error
	if d.udsOut, err = auth.Append(append(d.udsOut[:0], msg...), s.SA, s.Key); err != nil {
		d.log.Printf(engine.LevelErr, "management: cannot sign a message: %v", err)
		return nil
	}
	return d.udsOut
}
