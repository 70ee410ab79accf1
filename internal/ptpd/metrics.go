package ptpd

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	snap atomic.Pointer[metricsSnapshot]

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
	at           time.Time
	clockID      ptp.ClockIdentity
	slaveOnly    bool
	ports        []portSnapshot
	clock        engine.ClockStats
	offset       int64 // ns
	pathDelay    int64 // ns
	freq         float64
	servo        engine.ServoState
	parent       ptp.ParentDataSet
	stepsRemoved uint16
	gmPresent    bool
	gmChanges    uint64
	steps        uint64
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
	ln, err := net.Listen("tcp", d.set.MetricsAddress)
	if err != nil {
		return err
	}
	n := len(d.ports)
	m := &metrics{ln: ln, done: make(chan struct{}), self: d.set.Clock.ClockIdentity,
		faults: make([]uint64, n), noTimestamp: make([]uint64, n)}
	m.gm = m.self
	reg := prometheus.NewRegistry()
	// Neither the Go runtime collector (a few dozen go_* series, which the
	// scrape config drops) nor the process collector (several /proc files
	// a scrape): together they cost more per scrape than all of the
	// daemon's own series (scripts/metrics-cost.sh). The collector gives
	// process_cpu_seconds_total itself. Uncompressed: a few kB on a local
	// network cost less to send than to gzip, at every scrape.
	reg.MustRegister(&collector{d: d, m: m})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	watch := d.exec.Watch
	d.exec.Watch = func(acts []engine.Action) {
		m.observe(d.eng, acts)
		if watch != nil {
			watch(acts)
		}
	}
	d.met = m
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Printf(engine.LevelErr, "metrics: %v", err)
		}
	}()
	d.log.Printf(engine.LevelInfo, "serving metrics on http://%s/metrics", ln.Addr())
	return nil
}

// MetricsAddr returns the address the metrics are served on, or nil when
// metrics_address is empty.
func (d *Daemon) MetricsAddr() net.Addr {
	if d.met == nil {
		return nil
	}
	return d.met.ln.Addr()
}

// closeMetrics stops serving.
func (d *Daemon) closeMetrics() {
	if d.met == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if d.met.srv.Shutdown(ctx) != nil {
		d.met.srv.Close()
	}
	<-d.met.done
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
