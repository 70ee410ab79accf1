package ptpd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// Options are what the daemon is built from: resolved settings, and what a
// test puts in place of the kernel's devices.
type Options struct {
	// Settings is the resolved configuration (config.Config.Resolve).
	Settings *config.Settings
	Log      *ptplog.Logger
	// Clock, when set, is steered instead of the one the settings name
	// (tests pass a virtual clock they can inspect).
	Clock phc.Clock
	// Ports, when set, are the ports' transports, one per configured
	// port, instead of sockets on the interfaces (tests pass the members
	// of a transport.Segment, which need no root). The daemon owns them:
	// Close, or a failed New, closes them.
	Ports []transport.Endpoint
	// TrueErrorEvery, when positive and the clock is virtual, prints the
	// virtual clock's true error against CLOCK_REALTIME that often.
	TrueErrorEvery time.Duration
}

// timebase turns kernel software timestamps (CLOCK_REALTIME) into the
// steered clock's time.
type timebase interface {
	FromRealtime(ns int64) (int64, error)
}

// port is one engine port with its transport.
type port struct {
	name               string
	ep                 transport.Endpoint
	primary, peerDelay transport.Addr
	// sec, when not nil, authenticates the port's messages: verify
	// checks what it receives, and out holds what it sends with the
	// AUTHENTICATION TLV appended.
	sec     *config.Security
	verify  *auth.Verifier
	authLog authFailureLog // what verify refuses, said at most once a second
	out     []byte
	// batch is ep when it sends in batches (the kernel's sockets): the
	// port's general messages are queued and go out together when the
	// loop flushes, and a batch of event messages in one system call.
	batch transport.Batcher
}

// Daemon is one running clock.
type Daemon struct {
	opt Options
	set *config.Settings
	log *ptplog.Logger
	clk phc.Clock
	tb  timebase // set when timestamps are CLOCK_REALTIME and the clock is not
	// nics are the ports' emulated cards, with emulated_hardware 1.
	nics []*transport.NIC
	// portClocks are the ports' own PHCs with boundary_clock_jbod (nil
	// otherwise: every port timestamps with clk); devs are every PHC
	// opened, for Close, and emus every emulated one.
	portClocks []phc.Clock
	devs       []*phc.Device
	emus       []*phc.Emulated
	eng        *engine.Clock
	exec       engine.Executor
	ports      []port
	uds        []*udsServer
	// gm is the grandmaster's time source, when one is configured.
	gm *gmSource
	// links watches the ports' link state (rtnetlink), as ptp4l does;
	// nil when the ports are not the kernel's interfaces.
	links *transport.LinkMonitor
	// current is clk for other goroutines (Clock): the loop changes clk
	// when boundary_clock_jbod switches PHC.
	current atomic.Pointer[phc.Clock]
	// currentEmu is the emulated PHC behind clk, with emulated_hardware 1
	// (nil otherwise); it follows the same switch.
	currentEmu atomic.Pointer[phc.Emulated]
	// wakeups counts the event loop's wake-ups (tests).
	wakeups atomic.Int64
	// txTimeouts counts transmit timestamps that never came.
	txTimeouts atomic.Uint64
	// met serves Prometheus metrics (metrics_address); nil when off.
	met *metrics
	// batchState is the scratch of the batched sends (send_batch.go).
	batchState

	// Work for the event loop from other goroutines (Do), and the eventfd
	// that wakes it.
	qmu     sync.Mutex
	queue   []func()
	stopped bool
	dead    chan struct{}
	poller  *transport.Poller // the event loop's wait; Wake from anywhere

	// SUBSCRIBE_EVENTS_NP subscribers by their socket address; touched
	// only on the event loop.
	subs map[string]*subscriber
	// udsVerify authenticates what the management sockets receive, and
	// udsOut holds what they send with the TLV, when [global] has spp.
	udsVerify  *auth.Verifier
	udsAuthLog authFailureLog
	udsOut     []byte
	// udsClient is the read-write socket's latest client, to which
	// responses relayed from the network go.
	udsClient *subscriber
}

