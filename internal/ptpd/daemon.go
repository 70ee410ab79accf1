package ptpd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// Options are what the command line adds to the configuration.
type Options struct {
	Config *config.Config
	Log    *ptplog.Logger
	// Clock, when set, is steered instead of the one the configuration
	// names (tests pass a virtual clock they can inspect).
	Clock phc.Clock
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
	idx int
	tr  *transport.Transport
}

// Daemon is one running clock.
type Daemon struct {
	opt   Options
	log   *ptplog.Logger
	clk   phc.Clock
	tb    timebase
	eng   *engine.Clock
	ports []port
	dev   *phc.Device // the PHC, when the clock is one
	uds   []*udsServer
	// wakeups counts the event loop's wake-ups (tests).
	wakeups atomic.Int64

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
	// udsClient is the read-write socket's latest client, to which
	// responses relayed from the network go.
	udsClient *subscriber
}

// udsServer is one management socket: uds_address (read-write) or
// uds_ro_address (read-only).
type udsServer struct {
	sock     *transport.UDS
	readOnly bool
}

// New opens everything the configuration names. Close releases it.
func New(opt Options) (*Daemon, error) {
	cfg := opt.Config
	ifaces := cfg.Interfaces()
	if len(ifaces) == 0 {
		return nil, errors.New("no interface specified: use -i or an [interface] section")
	}
	first, err := net.InterfaceByName(ifaces[0])
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", ifaces[0], err)
	}
	cc, pcs, err := cfg.Engine(first.HardwareAddr)
	if err != nil {
		return nil, err
	}
	d := &Daemon{opt: opt, log: opt.Log, dead: make(chan struct{}), subs: map[string]*subscriber{}}
	// Two sockets a port and two UNIX sockets; 64 leaves room.
	if d.poller, err = transport.NewPoller(64); err != nil {
		return nil, err
	}

	mode := transport.Hardware
	switch cfg.String("global", "time_stamping") {
	case "software":
		mode = transport.Software
	case "onestep":
		mode = transport.OneStep
	case "hardware":
	default:
		return nil, fmt.Errorf("time_stamping %s: roko-ptpd has hardware, software and onestep", cfg.String("global", "time_stamping"))
	}

	// The clock to steer.
	switch {
	case opt.Clock != nil:
		d.clk = opt.Clock
	case cfg.Bool("global", "virtual_clock"):
		v, err := phc.NewVirtual(phc.VirtualConfig{
			Name:           "virtual",
			Offset:         time.Duration(cfg.Float("global", "virtual_clock_offset") * 1e9),
			FrequencyError: cfg.Float("global", "virtual_clock_frequency"),
		})
		if err != nil {
			return nil, err
		}
		d.clk = v
	case mode == transport.Software:
		s, err := phc.NewSystem()
		if err != nil {
			return nil, err
		}
		d.clk = s
	default:
		// Hardware timestamps: the clock is the first interface's PHC.
		// Ask the transport first, so that an interface without hardware
		// timestamping gets ptp4l's own message.
		if err := transport.CheckTimestamping(ifaces[0], mode); err != nil {
			return nil, err
		}
		dev, err := phc.OpenInterface(ifaces[0])
		if err != nil {
			return nil, err
		}
		d.clk, d.dev = dev, dev
	}
	if v, ok := d.clk.(timebase); ok {
		// A virtual clock reads the kernel's software timestamps.
		d.tb = v
		mode = transport.Software
	}

	// As ptp4l with software timestamps, a clock that keeps UTC serves the
	// arbitrary timescale and follows a master on PTP's timescale at its
	// time less the UTC offset.
	cc.UTCTimescale = phc.KeepsUTC(d.clk)

	settings, err := cfg.Servo(d.clk.MaxFrequency())
	if err != nil {
		return nil, err
	}
	freq, err := d.clk.Frequency()
	if err != nil {
		return nil, err
	}
	sv, err := settings.NewServo(freq)
	if err != nil {
		return nil, err
	}
	d.eng, err = engine.NewClock(cc, pcs, sv, rand.Uint64())
	if err != nil {
		return nil, err
	}

	if mode == transport.Software {
		cc.Timestamping = ptp.TimestampingSoftware
	} else {
		cc.Timestamping = ptp.TimestampingHardware
	}
	if mode == transport.OneStep {
		// The NIC writes the transmit time into the Sync as it leaves:
		// no Follow_Up, as ptp4l does with time_stamping onestep.
		cc.TwoStep = false
	}

	nt := cfg.String("global", "network_transport")
	for i, name := range ifaces {
		if s := cfg.String(name, "network_transport"); s != "" {
			nt = s
		}
		tc := transport.Config{
			Interface:          name,
			Timestamping:       mode,
			TxTimestampTimeout: time.Duration(cfg.Int("global", "tx_timestamp_timeout")) * time.Millisecond,
			TTL:                int(cfg.Int(name, "udp_ttl")),
			DSCPEvent:          int(cfg.Int("global", "dscp_event")),
			DSCPGeneral:        int(cfg.Int("global", "dscp_general")),
			UDP6Scope:          uint8(cfg.Int(name, "udp6_scope")),
		}
		var tr *transport.Transport
		switch strings.ToUpper(nt) {
		case "L2":
			tr, err = transport.OpenL2(tc)
		case "UDPV4":
			tr, err = transport.OpenUDPv4(tc)
		case "UDPV6":
			tr, err = transport.OpenUDPv6(tc)
		default:
			err = fmt.Errorf("network_transport %s: want L2, UDPv4 or UDPv6", nt)
		}
		if err != nil {
			d.Close()
			return nil, err
		}
		d.ports = append(d.ports, port{idx: i, tr: tr})
	}
	// The management sockets, as ptp4l: uds_address read-write and
	// uds_ro_address read-only; an empty address opens none.
	for _, u := range []struct {
		addr, mode string
		ro         bool
	}{{"uds_address", "uds_file_mode", false}, {"uds_ro_address", "uds_ro_file_mode", true}} {
		path := cfg.String("global", u.addr)
		if path == "" {
			continue
		}
		sock, err := transport.ListenUDS(path, fs.FileMode(cfg.Int("global", u.mode)))
		if err != nil {
			d.Close()
			return nil, err
		}
		d.uds = append(d.uds, &udsServer{sock: sock, readOnly: u.ro})
	}
	return d, nil
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

