// Package replay plays a capture into the engine in virtual time: the
// engine's client port hears the capture's grandmaster at the capture's
// times (the capture timestamp is the receive timestamp), and its own
// Delay_Reqs are answered by the exchanges the capture recorded.
//
// How requests map onto the recording: the capture holds a client's
// Delay_Req/Delay_Resp pairs. The engine asks often (its requests go
// nowhere and get no transmit timestamp yet); at each recorded Delay_Resp's
// capture time, the engine's latest request is stamped with the recorded
// Delay_Req's capture time (t3) and answered by the recorded Delay_Resp,
// rewritten to its sequenceId and port. The engine therefore measures
// exactly what the recorded client measured, at the same moments, and its
// offsets can be checked against an independent computation from the same
// capture (package analyze).
//
// The engine's actions are carried out by engine.Executor, the daemon's
// own, on a virtual clock (package vtime). The replay must never touch a
// real clock, socket or the wall time: it runs without root, in CI.
package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/internal/vtime"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

// Sample is one offset measurement the engine made.
type Sample struct {
	IngressTime int64 // t2: capture time of the Sync, ns
	Offset      int64
	PathDelay   int64
}

// Result is what the engine did with a capture.
type Result struct {
	State       engine.State
	Grandmaster ptp.ClockIdentity
	Samples     []Sample
	Logs        []string
	// Unanswered counts recorded exchanges that completed while the engine
	// had no request out (before it followed the grandmaster).
	Unanswered int
}

// askLog is the engine's logMinDelayReqInterval during replay: it asks
// every few milliseconds, so that it always has a request waiting when a
// recorded exchange completes.
const askLog = -7

// nullServo never steers: the replay's clock is the capture's, which
// nobody can adjust. It reports Locked so that the port reaches SLAVE,
// like linuxptp's nullf servo.
type nullServo struct{}

func (nullServo) Sample(int64, int64) (float64, servo.State) { return 0, servo.Locked }
func (nullServo) SetSyncInterval(float64)                    {}
func (nullServo) Reset()                                     {}

// exchange is one recorded request and its answer: a Delay_Req (sent at
// t3) and its Delay_Resp, or a Pdelay_Req (sent at t3, standing for t1),
// its Pdelay_Resp and Pdelay_Resp_Follow_Up.
type exchange struct {
	t3       int64
	resp     []byte
	respTime int64
	fup      []byte
	fupTime  int64
}

// event is something to deliver at a time: a capture message or a
// recorded exchange that answers the engine's latest request.
type event struct {
	at  int64
	msg []byte
	ex  *exchange // a recorded exchange to answer with, instead of msg
}