// New opens the clock, the ports' transports and the management sockets
// the settings name, and builds the engine over them. Close releases them.
func New(opt Options) (_ *Daemon, err error) {
	if opt.Settings == nil {
		return nil, errors.New("ptpd: no settings")
	}
	if opt.Ports != nil && len(opt.Ports) != len(opt.Settings.Ports) {
		return nil, fmt.Errorf("ptpd: %d transports for %d ports", len(opt.Ports), len(opt.Settings.Ports))
	}
	s := *opt.Settings // New settles the clock identity in its own copy
	d := &Daemon{opt: opt, set: &s, log: opt.Log, dead: make(chan struct{}), subs: map[string]*subscriber{}}
	// Two sockets a port and two UNIX sockets; 64 leaves room.
	if d.poller, err = transport.NewPoller(64); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if err := d.openClock(); err != nil {
		return nil, err
	}
	clk := d.clk
	d.current.Store(&clk)
	if err := d.openPorts(); err != nil {
		return nil, err
	}
	if d.opt.Ports == nil {
		// As ptp4l: without rtnetlink (a sandbox) the ports run, and
		// notice a dead link only by its silence.
		if d.links, err = transport.OpenLinkMonitor(); err != nil {
			d.log.Printf(engine.LevelWarning, "cannot watch the ports' link state, a link that goes down will be noticed late: %v", err)
			d.links, err = nil, nil
		}
	}
	if err := d.set.IdentityFromMAC(d.ports[0].ep.HardwareAddr()); err != nil {
		return nil, fmt.Errorf("interface %s: %w", d.ports[0].name, err)
	}
	if d.set.TimeSource != nil {
		if d.gm, err = d.openTimeSource(); err != nil {
			return nil, fmt.Errorf("time source: %w", err)
		}
	}
	if err := d.newEngine(); err != nil {
		return nil, err
	}
	if err := d.startMetrics(); err != nil {
		return nil, fmt.Errorf("metrics_address: %w", err)
	}
	for _, u := range d.set.UDS {
		sock, err := transport.ListenUDS(u.Path, u.Mode)
		if err != nil {
			return nil, err
		}
		if u.UID != nil || u.GID != nil {
			uid, gid := -1, -1
			if u.UID != nil {
				uid = *u.UID
			}
			if u.GID != nil {
				gid = *u.GID
			}
			if err := sock.SetOwner(uid, gid); err != nil {
				sock.Close()
				return nil, err
			}
		}
		d.uds = append(d.uds, &udsServer{sock: sock, readOnly: u.ReadOnly})
		if s := d.set.UDSSecurity; s != nil && d.udsVerify == nil {
			d.udsVerify = auth.NewVerifier(s.SA)
			d.udsAuthLog.who = "port 0 (" + u.Path + ")"
		}
	}
	return d, nil
}

// openClock opens the clock to steer: the one the test gave, the virtual
// clock, CLOCK_REALTIME for software timestamps, or the first interface's
// PHC.
func (d *Daemon) openClock() error {
	s := d.set
	switch {
	case d.opt.Clock != nil:
		d.clk = d.opt.Clock
	case s.Virtual != nil:
		v, err := phc.NewVirtual(phc.VirtualConfig{Name: "virtual", Offset: s.Virtual.Offset, FrequencyError: s.Virtual.FrequencyError})
		if err != nil {
			return err
		}
		d.clk = v
	case s.Timestamping == ptp.TimestampingSoftware:
		sys, err := phc.NewSystem()
		if err != nil {
			return err
		}
		d.clk = sys
	case s.EmulatedDir != "" && d.opt.Ports == nil:
		return d.openEmulated()
	default:
		// Hardware timestamps: the clock is the first interface's PHC.
		// Ask the transport first, so that an interface without hardware
		// timestamping gets ptp4l's own message.
		first := s.Ports[0].Interface
		if d.opt.Ports == nil {
			if err := transport.CheckTimestamping(first, transportMode(s.Timestamping)); err != nil {
				return err
			}
		}
		dev, err := phc.OpenInterface(first)
		if err != nil {
			return err
		}
		d.clk = dev
		d.devs = append(d.devs, dev)
		if d.jbod() {
			// boundary_clock_jbod: every port's own PHC, as ptp4l opens
			// them; the clock starts on the first port's.
			d.portClocks = append(d.portClocks, dev)
			for _, ps := range s.Ports[1:] {
				pd, err := phc.OpenInterface(ps.Interface)
				if err != nil {
					return err
				}
				d.devs = append(d.devs, pd)
				d.portClocks = append(d.portClocks, pd)
			}
		}
	}
	// Software timestamps are CLOCK_REALTIME; a clock with another
	// timebase (the virtual clock) converts them.
	if tb, ok := d.clk.(timebase); ok && s.Timestamping == ptp.TimestampingSoftware {
		d.tb = tb
	}
	return nil
}

