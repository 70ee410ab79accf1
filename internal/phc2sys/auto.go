package phc2sys

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/servo"
)

// AutoPort is one of the daemon's ports as phc2sys -a sees it.
type AutoPort struct {
	Number       uint16
	Interface    string
	State        ptp.PortState
	Timestamping ptp.Timestamping
}

// Auto is phc2sys -a: it follows the daemon's port states and keeps the
// clocks of its ports on the clock of the port in SLAVE state. With -r
// CLOCK_REALTIME is kept on it too; with -rr CLOCK_REALTIME becomes the
// source when no port is SLAVE (this host is then a grandmaster whose
// ports serve the system clock's time).
//
// The choice of source and targets is linuxptp's, so that its operators
// find the same behaviour and the same log lines: a port in SLAVE is the
// source; ports in MASTER, PRE_MASTER, PASSIVE, LISTENING, FAULTY or
// DISABLED are targets; a port in UNCALIBRATED holds everything back until
// it settles; two sources hold everything back.
type Auto struct {
	Client *mgmt.Client
	// Resolve returns a port's clock: the PHC of its interface, or nil to
	// leave the port out (phc2sys leaves out software-timestamping ports,
	// whose clock is the system clock itself).
	Resolve func(p AutoPort) (phc.Clock, error)
	// Realtime is the system clock (CLOCK_REALTIME; a virtual clock in
	// tests), used with -r and -rr.
	Realtime phc.Clock
	// RealtimeTarget is -r; RealtimeSource is -rr (and implies -r).
	RealtimeTarget, RealtimeSource bool
	// NewServo makes a servo for a new target, starting from its frequency.
	NewServo func(target phc.Clock) (servo.Servo, error)
	Readings int
	Logf     Logf
	// OnUpdate, when set, is told every measurement.
	OnUpdate func(target string, s Sample)
	// Redial, when set, connects to the daemon: at start when Client is
	// nil, and again after it stops answering (a restarted daemon has a
	// new socket behind the same path, and ours, connected to the old one,
	// only fails). Run then owns the clients: it closes the ones it
	// replaces.
	Redial func() (*mgmt.Client, error)
	// RenewEvery is how often the subscription is renewed (default 60 s,
	// as phc2sys; the subscription itself lasts 180 s).
	RenewEvery time.Duration
	// Metrics, when not nil, gets the sinks' figures and the daemon's
	// port states and time properties as they are seen.
	Metrics *Metrics

	ports   []AutoPort
	clocks  map[uint16]phc.Clock // by port number; nil: left out
	names   map[phc.Clock]string // the interface (or CLOCK_REALTIME) a clock is known by
	changes atomic.Int64
	source  phc.Clock
	syncers map[string]*Syncer // by target name
	tp      ptp.TimePropertiesDataSet
	tpRead  bool // tp was read at least once
}

// subscription is how long we ask the daemon for notifications, and how
// often we renew (linuxptp asks for 180 s and renews every 60 s).
const (
	subscription      = 180 * time.Second
	defaultRenewEvery = 60 * time.Second
)

// readPorts asks the daemon for every port's properties.
func (a *Auto) readPorts() ([]AutoPort, error) {
	rs, err := a.Client.Get(ptp.MIDPortPropertiesNP)
	if err != nil {
		return nil, err
	}
	out := make([]AutoPort, 0, len(rs))
	for _, r := range rs {
		var pp ptp.PortPropertiesNP
		if err := r.Data(&pp); err != nil {
			return nil, fmt.Errorf("PORT_PROPERTIES_NP: %w", err)
		}
		out = append(out, AutoPort{Number: pp.PortIdentity.PortNumber, Interface: string(pp.Interface),
			State: pp.PortState, Timestamping: pp.Timestamping})
	}
	return out, nil
}

// readTimeProperties refreshes the time properties that give the UTC
// offset between the system clock and the PHCs (SyncOffset).
func (a *Auto) readTimeProperties() {
	tp, err := a.Client.TimeProperties()
	if err != nil {
		a.Logf(4, "reading TIME_PROPERTIES_DATA_SET: %v", err)
		return
	}
	a.tp, a.tpRead = tp, true
}

// setPorts takes a new view of the ports, opening the clocks of new ones.
func (a *Auto) setPorts(ports []AutoPort) error {
	for _, p := range ports {
		if _, ok := a.clocks[p.Number]; ok {
			continue
		}
		c, err := a.Resolve(p)
		if err != nil {
			return fmt.Errorf("port %d (%s): %w", p.Number, p.Interface, err)
		}
		if c == nil {
			a.Logf(6, "skipping %s: software time stamping, its clock is the system clock", p.Interface)
		} else if _, ok := a.names[c]; !ok {
			a.names[c] = p.Interface
		}
		a.clocks[p.Number] = c
	}
	a.ports = ports
	return nil
}

