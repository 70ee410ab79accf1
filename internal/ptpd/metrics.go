package ptpd

import (
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/roko-network/roko-ptpd/internal/prom"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Prometheus metrics (metrics_address): the daemon serves GET /metrics in
// the exposition format. A scrape never waits for the event loop: the loop
// publishes a snapshot of the engine's counters and data sets at most every
// metricsRefresh (one allocation then, none per message), and the scrape
// reads the latest snapshot. The counters the engine does not keep (steps,
// faults, grandmaster changes, messages without a timestamp) the loop
// counts as it carries out the engine's actions, in plain fields that only
// it touches.

// metricsRefresh is how often, at most, the event loop publishes a
// snapshot for scrapes. The loop refreshes when it wakes, so a snapshot
// is also at most one engine deadline old.
const metricsRefresh = 200 * time.Millisecond

// metrics is the daemon's Prometheus endpoint and the loop's side of it.
type metrics struct {
	srv  *prom.Server
	snap atomic.Pointer[metricsSnapshot]
	// extra are more collect functions (AddMetrics): the [phc2sys] job's.
	extra atomic.Pointer[[]func(*prom.Sink)]

	// The loop's own counts, copied into each snapshot.
	next        int64 // now() of the next refresh
	self        ptp.ClockIdentity
	steps       uint64
	faults      []uint64 // by port
	noTimestamp []uint64 // by port: event messages dropped without an RX timestamp
	gm          ptp.ClockIdentity
	gmRemote    bool // a remote grandmaster has been followed since start
	gmChanges   uint64
}

// portSnapshot is one port as the loop last saw it.
type portSnapshot struct {
	number, name string
	state        ptp.PortState
	linkUp       bool
	stats        engine.PortStats
	seq          engine.SequenceTracker
	faults       uint64
	noTimestamp  uint64
	auth         authSnapshot
}

// authSnapshot is what a verifier (a port's, or the management socket's)
// has counted; on is false when there is none (no spp).
type authSnapshot struct {
	on       bool
	verified uint64
	failures [auth.NumFailures]uint64
}

// snapshotAuth copies v's counts (nil: none). By value: the
// snapshot stays one allocation.
func snapshotAuth(v *auth.Verifier) authSnapshot {
	if v == nil {
		return authSnapshot{}
	}
	a := authSnapshot{on: true, verified: v.Verified()}
	for f := range a.failures {
		a.failures[f] = v.Failures(auth.Failure(f))
	}
	return a
}

// metricsSnapshot is what a scrape reads: a copy the loop made.
type metricsSnapshot struct {
	at        time.Time
	clockID   ptp.ClockIdentity
	slaveOnly bool
	ports     []portSnapshot
	clock     engine.ClockStats
	offset    int64 // ns
	pathDelay int64 // ns
	freq      float64
	servo     engine.ServoState
	parent    ptp.ParentDataSet
	// The identities as label values, formatted again only when they
	// change (refresh), so that a scrape formats none.
	clockIDString, parentString, gmString string
	stepsRemoved                          uint16
	gmPresent                             bool
	gmChanges                             uint64
	steps                                 uint64
	// udsAuth is the management socket's authentication ([global] spp),
	// udsPath its uds_address.
	udsAuth authSnapshot
	udsPath string
}

// startMetrics listens on the settings' metrics_address and serves
// /metrics; it does nothing without one. It runs in New, after the
// engine is built.
func (d *Daemon) startMetrics() error {
	if d.set.MetricsAddress == "" {
		return nil
	}
	n := len(d.ports)
	m := &metrics{self: d.set.Clock.ClockIdentity, faults: make([]uint64, n), noTimestamp: make([]uint64, n)}
	m.extra.Store(new([]func(*prom.Sink)))
	m.gm = m.self
	d.met = m
	srv, err := prom.Serve(d.set.MetricsAddress, prom.NewGatherer(d.collect), func(err error) {
		d.log.Printf(engine.LevelErr, "metrics: %v", err)
	})
	if err != nil {
		d.met = nil
		return err
	}
	m.srv = srv
	watch := d.exec.Watch
	d.exec.Watch = func(acts []engine.Action) {
		m.observe(d.eng, acts)
		if watch != nil {
			watch(acts)
		}
	}
	d.log.Printf(engine.LevelInfo, "serving metrics on http://%s/metrics", srv.Addr())
	return nil
}

// AddMetrics has the daemon's scrapes also collect f's series (the
// [phc2sys] job's); it does nothing with metrics off. f runs on the
// scraping goroutine and must not wait for the event loop.
func (d *Daemon) AddMetrics(f func(*prom.Sink)) {
	if d.met == nil {
		return
	}
	for {
		old := d.met.extra.Load()
		fs := append(append([]func(*prom.Sink){}, *old...), f)
		if d.met.extra.CompareAndSwap(old, &fs) {
			return
		}
	}
}

// MetricsAddr returns the address the metrics are served on, or nil when
// metrics_address is empty.
func (d *Daemon) MetricsAddr() net.Addr {
	if d.met == nil {
		return nil
	}
	return d.met.srv.Addr()
}

// closeMetrics stops serving.
func (d *Daemon) closeMetrics() {
	if d.met == nil {
		return
	}
	d.met.srv.Close()
}

// observe counts, on the event loop, what one batch of the engine's
// actions did: steps, faults and changes of grandmaster. It allocates
// nothing.
func (m *metrics) observe(e *engine.Clock, acts []engine.Action) {
	for i := range acts {
		a := &acts[i]
		switch a.Kind {
		case engine.Step:
			m.steps++
		case engine.Log:
			switch a.Log.Kind {
			case engine.LogStateChange:
				if a.Log.To == engine.Faulty && a.Log.Port >= 0 && a.Log.Port < len(m.faults) {
					m.faults[a.Log.Port]++
				}
				m.checkGrandmaster(e)
			case engine.LogSelectedBest, engine.LogSelectedLocal, engine.LogAssumingGrandMaster:
				m.checkGrandmaster(e)
			}
		}
	}
}

// checkGrandmaster counts a change of grandmaster. The first remote
// grandmaster after start is not a change (every client starts as its own
// grandmaster); losing it, or any later change, is.
func (m *metrics) checkGrandmaster(e *engine.Clock) {
	gm := e.ParentDS().GrandmasterIdentity
	if gm == m.gm {
		return
	}
	if m.gmRemote {
		m.gmChanges++
	}
	if gm != m.self {
		m.gmRemote = true
	}
	m.gm = gm
}

// droppedNoTimestamp counts an event message dropped for want of its
// receive timestamp; safe on a nil m (metrics off).
func (m *metrics) droppedNoTimestamp(port int) {
	if m != nil && port < len(m.noTimestamp) {
		m.noTimestamp[port]++
	}
}

// refresh publishes a new snapshot when the last is metricsRefresh old;
// safe on a nil m. It runs on the event loop.
func (m *metrics) refresh(d *Daemon) {
	if m == nil {
		return
	}
	t := now()
	if t < m.next {
		return
	}
	m.next = t + int64(metricsRefresh)
	e := d.eng
	s := &metricsSnapshot{
		at:        time.Now(),
		clockID:   e.DefaultDS().ClockIdentity,
		slaveOnly: e.DefaultDS().Flags&ptp.DefaultDSSlaveOnly != 0,
		ports:     make([]portSnapshot, e.NumPorts()),
		clock:     e.Stats,
		freq:      e.Frequency(),
		servo:     e.ServoState(),
		parent:    e.ParentDS(),
		gmPresent: e.TimeStatus().GmPresent != 0,
		gmChanges: m.gmChanges,
		steps:     m.steps,
	}
	s.offset, s.pathDelay = e.Offset()
	if s.udsAuth = snapshotAuth(d.udsVerify); s.udsAuth.on && len(d.set.UDS) > 0 {
		s.udsPath = d.set.UDS[0].Path
	}
	s.labelStrings(m.snap.Load())
	s.stepsRemoved = e.CurrentDS().StepsRemoved
	for i := range s.ports {
		p := e.Port(i)
		s.ports[i] = portSnapshot{
			number:      strconv.Itoa(int(p.Identity().PortNumber)),
			name:        d.ports[i].name,
			state:       p.State().Wire(),
			linkUp:      p.LinkUp(),
			stats:       p.Stats,
			seq:         p.SyncSequence(),
			faults:      m.faults[i],
			noTimestamp: m.noTimestamp[i],
			auth:        snapshotAuth(d.ports[i].verify),
		}
	}
	m.snap.Store(s)
}

// labelStrings formats the snapshot's identities for labels, or takes
// them from the last snapshot when they are the same.
func (s *metricsSnapshot) labelStrings(last *metricsSnapshot) {
	if last != nil && last.clockID == s.clockID {
		s.clockIDString = last.clockIDString
	} else {
		s.clockIDString = s.clockID.String()
	}
	if last != nil && last.parent.ParentPortIdentity == s.parent.ParentPortIdentity {
		s.parentString = last.parentString
	} else {
		s.parentString = s.parent.ParentPortIdentity.String()
	}
	if last != nil && last.parent.GrandmasterIdentity == s.parent.GrandmasterIdentity {
		s.gmString = last.gmString
	} else {
		s.gmString = s.parent.GrandmasterIdentity.String()
	}
}
