package ptpd

import (
	"context"
	"errors"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// source is one descriptor the loop polls for a port's messages.
type source struct {
	port int
	rx   transport.Receiver
	// buffered, when rx reads ahead (transport.Conn's recvmmsg), says
	// how many messages it holds that the descriptor no longer shows.
	buffered interface{ Buffered() int }
}

// Poller tags below the ports' own: the link monitor's, then the UNIX
// sockets', counting down from udsTag.
const (
	linkTag = transport.TagUser
	udsTag  = transport.TagUser - 1
)

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
	sources, err := d.watch()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, d.poller.Wake)
	defer stop()
	if d.gm != nil {
		// The time source runs beside the loop and ends with it; it
		// hands the loop its changes of quality through Do.
		gmCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); d.gm.run(gmCtx) }()
		defer func() { cancel(); <-done }()
	}
	d.queueFail = d.queueFailed
	d.exec.Start()
	d.flush()
	// A link that is down at start faults its port at once.
	d.queryLinks()

	l := loop{d: d, sources: sources, buf: make([]byte, 1500), udsBuf: make([]byte, 1500)}
	l.hold.max, l.hold.rate = int64(d.set.ReceiveHoldoff), int64(d.set.ReceiveHoldoffRate)
	if d.opt.TrueErrorEvery > 0 {
		if v, ok := d.clk.(*phc.Virtual); ok {
			l.truth, l.truthName = v, "virtual clock"
		} else if d.currentEmu.Load() != nil {
			l.truth, l.truthName = emulatedTruth{d}, "emulated PHC"
		}
		l.nextTrue = now() + int64(d.opt.TrueErrorEvery)
	}
	// Nothing on a wake-up may enter the Go scheduler through
	// syscall.Syscall, or the runtime's sysmon wakes with the loop
	// (transport.Poller): the transport, the poller and the clocks the loop
	// reads make raw system calls.
	for {
		done, err := l.turn(ctx)
		if done || err != nil {
			d.flush()
			return err
		}
	}
}

// watch puts every port's descriptors and the UNIX sockets in the poller.
// The loop serves the UNIX sockets itself, like ptp4l: no goroutine to
// hand requests over to, and no lock between them and the engine.
func (d *Daemon) watch() ([]source, error) {
	var sources []source
	for i, p := range d.ports {
		for _, rx := range p.ep.Receivers() {
			fd, err := rx.FD()
			if err != nil {
				return nil, err
			}
			if err := d.poller.Add(fd, int32(len(sources))); err != nil {
				return nil, err
			}
			b, _ := rx.(interface{ Buffered() int })
			sources = append(sources, source{i, rx, b})
		}
	}
	if d.links != nil {
		if err := d.poller.Add(d.links.FD(), linkTag); err != nil {
			return nil, err
		}
	}
	for i, u := range d.uds {
		fd, err := u.sock.FD()
		if err != nil {
			return nil, err
		}
		if err := d.poller.Add(fd, udsTag-int32(i)); err != nil {
			return nil, err
		}
	}
	return sources, nil
}

// loop is the event loop's state between turns.
type loop struct {
	d       *Daemon
	sources []source
	buf     []byte
	udsBuf  []byte
	udsOut  []byte
	info    transport.RxInfo
	// received counts the messages read from the ports' sockets.
	received int64
	// truth, when set, is a clock whose true error (against CLOCK_REALTIME)
	// is logged every Options.TrueErrorEvery: the virtual clock, or the
	// emulated PHC.
	truth     interface{ TrueError() (time.Duration, error) }
	truthName string
	nextTrue  int64
	hold      holdoff
}

// holdoff is the loop's moderation under load (receive_holdoff): a NIC
// raises one interrupt for many packets once they come fast, and so does
// the loop wake once for many messages. Below the rate it wakes for each
// message, as ptp4l does. Above it, every wake-up is followed by a hold
// (transport.Poller.Hold) in which only the loop's own deadline, Do, a
// management request or a link event wake it; the messages that come
// meanwhile wait in the socket, each with its kernel receive timestamp,
// and the next wake-up reads them with one recvmmsg and answers them with
// one sendmmsg. Timers run on time and timestamps do not move, so what a
// client measures is unchanged; only an answer's latency grows, by up to
// the hold. A hold is receive_holdoff at most, and never more than half
// the shortest interval at which the clock's peers may send it requests
// (engine.Clock.FastestRequestPeriod), so that every answer reaches its
// peer before that peer's next request. A unicast grandmaster at 10,000
// clients × 1 Hz wakes a few hundred times a second instead of ~10,000.
type holdoff struct {
	max      int64 // receive_holdoff, ns; 0: never
	rate     int64 // receive_holdoff_rate, messages a second
	every    int64 // the hold now: max, or less (bound)
	on       bool
	until    int64 // the current hold's end; 0: none
	behind   bool  // a socket still had messages when the turn stopped reading
	received int64 // messages since start
	start    int64 // when the count began
}