// plan chooses the source and the targets from the port states, with
// linuxptp's rules and log lines. A nil source means: do not synchronise.
func (a *Auto) plan() (phc.Clock, []phc.Clock) {
	a.Logf(6, "reconfiguring after port state change")
	var (
		src         phc.Clock
		srcCnt      int
		dsts        []phc.Clock
		last        phc.Clock
		seen        = map[phc.Clock]string{}
		rtIsPresent = a.RealtimeTarget || a.RealtimeSource
	)
	for _, p := range a.ports {
		c := a.clocks[p.Number]
		if c == nil {
			continue
		}
		switch p.State {
		case ptp.PortStateFaulty, ptp.PortStateDisabled, ptp.PortStateListening,
			ptp.PortStatePreMaster, ptp.PortStateMaster, ptp.PortStatePassive:
			if dup, ok := seen[c]; ok {
				a.Logf(6, "skipping %s: %s has the same clock and is already selected", p.Interface, dup)
				break
			}
			seen[c] = p.Interface
			a.Logf(6, "selecting %s for synchronization", p.Interface)
			dsts = append(dsts, c)
		case ptp.PortStateUncalibrated:
			srcCnt++
		case ptp.PortStateSlave:
			src = c
			srcCnt++
		}
		last = c
	}
	if len(dsts) > 1 && src == nil && !a.RealtimeSource {
		// No source: the other PHCs follow one of them, so that the
		// ports at least agree among themselves.
		a.Logf(6, "no source, selecting %s as the default clock", a.names[last])
		return last, without(dsts, last)
	}
	switch {
	case srcCnt > 1:
		a.Logf(6, "multiple master clocks available, postponing sync...")
		return nil, nil
	case srcCnt > 0 && src == nil:
		a.Logf(6, "master clock not ready, waiting...")
		return nil, nil
	case srcCnt == 0 && len(dsts) == 0:
		a.Logf(6, "no PHC ready, waiting...")
		return nil, nil
	case (srcCnt == 0 && !a.RealtimeSource) || (len(dsts) == 0 && !rtIsPresent):
		a.Logf(6, "nothing to synchronize")
		return nil, nil
	}
	if srcCnt == 0 {
		src = a.Realtime
	} else if rtIsPresent {
		dsts = append(dsts, a.Realtime)
		a.Logf(6, "selecting %s for synchronization", a.names[a.Realtime])
	}
	a.Logf(6, "selecting %s as the master clock", a.names[src])
	return src, without(dsts, src)
}

func without(cs []phc.Clock, x phc.Clock) []phc.Clock {
	out := cs[:0:0]
	for _, c := range cs {
		if c != x {
			out = append(out, c)
		}
	}
	return out
}

// reconfigure applies a plan: servos start over for a new source; a
// target kept under the same source keeps its servo.
func (a *Auto) reconfigure() error {
	src, dsts := a.plan()
	if src != a.source {
		a.syncers = map[string]*Syncer{}
		a.source = src
	}
	want := map[string]bool{}
	for _, d := range dsts {
		want[a.names[d]] = true
	}
	for name := range a.syncers {
		if !want[name] {
			delete(a.syncers, name)
		}
	}
	var active []*SinkMetrics
	for _, d := range dsts {
		name := a.names[d]
		s := a.syncers[name]
		if s == nil {
			sv, err := a.NewServo(d)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			s = &Syncer{Source: src, Target: d, Servo: sv, Readings: a.Readings, Metrics: a.Metrics.Sink(a.names[src], name)}
			a.syncers[name] = s
		}
		s.OffsetNs = SyncOffset(a.tp, a.names[src], name)
		active = append(active, s.Metrics)
	}
	a.Metrics.SetActive(active...)
	a.Metrics.SetDaemon(a.ports, a.tp, a.tpRead)
	return nil
}

// Notified returns how many port state changes arrived as notifications.
func (a *Auto) Notified() int64 { return a.changes.Load() }