// openEmulated opens the emulated hardware (emulated_hardware 1): an
// emulated PHC named after the first interface in EmulatedDir, created
// there with the first port's settings unless it exists (a PHC outlives
// the daemon, and roko-phc2sys opens the same file), and for each port an
// emulated card that stamps with it: all ports share the one PHC, as the
// ports of one NIC do. With boundary_clock_jbod each port has a PHC of its
// own, named after its interface.
func (d *Daemon) openEmulated() error {
	s := d.set
	for i, ps := range s.Ports {
		if i > 0 && !d.jbod() {
			d.nics = append(d.nics, &transport.NIC{PHCIndex: 0, Clock: d.nics[0].Clock, Noise: ps.Emulated.TimestampNoise,
				TxLoss: ps.Emulated.TxTimestampLoss, TxLate: ps.Emulated.TxTimestampLate, Seed: uint64(i + 1)})
			continue
		}
		emu, dev, err := openEmulatedPHC(s.EmulatedDir, ps)
		if err != nil {
			return fmt.Errorf("emulated hardware: %w", err)
		}
		d.emus, d.devs = append(d.emus, emu), append(d.devs, dev)
		if d.jbod() {
			d.portClocks = append(d.portClocks, dev)
		}
		stamp := func(rt int64) int64 {
			v, err := emu.FromRealtime(rt)
			if err != nil {
				return 0
			}
			return v
		}
		d.nics = append(d.nics, &transport.NIC{PHCIndex: i, Clock: stamp, Noise: ps.Emulated.TimestampNoise,
			TxLoss: ps.Emulated.TxTimestampLoss, TxLate: ps.Emulated.TxTimestampLate, Seed: uint64(i + 1)})
	}
	d.currentEmu.Store(d.emus[0])
	d.clk = d.devs[0]
	return nil
}

