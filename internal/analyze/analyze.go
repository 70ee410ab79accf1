// Package analyze answers "what is wrong with PTP on this link?" from a
// capture: per domain and sending port, message counts, rates and interval
// jitter, sequence gaps, Follow_Up and Delay_Resp matching, grandmaster and
// Announce changes, and the offset and path delay series of complete
// two-way exchanges, computed with the capture's timestamps as the local
// clock (as if the capturing host were the client). It reads a capture
// once, in constant memory for any number of packets.
package analyze

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// MaxPorts bounds the sending ports tracked; messages of ports beyond it
// are counted in Report.Untracked (an Announce storm from forged
// identities cannot exhaust memory).
const MaxPorts = 4096

// Series summarises a series of nanosecond values.
type Series struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean_ns"`
	StdDev float64 `json:"stddev_ns"`
	Min    float64 `json:"min_ns"`
	Max    float64 `json:"max_ns"`
	sum    float64
	sumSq  float64
}

func (s *Series) add(v float64) {
	if s.N == 0 || v < s.Min {
		s.Min = v
	}
	if s.N == 0 || v > s.Max {
		s.Max = v
	}
	s.N++
	s.sum += v
	s.sumSq += v * v
}

func (s *Series) finish() {
	if s.N == 0 {
		return
	}
	n := float64(s.N)
	s.Mean = s.sum / n
	s.StdDev = math.Sqrt(math.Max(0, s.sumSq/n-s.Mean*s.Mean))
}

// TypeStats are one message type's figures from one port.
type TypeStats struct {
	Count    int     `json:"count"`
	Rate     float64 `json:"rate_per_s"`
	Interval Series  `json:"interval"`
	Gaps     int     `json:"sequence_gaps"`
	Lost     int     `json:"lost"`
	LossPct  float64 `json:"loss_pct"`
	first    time.Time
	last     time.Time
	lastSeq  uint16
	seen     bool
}

// Change is a grandmaster or Announce change seen at a time.
type Change struct {
	Frame int       `json:"frame"`
	Time  time.Time `json:"time"`
	What  string    `json:"what"`
}

// Port is what one sending port did.
type Port struct {
	Domain   uint8                 `json:"domain"`
	Identity string                `json:"port_identity"`
	Messages map[string]*TypeStats `json:"messages"`
	// Two-step Syncs without their Follow_Up, and Follow_Ups without their
	// Sync.
	SyncWithoutFollowUp int `json:"sync_without_follow_up"`
	FollowUpWithoutSync int `json:"follow_up_without_sync"`
	// Delay_Reqs this port sent that no Delay_Resp answered, and
	// Delay_Resps it sent for requests the capture does not hold.
	DelayReqUnanswered int `json:"delay_req_unanswered"`
	DelayRespUnmatched int `json:"delay_resp_unmatched"`
	// Grandmaster is the grandmaster its latest Announce names.
	Grandmaster string   `json:"grandmaster,omitempty"`
	Changes     []Change `json:"announce_changes,omitempty"`
	// Offset and PathDelay are the series of complete exchanges in which
	// this port was the master: offset of the capture's clock from it, and
	// meanPathDelay (E2E) or the peer delay (P2P).
	Offset    Series `json:"offset"`
	PathDelay Series `json:"path_delay"`

	pendingSync  map[uint16]syncRec
	lastAnnounce ptp.Announce
	haveAnnounce bool
	announcedAt  time.Time
	ds           bmca.Dataset
}

type syncRec struct {
	t2      int64 // capture time, ns
	corr    int64
	twoStep bool
}

// Problem is a packet the analyser could not read.
type Problem struct {
	Frame int    `json:"frame"`
	Error string `json:"error"`
}