// count adds n received messages and, once a second, looks at the rate:
// on at rate or above, off below half of it (so that a load near the rate
// does not flap), saying so in the log.
func (h *holdoff) count(d *Daemon, n int, t int64) {
	if h.max == 0 {
		return
	}
	h.received += int64(n)
	if h.start == 0 {
		h.start = t
		return
	}
	if t-h.start < 1e9 {
		return
	}
	perSecond := h.received * 1e9 / (t - h.start)
	period, ok := d.eng.FastestRequestPeriod()
	h.every = h.length(perSecond, period, ok)
	switch {
	case !h.on && perSecond >= h.rate:
		h.on = true
		d.log.Printf(engine.LevelInfo, "receive hold-off on: %d messages a second (receive_holdoff_rate %d): the loop reads its sockets at most every %v", perSecond, h.rate, time.Duration(h.every))
	case h.on && perSecond < h.rate/2:
		h.on = false
		d.log.Printf(engine.LevelInfo, "receive hold-off off: %d messages a second", perSecond)
	}
	h.received, h.start = 0, t
}

// holdBatch is how many messages a hold aims to gather: one recvmmsg's
// worth. A longer hold saves little more CPU and only adds latency.
const holdBatch = 32

// length is the hold for perSecond messages a second from peers that may
// send requests every 2^period s (ok false: none): long enough to gather
// holdBatch messages, but never longer than receive_holdoff, nor than
// half the peers' request interval.
func (h *holdoff) length(perSecond int64, period int8, ok bool) int64 {
	limit := h.max
	if ok {
		limit = min(limit, int64(math.Ldexp(1e9, int(period)))/2)
	}
	gather := int64(math.MaxInt64)
	if perSecond > 0 {
		gather = holdBatch * 1e9 / perSecond
	}
	return max(min(limit, gather), 1)
}

// turn waits for the next events and handles them. done is true when ctx
// has ended or the transports were closed.
func (l *loop) turn(ctx context.Context) (done bool, err error) {
	d := l.d
	deadline := d.eng.Deadline()
	if l.truth != nil && (deadline == 0 || l.nextTrue < deadline) {
		deadline = l.nextTrue
	}
	if l.hold.until != 0 {
		until := l.hold.until
		if deadline != 0 && deadline < until {
			until = deadline
		}
		l.hold.until = 0
		if err := d.poller.Hold(until, now()); err != nil {
			return true, err
		}
	}
	if err := d.poller.Arm(deadline, now()); err != nil {
		return true, err
	}
	events, err := d.poller.Wait()
	if err != nil {
		return true, err
	}
	woke := now()
	d.wakeups.Add(1)
	received := l.received
	// Sends of general messages wait in the ports' queues until the
	// flushes below: the answers to everything this wake-up reads go out
	// together, before the timers run, and what the timers send after.
	for _, ev := range events {
		switch {
		case ev.Fd == transport.TagTimer:
			// The deadline: handled below.
		case ev.Fd == transport.TagWake:
			d.runQueue()
			// A cancelled ctx wakes the loop (AfterFunc in Run), so it
			// is looked at here, not on every turn.
			if ctx.Err() != nil {
				return true, nil
			}
		case ev.Fd == linkTag:
			d.readLinks()
		case ev.Fd <= udsTag:
			l.udsOut = d.serveUDSInLoop(d.uds[udsTag-ev.Fd], l.udsBuf, l.udsOut)
		default:
			if done, err := l.receive(l.sources[ev.Fd], ev.Events); done || err != nil {
				return done, err
			}
		}
	}
	d.flush()
	d.exec.Tick()
	d.flush()
	d.met.refresh(d)
	l.hold.count(d, int(l.received-received), woke)
	if l.hold.on && !l.hold.behind {
		l.hold.until = woke + l.hold.every
	}
	l.hold.behind = false
	if l.truth != nil && now() >= l.nextTrue {
		l.nextTrue += int64(d.opt.TrueErrorEvery)
		if e, err := l.truth.TrueError(); err == nil {
			d.log.Printf(engine.LevelInfo, "%s true error %+d ns", l.truthName, e.Nanoseconds())
		}
	}
	return false, nil
}