// Run follows the daemon until ctx ends, updating the targets rate times a
// second. Port state changes arrive as SUBSCRIBE_EVENTS_NP notifications
// between updates; a daemon that refuses the subscription is asked for
// its port states every second instead.
func (a *Auto) Run(ctx context.Context, rate float64) error {
	if (a.RealtimeTarget || a.RealtimeSource) && a.Realtime == nil {
		return errors.New("-r: no system clock given")
	}
	a.clocks, a.syncers = map[uint16]phc.Clock{}, map[string]*Syncer{}
	a.names = map[phc.Clock]string{}
	if a.Realtime != nil {
		a.names[a.Realtime] = "CLOCK_REALTIME"
	}
	ports, ok := a.connect(ctx)
	if !ok {
		return nil
	}
	if err := a.setPorts(ports); err != nil {
		return err
	}
	a.readTimeProperties()
	subscribed := a.subscribe()
	renewed := time.Now()
	polled := time.Now()
	renewEvery := a.RenewEvery
	if renewEvery == 0 {
		renewEvery = defaultRenewEvery
	}
	if err := a.reconfigure(); err != nil {
		return err
	}
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for ctx.Err() == nil {
		a.update()
		next = next.Add(interval)
		if now := time.Now(); next.Before(now) {
			next = now // overran: do not try to catch up
		}
		changed := false
		for wait := time.Until(next); wait > 0 && ctx.Err() == nil; wait = time.Until(next) {
			for _, n := range a.Client.Notifications(wait) {
				changed = a.notified(n) || changed
			}
		}
		if time.Since(renewed) >= renewEvery {
			renewed = time.Now()
			if subscribed = a.subscribe(); subscribed {
				a.readTimeProperties()
				// A notification lost on the way would leave us
				// steering by a stale view: look again.
				if ps, err := a.readPorts(); err == nil && !samePorts(ps, a.ports) {
					if err := a.setPorts(ps); err != nil {
						return err
					}
					changed = true
				}
			}
		}
		if !subscribed && time.Since(polled) >= time.Second {
			polled = time.Now()
			ps, err := a.readPorts()
			if err != nil && a.redial() {
				subscribed = a.subscribe()
				a.readTimeProperties()
				ps, err = a.readPorts()
			}
			if err == nil {
				changed = changed || !samePorts(ps, a.ports)
				if err := a.setPorts(ps); err != nil {
					return err
				}
			}
		}
		if changed {
			// A port that became SLAVE follows a new grandmaster, whose
			// time properties (its timescale, the UTC offset) decide the
			// offset between the clocks now, not at the next renewal:
			// linuxptp's phc2sys waits for the next minute's query.
			a.readTimeProperties()
			if err := a.reconfigure(); err != nil {
				return err
			}
		}
	}
	return nil
}

// update measures and steers every target once.
func (a *Auto) update() {
	for name, s := range a.syncers {
		smp, err := s.Update()
		if err != nil {
			a.Logf(3, "%s: %v", name, err)
			continue
		}
		if a.OnUpdate != nil {
			a.OnUpdate(name, smp)
		}
		a.Logf(6, "%s", Line(name, a.label(), smp))
	}
}

// label is the source's name in the log lines: "sys" for the system clock.
func (a *Auto) label() string {
	if a.source == a.Realtime {
		return "sys"
	}
	return "phc"
}

// connect waits, as phc2sys does, until the daemon answers at all (its
// ports may still be LISTENING: with -rr they are targets already),
// dialling with Redial while there is no client that answers. It returns
// false when ctx ends first.
func (a *Auto) connect(ctx context.Context) ([]AutoPort, bool) {
	for said := false; ; {
		if a.Client != nil {
			if ports, err := a.readPorts(); err == nil {
				return ports, true
			}
		}
		if a.redial() {
			continue
		}
		if !said {
			a.Logf(6, "Waiting for ptp4l...")
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(time.Second):
		}
	}
}

// redial replaces the client with a new connection, if Redial is set and
// the daemon answers on it.
func (a *Auto) redial() bool {
	if a.Redial == nil {
		return false
	}
	c, err := a.Redial()
	if err != nil {
		return false
	}
	if _, err := c.Get(ptp.MIDPortPropertiesNP); err != nil {
		c.Close()
		return false
	}
	if a.Client != nil {
		a.Logf(6, "the daemon answers again: re-dialled its UNIX socket")
		a.Client.Close()
	}
	a.Client = c
	return true
}

func (a *Auto) subscribe() bool {
	if err := a.Client.Subscribe(subscription, ptp.NotifyPortState); err != nil {
		a.Logf(4, "SUBSCRIBE_EVENTS_NP refused (%v): asking for the port states every second", err)
		return false
	}
	return true
}

// notified takes a PORT_DATA_SET notification and reports whether a port
// changed state.
func (a *Auto) notified(m *ptp.Management) bool {
	var ds ptp.PortDataSet
	if id, _, ok, _ := m.ManagementTLV(); !ok || id != ptp.MIDPortDataSet || m.Data(&ds) != nil {
		return false
	}
	for i := range a.ports {
		if a.ports[i].Number == ds.PortIdentity.PortNumber && a.ports[i].State != ds.PortState {
			a.Logf(7, "port %d (%s) changed to %s", ds.PortIdentity.PortNumber, a.ports[i].Interface, ds.PortState)
			a.ports[i].State = ds.PortState
			a.changes.Add(1)
			return true
		}
	}
	return false
}

func samePorts(x, y []AutoPort) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