// Report is the analysis of one capture.
type Report struct {
	File      string    `json:"file"`
	Frames    int       `json:"frames"`
	PTP       int       `json:"ptp_messages"`
	Damaged   int       `json:"damaged_frames"`
	Truncated bool      `json:"truncated_file"`
	Problems  []Problem `json:"problems,omitempty"`
	// MoreProblems counts problems beyond the first 100 listed.
	MoreProblems int      `json:"more_problems,omitempty"`
	Untracked    int      `json:"untracked_messages,omitempty"`
	Ports        []*Port  `json:"ports"`
	GMChanges    []Change `json:"grandmaster_changes,omitempty"`

	ports map[portKey]*Port
	order []*Port // ports in the order they first appeared: deterministic walks
	// Two-way state: the last Sync measurement per master, Delay_Reqs in
	// flight per (requester, seq), peer delay exchanges.
	lastSync map[portKey]lastSync
	delayReq map[reqKey]delayReqRec
	pdelay   map[reqKey]pdelayRec
	domainGM map[uint8]string
	// the port whose Sync was seen last per domain, and each master's
	// latest path delay
	lastMaster map[uint8]portKey
	delayOf    map[portKey]float64
	nrr        map[pairKey]nrrRec

	// OnOffset, when set, receives every offset sample: the master, the
	// capture time of its Sync, and the offset and path delay used (ns).
	OnOffset func(master string, t2 int64, offset, delay float64) `json:"-"`
}

type portKey struct {
	domain uint8
	id     ptp.PortIdentity
}

type reqKey struct {
	domain uint8
	id     ptp.PortIdentity
	seq    uint16
}

type lastSync struct {
	t1c, t2 int64 // master time with corrections, capture time
	valid   bool
}

type delayReqRec struct {
	t3 int64
}

type pdelayRec struct {
	t1, t4 int64
	t2     int64
	have   int // bit 0: Pdelay_Resp, bit 1: follow-up
	t3     int64
	corr   int64
	resp   portKey
}

const maxPending = 1024 // per-port pending Syncs/Follow_Ups kept for matching

// File analyses the capture at path.
func File(path string) (*Report, error) {
	r, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rep := New(path)
	if err := rep.Read(r); err != nil {
		return rep, err
	}
	return rep, nil
}

// New starts an empty report.
func New(name string) *Report {
	return &Report{File: name, ports: map[portKey]*Port{}, lastSync: map[portKey]lastSync{},
		delayReq: map[reqKey]delayReqRec{}, pdelay: map[reqKey]pdelayRec{}, domainGM: map[uint8]string{},
		lastMaster: map[uint8]portKey{}, delayOf: map[portKey]float64{}, nrr: map[pairKey]nrrRec{}}
}

// Read consumes a capture. A truncated file ends the analysis with what was
// read and Truncated set, not an error.
func (rep *Report) Read(r *capture.Reader) error {
	var pkt capture.Packet
	var dec ptp.Decoder
	for {
		err := r.Next(&pkt)
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, capture.ErrTruncatedFile) {
				rep.Truncated = true
				break
			}
			rep.finish(r)
			return err
		}
		rep.PTP++
		p, err := dec.Decode(pkt.Payload)
		if err != nil {
			rep.problem(pkt.Frame, err)
			continue
		}
		rep.Add(pkt.Frame, pkt.Time, p)
	}
	rep.finish(r)
	return nil
}

func (rep *Report) problem(frame int, err error) {
	if len(rep.Problems) < 100 {
		rep.Problems = append(rep.Problems, Problem{Frame: frame, Error: err.Error()})
	} else {
		rep.MoreProblems++
	}
}

func ns(t time.Time) int64 { return t.UnixNano() }

func tsNs(t ptp.Timestamp) int64 { return int64(t.Seconds)*1e9 + int64(t.Nanoseconds) }

func (rep *Report) port(h *ptp.Header) *Port {
	k := portKey{h.DomainNumber, h.SourcePortIdentity}
	if p, ok := rep.ports[k]; ok {
		return p
	}
	if len(rep.ports) >= MaxPorts {
		return nil
	}
	p := &Port{Domain: h.DomainNumber, Identity: h.SourcePortIdentity.String(), Messages: map[string]*TypeStats{},
		pendingSync: map[uint16]syncRec{}}
	rep.ports[k] = p
	rep.order = append(rep.order, p)
	return p
}