// receive reads the messages of a ready source and hands them to the
// engine one by one. The first read takes what waits with one recvmmsg
// (transport.Conn), the rest come from what it read ahead; the epoll set
// is level-triggered, so what is left beyond that is reported again, and
// no system call is spent finding the socket empty.
func (l *loop) receive(s source, events uint32) (done bool, err error) {
	if events&unix.EPOLLERR != 0 {
		s.rx.DrainErrQueue()
	}
	// Unheld, one read a wake-up: the set reports the socket again at
	// once if more waits. Held, the next look is a hold away, so the
	// loop reads on until the socket is empty, up to holdReads reads; if
	// that is not enough, the next turn does not hold (as NAPI polls again
	// when a poll used its whole budget).
	reads := 1
	if l.hold.on {
		reads = holdReads
	}
	for {
		n, err := s.rx.TryReceive(l.buf, &l.info)
		switch {
		case errors.Is(err, transport.ErrWouldBlock):
			return false, nil
		case errors.Is(err, transport.ErrClosed):
			return true, nil
		case err != nil:
			return true, err
		}
		l.received++
		l.handle(s, n)
		if s.buffered == nil || s.buffered.Buffered() == 0 {
			if reads--; reads == 0 {
				l.hold.behind = l.hold.on
				return false, nil
			}
		}
	}
}

// holdReads bounds the reads (recvmmsg of up to 32 messages each) of one
// socket in a held loop's turn, so that the timers' deadlines are not
// kept waiting behind a flood.
const holdReads = 32

// handle hands the engine a message of n bytes in l.buf from s.
func (l *loop) handle(s source, n int) {
	d := l.d
	if !l.info.HasTime {
		// An event message is worth nothing without its receive time: as
		// ptp4l, say so and drop it. The kernel leaves the first
		// messages unstamped while it switches software timestamps on for
		// the machine (from a work queue, when the first socket asks).
		if t, err := ptp.PeekMessageType(l.buf[:n]); err == nil && t.IsEvent() {
			d.log.Printf(engine.LevelErr, "port %d (%s): received %s without timestamp", s.port+1, d.ports[s.port].name, t)
			d.met.droppedNoTimestamp(s.port)
			return
		}
	}
	msg, ok := d.verifyReceived(s.port, l.buf[:n])
	if !ok {
		return
	}
	d.exec.Receive(s.port, msg, d.toClock(l.info.Time), engineAddr(l.info.Src))
}

// runQueue runs the work other goroutines gave the loop (Do).
func (d *Daemon) runQueue() {
	d.qmu.Lock()
	q := d.queue
	d.queue = nil
	d.qmu.Unlock()
	for _, f := range q {
		f()
	}
}

// queryLinks asks the kernel for every port's link state; the answers
// come through readLinks, in order with the notifications.
func (d *Daemon) queryLinks() {
	if d.links == nil {
		return
	}
	for _, p := range d.ports {
		if err := d.links.Query(p.name); err != nil {
			d.log.Printf(engine.LevelWarning, "port %s: cannot ask for its link state: %v", p.name, err)
		}
	}
}

// readLinks reads one rtnetlink datagram and tells the engine of every
// change to a port's link: down faults the port at once, up re-initialises
// it at once, as ptp4l does.
func (d *Daemon) readLinks() {
	states, err := d.links.TryReceive()
	for _, st := range states {
		for i, p := range d.ports {
			if p.name == st.Name {
				d.exec.Apply(d.eng.LinkChanged(i, st.Up, now()))
			}
		}
	}
	switch {
	case err == nil, errors.Is(err, transport.ErrWouldBlock):
	case errors.Is(err, transport.ErrLinkEventsLost):
		d.queryLinks()
	default:
		d.log.Printf(engine.LevelWarning, "link state: %v", err)
	}
}

// emulatedTruth is the true error of the emulated PHC the daemon steers
// now (with boundary_clock_jbod it changes).
type emulatedTruth struct{ d *Daemon }

// TrueError implements the loop's truth.
func (e emulatedTruth) TrueError() (time.Duration, error) { return e.d.currentEmu.Load().TrueError() }