// File replays the capture at path through a slave-only client in domain:
// E2E when the capture's client used Delay_Req, P2P when it used
// Pdelay_Req.
func File(path string, domain uint8) (*Result, error) {
	r, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	type rec struct {
		at  int64
		msg []byte
		p   ptp.Packet
	}
	var recs []rec
	masters := map[ptp.PortIdentity]bool{}
	var pkt capture.Packet
	for {
		err := r.Next(&pkt)
		if err != nil {
			if err == io.EOF || errors.Is(err, capture.ErrTruncatedFile) {
				break
			}
			return nil, err
		}
		b := append([]byte(nil), pkt.Payload...)
		p, err := ptp.Decode(b)
		if err != nil || p.Hdr().DomainNumber != domain {
			continue
		}
		if p.Type() == ptp.MessageSync {
			masters[p.Hdr().SourcePortIdentity] = true
		}
		recs = append(recs, rec{at: pkt.Time.UnixNano(), msg: b[:p.Hdr().MessageLength], p: p})
	}
	// The client whose exchanges we borrow: the first sender of a delay
	// request that sends no Sync.
	var client ptp.PortIdentity
	p2p, found := false, false
	for _, x := range recs {
		h := x.p.Hdr()
		if (x.p.Type() == ptp.MessageDelayReq || x.p.Type() == ptp.MessagePdelayReq) && !masters[h.SourcePortIdentity] {
			client, p2p, found = h.SourcePortIdentity, x.p.Type() == ptp.MessagePdelayReq, true
			break
		}
	}
	var (
		evs   []event
		reqs  = map[uint16]int64{}
		presp = map[uint16]*exchange{}
	)
	push := func(e event) { evs = append(evs, e) }
	for _, x := range recs {
		h := x.p.Hdr()
		fromClient := found && h.SourcePortIdentity == client
		switch m := x.p.(type) {
		case *ptp.DelayReq, *ptp.PdelayReq:
			if fromClient {
				reqs[h.SequenceID] = x.at
				continue
			}
		case *ptp.PdelayResp, *ptp.PdelayRespFollowUp:
			if fromClient {
				continue // the client's answers to the master are ours to give
			}
			var req ptp.PortIdentity
			if pr, ok := m.(*ptp.PdelayResp); ok {
				req = pr.RequestingPortIdentity
			} else {
				req = m.(*ptp.PdelayRespFollowUp).RequestingPortIdentity
			}
			if found && req == client {
				t1, ok := reqs[h.SequenceID]
				if !ok {
					continue
				}
				if pr, ok := m.(*ptp.PdelayResp); ok {
					ex := &exchange{t3: t1, resp: x.msg, respTime: x.at}
					presp[h.SequenceID] = ex
					if !pr.Flags.Has(ptp.FlagTwoStep) {
						push(event{at: x.at, ex: ex})
					}
				} else if ex := presp[h.SequenceID]; ex != nil {
					ex.fup, ex.fupTime = x.msg, x.at
					push(event{at: x.at, ex: ex})
				}
				continue
			}
		case *ptp.DelayResp:
			if found && m.RequestingPortIdentity == client {
				if t3, ok := reqs[h.SequenceID]; ok {
					push(event{at: x.at, ex: &exchange{t3: t3, resp: x.msg, respTime: x.at}})
				}
				continue
			}
		}
		push(event{at: x.at, msg: x.msg})
	}
	return run(evs, domain, p2p)
}

// player is the replay's side of engine.Executor: its network remembers
// the engine's latest request and leaves it unstamped until a recorded
// exchange completes, its clock is the capture's (nobody steers it), and
// it reports into the Result.
type player struct {
	clk     *engine.Clock
	res     *Result
	lastReq uint16 // the engine's latest Delay_Req or Pdelay_Req
	haveReq bool
}

// Send implements engine.Network: requests are remembered, and stamped
// later (the recorded request's capture time) through
// Executor.TxTimestamp; a slave-only clock's other sends go nowhere.
func (p *player) Send(a *engine.Action) (int64, bool, error) {
	if a.MessageType == ptp.MessageDelayReq || a.MessageType == ptp.MessagePdelayReq {
		if h, err := ptp.PeekMessageType(a.Msg); err == nil && h == a.MessageType {
			p.lastReq, p.haveReq = binary.BigEndian.Uint16(a.Msg[30:32]), true
		}
	}
	return 0, false, nil
}

// AdjustFrequency implements engine.Steering: the capture's clock cannot
// be steered.
func (p *player) AdjustFrequency(float64) error { return nil }

// Step implements engine.Steering, doing nothing.
func (p *player) Step(int64) error { return nil }

// SetTAIOffset implements engine.Steering, doing nothing.
func (p *player) SetTAIOffset(int16) error { return nil }

// Record implements engine.Reporter: every line is kept, and an offset
// line is a Sample.
func (p *player) Record(r engine.LogRecord) {
	p.res.Logs = append(p.res.Logs, r.String())
	if r.Kind == engine.LogOffset {
		p.res.Samples = append(p.res.Samples, Sample{IngressTime: p.clk.TimeStatus().IngressTime, Offset: r.Offset, PathDelay: r.PathDelay})
	}
}