// Add analyses one decoded message captured at t.
func (rep *Report) Add(frame int, t time.Time, m ptp.Packet) {
	h := m.Hdr()
	p := rep.port(h)
	if p == nil {
		rep.Untracked++
		return
	}
	ts := p.Messages[m.Type().String()]
	if ts == nil {
		ts = &TypeStats{}
		p.Messages[m.Type().String()] = ts
	}
	if ts.seen {
		ts.Interval.add(float64(t.Sub(ts.last)))
		if d := h.SequenceID - ts.lastSeq; ownSequence(m.Type()) && d != 1 {
			ts.Gaps++
			if d > 1 && d < 0x8000 {
				ts.Lost += int(d) - 1
			}
		}
	} else {
		ts.first = t
	}
	ts.seen, ts.last, ts.lastSeq = true, t, h.SequenceID
	ts.Count++
	me := portKey{h.DomainNumber, h.SourcePortIdentity}
	corr := int64(h.CorrectionField.Duration())

	switch v := m.(type) {
	case *ptp.Sync:
		if !v.Flags.Has(ptp.FlagTwoStep) {
			rep.syncDone(p, me, tsNs(v.OriginTimestamp)+corr, ns(t))
			break
		}
		if len(p.pendingSync) < maxPending {
			p.pendingSync[h.SequenceID] = syncRec{t2: ns(t), corr: corr, twoStep: true}
		}
	case *ptp.FollowUp:
		s, ok := p.pendingSync[h.SequenceID]
		if !ok {
			p.FollowUpWithoutSync++
			break
		}
		delete(p.pendingSync, h.SequenceID)
		rep.syncDone(p, me, tsNs(v.PreciseOriginTimestamp)+s.corr+corr, s.t2)
	case *ptp.DelayReq:
		// Matched by its Delay_Resp (requestingPortIdentity, sequenceId),
		// whichever master answers.
		if len(rep.delayReq) < MaxPorts*4 {
			rep.delayReq[reqKey{h.DomainNumber, h.SourcePortIdentity, h.SequenceID}] = delayReqRec{t3: ns(t)}
		}
	case *ptp.DelayResp:
		k := reqKey{h.DomainNumber, v.RequestingPortIdentity, h.SequenceID}
		req, ok := rep.delayReq[k]
		if !ok {
			p.DelayRespUnmatched++
			break
		}
		delete(rep.delayReq, k)
		ls := rep.lastSync[me]
		if !ls.valid {
			break
		}
		t4 := tsNs(v.ReceiveTimestamp) - corr
		delay := float64((ls.t2-ls.t1c)+(t4-req.t3)) / 2
		p.PathDelay.add(delay)
		rep.delayOf[me] = delay
	case *ptp.PdelayReq:
		if len(rep.pdelay) < MaxPorts*4 {
			rep.pdelay[reqKey{h.DomainNumber, h.SourcePortIdentity, h.SequenceID}] = pdelayRec{t1: ns(t)}
		}
	case *ptp.PdelayResp:
		k := reqKey{h.DomainNumber, v.RequestingPortIdentity, h.SequenceID}
		if r, ok := rep.pdelay[k]; ok {
			r.t4, r.t2, r.have, r.resp = ns(t), tsNs(v.RequestReceiptTimestamp), r.have|1, me
			r.corr += corr
			rep.pdelay[k] = r
			if !h.Flags.Has(ptp.FlagTwoStep) {
				rep.pdelayDone(k, r, 0)
			}
		}
	case *ptp.PdelayRespFollowUp:
		k := reqKey{h.DomainNumber, v.RequestingPortIdentity, h.SequenceID}
		if r, ok := rep.pdelay[k]; ok && r.have&1 != 0 {
			r.t3 = tsNs(v.ResponseOriginTimestamp)
			rep.pdelayDone(k, r, corr)
		}
	case *ptp.Announce:
		rep.announce(frame, t, p, v)
	}
}