// Clock returns the steered clock.
func (d *Daemon) Clock() phc.Clock { return d.clk }

// Close closes the transports and the PHC. The clock keeps the frequency
// it was last given and is never stepped on the way out.
func (d *Daemon) Close() {
	for _, p := range d.ports {
		p.tr.Close()
	}
	if d.dev != nil {
		d.dev.Close()
	}
	for _, u := range d.uds {
		u.sock.Close()
	}
	d.poller.Close()
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
	d.apply(acts)
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

// epoch anchors the engine's time; time.Since reads the monotonic clock
// through the vDSO, without a system call.
var epoch = time.Now()

// now is the engine's notion of time: monotonic nanoseconds.
func now() int64 { return int64(time.Since(epoch)) + 1 }

// toClock converts a kernel timestamp into the steered clock's time.
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

func (d *Daemon) dest(p port, act *engine.Action) transport.Addr {
	switch act.Dest {
	case engine.DestPeer:
		return p.tr.PeerDelay
	case engine.DestUnicast:
		if act.To.IP.IsValid() {
			return transport.Addr{IP: act.To.IP.Addr(), Port: act.To.IP.Port()}
		}
		return transport.Addr{MAC: act.To.MAC, L2: true}
	}
	return p.tr.Primary
}

// txDone is a transmit timestamp to hand back to the engine.
type txDone struct {
	port int
	typ  ptp.MessageType
	seq  uint16
	ts   int64
	err  error
}

// apply carries out the engine's actions. Messages alias engine memory
// until the next call into the engine, so every send happens before any
// transmit timestamp goes back in.
func (d *Daemon) apply(acts []engine.Action) {
	d.notify(acts)
	// At most a few event messages go out per call; a backing array on
	// the stack keeps a message from costing an allocation.
	var doneBuf [4]txDone
	done := doneBuf[:0]
	for i := range acts {
		a := &acts[i]
		switch a.Kind {
		case engine.Send:
			p := d.ports[a.Port]
			dst := d.dest(p, a)
			if a.Event {
				ts, err := p.tr.SendEvent(a.Msg, dst)
				done = append(done, txDone{a.Port, a.MessageType, a.SequenceID, d.toClock(ts), err})
			} else if err := p.tr.SendGeneral(a.Msg, dst); err != nil {
				d.log.Printf(engine.LevelErr, "port %d (%s): send %s failed: %v", a.Port+1, p.tr.Interface, a.MessageType, err)
			}
		case engine.AdjustFrequency:
			if err := d.clk.AdjustFrequency(a.PPB); err != nil {
				d.log.Printf(engine.LevelErr, "failed to adjust the clock: %v", err)
			}
		case engine.Step:
			if err := d.clk.Step(time.Duration(a.StepNs)); err != nil {
				d.log.Printf(engine.LevelErr, "failed to step clock: %v", err)
			}
		case engine.SetTAIOffset:
			if sys, ok := d.clk.(*phc.System); ok {
				if err := sys.SetTAIOffset(int(a.TAIOffset)); err != nil {
					d.log.Printf(engine.LevelErr, "failed to set the kernel's TAI offset: %v", err)
				}
			}
		case engine.Log, engine.Fault:
			d.log.Record(a.Log)
		case engine.ToUDS:
			// A response relayed from the network: to the read-write
			// socket's latest client, as ptp4l's UDS port does.
			if d.udsClient != nil {
				_ = d.udsClient.sock.sock.Reply(a.Msg, d.udsClient.addr)
			}
		}
	}
	for _, t := range done {
		if t.err != nil {
			if errors.Is(t.err, transport.ErrTxTimestampTimeout) {
				d.log.Printf(engine.LevelErr, "timed out while polling for tx timestamp")
				d.log.Printf(engine.LevelErr, "increasing tx_timestamp_timeout may correct this issue, but it is likely caused by a driver bug")
			} else {
				d.log.Printf(engine.LevelErr, "port %d: send %s failed: %v", t.port+1, t.typ, t.err)
			}
			d.apply(d.eng.Fault(t.port, now()))
			continue
		}
		d.apply(d.eng.TxTimestamp(t.port, t.typ, t.seq, t.ts, now()))
	}
}

// Run runs the clock until ctx ends. One goroutine does all the work, as
// ptp4l's one thread does: it waits in epoll_wait on every socket, an
// eventfd for Do and shutdown, and the engine's next deadline, then reads
// what is ready without blocking. (A goroutine per socket handing messages
// over a channel cost several times ptp4l's CPU at 128 Hz.)
func (d *Daemon) Run(ctx context.Context) error {
	defer func() {
		d.qmu.Lock()
		d.stopped = true
		d.qmu.Unlock()
		close(d.dead)
	}()
	type source struct {
		port int
		conn *transport.Conn
	}
	var sources []source
	for _, p := range d.ports {
		for _, c := range p.tr.Conns() {
			fd, err := c.FD()
			if err != nil {
				return err
			}
			if err := d.poller.Add(fd, int32(len(sources))); err != nil {
				return err
			}
			sources = append(sources, source{p.idx, c})
		}
	}
	stop := context.AfterFunc(ctx, d.poller.Wake)
	defer stop()
	// The loop serves the UNIX sockets itself, like ptp4l: no goroutine
	// to hand requests over to, and no lock between them and the engine.
	const udsTag = transport.TagUser // the UNIX sockets are udsTag, udsTag-1, ...
	for i, u := range d.uds {
		fd, err := u.sock.FD()
		if err != nil {
			return err
		}
		if err := d.poller.Add(fd, udsTag-int32(i)); err != nil {
			return err
		}
	}
	udsBuf := make([]byte, 1500)
	var udsOut []byte
	d.apply(d.eng.Start(now()))

	var v *phc.Virtual
	var nextTrue int64
	if vc, ok := d.clk.(*phc.Virtual); ok && d.opt.TrueErrorEvery > 0 {
		v, nextTrue = vc, now()+int64(d.opt.TrueErrorEvery)
	}
	buf := make([]byte, 1500)
	var info transport.RxInfo
	// Nothing on a wake-up may enter the Go scheduler through
	// syscall.Syscall, or the runtime's sysmon wakes with the loop
	// (transport.Poller): the transport, the poller and the clocks the loop
	// reads make raw system calls.
	for {
		deadline := d.eng.Deadline()
		if v != nil && (deadline == 0 || nextTrue < deadline) {
			deadline = nextTrue
		}
		if err := d.poller.Arm(deadline, now()); err != nil {
			return err
		}
		events, err := d.poller.Wait()
		if err != nil {
			return err
		}
		d.wakeups.Add(1)
		for _, ev := range events {
			if ev.Fd == transport.TagTimer {
				continue // the deadline: handled below
			}
			if ev.Fd <= udsTag {
				udsOut = d.serveUDSInLoop(d.uds[udsTag-ev.Fd], udsBuf, udsOut)
				continue
			}
			if ev.Fd == transport.TagWake {
				d.qmu.Lock()
				q := d.queue
				d.queue = nil
				d.qmu.Unlock()
				for _, f := range q {
					f()
				}
				// A cancelled ctx wakes the loop (AfterFunc above), so
				// it is looked at here, not on every turn.
				if ctx.Err() != nil {
					return nil
				}
				continue
			}
			s := sources[ev.Fd]
			if ev.Events&unix.EPOLLERR != 0 {
				s.conn.DrainErrQueue()
			}
			// One message per readiness: our epoll set is
			// level-triggered, so what is left is reported again, and
			// no recvmsg is spent finding the socket empty.
			m, err := s.conn.TryReceive(buf, &info)
			if errors.Is(err, transport.ErrWouldBlock) {
				continue
			}
			if err != nil {
				if errors.Is(err, transport.ErrClosed) {
					return nil
				}
				return err
			}
			d.apply(d.eng.Receive(s.port, buf[:m], d.toClock(info.Time), engineAddr(info.Src), now()))
		}
		if dl := d.eng.Deadline(); dl != 0 && now() >= dl {
			d.apply(d.eng.Tick(now()))
		}
		if v != nil && now() >= nextTrue {
			nextTrue += int64(d.opt.TrueErrorEvery)
			if e, err := v.TrueError(); err == nil {
				d.log.Printf(engine.LevelInfo, "virtual clock true error %+d ns", e.Nanoseconds())
			}
		}
	}
}