// Failed implements engine.Reporter: nothing the replay does can fail.
func (p *player) Failed(*engine.Action, error) {}

func run(evs []event, domain uint8, p2p bool) (*Result, error) {
	id := ptp.ClockIdentity{0x02, 0x52, 0x4f, 0xff, 0xfe, 0x4b, 0x4f, 0x01} // "ROKO"
	cc := engine.DefaultClockConfig(id)
	cc.SlaveOnly = true
	cc.DomainNumber = domain
	cc.SpikeLimit = 0 // compare raw measurements
	pc := engine.DefaultPortConfig("replay")
	pc.LogAnnounceInterval = 0
	pc.DelayFilterLength = 1 // each exchange's own delay, as the analyser uses
	pc.LogMinDelayReqInterval = askLog
	pc.LogMinPdelayReqInterval = askLog
	if p2p {
		pc.DelayMechanism = ptp.DelayMechanismP2P
	}
	clk, err := engine.NewClock(cc, []engine.PortConfig{pc}, nullServo{}, 1)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("replay: no messages in domain %d", domain)
	}
	res := &Result{}
	var q vtime.Queue
	p := &player{clk: clk, res: res}
	x := &engine.Executor{Engine: clk, Net: p, Steer: p, Report: p, Now: q.Now}
	me := ptp.PortIdentity{ClockIdentity: id, PortNumber: 1}
	var scratch []byte
	// answer completes a recorded exchange: it answers the engine's
	// latest request, as if that request had left when the recorded one
	// did.
	answer := func(ex *exchange) {
		if !p.haveReq {
			res.Unanswered++
			return
		}
		p.haveReq = false
		req := p.lastReq
		if !p2p {
			var resp ptp.DelayResp
			if resp.UnmarshalBinary(ex.resp) != nil {
				return
			}
			x.TxTimestamp(0, ptp.MessageDelayReq, req, ex.t3)
			resp.SequenceID, resp.RequestingPortIdentity = req, me
			resp.LogMessageInterval = askLog // keep the engine asking often
			scratch, _ = resp.AppendBinary(scratch[:0])
			x.Receive(0, scratch, q.Now(), engine.Addr{})
			return
		}
		// Peer delay: our request left when the recorded one did (t1);
		// the answers arrive at their recorded times.
		x.TxTimestamp(0, ptp.MessagePdelayReq, req, ex.t3)
		var resp ptp.PdelayResp
		if resp.UnmarshalBinary(ex.resp) != nil {
			return
		}
		resp.SequenceID, resp.RequestingPortIdentity = req, me
		scratch, _ = resp.AppendBinary(scratch[:0])
		x.Receive(0, scratch, ex.respTime, engine.Addr{})
		if ex.fup != nil {
			var fup ptp.PdelayRespFollowUp
			if fup.UnmarshalBinary(ex.fup) != nil {
				return
			}
			fup.SequenceID, fup.RequestingPortIdentity = req, me
			scratch, _ = fup.AppendBinary(scratch[:0])
			x.Receive(0, scratch, ex.fupTime, engine.Addr{})
		}
	}
	for _, e := range evs {
		if e.ex != nil {
			ex := e.ex
			q.At(e.at, func() { answer(ex) })
			continue
		}
		msg := e.msg
		q.At(e.at, func() { x.Receive(0, msg, q.Now(), engine.Addr{}) })
	}
	first, _ := q.Next()
	q.Advance(first)
	x.Start()
	// The engine's timers due by the next recorded event run before it.
	for next, ok := q.Next(); ok; next, ok = q.Next() {
		for d := clk.Deadline(); d != 0 && d <= next; d = clk.Deadline() {
			q.Advance(d)
			x.Tick()
		}
		q.RunNext()
	}
	res.State = clk.Port(0).State()
	res.Grandmaster = clk.ParentDS().GrandmasterIdentity
	return res, nil
}