// ownSequence reports whether the sender numbers a message type itself;
// responses echo their requesters' sequenceIds and have no gaps of their own.
func ownSequence(t ptp.MessageType) bool {
	switch t {
	case ptp.MessageSync, ptp.MessageAnnounce, ptp.MessageDelayReq, ptp.MessagePdelayReq:
		return true
	}
	return false
}

// syncDone records a complete Sync measurement: the capture's clock's
// offset from the master, using the master's latest path delay.
func (rep *Report) syncDone(p *Port, me portKey, t1c, t2 int64) {
	rep.lastSync[me] = lastSync{t1c: t1c, t2: t2, valid: true}
	rep.lastMaster[me.domain] = me
	if d, ok := rep.delayOf[me]; ok {
		off := float64(t2-t1c) - d
		p.Offset.add(off)
		if rep.OnOffset != nil {
			rep.OnOffset(p.Identity, t2, off, d)
		}
	}
}

// pdelayDone completes a peer delay exchange: meanLinkDelay =
// ((t4 − t1)·r − (t3 − t2) − corrections) / 2 (IEEE 1588-2019 11.4.2), with
// the neighborRateRatio r measured from this pair's successive responses
// (t3 on the responder's clock against t4 on ours), 1 until there are two.
func (rep *Report) pdelayDone(k reqKey, r pdelayRec, fupCorr int64) {
	delete(rep.pdelay, k)
	var delay float64
	if r.t3 == 0 {
		// One-step: the turnaround is in the correction.
		delay = float64((r.t4-r.t1)-r.corr) / 2
	} else {
		pair := pairKey{k.domain, k.id, r.resp.id}
		nrr := 1.0
		if prev, ok := rep.nrr[pair]; ok && r.t4 > prev.t4 && r.t3 > prev.t3 {
			nrr = float64(r.t3-prev.t3) / float64(r.t4-prev.t4)
		}
		if len(rep.nrr) < MaxPorts {
			rep.nrr[pair] = nrrRec{t3: r.t3, t4: r.t4}
		}
		delay = (float64(r.t4-r.t1)*nrr - float64(r.t3-r.t2) - float64(r.corr+fupCorr)) / 2
	}
	if p := rep.ports[r.resp]; p != nil {
		p.PathDelay.add(delay)
	}
	// In P2P the Sync's sender uses this link's delay.
	for mk := range rep.ports {
		if mk.domain == k.domain && mk.id.ClockIdentity == r.resp.id.ClockIdentity {
			rep.delayOf[mk] = delay
		}
	}
}

// pairKey names a requester and a responder of peer delay exchanges.
type pairKey struct {
	domain    uint8
	req, resp ptp.PortIdentity
}

// nrrRec is a pair's last response timestamps, for neighborRateRatio.
type nrrRec struct{ t3, t4 int64 }