// openEmulatedPHC opens, or creates with the port's settings, the emulated
// PHC named after the port's interface in dir.
func openEmulatedPHC(dir string, ps config.PortSettings) (*phc.Emulated, *phc.Device, error) {
	path := filepath.Join(dir, ps.Interface)
	var emu *phc.Emulated
	_, err := os.Stat(path)
	switch {
	case err == nil:
		emu, err = phc.OpenEmulated(path)
	case errors.Is(err, fs.ErrNotExist):
		if err = os.MkdirAll(dir, 0o755); err == nil {
			cfg := phc.DefaultEmulatedConfig()
			cfg.Offset, cfg.FrequencyError, cfg.Wander = ps.Emulated.PHCOffset, ps.Emulated.PHCFrequency, ps.Emulated.Wander
			emu, err = phc.CreateEmulated(path, cfg)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	dev, err := phc.Open(path)
	if err != nil {
		emu.Close()
		return nil, nil, err
	}
	return emu, dev, nil
}

// jbod reports whether the ports have PHCs of their own
// (boundary_clock_jbod on a port of a clock with several).
func (d *Daemon) jbod() bool {
	if len(d.set.Ports) < 2 {
		return false
	}
	for _, p := range d.set.Ports {
		if p.JBOD {
			return true
		}
	}
	return false
}

// switchPHC follows ptp4l's clock_switch_phc with boundary_clock_jbod: a
// port that goes UNCALIBRATED makes its own PHC the clock the engine
// steers, with a new servo that starts from that PHC's frequency. It runs
// as the batch that made the port UNCALIBRATED is carried out.
func (d *Daemon) switchPHC(acts []engine.Action) {
	for i := range acts {
		a := &acts[i]
		if a.Kind != engine.Log || a.Log.Kind != engine.LogStateChange || a.Log.To != engine.Uncalibrated {
			continue
		}
		clk := d.portClocks[a.Log.Port]
		if clk.Name() == d.clk.Name() {
			continue // ports of one NIC share its PHC: nothing to switch
		}
		settings, err := d.set.Servo.ForClock(clk.MaxFrequency())
		var freq float64
		if err == nil {
			freq, err = clk.Frequency()
		}
		var sv engine.Servo
		if err == nil {
			sv, err = settings.NewServo(freq)
		}
		if err != nil {
			d.log.Printf(engine.LevelErr, "Switching PHC to %s failed: %v", clk.Name(), err)
			continue
		}
		d.eng.SwitchServo(a.Log.Port, sv)
		d.clk = clk
		d.current.Store(&clk)
		if d.emus != nil {
			d.currentEmu.Store(d.emus[a.Log.Port])
		}
		d.log.Printf(engine.LevelInfo, "Switched to %s as PTP clock", clk.Name())
	}
}

// TxTimestampTimeouts counts the event messages whose transmit timestamp
// never came (tx_timestamp_timeout), each of which faulted its port.
func (d *Daemon) TxTimestampTimeouts() uint64 { return d.txTimeouts.Load() }

// Emulated returns the emulated PHC the daemon steers, or nil; safe from
// any goroutine (with boundary_clock_jbod it changes with the port that
// took over).
func (d *Daemon) Emulated() *phc.Emulated { return d.currentEmu.Load() }

// transportMode is the transport's name for a timestamping mode.
func transportMode(ts ptp.Timestamping) transport.Timestamping {
	switch ts {
	case ptp.TimestampingSoftware:
		return transport.Software
	case ptp.TimestampingOneStep:
		return transport.OneStep
	}
	return transport.Hardware
}

// openPorts opens each port's transport, or takes the ones the test gave.
func (d *Daemon) openPorts() error {
	s := d.set
	for i, ps := range s.Ports {
		var ep transport.Endpoint
		if d.opt.Ports != nil {
			ep = d.opt.Ports[i]
		} else {
			var err error
			var nic *transport.NIC
			if d.nics != nil {
				nic = d.nics[i]
			}
			if ep, err = openTransport(s, ps, nic); err != nil {
				return err
			}
		}
		primary, peer := ep.Destinations()
		p := port{name: ps.Interface, ep: ep, primary: primary, peerDelay: peer}
		p.batch, _ = ep.(transport.Batcher)
		if ps.Security != nil {
			p.sec, p.verify, p.out = ps.Security, auth.NewVerifier(ps.Security.SA), make([]byte, 0, 1500)
			p.authLog.who = fmt.Sprintf("port %d (%s)", len(d.ports)+1, ps.Interface)
		}
		d.ports = append(d.ports, p)
	}
	return nil
}

// openTransport opens one port's sockets.
func openTransport(s *config.Settings, ps config.PortSettings, nic *transport.NIC) (*transport.Transport, error) {
	tc := transportConfig(s, ps, nic)
	switch ps.Transport {
	case ptp.ProtocolIEEE802_3:
		return transport.OpenL2(tc)
	case ptp.ProtocolUDPIPv6:
		return transport.OpenUDPv6(tc)
	default:
		return transport.OpenUDPv4(tc)
	}
}

// transportConfig is how one port's sockets are opened.
func transportConfig(s *config.Settings, ps config.PortSettings, nic *transport.NIC) transport.Config {
	return transport.Config{
		Interface:          ps.Interface,
		Timestamping:       transportMode(s.Timestamping),
		TxTimestampTimeout: s.TxTimestampTimeout,
		PTPDstMAC:          ps.Dst.PTPMAC,
		P2PDstMAC:          ps.Dst.P2PMAC,
		PTPDstIPv4:         ps.Dst.PTPIPv4,
		P2PDstIPv4:         ps.Dst.P2PIPv4,
		PTPDstIPv6:         ps.Dst.PTPIPv6,
		P2PDstIPv6:         ps.Dst.P2PIPv6,
		TTL:                ps.TTL,
		DSCPEvent:          s.DSCPEvent,
		DSCPGeneral:        s.DSCPGeneral,
		UDP6Scope:          ps.UDP6Scope,
		Emulated:           nic,
	}
}

// newEngine builds the engine and its servo for the clock, and the
// executor that carries out its actions.
func (d *Daemon) newEngine() error {
	s := d.set
	cc := s.Clock
	// As ptp4l with software timestamps, a clock that keeps UTC serves the
	// arbitrary timescale and follows a master on PTP's timescale at its
	// time less the UTC offset.
	cc.UTCTimescale = phc.KeepsUTC(d.clk)
	if d.gm != nil {
		// The time source owns the clock: it steers it, and it alone
		// says what the clock may announce, from the first Announce on.
		q := d.gm.src.Quality()
		if cc.ClockQuality.ClockClass != q.ClockQuality.ClockClass {
			d.log.Printf(engine.LevelNotice, "time source: clockClass %d is announced only while the source is locked; starting at %d (%s)",
				cc.ClockQuality.ClockClass, q.ClockQuality.ClockClass, q.State)
		}
		cc.ClockQuality, cc.TimeSource, cc.TimeFlags, cc.UTCOffset = q.ClockQuality, q.TimeSource, q.Flags, q.UTCOffset
		cc.FreeRunning = true
	}
	settings, err := s.Servo.ForClock(d.clk.MaxFrequency())
	if err != nil {
		return err
	}
	freq, err := d.clk.Frequency()
	if err != nil {
		return err
	}
	sv, err := settings.NewServo(freq)
	if err != nil {
		return err
	}
	pcs := make([]engine.PortConfig, len(s.Ports))
	for i, p := range s.Ports {
		pcs[i] = p.Engine
	}
	if d.eng, err = engine.NewClock(cc, pcs, sv, rand.Uint64()); err != nil {
		return err
	}
	watch := d.notify
	if d.portClocks != nil {
		watch = func(acts []engine.Action) { d.switchPHC(acts); d.notify(acts) }
	}
	if d.secured() {
		w := watch
		watch = func(acts []engine.Action) { d.resetReplayWindows(acts); w(acts) }
	}
	d.exec = engine.Executor{Engine: d.eng, Net: d, Steer: d, Report: d, Relay: d.relay, Watch: watch, Now: now}
	return nil
}

// Engine returns the engine. Once Run has started, only Do may touch it.
func (d *Daemon) Engine() *engine.Clock { return d.eng }

// Do runs f on the event loop, where the engine may be read safely, and
// waits for it. It returns false if the loop has stopped or ctx ends first.
func (d *Daemon) Do(ctx context.Context, f func(e *engine.Clock)) bool {
	done := make(chan struct{})
	d.qmu.Lock()
	if d.stopped {
		d.qmu.Unlock()
		return false
	}
	d.queue = append(d.queue, func() { f(d.eng); close(done) })
	d.qmu.Unlock()
	d.poller.Wake()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	case <-d.dead:
		return false
	}
}

// Clock returns the steered clock; safe from any goroutine. With
// boundary_clock_jbod it changes when a port goes UNCALIBRATED on a PHC of
// its own.
func (d *Daemon) Clock() phc.Clock {
	if c := d.current.Load(); c != nil {
		return *c
	}
	return d.clk
}

// Close closes the transports, the PHC and the management sockets. The
// clock keeps the frequency it was last given and is never stepped on the
// way out.
func (d *Daemon) Close() {
	for _, p := range d.ports {
		p.ep.Close()
	}
	for _, dev := range d.devs {
		dev.Close()
	}
	for _, e := range d.emus {
		e.Close()
	}
	for _, u := range d.uds {
		u.sock.Close()
	}
	if d.gm != nil {
		d.gm.close()
	}
	d.closeMetrics()
	d.poller.Close()
	if d.links != nil {
		d.links.Close()
	}
}

// epoch anchors the engine's time; time.Since reads the monotonic clock
// through the vDSO, without a system call.
var epoch = time.Now()

// now is the engine's notion of time: monotonic nanoseconds.
func now() int64 { return int64(time.Since(epoch)) + 1 }

// toClock converts a receive or transmit timestamp into the steered
// clock's time (0 when it cannot be).
func (d *Daemon) toClock(ts int64) int64 {
	if d.tb == nil || ts == 0 {
		return ts
	}
	v, err := d.tb.FromRealtime(ts)
	if err != nil {
		return 0
	}
	return v
}

func engineAddr(a transport.Addr) engine.Addr {
	if a.L2 {
		return engine.Addr{MAC: a.MAC}
	}
	return engine.Addr{IP: netip.AddrPortFrom(a.IP, a.Port)}
}