func (rep *Report) announce(frame int, t time.Time, p *Port, a *ptp.Announce) {
	gm := a.GrandmasterIdentity.String()
	if p.haveAnnounce {
		o := &p.lastAnnounce
		var what []string
		if o.GrandmasterIdentity != a.GrandmasterIdentity {
			what = append(what, fmt.Sprintf("grandmaster %s -> %s", o.GrandmasterIdentity, gm))
		}
		if o.GrandmasterPriority1 != a.GrandmasterPriority1 || o.GrandmasterPriority2 != a.GrandmasterPriority2 {
			what = append(what, fmt.Sprintf("priorities %d/%d -> %d/%d", o.GrandmasterPriority1, o.GrandmasterPriority2, a.GrandmasterPriority1, a.GrandmasterPriority2))
		}
		if o.GrandmasterClockQuality != a.GrandmasterClockQuality {
			what = append(what, fmt.Sprintf("clockQuality %d/0x%02x/0x%04x -> %d/0x%02x/0x%04x",
				o.GrandmasterClockQuality.ClockClass, uint8(o.GrandmasterClockQuality.ClockAccuracy), o.GrandmasterClockQuality.OffsetScaledLogVariance,
				a.GrandmasterClockQuality.ClockClass, uint8(a.GrandmasterClockQuality.ClockAccuracy), a.GrandmasterClockQuality.OffsetScaledLogVariance))
		}
		if o.StepsRemoved != a.StepsRemoved {
			what = append(what, fmt.Sprintf("stepsRemoved %d -> %d", o.StepsRemoved, a.StepsRemoved))
		}
		if o.CurrentUTCOffset != a.CurrentUTCOffset || o.Flags&0xff != a.Flags&0xff || o.TimeSource != a.TimeSource {
			what = append(what, "time properties")
		}
		for _, w := range what {
			if len(p.Changes) < 100 {
				p.Changes = append(p.Changes, Change{Frame: frame, Time: t, What: w})
			}
		}
	}
	p.lastAnnounce, p.haveAnnounce = *a, true
	p.lastAnnounce.TLVs = ptp.TLVs{}
	p.Grandmaster = gm
	p.announcedAt = t
	p.ds = bmca.FromAnnounce(a, ptp.PortIdentity{}, 128)

	// The domain's grandmaster is what a listener's BMCA would choose
	// among the ports that announced within the last four intervals
	// (announceReceiptTimeout 3, plus one): two ports announcing at once
	// do not make the grandmaster flap.
	window := 4 * time.Duration(math.Ldexp(float64(time.Second), int(max(-7, min(a.LogMessageInterval, 6)))))
	var best *bmca.Dataset
	for _, q := range rep.order {
		if q.Domain != p.Domain || !q.haveAnnounce || t.Sub(q.announcedAt) > window {
			continue
		}
		best = bmca.BestOf(best, &q.ds, bmca.IEEE1588)
	}
	if best == nil {
		return
	}
	now := best.GrandmasterIdentity.String()
	if prev, ok := rep.domainGM[p.Domain]; !ok || prev != now {
		if ok && len(rep.GMChanges) < 1000 {
			rep.GMChanges = append(rep.GMChanges, Change{Frame: frame, Time: t,
				What: fmt.Sprintf("domain %d: grandmaster %s -> %s", p.Domain, prev, now)})
		}
		rep.domainGM[p.Domain] = now
	}
}

func (rep *Report) finish(r *capture.Reader) {
	rep.Frames = r.Frames()
	rep.Damaged = r.Damaged()
	for _, p := range rep.ports {
		for name, ts := range p.Messages {
			ts.Interval.finish()
			if d := ts.last.Sub(ts.first).Seconds(); d > 0 && ts.Count > 1 {
				ts.Rate = float64(ts.Count-1) / d
			}
			if ts.Count+ts.Lost > 0 {
				ts.LossPct = 100 * float64(ts.Lost) / float64(ts.Count+ts.Lost)
			}
			_ = name
		}
		for _, s := range p.pendingSync {
			if s.twoStep {
				p.SyncWithoutFollowUp++
			}
		}
		p.Offset.finish()
		p.PathDelay.finish()
		rep.Ports = append(rep.Ports, p)
	}
	for k := range rep.delayReq {
		if p := rep.ports[portKey{k.domain, k.id}]; p != nil {
			p.DelayReqUnanswered++
		}
	}
	sort.Slice(rep.Ports, func(i, j int) bool {
		if rep.Ports[i].Domain != rep.Ports[j].Domain {
			return rep.Ports[i].Domain < rep.Ports[j].Domain
		}
		return rep.Ports[i].Identity < rep.Ports[j].Identity
	})
}

// ReadFile analyses the capture at path into rep (for a report with hooks
// set).
func (rep *Report) ReadFile(path string) error {
	r, err := capture.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return rep.Read(r)
}
